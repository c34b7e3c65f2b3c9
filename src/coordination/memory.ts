// Why this file is long: the whole Coordination port in memory with real lease semantics on an injected clock (sessions, leader key, records, watches), the twin of etcd.ts for the simulator and tests.
/**
 * In-memory coordination with real lease semantics, on an injected clock: TTL expiry,
 * compare-and-set on the leader key, an epoch that grows with every term, reports bound to
 * leases. Used by the simulator and the embedded default landscape.
 *
 * Fault model (for the simulator): `setAvailable(false)` is a whole-store outage (like an etcd
 * quorum loss: every call fails and, as in etcd, no lease can expire while there is no leader;
 * leases are extended by their TTL when the store returns). `cut(site)` isolates one member:
 * its calls fail and its lease runs out while the others go on.
 *
 * Watches (opt-in, `{ watches: true }`; a simulator scenario asks for them with `watches: true`,
 * as most sim:fuzz schedules do; without, the agents run on the probe interval alone): the leader
 * key and reports notify their watchers as etcd's watch would, including a lease that runs out (a
 * timer on the clock); an outage or a cut breaks the watches it reaches, and a watch cannot be
 * opened while the outage or the cut lasts.
 */
import type { Clock } from '../clock.js';
import {
  CoordinationUnavailableError,
  nextMaintenanceGeneration,
  NotLeaderError,
  StaleEpochError,
} from './port.js';
import type {
  BackupState,
  ClusterChange,
  ClusterState,
  Coordination,
  CoordinationSession,
  FenceRecord,
  Intent,
  LeaderRecord,
  RegionRecord,
  RegionStore,
  SiteReport,
  StoreWatch,
  SyncRecord,
  WatchHandlers,
} from './port.js';

interface MemoryWatch {
  readonly cluster: string | null;
  /** The watching member (cut off with it); null: the operator's. */
  readonly site: string | null;
  readonly leader?: WatchHandlers;
  readonly clusters?: WatchHandlers<[ClusterChange]>;
  closed: boolean;
}

export interface MemoryCoordinationOptions {
  /** Offer watches (default false: agents run on their interval alone; a scenario's `watches: true`). */
  readonly watches?: boolean;
}

interface Lease {
  readonly id: number;
  readonly ttlMs: number;
  expiresAt: number;
  revoked: boolean;
}

interface ClusterData {
  leader: { record: LeaderRecord; leaseId: number } | null;
  lastEpoch: number;
  lastLeader?: string;
  handoverTo?: string;
  reports: Map<string, { report: SiteReport; leaseId: number }>;
  sync: Map<string, SyncRecord>;
  lpt: Map<string, number>;
  lpe: Map<string, number>;
  intents: Map<string, Intent>;
  fences: Map<string, FenceRecord>;
  spec?: unknown;
  maintenanceGeneration?: number;
  region?: RegionRecord;
  regionSync?: Record<string, SyncRecord>;
  backup?: BackupState;
}

export class MemoryCoordination implements Coordination, RegionStore {
  private readonly clusters = new Map<string, ClusterData>();
  private readonly leases = new Map<number, Lease>();
  private nextLeaseId = 1;
  private available = true;
  private readonly cutSites = new Set<string>();
  private readonly watches = new Set<MemoryWatch>();
  private readonly mutedSites = new Set<string>();
  private expiryTimer: (() => void) | null = null;
  readonly watchable: boolean;
  /** Present with `{ watches: true }`: see Coordination.watchClusters. */
  readonly watchClusters?: (
    handlers: WatchHandlers<[ClusterChange]>,
    signal: AbortSignal,
  ) => Promise<StoreWatch>;

  constructor(
    readonly clock: Clock,
    options: MemoryCoordinationOptions = {},
  ) {
    this.watchable = options.watches === true;
    if (this.watchable) {
      this.watchClusters = async (handlers) => {
        this.check();
        return this.addWatch({ cluster: null, site: null, clusters: handlers, closed: false });
      };
    }
  }

  addWatch(w: MemoryWatch): StoreWatch {
    this.watches.add(w);
    this.armExpiry();
    return {
      close: () => {
        w.closed = true;
        this.watches.delete(w);
      },
    };
  }

  /**
   * Drops the events to one member's watches while they still look open (a blackholed stream: the
   * fault a reader must notice by itself).
   */
  muteWatches(site: string, muted: boolean): void {
    if (muted) this.mutedSites.add(site);
    else this.mutedSites.delete(site);
  }

  /** Tells the watchers of a cluster what changed (after the current call, as a stream would). */
  changed(cluster: string, what: 'leader' | 'report', site?: string, report?: unknown): void {
    if (this.watches.size === 0) return;
    // The change (a copy of the report) only for a watch that takes it: an agent's leader watch is
    // told of leader changes alone, and the agents publish a report every cycle (sim:fuzz: copying
    // it for their watches was a sixth of the CPU of a schedule with watches).
    let change: ClusterChange | undefined;
    for (const w of this.watches) {
      if (w.clusters === undefined && !(w.leader !== undefined && what === 'leader' && w.cluster === cluster))
        continue;
      change ??= {
        cluster,
        what,
        ...(site !== undefined ? { site } : {}),
        ...(report !== undefined ? { report: structuredClone(report) } : {}),
      };
      const told = change;
      queueMicrotask(() => {
        if (w.closed || (w.site !== null && this.mutedSites.has(w.site))) return;
        if (w.clusters) w.clusters.onChange(told);
        else w.leader?.onChange();
      });
    }
  }

  private breakWatches(match: (w: MemoryWatch) => boolean, why: string): void {
    for (const w of [...this.watches]) {
      if (!match(w)) continue;
      w.closed = true;
      this.watches.delete(w);
      const err = new CoordinationUnavailableError(why);
      queueMicrotask(() => (w.leader ?? w.clusters)?.onBroken(err));
    }
  }

  /** While anyone watches, a timer collects the next lease to run out (etcd revokes it itself). */
  armExpiry(): void {
    this.expiryTimer?.();
    this.expiryTimer = null;
    if (this.watches.size === 0 || !this.available) return;
    let next = Infinity;
    for (const lease of this.leases.values()) if (!lease.revoked) next = Math.min(next, lease.expiresAt);
    if (next === Infinity) return;
    this.expiryTimer = this.clock.setTimer(Math.max(0, next - this.clock.monotonic()) + 1, () => {
      this.expiryTimer = null;
      this.expire();
      this.armExpiry();
    });
  }

  /** Whole-store outage on/off. */
  setAvailable(available: boolean): void {
    // Expiry here is lazy; etcd revokes a lease when it runs out. Collect those that ran out before
    // the outage, or the extension on return would bring a dead member's key back.
    if (!available && this.available) this.expire();
    if (available && !this.available) {
      // A new raft leader extends every lease by its TTL.
      const now = this.clock.monotonic();
      for (const lease of this.leases.values())
        lease.expiresAt = Math.max(lease.expiresAt, now + lease.ttlMs);
    }
    this.available = available;
    if (!available) this.breakWatches(() => true, 'coordination store unavailable (no quorum)');
    this.armExpiry();
  }

  isAvailable(): boolean {
    return this.available;
  }

  private readonly failingWrites = new Map<string, Set<'report' | 'sync' | 'last-primary'>>();

  /**
   * Makes one site's writes of a kind fail while its reads, lease and leader key keep working (a
   * store that rejects some writes: quota, a too-large value, a permission). Empty: all succeed.
   */
  failWrites(site: string, kinds: readonly ('report' | 'sync' | 'last-primary')[]): void {
    if (kinds.length === 0) this.failingWrites.delete(site);
    else this.failingWrites.set(site, new Set(kinds));
  }

  checkWrite(site: string, kind: 'report' | 'sync' | 'last-primary'): void {
    if (this.failingWrites.get(site)?.has(kind))
      throw new CoordinationUnavailableError(`coordination store rejected the ${kind} write of ${site}`);
  }

  /** Cut one site's agent off the store (or reconnect it). */
  cut(site: string, isCut: boolean): void {
    if (isCut) this.cutSites.add(site);
    else this.cutSites.delete(site);
    if (isCut) this.breakWatches((w) => w.site === site, `coordination store unreachable from ${site}`);
  }

  check(site?: string): void {
    if (!this.available) throw new CoordinationUnavailableError('coordination store unavailable (no quorum)');
    if (site !== undefined && this.cutSites.has(site)) {
      throw new CoordinationUnavailableError(`coordination store unreachable from ${site}`);
    }
  }

  /** Drops expired leases and everything bound to them. */
  expire(): void {
    if (!this.available) return;
    const now = this.clock.monotonic();
    for (const lease of this.leases.values()) {
      if (!lease.revoked && lease.expiresAt <= now) this.dropLease(lease.id);
    }
  }

  dropLease(id: number): void {
    const lease = this.leases.get(id);
    if (!lease) return;
    lease.revoked = true;
    this.leases.delete(id);
    for (const [cluster, data] of this.clusters) {
      if (data.leader?.leaseId === id) {
        data.leader = null;
        this.changed(cluster, 'leader');
      }
      for (const [site, r] of data.reports) {
        if (r.leaseId !== id) continue;
        data.reports.delete(site);
        this.changed(cluster, 'report', site);
      }
    }
  }

  grantLease(ttlSeconds: number): Lease {
    const lease: Lease = {
      id: this.nextLeaseId++,
      ttlMs: ttlSeconds * 1000,
      expiresAt: this.clock.monotonic() + ttlSeconds * 1000,
      revoked: false,
    };
    this.leases.set(lease.id, lease);
    this.armExpiry();
    return lease;
  }

  leaseAlive(id: number): boolean {
    this.expire();
    const lease = this.leases.get(id);
    return lease !== undefined && !lease.revoked;
  }

  keepAlive(id: number): boolean {
    this.expire();
    const lease = this.leases.get(id);
    if (!lease || lease.revoked) return false;
    lease.expiresAt = this.clock.monotonic() + lease.ttlMs;
    return true;
  }

  data(cluster: string): ClusterData {
    let d = this.clusters.get(cluster);
    if (!d) {
      d = {
        leader: null,
        lastEpoch: 0,
        reports: new Map(),
        sync: new Map(),
        lpt: new Map(),
        lpe: new Map(),
        intents: new Map(),
        fences: new Map(),
      };
      this.clusters.set(cluster, d);
    }
    return d;
  }

  snapshot(cluster: string): ClusterState {
    this.expire();
    const d = this.data(cluster);
    // Built key by key in this order (every agent reads it every cycle; the fuzz runner plays
    // thousands of schedules): the same object as spreads of optional parts would make.
    const state = { leader: d.leader ? d.leader.record : null, lastEpoch: d.lastEpoch } as {
      -readonly [K in keyof ClusterState]: ClusterState[K];
    };
    if (d.lastLeader !== undefined) state.lastLeader = d.lastLeader;
    if (d.handoverTo !== undefined) state.handoverTo = d.handoverTo;
    const reports: Record<string, SiteReport> = {};
    for (const [k, v] of d.reports) reports[k] = v.report;
    state.reports = reports;
    const sync: Record<string, SyncRecord> = {};
    for (const [k, v] of d.sync) sync[k] = v;
    state.sync = sync;
    const lpt: Record<string, number> = {};
    for (const [k, v] of d.lpt) lpt[k] = v;
    state.lpt = lpt;
    if (d.lpe.size > 0) {
      const lpe: Record<string, number> = {};
      for (const [k, v] of d.lpe) lpe[k] = v;
      state.lpe = lpe;
    }
    state.intents = [...d.intents.values()];
    if (d.fences.size > 0) state.fences = Object.fromEntries(d.fences);
    if (d.spec !== undefined) state.spec = structuredClone(d.spec);
    if (d.maintenanceGeneration !== undefined) state.maintenanceGeneration = d.maintenanceGeneration;
    if (d.region !== undefined) state.region = d.region;
    if (d.regionSync !== undefined) state.regionSync = d.regionSync;
    if (d.backup !== undefined) state.backup = structuredClone(d.backup);
    return state;
  }

  async writeRegion(
    cluster: string,
    record: RegionRecord,
    expectedGeneration: number | null,
  ): Promise<boolean> {
    this.check();
    const d = this.data(cluster);
    if ((d.region?.generation ?? null) !== expectedGeneration) return false;
    d.region = structuredClone(record);
    return true;
  }

  async mirrorRegionSync(cluster: string, records: Readonly<Record<string, SyncRecord>>): Promise<void> {
    this.check();
    this.data(cluster).regionSync = structuredClone({ ...records });
  }

  /** The site holding the leader key now (what snapshot().leader?.site says, without the copy). */
  leaderOf(cluster: string): string | null {
    this.expire();
    return this.clusters.get(cluster)?.leader?.record.site ?? null;
  }

  session(cluster: string, site: string, ttlSeconds: number): CoordinationSession {
    return new MemorySession(this, cluster, site, ttlSeconds);
  }

  async read(cluster: string): Promise<ClusterState> {
    this.check();
    return this.snapshot(cluster);
  }

  async addIntent(cluster: string, intent: Intent): Promise<void> {
    this.check();
    this.expire();
    const d = this.data(cluster);
    if (intent.epoch !== d.lastEpoch) throw new StaleEpochError(intent.epoch, d.lastEpoch);
    d.intents.set(intent.id, intent);
  }

  async removeIntent(cluster: string, id: string): Promise<void> {
    this.check();
    this.data(cluster).intents.delete(id);
  }

  async publishSpec(cluster: string, spec: unknown): Promise<void> {
    this.check();
    this.publishSpecNow(cluster, spec);
  }

  /**
   * publishSpec for the simulator, whose agents read the spec in-process: a change of maintenance
   * reaches them at once, through a store outage too, so the generation the store publishes (the
   * one their reports are compared with) follows at once as well.
   */
  publishSpecNow(cluster: string, spec: unknown): void {
    const d = this.data(cluster);
    d.maintenanceGeneration = nextMaintenanceGeneration(d.spec, d.maintenanceGeneration, spec);
    d.spec = structuredClone(spec);
  }

  /** The published maintenance generation (0 before any change). */
  publishedMaintenanceGeneration(cluster: string): number {
    return this.data(cluster).maintenanceGeneration ?? 0;
  }

  async deleteCluster(cluster: string): Promise<void> {
    this.check();
    const had = this.clusters.get(cluster)?.leader != null;
    this.clusters.delete(cluster);
    if (had) this.changed(cluster, 'leader');
  }

  async writeBackup(cluster: string, site: string, epoch: number, state: BackupState): Promise<void> {
    this.check(site);
    this.expire();
    const d = this.data(cluster);
    if (d.lastEpoch !== epoch) throw new StaleEpochError(epoch, d.lastEpoch);
    if (d.leader?.record.site !== site)
      throw new NotLeaderError(`${site} does not hold the leader key at epoch ${epoch}`);
    d.backup = structuredClone(state);
  }

  async close(): Promise<void> {
    for (const id of [...this.leases.keys()]) this.dropLease(id);
  }
}

class MemorySession implements CoordinationSession {
  private leaseId: number | null = null;
  private renewedAt: number | null = null;
  /** The lease this session last bound the leader key to (acquire or seize), until released. */
  private keyLeaseId: number | null = null;
  /**
   * The last confirmed renewal of `keyLeaseId` once that lease ran out and another replaced it:
   * lastRenewedAt() until the key is bound to a lease again (see CoordinationSession.lastRenewedAt).
   */
  private keyRenewedAt: number | null = null;
  private cancelKeepalive: (() => void) | null = null;
  private closed = false;
  /** Present when the store offers watches: see CoordinationSession.watchLeader. */
  readonly watchLeader?: (handlers: WatchHandlers, signal: AbortSignal) => Promise<StoreWatch>;

  constructor(
    private readonly store: MemoryCoordination,
    private readonly cluster: string,
    readonly site: string,
    private readonly ttlSeconds: number,
  ) {
    if (store.watchable) {
      this.watchLeader = async (handlers) => {
        this.store.check(this.site);
        return this.store.addWatch({
          cluster: this.cluster,
          site: this.site,
          leader: handlers,
          closed: false,
        });
      };
    }
  }

  async start(): Promise<void> {
    // Keepalives first: when the store is unreachable now, they grant and keep the lease once it returns.
    this.scheduleKeepalive();
    this.store.check(this.site);
    this.ensureLease();
  }

  private ensureLease(): number {
    if (this.leaseId !== null && this.store.leaseAlive(this.leaseId)) return this.leaseId;
    // A grant that replaces the lease the key was bound to is no renewal of it.
    if (this.keyLeaseId !== null && this.keyLeaseId === this.leaseId) this.keyRenewedAt = this.renewedAt;
    const lease = this.store.grantLease(this.ttlSeconds);
    this.leaseId = lease.id;
    this.renewedAt = this.store.clock.monotonic();
    return lease.id;
  }

  private scheduleKeepalive(): void {
    if (this.closed) return;
    this.cancelKeepalive?.();
    this.cancelKeepalive = this.store.clock.setTimer((this.ttlSeconds * 1000) / 3, () => {
      this.renew().catch(() => {});
      this.scheduleKeepalive();
    });
  }

  lastRenewedAt(): number | null {
    return this.keyLeaseId !== null && this.keyLeaseId !== this.leaseId ? this.keyRenewedAt : this.renewedAt;
  }

  /** The key is now bound to the current lease: its renewals are the key's. */
  private boundKey(leaseId: number): void {
    this.keyLeaseId = leaseId;
    this.keyRenewedAt = null;
  }

  async renew(): Promise<void> {
    this.store.check(this.site);
    if (this.leaseId !== null && this.store.keepAlive(this.leaseId)) {
      this.renewedAt = this.store.clock.monotonic();
      return;
    }
    // The lease is gone (expired while cut off): take a new one; nothing bound to the old one survives.
    this.ensureLease();
  }

  async read(): Promise<ClusterState> {
    this.store.check(this.site);
    return this.store.snapshot(this.cluster);
  }

  async publishReport(report: SiteReport): Promise<void> {
    this.store.check(this.site);
    this.store.checkWrite(this.site, 'report');
    const leaseId = this.ensureLease();
    this.store.data(this.cluster).reports.set(this.site, { report, leaseId });
    this.store.changed(this.cluster, 'report', this.site, report);
  }

  async acquireLeader(
    expectedLastEpoch: number,
    now: number,
    supersede?: string,
  ): Promise<LeaderRecord | null> {
    this.store.check(this.site);
    this.store.expire();
    const d = this.store.data(this.cluster);
    if (d.leader !== null) return null;
    if (d.lastEpoch !== expectedLastEpoch) return null;
    if (d.handoverTo !== undefined && d.handoverTo !== this.site && d.handoverTo !== supersede) return null;
    const leaseId = this.ensureLease();
    const record: LeaderRecord = { site: this.site, epoch: d.lastEpoch + 1, since: now };
    d.leader = { record, leaseId };
    this.boundKey(leaseId);
    d.lastEpoch = record.epoch;
    d.lastLeader = this.site;
    delete d.handoverTo;
    this.store.changed(this.cluster, 'leader');
    return record;
  }

  async seizeLeader(fromSite: string, expectedEpoch: number, now: number): Promise<LeaderRecord | null> {
    this.store.check(this.site);
    this.store.expire();
    const d = this.store.data(this.cluster);
    if (d.leader === null || d.leader.record.site !== fromSite || d.leader.record.epoch !== expectedEpoch)
      return null;
    if (d.lastEpoch !== expectedEpoch) return null;
    const leaseId = this.ensureLease();
    const record: LeaderRecord = { site: this.site, epoch: expectedEpoch + 1, since: now };
    d.leader = { record, leaseId };
    this.boundKey(leaseId);
    d.lastEpoch = record.epoch;
    d.lastLeader = this.site;
    delete d.handoverTo;
    this.store.changed(this.cluster, 'leader');
    return record;
  }

  async recordFence(record: FenceRecord): Promise<void> {
    this.store.check(this.site);
    const d = this.store.data(this.cluster);
    if (d.lastEpoch !== record.epoch) throw new StaleEpochError(record.epoch, d.lastEpoch);
    d.fences.set(record.site, record);
  }

  private requireLeader(epoch: number): ClusterData {
    this.store.check(this.site);
    this.store.expire();
    const d = this.store.data(this.cluster);
    if (d.lastEpoch !== epoch) throw new StaleEpochError(epoch, d.lastEpoch);
    if (!d.leader || d.leader.record.site !== this.site || d.leader.leaseId !== this.leaseId) {
      throw new NotLeaderError(`${this.site} does not hold the leader key at epoch ${epoch}`);
    }
    return d;
  }

  async releaseLeader(epoch: number, handoverTo?: string): Promise<void> {
    const d = this.requireLeader(epoch);
    d.leader = null;
    this.keyLeaseId = null;
    if (handoverTo !== undefined) d.handoverTo = handoverTo;
    else delete d.handoverTo;
    this.store.changed(this.cluster, 'leader');
  }

  async writeSync(epoch: number, records: readonly SyncRecord[]): Promise<void> {
    const d = this.requireLeader(epoch);
    this.store.checkWrite(this.site, 'sync');
    for (const r of records) d.sync.set(r.site, r);
  }

  async stampPrimary(epoch: number, at: number): Promise<void> {
    const d = this.requireLeader(epoch);
    this.store.checkWrite(this.site, 'last-primary');
    d.lpt.set(this.site, at);
    d.lpe.set(this.site, epoch);
  }

  async completeIntent(id: string): Promise<void> {
    this.store.check(this.site);
    this.store.data(this.cluster).intents.delete(id);
  }

  abandon(): void {
    this.closed = true;
    this.cancelKeepalive?.();
    this.cancelKeepalive = null;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelKeepalive?.();
    this.cancelKeepalive = null;
    if (this.leaseId !== null) {
      try {
        this.store.check(this.site);
        this.store.dropLease(this.leaseId);
      } catch {
        // unreachable store: the lease runs out on its own
      }
    }
    this.leaseId = null;
  }
}
