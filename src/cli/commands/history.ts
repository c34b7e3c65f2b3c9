/** `hanasr history NAME`: the takeovers in status.takeoverHistory, newest first. */
import type { TakeoverRecord } from '../../api/resource.js';
import { EXIT, EXIT_CODES_HELP, expectPositionals, parseArgs, runCommand, stringFlag } from '../args.js';
import { orDash, OUTPUT_FORMATS, seconds, serialize, table } from '../format.js';
import { connect, getCluster, KUBE_FLAGS, KUBE_FLAGS_HELP } from '../kube.js';
import { runsTable } from './backup.js';
import { statusOf } from './status.js';

import { optionsHelp, type OptionTable } from '../../config/options.js';

const OPTIONS: OptionTable = {
  output: {
    short: 'o',
    choices: OUTPUT_FORMATS,
    value: 'FORMAT',
    help: 'table (default), json or yaml (a list of the records)',
  },
};

export const help = `Usage: hanasr history NAME [-o table|json|yaml] [options]

Lists the takeovers the operator recorded in status.takeoverHistory (at most the last 20),
newest first: time, from, to, reason (PrimaryFailed, PlannedTakeover...), duration, outcome and
the epoch they started. Below them, with spec.backup, the backup runs of status.backup (at most
the last 20; which site ran each, in which epoch, how it ended), so a takeover and the backup it
interrupted or caused read side by side. -o json|yaml prints the takeover records only.

Options:
${optionsHelp(OPTIONS)}

${KUBE_FLAGS_HELP}

${EXIT_CODES_HELP}
`;

/** Every option of the command (parser, --help and docs/cli.md). */
export const options: OptionTable = { ...KUBE_FLAGS, ...OPTIONS };

export function newestFirst(history: readonly TakeoverRecord[]): TakeoverRecord[] {
  return [...history].sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
}

export async function run(argv: string[]): Promise<number> {
  return runCommand('history', argv, async () => {
    const args = parseArgs(argv, options);
    const [name] = expectPositionals(args, ['NAME']) as [string];
    const output = stringFlag(args, 'output') ?? 'table';
    const kube = connect(args);
    const status = statusOf(await getCluster(kube, name));
    const history = newestFirst(status.takeoverHistory ?? []);
    const runs = status.backup?.runs ?? [];
    if (output !== 'table') {
      process.stdout.write(serialize(history, output as 'json' | 'yaml'));
    } else if (history.length === 0) {
      process.stdout.write(`No takeover recorded for ${kube.namespace}/${name}.\n`);
    } else {
      process.stdout.write(
        table(
          ['time', 'from', 'to', 'reason', 'duration', 'outcome', 'epoch'],
          history.map((t) => [
            t.time,
            t.from,
            t.to,
            t.reason,
            seconds(t.durationSeconds),
            orDash(t.outcome),
            orDash(t.epoch),
          ]),
        ) + '\n',
      );
    }
    if (output === 'table' && runs.length > 0) process.stdout.write(`\nBackup runs:\n${runsTable(runs)}\n`);
    return EXIT.ok;
  });
}
