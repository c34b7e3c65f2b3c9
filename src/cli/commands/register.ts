/** `hanasr register NAME SITE`: asks the operator to register a former primary as a secondary. */
import { ANNOTATION_REGISTER } from '../../api/resource.js';
import { EXIT, EXIT_CODES_HELP, expectPositionals, parseArgs, runCommand } from '../args.js';
import { connect, KUBE_FLAGS, KUBE_FLAGS_HELP, requestSiteAction } from '../kube.js';

/** Every option of the command (parser, --help and docs/cli.md). */
export const options = KUBE_FLAGS;

export const help = `Usage: hanasr register NAME SITE [options]

Asks the operator to register SITE (typically the former primary after a takeover) as a
secondary of the current primary (hdbnsutil -sr_register) by setting the annotation
${ANNOTATION_REGISTER}=SITE. Refused (exit 3) when SITE is not a site of NAME or is the current
primary. The operator acknowledges with an Event (RegisterRequested, or IntentRefused with the
reason), then RegisteredSecondary once done. A fence request of SITE is released with it
(FenceReleased): the runbook's "fence, then register".

${KUBE_FLAGS_HELP}

${EXIT_CODES_HELP}
`;

export async function run(argv: string[]): Promise<number> {
  return runCommand('register', argv, async () => {
    const args = parseArgs(argv, options);
    const [name, site] = expectPositionals(args, ['NAME', 'SITE']) as [string, string];
    await requestSiteAction(connect(args), name, site, ANNOTATION_REGISTER, 'register');
    return EXIT.ok;
  });
}
