/** `hanasr status [NAME]`: the state of a HanaSystemReplication, like SAPHanaSR-showAttr. */
import {
  findCondition,
  hanaSystemReplicationStatusSchema,
  KIND,
  type HanaSystemReplicationStatus,
  type SiteStatus,
  type TakeoverRecord,
} from '../../api/resource.js';
import { EXIT, EXIT_CODES_HELP, expectPositionals, parseArgs, runCommand, stringFlag } from '../args.js';
import { age, ageSince, bytes, orDash, OUTPUT_FORMATS, seconds, serialize, table, yesNo } from '../format.js';
import {
  apiError,
  connect,
  getCluster,
  KUBE_FLAGS,
  KUBE_FLAGS_HELP,
  record,
  str,
  type Obj,
} from '../kube.js';

import { optionsHelp, type OptionTable } from '../../config/options.js';

const OPTIONS: OptionTable = {
  output: {
    short: 'o',
    choices: OUTPUT_FORMATS,
    value: 'FORMAT',
    help: 'table (default), json or yaml (json/yaml print the resource as stored)',
  },
};

export const help = `Usage: hanasr status [NAME] [-o table|json|yaml] [options]

Shows a HanaSystemReplication as the operator reports it in status: the cluster line (primary,
epoch, maintenance, Ready), one row per site (role, HANA status, landscape, replication mode and
status, in sync, lag in seconds and bytes, age of the last agent report), with two regions a
region line (the active region and its generation; a DR region says so; a draining planned
switchover shows its sites, deadline and what it waits for; a disaster takeover the loss it
expected: -o yaml has the whole status.region), the last takeover, a line on backups (with spec.backup: health, the oldest newest backup, the log waiting for a log
backup, the last run; hanasr backup NAME shows them in full) and the conditions.
Without NAME: one line per HanaSystemReplication in the namespace.

The last report is the one the operator last wrote into the status: while nothing else changes,
the operator refreshes it once it is --report-time-refresh-seconds (default 60) behind the agent,
so up to about 60 s plus one resync (30 s) is the normal age of an agent that reports every
cycle; an agent whose lease ended has no report at all (hana unknown). hanasr explain NAME reads
the store itself.

Options:
${optionsHelp(OPTIONS)}

${KUBE_FLAGS_HELP}

${EXIT_CODES_HELP}
`;

/** Every option of the command (parser, --help and docs/cli.md). */
export const options: OptionTable = { ...KUBE_FLAGS, ...OPTIONS };

/** The status as the schema reads it; a status the schema rejects is shown as stored. */
export function statusOf(obj: Obj): HanaSystemReplicationStatus {
  const raw = obj['status'] ?? {};
  const parsed = hanaSystemReplicationStatusSchema.safeParse(raw);
  return parsed.success ? parsed.data : (record(raw) as HanaSystemReplicationStatus);
}

function maintenanceOf(obj: Obj): boolean {
  return record(obj['spec'])['maintenance'] === true;
}

function nameOf(obj: Obj): string {
  return str(record(obj['metadata'])['name']) ?? '?';
}

export function describeTakeover(t: TakeoverRecord): string {
  const details = [
    t.reason,
    t.durationSeconds !== undefined ? `took ${seconds(t.durationSeconds)}` : undefined,
    t.outcome,
    t.epoch !== undefined ? `epoch ${t.epoch}` : undefined,
  ].filter((d) => d !== undefined);
  return `${t.time} ${t.from} -> ${t.to} (${details.join(', ')})`;
}

/** One line on backups: health, the oldest newest-backup, the last run (hanasr backup has the rest). */
export function describeBackups(b: NonNullable<HanaSystemReplicationStatus['backup']>): string {
  const ages = (b.databases ?? []).map((d) => d.ageSeconds);
  const oldest = ages.some((a) => a === undefined)
    ? 'a database has none'
    : ages.length > 0
      ? `oldest newest backup ${age(Math.max(...(ages as number[])))} old`
      : 'no database reported';
  const last = b.runs?.[0];
  const run =
    last !== undefined ? `, last run ${last.id} ${last.state} on ${last.site} at ${last.startTime}` : '';
  // The log waiting for a log backup over every database that reported it (M_LOG_SEGMENTS).
  const read = (b.databases ?? []).filter((d) => d.logSegmentsWaiting !== undefined);
  const segments = read.reduce((n, d) => n + d.logSegmentsWaiting!, 0);
  const size = read.reduce((n, d) => n + (d.logBytesWaiting ?? 0), 0);
  const log =
    read.length === 0
      ? ''
      : `, log waiting for backup ${segments} segment${segments === 1 ? '' : 's'} (${bytes(size)})`;
  return `Backups: ${b.healthy ? 'healthy' : `not healthy (${b.reason})`}, ${oldest}${log}${run}`;
}

/**
 * The region line (docs/dr.md; -o yaml has the whole record): the active region and its
 * generation, and this operator's region when it is a DR region; a draining planned switchover
 * with its deadline and what it waits for; a disaster takeover with the loss it expected.
 */
export function describeRegion(r: NonNullable<HanaSystemReplicationStatus['region']>, now: number): string {
  const since = `since ${r.since}, ${ageSince(r.since, now)} ago`;
  const sw = r.switchover;
  if (r.draining === true) {
    const what =
      sw !== undefined
        ? `switchover ${sw.from} (${sw.fromRegion}) -> ${sw.to} (${sw.toRegion}) draining at generation ${r.generation}`
        : `a switchover to ${r.active} draining at generation ${r.generation}`;
    const deadline =
      sw?.deadline !== undefined
        ? `, aborted at ${sw.deadline} (${Date.parse(sw.deadline) > now ? `in ${age((Date.parse(sw.deadline) - now) / 1000)}` : 'now'}) unless handed over`
        : '';
    return `Region: ${what}, the -rw Service selects no pod (${since}${deadline})${sw !== undefined ? `; ${sw.waitingFor}` : ''}`;
  }
  const by =
    r.by === 'disaster'
      ? 'by a disaster takeover'
      : r.by === 'adopted'
        ? 'adopted from the other region'
        : `by ${r.by}`;
  const role =
    r.thisRegion === undefined
      ? ''
      : r.thisRegion === r.active
        ? `; this region leads`
        : `; this region ${r.thisRegion} is a DR region (its sites are secondaries, none takes over in it)`;
  const loss = r.lossMessage !== undefined ? `; data loss expected when decided: ${r.lossMessage}` : '';
  return `Region: ${r.active} active at generation ${r.generation} (${by}, ${since})${role}${loss}`;
}

/** The full view of one cluster. */
export function formatCluster(obj: Obj, now: number): string {
  const status = statusOf(obj);
  const meta = record(obj['metadata']);
  const ready = findCondition(status, 'Ready');
  const lines: string[] = [];
  lines.push(
    `${KIND} ${str(meta['namespace']) ?? ''}/${nameOf(obj)}: primary ${status.currentPrimary ?? '(none)'}, ` +
      `epoch ${orDash(status.epoch)}, maintenance ${maintenanceOf(obj) ? 'on' : 'off'}, ` +
      `Ready ${ready ? `${ready.status} (${ready.reason})` : 'Unknown'}`,
  );
  if (status.targetPrimary !== undefined && status.targetPrimary !== status.currentPrimary) {
    lines.push(`takeover in progress: target primary ${status.targetPrimary}`);
  }
  const generation = meta['generation'];
  if (
    typeof generation === 'number' &&
    status.observedGeneration !== undefined &&
    status.observedGeneration < generation
  ) {
    lines.push(
      `the operator has not yet seen generation ${generation} (observed ${status.observedGeneration})`,
    );
  }
  lines.push('');
  const sites = status.sites ?? [];
  if (sites.length === 0) {
    lines.push('Sites: no site has reported yet');
  } else {
    lines.push(
      table(
        [
          'site',
          'role',
          'hana',
          'landscape',
          'mode',
          'replication',
          'in sync',
          'lag',
          'lag bytes',
          'fenced',
          'watchdog',
          'last report',
        ],
        sites.map((s) => [
          s.name,
          s.role,
          orDash(s.hanaStatus),
          orDash(s.landscapeStatus),
          orDash(s.replicationMode),
          orDash(s.replicationStatus),
          s.role === 'primary' ? '-' : yesNo(s.inSync),
          // A secondary that replicates but whose lag nobody could read says so.
          s.role !== 'primary' && s.replicationStatus !== undefined && s.lagSeconds === undefined
            ? 'unknown'
            : seconds(s.lagSeconds),
          bytes(s.lagBytes),
          yesNo(s.fenced),
          watchdogCell(s.watchdog),
          s.lastReportTime === undefined ? '-' : `${ageSince(s.lastReportTime, now)} ago`,
        ]),
      ),
    );
  }
  for (const s of sites) {
    if (s.role !== 'primary' && s.notInSyncReason !== undefined)
      lines.push(`${s.name} is not in sync: ${s.notInSyncReason}`);
    if (s.watchdog !== undefined && !s.watchdog.usable && s.watchdog.mode !== 'disabled')
      lines.push(`${s.name}'s watchdog is not usable: ${s.watchdog.message}`);
    const f = s.nodeFence;
    if (f !== undefined)
      lines.push(
        `${s.name}'s node was last fenced ${f.action} by ${f.by} (term ${f.epoch}, ${ageSince(f.time, now)} ago): ${f.result}, ${f.message}`,
      );
  }
  lines.push('');
  if (status.region !== undefined) lines.push(describeRegion(status.region, now));
  lines.push(`Last takeover: ${status.lastTakeover ? describeTakeover(status.lastTakeover) : 'none'}`);
  if (status.backup !== undefined) lines.push(describeBackups(status.backup));
  lines.push('');
  const conditions = status.conditions ?? [];
  if (conditions.length === 0) {
    lines.push('Conditions: none reported yet');
  } else {
    lines.push(
      table(
        ['condition', 'status', 'reason', 'age', 'message'],
        conditions.map((c) => [c.type, c.status, c.reason, ageSince(c.lastTransitionTime, now), c.message]),
      ),
    );
  }
  return lines.join('\n') + '\n';
}

/** One line per cluster. */
export function formatList(items: readonly Obj[], now: number): string {
  return (
    table(
      ['name', 'primary', 'epoch', 'ready', 'replication', 'maintenance', 'last takeover', 'age'],
      items.map((obj) => {
        const status = statusOf(obj);
        const ready = findCondition(status, 'Ready');
        const repl = findCondition(status, 'ReplicationHealthy');
        const created = str(record(obj['metadata'])['creationTimestamp']);
        return [
          nameOf(obj),
          orDash(status.currentPrimary),
          orDash(status.epoch),
          ready?.status ?? 'Unknown',
          repl ? repl.reason : '-',
          maintenanceOf(obj) ? 'on' : 'off',
          status.lastTakeover
            ? `${status.lastTakeover.from}->${status.lastTakeover.to} ${ageSince(status.lastTakeover.time, now)} ago`
            : '-',
          created === undefined ? '-' : age((now - Date.parse(created)) / 1000),
        ];
      }),
    ) + '\n'
  );
}

export async function run(argv: string[]): Promise<number> {
  return runCommand('status', argv, async () => {
    const args = parseArgs(argv, options);
    const positionals = args.positionals.length === 0 ? [] : expectPositionals(args, ['NAME']);
    const output = stringFlag(args, 'output') ?? 'table';
    const kube = connect(args);
    const name = positionals[0];
    if (name !== undefined) {
      const obj = await getCluster(kube, name);
      process.stdout.write(
        output === 'table' ? formatCluster(obj, Date.now()) : serialize(obj, output as 'json' | 'yaml'),
      );
      return EXIT.ok;
    }
    let items: Obj[];
    try {
      items = (await kube.client.listHsr(kube.namespace)).items;
    } catch (err) {
      throw apiError(kube, err, `list ${KIND} in namespace ${kube.namespace}`);
    }
    if (output !== 'table') {
      process.stdout.write(serialize(items, output as 'json' | 'yaml'));
    } else if (items.length === 0) {
      process.stdout.write(`No ${KIND} in namespace ${kube.namespace}.\n`);
    } else {
      process.stdout.write(formatList(items, Date.now()));
    }
    return EXIT.ok;
  });
}

/** The watchdog column: armed with its timeout, disarmed, failed, unusable, or '-' without one. */
function watchdogCell(w: SiteStatus['watchdog']): string {
  if (w === undefined || w.mode === 'disabled') return '-';
  if (!w.usable) return 'unusable';
  const t = w.timeoutSeconds !== undefined ? ` ${w.timeoutSeconds}s` : '';
  return `${w.state}${t}`;
}
