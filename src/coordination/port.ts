/**
 * The coordination port: leases, the leader key with its epoch, member reports, sync records,
 * last-primary timestamps and intents. Adapters: in-memory (src/coordination/memory.ts, for the
 * simulator and the embedded default) and etcd (src/coordination/etcd.ts).
 *
 * Semantics every adapter keeps:
 * - The leader key is created only if absent (compare-and-set), bound to the holder's lease, and
 *   holds a site and an epoch that grows by at least one on every new term. It disappears when the
 *   lease expires or is revoked.
 * - Reports are bound to the writer's lease: a dead agent's report disappears after the TTL.
 * - Sync records, last-primary timestamps, the last epoch and intents outlive leases.
 * - Any write that carries an epoch is refused with StaleEpochError when that epoch is not the
 *   store's current one.
 * - Every call settles within the adapter's deadline or rejects with CoordinationUnavailableError.
 */
import type { BackupState } from '../domain/backup.js';
import type { FenceRecord, Intent, LeaderRecord, SiteReport, SyncRecord } from '../domain/types.js';
import type { RegionRecord } from '../domain/region.js';

/** The records a store keeps, so that an adapter takes its whole contract from this module. */
export type { BackupState, FenceRecord, Intent, LeaderRecord, RegionRecord, SiteReport, SyncRecord };

export interface ClusterState {
  /** The current leader, or null when the key is absent. */
  readonly leader: LeaderRecord | null;
  /** Highest epoch ever granted (0 before the first term). */
  readonly lastEpoch: number;
  /** Site of the last term (survives the key). */
  readonly lastLeader?: string;
  /** A leader that stepped down for a planned takeover names its successor here. */
  readonly handoverTo?: string;
  readonly reports: Readonly<Record<string, SiteReport>>;
  readonly sync: Readonly<Record<string, SyncRecord>>;
  /** Last-primary timestamps (ms), SAPHanaSR's LPT. */
  readonly lpt: Readonly<Record<string, number>>;
  /**
   * Per site, the newest epoch in which its agent, leading, saw it take writes (written with the
   * LPT stamp, in the same transaction; outlives leases and agent restarts). Absent: not known.
   */
  readonly lpe?: Readonly<Record<string, number>>;
  readonly intents: readonly Intent[];
  /** The last fence of each site's node by another site's agent (outlives leases). */
  readonly fences?: Readonly<Record<string, FenceRecord>>;
  /**
   * The HA spec as the operator last published it (unvalidated JSON: readers parse it with
   * parseSpec). Agents follow it (maintenance, thresholds) even while no operator runs.
   */
  readonly spec?: unknown;
  /**
   * How many times the published spec's `maintenance` changed (publishSpec counts, in the same
   * transaction as the spec): one number never stands for two maintenance values, so an agent
   * whose report carries an older number may have acted on a spec it did not report (issue 12,
   * src/domain/maintenance-watch.ts). Absent: a spec published by an operator that does not count.
   */
  readonly maintenanceGeneration?: number;
  /** The region record of this store (docs/dr.md); absent: none written (one region, or not yet). */
  readonly region?: RegionRecord;
  /**
   * The active region's sync records of this region's sites, as this region last read them from
   * the active region's store (the DR link's last known lag, for a disaster takeover's report).
   */
  readonly regionSync?: Readonly<Record<string, SyncRecord>>;
  /** Backup runs and the primary's last reading of its backups (outlives leases). */
  readonly backup?: BackupState;
}

/**
 * The region record of a store (docs/dr.md). Implemented by the memory and etcd adapters; the
 * record outlives leases and is written only with a compare-and-set on the generation it replaces.
 */
export interface RegionStore {
  /**
   * Writes `record` if the store's record is at `expectedGeneration` (null: no record yet).
   * Returns false when it is not (someone else wrote first): read again and decide again.
   */
  writeRegion(cluster: string, record: RegionRecord, expectedGeneration: number | null): Promise<boolean>;
  /** Keeps the last sync records of this region's sites read from the active region's store. */
  mirrorRegionSync(cluster: string, records: Readonly<Record<string, SyncRecord>>): Promise<void>;
}

/** A session of one member (an agent) with its own lease. */
export interface CoordinationSession {
  readonly site: string;
  /** Grants the lease if needed and keeps it alive; resolves when the lease exists. */
  start(): Promise<void>;
  /**
   * When the lease was last confirmed alive by the store: the monotonic clock reading (ms,
   * `Clock.monotonic()`) at which the confirmed renewal (or grant) was sent, or null. The self-fence
   * deadline and the watchdog feeds of a leader count from it, so it is the renewal of the lease
   * the leader key is bound to: once the lease this session bound the key to ran out and a new
   * one replaced it, a grant or keepalive of the new lease is no renewal of the old one, and this
   * stays at the old lease's last renewal (an agent whose reads fail still believes it leads)
   * until the key is bound to a lease again (acquire, seize) or was released.
   */
  lastRenewedAt(): number | null;
  /** Renews once now (the keepalive runs on its own as well). */
  renew(): Promise<void>;
  /** Reads everything about this cluster in one consistent snapshot. */
  read(): Promise<ClusterState>;
  /** Publishes this member's report under its lease. */
  publishReport(report: SiteReport): Promise<void>;
  /**
   * Creates the leader key for this site with epoch = lastEpoch + 1, bound to this lease, only if
   * the key is absent and the store's lastEpoch equals `expectedLastEpoch`. Returns the new record,
   * or null when another member won. A pending handover to another site refuses it, unless
   * `supersede` names that site (compare-and-set on the handover naming it): a handover that can
   * no longer complete (decide.ts, deadHandover) is taken over by the key and removed.
   */
  acquireLeader(expectedLastEpoch: number, now: number, supersede?: string): Promise<LeaderRecord | null>;
  /**
   * Takes the leader key from `fromSite`, whose node another site's fence agent confirmed off:
   * only if the key is held by `fromSite` at `expectedEpoch` (compare-and-set), it is replaced by
   * this site's at expectedEpoch + 1, bound to this lease. Returns the new record, or null when
   * the key changed meanwhile (another term began, the key went: then acquire as usual).
   */
  seizeLeader(fromSite: string, expectedEpoch: number, now: number): Promise<LeaderRecord | null>;
  /**
   * Records a fence this site's agent carried out, if `record.epoch` is still the store's last
   * epoch (else StaleEpochError): the record outlives leases.
   */
  recordFence(record: FenceRecord): Promise<void>;
  /** Deletes the leader key if this site holds it at `epoch`; optionally names a successor. */
  releaseLeader(epoch: number, handoverTo?: string): Promise<void>;
  /** Writes sync records (only the holder of the leader key at `epoch` may). */
  writeSync(epoch: number, records: readonly SyncRecord[]): Promise<void>;
  /** Stamps this site's last-primary timestamp (only the leader at `epoch`). */
  stampPrimary(epoch: number, at: number): Promise<void>;
  /** Removes an intent once carried out or refused (any epoch may remove). */
  completeIntent(id: string): Promise<void>;
  /** Revokes the lease (the leader key and report go at once) and stops keepalives. */
  close(): Promise<void>;
  /**
   * Stops keepalives without revoking: the lease, and everything bound to it, runs out after its
   * TTL. What a killed process leaves behind.
   */
  abandon(): void;
  /**
   * Watches this cluster's leader key (optional: an adapter without watches leaves it out, and the
   * agent runs on its interval alone). Resolves once the watch is established; `signal` aborts
   * the attempt (a deadline), and an established watch is cancelled when it fires too.
   * `onChange` says only that the key changed (created, replaced, released or expired): the
   * reader re-reads, it never trusts an event's payload. `onBroken` is called at most once, when
   * the watch stops delivering (its stream failed or ended, the member was cut off); no
   * `onChange` follows it. `close()` stops it without calling `onBroken`.
   */
  watchLeader?(handlers: WatchHandlers, signal: AbortSignal): Promise<StoreWatch>;
}

/** What a watch calls: see CoordinationSession.watchLeader and Coordination.watchClusters. */
export interface WatchHandlers<A extends unknown[] = []> {
  onChange(...args: A): void;
  onBroken(err: Error): void;
}

/** An established watch. */
export interface StoreWatch {
  close(): void;
}

/** What changed in a cluster, as a store watch tells the operator. */
export interface ClusterChange {
  readonly cluster: string;
  /** The leader key, or a member's report (`report` then holds it, unvalidated JSON). */
  readonly what: 'leader' | 'report';
  readonly site?: string;
  readonly report?: unknown;
}

export interface Coordination {
  /** Opens a member session for a site of a cluster. */
  session(cluster: string, site: string, ttlSeconds: number): CoordinationSession;
  /** Reads a cluster's state without a session (operator, CLI). */
  read(cluster: string): Promise<ClusterState>;
  /** Adds an intent if its epoch is the current one (else StaleEpochError). */
  addIntent(cluster: string, intent: Intent): Promise<void>;
  /** Removes an intent (an absent one is fine): the operator releasing a fence request. */
  removeIntent(cluster: string, id: string): Promise<void>;
  /**
   * Publishes the cluster's spec for its agents (outlives leases; last write wins). When its
   * `maintenance` differs from the published one's, `maintenanceGeneration` goes up by one in the
   * same transaction.
   */
  publishSpec(cluster: string, spec: unknown): Promise<void>;
  /** Removes everything stored for a cluster (finalizer). */
  deleteCluster(cluster: string): Promise<void>;
  /**
   * Watches every cluster's leader key and member reports in one stream (optional; the operator
   * then reconciles on its resync alone). Same contract as CoordinationSession.watchLeader.
   */
  watchClusters?(handlers: WatchHandlers<[ClusterChange]>, signal: AbortSignal): Promise<StoreWatch>;
  /**
   * Writes the backup record, only while `site` holds the leader key at `epoch` (else
   * StaleEpochError or NotLeaderError): the primary's agent records its runs and facts here.
   */
  writeBackup?(cluster: string, site: string, epoch: number, state: BackupState): Promise<void>;
  close(): Promise<void>;
}

/**
 * The maintenance generation after publishing `spec` over `published` (issue 12): one more when
 * `maintenance` changes, the same otherwise (the first spec starts at the current number, 0).
 */
export function nextMaintenanceGeneration(
  published: unknown,
  generation: number | undefined,
  spec: unknown,
): number {
  const g = generation ?? 0;
  if (published === undefined) return g;
  return maintenanceOn(published) === maintenanceOn(spec) ? g : g + 1;
}

function maintenanceOn(spec: unknown): boolean {
  return (
    typeof spec === 'object' && spec !== null && (spec as { maintenance?: unknown }).maintenance === true
  );
}

export class StaleEpochError extends Error {
  readonly code = 'STALE_EPOCH' as const;
  constructor(
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`stale epoch: the action carries epoch ${expected}, the store is at ${actual}`);
    this.name = 'StaleEpochError';
  }
}

export class CoordinationUnavailableError extends Error {
  readonly code = 'COORDINATION_UNAVAILABLE' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CoordinationUnavailableError';
  }
}

export class NotLeaderError extends Error {
  readonly code = 'NOT_LEADER' as const;
  constructor(message: string) {
    super(message);
    this.name = 'NotLeaderError';
  }
}
