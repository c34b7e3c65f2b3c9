// Why this file is long: one text face per simulated tool output (hdbnsutil, sapcontrol, python scripts), each laid out like a published real output.
/**
 * Text faces of the simulator: what hdbnsutil, sapcontrol and HANA's python scripts print for a
 * simulated site, laid out like the published real outputs in test/fixtures/hana (see
 * SOURCES.md there). Pure functions of a SimSiteSnapshot.
 */
import { landscapeStatusNames, replicationStatuses, type ReplicationStatus } from '../../domain/types.js';
import type { SimLink, SimSiteSnapshot, SimTopologySite } from './snapshot.js';

export interface RenderedCommand {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** sapcontrol's header timestamp: `dd.mm.yyyy HH:MM:SS` (UTC in the simulator). */
export function sapcontrolTimestamp(ms: number): string {
  const d = new Date(ms);
  return `${pad2(d.getUTCDate())}.${pad2(d.getUTCMonth() + 1)}.${d.getUTCFullYear()} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}

function port(s: SimSiteSnapshot, suffix: string): number {
  return Number(`3${s.instanceNumber}${suffix}`);
}

function nameserverDown(s: SimSiteSnapshot): string {
  return `nameserver ${s.host}:${port(s, '01')} not responding.`;
}

const ok = (stdout: string, exitCode = 0): RenderedCommand => ({ exitCode, stdout, stderr: '' });

// --- hdbnsutil -sr_state -------------------------------------------------------------------

function tiers(topology: readonly SimTopologySite[]): Map<string, number> {
  const byName = new Map(topology.map((t) => [t.name, t]));
  const tier = new Map<string, number>();
  const depth = (name: string, seen: Set<string>): number => {
    const known = tier.get(name);
    if (known !== undefined) return known;
    const t = byName.get(name);
    const d =
      t?.source && !seen.has(t.source) && byName.has(t.source) ? depth(t.source, seen.add(name)) + 1 : 1;
    tier.set(name, d);
    return d;
  };
  for (const t of topology) depth(t.name, new Set());
  return tier;
}

function treeLines(topology: readonly SimTopologySite[]): string[] {
  const lines: string[] = [];
  const visit = (t: SimTopologySite, depth: number) => {
    const prefix = depth === 0 ? '' : '    ' + '|    '.repeat(depth - 1) + '|---';
    lines.push(`${prefix}${t.name} (${t.mode}/${t.mode === 'primary' ? 'primary' : t.operationMode})`);
    for (const child of topology.filter((c) => c.source === t.name)) visit(child, depth + 1);
  };
  for (const root of topology.filter((t) => !t.source || !topology.some((o) => o.name === t.source)))
    visit(root, 0);
  return lines;
}

function srFlags(s: SimSiteSnapshot) {
  const primary = s.srMode === 'primary';
  const hasSecondaries = s.topology.some((t) => t.source === s.site);
  const source = s.source;
  return { primary, hasSecondaries, source };
}

export function renderSrState(s: SimSiteSnapshot, form: 'plain' | 'sapcontrol' = 'plain'): RenderedCommand {
  const { primary, hasSecondaries, source } = srFlags(s);
  const online = s.running;
  const opMode = online ? (primary ? 'primary' : s.operationMode) : 'unknown';
  const unknownIfDown = (v: boolean) => (online ? String(v) : 'unknown');
  const pre = online ? '' : nameserverDown(s) + '\n';
  const tier = tiers(s.topology);
  if (form === 'sapcontrol') {
    const out = [`SAPCONTROL-OK: <begin>`, `online=${online}`, `mode=${s.srMode}`];
    if (s.srMode !== 'none') {
      out.push(
        `operation mode=${opMode}`,
        `site id=${s.siteId}`,
        `site name=${s.site}`,
        `isSource=${unknownIfDown(primary || hasSecondaries)}`,
        `isConsumer=${!primary}`,
        `hasConsumers=${unknownIfDown(hasSecondaries)}`,
        `isTakeoverActive=${s.takeoverActive}`,
        `isPrimarySuspended=${primary && !online ? 'unknown' : s.suspended}`,
      );
      if (!primary) out.push('isTimetravelEnabled=false', 'replayMode=auto');
      if (source) out.push(`active primary site=${source.siteId}`, `primary masters=${source.host}`);
      if (online) {
        for (const t of [...s.topology].reverse()) out.push(`mapping/${s.host}=${t.name}/${t.host}`);
        for (const t of s.topology) out.push(`siteTier/${t.name}=${tier.get(t.name) ?? 1}`);
        for (const t of s.topology) out.push(`siteReplicationMode/${t.name}=${t.mode}`);
        for (const t of s.topology)
          out.push(`siteOperationMode/${t.name}=${t.mode === 'primary' ? 'primary' : t.operationMode}`);
        for (const t of s.topology) if (t.source) out.push(`siteMapping/${t.source}=${t.name}`);
        out.push('hintBasedRoutingSite=');
      }
    }
    out.push('SAPCONTROL-OK: <end>', 'done.');
    return ok(pre + out.join('\n') + '\n');
  }
  const out = [
    '',
    'System Replication State',
    '~~~~~~~~~~~~~~~~~~~~~~~~',
    '',
    `online: ${online}`,
    '',
    `mode: ${s.srMode}`,
  ];
  if (s.srMode === 'none') return ok(pre + [...out, 'done.'].join('\n') + '\n');
  out.push(
    `operation mode: ${opMode}`,
    `site id: ${s.siteId}`,
    `site name: ${s.site}`,
    '',
    `is source system: ${unknownIfDown(primary || hasSecondaries)}`,
    `is secondary/consumer system: ${!primary}`,
    `has secondaries/consumers attached: ${unknownIfDown(hasSecondaries)}`,
    `is a takeover active: ${s.takeoverActive}`,
    `is primary suspended: ${primary && !online ? 'unknown' : s.suspended}`,
  );
  if (!primary) out.push('is timetravel enabled: false', 'replay mode: auto');
  if (source) out.push(`active primary site: ${source.siteId}`, '', `primary masters: ${source.host}`);
  if (online) {
    out.push('', 'Host Mappings:', '~~~~~~~~~~~~~~', '');
    for (const t of [...s.topology].reverse()) out.push(`${s.host} -> [${t.name}] ${t.host}`);
    out.push('', '', 'Site Mappings:', '~~~~~~~~~~~~~~', ...treeLines(s.topology), '');
    for (const t of s.topology) out.push(`Tier of ${t.name}: ${tier.get(t.name) ?? 1}`);
    out.push('');
    for (const t of s.topology) out.push(`Replication mode of ${t.name}: ${t.mode}`);
    out.push('');
    for (const t of s.topology)
      out.push(`Operation mode of ${t.name}: ${t.mode === 'primary' ? 'primary' : t.operationMode}`);
    out.push('');
    const mappings = s.topology.filter((t) => t.source).map((t) => `Mapping: ${t.source} -> ${t.name}`);
    if (mappings.length > 0) out.push(...mappings, '');
    out.push('Hint based routing site:');
  }
  out.push('done.');
  return ok(pre + out.join('\n') + '\n');
}

// --- systemReplicationStatus.py ------------------------------------------------------------

const SERVICES = [
  { database: 'SYSTEMDB', service: 'nameserver', port: '01', volume: 1 },
  { database: '', service: 'xsengine', port: '07', volume: 2 },
  { database: '', service: 'indexserver', port: '03', volume: 3 },
] as const;

function formatTable(
  header: readonly string[][],
  rightAligned: readonly boolean[],
  rows: readonly string[][],
): string[] {
  const widths = header[0]!.map((_, c) =>
    Math.max(...header.map((h) => h[c]!.length), ...rows.map((r) => r[c]!.length), 1),
  );
  const line = (cells: readonly string[], align: boolean) =>
    '|' +
    cells
      .map((v, c) => (align && rightAligned[c] ? v.padStart(widths[c]!) : v.padEnd(widths[c]!)) + ' |')
      .join('');
  return [
    ...header.map((h) => line(h, false)),
    '|' + widths.map((w) => '-'.repeat(w) + ' |').join(''),
    ...rows.map((r) => line(r, true)),
  ];
}

function worstStatus(links: readonly SimLink[]): ReplicationStatus {
  let w: ReplicationStatus = 'ACTIVE';
  for (const l of links)
    if (replicationStatuses.indexOf(l.status) < replicationStatuses.indexOf(w)) w = l.status;
  return w;
}

const STATUS_EXIT: Record<ReplicationStatus, number> = {
  ERROR: 11,
  UNKNOWN: 12,
  INITIALIZING: 13,
  SYNCING: 14,
  ACTIVE: 15,
};

function localBlock(s: SimSiteSnapshot): string[] {
  const out = [
    'Local System Replication State',
    '~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~',
    '',
    `mode: ${s.srMode.toUpperCase()}`,
    `site id: ${s.siteId}`,
    `site name: ${s.site}`,
  ];
  if (s.source) out.push(`active primary site: ${s.source.siteId}`, `primary masters: ${s.source.host}`);
  return out;
}

function positionTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '000');
}

export function renderSystemReplicationStatus(
  s: SimSiteSnapshot,
  form: 'table' | 'sapcontrol' = 'table',
): RenderedCommand {
  if (!s.running)
    return ok(
      [nameserverDown(s), nameserverDown(s), 'this system is not a system replication site'].join('\n') +
        '\n',
      10,
    );
  // --sapcontrol=1 as SAP's script prints it: no text, only key=value lines between the markers.
  const kvLocal = (): string[] =>
    s.srMode === 'primary'
      ? [
          `site/${s.siteId}/REPLICATION_MODE=PRIMARY`,
          `site/${s.siteId}/SITE_NAME=${s.site}`,
          `local_site_id=${s.siteId}`,
        ]
      : [
          `site/${s.siteId}/REPLICATION_MODE=${s.srMode.toUpperCase()}`,
          `site/${s.siteId}/SITE_NAME=${s.site}`,
          ...(s.source
            ? [
                `site/${s.siteId}/SOURCE_SITE_ID=${s.source.siteId}`,
                `site/${s.siteId}/PRIMARY_MASTERS=${s.source.host}`,
              ]
            : []),
          `local_site_id=${s.siteId}`,
        ];
  const kvBlock = (body: string[]) =>
    ['SAPCONTROL-OK: <begin>', ...body, 'SAPCONTROL-OK: <end>'].join('\n') + '\n';
  if (s.srMode === 'none')
    return ok(
      form === 'sapcontrol' ? kvBlock(['local_site_id=0']) : 'this system is not a system replication site\n',
      10,
    );
  if (s.srMode !== 'primary') {
    if (form === 'sapcontrol') return ok(kvBlock(kvLocal()), 12);
    return ok(
      ['this system is either not running or not primary system replication site', '', ...localBlock(s)].join(
        '\n',
      ) + '\n',
      12,
    );
  }
  const links = s.links;
  if (links.length === 0) {
    // A primary whose secondaries are gone: SAP's script says so and exits 10 (NoHSR).
    if (form === 'sapcontrol') return ok(kvBlock(kvLocal()), 10);
    return ok(['there are no secondary sites attached', '', ...localBlock(s)].join('\n') + '\n', 10);
  }
  const overall = links.length === 0 ? null : worstStatus(links);
  const exitCode = overall === null ? 10 : STATUS_EXIT[overall];
  const siteLines = links.map((l) => `status system replication site "${l.secondarySiteId}": ${l.status}`);
  if (form === 'sapcontrol') {
    const out = ['SAPCONTROL-OK: <begin>'];
    for (const l of links) {
      for (const svc of SERVICES) {
        const p = port(s, svc.port);
        const key = `service/${s.host}/${p}`;
        const fields: [string, string | number][] = [
          ['DATABASE', svc.database || s.sid],
          ['HOST', s.host],
          ['PORT', p],
          ['SERVICE_NAME', svc.service],
          ['VOLUME_ID', svc.volume],
          ['SITE_ID', s.siteId],
          ['SITE_NAME', s.site],
          ['SECONDARY_HOST', l.secondaryHost],
          ['SECONDARY_PORT', p],
          ['SECONDARY_SITE_ID', l.secondarySiteId],
          ['SECONDARY_SITE_NAME', l.secondarySite],
          ['SECONDARY_ACTIVE_STATUS', l.secondaryActive ? 'YES' : 'NO'],
          ['REPLICATION_MODE', l.mode.toUpperCase()],
          ['OPERATION_MODE', l.operationMode],
          ['REPLICATION_STATUS', l.status],
          ['REPLICATION_STATUS_DETAILS', l.statusDetails],
          ['LAST_LOG_POSITION', l.lastLogPosition],
          ['LAST_LOG_POSITION_TIME', positionTime(l.lastLogPositionTime)],
          ['SHIPPED_LOG_POSITION', l.shippedLogPosition],
          ['SHIPPED_LOG_POSITION_TIME', positionTime(l.shippedLogPositionTime)],
          ['REPLAYED_LOG_POSITION', l.replayedLogPosition],
          ['REPLAYED_LOG_POSITION_TIME', positionTime(l.replayedLogPositionTime)],
          ['SECONDARY_FULLY_SYNCED', l.fullySynced ? 'True' : 'False'],
        ];
        for (const [k, v] of fields) out.push(`${key}/${k}=${v}`);
      }
    }
    for (const l of links) {
      out.push(
        `site/${l.secondarySiteId}/SITE_NAME=${l.secondarySite}`,
        `site/${l.secondarySiteId}/SOURCE_SITE_ID=${s.siteId}`,
        `site/${l.secondarySiteId}/REPLICATION_MODE=${l.mode.toUpperCase()}`,
        `site/${l.secondarySiteId}/REPLICATION_STATUS=${l.status}`,
      );
    }
    if (overall !== null) out.push(`overall_replication_status=${overall}`);
    out.push(
      `site/${s.siteId}/REPLICATION_MODE=PRIMARY`,
      `site/${s.siteId}/SITE_NAME=${s.site}`,
      `local_site_id=${s.siteId}`,
      'SAPCONTROL-OK: <end>',
    );
    return ok(out.join('\n') + '\n', exitCode);
  }
  const header = [
    [
      'Database',
      'Host',
      'Port',
      'Service Name',
      'Volume ID',
      'Site ID',
      'Site Name',
      'Secondary',
      'Secondary',
      'Secondary',
      'Secondary',
      'Secondary',
      'Replication',
      'Replication',
      'Replication',
      'Secondary',
    ],
    [
      '',
      '',
      '',
      '',
      '',
      '',
      '',
      'Host',
      'Port',
      'Site ID',
      'Site Name',
      'Active Status',
      'Mode',
      'Status',
      'Status Details',
      'Fully Synced',
    ],
  ];
  const right = [
    false,
    false,
    true,
    false,
    true,
    true,
    false,
    false,
    true,
    true,
    false,
    false,
    false,
    false,
    false,
    true,
  ];
  const rows = links.flatMap((l) =>
    SERVICES.map((svc) => [
      svc.database || s.sid,
      s.host,
      String(port(s, svc.port)),
      svc.service,
      String(svc.volume),
      String(s.siteId),
      s.site,
      l.secondaryHost,
      String(port(s, svc.port)),
      String(l.secondarySiteId),
      l.secondarySite,
      l.secondaryActive ? 'YES' : 'NO',
      l.mode.toUpperCase(),
      l.status,
      l.statusDetails,
      l.fullySynced ? 'True' : 'False',
    ]),
  );
  const out = [...formatTable(header, right, rows), '', ...siteLines];
  if (overall !== null) out.push(`overall system replication status: ${overall}`);
  out.push('', ...localBlock(s));
  return ok(out.join('\n') + '\n', exitCode);
}

// --- landscapeHostConfiguration.py ---------------------------------------------------------

export function renderLandscapeHostConfiguration(s: SimSiteSnapshot): RenderedCommand {
  const header = [
    [
      'Host',
      'Host',
      'Host',
      'Failover',
      'Remove',
      'Storage',
      'Failover',
      'Failover',
      'NameServer',
      'NameServer',
      'IndexServer',
      'IndexServer',
    ],
    [
      '',
      'Active',
      'Status',
      'Status',
      'Status',
      'Partition',
      'Config Group',
      'Actual Group',
      'Config Role',
      'Actual Role',
      'Config Role',
      'Actual Role',
    ],
  ];
  const right = [false, false, false, false, false, true, false, false, false, false, false, false];
  const word = landscapeStatusNames[s.landscapeStatus].toLowerCase();
  const row = s.running
    ? [s.host, 'yes', word, '', '', '1', 'default', 'default', 'master 1', 'master', 'worker', 'master']
    : [s.host, 'no', word, '?', '?', '?', 'default', '?', 'master 1', '?', 'worker', '?'];
  const pre = s.running ? [] : [nameserverDown(s), nameserverDown(s)];
  const out = [...pre, ...formatTable(header, right, [row]), '', `overall host status: ${word}`];
  return ok(out.join('\n') + '\n', s.landscapeStatus);
}

// --- sapcontrol ----------------------------------------------------------------------------

export function renderSapcontrolRefused(s: SimSiteSnapshot, fn: string): RenderedCommand {
  return ok(
    `\n${sapcontrolTimestamp(s.now)}\n${fn}\nFAIL: NIECONN_REFUSED (Connection refused), NiRawConnect failed in plugin_fopen()\n`,
    1,
  );
}

export function renderProcessList(s: SimSiteSnapshot): RenderedCommand {
  const rows = s.processes.map(
    (p) =>
      `${p.name}, ${p.description}, ${p.dispstatus}, ${p.textstatus}, ${p.starttime}, ${p.elapsedtime}, ${p.pid}`,
  );
  const out = [
    '',
    sapcontrolTimestamp(s.now),
    'GetProcessList',
    'OK',
    'name, description, dispstatus, textstatus, starttime, elapsedtime, pid',
    ...rows,
  ];
  const exitCode =
    s.processes.length > 0 && s.processes.every((p) => p.dispstatus === 'GREEN')
      ? 3
      : s.processes.every((p) => p.dispstatus === 'GRAY')
        ? 4
        : 0;
  return ok(out.join('\n') + '\n', exitCode);
}

export function renderSystemInstanceList(s: SimSiteSnapshot): RenderedCommand {
  const nr = Number(s.instanceNumber);
  const colour =
    s.processes.length > 0 && s.processes.every((p) => p.dispstatus === 'GREEN')
      ? 'GREEN'
      : s.processes.every((p) => p.dispstatus === 'GRAY')
        ? 'GRAY'
        : 'YELLOW';
  const out = [
    '',
    sapcontrolTimestamp(s.now),
    'GetSystemInstanceList',
    'OK',
    'hostname, instanceNr, httpPort, httpsPort, startPriority, features, dispstatus',
    `${s.host}, ${nr}, 5${s.instanceNumber}13, 5${s.instanceNumber}14, 0.3, HDB|HDB_WORKER, ${colour}`,
  ];
  return ok(out.join('\n') + '\n', 0);
}

/** sapcontrol's answer to a function call that only triggers work (StartSystem, StopSystem). */
export function renderSapcontrolOk(s: SimSiteSnapshot, fn: string): RenderedCommand {
  return ok(`\n${sapcontrolTimestamp(s.now)}\n${fn}\nOK\n`, 0);
}

export function renderSapcontrolFail(s: SimSiteSnapshot, fn: string, message: string): RenderedCommand {
  return ok(`\n${sapcontrolTimestamp(s.now)}\n${fn}\nFAIL: ${message}\n`, 1);
}
