// Why this file is long: the observe/publish/decide loop with the lease check and the watchdog it feeds; the actions are in actions.ts.
/**
 * The agent loop of one site: observe -> publish -> decide -> act, on an injected clock.
 *
 * The same code runs in real time (hanasr agent) and in the simulator's virtual time. It owns
 * no policy: every choice comes from `decide()` in src/domain; this file only gathers the
 * observation and hands the decided action to src/agent/actions.ts (one function per action, each
 * checking its epoch; the rule for which action may run when is the ActionLane there).
 */
import { setMaxListeners } from 'node:events';
import type { HanaSystemReplicationSpec } from '../api/spec.js';
import { withDeadline, withTimeout, type Clock, type DeadlineController } from '../clock.js';
import type { ClusterState, Coordination, CoordinationSession } from '../coordination/port.js';
import { estimateSkew, type SkewEstimate } from '../domain/clock-skew.js';
import { cycleMs, decide, fenceDeadlineMs, leaderSilenceWindowMs, mayBeWriting } from '../domain/decide.js';
import {
  WATCHDOG_FEED_TICK_MS,
  watchdogFeed,
  watchdogVerdict,
  watchdogWanted,
  type WatchdogVerdict,
} from '../domain/fencing.js';
import type { FenceAgent, Watchdog, WatchdogInfo } from '../fencing/port.js';
import { hasLiveProcess, probeFailed } from '../domain/health.js';
import {
  leaderMayBeInMaintenance,
  NO_MAINTENANCE_SEEN,
  watchMaintenance,
  type MaintenanceWatch,
} from '../domain/maintenance-watch.js';
import {
  peerSilenceStands,
  peerSilentMs,
  SILENT_PEER_RECHECK_AFTER_MS,
  SILENT_PEER_RECHECK_MS,
  type PeerQuiet,
} from '../domain/peer-silence.js';
import type { Action, Decision } from '../domain/decision.js';
import { buildObservation, leaderViewOf, type Observation, type PeerView } from '../domain/observation.js';
import type { RegionRecord, RegionView } from '../domain/region.js';
import type { RegionLink } from './region-link.js';
import { primaryStartSeen, sfailBeforeStart, syncRecordsFrom } from '../domain/sync.js';
import { notWritableAfterProbe, notWritableAfterStop } from '../domain/sync-trust.js';
import { ActionLane, carryOut, errorMessage, type ActionHost } from './actions.js';
import { LeaderWatcher } from './leader-watch.js';
import {
  unknownHealth,
  type ActionOutcome,
  type HanaHealth,
  type LeaderView,
  type FenceRecord,
  type SiteReport,
  type WatchdogReport,
} from '../domain/types.js';
import type { HanaPort } from '../hana/port.js';
import type { AgentMetricsSink } from './metrics.js';

/** Checks another site directly (not through the store): is its HANA up, and as what? */
export interface PeerProbe {
  check(site: string, signal: AbortSignal): Promise<PeerView>;
}

/** A peer probe that never sees anything: the safe default where none is configured. */
export const blindPeerProbe: PeerProbe = {
  check: async () => ({ reachable: false, acceptsWrites: false }),
};

/** The store writes the rules rely on. */
export type StoreWrite = 'report' | 'sync' | 'last-primary';

export interface AgentEvent {
  readonly t: number;
  readonly cluster: string;
  readonly site: string;
  readonly epoch: number;
  /** decision | action | action-failed | refused | store-write-failed | store-write-recovered */
  readonly event: string;
  readonly action: Action['kind'];
  readonly reason: string;
  readonly message: string;
}

export interface AgentOptions {
  readonly cluster: string;
  readonly site: string;
  /** The spec, read every cycle (the operator may change it, e.g. maintenance). */
  readonly spec: () => HanaSystemReplicationSpec;
  /**
   * The published maintenance generation of the spec `spec()` returns now (SpecSource), or
   * undefined (a spec file, an operator that does not count): reported with `maintenance`.
   */
  readonly specGeneration?: () => number | undefined;
  readonly hana: HanaPort;
  readonly coordination: Coordination;
  readonly clock: Clock;
  readonly peers?: PeerProbe;
  /** Called for every decision that changes something, and for every action result. */
  readonly onEvent?: (event: AgentEvent) => void;
  /** Deadline of one coordination call (ms). */
  readonly storeTimeoutMs?: number;
  /** Deadline of takeover/register/start (ms); HANA_CALL_TIMEOUT in SAPHanaSR is 120 s. */
  readonly actionTimeoutMs?: number;
  /**
   * Deadline of a hard stop of the local site (ms, default 30 s): when it does not complete (a
   * hung instance), the processes are killed (`HDB kill-9`) with the same deadline.
   */
  readonly stopTimeoutMs?: number;
  /** Metrics hooks (probe, lease renewal, report, events): see src/agent/metrics.ts. */
  readonly metrics?: AgentMetricsSink;
  /**
   * This node's watchdog for the spec now (src/fencing/port.ts; undefined: none). Absent: the
   * agent runs without one (as with spec.fencing.watchdog.mode disabled, but not reported).
   */
  readonly watchdog?: () => Watchdog | undefined;
  /**
   * The fence agent this site runs to power another site's node off (spec.fencing.agent; a call
   * answers NOT_CONFIGURED when the spec names none). Absent: this agent fences no other node.
   */
  readonly fenceAgent?: FenceAgent;
  /**
   * Reads the other region's store and keeps the region record of the own one (docs/dr.md).
   * Absent: the agent reads no region records, and in a landscape with two regions never leads.
   */
  readonly region?: RegionLink;
}

/** How often the silent leader's report is read between cycles while its node is silent (ms). */
const LEADER_REPORT_READ_MS = 1000;

/** How often the agent checks whether to feed its armed watchdog (ms): a rule of src/domain. */
export { WATCHDOG_FEED_TICK_MS };

export class Agent {
  readonly site: string;
  private readonly session: CoordinationSession;
  private timerCancel: (() => void) | null = null;
  private leaseCheckCancel: (() => void) | null = null;
  private running = false;
  private busy: Promise<Decision | null> | null = null;
  private failedProbes = 0;
  private localRestarts = 0;
  private fenced = false;
  private lastWritableAt: number | null = null;
  /** Since when the site is known to take no writes (sync-trust.ts notWritableAfterProbe/Stop). */
  private notWritableSince: number | null = null;
  /**
   * A hard stop of this site this process sent (the port's onSent) since it last read its site or
   * started it: published at once as the report's `stopSent` (a successor waits for it when this
   * agent cannot read its HANA: decide.ts former_primary_stop_not_sent). A new process: null.
   */
  private stopSent: { epoch: number; at: number } | null = null;
  /** See LocalView.leaderMayBeInMaintenance (an agent that starts knows only the spec it reads now). */
  private leaderMayBeInMaintenance = false;
  /** What that flag is made of (src/domain/maintenance-watch.ts). */
  private maintenanceWatch: MaintenanceWatch = NO_MAINTENANCE_SEEN;
  private lastKnownRole: HanaHealth['srRole'] | undefined;
  /** The newest epoch this agent read the leader key as its own at (LocalView.ledEpoch). */
  private ledEpoch: number | undefined;
  private lastHealth: HanaHealth = unknownHealth('not probed yet');
  /**
   * A start of the own primary was seen (primaryStartSeen) and its secondaries are not recorded
   * for it yet: while it holds the key, every cycle writes them (SFAIL, or from the primary's own
   * status once it takes writes) until a write lands; without the store a leader stops that
   * primary (decide.ts start_unrecorded). Cleared by a readable probe with no primary process.
   */
  private startSfailOwed = false;
  /** The last probe that answered and was understood (primaryStartSeen compares with it). */
  private lastReadable: HanaHealth | undefined;
  private lastPeers: Record<string, PeerView> = {};
  private lastDecisionKey = '';
  private believedEpoch = 0;
  private leaderMine = false;
  private last: Decision | null = null;
  private lastActionOutcome: ActionOutcome | null = null;
  /** The last clock skew measured to each peer (kept while the peer is silent: its age tells). */
  private skew: Record<string, SkewEstimate> = {};
  /** Store writes failing now, by kind: logged once per episode. */
  private readonly failingWrites = new Set<StoreWrite>();
  /** The region view of the last cycle (docs/dr.md); undefined: no region link. */
  private lastRegion: RegionView | undefined;
  /** The watchdog: its last probe and verdict, the device armed (null: none), the feeder. */
  private wdInfo: WatchdogInfo | null = null;
  private wdVerdict: WatchdogVerdict | null = null;
  private armedOn: Watchdog | null = null;
  /** Direct checks of peers in flight (boundedCheck), and what aborts them when the agent stops. */
  private readonly peerChecks = new Map<string, Promise<PeerView>>();
  private peerChecksAbort: AbortController;
  /** The feeder found the watchdog disarmed under it: arm it again on the next tick. */
  private rearmWanted = false;
  private feederCancel: (() => void) | null = null;
  private feeding: Promise<void> | null = null;
  private lastFeedReason = '';
  /** A stop of the own site: in progress, or failed (stop and kill), until one is confirmed. */
  private stopping: 'none' | 'in-progress' | 'failed' = 'none';
  /** When (monotonic) the last decision kept the primary up in failsafe; null: not in failsafe. */
  private failsafeAt: number | null = null;
  /** About to race for the leader key: feeds obey the lease bound from the renewal before it. */
  private contending = false;
  /** How long another leader has looked lost: its report unchanged, its node not answering. */
  private silence: {
    site: string;
    seen: number | null;
    cycles: number;
    /** Monotonic: the end of the store read that saw the report change, or its node answer, last. */
    since: number;
    /** How long the silence has lasted at least, as of this cycle's store read (ms). */
    silentMs: number;
  } | null = null;
  /**
   * Peers whose checks go unanswered since they last answered (src/domain/peer-silence.ts), when
   * each last answered (monotonic), and the rechecks that keep a silent peer's evidence fresh.
   */
  private readonly quiet = new Map<string, PeerQuiet>();
  private readonly answeredAt = new Map<string, number>();
  private readonly rechecks = new Map<string, { cancel: () => void; inFlight: number; readAt: number }>();
  /** The cycle due when a silent leader's silence window will have passed (wakeWhenSilent). */
  private silenceWakeCancel: (() => void) | null = null;
  /**
   * The leader's newest report this agent has read, and the end (monotonic) of the first read
   * that saw it: the leader published it before then. Any read keeps it (noteReportSeen).
   */
  private reportSeen: { site: string; seen: number; at: number } | null = null;
  /** The last fence of another node this agent carried out (status page). */
  private lastFence: FenceRecord | null = null;
  /** When (monotonic) the local probe started failing while this site does not lead; null: it answers. */
  private hungSince: number | null = null;
  /** The watch on the leader key (src/agent/leader-watch.ts): a change wakes the loop at once. */
  readonly leaderWatch: LeaderWatcher;
  /** A wake arrived while a cycle ran: run another as soon as it ends. */
  private wakePending = false;
  /** The running cycle was woken by the watch (not the interval), and when a failed probe last counted. */
  private wokenCycle = false;
  /**
   * When (monotonic) the probe that the running cycle reused ended (null: it probed, or none
   * runs): the next cycle is due an interval after that probe, not after this cycle.
   */
  private reusedProbeEndedAt: number | null = null;
  /**
   * Aborts the running cycle's observation (the local probe and the peer checks) until it is
   * complete (null: no cycle, or past it): a wake supersedes it (see wake() and wakeFenced()).
   * `probing`: its local probe is in flight.
   */
  private supersede: DeadlineController | null = null;
  private probing = false;
  private lastCountedFailureAt: number | null = null;
  /**
   * The last local probe that completed (not superseded): its health, when it ended (monotonic)
   * and the wall-clock time the cycle took as its observation time. A woken cycle may decide on
   * it instead of probing again (reusableProbe).
   */
  private lastProbe: { health: HanaHealth; endedAt: number; at: number } | null = null;
  /** The last time a readable probe found the local HANA down (SiteReport.downSeenAt). */
  private downSeenAt: number | null = null;
  /** Which action may run when (src/agent/actions.ts): the cycle's one at a time, a self-fence at once. */
  readonly actions = new ActionLane();
  /** What the actions may use and change of this agent. */
  private readonly host: ActionHost;

  constructor(private readonly options: AgentOptions) {
    this.site = options.site;
    this.peerChecksAbort = this.stopSignal();
    const spec = options.spec();
    this.session = options.coordination.session(options.cluster, options.site, spec.lease.ttlSeconds);
    this.host = this.actionHost();
    this.leaderWatch = new LeaderWatcher({
      session: this.session,
      clock: options.clock,
      timeoutMs: options.storeTimeoutMs ?? 2000,
      wake: () => this.wake(),
      report: (event, reason, message) => this.emitRaw(event, 'none', reason, message),
    });
  }

  get lastDecision(): Decision | null {
    return this.last;
  }

  /** The outcome of the last action taken (done, failed or refused), as the report carries it. */
  get lastAction(): ActionOutcome | null {
    return this.lastActionOutcome;
  }

  get isFenced(): boolean {
    return this.fenced;
  }

  /**
   * What aborts the agent's calls in flight when it stops: one listener per call (the silence
   * rechecks of a peer may have a probe timeout's worth in flight), so no listener limit on a
   * real signal; the virtual clock's light signals have none (and cost less in the simulator).
   */
  private stopSignal(): AbortController {
    const light = this.options.clock.abortController?.();
    if (light !== undefined) return light;
    const c = new AbortController();
    setMaxListeners(0, c.signal);
    return c;
  }

  /** Opens the session (retrying while the store is unreachable) and starts the loop. */
  async start(): Promise<void> {
    this.running = true;
    if (this.peerChecksAbort.signal.aborted) this.peerChecksAbort = this.stopSignal();
    await this.session.start().catch(() => {});
    this.leaderWatch.ensure();
    this.schedule(0);
    this.scheduleFeeder();
  }

  /** Stops the loop and revokes the lease (the leader key goes with it). */
  /**
   * Stops the loop, lets the in-flight cycle finish (a takeover is not cut in half), then revokes
   * the lease. `graceMs` bounds the wait for the in-flight cycle (default: as long as it takes,
   * itself bounded by the action timeout).
   */
  async stop(options: { readonly graceMs?: number } = {}): Promise<void> {
    this.running = false;
    this.leaderWatch.close();
    this.timerCancel?.();
    this.leaseCheckCancel?.();
    this.feederCancel?.();
    this.stopRechecks();
    this.silenceWakeCancel?.();
    this.host.nodeFence.abort?.abort();
    const inFlight = this.busy?.catch(() => null);
    if (inFlight && options.graceMs !== undefined) {
      await Promise.race([inFlight, this.options.clock.sleep(options.graceMs)]);
    } else {
      await inFlight;
    }
    this.peerChecksAbort.abort(new Error('agent stopping'));
    // A graceful stop closes the watchdog with the magic character (Patroni does the same on
    // shutdown): the agent hands the key back below, and a primary it leaves running is kept
    // from a takeover while it answers (former_primary_still_serving). Only a killed agent leaves
    // the watchdog counting.
    await this.feeding?.catch(() => {});
    await this.disarmWatchdog('agent stopping');
    await this.session.close().catch(() => {});
  }

  /** Stops the loop without releasing anything, as a killed process would. */
  kill(): void {
    this.running = false;
    this.peerChecksAbort.abort(new Error('agent killed'));
    this.leaderWatch.close();
    this.timerCancel?.();
    this.leaseCheckCancel?.();
    this.feederCancel?.();
    this.stopRechecks();
    this.silenceWakeCancel?.();
    this.host.nodeFence.abort?.abort();
    this.session.abandon();
  }

  /**
   * Fixed rate: the next cycle starts an interval after this one STARTED (at once when it took
   * longer, never overlapping it), so a slow probe does not stretch failureThreshold x interval.
   * Cycles still start at least an interval apart: the blip tolerance is unchanged.
   */
  private schedule(ms: number, woken = false): void {
    if (!this.running) return;
    this.timerCancel?.();
    this.timerCancel = this.options.clock.setTimer(ms, () => {
      this.wokenCycle = woken;
      const startedAt = this.options.clock.monotonic();
      void this.runCycle().finally(() => {
        this.wokenCycle = false;
        const again = this.wakePending;
        this.wakePending = false;
        // A cycle that decided on a reused probe did not look at the site: the next one is due an
        // interval after that probe, as it was before the wake. Counted from this cycle instead,
        // a site taken over by hand just before the wake went unseen for up to two intervals, and
        // wrote next to the new primary past the cycle its agent has to fence it (sim:fuzz
        // 1070051114: interval 78.5 s, a probe 29 s old reused, the next one 107 s after it).
        const from = Math.min(startedAt, this.reusedProbeEndedAt ?? startedAt);
        this.reusedProbeEndedAt = null;
        const took = this.options.clock.monotonic() - from;
        if (again) this.schedule(0, true);
        else this.schedule(Math.max(0, this.options.spec().probes.intervalSeconds * 1000 - took));
      });
    });
  }

  /**
   * The leader key changed (released, expired, taken): run a cycle now rather than at the next
   * interval. Only a trigger: the cycle re-reads everything and decide() decides.
   */
  private wake(): void {
    if (!this.running) return;
    const when = !this.busy
      ? 'a cycle starts now'
      : this.supersede !== null && this.probing && !this.wokenCycle
        ? 'the running cycle is superseded'
        : 'another cycle runs as soon as the running one ends';
    this.emitRaw('leader-key-changed', 'none', 'leader_key_changed', `the leader key changed: ${when}`);
    if (!this.busy) return this.schedule(0, true);
    this.wakePending = true;
    // The running cycle's probe started before the change: rather than wait for it and the rest of
    // that cycle, abort it (and the peer checks) and start afresh as soon as they have settled. Its
    // answers are thrown away, so it counts neither as a failed nor as a healthy probe. A woken cycle
    // is not superseded again (a flapping watch cannot starve the loop: every other cycle completes).
    if (this.supersede !== null && this.probing && !this.wokenCycle)
      this.supersede.abort(new Error('superseded by a wake'));
  }

  /**
   * This agent's fence confirmed a lost leader's node off and recorded it: decide on it now. A
   * cycle still observing is superseded even while it waits for its peer checks (the fenced node's
   * silent port would hold it for the whole probe timeout); the next cycle does not check that node.
   */
  private wakeFenced(): void {
    if (!this.running) return;
    if (!this.busy) return this.schedule(0, true);
    this.wakePending = true;
    this.supersede?.abort(new Error('superseded by a confirmed fence'));
  }

  private armLeaseCheck(): void {
    this.leaseCheckCancel?.();
    this.leaseCheckCancel = null;
    if (!this.running || !this.leaderMine) return;
    const renewed = this.session.lastRenewedAt();
    if (renewed === null) return;
    const spec = this.options.spec();
    const at = renewed + fenceDeadlineMs(spec) - this.options.clock.monotonic();
    this.leaseCheckCancel = this.options.clock.setTimer(Math.max(0, at) + 1, () => void this.leaseCheck());
  }

  /**
   * Runs when the lease may be going stale while a cycle is slow (a hung probe must not delay
   * self-fencing): decides on the last known state with the store treated as unknown.
   */
  private async leaseCheck(): Promise<void> {
    if (!this.running || !this.leaderMine) return;
    const { clock } = this.options;
    const spec = this.options.spec();
    const renewed = this.session.lastRenewedAt();
    if (renewed !== null && clock.monotonic() - renewed < fenceDeadlineMs(spec)) {
      this.armLeaseCheck();
      return;
    }
    // The failsafe ("every peer is a reachable secondary") must rest on what the peers look like
    // now: the last cycle's view may predate the cut that stopped the renewals (a cycle stuck in
    // a hung action would otherwise keep a cut-off primary running past its lease).
    this.lastPeers = await this.settlePeers(spec, await this.checkPeers(spec));
    if (!this.running || !this.leaderMine) return;
    const obs = this.observation({ state: 'unknown', error: 'lease renewal overdue', wasMine: true }, null);
    const d = decide(obs, spec, clock.now());
    this.noteFailsafe(d);
    if (d.action.kind === 'fence') {
      this.emit('decision', d);
      await this.actions.overtaking(d.action.kind, () => carryOut(this.host, d));
      this.leaderMine = false;
    }
  }

  // ------------------------------------------------------------------ the watchdog

  /** Probes this node's watchdog (never opens it) and judges it under the spec. */
  private async probeWatchdog(spec: HanaSystemReplicationSpec): Promise<void> {
    const wd = this.options.watchdog?.();
    if (this.options.watchdog === undefined) return;
    let info: WatchdogInfo | null = null;
    if (wd !== undefined && spec.fencing.watchdog.mode !== 'disabled') {
      info = await withTimeout(
        this.options.clock,
        spec.probes.timeoutSeconds * 1000,
        'watchdog probe',
        (sig) => wd.probe(sig),
      ).catch(() => null);
    }
    this.wdInfo = info;
    const verdict = watchdogVerdict(spec, info);
    if (this.wdVerdict?.reason !== verdict.reason && verdict.reason !== 'watchdog_disabled') {
      this.emitRaw(verdict.use ? 'watchdog' : 'watchdog-unusable', 'none', verdict.reason, verdict.message);
    }
    this.wdVerdict = verdict;
  }

  /** The watchdog in the report (absent without a watchdog port). */
  private watchdogReport(spec: HanaSystemReplicationSpec): WatchdogReport | undefined {
    if (this.options.watchdog === undefined || this.wdVerdict === null) return undefined;
    const v = this.wdVerdict;
    const state = this.armedOn?.state() ?? 'disarmed';
    return {
      mode: spec.fencing.watchdog.mode,
      state,
      usable: v.use,
      mayLead: v.mayLead,
      ...(this.wdInfo?.device !== undefined ? { device: this.wdInfo.device } : {}),
      ...(this.wdInfo?.timeoutSeconds !== undefined ? { timeoutSeconds: this.wdInfo.timeoutSeconds } : {}),
      reason: v.reason,
      message: v.message,
    };
  }

  /** Arms or disarms the watchdog as the rules want it now (src/domain/fencing.ts). */
  private async tendWatchdog(spec: HanaSystemReplicationSpec): Promise<void> {
    if (this.options.watchdog === undefined || this.wdVerdict === null) return;
    const want = watchdogWanted(spec, this.wdVerdict, {
      leading: this.leaderMine,
      mayBeWriting: this.localMayBeWriting(),
    });
    // A watchdog under a site that may be writing is armed even when it may not be fed now (a
    // device back while the leader cannot confirm its lease): unfed, it resets the node a timeout
    // later unless feeding is allowed again, which is what a device armed all along does. Left
    // closed, nothing resets the node if the agent dies before its own stop (sim:fuzz 1060039327).
    if (want && this.armedOn === null) await this.armNow(spec, this.localMayBeWriting());
    else if (!want && this.armedOn !== null) {
      if (this.localMayBeWriting() && this.wdVerdict.use) return; // never disarm under a writer
      await this.disarmWatchdog(
        this.wdVerdict.use ? 'not leading, HANA not writable' : this.wdVerdict.message,
      );
    }
  }

  /**
   * Counts the cycles in which another leader's report did not change and its node did not
   * answer, and how long that has lasted at least on this agent's monotonic clock: from the end of
   * the store read that last saw its report change (or of the cycle its node last answered in) to
   * the start of this cycle's read. Linearizable reads: the leader published nothing in between.
   * The leader's own times (observedAt) are only compared with each other, never with ours.
   */
  private noteLeaderSilence(
    state: ClusterState | null,
    read: { readonly startedAt: number; readonly endedAt: number },
  ): void {
    const leader = state?.leader;
    if (!state || !leader || leader.site === this.site) {
      this.silence = null;
      return;
    }
    const seen = state.reports[leader.site]?.observedAt ?? null;
    this.noteReportSeen(leader.site, seen, read.endedAt);
    const answers = this.lastPeers[leader.site]?.reachable === true;
    const prev = this.silence?.site === leader.site ? this.silence : null;
    const unchanged = prev !== null && prev.seen === seen;
    const silent = !answers && (unchanged || seen === null);
    // A report new to this cycle's read counts from the first read that saw it, when an earlier
    // one did (the read at the start of this cycle, readLeaderEarly): its node did not answer, and
    // a check of a silent node holds this read back for the whole check.
    const firstSeen = answers ? read.endedAt : this.firstSeen(leader.site, seen, read.endedAt);
    const since = silent && prev !== null ? prev.since : firstSeen;
    this.silence = {
      site: leader.site,
      seen,
      cycles: silent ? (prev?.cycles ?? 0) + 1 : 0,
      since,
      silentMs: Math.max(0, read.startedAt - since),
    };
    this.wakeWhenSilent();
  }

  /**
   * With a fence agent, a leader that stays silent may be fenced once the silence window has
   * passed (decideFenceLostLeader): a cycle then starts at that moment rather than at the next
   * interval (it measures the silence again from its own read; decide() decides as on any cycle).
   */
  private wakeWhenSilent(): void {
    this.silenceWakeCancel?.();
    this.silenceWakeCancel = null;
    const spec = this.options.spec();
    const s = this.silence;
    if (!this.running || spec.fencing.agent === undefined || s === null || s.cycles === 0) return;
    const { clock } = this.options;
    const at = s.since + leaderSilenceWindowMs(spec);
    if (at <= clock.monotonic()) return;
    // At least a whole millisecond ahead: a wake that moves no time would, on a virtual clock,
    // fire at the same instant for ever (sim:fuzz 1326091883).
    this.silenceWakeCancel = clock.setTimer(Math.max(1, Math.ceil(at - clock.monotonic())), () => {
      this.silenceWakeCancel = null;
      if (!this.running) return;
      if (!this.busy) this.schedule(0, true);
      else this.wakePending = true;
    });
  }

  private noteFailsafe(d: Decision): void {
    this.failsafeAt = d.reason === 'failsafe_peers_healthy' ? this.options.clock.monotonic() : null;
  }

  /** The local HANA, as last probed, may be taking writes. */
  private localMayBeWriting(): boolean {
    return mayBeWriting(this.lastHealth);
  }

  /**
   * Opens the watchdog (a first feed): while leading, only within the lease bound, unless
   * `unfed` (the site may be writing): then it is armed anyway as a backstop, and the feeder feeds
   * it only once the rules allow.
   */
  private async armNow(spec: HanaSystemReplicationSpec, unfed = false): Promise<boolean> {
    await this.feeding?.catch(() => {});
    // A re-arm from the feeder may have armed it meanwhile.
    if (this.armedOn !== null) return true;
    return this.armOnce(spec, unfed);
  }

  private async armOnce(spec: HanaSystemReplicationSpec, unfed = false): Promise<boolean> {
    const wd = this.options.watchdog?.();
    if (wd === undefined || this.wdVerdict?.use !== true) return false;
    const duty = this.feedVerdict(spec);
    if (!duty.feed && !unfed) return false;
    try {
      await withTimeout(this.options.clock, 1000, 'watchdog arm', (sig) => wd.arm(sig));
      this.armedOn = wd;
      const timeout = this.wdInfo?.timeoutSeconds ?? '?';
      this.emitRaw(
        'watchdog-armed',
        'none',
        'watchdog_armed',
        `watchdog ${wd.device} armed (timeout ${timeout} s)${this.leaderMine ? ' while leading' : ''}${duty.feed ? '' : `, not fed (${duty.message}): it resets the node in ${timeout} s unless feeding is allowed again`}`,
      );
      return true;
    } catch (err) {
      // A failed open may still have armed it (a late open): treat it as armed and unfed.
      if (wd.state() !== 'disarmed') this.armedOn = wd;
      this.emitRaw(
        'watchdog-failed',
        'none',
        'watchdog_arm_failed',
        `arming watchdog ${wd.device} failed: ${errorMessage(err)}`,
      );
      return false;
    }
  }

  /** Arms again a watchdog that was found disarmed under the agent, if the rules still want it. */
  private async rearm(spec: HanaSystemReplicationSpec): Promise<void> {
    if (this.armedOn !== null || this.wdVerdict === null) return;
    const want = watchdogWanted(spec, this.wdVerdict, {
      leading: this.leaderMine,
      mayBeWriting: this.localMayBeWriting(),
    });
    if (want) await this.armOnce(spec, this.localMayBeWriting());
  }

  /** Magic close, once nothing on this node may write (or the agent stops gracefully). */
  private async disarmWatchdog(why: string): Promise<void> {
    const wd = this.armedOn;
    if (wd === null) return;
    try {
      await withTimeout(this.options.clock, 1000, 'watchdog disarm', (sig) => wd.disarm(sig));
      this.armedOn = null;
      this.emitRaw(
        'watchdog-disarmed',
        'none',
        'watchdog_disarmed',
        `watchdog ${wd.device} disarmed (magic close): ${why}`,
      );
    } catch (err) {
      this.emitRaw(
        'watchdog-failed',
        'none',
        'watchdog_disarm_failed',
        `disarming watchdog ${wd.device} failed (${errorMessage(err)}): it may still fire`,
      );
    }
  }

  private feedVerdict(spec: HanaSystemReplicationSpec) {
    const { clock } = this.options;
    return watchdogFeed(spec, {
      leading: this.leaderMine || this.contending,
      mayBeWriting: this.localMayBeWriting(),
      lastRenewedAt: this.session.lastRenewedAt(),
      now: clock.monotonic(),
      timeoutSeconds: this.wdInfo?.timeoutSeconds ?? 0,
      stopping: this.stopping,
      failsafe:
        this.failsafeAt !== null && clock.monotonic() - this.failsafeAt <= cycleMs(this.options.spec()),
      hungForMs: this.hungSince === null ? null : clock.monotonic() - this.hungSince,
    });
  }

  /**
   * Feeds the armed watchdog from the renewal path: every tick, when the rules allow it (a
   * confirmed renewal recent enough while leading). Runs on its own timer, so a cycle held up by
   * a long action (a takeover, a stop) does not starve it; a dead or frozen agent feeds nothing.
   */
  private scheduleFeeder(): void {
    if (!this.running || this.options.watchdog === undefined) return;
    this.feederCancel = this.options.clock.setTimer(WATCHDOG_FEED_TICK_MS, () => {
      this.feedTick();
      this.scheduleFeeder();
    });
  }

  private feedTick(): void {
    const wd = this.armedOn;
    if (!this.running || this.feeding !== null) return;
    const spec = this.options.spec();
    if (wd === null) {
      if (this.rearmWanted) {
        this.rearmWanted = false;
        this.feeding = this.rearm(spec).finally(() => {
          this.feeding = null;
        });
      }
      return;
    }
    const v = this.feedVerdict(spec);
    // Between two renewals the lease bound closes the window for a while (normal): only the
    // self-fencing reasons are told.
    if (v.reason !== this.lastFeedReason) {
      this.lastFeedReason = v.reason;
      if (v.reason === 'watchdog_self_fencing' || v.reason === 'watchdog_hung_site_reset')
        this.emitRaw('watchdog-unfed', 'none', v.reason, v.message);
    }
    if (!v.feed) return;
    this.feeding = withTimeout(this.options.clock, 1000, 'watchdog feed', (sig) => wd.feed(sig))
      .catch((err: unknown) => {
        // The device says it is not armed (a driver reloaded, a device that came back): nothing
        // counts down on this node, so it is armed again at once, not left "armed" in name only
        // (sim:fuzz 637260222: a leader fed a disarmed device for 26 s, then its agent died and
        // its node never reset).
        const lost = wd.state() === 'disarmed' && this.armedOn === wd;
        if (lost) {
          this.armedOn = null;
          this.rearmWanted = true;
        }
        const reason = lost ? 'watchdog_lost' : 'watchdog_feed_failed';
        if (this.lastFeedReason !== reason) {
          this.lastFeedReason = reason;
          this.emitRaw(
            'watchdog-failed',
            'none',
            reason,
            `feeding watchdog ${wd.device} failed: ${errorMessage(err)}${lost ? '; it is not armed: arming it again' : ''}`,
          );
        }
      })
      .finally(() => {
        this.feeding = null;
      });
  }

  /**
   * Checks every other site directly (each within the probe timeout; no answer = unreachable). A
   * peer whose silence stands (src/domain/peer-silence.ts: unanswered for a whole probe timeout,
   * the latest check ended just now) counts as unreachable without waiting for one more check of
   * it: `stoodIn` names them, and settlePeers() confirms the verdict once the cycle uses it.
   */
  private async checkPeers(
    spec: HanaSystemReplicationSpec,
    superseded?: AbortSignal,
  ): Promise<{ peers: Record<string, PeerView>; stoodIn: string[] }> {
    const timeoutMs = spec.probes.timeoutSeconds * 1000;
    const peers: Record<string, PeerView> = {};
    const stoodIn: string[] = [];
    await Promise.all(
      spec.sites
        .filter((s) => s.name !== this.site)
        .map(async (s) => {
          if (this.confirmedOff(s.name, spec)) {
            // Its power is off (our fence, this term): a check would only wait out its silent port.
            peers[s.name] = { reachable: false, acceptsWrites: false };
            return;
          }
          // While this agent's fence of that node runs, the node is checked and waited for as
          // before: the fence's confirmation supersedes the cycle (wakeFenced), and a takeover by
          // the lease rule does not overtake the fence on silence alone.
          if (!this.fencing(s.name) && this.silenceStands(s.name, timeoutMs)) {
            peers[s.name] = { reachable: false, acceptsWrites: false };
            stoodIn.push(s.name);
            return;
          }
          peers[s.name] = await this.boundedCheck(spec, s.name, superseded);
        }),
    );
    return { peers, stoodIn };
  }

  /**
   * The peers as the cycle uses them: a peer counted silent without a check of its own still has
   * to be silent now (an answer since, or evidence gone stale, and it is checked and waited for).
   */
  private async settlePeers(
    spec: HanaSystemReplicationSpec,
    checked: { peers: Record<string, PeerView>; stoodIn: string[] },
    superseded?: AbortSignal,
  ): Promise<Record<string, PeerView>> {
    const timeoutMs = spec.probes.timeoutSeconds * 1000;
    const peers = { ...checked.peers };
    await Promise.all(
      checked.stoodIn
        .filter((name) => this.fencing(name) || !this.silenceStands(name, timeoutMs))
        .map(async (name) => {
          peers[name] = await this.boundedCheck(spec, name, superseded);
        }),
    );
    return peers;
  }

  private fencing(name: string): boolean {
    return this.host.nodeFence.running !== null && this.host.nodeFence.site === name;
  }

  private silenceStands(name: string, timeoutMs: number): boolean {
    if (this.options.peers === undefined) return false;
    return peerSilenceStands(this.quiet.get(name), this.options.clock.monotonic(), timeoutMs).stands;
  }

  /**
   * A direct check of a peer as one cycle waits for it: at most the probe interval (or the
   * timeout, when that is shorter). A check still unanswered then goes on in the background (the
   * next cycle waits on the same check rather than starting another) and counts, this cycle, as
   * no answer that is still pending: unreachable, and no takeover from that peer rests on it
   * (decide.ts, peer_check_pending). A long probe timeout thus never holds the loop, and with it
   * the agent's own site, for longer than an interval (sim:fuzz 882000756: a 502-s timeout on a
   * frozen peer held a cycle while a former primary started by hand wrote next to the new one).
   */
  private async boundedCheck(
    spec: HanaSystemReplicationSpec,
    name: string,
    superseded?: AbortSignal,
  ): Promise<PeerView> {
    const timeoutMs = spec.probes.timeoutSeconds * 1000;
    let check = this.peerChecks.get(name);
    if (check === undefined) {
      const stop = this.untilStopped();
      check = this.checkPeer(name, timeoutMs, this.either(stop.signal, superseded)).finally(() => {
        stop.done();
        if (this.peerChecks.get(name) === check) this.peerChecks.delete(name);
      });
      this.peerChecks.set(name, check);
    }
    const budgetMs = Math.min(timeoutMs, spec.probes.intervalSeconds * 1000);
    const { clock } = this.options;
    let cancel: (() => void) | null = null;
    const pending = new Promise<PeerView>((resolve) => {
      cancel = clock.setTimer(budgetMs, () =>
        resolve({ reachable: false, acceptsWrites: false, pending: true }),
      );
    });
    try {
      return await Promise.race([check, pending]);
    } finally {
      (cancel as (() => void) | null)?.();
    }
  }

  /**
   * A signal aborted when the agent stops or is killed, for one call in flight; `done` unhooks it
   * from the agent's (which lives on) once the call has settled.
   */
  private untilStopped(): { signal: AbortSignal; done: () => void } {
    const own = this.options.clock.abortController?.() ?? new AbortController();
    const stopping = this.peerChecksAbort.signal;
    const onStop = () => own.abort(stopping.reason);
    if (stopping.aborted) onStop();
    else stopping.addEventListener('abort', onStop, { once: true });
    return { signal: own.signal, done: () => stopping.removeEventListener('abort', onStop) };
  }

  /** One direct check of a peer, noted for its silence (an aborted check tells nothing). */
  private async checkPeer(name: string, timeoutMs: number, superseded?: AbortSignal): Promise<PeerView> {
    const { clock } = this.options;
    const probe = this.options.peers ?? blindPeerProbe;
    const startedAt = clock.monotonic();
    // A check not answered within SILENT_PEER_RECHECK_AFTER_MS starts the rechecks: their evidence
    // is then fresh from this one's deadline on, not a whole timeout later.
    const slow =
      this.options.peers === undefined
        ? null
        : clock.setTimer(SILENT_PEER_RECHECK_AFTER_MS, () => this.recheck(name, startedAt));
    let view: PeerView;
    try {
      const sentAt = clock.now();
      view = await withTimeout(clock, timeoutMs, `peer check ${name}`, (signal) =>
        probe.check(name, this.either(signal, superseded)),
      );
      if (view.clock !== undefined) {
        const estimate = estimateSkew(sentAt, clock.now(), view.clock);
        this.skew = { ...this.skew, [name]: estimate };
        this.options.metrics?.clockSkew?.(name, estimate);
      }
    } catch {
      view = { reachable: false, acceptsWrites: false };
    } finally {
      slow?.();
    }
    if (view.reachable || superseded?.aborted !== true)
      this.notePeerCheck(name, startedAt, clock.monotonic(), view.reachable);
    return view;
  }

  /**
   * Keeps each peer's silence: an answer ends it; an unanswered check extends it (from the peer's
   * last answer at the earliest) and keeps rechecking the peer while it stays silent.
   */
  private notePeerCheck(name: string, startedAt: number, endedAt: number, answered: boolean): void {
    if (this.options.peers === undefined) return;
    if (answered) {
      this.answeredAt.set(name, Math.max(this.answeredAt.get(name) ?? endedAt, endedAt));
      this.quiet.delete(name);
      return;
    }
    const prev = this.quiet.get(name);
    const lastAnswer = this.answeredAt.get(name);
    const since = prev?.since ?? Math.max(startedAt, lastAnswer ?? startedAt);
    this.quiet.set(name, { since, lastEnd: Math.max(prev?.lastEnd ?? endedAt, endedAt) });
    this.recheck(name, startedAt);
  }

  /**
   * While a peer stays silent, another check of it starts every SILENT_PEER_RECHECK_MS (they
   * overlap, at most a probe timeout's worth in flight), so its silence is as fresh as one check.
   * They stop at its first answer after `from` (the start of the check that went unanswered).
   */
  private recheck(name: string, from: number): void {
    if (!this.running || this.rechecks.has(name)) return;
    const answered = this.answeredAt.get(name);
    if (answered !== undefined && answered >= from) return;
    const { clock } = this.options;
    const state = { cancel: () => {}, inFlight: 0, readAt: -Infinity };
    this.rechecks.set(name, state);
    const tick = () => {
      const spec = this.options.spec();
      const last = this.answeredAt.get(name);
      if (!this.running || (last !== undefined && last >= from) || !spec.sites.some((s) => s.name === name)) {
        this.rechecks.delete(name);
        return;
      }
      const timeoutMs = spec.probes.timeoutSeconds * 1000;
      if (!this.confirmedOff(name, spec) && state.inFlight * SILENT_PEER_RECHECK_MS <= timeoutMs) {
        state.inFlight++;
        const stop = this.untilStopped();
        void this.checkPeer(name, timeoutMs, stop.signal).finally(() => {
          stop.done();
          state.inFlight--;
        });
      }
      // The silent peer leads: read its report once a second too, so its silence is counted from
      // a read close to its last report rather than from the next cycle's (after a whole check).
      if (this.silence?.site === name && clock.monotonic() - state.readAt >= LEADER_REPORT_READ_MS) {
        state.readAt = clock.monotonic();
        void this.readLeaderReport();
      }
      state.cancel = clock.setTimer(SILENT_PEER_RECHECK_MS, tick);
    };
    state.cancel = clock.setTimer(SILENT_PEER_RECHECK_MS, tick);
  }

  /**
   * A read of the store between cycles while the leader's node is silent: a report of it newer
   * than the one the silence counts from restarts the silence at the end of the first read that
   * saw it (the same measure as noteLeaderSilence, from more reads); the same report changes
   * nothing.
   */
  private async readLeaderReport(): Promise<void> {
    const read = await this.readQuietly();
    if (read === null) return;
    const { state, endedAt } = read;
    const s = this.silence;
    if (s === null || state.leader?.site !== s.site) return;
    const seen = state.reports[s.site]?.observedAt ?? null;
    this.noteReportSeen(s.site, seen, endedAt);
    if (seen === s.seen) return;
    this.silence = {
      ...s,
      seen,
      since: Math.max(s.since, this.firstSeen(s.site, seen, endedAt)),
      cycles: 0,
      silentMs: 0,
    };
  }

  /** A store read whose failure only means nothing was learnt (its end, monotonic), or null. */
  private async readQuietly(): Promise<{ state: ClusterState; endedAt: number } | null> {
    try {
      const state = await this.storeCall('coordination read', () => this.session.read());
      return { state, endedAt: this.options.clock.monotonic() };
    } catch {
      return null;
    }
  }

  /**
   * When this agent first read `site`'s report `seen` (noteReportSeen): the end of that read, or
   * `readEndedAt` (the read that just saw it) when no earlier read did.
   */
  private firstSeen(site: string, seen: number | null, readEndedAt: number): number {
    const r = this.reportSeen;
    return seen !== null && r?.site === site && r.seen === seen ? Math.min(r.at, readEndedAt) : readEndedAt;
  }

  /**
   * Keeps the leader's newest report and when it was first read. Only a newer report replaces it
   * (a late read with an older one changes nothing), and the first read that saw it stands.
   */
  private noteReportSeen(site: string, seen: number | null, endedAt: number): void {
    if (seen === null) return;
    const r = this.reportSeen;
    if (r !== null && r.site === site && seen <= r.seen) return;
    this.reportSeen = { site, seen, at: endedAt };
  }

  /**
   * With a fence agent, a secondary reads the store as its cycle starts, beside the probe and the
   * peer checks, only to note when it first saw the leader's report (noteReportSeen): when the
   * leader's node is lost just after it published, the cycle's own read comes only after the
   * check of the silent node, and the silence window would start that much later (issue 14:
   * 1.6 s of a fenced node loss at the defaults). Nothing else uses this read.
   */
  private async readLeaderEarly(spec: HanaSystemReplicationSpec): Promise<void> {
    if (spec.fencing.agent === undefined || this.leaderMine) return;
    const read = await this.readQuietly();
    const leader = read?.state.leader ?? null;
    if (read === null || leader === null || leader.site === this.site) return;
    this.noteReportSeen(leader.site, read.state.reports[leader.site]?.observedAt ?? null, read.endedAt);
  }

  private stopRechecks(): void {
    for (const r of this.rechecks.values()) r.cancel();
    this.rechecks.clear();
  }

  /** One full cycle; exposed for tests. Concurrent calls share the running one. */
  runCycle(): Promise<Decision | null> {
    if (this.busy) return this.busy;
    this.busy = this.cycle()
      .catch((err: unknown) => {
        this.emitRaw('action-failed', 'none', 'cycle_error', `cycle failed: ${errorMessage(err)}`);
        return null;
      })
      .finally(() => {
        this.busy = null;
      });
    return this.busy;
  }

  /**
   * This agent's fence confirmed `site`'s node off in the term it believes in, within the fence
   * timeout: the node cannot answer (nor write) until it is powered on, which ends the term (the
   * takeover that follows powers it on) or, by hand, comes after the fence timeout.
   */
  private confirmedOff(site: string, spec: HanaSystemReplicationSpec): boolean {
    const f = this.lastFence;
    const agent = spec.fencing.agent;
    return (
      f !== null &&
      agent !== undefined &&
      f.site === site &&
      f.by === this.site &&
      f.action === 'off' &&
      f.result === 'confirmed' &&
      f.epoch === this.believedEpoch &&
      this.options.clock.now() - f.endedAt < agent.timeoutSeconds * 1000
    );
  }

  /** A signal aborted with the first of the two (the second absent: the first itself). */
  private either(signal: AbortSignal, other: AbortSignal | undefined): AbortSignal {
    if (other === undefined) return signal;
    const both = this.options.clock.abortController?.() ?? new AbortController();
    const follow = (s: AbortSignal) => {
      if (s.aborted) both.abort(s.reason);
      else s.addEventListener('abort', () => both.abort(s.reason), { once: true });
    };
    follow(signal);
    follow(other);
    return both.signal;
  }

  private storeCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withDeadline(this.options.clock, this.options.storeTimeoutMs ?? 2000, what, fn);
  }

  private async cycle(): Promise<Decision | null> {
    if (!this.running) return null;
    const { clock, hana } = this.options;
    const spec = this.options.spec();
    const timeoutMs = spec.probes.timeoutSeconds * 1000;

    // 1. Observe the local site, and (2.) at the same time the peers directly: a lost peer's silent
    // port costs its whole timeout, which need not come on top of the local probe's time. A wake
    // while the local probe is in flight supersedes this cycle (wake()): nothing it observed is used.
    // (Without a watch nothing wakes: no controller then; the simulator runs with and without one.)
    const superseded =
      this.leaderWatch.state === 'unsupported' ? null : (clock.abortController?.() ?? new AbortController());
    this.supersede = superseded;
    // A woken secondary decides on its last probe when that is recent enough (reusableProbe): the
    // peers are checked afresh all the same.
    const reused = this.reusableProbe(spec);
    const peersChecked = this.checkPeers(spec, superseded?.signal);
    const earlyRead = this.readLeaderEarly(spec);
    let health: HanaHealth;
    const probeStarted = clock.monotonic();
    if (reused !== null) {
      health = reused.health;
      this.reusedProbeEndedAt = reused.endedAt;
      this.emitRaw(
        'probe-reused',
        'none',
        'probe_reused',
        `woken by the leader key: deciding on the local probe that ended ${Math.round(probeStarted - reused.endedAt)} ms ago (a healthy secondary) instead of probing again`,
      );
    } else {
      this.probing = true;
      try {
        health = await withTimeout(clock, timeoutMs, 'HANA probe', (signal) =>
          hana.probe(this.either(signal, superseded?.signal)),
        );
      } catch (err) {
        health = unknownHealth(errorMessage(err));
      } finally {
        this.probing = false;
      }
    }
    const superseding = async (what: string) => {
      // Never two observations at once: the aborted checks settle before the next cycle starts.
      await Promise.all([peersChecked, earlyRead]);
      this.supersede = null;
      this.emitRaw(
        'cycle-superseded',
        'none',
        'cycle_superseded',
        `${String(superseded?.signal.reason instanceof Error ? superseded.signal.reason.message : 'superseded')} while ${what}: discarded, a fresh cycle starts`,
      );
      return null;
    };
    const aborted = () => superseded?.signal.aborted === true;
    if (aborted()) return superseding('the local probe ran');
    // The observation's time is the probe's: a reused probe keeps its own (the report says when
    // its health was seen, and nothing below counts it a second time).
    const now = reused?.at ?? clock.now();
    const startSeen = reused === null ? await this.tookProbe(spec, health, probeStarted, now) : false;
    this.options.metrics?.clockSkewBound?.(spec.clock.maxSkewSeconds);

    // 2. The peers, as checked directly (a peer whose silence stood in for a check: still silent now).
    const peers = await this.settlePeers(spec, await peersChecked, superseded?.signal);
    this.supersede = null;
    // (The probe answered before and is counted as any complete probe; the peers' views are not used.)
    if (aborted()) return superseding('the peers were checked');
    this.lastPeers = peers;

    // 3. Read the store and publish.
    let state: ClusterState | null = null;
    let leader: LeaderView;
    const read = { startedAt: clock.monotonic(), endedAt: clock.monotonic() };
    try {
      state = await this.storeCall('coordination read', () => this.session.read());
      read.endedAt = clock.monotonic();
      this.leaderWatch.observed(state.leader);
      leader = leaderViewOf(state, this.site);
      this.believedEpoch = state.leader?.epoch ?? state.lastEpoch;
      if ((leader.state === 'held' && leader.mine) || this.armedOn !== null) {
        // The key is bound to our lease: renew now rather than trust a keepalive that may lag
        // (and an armed watchdog is fed from confirmed renewals).
        const renewStarted = clock.monotonic();
        await this.storeCall('renew lease', () => this.session.renew()).then(
          () => this.options.metrics?.leaseRenewed((clock.monotonic() - renewStarted) / 1000),
          (err: unknown) =>
            this.options.metrics?.leaseRenewed((clock.monotonic() - renewStarted) / 1000, err),
        );
      }
    } catch (err) {
      leader = { state: 'unknown', error: errorMessage(err), wasMine: this.leaderMine };
    }
    this.leaderMine =
      leader.state === 'held' ? leader.mine : leader.state === 'unknown' ? this.leaderMine : false;
    if (leader.state === 'held' && leader.mine) this.ledEpoch = leader.leader.epoch;

    if (state) {
      await this.storeWrite('report', () => this.session.publishReport(this.report(now))).then((ok) => {
        if (ok) this.options.metrics?.reported(now, this.believedEpoch);
      });
      if (leader.state === 'held' && leader.mine && health.acceptsWrites) {
        const epoch = leader.leader.epoch;
        // Records from what the primary's own status says now: a secondary not reconnected since
        // a start shows out of sync there, so they settle a start still owed as well.
        if (
          await this.storeWrite('sync', () =>
            this.session.writeSync(epoch, syncRecordsFrom(health, spec, this.site, epoch, now, state?.sync)),
          )
        )
          this.startSfailOwed = false;
        await this.storeWrite('last-primary', () => this.session.stampPrimary(epoch, now));
        state = await this.storeCall('coordination read', () => this.session.read()).catch(() => state);
      } else if (leader.state === 'held' && leader.mine && startSeen) {
        const epoch = leader.leader.epoch;
        if (
          await this.storeWrite('sync', () =>
            this.session.writeSync(epoch, sfailBeforeStart(spec, this.site, epoch, now)),
          )
        )
          this.startSfailOwed = false;
        state = await this.storeCall('coordination read', () => this.session.read()).catch(() => state);
      }
    }
    this.armLeaseCheck();
    await this.tendWatchdog(spec);
    await earlyRead;
    this.noteLeaderSilence(state, read);

    // The region records (a newer generation of the other region is written down before deciding).
    if (this.options.region !== undefined)
      this.lastRegion = await this.options.region.view(spec, this.site, state, health, now);
    this.options.metrics?.region?.(spec, this.lastRegion, health);

    this.noteMaintenance(spec, state);

    // 4. Decide.
    const obs = this.observation(leader, state);
    const d = decide(obs, spec, clock.now());
    this.noteFailsafe(d);
    this.last = d;
    this.emit('decision', d);

    // 5. Act.
    if (d.action.kind !== 'none') await this.actions.fromCycle(d.action.kind, () => carryOut(this.host, d));
    return d;
  }

  /**
   * Takes a completed local probe into the agent's state: the failure count (a woken cycle's
   * failure counts only once an interval has passed since the last one counted), the writable
   * times, the role, the stop on its way, the watchdog device. Returns whether a primary start it
   * saw (primaryStartSeen) still owes its SFAIL records.
   */
  private async tookProbe(
    spec: HanaSystemReplicationSpec,
    health: HanaHealth,
    probeStarted: number,
    now: number,
  ): Promise<boolean> {
    const { clock } = this.options;
    this.options.metrics?.probed(health, (clock.monotonic() - probeStarted) / 1000);
    const failed = probeFailed(health);
    // A cycle woken by the watch does not shorten failureThreshold x interval, the time a blip is
    // tolerated: a failed probe counts only once an interval has passed since the last one counted.
    const sinceCounted =
      this.lastCountedFailureAt === null ? Infinity : clock.monotonic() - this.lastCountedFailureAt;
    const counts = !this.wokenCycle || sinceCounted >= spec.probes.intervalSeconds * 1000;
    if (!failed) this.failedProbes = 0;
    else if (counts) this.failedProbes++;
    if (failed && counts) this.lastCountedFailureAt = clock.monotonic();
    if (!failed) this.lastCountedFailureAt = null;
    if (!failed && !this.fenced) this.localRestarts = 0;
    this.notWritableSince = notWritableAfterProbe(this.notWritableSince, this.lastWritableAt, health, now);
    if (health.acceptsWrites) this.lastWritableAt = now;
    if (health.probeOk) this.lastKnownRole = health.srRole;
    if (health.probeOk && !hasLiveProcess(health)) this.downSeenAt = now;
    // Read again: what the report's health says now replaces the stop on its way.
    if (health.probeOk) this.stopSent = null;
    // Owed until a sync write lands, or a readable probe finds no primary process at all (a
    // later start is seen anew); not when the primary is up: it is the start's commits alone that
    // the SFAIL records are for.
    if (primaryStartSeen(this.lastReadable, health)) this.startSfailOwed = true;
    else if (health.probeOk && (health.srRole !== 'primary' || !hasLiveProcess(health)))
      this.startSfailOwed = false;
    const startSeen = this.startSfailOwed;
    if (health.probeOk) this.lastReadable = health;
    this.lastHealth = health;
    if (health.probeOk) this.hungSince = null;
    else if (!this.leaderMine) this.hungSince ??= clock.monotonic();
    if (this.stopping !== 'none' && !this.localMayBeWriting()) this.stopping = 'none';
    this.lastProbe = { health, endedAt: clock.monotonic(), at: now };
    await this.probeWatchdog(spec);
    return startSeen;
  }

  /**
   * The last probe a woken cycle may decide on instead of probing again, or null. A release or
   * expiry of the leader key is then acted on without a whole local probe in between (issue 14:
   * the probe was most of the time from the release to the key on the new site). Only:
   * - in a cycle woken by the leader key or a confirmed fence, of an agent that does not lead;
   * - when that probe found a healthy secondary (it answered, replicates, takes no writes) and
   *   no probe has failed since (failedProbes is 0) and the site is not fenced;
   * - and it ended within the last interval: the cycle that ran it would have decided on it had
   *   the key changed just before its store read, and a regular cycle's view of the primary (its
   *   report, one cycle old) is no fresher. Older, or anything else, and the cycle probes.
   * The rules judge every other candidate on its agent's last report, as old as this at most; the
   * in-sync rule reads the primary's records and reports, never this probe; the peers are checked
   * afresh. What it risks is availability, not safety: a secondary that died since is promoted by
   * a takeover command that fails, and its next cycle probes (test/agent/probe-reuse.test.ts).
   */
  private reusableProbe(
    spec: HanaSystemReplicationSpec,
  ): { health: HanaHealth; endedAt: number; at: number } | null {
    const p = this.lastProbe;
    if (!this.wokenCycle || this.leaderMine || this.fenced || this.failedProbes > 0 || p === null)
      return null;
    const h = p.health;
    if (!h.probeOk || !h.running || h.srRole !== 'secondary' || h.acceptsWrites) return null;
    if (h !== this.lastHealth) return null;
    return this.options.clock.monotonic() - p.endedAt <= spec.probes.intervalSeconds * 1000 ? p : null;
  }

  /**
   * A write the rules rely on (report, SOK/SFAIL records, last-primary timestamp): a failure is
   * counted every time and told once per episode (and its end), never swallowed. The rules stay
   * safe while it fails: readers treat an old report or record as what it is.
   */
  private async storeWrite(what: StoreWrite, fn: () => Promise<void>): Promise<boolean> {
    try {
      await this.storeCall(`write ${what}`, fn);
      if (this.failingWrites.delete(what))
        this.emitRaw(
          'store-write-recovered',
          'none',
          `${what}_write_recovered`,
          `writing the ${what} works again`,
        );
      return true;
    } catch (err) {
      this.options.metrics?.storeWriteFailed?.(what);
      if (!this.failingWrites.has(what)) {
        this.failingWrites.add(what);
        this.emitRaw(
          'store-write-failed',
          'none',
          `${what}_write_failed`,
          `writing the ${what} to the coordination store failed (${errorMessage(err)}); readers will see it age`,
        );
      }
      return false;
    }
  }

  /**
   * Maintenance and the lease rule: a leader in maintenance fences nothing, so a key that ran out
   * while it may have believed maintenance on (its last spec; an isolated agent never reads the
   * change) says nothing of its HANA. This agent's own reads, the published maintenance
   * generation and the leader's last report tell (src/domain/maintenance-watch.ts).
   */
  private noteMaintenance(spec: HanaSystemReplicationSpec, state: ClusterState | null): void {
    this.maintenanceWatch = watchMaintenance(this.maintenanceWatch, this.site, spec.maintenance, state);
    this.leaderMayBeInMaintenance = leaderMayBeInMaintenance(
      this.maintenanceWatch,
      this.site,
      state?.leader?.site ?? state?.lastLeader,
    );
  }

  private observation(leader: LeaderView, state: ClusterState | null): Observation {
    return buildObservation({
      self: this.site,
      local: {
        health: this.lastHealth,
        failedProbes: this.failedProbes,
        localRestarts: this.localRestarts,
        fenced: this.fenced,
        lastWritableAt: this.lastWritableAt,
        notWritableSince: this.notWritableSince,
        ...(this.lastKnownRole !== undefined ? { lastKnownRole: this.lastKnownRole } : {}),
        downSeenAt: this.downSeenAt,
        ...(this.ledEpoch !== undefined ? { ledEpoch: this.ledEpoch } : {}),
        startUnrecorded: this.startSfailOwed,
        leaderMayBeInMaintenance: this.leaderMayBeInMaintenance,
      },
      leader,
      leaseAgeMs: this.leaseAgeMs(),
      state,
      peers: this.lastPeers,
      clockSkew: this.skew,
      ...(this.wdVerdict !== null
        ? { watchdog: { mayLead: this.wdVerdict.mayLead, message: this.wdVerdict.message } }
        : {}),
      ...(this.silence !== null && this.silence.cycles > 0
        ? {
            leaderSilence: {
              site: this.silence.site,
              cycles: this.silence.cycles,
              silentMs: this.silence.silentMs,
            },
          }
        : {}),
      ...(this.lastRegion !== undefined ? { region: this.lastRegion } : {}),
      ...(this.host.nodeFence.running !== null && this.host.nodeFence.site !== null
        ? { fencingNode: this.host.nodeFence.site }
        : {}),
      ...this.peerSilence(),
    });
  }

  /** How long each peer whose latest check went unanswered has been silent (Observation.peerSilentMs). */
  private peerSilence(): { peerSilentMs?: Record<string, number> } {
    if (this.quiet.size === 0) return {};
    const now = this.options.clock.monotonic();
    const out: Record<string, number> = {};
    for (const [name, quiet] of this.quiet) {
      const ms = peerSilentMs(quiet, this.answeredAt.get(name), now);
      if (ms !== undefined) out[name] = ms;
    }
    return { peerSilentMs: out };
  }

  /** The age of the last confirmed lease renewal on the monotonic clock, or null. */
  private leaseAgeMs(): number | null {
    const renewed = this.session.lastRenewedAt();
    return renewed === null ? null : this.options.clock.monotonic() - renewed;
  }

  private report(now: number): SiteReport {
    const wd = this.watchdogReport(this.options.spec());
    if (wd !== undefined) this.options.metrics?.watchdog?.(wd);
    return {
      site: this.site,
      observedAt: now,
      health: this.lastHealth,
      failedProbes: this.failedProbes,
      lastWritableAt: this.lastWritableAt,
      notWritableSince: this.notWritableSince,
      maintenance: this.options.spec().maintenance === true,
      ...((g) => (g !== undefined ? { maintenanceGeneration: g } : {}))(this.options.specGeneration?.()),
      epoch: this.believedEpoch,
      leader: this.leaderMine,
      fenced: this.fenced,
      stopSent: this.stopSent,
      downSeenAt: this.downSeenAt,
      localRestarts: this.localRestarts,
      ...(this.lastKnownRole !== undefined ? { lastKnownRole: this.lastKnownRole } : {}),
      // On the wall clock of this host (the report is read elsewhere): now less the lease's age.
      leaseRenewedAt: ((age) => (age === null ? null : now - age))(this.leaseAgeMs()),
      peers: this.lastPeers,
      ...(this.last
        ? {
            lastDecision: {
              action: this.last.action.kind,
              reason: this.last.reason,
              message: this.last.message,
            },
          }
        : {}),
      ...(this.lastActionOutcome ? { lastAction: this.lastActionOutcome } : {}),
      ...(Object.keys(this.skew).length > 0 ? { clockSkew: this.skew } : {}),
      ...(wd !== undefined ? { watchdog: wd } : {}),
    };
  }

  /** The last fence of another node this agent carried out, or null. */
  get lastNodeFence(): FenceRecord | null {
    return this.lastFence;
  }

  /** The agent as its actions see it (src/agent/actions.ts). */
  private actionHost(): ActionHost {
    const o = this.options;
    return {
      site: o.site,
      clock: o.clock,
      hana: o.hana,
      session: this.session,
      peers: o.peers,
      fenceAgent: o.fenceAgent,
      actionMs: o.actionTimeoutMs ?? 120_000,
      stopMs: o.stopTimeoutMs ?? 30_000,
      spec: () => o.spec(),
      running: () => this.running,
      storeCall: (what, fn) => this.storeCall(what, fn),
      tell: (event, action, reason, message) => this.emitRaw(event, action, reason, message),
      lastHealth: () => this.lastHealth,
      leaderMine: () => this.leaderMine,
      setLeaderMine: (mine) => {
        this.leaderMine = mine;
      },
      setFenced: (fenced) => {
        this.fenced = fenced;
        // Started or registered: a stop sent before says nothing any more.
        if (!fenced) this.stopSent = null;
      },
      countRestart: () => {
        this.localRestarts++;
      },
      stopping: (state) => {
        this.stopping = state;
        this.feedTick();
      },
      stopped: () => {
        this.notWritableSince = notWritableAfterStop(
          this.notWritableSince,
          this.lastWritableAt,
          this.options.clock.now(),
        );
        this.fenced = true;
        this.stopping = 'none';
      },
      stopSent: (epoch) => {
        if (this.stopSent?.epoch !== epoch) this.stopSent = { epoch, at: this.options.clock.now() };
        // At once, not at the next cycle: a successor waits for it (a failure is told).
        void this.storeWrite('report', () =>
          this.session.publishReport(this.report(this.options.clock.now())),
        );
      },
      publishReport: async () => {
        await this.storeWrite('report', () =>
          this.session.publishReport(this.report(this.options.clock.now())),
        );
      },
      observation: (leader, state) => this.observation(leader, state),
      winLeaderKey: (kind, expected, seize, supersede) => this.winLeaderKey(kind, expected, seize, supersede),
      pendingTakeover: null,
      nodeFence: { running: null, abort: null, site: null },
      noteFence: (record) => {
        if (record.action === 'off') this.lastFence = record;
        o.metrics?.nodeFenced?.(record);
      },
      wake: () => this.wakeFenced(),
      ...(o.region !== undefined
        ? {
            writeRegion: (record: RegionRecord, expected: number | null) =>
              this.storeCall('write region', () => o.region!.write(record, expected)),
          }
        : {}),
    };
  }

  /** Compare-and-set on the leader key; null (and a 'refused' event) when another member was first. */
  private async winLeaderKey(
    kind: Action['kind'],
    expectedLastEpoch: number,
    seize?: string,
    supersede?: string,
  ) {
    const spec = this.options.spec();
    // From here on feeds obey the lease bound; a renewal sent after the last free feed (a
    // secondary's) keeps the node's reset before the lease's end, so it precedes the race.
    this.contending = true;
    let rec;
    try {
      if (this.armedOn !== null || this.wdVerdict?.use === true) {
        await this.feeding?.catch(() => {});
        // Counted as any failed renewal is (the race below goes on: the key's CAS decides).
        const renewStarted = this.options.clock.monotonic();
        await this.storeCall('renew lease', () => this.session.renew()).then(
          () => this.options.metrics?.leaseRenewed((this.options.clock.monotonic() - renewStarted) / 1000),
          (err: unknown) =>
            this.options.metrics?.leaseRenewed((this.options.clock.monotonic() - renewStarted) / 1000, err),
        );
      }
      rec = await this.storeCall(seize !== undefined ? 'seize leader' : 'acquire leader', () =>
        seize !== undefined
          ? this.session.seizeLeader(seize, expectedLastEpoch, this.options.clock.now())
          : this.session.acquireLeader(expectedLastEpoch, this.options.clock.now(), supersede),
      );
      if (!rec) {
        this.emitRaw('refused', kind, 'lost_race', 'another member changed the leader key first');
        return null;
      }
      this.leaderMine = true;
      this.believedEpoch = rec.epoch;
    } finally {
      this.contending = false;
    }
    // Armed before this site writes as primary; a required watchdog that cannot be armed hands
    // the key straight back (Patroni: no leader without its watchdog).
    if (this.wdVerdict?.use === true && this.armedOn === null && !(await this.armNow(spec))) {
      if (spec.fencing.watchdog.mode === 'required') {
        // A failed release is told: the key then stays until the lease runs out.
        await this.storeCall('release leader', () => this.session.releaseLeader(rec.epoch)).catch(
          (err: unknown) =>
            this.emitRaw(
              'store-write-failed',
              'none',
              'leader_release_failed',
              `releasing the leader key at epoch ${rec.epoch} failed (${errorMessage(err)}): it stays until the lease runs out`,
            ),
        );
        this.leaderMine = false;
        this.emitRaw(
          'refused',
          kind,
          'watchdog_arm_failed',
          `the watchdog is required and could not be armed: released the leader key at epoch ${rec.epoch}`,
        );
        return null;
      }
    }
    return rec;
  }

  private emit(event: string, d: Decision): void {
    const key = `${d.action.kind}|${d.reason}`;
    if (event === 'decision' && key === this.lastDecisionKey) return;
    this.lastDecisionKey = key;
    this.emitRaw(event, d.action.kind, d.reason, d.message);
  }

  private emitRaw(event: string, action: Action['kind'], reason: string, message: string): void {
    const e: AgentEvent = {
      t: this.options.clock.now(),
      cluster: this.options.cluster,
      site: this.site,
      epoch: this.believedEpoch,
      event,
      action,
      reason,
      message,
    };
    // Every action result (not a decision, not a failed cycle) is the report's lastAction.
    if (event !== 'decision' && action !== 'none')
      this.lastActionOutcome = { action, reason, ok: event === 'action', message, at: e.t };
    this.options.metrics?.event(e);
    this.options.onEvent?.(e);
  }
}
