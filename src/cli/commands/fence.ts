/** `hanasr fence NAME SITE [--release]`: asks the operator to fence a site, or to release its fence. */
import { ANNOTATION_FENCE, ANNOTATION_FENCE_RELEASE, ANNOTATION_REGISTER } from '../../api/resource.js';
import { boolFlag, EXIT, EXIT_CODES_HELP, expectPositionals, parseArgs, runCommand } from '../args.js';
import { connect, KUBE_FLAGS, KUBE_FLAGS_HELP, requestSiteAction } from '../kube.js';
import { optionsHelp, type OptionTable } from '../../config/options.js';

const OPTIONS: OptionTable = {
  release: { type: 'boolean', help: 'release the fence request of SITE instead of fencing it' },
};

/** Every option of the command (parser, --help and docs/cli.md). */
export const options: OptionTable = { ...KUBE_FLAGS, ...OPTIONS };

export const help = `Usage: hanasr fence NAME SITE [--release] [options]

Asks the operator to fence SITE (stop its HANA instance; it stays stopped) by setting the
annotation ${ANNOTATION_FENCE}=SITE. Refused (exit 3) when SITE is not a site of NAME or is the
current primary (run a planned takeover first). The operator acknowledges with an Event
(FenceRequested, or IntentRefused with the reason); the Fenced condition says when the stop is
confirmed.

With --release, sets ${ANNOTATION_FENCE_RELEASE}=SITE instead: the operator removes the fence
request (Event FenceReleased, or IntentRefused when SITE has none) and the site's agent acts on it
again: a secondary is started, a former primary is registered (automatedRegister) or waits for
hanasr register. hanasr register NAME SITE (${ANNOTATION_REGISTER}) releases the fence too.

Options:
${optionsHelp(OPTIONS)}

${KUBE_FLAGS_HELP}

${EXIT_CODES_HELP}
`;

export async function run(argv: string[]): Promise<number> {
  return runCommand('fence', argv, async () => {
    const args = parseArgs(argv, options);
    const [name, site] = expectPositionals(args, ['NAME', 'SITE']) as [string, string];
    if (boolFlag(args, 'release')) {
      await requestSiteAction(connect(args), name, site, ANNOTATION_FENCE_RELEASE, 'release the fence of', {
        primaryAllowed: true,
      });
    } else {
      await requestSiteAction(connect(args), name, site, ANNOTATION_FENCE, 'fence');
    }
    return EXIT.ok;
  });
}
