// Why this file is long: the simulator's whole site model; to be split by concern (process lifecycle, replication, faults) after the parallel branches land (issue 15).
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
 */
import type { Clock } from '../../clock.js';
import type { OperationMode, ReplicationMode, ReplicationStatus } from '../../domain/types.js';
import { replicationStatuses } from '../../domain/types.js';
import { Prng } from './prng.js';
import {
  SimCommandError,
  type SimLink,
  type SimProcess,
  type SimSiteControl,
  type SimSiteSnapshot,
  type SimTopologySite,
} from './snapshot.js';

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
const STEP_MS = 100;
/** Clock timer that keeps the model moving when nobody looks (each timer costs a settle in VirtualClock). */
const HEARTBEAT_MS = 5000;
const BLOCK_BYTES = 64;
/** One-way latency of the replication network at slowdown 1. */
const BASE_LATENCY_MS = 1;

interface Entry {
  readonly id: number;
  /** Position in every log that holds this entry. */
  readonly index: number;
  /** LAST_LOG_POSITION after this entry (64-byte blocks). */
  readonly pos: number;
  readonly blocks: number;
  /** Clock time of the commit. */
  readonly time: number;
  acked: boolean;
  /** A client's transaction (SQL over the wire): what it changed, opaque to the model. */
  readonly data?: unknown;
}

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

type Phase = 'init' | 'catchup' | 'active';

interface Link {
  readonly secondary: string;
  mode: ReplicationMode;
  operationMode: OperationMode;
  phase: Phase;
  connected: boolean;
  /** Clock time connected last changed. */
  since: number;
  details: string;
  /** The primary waits for this secondary's acknowledgement before it commits. */
  syncRequired: boolean;
  /** Newly registered: the first connection decides delta or full resync. */
  fresh: boolean;
  initDoneBytes: number;
  initTotalBytes: number;
  /** Index into the source log where the full copy's data snapshot was taken. */
  initTarget: number;
  carryBytes: number;
  buffersCount: number;
  buffersBytes: number;
  buffersMicros: number;
}

type Role = 'primary' | 'secondary' | 'none';

interface Site {
  readonly name: string;
  readonly host: string;
  readonly siteId: number;
  nodeUp: boolean;
  instance: 'stopped' | 'starting' | 'running';
  /** Bumped whenever the instance stops: scheduled work of an older incarnation is void. */
  incarnation: number;
  indexserver: 'up' | 'dead' | 'restarting';
  instanceStartedAt: number;
  indexserverStartedAt: number;
  pids: number[];
  role: Role;
  mode: ReplicationMode;
  operationMode: OperationMode;
  source: string | undefined;
  suspended: boolean;
  takeoverActive: boolean;
  frozen: boolean;
  /** Clock time the current freeze began (meaningful while frozen). */
  frozenSince: number;
  /** Time spent frozen in earlier freezes (ms): work in progress (a start) does not advance then. */
  frozenMs: number;
  /** A hard stop arrived while frozen: it takes effect at the thaw. */
  stopAtThaw?: boolean;
  /**
   * The instance hangs (hang-instance): its processes stay but answer nothing (no SQL, no commits,
   * hdbnsutil and the python scripts hang); sapstartsrv still answers. A stop does not complete,
   * a kill works.
   */
  hung: boolean;
  /** A stop was requested while hung: the processes finish it if they ever answer again. */
  stopAtUnhang?: boolean;
  logFull: boolean;
  isolated: boolean;
  replBlocked: boolean;
  slowdown: number;
  log: Entry[];
  /** Links where this site is the source, in registration order. */
  links: Map<string, Link>;
  /** Commits written locally, waiting for sync acknowledgements. */
  pending: Entry[];
  nextWriteAt: number;
}

const PROCESS_NAMES = [
  'hdbdaemon',
  'hdbcompileserver',
  'hdbindexserver',
  'hdbnameserver',
  'hdbpreprocessor',
  'hdbwebdispatcher',
  'hdbxsengine',
] as const;

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
  private descriptions: Record<(typeof PROCESS_NAMES)[number], string> | undefined;
  private readonly startTimes = new Map<number, string>();
  /** Sites whose SQL lag source fails: break-sql-probe. */
  private readonly sqlBroken = new Set<string>();

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
    this.writeIntervalMs = options.writesPerSecond > 0 ? 1000 / options.writesPerSecond : Infinity;
    this.basePos = 0x10000000 + this.rng.int(0, 0x0fffffff);

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
      const link = this.newLink(site.name, site.mode, options.operationMode, false);
      link.phase = 'active';
      link.connected = true;
      link.syncRequired = site.mode !== 'async';
      source.links.set(site.name, link);
    }
    this.refreshLinks();
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
      takeover: (options) => this.takeover(name, options.handshake),
      register: (options) => this.register(name, options),
      unregister: () => this.unregister(name),
      start: () => this.start(name),
      stop: (hard) => this.stop(name, hard),
      kill: () => this.kill(name),
      killAtThaw: () => {
        const s = this.mustGet(name);
        if (s.frozen) s.stopAtThaw = true;
      },
      suspend: () => this.suspend(name),
      resume: () => this.resume(name),
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

  crashInstance(name: string): void {
    this.mutate(name, 'crash-instance', (s) => {
      if (s.instance === 'stopped') return 'instance already stopped';
      this.stopInstance(s);
      return 'all processes killed; Autostart=0, the instance stays down until started';
    });
  }

  restartInstance(name: string): void {
    this.advance();
    this.record(name, 'restart-instance', 'an administrator starts the instance');
    this.start(name);
  }

  /**
   * A DBA runs `hdbnsutil -sr_takeover` on `name`, outside hanasr (plain, as SAPHanaSR's
   * maintenance procedure does after stopping the primary). Throws with HANA's text on refusal.
   */
  manualTakeover(name: string): void {
    this.advance();
    this.record(name, 'manual-takeover', 'a DBA runs hdbnsutil -sr_takeover on this site');
    this.takeover(name, false);
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
    this.register(name, {
      remoteHost: primary.host,
      remoteInstance: this.instanceNumber,
      replicationMode: t.mode,
      operationMode: t.operationMode,
      name: t.name,
      online: false,
    });
  }

  killIndexserver(name: string): void {
    this.mutate(name, 'kill-indexserver', (s) => {
      if (s.instance !== 'running' || !s.nodeUp) return 'instance not running';
      if (s.indexserver !== 'up') return 'indexserver already down';
      s.indexserver = 'dead';
      s.pending = [];
      const incarnation = s.incarnation;
      const restartIn = this.rng.between(2000, 5000);
      const loadIn = this.rng.between(5000, 10000);
      this.schedule(restartIn, () => {
        if (s.incarnation !== incarnation || s.indexserver !== 'dead') return;
        s.indexserver = 'restarting';
        this.record(s.name, 'indexserver-restarting', 'hdbdaemon restarts the indexserver');
      });
      this.schedule(restartIn + loadIn, () => {
        if (s.incarnation !== incarnation || s.indexserver === 'up') return;
        s.indexserver = 'up';
        s.indexserverStartedAt = this.cur;
        s.pids[2] = this.rng.int(2000, 99999);
        this.record(s.name, 'indexserver-restarted', 'indexserver running again (landscape back to 4)');
      });
      return 'hdbindexserver killed (landscape 1); hdbdaemon will restart it';
    });
  }

  crashNode(name: string): void {
    this.mutate(name, 'crash-node', (s) => {
      if (!s.nodeUp) return 'node already down';
      this.stopInstance(s);
      s.nodeUp = false;
      this.setFrozen(s, false);
      return 'node down: HANA down and the host unreachable';
    });
  }

  restoreNode(name: string): void {
    this.mutate(name, 'restore-node', (s) => {
      if (s.nodeUp) return 'node already up';
      s.nodeUp = true;
      return 'node up; the HANA instance stays stopped (Autostart=0)';
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
    this.mutate(name, 'block-replication', (s) => {
      if (s.replBlocked) return 'replication network already cut';
      s.replBlocked = true;
      return 'replication network of this site cut';
    });
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
    this.mutate(name, 'unblock-replication', (s) => {
      if (!s.replBlocked) return 'replication network was not cut';
      s.replBlocked = false;
      return 'replication network of this site restored';
    });
  }

  isolateSite(name: string): void {
    this.mutate(name, 'isolate-site', (s) => {
      if (s.isolated) return 'already isolated';
      s.isolated = true;
      return 'cut from every other site (replication and peers)';
    });
  }

  reconnectSite(name: string): void {
    this.mutate(name, 'reconnect-site', (s) => {
      if (!s.isolated) return 'was not isolated';
      s.isolated = false;
      return 'network to the other sites restored';
    });
  }

  freezeSite(name: string): void {
    this.mutate(name, 'freeze-site', (s) => {
      if (s.frozen) return 'already frozen';
      this.setFrozen(s, true);
      return 'processes hang: commands and SQL never answer, no commits';
    });
  }

  thawSite(name: string): void {
    this.mutate(name, 'thaw-site', (s) => {
      if (!s.frozen) return 'was not frozen';
      this.setFrozen(s, false);
      if (s.stopAtThaw) {
        s.stopAtThaw = false;
        if (s.instance !== 'stopped') this.stopInstance(s);
        return 'processes resume only to die: the hard stop sent while frozen takes effect';
      }
      return 'processes resume';
    });
  }

  hangInstance(name: string): void {
    this.mutate(name, 'hang-instance', (s) => {
      if (!s.nodeUp || s.instance === 'stopped') return 'instance not running';
      if (s.hung) return 'already hung';
      s.hung = true;
      return 'processes stay but answer nothing: no SQL, no commits, hdbnsutil hangs; a stop will not complete, a kill works';
    });
  }

  unhangInstance(name: string): void {
    this.mutate(name, 'unhang-instance', (s) => {
      if (!s.hung) return 'was not hung';
      s.hung = false;
      if (s.stopAtUnhang) {
        s.stopAtUnhang = false;
        this.stopInstance(s);
        return 'processes answer again only to finish the stop requested while they hung';
      }
      return 'processes answer again';
    });
  }

  fillLogArea(name: string): void {
    this.mutate(name, 'fill-log-area', (s) => {
      if (s.logFull) return 'log area already full';
      s.logFull = true;
      return 'log volume full: commits block';
    });
  }

  freeLogArea(name: string): void {
    this.mutate(name, 'free-log-area', (s) => {
      if (!s.logFull) return 'log area was not full';
      s.logFull = false;
      return 'log volume has space again';
    });
  }

  /** Slows the replication link into `site`: bandwidth divided by factor, latency multiplied. */
  /**
   * The host clock of `name` jumps by `seconds` (either sign): the times its HANA shows (and its
   * agent reads, through a clock of this offset) move with it. The model keeps true time.
   */
  skewClock(name: string, seconds: number): void {
    if (!Number.isFinite(seconds)) throw new RangeError(`clock skew must be finite, got ${seconds}`);
    this.mutate(name, 'clock-skew', () => {
      const offset = (this.clockOffsets.get(name) ?? 0) + seconds * 1000;
      this.clockOffsets.set(name, offset);
      return `host clock jumps ${seconds >= 0 ? '+' : ''}${seconds} s (now ${offset / 1000} s off true time)`;
    });
  }

  /** How far the host clock of `name` is off true time (ms). */
  clockOffsetMs(name: string): number {
    return this.clockOffsets.get(name) ?? 0;
  }

  /** The SQL lag source of `name` fails (monitoring views unreadable: no lag) until fixSqlProbe. */
  breakSqlProbe(name: string): void {
    this.mutate(name, 'sql-probe-broken', () => {
      this.sqlBroken.add(name);
      return 'SQL lag source fails (replication lag unknown)';
    });
  }

  fixSqlProbe(name: string): void {
    this.mutate(name, 'sql-probe-fixed', () => {
      this.sqlBroken.delete(name);
      return 'SQL lag source answers again';
    });
  }

  setLinkSlowdown(name: string, factor: number): void {
    if (!(factor > 0) || !Number.isFinite(factor))
      throw new RangeError(`slowdown factor must be > 0, got ${factor}`);
    this.mutate(name, 'link-slowdown', (s) => {
      s.slowdown = factor;
      return factor === 1
        ? 'replication link back to normal'
        : `replication link into this site ${factor}x slower`;
    });
  }

  canReach(from: string, to: string): boolean {
    this.advance();
    return this.reach(this.mustGet(from), this.mustGet(to));
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

  /** Acknowledged writes that `name` does not hold (a promotion of it would lose them). */
  missingAcknowledged(name: string): number {
    const s = this.mustGet(name);
    let n = 0;
    for (const e of this.acked) if (s.log[e.index] !== e) n++;
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
    if (!this.isUp(s) || s.frozen) throw new ClientCommitRefused(`${name} is not running`, 'down');
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
      worst = Math.min(worst, replicationStatuses.indexOf(this.linkStatus(link)));
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

  // ---------------------------------------------------------------- site actions

  private snapshot(name: string): SimSiteSnapshot {
    this.advance();
    const s = this.mustGet(name);
    const source = s.role === 'secondary' && s.source !== undefined ? this.mustGet(s.source) : undefined;
    const snap: SimSiteSnapshot = {
      sid: this.sid,
      instanceNumber: this.instanceNumber,
      site: s.name,
      siteId: s.siteId,
      host: s.host,
      now: this.wall(this.cur) + this.clockOffsetMs(s.name),
      nodeUp: s.nodeUp,
      running: s.nodeUp && s.instance === 'running',
      frozen: s.frozen,
      hung: s.hung,
      processes: this.processes(s),
      landscapeStatus: this.landscape(s),
      srMode: this.srMode(s),
      operationMode: s.operationMode,
      ...(source ? { source: { site: source.name, siteId: source.siteId, host: source.host } } : {}),
      suspended: s.suspended,
      takeoverActive: s.takeoverActive,
      links: [...s.links.values()].map((l) => this.linkSnapshot(s, l)),
      topology: this.topology(s),
      logAreaFull: s.logFull,
      ...(this.sqlBroken.has(s.name) ? { sqlProbeBroken: true } : {}),
    };
    return snap;
  }

  private takeover(name: string, handshake: boolean): void {
    this.advance();
    const t = this.mustGet(name);
    this.assertAnswers(t, 'hdbnsutil -sr_takeover');
    if (t.role === 'primary') {
      throw new SimCommandError('takeover not possible: this system is already the primary system', 1);
    }
    if (t.role !== 'secondary' || t.source === undefined) {
      throw new SimCommandError(
        'takeover not possible: system replication is not configured on this system',
        1,
      );
    }
    const s = this.mustGet(t.source);
    const link = s.links.get(t.name);
    if (link?.phase === 'init') {
      throw new SimCommandError(
        'takeover not possible: the secondary has not finished the initial data shipping (full replica incomplete)',
        1,
      );
    }
    if (handshake) {
      if (!this.replicationPath(s, t) || !this.isUp(s) || s.frozen || s.hung || s.role !== 'primary') {
        throw new SimCommandError(
          `takeover with --suspendPrimary failed: cannot suspend primary site ${s.name} on ${s.host}: ` +
            `unable to contact primary site host ${s.host}:3${this.instanceNumber}01 (connection refused); ` +
            'the takeover was not executed',
          1,
        );
      }
      s.suspended = true;
      this.record(s.name, 'suspend', `primary suspended for a takeover with handshake by ${t.name}`);
      if (this.isPrefix(t.log, s.log)) {
        for (let i = t.log.length; i < s.log.length; i++) t.log.push(s.log[i]!);
      }
    }
    const held = t.log.length;
    t.role = 'primary';
    t.source = undefined;
    t.suspended = false;
    t.takeoverActive = true;
    const incarnation = t.incarnation;
    this.record(
      t.name,
      'takeover',
      handshake
        ? `takeover with handshake from ${s.name}: old primary suspended, all log shipped`
        : `takeover from ${s.name} with the ${held} writes this site holds; ${s.name} is not touched`,
    );
    this.schedule(this.rng.between(800, 1500), () => {
      if (t.incarnation !== incarnation || !t.takeoverActive) return;
      t.takeoverActive = false;
      this.record(t.name, 'takeover-complete', 'log replayed; the site is primary and accepts writes');
    });
    this.afterChange();
  }

  private register(name: string, o: Parameters<SimSiteControl['register']>[0]): void {
    this.advance();
    const t = this.mustGet(name);
    if (!t.nodeUp) throw this.unreachable(t);
    if (t.frozen) throw new SimCommandError('hdbnsutil did not answer (site frozen)', 1);
    if (t.instance !== 'stopped' && !o.online) {
      throw new SimCommandError(
        'error: the system is running; register it while it is stopped, or use --online',
        1,
      );
    }
    if (o.name !== t.name) {
      throw new SimCommandError(
        `error: site name "${o.name}" does not match this site's name "${t.name}"`,
        1,
      );
    }
    const r = this.order.find((x) => x.host === o.remoteHost || x.name === o.remoteHost);
    const contactError = new SimCommandError(
      `error: unable to contact primary site host ${o.remoteHost}:3${o.remoteInstance}02. connection refused`,
      1,
    );
    if (!r || r === t || o.remoteInstance !== this.instanceNumber) throw contactError;
    if (!this.reach(t, r) || !this.isUp(r) || r.frozen) throw contactError;
    if (r.role === 'none') {
      throw new SimCommandError(`error: site ${r.name} is not enabled for system replication`, 1);
    }
    if (this.sourceChain(r).includes(t.name)) {
      throw new SimCommandError(`error: site ${r.name} replicates from this site; cannot register to it`, 1);
    }
    const common = this.commonPrefix(t.log, r.log);
    const discarded = t.log.length - common;
    t.log.length = common;
    if (t.source !== undefined) this.sites.get(t.source)?.links.delete(t.name);
    t.links.delete(r.name);
    r.links.set(t.name, this.newLink(t.name, o.replicationMode, o.operationMode, true));
    t.role = 'secondary';
    t.source = r.name;
    t.mode = o.replicationMode;
    t.operationMode = o.operationMode;
    t.suspended = false;
    t.takeoverActive = false;
    t.pending = [];
    this.record(
      t.name,
      'register',
      `registered as ${o.replicationMode} secondary of ${r.name}` +
        (discarded > 0 ? `; ${discarded} writes not on ${r.name} discarded` : ''),
    );
    this.afterChange();
  }

  private unregister(name: string): void {
    this.advance();
    const t = this.mustGet(name);
    this.assertReachableNode(t);
    if (t.role !== 'secondary') throw new SimCommandError('error: this system is not a secondary system', 1);
    if (t.source !== undefined) this.sites.get(t.source)?.links.delete(t.name);
    t.role = 'none';
    t.source = undefined;
    this.record(t.name, 'unregister', 'system replication configuration removed');
    this.afterChange();
  }

  private start(name: string): void {
    this.advance();
    const s = this.mustGet(name);
    this.assertReachableNode(s);
    if (s.instance !== 'stopped') return;
    s.instance = 'starting';
    s.indexserver = 'up';
    const incarnation = s.incarnation;
    const duration = this.startMs * this.rng.between(0.8, 1.2);
    this.record(s.name, 'start', `StartSystem: processes starting (about ${Math.round(duration / 1000)} s)`);
    // A start makes no progress while the site is frozen: the time spent frozen is added to it,
    // so a start can never complete on a frozen site.
    const finish = (frozenCredited: number): void => {
      if (s.incarnation !== incarnation || s.instance !== 'starting') return;
      const debt = this.frozenTotal(s) - frozenCredited;
      if (s.frozen || debt > 0) {
        this.schedule(Math.max(debt, STEP_MS), () => finish(frozenCredited + debt));
        return;
      }
      s.instance = 'running';
      s.instanceStartedAt = this.cur;
      s.indexserverStartedAt = this.cur;
      s.pids = this.newPids();
      const others = this.order.filter((x) => x !== s && x.role === 'primary' && x.instance === 'running');
      let reason =
        s.role === 'primary'
          ? 'started as primary'
          : s.role === 'secondary'
            ? `started as ${s.mode} secondary of ${s.source ?? '?'}`
            : 'started without system replication';
      if (s.role === 'primary' && others.length > 0) {
        reason += `; ${others.map((x) => x.name).join(', ')} is primary too (dual primary)`;
      }
      this.record(s.name, 'started', reason);
    };
    const frozenAtStart = this.frozenTotal(s);
    this.schedule(duration, () => finish(frozenAtStart));
    this.afterChange();
  }

  private stop(name: string, hard: boolean): void {
    this.advance();
    const s = this.mustGet(name);
    this.assertReachableNode(s);
    if (s.instance === 'stopped') return;
    if (s.hung) {
      // sapstartsrv takes the request; the hung processes never act on it.
      if (!s.stopAtUnhang) {
        s.stopAtUnhang = true;
        this.record(
          s.name,
          'stop-hangs',
          `${hard ? 'hard stop' : 'StopSystem'} requested: the hung processes do not stop`,
        );
      }
      return;
    }
    this.stopInstance(s);
    this.record(s.name, 'stop', hard ? 'hard stop (processes killed)' : 'StopSystem');
    this.afterChange();
  }

  /** `HDB kill-9`: every process of the instance killed at once, hung or not. */
  private kill(name: string): void {
    this.advance();
    const s = this.mustGet(name);
    this.assertReachableNode(s);
    if (s.frozen) throw new SimCommandError('HDB kill-9: no answer (the site is frozen)', 1);
    if (s.instance === 'stopped') return;
    const wasHung = s.hung;
    this.stopInstance(s);
    this.record(s.name, 'kill', `HDB kill-9: every process killed${wasHung ? ' (they hung)' : ''}`);
    this.afterChange();
  }

  private suspend(name: string): void {
    this.advance();
    const s = this.mustGet(name);
    this.assertAnswers(s, 'suspend');
    if (s.role !== 'primary') throw new SimCommandError('error: only a primary system can be suspended', 1);
    if (s.suspended) return;
    s.suspended = true;
    this.record(s.name, 'suspend', 'primary suspended: no writes');
    this.afterChange();
  }

  private resume(name: string): void {
    this.advance();
    const s = this.mustGet(name);
    this.assertAnswers(s, 'hdbnsutil -sr_resumeSuspendedPrimary');
    if (!s.suspended) return;
    s.suspended = false;
    this.record(s.name, 'resume', 'suspended primary resumed');
    this.afterChange();
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
          this.nextSyncTimeout(),
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
      if (this.checkSyncTimeouts()) changed = true;
      if (!changed) return;
      this.afterChange();
    }
  }

  private step(from: number, to: number): void {
    if (to <= from) return;
    const writable = this.order.filter((s) => this.writable(s));
    if (writable.length === 0) this.unavailableMs += to - from;
    this.maxWritable = Math.max(this.maxWritable, writable.length);
    for (const s of writable) this.generateWrites(s, from, to);
    for (const s of this.order) {
      for (const link of s.links.values()) this.ship(s, link, from, to);
    }
    for (const s of this.order) this.acknowledge(s);
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
        acked: false,
      };
      s.log.push(entry);
      if (waitsForSync) s.pending.push(entry);
      else this.ack(entry);
      s.nextWriteAt += this.writeIntervalMs * this.rng.between(0.5, 1.5);
    }
  }

  private ship(s: Site, link: Link, from: number, to: number): void {
    if (!link.connected) return;
    const t = this.mustGet(link.secondary);
    if (t.logFull) return; // the secondary cannot write what it receives: shipping stalls
    const bandwidth = this.bandwidth / t.slowdown;
    let capacity = link.carryBytes + (bandwidth * (to - from)) / 1000;
    if (link.phase === 'init') {
      const use = Math.min(capacity, link.initTotalBytes - link.initDoneBytes);
      link.initDoneBytes += use;
      capacity -= use;
      if (link.initDoneBytes < link.initTotalBytes) {
        link.carryBytes = 0;
        return;
      }
      t.log = s.log.slice(0, link.initTarget);
      link.phase = 'catchup';
      this.record(t.name, 'full-replica-done', `initial data shipping from ${s.name} complete`);
    }
    const latency = BASE_LATENCY_MS * t.slowdown;
    while (t.log.length < s.log.length) {
      const e = s.log[t.log.length]!;
      const bytes = e.blocks * BLOCK_BYTES;
      if (e.time > to - latency || bytes > capacity) break;
      capacity -= bytes;
      t.log.push(e);
      link.buffersCount++;
      link.buffersBytes += bytes;
      link.buffersMicros += Math.round((latency + (bytes / bandwidth) * 1000) * 1000);
    }
    link.carryBytes = t.log.length < s.log.length ? Math.min(capacity, bandwidth) : 0;
    if (t.log.length === s.log.length && link.phase === 'catchup') {
      link.phase = 'active';
      if (link.mode !== 'async' && s.role === 'primary') {
        link.syncRequired = true;
        this.record(s.name, 'sok', `${t.name} caught up and is in sync again (ACTIVE)`);
      } else {
        this.record(s.name, 'active', `${t.name} caught up (ACTIVE)`);
      }
    }
  }

  private acknowledge(s: Site): void {
    if (s.pending.length === 0) return;
    const required: Site[] = [];
    for (const l of s.links.values()) if (l.syncRequired) required.push(this.mustGet(l.secondary));
    let n = 0;
    for (const e of s.pending) {
      if (!required.every((t) => t.log[e.index] === e)) break;
      this.ack(e);
      n++;
    }
    if (n > 0) s.pending.splice(0, n);
  }

  private ack(e: Entry): void {
    e.acked = true;
    this.acked.push(e);
  }

  /** When the primary has waited logshipping_timeout for a sync secondary: the wait start. */
  private syncWaitStart(s: Site, link: Link): number | undefined {
    if (!link.syncRequired) return undefined;
    if (!link.connected) return link.since;
    const t = this.mustGet(link.secondary);
    const first = s.pending.find((e) => t.log[e.index] !== e);
    return first?.time;
  }

  private nextSyncTimeout(): number {
    let next = Infinity;
    for (const s of this.order) {
      if (s.frozen || s.hung) continue;
      for (const link of s.links.values()) {
        const since = this.syncWaitStart(s, link);
        if (since !== undefined) next = Math.min(next, since + this.timeoutMs);
      }
    }
    return next;
  }

  private checkSyncTimeouts(): boolean {
    let changed = false;
    for (const s of this.order) {
      // A frozen or hung primary runs no commit path: its waiting commits go ahead only after.
      if (s.frozen || s.hung) continue;
      for (const link of s.links.values()) {
        const since = this.syncWaitStart(s, link);
        if (since === undefined || this.cur < since + this.timeoutMs) continue;
        link.syncRequired = false;
        if (link.connected) link.phase = 'catchup';
        changed = true;
        this.record(
          s.name,
          'commit-alone',
          `${link.secondary} did not acknowledge within logshipping_timeout ` +
            `(${this.timeoutMs / 1000} s): committing without it`,
        );
        this.record(link.secondary, 'sfail', `not fully synced with ${s.name} any more (SFAIL)`);
        this.acknowledge(s);
      }
    }
    return changed;
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
    this.refreshLinks();
    this.observeWritable();
  }

  private observeWritable(): void {
    let n = 0;
    for (const s of this.order) if (this.writable(s)) n++;
    this.maxWritable = Math.max(this.maxWritable, n);
  }

  private stopInstance(s: Site): void {
    s.instance = 'stopped';
    s.hung = false;
    s.stopAtUnhang = false;
    s.incarnation++;
    s.indexserver = 'up';
    s.pending = [];
    s.suspended = false;
    s.takeoverActive = false;
    for (const link of s.links.values()) link.syncRequired = false;
  }

  /**
   * Whether `name` is frozen, without advancing the model (only faults freeze and thaw a site):
   * for the node devices, which ask on every watchdog feed.
   */
  isFrozen(name: string): boolean {
    return this.mustGet(name).frozen;
  }

  private setFrozen(s: Site, frozen: boolean): void {
    if (frozen === s.frozen) return;
    if (frozen) s.frozenSince = this.cur;
    else s.frozenMs += this.cur - s.frozenSince;
    s.frozen = frozen;
  }

  /** All the time this site has spent frozen, up to now (ms). */
  private frozenTotal(s: Site): number {
    return s.frozenMs + (s.frozen ? this.cur - s.frozenSince : 0);
  }

  private isUp(s: Site): boolean {
    return s.nodeUp && s.instance === 'running' && s.indexserver === 'up';
  }

  /**
   * Accepts client writes now: running, indexserver up, not frozen, log not full, not suspended,
   * not mid-takeover, not a secondary (a primary, or a standalone system after -sr_unregister),
   * and not blocked waiting for a disconnected sync secondary (before logshipping_timeout).
   */
  private writable(s: Site): boolean {
    if (!this.isUp(s) || s.frozen || s.hung || s.logFull || s.suspended || s.takeoverActive) return false;
    if (s.role === 'secondary') return false;
    for (const link of s.links.values()) if (link.syncRequired && !link.connected) return false;
    return true;
  }

  private reach(a: Site, b: Site): boolean {
    if (!a.nodeUp || !b.nodeUp) return false;
    return a === b || (!a.isolated && !b.isolated);
  }

  private replicationPath(a: Site, b: Site): boolean {
    return this.reach(a, b) && !this.allReplBlocked && !a.replBlocked && !b.replBlocked;
  }

  private connection(s: Site, link: Link): { ok: boolean; details: string } {
    const t = this.mustGet(link.secondary);
    if (t.role !== 'secondary' || t.source !== s.name)
      return { ok: false, details: 'Communication channel closed' };
    if (!this.isUp(s) || !this.isUp(t)) return { ok: false, details: 'Communication channel closed' };
    if (!this.replicationPath(s, t)) return { ok: false, details: 'Communication channel closed' };
    if (s.frozen || t.frozen || s.hung || t.hung)
      return { ok: false, details: 'Log shipping timed out: no answer from the peer' };
    return { ok: true, details: '' };
  }

  private refreshLinks(): void {
    for (const s of this.order) {
      for (const link of s.links.values()) {
        const c = this.connection(s, link);
        link.details = c.details;
        if (c.ok === link.connected) continue;
        link.connected = c.ok;
        link.since = this.cur;
        link.carryBytes = 0;
        if (c.ok) this.onConnect(s, link);
        else if (this.isUp(s))
          this.record(s.name, 'connection-lost', `${link.secondary}: ${c.details} (ERROR)`);
      }
    }
  }

  private onConnect(s: Site, link: Link): void {
    const t = this.mustGet(link.secondary);
    const k = t.log.length;
    const lineageOk = k <= s.log.length && (k === 0 || s.log[k - 1] === t.log[k - 1]);
    const missing = s.log[k];
    const logGone = missing !== undefined && missing.time < this.cur - this.retentionMs;
    const full = !lineageOk || logGone || link.phase === 'init';
    const why = !lineageOk
      ? 'the logs diverged'
      : logGone
        ? `${s.name} no longer holds the log since the common point (retention ${this.retentionMs / 1000} s)`
        : link.phase === 'init'
          ? 'the interrupted full replica starts over'
          : '';
    if (full) {
      link.phase = 'init';
      link.initDoneBytes = 0;
      link.initTotalBytes = this.dataSize;
      link.initTarget = s.log.length;
      this.record(t.name, 'resync-full', `full data shipping from ${s.name}: ${why}`);
    } else {
      link.phase = 'catchup';
      const behind = s.log.length - k;
      this.record(
        t.name,
        link.fresh ? 'resync-delta' : 'reconnected',
        `${link.fresh ? 'delta resync' : 'reconnected'} to ${s.name}: ${behind} log entries to ship (SYNCING)`,
      );
    }
    link.fresh = false;
  }

  private newLink(
    secondary: string,
    mode: ReplicationMode,
    operationMode: OperationMode,
    fresh: boolean,
  ): Link {
    return {
      secondary,
      mode,
      operationMode,
      phase: 'catchup',
      connected: false,
      since: this.cur,
      details: 'Communication channel closed',
      syncRequired: false,
      fresh,
      initDoneBytes: 0,
      initTotalBytes: 0,
      initTarget: 0,
      carryBytes: 0,
      buffersCount: 0,
      buffersBytes: 0,
      buffersMicros: 0,
    };
  }

  private linkStatus(link: Link): ReplicationStatus {
    if (!link.connected) return 'ERROR';
    return link.phase === 'init' ? 'INITIALIZING' : link.phase === 'catchup' ? 'SYNCING' : 'ACTIVE';
  }

  private linkSnapshot(s: Site, link: Link): SimLink {
    const t = this.mustGet(link.secondary);
    const last = s.log[s.log.length - 1];
    const heldCount = this.commonPrefix(t.log, s.log);
    const shipped = heldCount > 0 ? s.log[heldCount - 1] : undefined;
    const status = this.linkStatus(link);
    const lastPos = last?.pos ?? this.basePos;
    const shippedPos = shipped?.pos ?? this.basePos;
    // Times of the source host's clock (both: their difference, the lag, knows no skew).
    const offset = this.clockOffsetMs(s.name);
    const lastTime = this.wall(last?.time ?? this.t0) + offset;
    const shippedTime = this.wall(shipped?.time ?? this.t0) + offset;
    let details = link.connected ? '' : link.details;
    if (status === 'INITIALIZING') {
      const mb = (b: number) => Math.floor(b / 1048576);
      const pct = Math.floor((100 * link.initDoneBytes) / Math.max(1, link.initTotalBytes));
      details = `Full Replica: ${pct} % (${mb(link.initDoneBytes)}/${mb(link.initTotalBytes)} MB)`;
    }
    const caughtUp = heldCount === s.log.length;
    return {
      secondarySite: t.name,
      secondarySiteId: t.siteId,
      secondaryHost: t.host,
      mode: link.mode,
      operationMode: link.operationMode,
      status,
      statusDetails: details,
      secondaryActive: link.connected,
      fullySynced: status === 'ACTIVE' && (link.mode === 'async' ? caughtUp : link.syncRequired),
      lastLogPosition: lastPos,
      lastLogPositionTime: lastTime,
      shippedLogPosition: shippedPos,
      shippedLogPositionTime: shippedTime,
      replayedLogPosition: shippedPos,
      replayedLogPositionTime: shippedTime,
      backlogSize: (lastPos - shippedPos) * BLOCK_BYTES,
      backlogTimeMicros: (lastTime - shippedTime) * 1000,
      shippedLogBuffersCount: link.buffersCount,
      shippedLogBuffersSize: link.buffersBytes,
      shippedLogBuffersDurationMicros: link.buffersMicros,
    };
  }

  private srMode(s: Site): SimSiteSnapshot['srMode'] {
    return s.role === 'primary' ? 'primary' : s.role === 'secondary' ? s.mode : 'none';
  }

  private topology(s: Site): SimTopologySite[] {
    // Plain literals (no spreads): every probe of every site builds this.
    const out: SimTopologySite[] = [];
    for (const x of this.order) {
      let mode: SimTopologySite['mode'];
      let operationMode: OperationMode;
      let source: string | undefined;
      const link = x === s ? undefined : s.links.get(x.name);
      if (x === s) {
        mode = this.srMode(s);
        operationMode = s.operationMode;
        source = s.source;
      } else if (link) {
        mode = link.mode;
        operationMode = link.operationMode;
        source = s.name;
      } else if (s.source === x.name) {
        mode = 'primary';
        operationMode = x.operationMode;
      } else {
        mode = this.srMode(x);
        operationMode = x.operationMode;
        source = x.role === 'secondary' ? x.source : undefined;
      }
      out.push(
        source
          ? { name: x.name, siteId: x.siteId, host: x.host, mode, operationMode, source }
          : { name: x.name, siteId: x.siteId, host: x.host, mode, operationMode },
      );
    }
    return out;
  }

  private landscape(s: Site): 0 | 1 | 2 | 3 | 4 {
    return this.isUp(s) ? 4 : 1;
  }

  private processes(s: Site): SimProcess[] {
    if (!s.nodeUp) return [];
    const descriptions = (this.descriptions ??= {
      hdbdaemon: 'HDB Daemon',
      hdbcompileserver: 'HDB Compileserver',
      hdbindexserver: `HDB Indexserver-${this.sid}`,
      hdbnameserver: 'HDB Nameserver',
      hdbpreprocessor: 'HDB Preprocessor',
      hdbwebdispatcher: 'HDB Web Dispatcher',
      hdbxsengine: `HDB XSEngine-${this.sid}`,
    });
    if (s.instance === 'stopped') {
      return [
        {
          name: 'hdbdaemon',
          description: descriptions.hdbdaemon,
          dispstatus: 'GRAY',
          textstatus: 'Stopped',
          starttime: '',
          elapsedtime: '',
          pid: s.pids[0] ?? 0,
        },
      ];
    }
    return PROCESS_NAMES.map((name, i) => {
      const pid = s.pids[i] ?? 0;
      let since = name === 'hdbindexserver' ? s.indexserverStartedAt : s.instanceStartedAt;
      let dispstatus: SimProcess['dispstatus'] = 'GREEN';
      let textstatus = 'Running';
      if (s.instance === 'starting' && name !== 'hdbdaemon') {
        dispstatus = 'YELLOW';
        textstatus = 'Initializing';
      } else if (s.stopAtUnhang) {
        dispstatus = 'YELLOW';
        textstatus = 'Stopping';
      } else if (name === 'hdbindexserver' && s.indexserver === 'dead') {
        dispstatus = 'RED';
        textstatus = 'Stopped';
      } else if (name === 'hdbindexserver' && s.indexserver === 'restarting') {
        dispstatus = 'YELLOW';
        textstatus = 'Initializing';
      }
      if (s.instance === 'starting') since = this.cur;
      const running = dispstatus !== 'RED';
      return {
        name,
        description: descriptions[name],
        dispstatus,
        textstatus,
        starttime: running ? this.startTimeText(this.wall(since)) : '',
        elapsedtime: running ? formatElapsed(this.cur - since) : '',
        pid,
      };
    });
  }

  /** formatStartTime, remembered: start times change rarely and every probe prints them. */
  private startTimeText(ms: number): string {
    let text = this.startTimes.get(ms);
    if (text === undefined) {
      if (this.startTimes.size > 64) this.startTimes.clear();
      text = formatStartTime(ms);
      this.startTimes.set(ms, text);
    }
    return text;
  }

  private newPids(): number[] {
    let pid = this.rng.int(2000, 60000);
    return PROCESS_NAMES.map(() => (pid += this.rng.int(1, 400)));
  }

  private commonPrefix(a: Entry[], b: Entry[]): number {
    // Logs share entries by reference up to their fork point, so equality is monotone.
    let lo = 0;
    let hi = Math.min(a.length, b.length);
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (a[mid - 1] === b[mid - 1]) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private isPrefix(a: Entry[], b: Entry[]): boolean {
    return a.length <= b.length && this.commonPrefix(a, b) === a.length;
  }

  private sourceChain(s: Site): string[] {
    const chain: string[] = [];
    let cur: Site | undefined = s;
    while (cur?.role === 'secondary' && cur.source !== undefined && !chain.includes(cur.source)) {
      chain.push(cur.source);
      cur = this.sites.get(cur.source);
    }
    return chain;
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

  private assertReachableNode(s: Site): void {
    if (!s.nodeUp) throw this.unreachable(s);
  }

  private assertAnswers(s: Site, what: string): void {
    this.assertReachableNode(s);
    if (s.frozen) throw new SimCommandError(`${what}: no answer (the site is frozen)`, 1);
    if (s.instance !== 'running') {
      throw new SimCommandError(`nameserver ${s.host}:3${this.instanceNumber}01 not responding.`, 1);
    }
  }

  private unreachable(s: Site): SimCommandError {
    return new SimCommandError(
      `FAIL: NIECONN_REFUSED (Connection refused), NiRawConnect failed in plugin_fopen() (host ${s.host})`,
      1,
    );
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

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** sapcontrol's start time format: 'YYYY MM DD HH:MM:SS' (UTC here). */
export function formatStartTime(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getUTCFullYear()} ${pad(d.getUTCMonth() + 1)} ${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  );
}

/** sapcontrol's elapsed time format: 'H:MM:SS' (hours unbounded). */
export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  return `${h}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
}
