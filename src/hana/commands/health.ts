/**
 * Turns what the commands said into a HanaHealth. Pure. Every failed, timed-out or unreadable
 * signal is an error: the health is then probeOk false and never running or writable.
 */
import { operationModes, replicationModes } from '../../api/spec.js';
import {
  replicationStatuses,
  type HanaHealth,
  type OperationMode,
  type OverallReplicationStatus,
  type ProcessColour,
  type LogPosition,
  type ReplicationLink,
  type ReplicationMode,
  type ReplicationStatus,
  type Role,
} from '../../domain/types.js';
import type { LandscapeHostConfiguration } from '../parsers/landscape.js';
import type { ProcessList } from '../parsers/sapcontrol.js';
import { sourceSiteOf, type SrState } from '../parsers/sr-state.js';
import type { SystemReplicationStatus } from '../parsers/sr-status.js';

export interface LagSample {
  readonly lagSeconds: number;
  readonly lagBytes: number;
  /** Per service volume (M_SERVICE_REPLICATION); absent when unknown. */
  readonly positions?: readonly LogPosition[];
}

/** Replication lag per secondary site (e.g. from M_SERVICE_REPLICATION over SQL). */
export interface LagSource {
  replicationLag(signal: AbortSignal): Promise<Map<string, LagSample>>;
}

/** A signal's value, or why it is missing. */
export type Signal<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

export interface ProbeSignals {
  readonly siteName: string;
  readonly srState: Signal<SrState>;
  readonly processes: Signal<ProcessList>;
  readonly landscape: Signal<LandscapeHostConfiguration>;
  /** Absent when not asked (not a running primary). */
  readonly srStatus?: Signal<SystemReplicationStatus>;
  /** Absent or failed: lag is unknown (null), which is never read as "no lag". */
  readonly lag?: Signal<ReadonlyMap<string, LagSample>>;
}

const COLOUR_RANK: Record<ProcessColour, number> = { GREEN: 0, YELLOW: 1, GRAY: 2, RED: 3 };

function roleOf(mode: SrState['mode']): Role {
  if (mode === 'primary') return 'primary';
  if (mode === 'none') return 'none';
  return 'secondary';
}

function worst(statuses: ReplicationStatus[]): ReplicationStatus {
  let w: ReplicationStatus = 'ACTIVE';
  for (const s of statuses) if (replicationStatuses.indexOf(s) < replicationStatuses.indexOf(w)) w = s;
  return w;
}

/** SAPHanaSR's rule: the daemon and the nameserver must be GREEN or YELLOW; the indexserver too where listed. */
function processesUp(processes: Readonly<Record<string, ProcessColour>>): boolean {
  const up = (c: ProcessColour | undefined) => c === 'GREEN' || c === 'YELLOW';
  if (!up(processes['hdbdaemon']) || !up(processes['hdbnameserver'])) return false;
  return processes['hdbindexserver'] === undefined || up(processes['hdbindexserver']);
}

export function healthFromSignals(p: ProbeSignals): HanaHealth {
  const errors: string[] = [];
  const sr = p.srState.ok ? p.srState.value : null;
  if (!p.srState.ok) errors.push(`hdbnsutil -sr_state: ${p.srState.error}`);
  if (sr && sr.mode !== 'none' && sr.siteName !== p.siteName) {
    errors.push(
      `hdbnsutil -sr_state reports site "${sr.siteName ?? ''}", this agent manages "${p.siteName}"`,
    );
  }
  const processes: Record<string, ProcessColour> = {};
  let nameserverPid: number | null = null;
  if (p.processes.ok) {
    for (const proc of p.processes.value.processes) {
      if (proc.name === 'hdbnameserver') nameserverPid = proc.pid;
      const prev = processes[proc.name];
      if (prev === undefined || COLOUR_RANK[proc.dispstatus] > COLOUR_RANK[prev])
        processes[proc.name] = proc.dispstatus;
    }
  } else errors.push(`sapcontrol GetProcessList: ${p.processes.error}`);
  const landscape = p.landscape.ok ? p.landscape.value.overall : null;
  if (!p.landscape.ok) errors.push(`landscapeHostConfiguration.py: ${p.landscape.error}`);

  const srRole: Role = sr ? roleOf(sr.mode) : 'none';
  // online null: the release prints no `online:` line (HANA 1.0); "running" then rests on the
  // processes and the landscape below, which must both say up. false (or no state) is never up.
  const online = sr !== null && sr.online !== false;
  let replication: ReplicationLink[] = [];
  let overall: OverallReplicationStatus = srRole === 'primary' || sr === null ? 'UNKNOWN' : 'NONE';

  if (p.srStatus) {
    if (!p.srStatus.ok) errors.push(`systemReplicationStatus.py: ${p.srStatus.error}`);
    else if (p.srStatus.value.kind !== 'primary') {
      errors.push(`systemReplicationStatus.py says "${p.srStatus.value.kind}" while hdbnsutil says primary`);
    } else {
      const status = p.srStatus.value;
      const lag = p.lag?.ok ? p.lag.value : undefined;
      const direct = status.links.filter((l) => l.sourceSite === p.siteName);
      // By name: a lookup per link in the list would be quadratic on a long hostile output.
      const sites = new Map((sr?.sites ?? []).map((t) => [t.name, t] as const));
      replication = direct.map((l) => {
        const name = l.secondarySite !== '' ? l.secondarySite : `site-id-${l.secondarySiteId ?? '?'}`;
        const topo = sites.get(name);
        const mode: ReplicationMode =
          l.mode ??
          (topo && (replicationModes as readonly string[]).includes(topo.mode ?? '')
            ? (topo.mode as ReplicationMode)
            : 'async');
        const operationMode: OperationMode =
          topo && (operationModes as readonly string[]).includes(topo.operationMode ?? '')
            ? (topo.operationMode as OperationMode)
            : 'logreplay';
        const sample = lag?.get(name);
        return {
          secondary: name,
          mode,
          operationMode,
          status: l.status,
          statusDetails: l.statusDetails,
          inSync: l.status === 'ACTIVE' && l.secondaryActive && l.fullySynced !== false,
          lagSeconds: sample ? sample.lagSeconds : null,
          lagBytes: sample ? sample.lagBytes : null,
          ...(sample?.positions !== undefined ? { positions: sample.positions } : {}),
        };
      });
      overall =
        replication.length === 0
          ? status.overall === 'NONE'
            ? 'NONE'
            : worst([status.overall ?? 'UNKNOWN'])
          : worst(replication.map((r) => r.status));
    }
  }

  const probeOk = errors.length === 0;
  const running = probeOk && online && processesUp(processes) && landscape !== null && landscape >= 2;
  const suspended = sr?.primarySuspended === true;
  const source = sr && srRole === 'secondary' ? sourceSiteOf(sr) : null;
  return {
    probeOk,
    ...(probeOk ? {} : { probeError: errors.join('; ') }),
    running,
    landscapeStatus: landscape,
    processes,
    nameserverPid,
    srRole,
    ...(source ? { source } : {}),
    ...(sr && srRole === 'secondary' ? { srMode: sr.mode as ReplicationMode } : {}),
    suspended,
    // Writes need the indexserver (a lost one is restarted by hdbdaemon, writes wait meanwhile).
    acceptsWrites:
      running && srRole === 'primary' && !suspended && (processes['hdbindexserver'] ?? 'GREEN') === 'GREEN',
    replication: probeOk ? replication : [],
    overallReplicationStatus: probeOk ? overall : 'UNKNOWN',
  };
}
