/**
 * Builders for the decision engine's inputs, so that tests read like tables: a spec, a local
 * health, the peers' reports, the sync records and the leader view, each with safe-looking
 * defaults that a test overrides only where the case is about.
 *
 * Times are milliseconds; `T` is "now" for every table case unless it says otherwise.
 */
import {
  parseSpec,
  type HanaSystemReplicationSpec,
  type HanaSystemReplicationSpecInput,
} from '../../src/api/spec.js';
import type { LocalView, Observation, PeerView } from '../../src/domain/observation.js';
import {
  unknownHealth,
  type HanaHealth,
  type Intent,
  type LeaderView,
  type ReplicationLink,
  type ReplicationMode,
  type SiteReport,
  type SyncRecord,
  type SyncState,
} from '../../src/domain/types.js';

/** "Now" of every table case. */
export const T = 10_000_000;
/** The epoch of the current (or last) term in the tables. */
export const EPOCH = 5;

/** A valid spec for sites A (primary tier) and B, with SAPHanaSR-like defaults; override per case. */
export function spec(overrides: Partial<HanaSystemReplicationSpecInput> = {}): HanaSystemReplicationSpec {
  return parseSpec({
    sid: 'HA1',
    instanceNumber: '00',
    sites: [
      { name: 'A', host: 'hana-a' },
      { name: 'B', host: 'hana-b' },
    ],
    ...overrides,
  });
}

/** Three sites: A primary tier, B and C both replicating from A (multitarget). */
export const threeSites = [
  { name: 'A', host: 'hana-a' },
  { name: 'B', host: 'hana-b' },
  { name: 'C', host: 'hana-c' },
];

/** One replication link as the source reports it: ACTIVE and fully synced unless overridden. */
export function link(secondary: string, over: Partial<ReplicationLink> = {}): ReplicationLink {
  return {
    secondary,
    mode: 'sync',
    operationMode: 'logreplay',
    status: 'ACTIVE',
    statusDetails: '',
    inSync: true,
    lagSeconds: 0,
    lagBytes: 0,
    ...over,
  };
}

/** A running, writable primary replicating to the given links. */
export function primaryHealth(
  links: readonly ReplicationLink[] = [link('B')],
  over: Partial<HanaHealth> = {},
): HanaHealth {
  return {
    probeOk: true,
    running: true,
    landscapeStatus: 4,
    processes: { hdbdaemon: 'GREEN', hdbnameserver: 'GREEN', hdbindexserver: 'GREEN' },
    srRole: 'primary',
    suspended: false,
    acceptsWrites: true,
    replication: links,
    overallReplicationStatus: links.length === 0 ? 'NONE' : 'ACTIVE',
    ...over,
  };
}

/** A site still configured as primary whose instance is stopped (hdbnsutil still answers). */
export function stoppedPrimaryHealth(over: Partial<HanaHealth> = {}): HanaHealth {
  return {
    probeOk: true,
    running: false,
    landscapeStatus: 1,
    processes: { hdbdaemon: 'GRAY', hdbnameserver: 'GRAY', hdbindexserver: 'GRAY' },
    srRole: 'primary',
    suspended: false,
    acceptsWrites: false,
    replication: [],
    overallReplicationStatus: 'UNKNOWN',
    ...over,
  };
}

/** A running secondary replicating from `source`. */
export function secondaryHealth(source = 'A', over: Partial<HanaHealth> = {}): HanaHealth {
  return {
    probeOk: true,
    running: true,
    landscapeStatus: 4,
    processes: { hdbdaemon: 'GREEN', hdbnameserver: 'GREEN', hdbindexserver: 'GREEN' },
    srRole: 'secondary',
    source,
    srMode: 'sync',
    suspended: false,
    acceptsWrites: false,
    replication: [],
    overallReplicationStatus: 'NONE',
    ...over,
  };
}

/** A probe that did not answer: nothing good is known. */
export function downHealth(error = 'HANA probe timed out after 3000 ms'): HanaHealth {
  return unknownHealth(error);
}

/** A live agent's report. */
export function report(site: string, health: HanaHealth, over: Partial<SiteReport> = {}): SiteReport {
  return {
    site,
    observedAt: T - 1000,
    health,
    failedProbes: health.probeOk && health.running ? 0 : 3,
    lastWritableAt: health.acceptsWrites ? T - 1000 : null,
    epoch: EPOCH,
    leader: false,
    fenced: false,
    ...over,
  };
}

/** A sync record as the primary's agent writes it (epoch EPOCH, confirmed 4 s before T). */
export function syncRecord(
  site: string,
  state: SyncState = 'SOK',
  over: Partial<SyncRecord> = {},
): SyncRecord {
  const mode: ReplicationMode = over.mode ?? 'sync';
  return {
    site,
    state,
    confirmedAt: T - 4000,
    epoch: EPOCH,
    mode,
    lagSeconds: 0,
    lagBytes: 0,
    ...over,
  };
}

export function held(site: string, mine: boolean, epoch = EPOCH, since = T - 3_600_000): LeaderView {
  return { state: 'held', leader: { site, epoch, since }, mine };
}

/** The key is free; `lastLeader` null: a fresh cluster that never had a leader. */
export function free(lastEpoch = EPOCH, lastLeader: string | null = 'A'): LeaderView {
  return lastLeader === null ? { state: 'free', lastEpoch } : { state: 'free', lastEpoch, lastLeader };
}

/** The store cannot be read; `wasMine`: this agent held the key at its last read (a leader cut off). */
export function storeDown(wasMine = true, error = 'coordination store unavailable (no quorum)'): LeaderView {
  return { state: 'unknown', error, wasMine };
}

export const unreachable: PeerView = { reachable: false, acceptsWrites: false };
export function peerSecondary(source = 'A'): PeerView {
  return { reachable: true, acceptsWrites: false, role: 'secondary', source };
}
export const peerWritablePrimary: PeerView = { reachable: true, acceptsWrites: true, role: 'primary' };
export const peerStoppedPrimary: PeerView = { reachable: true, acceptsWrites: false, role: 'primary' };

export function local(health: HanaHealth, over: Partial<LocalView> = {}): LocalView {
  const failed = !health.probeOk || !health.running;
  return {
    health,
    failedProbes: failed ? 3 : 0,
    localRestarts: 0,
    fenced: false,
    lastWritableAt: health.acceptsWrites ? T : null,
    ...over,
  };
}

export interface ObservationInput {
  readonly self: string;
  readonly local: LocalView;
  readonly leader: LeaderView;
  /** Age of the last lease renewal (ms, monotonic); default 1000. */
  readonly leaseAgeMs?: number | null;
  readonly reports?: Record<string, SiteReport>;
  readonly peers?: Record<string, PeerView>;
  readonly sync?: Record<string, SyncRecord>;
  readonly lpt?: Record<string, number>;
  readonly lpe?: Record<string, number>;
  readonly handoverTo?: string;
  readonly intents?: readonly Intent[];
  readonly clockSkew?: Observation['clockSkew'];
  readonly watchdog?: Observation['watchdog'];
  readonly fences?: Observation['fences'];
  readonly leaderSilence?: Observation['leaderSilence'];
  readonly region?: Observation['region'];
  readonly fencingNode?: string;
  readonly peerSilentMs?: Observation['peerSilentMs'];
}

export function observation(input: ObservationInput): Observation {
  return {
    self: input.self,
    local: input.local,
    leader: input.leader,
    leaseAgeMs: input.leaseAgeMs === undefined ? 1000 : input.leaseAgeMs,
    reports: input.reports ?? {},
    peers: input.peers ?? {},
    sync: input.sync ?? {},
    lpt: input.lpt ?? {},
    ...(input.lpe !== undefined ? { lpe: input.lpe } : {}),
    ...(input.handoverTo !== undefined ? { handoverTo: input.handoverTo } : {}),
    ...(input.clockSkew !== undefined ? { clockSkew: input.clockSkew } : {}),
    ...(input.watchdog !== undefined ? { watchdog: input.watchdog } : {}),
    ...(input.fences !== undefined ? { fences: input.fences } : {}),
    ...(input.leaderSilence !== undefined ? { leaderSilence: input.leaderSilence } : {}),
    ...(input.region !== undefined ? { region: input.region } : {}),
    ...(input.fencingNode !== undefined ? { fencingNode: input.fencingNode } : {}),
    ...(input.peerSilentMs !== undefined ? { peerSilentMs: input.peerSilentMs } : {}),
    intents: input.intents ?? [],
  };
}

/**
 * The standard "primary A lost" picture from B's side: the leader key is free (last leader A,
 * epoch EPOCH), B is a running secondary of A with a fresh SOK record, A's agent is alive and
 * reports its HANA down (last writable at the moment the SOK was confirmed), A is unreachable.
 */
export function bAfterPrimaryLoss(over: Partial<ObservationInput> = {}): Observation {
  return observation({
    self: 'B',
    local: local(secondaryHealth('A')),
    leader: free(EPOCH, 'A'),
    reports: { A: report('A', downHealth(), { lastWritableAt: T - 4000, leader: false }) },
    peers: { A: unreachable },
    sync: { B: syncRecord('B') },
    ...over,
  });
}

/**
 * The standard "my primary failed" picture from the leader A's side: A holds the key at EPOCH,
 * its probe failed `failureThreshold` (3) times, B is a healthy secondary with a SOK record
 * confirmed at A's last writable moment.
 */
export function aLeaderFailed(over: Partial<ObservationInput> = {}): Observation {
  return observation({
    self: 'A',
    local: local(downHealth(), { failedProbes: 3, lastWritableAt: T - 8000 }),
    leader: held('A', true),
    reports: { B: report('B', secondaryHealth('A')) },
    peers: { B: peerSecondary('A') },
    sync: { B: syncRecord('B', 'SOK', { confirmedAt: T - 8000 }) },
    ...over,
  });
}

/** The healthy leader A with B in sync. */
export function aLeaderHealthy(over: Partial<ObservationInput> = {}): Observation {
  return observation({
    self: 'A',
    local: local(primaryHealth()),
    leader: held('A', true),
    reports: { B: report('B', secondaryHealth('A')) },
    peers: { B: peerSecondary('A') },
    sync: { B: syncRecord('B', 'SOK', { confirmedAt: T }) },
    ...over,
  });
}
