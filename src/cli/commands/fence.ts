/** `hanasr fence NAME SITE`: asks the operator to fence (stop or suspend) a site. */
import { ANNOTATION_FENCE } from '../../api/resource.js';
import { EXIT, EXIT_CODES_HELP, expectPositionals, parseArgs, runCommand } from '../args.js';
import { connect, KUBE_FLAGS, KUBE_FLAGS_HELP, requestSiteAction } from '../kube.js';

export const help = `Usage: hanasr fence NAME SITE [options]

Asks the operator to fence SITE (stop or suspend its HANA instance) by setting the annotation
${ANNOTATION_FENCE}=SITE. Refused (exit 3) when SITE is not a site of NAME or is the current
primary (run a planned takeover first). The operator acknowledges with an Event (FenceRequested,
or IntentRefused with the reason) and reports the Fenced condition.

${KUBE_FLAGS_HELP}

${EXIT_CODES_HELP}
`;

export async function run(argv: string[]): Promise<number> {
  return runCommand('fence', argv, async () => {
    const args = parseArgs(argv, KUBE_FLAGS);
    const [name, site] = expectPositionals(args, ['NAME', 'SITE']) as [string, string];
    await requestSiteAction(connect(args), name, site, ANNOTATION_FENCE, 'fence');
    return EXIT.ok;
  });
}
