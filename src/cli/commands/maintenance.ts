/** `hanasr maintenance NAME on|off`: sets spec.maintenance (observe and report, never act). */
import { KIND } from '../../api/resource.js';
import { EXIT, EXIT_CODES_HELP, expectPositionals, parseArgs, runCommand, UsageError } from '../args.js';
import { connect, KUBE_FLAGS, KUBE_FLAGS_HELP, patchCluster } from '../kube.js';

/** Every option of the command (parser, --help and docs/cli.md). */
export const options = KUBE_FLAGS;

export const help = `Usage: hanasr maintenance NAME on|off [options]

Turns maintenance mode on or off with a merge patch of spec.maintenance. While it is on, hanasr
observes and reports but takes no action: no automatic takeover, no fencing, no registration
(Patroni's pause, SAPHanaSR's maintenance). The MaintenanceMode condition confirms it.

${KUBE_FLAGS_HELP}

${EXIT_CODES_HELP}
`;

export async function run(argv: string[]): Promise<number> {
  return runCommand('maintenance', argv, async () => {
    const args = parseArgs(argv, options);
    const [name, mode] = expectPositionals(args, ['NAME', 'on|off']) as [string, string];
    if (mode !== 'on' && mode !== 'off') throw new UsageError(`expected on or off, got "${mode}"`);
    const kube = connect(args);
    const on = mode === 'on';
    await patchCluster(kube, name, { spec: { maintenance: on } });
    process.stdout.write(
      `${KIND} ${kube.namespace}/${name}: maintenance ${mode} (spec.maintenance=${on})` +
        (on ? ': hanasr observes and reports, takes no action\n' : ': hanasr acts on failures again\n'),
    );
    return EXIT.ok;
  });
}
