// Why this file is long: the landscape's public surface (faults, observers, client commits) and its time and workload; the rest is in the files its header names.
/**
 * The HANA system replication simulator's model: N sites, their instances and processes, the
 * replication links between them, a client write workload, and the faults a scenario injects.
 *
 * Deterministic: time comes only from the injected Clock and randomness only from a seeded Prng.
 * The model advances lazily in steps of at most STEP_MS of clock time, cut exactly at its own
 * deadlines (log-shipping timeouts, start completion, takeover completion...), whenever anything
 * reads or changes it, plus once per second from a clock timer. The same calls at the same clock
 * times give the same results.
 *
 * Writes are log entries shared by reference between the sites that hold them: an entry sits at
 * the same index in every log that contains it (logs are prefixes of one lineage until a takeover
 * forks it), so "does site X hold write w" is `X.log[w.index] === w`, and data loss is exact.
 *
 * By concern: site.ts (a site's state and its process lifecycle, a state machine), replication.ts
 * (links, log shipping and positions, acknowledgements, logshipping_timeout), site-faults.ts (one
 * entry per fault of a site), site-commands.ts (the HANA commands: takeover, register, start,
 * stop...), site-snapshot.ts (what the site's tools show). This file: time (the agenda and steps),
 * the write workload, and the public surface.
 */
import type { Clock } from '../../clock.js';
import type { OperationMode, ReplicationMode, ReplicationStatus } from '../../domain/types.js';
import { replicationStatuses } from '../../domain/types.js';
import { Prng } from './prng.js';
import {
  acknowledge,
  BLOCK_BYTES,
  checkSyncTimeouts,
  linkStatus,
  newLink,
  nextSyncTimeout,
  reach,
  refreshLinks,
  ship,
  type ReplicationHost,
} from './replication.js';
import { isUp, PROCESS_NAMES, type Entry, type Site } from './site.js';
import * as commands from './site-commands.js';
import { STEP_MS, type CommandHost } from './site-commands.js';
import { SITE_FAULTS, type FaultHost, type SiteFaultName } from './site-faults.js';
import { SiteSnapshots, srMode } from './site-snapshot.js';
import { SimCommandError, type SimSiteControl, type SimSiteSnapshot } from './snapshot.js';

export { formatElapsed, formatStartTime } from './site-snapshot.js';

export interface SimLandscapeOptions {
  sid: string;
  instanceNumber: string;
  /** `source`: the site this one replicates from; absent = from the initial primary. */
  sites: { name: string; host: string; source?: string; mode?: ReplicationMode }[];
  /** Starts as primary, the others as secondaries of their source. */
  initialPrimary: string;
  mode: ReplicationMode;
  operationMode: OperationMode;
  /** HANA's logshipping_timeout. */
  logShippingTimeoutSeconds: number;
  clock: Clock;
  seed: number;
  /** Client workload on every site that accepts writes. */
  writesPerSecond: number;
  /** Wall time of t=0 for snapshots (default clock.now()). */
  startedAt?: number;
  /** How long a primary keeps log for a delta resync (default 600). */
  logRetentionSeconds?: number;
  /** Replication network bandwidth per link at slowdown 1 (default 100 MB/s, about 1 Gbit/s). */
  linkBandwidthBytesPerSecond?: number;
  /** Data volume size a full resync ships (default 5 GB: 50 s at the default bandwidth). */
  dataSizeBytes?: number;
  /** Mean time sapcontrol StartSystem takes until the instance runs (default 30 s, ±20 %). */
  startSeconds?: number;
  /**
   * After `hdbnsutil -sr_takeover` returns, how long the new primary still holds commits back
   * while it replays its log (ms, drawn uniformly from the range; default 800-1,500). A bench that
   * puts the whole takeover into its own wait gives `[0, 0]`: commits are taken when the command
   * returns.
   */
  takeoverReplayMs?: readonly [number, number];
}

export interface SimEvent {
  /** Seconds since the landscape was created (clock time). */
  readonly t: number;
  readonly site: string;
  readonly event: string;
  readonly reason: string;
}

export interface SimStats {
  acknowledgedWrites: number;
  lostCommittedWrites: number;
  writeUnavailableSeconds: number;
  maxConcurrentWritable: number;
}

export type SimOverallStatus = ReplicationStatus | 'NONE';

/** Internal step of the model: the resolution of write arrival checks and log shipping. */
/** Clock timer that keeps the model moving when nobody looks (each timer costs a settle in VirtualClock). */
const HEARTBEAT_MS = 5000;
/** Where a client commit stands: acknowledged, still waiting for it, or never to be. */
export type ClientCommitState = 'acknowledged' | 'pending' | 'unacknowledged';

/** A client commit the site cannot take now, and why. */
export class ClientCommitRefused extends Error {
  readonly code = 'CLIENT_COMMIT_REFUSED' as const;
  constructor(
    message: string,
    /** blocked: suspended, log full or mid-takeover (commits wait until that passes). */
    readonly why: 'down' | 'secondary' | 'blocked',
  ) {
    super(message);
    this.name = 'ClientCommitRefused';
  }
}

export class SimLandscape {
  private readonly clock: Clock;
  private readonly rng: Prng;
  private readonly sites = new Map<string, Site>();
  private readonly order: Site[] = [];
  private readonly handles = new Map<string, SimSiteControl>();
  private readonly t0: number;
  private readonly wall0: number;
  private readonly timeoutMs: number;
  private readonly retentionMs: number;
  private readonly bandwidth: number;
  private readonly dataSize: number;
  private readonly startMs: number;
  private readonly takeoverReplayMs: readonly [number, number];
  private readonly writeIntervalMs: number;
  private readonly basePos: number;
  private readonly sid: string;
  private readonly instanceNumber: string;

  private cur: number;
  private agenda: { at: number; seq: number; fn: () => void }[] = [];
  private agendaSeq = 0;
  private timeline: SimEvent[] = [];
  private acked: Entry[] = [];
  private nextWriteId = 1;
  private allReplBlocked = false;
  private unavailableMs = 0;
  /** Where clients send writes (the -rw Service): null, to every writable site. */
  private routed: ReadonlySet<string> | null = null;
  private maxWritable = 0;
  private advancing = false;
  /** Client commits by id, with the site that took them. */
  private readonly clientCommits = new Map<number, { entry: Entry; site: Site }>();
  /** Per site: the client data of its log up to `length` entries (the last one `last`). */
  private readonly clientCache = new Map<
    string,
    { length: number; last: Entry | undefined; data: unknown[] }
  >();
  private cancelHeartbeat: (() => void) | undefined;
  private disposed = false;
  /** Host clock offsets from true time (ms), per site: skew-clock. */
  private readonly clockOffsets = new Map<string, number>();
  /** Sites whose SQL lag source fails: break-sql-probe. */
  private readonly sqlBroken = new Set<string>();
  /** Sites whose hdbnsutil and HDBSettings.sh scripts hang: hang-probe-tools. */
  private readonly toolsHung = new Set<string>();
  /** What replication, the faults and the snapshots use of the model (see their files). */
  private readonly repl: ReplicationHost;
  private readonly faultHost: FaultHost;
  private readonly cmd: CommandHost;
  private readonly snapshots: SiteSnapshots;

  constructor(options: SimLandscapeOptions) {
    this.clock = options.clock;
    this.rng = new Prng(options.seed);
    this.sid = options.sid;
    this.instanceNumber = options.instanceNumber;
    this.t0 = options.clock.now();
    this.cur = this.t0;
    this.wall0 = options.startedAt ?? this.t0;
    this.timeoutMs = options.logShippingTimeoutSeconds * 1000;
    this.retentionMs = (options.logRetentionSeconds ?? 600) * 1000;
    this.bandwidth = options.linkBandwidthBytesPerSecond ?? 100e6;
    this.dataSize = options.dataSizeBytes ?? 5e9;
    this.startMs = (options.startSeconds ?? 30) * 1000;
    this.takeoverReplayMs = options.takeoverReplayMs ?? [800, 1500];
    if (!(this.takeoverReplayMs[0] >= 0 && this.takeoverReplayMs[1] >= this.takeoverReplayMs[0])) {
      throw new RangeError(`takeoverReplayMs must be [min, max] with 0 <= min <= max`);
    }
    this.writeIntervalMs = options.writesPerSecond > 0 ? 1000 / options.writesPerSecond : Infinity;
    this.basePos = 0x10000000 + this.rng.int(0, 0x0fffffff);
    const get = (name: string) => this.mustGet(name);
    const record = (site: string, event: string, reason: string) => this.record(site, event, reason);
    this.repl = {
      now: () => this.cur,
      order: this.order,
      get,
      record,
      ack: (e) => this.ack(e),
      bandwidth: this.bandwidth,
      timeoutMs: this.timeoutMs,
      retentionMs: this.retentionMs,
      dataSize: this.dataSize,
      allReplBlocked: () => this.allReplBlocked,
    };
    this.faultHost = {
      now: () => this.cur,
      rng: this.rng,
      schedule: (inMs, fn) => this.schedule(inMs, fn),
      record,
      clockOffsets: this.clockOffsets,
      sqlBroken: this.sqlBroken,
      toolsHung: this.toolsHung,
    };
    this.cmd = {
      advance: () => this.advance(),
      afterChange: () => this.afterChange(),
      now: () => this.cur,
      instanceNumber: this.instanceNumber,
      startMs: this.startMs,
      takeoverReplayMs: this.takeoverReplayMs,
      order: this.order,
      get,
      find: (name) => this.sites.get(name),
      rng: this.rng,
      schedule: (inMs, fn) => this.schedule(inMs, fn),
      record,
      newPids: () => this.newPids(),
      repl: this.repl,
    };
    this.snapshots = new SiteSnapshots({
      sid: this.sid,
      instanceNumber: this.instanceNumber,
      basePos: this.basePos,
      t0: this.t0,
      order: this.order,
      get,
      wall: (t) => this.wall(t),
      clockOffsetMs: (name) => this.clockOffsetMs(name),
      sqlBroken: this.sqlBroken,
      toolsHung: this.toolsHung,
    });

    if (options.sites.length === 0) throw new Error('SimLandscape needs at least one site');
    const names = new Set(options.sites.map((s) => s.name));
    if (names.size !== options.sites.length) throw new Error('SimLandscape: duplicate site names');
    if (!names.has(options.initialPrimary)) {
      throw new Error(`SimLandscape: initialPrimary "${options.initialPrimary}" is not a site`);
    }
    options.sites.forEach((spec, i) => {
      const primary = spec.name === options.initialPrimary;
      const source = primary ? undefined : (spec.source ?? options.initialPrimary);
      if (source !== undefined && (!names.has(source) || source === spec.name)) {
        throw new Error(`SimLandscape: site "${spec.name}" replicates from unknown site "${source}"`);
      }
      const site: Site = {
        name: spec.name,
        host: spec.host,
        siteId: i + 1,
        nodeUp: true,
        instance: 'running',
        incarnation: 0,
        indexserver: 'up',
        instanceStartedAt: this.t0 - this.rng.int(3600, 30 * 86400) * 1000,
        indexserverStartedAt: 0,
        pids: this.newPids(),
        role: primary ? 'primary' : 'secondary',
        mode: spec.mode ?? options.mode,
        operationMode: options.operationMode,
        source,
        suspended: false,
        takeoverActive: false,
        frozen: false,
        frozenSince: 0,
        frozenMs: 0,
        hung: false,
        logFull: false,
        isolated: false,
        replBlocked: false,
        slowdown: 1,
        log: [],
        links: new Map(),
        pending: [],
        nextWriteAt: this.t0 + this.rng.next() * Math.min(this.writeIntervalMs, 1e9),
      };
      site.indexserverStartedAt = site.instanceStartedAt;
      this.sites.set(site.name, site);
      this.order.push(site);
    });
    for (const site of this.order) {
      if (site.source === undefined) continue;
      this.checkNoCycle(site.name, site.source);
      const source = this.mustGet(site.source);
      const link = newLink(site.name, site.mode, options.operationMode, false, this.cur);
      link.phase = 'active';
      link.connected = true;
      link.syncRequired = site.mode !== 'async';
      source.links.set(site.name, link);
    }
    refreshLinks(this.repl);
    this.observeWritable();
    this.scheduleHeartbeat();
  }

  // ---------------------------------------------------------------- public surface

  site(name: string): SimSiteControl {
    const existing = this.handles.get(name);
    if (existing) return existing;
    this.mustGet(name);
    const handle: SimSiteControl = {
      snapshot: () => this.snapshot(name),
      state: () => {
        this.advance();
        return this.snapshots.state(this.mustGet(name));
      },
      probeView: () => {
        this.advance();
        return this.snapshots.probeView(this.mustGet(name));
      },
      takeover: (options) => commands.takeover(this.cmd, name, options.handshake),
      register: (options) => commands.register(this.cmd, name, options),
      unregister: () => commands.unregister(this.cmd, name),
      start: () => commands.start(this.cmd, name),
      stop: (hard) => commands.stop(this.cmd, name, hard),
      kill: () => commands.kill(this.cmd, name),
      killAtThaw: () => {
        const s = this.mustGet(name);
        if (s.frozen) s.stopAtThaw = true;
      },
      suspend: () => commands.suspend(this.cmd, name),
      resume: () => commands.resume(this.cmd, name),
    };
    this.handles.set(name, handle);
    return handle;
  }

  siteNames(): string[] {
    return this.order.map((s) => s.name);
  }

  /** Grows whenever the site's instance stops: work started in an older incarnation died with it. */
  instanceIncarnation(name: string): number {
    this.advance();
    const s = this.mustGet(name);
    return s.nodeUp && s.indexserver === 'up' ? s.incarnation : -1 - s.incarnation;
  }

  /** Applies a fault of one site (src/standins/hana-sim/site-faults.ts) now, on the timeline. */
  fault(kind: SiteFaultName, name: string, value = 0): void {
    this.mutate(name, kind, (s) => SITE_FAULTS[kind](s, this.faultHost, value));
  }

  crashInstance(name: string): void {
    this.fault('crash-instance', name);
  }

  restartInstance(name: string): void {
    this.advance();
    this.record(name, 'restart-instance', 'an administrator starts the instance');
    commands.start(this.cmd, name);
  }

  /**
   * A DBA runs `hdbnsutil -sr_takeover` on `name`, outside hanasr (plain, as SAPHanaSR's
   * maintenance procedure does after stopping the primary). Throws with HANA's text on refusal.
   */
  manualTakeover(name: string): void {
    this.advance();
    this.record(name, 'manual-takeover', 'a DBA runs hdbnsutil -sr_takeover on this site');
    commands.takeover(this.cmd, name, false);
  }

  /**
   * A DBA registers `name` (stopped, as hdbnsutil requires) as secondary of `source`, or of the
   * current primary: the running primary that is not `name`. Throws with HANA's text on refusal.
   */
  manualRegister(name: string, source?: string): void {
    this.advance();
    const t = this.mustGet(name);
    const primary =
      source !== undefined
        ? this.mustGet(source)
        : (this.order.find((s) => s !== t && s.role === 'primary' && this.writable(s)) ??
          this.order.find((s) => s !== t && s.role === 'primary' && s.instance === 'running'));
    if (primary === undefined) {
      throw new SimCommandError('manual register: no running primary to register with', 1);
    }
    this.record(name, 'manual-register', `a DBA registers this site as secondary of ${primary.name}`);
    commands.register(this.cmd, name, {
      remoteHost: primary.host,
      remoteInstance: this.instanceNumber,
      replicationMode: t.mode,
      operationMode: t.operationMode,
      name: t.name,
      online: false,
    });
  }

  killIndexserver(name: string): void {
    this.fault('kill-indexserver', name);
  }

  crashNode(name: string): void {
    this.fault('crash-node', name);
  }

  restoreNode(name: string): void {
    this.fault('restore-node', name);
  }

  /**
   * Where clients send their writes, as a Service would route them: only to `sites` (an empty
   * list: nowhere, the Service selects no pod), or null: to every writable site (the default).
   */
  routeClientWrites(sites: readonly string[] | null): void {
    this.mutateAll('route-writes', () => {
      this.routed = sites === null ? null : new Set(sites);
      return sites === null
        ? 'clients write to every writable site'
        : `clients write only to ${sites.join(', ') || 'no site'}`;
    });
  }

  blockReplication(name?: string): void {
    if (name === undefined) {
      this.mutateAll('block-replication', () => {
        if (this.allReplBlocked) return 'replication network already cut';
        this.allReplBlocked = true;
        return 'replication network cut between all sites';
      });
      return;
    }
    this.fault('block-replication', name);
  }

  unblockReplication(name?: string): void {
    if (name === undefined) {
      this.mutateAll('unblock-replication', () => {
        const was = this.allReplBlocked || this.order.some((s) => s.replBlocked);
        this.allReplBlocked = false;
        for (const s of this.order) s.replBlocked = false;
        return was ? 'replication network restored everywhere' : 'replication network was not cut';
      });
      return;
    }
    this.fault('unblock-replication', name);
  }

  isolateSite(name: string): void {
    this.fault('isolate-site', name);
  }

  reconnectSite(name: string): void {
    this.fault('reconnect-site', name);
  }

  freezeSite(name: string): void {
    this.fault('freeze-site', name);
  }

  thawSite(name: string): void {
    this.fault('thaw-site', name);
  }

  hangInstance(name: string): void {
    this.fault('hang-instance', name);
  }

  unhangInstance(name: string): void {
    this.fault('unhang-instance', name);
  }

  fillLogArea(name: string): void {
    this.fault('fill-log-area', name);
  }

  freeLogArea(name: string): void {
    this.fault('free-log-area', name);
  }

  /**
   * The host clock of `name` jumps by `seconds` (either sign): the times its HANA shows (and its
   * agent reads, through a clock of this offset) move with it. The model keeps true time.
   */
  skewClock(name: string, seconds: number): void {
    if (!Number.isFinite(seconds)) throw new RangeError(`clock skew must be finite, got ${seconds}`);
    this.fault('clock-skew', name, seconds);
  }

  /** How far the host clock of `name` is off true time (ms). */
  clockOffsetMs(name: string): number {
    return this.clockOffsets.get(name) ?? 0;
  }

  /** The SQL lag source of `name` fails (monitoring views unreadable: no lag) until fixSqlProbe. */
  breakSqlProbe(name: string): void {
    this.fault('sql-probe-broken', name);
  }

  fixSqlProbe(name: string): void {
    this.fault('sql-probe-fixed', name);
  }

  /**
   * hdbnsutil and the HDBSettings.sh scripts of `name` hang (a stuck /hana/shared, a nameserver
   * that does not answer its tools) while the indexserver still commits, until fixProbeTools:
   * the agent's probes time out, sapcontrol (stop, kill) still works.
   */
  hangProbeTools(name: string): void {
    this.fault('probe-tools-hung', name);
  }

  fixProbeTools(name: string): void {
    this.fault('probe-tools-fixed', name);
  }

  /** Slows the replication link into `site`: bandwidth divided by factor, latency multiplied. */
  setLinkSlowdown(name: string, factor: number): void {
    if (!(factor > 0) || !Number.isFinite(factor))
      throw new RangeError(`slowdown factor must be > 0, got ${factor}`);
    this.fault('link-slowdown', name, factor);
  }

  /**
   * The few fields of snapshot(name) another site's direct check reads (peer-probe.ts), without
   * the processes, links and topology a snapshot builds: the same values, read the same way.
   */
  peerView(name: string): Pick<
    SimSiteSnapshot,
    'now' | 'nodeUp' | 'running' | 'frozen' | 'hung' | 'srMode'
  > & {
    readonly source?: string;
  } {
    this.advance();
    const s = this.mustGet(name);
    const source = s.role === 'secondary' && s.source !== undefined ? this.mustGet(s.source) : undefined;
    return {
      now: this.wall(this.cur) + this.clockOffsetMs(s.name),
      nodeUp: s.nodeUp,
      running: s.nodeUp && s.instance === 'running',
      frozen: s.frozen,
      hung: s.hung,
      srMode: srMode(s),
      ...(source ? { source: source.name } : {}),
    };
  }

  canReach(from: string, to: string): boolean {
    this.advance();
    return reach(this.mustGet(from), this.mustGet(to));
  }

  acceptsWrites(name: string): boolean {
    this.advance();
    return this.writable(this.mustGet(name));
  }

  writableSites(): string[] {
    this.advance();
    return this.order.filter((s) => this.writable(s)).map((s) => s.name);
  }

  /**
   * lostCommittedWrites: acknowledged writes that `finalPrimary` does not hold. With no final
   * primary, it is measured against the site that holds the most of them (the data still exists
   * on that site's disks; it is unavailable, not lost).
   */
  stats(finalPrimary: string | null): SimStats {
    this.advance();
    const lostOn = (s: Site) => this.acked.reduce((n, e) => (s.log[e.index] === e ? n : n + 1), 0);
    const lost =
      finalPrimary !== null
        ? lostOn(this.mustGet(finalPrimary))
        : Math.min(this.acked.length, ...this.order.map(lostOn));
    return {
      acknowledgedWrites: this.acked.length,
      lostCommittedWrites: lost,
      writeUnavailableSeconds: this.unavailableMs / 1000,
      maxConcurrentWritable: this.maxWritable,
    };
  }

  // Observers' reads (the fuzz runner's invariants): as of the model's last advance, without
  // advancing it, so watching a run never changes its steps.

  /**
   * Acknowledged writes that `name` does not hold (a promotion of it would lose them); with
   * `only`, those of them it accepts (by the site that took each and when).
   */
  missingAcknowledged(name: string, only?: (origin: string, time: number) => boolean): number {
    const s = this.mustGet(name);
    let n = 0;
    for (const e of this.acked)
      if (s.log[e.index] !== e && (only === undefined || only(e.origin, e.time))) n++;
    return n;
  }

  /** The log position `name` holds (records in its log), as M_SERVICE_REPLICATION would show it. */
  logPosition(name: string): number {
    return this.mustGet(name).log.length;
  }

  /** Sites accepting writes (as of the last advance). */
  writableCount(): number {
    let n = 0;
    for (const s of this.order) if (this.writable(s)) n++;
    return n;
  }

  /** The most sites that accepted writes at one instant so far. */
  maxConcurrentWritable(): number {
    return this.maxWritable;
  }

  /**
   * `name` accepts writes and one of its secondaries is in sync: ACTIVE and fully synced (in
   * async mode: ACTIVE and holding every write).
   */
  servesWithInSyncSecondary(name: string): boolean {
    const s = this.mustGet(name);
    if (!this.writable(s)) return false;
    for (const link of s.links.values()) {
      if (!link.connected || link.phase !== 'active') continue;
      if (
        link.mode === 'async' ? this.mustGet(link.secondary).log.length === s.log.length : link.syncRequired
      )
        return true;
    }
    return false;
  }

  /**
   * A client transaction committed on `site` (SQL over the wire): appended to its log like the
   * workload's writes, so it is shipped, acknowledged, kept or lost by the same rules. Throws
   * ClientCommitRefused when the site cannot take a commit now. Returns the commit's id for
   * `clientCommitState`.
   */
  appendClientCommit(name: string, data: unknown, bytes: number): number {
    this.advance();
    const s = this.mustGet(name);
    if (!isUp(s) || s.frozen) throw new ClientCommitRefused(`${name} is not running`, 'down');
    if (s.role === 'secondary') throw new ClientCommitRefused(`${name} is a secondary`, 'secondary');
    if (s.suspended || s.logFull || s.takeoverActive) {
      const why = s.suspended ? 'suspended' : s.logFull ? 'log area full' : 'takeover in progress';
      throw new ClientCommitRefused(`${name}: ${why}`, 'blocked');
    }
    const last = s.log[s.log.length - 1];
    const blocks = Math.max(1, Math.ceil(bytes / BLOCK_BYTES));
    const entry: Entry = {
      id: this.nextWriteId++,
      index: s.log.length,
      pos: (last?.pos ?? this.basePos) + blocks,
      blocks,
      time: this.cur,
      origin: s.name,
      acked: false,
      data,
    };
    s.log.push(entry);
    let waitsForSync = false;
    for (const l of s.links.values()) if (l.syncRequired) waitsForSync = true;
    if (waitsForSync) s.pending.push(entry);
    else this.ack(entry);
    this.clientCommits.set(entry.id, { entry, site: s });
    return entry.id;
  }

  /** A client commit is acknowledged, still waits (sync), or never will be (its site stopped). */
  clientCommitState(id: number): ClientCommitState {
    this.advance();
    const c = this.clientCommits.get(id);
    if (c === undefined) return 'unacknowledged';
    if (c.entry.acked) return 'acknowledged';
    return c.site.pending.includes(c.entry) ? 'pending' : 'unacknowledged';
  }

  /**
   * The client transactions `site` holds, in commit order (what its database contains). The
   * array grows in place while the log only grows; a new array when the log was cut or replaced.
   */
  clientData(name: string): readonly unknown[] {
    this.advance();
    const s = this.mustGet(name);
    let c = this.clientCache.get(name);
    const n = c?.length ?? 0;
    if (c === undefined || n > s.log.length || (n > 0 && s.log[n - 1] !== c.last)) {
      c = { length: 0, last: undefined, data: [] };
      this.clientCache.set(name, c);
    }
    for (let i = c.length; i < s.log.length; i++) {
      const d = s.log[i]!.data;
      if (d !== undefined) c.data.push(d);
    }
    c.length = s.log.length;
    c.last = s.log[s.log.length - 1];
    return c.data;
  }

  /** What systemReplicationStatus.py on `site` would report overall; UNKNOWN when it cannot run. */
  overallReplicationStatus(name: string): SimOverallStatus {
    this.advance();
    const s = this.mustGet(name);
    if (!s.nodeUp || s.instance !== 'running' || s.frozen || s.hung) return 'UNKNOWN';
    if (s.links.size === 0) return 'NONE';
    let worst = replicationStatuses.length - 1;
    for (const link of s.links.values()) {
      worst = Math.min(worst, replicationStatuses.indexOf(linkStatus(link)));
    }
    return replicationStatuses[worst] ?? 'UNKNOWN';
  }

  events(): SimEvent[] {
    this.advance();
    return this.timeline.map((e) => ({ ...e }));
  }

  dispose(): void {
    this.disposed = true;
    this.cancelHeartbeat?.();
    this.cancelHeartbeat = undefined;
  }

  private snapshot(name: string): SimSiteSnapshot {
    this.advance();
    return this.snapshots.of(this.mustGet(name), this.cur);
  }

  // ---------------------------------------------------------------- time

  private scheduleHeartbeat(): void {
    if (this.disposed) return;
    this.cancelHeartbeat = this.clock.setTimer(HEARTBEAT_MS, () => {
      this.advance();
      this.scheduleHeartbeat();
    });
  }

  private schedule(inMs: number, fn: () => void): void {
    const item = { at: this.cur + inMs, seq: this.agendaSeq++, fn };
    let i = this.agenda.length;
    while (i > 0 && this.agenda[i - 1]!.at > item.at) i--;
    this.agenda.splice(i, 0, item);
  }

  /** Brings the model up to clock.now(). */
  private advance(): void {
    if (this.advancing) return;
    this.advancing = true;
    try {
      const target = Math.max(this.cur, this.clock.now());
      for (;;) {
        this.fireDue();
        if (this.cur >= target) break;
        const next = Math.min(
          target,
          this.cur + STEP_MS,
          this.agenda[0]?.at ?? Infinity,
          nextSyncTimeout(this.repl),
        );
        this.step(this.cur, Math.max(next, this.cur));
        this.cur = next;
      }
    } finally {
      this.advancing = false;
    }
  }

  private fireDue(): void {
    for (;;) {
      let changed = false;
      while (this.agenda.length > 0 && this.agenda[0]!.at <= this.cur) {
        this.agenda.shift()!.fn();
        changed = true;
      }
      if (checkSyncTimeouts(this.repl)) changed = true;
      if (!changed) return;
      this.afterChange();
    }
  }

  private step(from: number, to: number): void {
    if (to <= from) return;
    // Ten steps a simulated second: no arrays made here (the fuzz runner plays thousands).
    let writable = 0;
    let reached = 0;
    for (const s of this.order) {
      if (!this.writable(s)) continue;
      writable++;
      if (this.routed === null || this.routed.has(s.name)) reached++;
    }
    if (reached === 0) this.unavailableMs += to - from;
    this.maxWritable = Math.max(this.maxWritable, writable);
    // Writing changes no site's writability: the same sites as counted above, in order.
    if (reached > 0)
      for (const s of this.order)
        if (this.writable(s) && (this.routed === null || this.routed.has(s.name)))
          this.generateWrites(s, from, to);
    for (const s of this.order) {
      for (const link of s.links.values()) ship(this.repl, s, link, from, to);
    }
    for (const s of this.order) acknowledge(this.repl, s);
  }

  private generateWrites(s: Site, from: number, to: number): void {
    if (!Number.isFinite(this.writeIntervalMs)) return;
    if (s.nextWriteAt < from) s.nextWriteAt = from + this.rng.next() * this.writeIntervalMs;
    let waitsForSync = false;
    for (const l of s.links.values()) if (l.syncRequired) waitsForSync = true;
    while (s.nextWriteAt < to) {
      const last = s.log[s.log.length - 1];
      const blocks = this.rng.int(32, 96);
      const entry: Entry = {
        id: this.nextWriteId++,
        index: s.log.length,
        pos: (last?.pos ?? this.basePos) + blocks,
        blocks,
        time: Math.floor(s.nextWriteAt),
        origin: s.name,
        acked: false,
      };
      s.log.push(entry);
      if (waitsForSync) s.pending.push(entry);
      else this.ack(entry);
      s.nextWriteAt += this.writeIntervalMs * this.rng.between(0.5, 1.5);
    }
  }

  private ack(e: Entry): void {
    e.acked = true;
    this.acked.push(e);
  }

  // ---------------------------------------------------------------- state helpers

  /** Applies a fault or admin change at the current clock time and records it on the timeline. */
  private mutate(name: string, event: string, change: (s: Site) => string): void {
    this.advance();
    const reason = change(this.mustGet(name));
    this.record(name, event, reason);
    this.afterChange();
  }

  private mutateAll(event: string, change: () => string): void {
    this.advance();
    this.record('*', event, change());
    this.afterChange();
  }

  private afterChange(): void {
    refreshLinks(this.repl);
    this.observeWritable();
  }

  private observeWritable(): void {
    let n = 0;
    for (const s of this.order) if (this.writable(s)) n++;
    this.maxWritable = Math.max(this.maxWritable, n);
  }

  /**
   * Whether `name` is frozen, without advancing the model (only faults freeze and thaw a site):
   * for the node devices, which ask on every watchdog feed.
   */
  isFrozen(name: string): boolean {
    return this.mustGet(name).frozen;
  }

  /**
   * Accepts client writes now: running, indexserver up, not frozen, log not full, not suspended,
   * not mid-takeover, not a secondary (a primary, or a standalone system after -sr_unregister),
   * and not blocked waiting for a disconnected sync secondary (before logshipping_timeout).
   */
  private writable(s: Site): boolean {
    if (!isUp(s) || s.frozen || s.hung || s.logFull || s.suspended || s.takeoverActive) return false;
    if (s.role === 'secondary') return false;
    for (const link of s.links.values()) if (link.syncRequired && !link.connected) return false;
    return true;
  }

  private newPids(): number[] {
    let pid = this.rng.int(2000, 60000);
    return PROCESS_NAMES.map(() => (pid += this.rng.int(1, 400)));
  }

  private checkNoCycle(start: string, source: string): void {
    const seen = new Set([start]);
    let cur: string | undefined = source;
    while (cur !== undefined) {
      if (seen.has(cur)) throw new Error(`SimLandscape: replication sources form a cycle through "${start}"`);
      seen.add(cur);
      cur = this.sites.get(cur)?.source;
    }
  }

  private mustGet(name: string): Site {
    const s = this.sites.get(name);
    if (!s) throw new Error(`unknown site "${name}"`);
    return s;
  }

  private record(site: string, event: string, reason: string): void {
    this.timeline.push({ t: Math.round(this.cur - this.t0) / 1000, site, event, reason });
  }

  private wall(t: number): number {
    return this.wall0 + (t - this.t0);
  }
}
