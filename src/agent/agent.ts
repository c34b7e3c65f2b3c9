// Why this file is long: observe/publish/decide/act in one loop; act() is to be split into one function per action after the parallel branches land (issue 15).
/**
 * The agent loop of one site: observe -> publish -> decide -> act, on an injected clock.
 *
 * The same code runs in real time (hanasr agent) and in the simulator's virtual time. It owns
 * no policy: every choice comes from `decide()` in src/domain; this file only gathers the
 * observation, carries out the decided action with timeouts, and checks the epoch before acting.
 */
import type { HanaSystemReplicationSpec } from '../api/spec.js';
import { TimeoutError, withTimeout, type Clock } from '../clock.js';
import type { ClusterState, Coordination, CoordinationSession } from '../coordination/port.js';
import { estimateSkew, type SkewEstimate } from '../domain/clock-skew.js';
import { decide, fenceDeadlineMs } from '../domain/decide.js';
import { probeFailed } from '../domain/health.js';
import type { Action, Decision } from '../domain/decision.js';
import { buildObservation, leaderViewOf, type Observation, type PeerView } from '../domain/observation.js';
import { checkOf, handshakeFallback, promotionSuspects, type SuspectCheck } from '../domain/promotion.js';
import { syncRecordsFrom } from '../domain/sync.js';
import {
  unknownHealth,
  type ActionOutcome,
  type HanaHealth,
  type LeaderView,
  type SiteReport,
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
}

export class Agent {
  readonly site: string;
  private readonly session: CoordinationSession;
  private timerCancel: (() => void) | null = null;
  private watchdogCancel: (() => void) | null = null;
  private running = false;
  private busy: Promise<Decision | null> | null = null;
  private failedProbes = 0;
  private localRestarts = 0;
  private fenced = false;
  private lastWritableAt: number | null = null;
  private lastKnownRole: HanaHealth['srRole'] | undefined;
  private lastHealth: HanaHealth = unknownHealth('not probed yet');
  private lastPeers: Record<string, PeerView> = {};
  private lastDecisionKey = '';
  private believedEpoch = 0;
  private leaderMine = false;
  private last: Decision | null = null;
  private lastActionOutcome: ActionOutcome | null = null;
  /** The takeover this agent won the key for, until it is carried out (see act 'promote'). */
  private pendingTakeover: { epoch: number; planned: boolean; from: string | null } | null = null;
  /** The last clock skew measured to each peer (kept while the peer is silent: its age tells). */
  private skew: Record<string, SkewEstimate> = {};
  /** Store writes failing now, by kind: logged once per episode. */
  private readonly failingWrites = new Set<StoreWrite>();

  constructor(private readonly options: AgentOptions) {
    this.site = options.site;
    const spec = options.spec();
    this.session = options.coordination.session(options.cluster, options.site, spec.lease.ttlSeconds);
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

  /** Opens the session (retrying while the store is unreachable) and starts the loop. */
  async start(): Promise<void> {
    this.running = true;
    await this.session.start().catch(() => {});
    this.schedule(0);
  }

  /** Stops the loop and revokes the lease (the leader key goes with it). */
  /**
   * Stops the loop, lets the in-flight cycle finish (a takeover is not cut in half), then revokes
   * the lease. `graceMs` bounds the wait for the in-flight cycle (default: as long as it takes,
   * itself bounded by the action timeout).
   */
  async stop(options: { readonly graceMs?: number } = {}): Promise<void> {
    this.running = false;
    this.timerCancel?.();
    this.watchdogCancel?.();
    const inFlight = this.busy?.catch(() => null);
    if (inFlight && options.graceMs !== undefined) {
      await Promise.race([inFlight, this.options.clock.sleep(options.graceMs)]);
    } else {
      await inFlight;
    }
    await this.session.close().catch(() => {});
  }

  /** Stops the loop without releasing anything, as a killed process would. */
  kill(): void {
    this.running = false;
    this.timerCancel?.();
    this.watchdogCancel?.();
    this.session.abandon();
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.timerCancel?.();
    this.timerCancel = this.options.clock.setTimer(ms, () => {
      void this.runCycle().finally(() => this.schedule(this.options.spec().probes.intervalSeconds * 1000));
    });
  }

  private armWatchdog(): void {
    this.watchdogCancel?.();
    this.watchdogCancel = null;
    if (!this.running || !this.leaderMine) return;
    const renewed = this.session.lastRenewedAt();
    if (renewed === null) return;
    const spec = this.options.spec();
    const at = renewed + fenceDeadlineMs(spec) - this.options.clock.now();
    this.watchdogCancel = this.options.clock.setTimer(Math.max(0, at) + 1, () => void this.watchdog());
  }

  /**
   * Runs when the lease may be going stale while a cycle is slow (a hung probe must not delay
   * self-fencing): decides on the last known state with the store treated as unknown.
   */
  private async watchdog(): Promise<void> {
    if (!this.running || !this.leaderMine) return;
    const { clock } = this.options;
    const spec = this.options.spec();
    const renewed = this.session.lastRenewedAt();
    if (renewed !== null && clock.now() - renewed < fenceDeadlineMs(spec)) {
      this.armWatchdog();
      return;
    }
    // The failsafe ("every peer is a reachable secondary") must rest on what the peers look like
    // now: the last cycle's view may predate the cut that stopped the renewals (a cycle stuck in
    // a hung action would otherwise keep a cut-off primary running past its lease).
    this.lastPeers = await this.checkPeers(spec);
    if (!this.running || !this.leaderMine) return;
    const obs = this.observation({ state: 'unknown', error: 'lease renewal overdue' }, null);
    const d = decide(obs, spec, clock.now());
    if (d.action.kind === 'fence') {
      this.emit('decision', d);
      await this.act(d, null);
      this.leaderMine = false;
    }
  }

  /** Checks every other site directly (each within the probe timeout; no answer = unreachable). */
  private async checkPeers(spec: HanaSystemReplicationSpec): Promise<Record<string, PeerView>> {
    const { clock } = this.options;
    const timeoutMs = spec.probes.timeoutSeconds * 1000;
    const peers: Record<string, PeerView> = {};
    const probe = this.options.peers ?? blindPeerProbe;
    await Promise.all(
      spec.sites
        .filter((s) => s.name !== this.site)
        .map(async (s) => {
          try {
            const sentAt = clock.now();
            const view = await withTimeout(clock, timeoutMs, `peer check ${s.name}`, (signal) =>
              probe.check(s.name, signal),
            );
            peers[s.name] = view;
            if (view.clock !== undefined) {
              const estimate = estimateSkew(sentAt, clock.now(), view.clock);
              this.skew = { ...this.skew, [s.name]: estimate };
              this.options.metrics?.clockSkew?.(s.name, estimate);
            }
          } catch {
            peers[s.name] = { reachable: false, acceptsWrites: false };
          }
        }),
    );
    return peers;
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

  private storeCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withTimeout(this.options.clock, this.options.storeTimeoutMs ?? 2000, what, () => fn());
  }

  private async cycle(): Promise<Decision | null> {
    if (!this.running) return null;
    const { clock, hana } = this.options;
    const spec = this.options.spec();
    const timeoutMs = spec.probes.timeoutSeconds * 1000;

    // 1. Observe the local site.
    let health: HanaHealth;
    const probeStarted = clock.now();
    try {
      health = await withTimeout(clock, timeoutMs, 'HANA probe', (signal) => hana.probe(signal));
    } catch (err) {
      health = unknownHealth(errorMessage(err));
    }
    const now = clock.now();
    this.options.metrics?.probed(health, (now - probeStarted) / 1000);
    this.options.metrics?.clockSkewBound?.(spec.clock.maxSkewSeconds);
    const failed = probeFailed(health);
    this.failedProbes = failed ? this.failedProbes + 1 : 0;
    if (!failed && !this.fenced) this.localRestarts = 0;
    if (health.acceptsWrites) this.lastWritableAt = now;
    if (health.probeOk) this.lastKnownRole = health.srRole;
    this.lastHealth = health;

    // 2. Look at the peers directly.
    this.lastPeers = await this.checkPeers(spec);

    // 3. Read the store and publish.
    let state: ClusterState | null = null;
    let leader: LeaderView;
    try {
      state = await this.storeCall('coordination read', () => this.session.read());
      leader = leaderViewOf(state, this.site);
      this.believedEpoch = state.leader?.epoch ?? state.lastEpoch;
      if (leader.state === 'held' && leader.mine) {
        // The key is bound to our lease: renew now rather than trust a keepalive that may lag.
        const renewStarted = clock.now();
        await this.storeCall('renew lease', () => this.session.renew()).then(
          () => this.options.metrics?.leaseRenewed((clock.now() - renewStarted) / 1000),
          (err: unknown) => this.options.metrics?.leaseRenewed((clock.now() - renewStarted) / 1000, err),
        );
      }
    } catch (err) {
      leader = { state: 'unknown', error: errorMessage(err) };
    }
    this.leaderMine =
      leader.state === 'held' ? leader.mine : leader.state === 'unknown' ? this.leaderMine : false;

    if (state) {
      await this.storeWrite('report', () => this.session.publishReport(this.report(now))).then((ok) => {
        if (ok) this.options.metrics?.reported(now, this.believedEpoch);
      });
      if (leader.state === 'held' && leader.mine && health.acceptsWrites) {
        const epoch = leader.leader.epoch;
        await this.storeWrite('sync', () =>
          this.session.writeSync(epoch, syncRecordsFrom(health, spec, this.site, epoch, now, state?.sync)),
        );
        await this.storeWrite('last-primary', () => this.session.stampPrimary(epoch, now));
        state = await this.storeCall('coordination read', () => this.session.read()).catch(() => state);
      }
    }
    this.armWatchdog();

    // 4. Decide.
    const obs = this.observation(leader, state);
    const d = decide(obs, spec, clock.now());
    this.last = d;
    this.emit('decision', d);

    // 5. Act.
    if (d.action.kind !== 'none') await this.act(d, state);
    return d;
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

  private observation(leader: LeaderView, state: ClusterState | null): Observation {
    return buildObservation({
      self: this.site,
      local: {
        health: this.lastHealth,
        failedProbes: this.failedProbes,
        localRestarts: this.localRestarts,
        fenced: this.fenced,
        lastWritableAt: this.lastWritableAt,
        ...(this.lastKnownRole !== undefined ? { lastKnownRole: this.lastKnownRole } : {}),
      },
      leader,
      leaseRenewedAt: this.session.lastRenewedAt(),
      state,
      peers: this.lastPeers,
      clockSkew: this.skew,
    });
  }

  private report(now: number): SiteReport {
    return {
      site: this.site,
      observedAt: now,
      health: this.lastHealth,
      failedProbes: this.failedProbes,
      lastWritableAt: this.lastWritableAt,
      epoch: this.believedEpoch,
      leader: this.leaderMine,
      fenced: this.fenced,
      localRestarts: this.localRestarts,
      ...(this.lastKnownRole !== undefined ? { lastKnownRole: this.lastKnownRole } : {}),
      leaseRenewedAt: this.session.lastRenewedAt(),
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
    };
  }

  /** Re-reads the store and checks the action's epoch is still the current one. */
  private async epochStillCurrent(epoch: number): Promise<{ ok: boolean; state: ClusterState | null }> {
    try {
      const state = await this.storeCall('coordination read', () => this.session.read());
      return { ok: state.lastEpoch === epoch, state };
    } catch {
      return { ok: false, state: null };
    }
  }

  private async act(d: Decision, state: ClusterState | null): Promise<void> {
    const { clock, hana } = this.options;
    const spec = this.options.spec();
    const actionMs = this.options.actionTimeoutMs ?? 120_000;
    const a = d.action;
    const hanaCall = <T>(what: string, fn: (signal: AbortSignal) => Promise<T>) =>
      withTimeout(clock, actionMs, what, fn);
    try {
      switch (a.kind) {
        case 'none':
          return;
        case 'acquire-leader': {
          const rec = await this.winLeaderKey(a.kind, a.expectedLastEpoch);
          if (rec) this.emitRaw('action', a.kind, d.reason, `acquired the leader key at epoch ${rec.epoch}`);
          return;
        }
        case 'takeover': {
          const rec = await this.winLeaderKey(a.kind, a.expectedLastEpoch);
          if (!rec) return;
          // A promotion that has to wait (a failed handshake) is retried as 'promote' in a later
          // cycle: it is still the same takeover, planned or not, from the same old primary.
          this.pendingTakeover = { epoch: rec.epoch, planned: a.planned, from: a.from };
          await this.promote(a.kind, rec.epoch, a.handshake, a.planned, a.from);
          if (a.intentId !== undefined) await this.session.completeIntent(a.intentId).catch(() => {});
          return;
        }
        case 'promote': {
          const same = this.pendingTakeover?.epoch === a.epoch ? this.pendingTakeover : null;
          await this.promote(a.kind, a.epoch, a.handshake, same?.planned ?? false, same?.from ?? null);
          return;
        }
        case 'step-down': {
          let how = '';
          if (a.fence === 'stop') {
            // Never hand the key on while the old primary may come back (a frozen instance that
            // thaws would take writes again): keep the key and retry on the next cycle.
            const stopped = await this.stopSite(a.kind, 'keeping the leader key until it is stopped');
            if (!stopped.ok) return;
            how = `${stopped.how} ${this.site}, `;
          }
          await this.storeCall('release leader', () => this.session.releaseLeader(a.epoch, a.handoverTo));
          this.leaderMine = false;
          this.emitRaw('action', a.kind, d.reason, `${how}released the leader key at epoch ${a.epoch}`);
          return;
        }
        case 'start-local': {
          const check = await this.epochStillCurrent(a.epoch);
          if (!check.ok) return this.refuseStale(a, check.state);
          if (this.lastHealth.srRole === 'primary') {
            // Starting a primary is only safe while we still hold the key in this epoch.
            if (!check.state?.leader || check.state.leader.site !== this.site) {
              return this.emitRaw(
                'refused',
                a.kind,
                'not_leader',
                'not starting a primary without the leader key',
              );
            }
          }
          let how = '';
          if (a.restart) {
            this.localRestarts++;
            // A failed probe says nothing about the processes: the instance may run and hang. A
            // restart always stops it first (hard stop, then a kill), and never starts on top of it.
            const stopped = await this.stopSite(a.kind, 'not starting it on top of a running instance');
            if (!stopped.ok) return;
            how = `${stopped.how}, then `;
          }
          await hanaCall('start', (s) => hana.start(s));
          this.fenced = false;
          this.emitRaw('action', a.kind, d.reason, `${how}started ${this.site}`);
          return;
        }
        case 'fence': {
          // Fencing one's own site is always allowed: it can only remove a writer. It is reported
          // (fenced) only once the stop is confirmed; a failed one is retried on the next cycle.
          const stopped = await this.stopSite(a.kind, 'retrying on the next cycle');
          if (!stopped.ok) return;
          this.emitRaw('action', a.kind, d.reason, `fenced ${this.site} (${stopped.how})`);
          return;
        }
        case 'register': {
          const check = await this.epochStillCurrent(a.epoch);
          if (!check.ok) return this.refuseStale(a, check.state);
          const primary = spec.sites.find((s) => s.name === a.primary);
          if (!primary) throw new Error(`unknown primary site ${a.primary}`);
          await hanaCall('register', (s) =>
            hana.register(
              {
                remoteSite: primary.name,
                remoteHost: primary.host,
                remoteInstance: spec.instanceNumber,
                replicationMode: spec.replication.mode,
                operationMode: spec.replication.operationMode,
                siteName: this.site,
                ...(a.online ? { online: true } : {}),
              },
              s,
            ),
          );
          this.fenced = false;
          if (a.intentId !== undefined) await this.session.completeIntent(a.intentId).catch(() => {});
          for (const id of a.releases ?? []) await this.session.completeIntent(id).catch(() => {});
          this.emitRaw(
            'action',
            a.kind,
            d.reason,
            `registered ${this.site} as secondary of ${a.primary}${a.releases ? ' (its fence request released)' : ''}`,
          );
          return;
        }
        case 'refuse-intent':
          await this.storeCall('complete intent', () => this.session.completeIntent(a.intentId));
          this.emitRaw('refused', a.kind, d.reason, d.message);
          return;
      }
    } catch (err) {
      this.emitRaw('action-failed', a.kind, d.reason, `${a.kind} failed: ${errorMessage(err)}`);
    }
    void state;
  }

  /**
   * Stops the local site for certain: a hard stop within the stop deadline; when it does not
   * complete (a hung instance), `HDB kill-9` within the same deadline. `fenced` is set only once
   * one of them is confirmed (every process stopped). A failure is an `action-failed` event with
   * reason `fence_failed` (counted in hanasr_fencing_failures_total, an Event from the operator);
   * the caller retries on its next cycle.
   */
  private async stopSite(
    kind: Action['kind'],
    onFailure: string,
  ): Promise<{ readonly ok: true; readonly how: string } | { readonly ok: false }> {
    const { clock, hana } = this.options;
    const stopMs = this.options.stopTimeoutMs ?? 30_000;
    try {
      await withTimeout(clock, stopMs, 'hard stop', (s) => hana.stop({ hard: true }, s));
      this.fenced = true;
      return { ok: true, how: 'stopped' };
    } catch (stopErr) {
      this.emitRaw(
        'action-failed',
        kind,
        'stop_failed',
        `hard stop of ${this.site} did not complete (${errorMessage(stopErr)}): killing its processes (HDB kill-9)`,
      );
      try {
        await withTimeout(clock, stopMs, 'kill', (s) => hana.kill(s));
      } catch (killErr) {
        this.emitRaw(
          'action-failed',
          kind,
          'fence_failed',
          `${this.site} is not stopped: the hard stop (${errorMessage(stopErr)}) and the kill (${errorMessage(killErr)}) failed; ${onFailure}`,
        );
        return { ok: false };
      }
      this.fenced = true;
      return { ok: true, how: 'killed (HDB kill-9, the hard stop did not complete)' };
    }
  }

  /** Compare-and-set on the leader key; null (and a 'refused' event) when another member was first. */
  private async winLeaderKey(kind: Action['kind'], expectedLastEpoch: number) {
    const rec = await this.storeCall('acquire leader', () =>
      this.session.acquireLeader(expectedLastEpoch, this.options.clock.now()),
    );
    if (!rec) {
      this.emitRaw('refused', kind, 'lost_race', 'another member changed the leader key first');
      return null;
    }
    this.leaderMine = true;
    this.believedEpoch = rec.epoch;
    return rec;
  }

  /**
   * Re-reads the leader key right before `hdbnsutil -sr_takeover`: a promotion runs only while
   * the key is this site's at `epoch`. A refusal is a 'refused' event (stale_epoch when the term
   * moved on, not_leader when the key is gone or another's in the same term).
   */
  private async leaderStillMine(kind: Action['kind'], epoch: number): Promise<boolean> {
    let state: ClusterState;
    try {
      state = await this.storeCall('coordination read', () => this.session.read());
    } catch (err) {
      this.emitRaw(
        'refused',
        kind,
        'not_leader',
        `${kind} refused: the leader key cannot be read right before -sr_takeover (${errorMessage(err)})`,
      );
      return false;
    }
    const leader = state.leader;
    if (leader?.site === this.site && leader.epoch === epoch) return true;
    const now =
      leader === null
        ? `nobody holds the leader key (last epoch ${state.lastEpoch})`
        : `${leader.site} holds the leader key at epoch ${leader.epoch}`;
    const stale = (leader?.epoch ?? state.lastEpoch) !== epoch;
    this.emitRaw(
      'refused',
      kind,
      stale ? 'stale_epoch' : 'not_leader',
      `${kind} refused: it carries epoch ${epoch}, but ${now}`,
    );
    if (leader?.site !== this.site) this.leaderMine = false;
    return false;
  }

  private async promote(
    kind: 'takeover' | 'promote',
    epoch: number,
    handshake: boolean,
    planned: boolean,
    from: string | null,
  ): Promise<void> {
    const { clock, hana } = this.options;
    const actionMs = this.options.actionTimeoutMs ?? 120_000;
    if (!(await this.leaderStillMine(kind, epoch))) return;
    try {
      await withTimeout(clock, actionMs, 'takeover', (s) => hana.takeover({ handshake }, s));
    } catch (err) {
      if (!handshake) throw err;
      // The handshake needs the old primary; without it, a plain takeover is safe only if no
      // site may still write (src/domain/promotion.ts), judged on fresh facts: the store as it is
      // now and a direct check of each suspect. Otherwise keep the key and try again next cycle.
      const state = await this.storeCall('coordination read', () => this.session.read()).catch(() => null);
      if (state === null) {
        this.emitRaw(
          'refused',
          'takeover',
          'old_primary_may_write',
          `takeover with --suspendPrimary failed (${errorMessage(err)}) and the store cannot be read: not promoting blind`,
        );
        return;
      }
      const obs = this.observation(leaderViewOf(state, this.site), state);
      const suspects =
        from !== null
          ? [from]
          : promotionSuspects(
              obs,
              this.options.spec().sites.map((s) => s.name),
            );
      const fallback = handshakeFallback(
        obs,
        suspects,
        await this.checkSuspects(suspects),
        errorMessage(err),
      );
      if (!fallback.plain) {
        this.emitRaw('refused', 'takeover', fallback.reason, fallback.message);
        return;
      }
      this.emitRaw('action-failed', 'takeover', fallback.reason, fallback.message);
      // The checks took time: the key must still be ours right before the command.
      if (!(await this.leaderStillMine(kind, epoch))) return;
      await withTimeout(clock, actionMs, 'takeover', (s) => hana.takeover({ handshake: false }, s));
    }
    this.fenced = false;
    this.emitRaw(
      'action',
      'takeover',
      planned ? 'planned_takeover' : 'takeover_done',
      `${this.site} is primary at epoch ${epoch}${from ? ` (took over from ${from})` : ''}`,
    );
  }

  /** A direct check of each site, with the probe deadline; says why when there is no answer. */
  private async checkSuspects(sites: readonly string[]): Promise<Record<string, SuspectCheck>> {
    const { clock } = this.options;
    const probe = this.options.peers;
    const timeoutMs = this.options.spec().probes.timeoutSeconds * 1000;
    const checks: Record<string, SuspectCheck> = {};
    await Promise.all(
      sites.map(async (site) => {
        if (probe === undefined) {
          checks[site] = { kind: 'no-answer', why: 'blind' };
          return;
        }
        try {
          const view = await withTimeout(clock, timeoutMs, `peer check ${site}`, (s) => probe.check(site, s));
          checks[site] = checkOf(view);
        } catch (e) {
          const why =
            e instanceof TimeoutError ? 'timeout' : isAuthError(e) ? 'unauthenticated' : 'unreachable';
          checks[site] = { kind: 'no-answer', why, detail: errorMessage(e) };
        }
      }),
    );
    return checks;
  }

  private refuseStale(a: Action, state: ClusterState | null): void {
    this.emitRaw(
      'refused',
      a.kind,
      'stale_epoch',
      `${a.kind} refused: it carries epoch ${'epoch' in a ? a.epoch : '?'}, the store is at ${state?.lastEpoch ?? 'unknown'}`,
    );
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

/** A failed login (an error with code AUTH, as the SQL probe raises it). */
function isAuthError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'AUTH';
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
