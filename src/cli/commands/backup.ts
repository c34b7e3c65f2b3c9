/** `hanasr backup NAME [--now]`: the backups of a HanaSystemReplication, or ask for one now. */
import { ANNOTATION_BACKUP_NOW, findCondition, KIND, type BackupStatus } from '../../api/resource.js';
import {
  boolFlag,
  CliError,
  EXIT,
  EXIT_CODES_HELP,
  expectPositionals,
  parseArgs,
  runCommand,
  stringFlag,
} from '../args.js';
import { age, ageSince, bytes, orDash, OUTPUT_FORMATS, serialize, table } from '../format.js';
import { annotate, connect, getCluster, KUBE_FLAGS, KUBE_FLAGS_HELP, record } from '../kube.js';
import { statusOf } from './status.js';
import { optionsHelp, type OptionTable } from '../../config/options.js';

const OPTIONS: OptionTable = {
  now: { type: 'boolean', help: 'request a data backup now' },
  output: {
    short: 'o',
    choices: OUTPUT_FORMATS,
    value: 'FORMAT',
    help: 'table (default), json or yaml (status.backup as stored)',
  },
};

export const help = `Usage: hanasr backup NAME [--now] [-o table|json|yaml] [options]

Shows the backups of NAME as the operator reports them in status.backup: the BackupHealthy
condition, per database the newest successful complete data backup (time, age, size, BACKUP_ID),
whether it is readable from the current primary's destination (BACKUP CHECK ACCESS), the newest
log backup, the log waiting for a log backup (segments in M_LOG_SEGMENTS, their size, how long
the oldest has waited), and the recent runs (scheduled, manual, after a takeover; which site ran them, in
which epoch, and how they ended).

With --now, asks for a data backup now by setting the annotation ${ANNOTATION_BACKUP_NOW}: the
operator turns it into a request at the current epoch, which only the agent of the current
primary carries out (never a secondary; a request from an older term is refused). The operator
acknowledges with an Event (BackupRequested, or IntentRefused with the reason: no spec.backup,
maintenance, no primary); BackupStarted and BackupSucceeded/BackupFailed follow.

Options:
${optionsHelp(OPTIONS)}

${KUBE_FLAGS_HELP}

${EXIT_CODES_HELP}
`;

/** Every option of the command (parser, --help and docs/cli.md). */
export const options: OptionTable = { ...KUBE_FLAGS, ...OPTIONS };

/** The human view of status.backup. */
export function formatBackup(backup: BackupStatus | undefined, condition: string, now: number): string {
  if (backup === undefined) return 'Backups: not configured (spec.backup is not set) or not reported yet\n';
  const lines: string[] = [];
  lines.push(
    `BackupHealthy: ${condition}${backup.observedSite !== undefined ? `; catalog of ${backup.observedSite} read ${ageSince(backup.observedTime, now)} ago` : ''}`,
  );
  lines.push('');
  const dbs = backup.databases ?? [];
  if (dbs.length > 0)
    lines.push(
      table(
        [
          'database',
          'last successful',
          'age',
          'size',
          'backup id',
          'readable',
          'last log backup',
          'log waiting for backup',
        ],
        dbs.map((d) => [
          d.name,
          orDash(d.lastSuccessfulTime),
          d.ageSeconds === undefined ? '-' : age(d.ageSeconds),
          bytes(d.sizeBytes),
          orDash(d.backupId),
          d.readable,
          d.lastLogBackupTime === undefined ? '-' : `${ageSince(d.lastLogBackupTime, now)} ago`,
          logWaiting(d),
        ]),
      ),
    );
  const runs = backup.runs ?? [];
  lines.push('');
  if (runs.length === 0) lines.push('Runs: none recorded');
  else lines.push(runsTable(runs));
  return lines.join('\n') + '\n';
}

/** The log of one database waiting for a log backup (M_LOG_SEGMENTS), e.g. "3 segments, 192MiB, oldest 14m". */
export function logWaiting(d: NonNullable<BackupStatus['databases']>[number]): string {
  if (d.logSegmentsWaiting === undefined) return '-';
  if (d.logSegmentsWaiting === 0) return 'none';
  return (
    `${d.logSegmentsWaiting} segment${d.logSegmentsWaiting === 1 ? '' : 's'}, ${bytes(d.logBytesWaiting)}` +
    (d.logOldestWaitingSeconds !== undefined ? `, oldest ${age(d.logOldestWaitingSeconds)}` : '')
  );
}

export function runsTable(runs: NonNullable<BackupStatus['runs']>): string {
  return table(
    ['started', 'run', 'kind', 'attempt', 'site', 'epoch', 'state', 'ended', 'message'],
    runs.map((r) => [
      r.startTime,
      r.id,
      r.kind,
      String(r.attempt),
      r.site,
      String(r.epoch),
      r.state,
      orDash(r.endTime),
      r.message,
    ]),
  );
}

export async function run(argv: string[]): Promise<number> {
  return runCommand('backup', argv, async () => {
    const args = parseArgs(argv, options);
    const [name] = expectPositionals(args, ['NAME']) as [string];
    const output = stringFlag(args, 'output') ?? 'table';
    const kube = connect(args);
    const obj = await getCluster(kube, name);
    if (boolFlag(args, 'now')) {
      if (record(obj['spec'])['backup'] === undefined)
        throw new CliError(
          EXIT.refused,
          `${KIND} ${kube.namespace}/${name} has no spec.backup: hanasr runs no backups`,
        );
      const token = new Date().toISOString();
      await annotate(kube, name, ANNOTATION_BACKUP_NOW, token);
      process.stdout.write(
        `${KIND} ${kube.namespace}/${name}: backup requested (${ANNOTATION_BACKUP_NOW}=${token}); ` +
          `the current primary's agent runs it, watch with: hanasr backup ${name} -n ${kube.namespace}\n`,
      );
      return EXIT.ok;
    }
    const status = statusOf(obj);
    if (output !== 'table') {
      process.stdout.write(serialize(status.backup ?? null, output as 'json' | 'yaml'));
      return EXIT.ok;
    }
    const c = findCondition(status, 'BackupHealthy');
    process.stdout.write(
      formatBackup(status.backup, c ? `${c.status} (${c.reason}): ${c.message}` : 'Unknown', Date.now()),
    );
    return EXIT.ok;
  });
}
