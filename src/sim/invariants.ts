// Why this file is long: every invariant checked on every schedule, each with the evidence it reports; one place on purpose.
/**
 * Invariants that must hold on every schedule, checked while a scenario runs (a RunObserver):
 * - single-writer: at most one site accepts writes at any instant (after a start, takeover or
 *   registration by hand: once hanasr is in charge, maintenance off, every agent running and no
 *   primary frozen or hung, and has had a cycle to fence);
 * - no-lost-commit: no acknowledged commit is lost in sync/syncmem unless the schedule forced a
 *   takeover (a DBA's takeover or registration by hand, or a start by hand as above);
 * - in-sync-promotion: no automatic (or planned) promotion of a site that misses an acknowledged
 *   commit at that moment (the simulator's truth, not the agents' belief), sync/syncmem; commits
 *   a site acted on by hand took before hanasr could see it are the DBA's, as for no-lost-commit;
 * - no-blip-takeover: no automatic takeover from a primary whose only trouble was a blip shorter
 *   than the failure threshold, or no trouble at all (a takeover to the site a planned takeover
 *   request named, before any promotion since the request, is what the DBA asked for);
 * - nothing-in-maintenance: no agent action decided while maintenance is on.
 * And one availability measure (a finding, not a failure): after the last fault clears, a
 * writable primary with an in-sync secondary comes back within a bound the settings imply.
 */
import type { HanaSystemReplicationSpec } from '../api/spec.js';
import type { AgentEvent } from '../agent/agent.js';
import { maxWatchdogTimeoutSeconds, watchdogVerdict } from '../domain/fencing.js';
import { kindOf } from './fault-kinds.js';
import type { ObservedRun, RunObserver } from './runner.js';
import type { Fault, Scenario } from './scenario.js';

import type { InvariantName } from './invariant-names.js';
export { invariantNames, type InvariantName } from './invariant-names.js';

export interface Violation {
  readonly invariant: InvariantName;
  /** Seconds since the start of the scenario. */
  readonly t: number;
  readonly site?: string;
  readonly message: string;
}

export interface Liveness {
  /** Seconds: when the last fault cleared (the measurement starts there). */
  readonly from: number;
  /** Seconds the settings allow until a writable primary with an in-sync secondary is back. */
  readonly boundSeconds: number;
  /** Seconds: when it was back first (null: never within the scenario). */
  readonly recoveredAt: number | null;
  readonly ok: boolean;
  /** The agents' last decision reasons at the end (why nobody acted, when it missed). */
  readonly lastReasons: Readonly<Record<string, string>>;
  /** Nodes a fence left powered off at the end (a DBA powers them on: README, Limits). */
  readonly poweredOff: readonly string[];
}

/**
 * The time after the last fault cleared within which a writable primary with an in-sync
 * secondary must be back: detection (failure threshold, lease), local restarts, two instance
 * starts (the new secondary, a restarted one), a full data shipping of the simulator's data
 * volume (5 GB at 100 MB/s), a few agent cycles for each step, and fencing: a fence agent's
 * off (up to its timeout) or a watchdog's expiry, then the fenced node's boot (`nodes.bootSeconds`,
 * default 60) before its agent can register it again.
 */
export function livenessBoundSeconds(spec: HanaSystemReplicationSpec, nodes?: Scenario['nodes']): number {
  // An agent cycle: the interval, a probe and a peer check that may each run into their timeout,
  // and the store calls (answered at once once the store is back).
  const cycle = spec.probes.intervalSeconds + 2 * spec.probes.timeoutSeconds + 1;
  const detect =
    spec.takeover.failureThreshold * (spec.probes.intervalSeconds + spec.probes.timeoutSeconds) +
    spec.lease.ttlSeconds +
    cycle;
  const start = 36;
  const restarts = spec.takeover.preferSiteTakeover
    ? 0
    : spec.takeover.localRestartAttempts * (start + detect);
  const fullResync = 60;
  return Math.ceil(detect + restarts + 2 * start + fullResync + 6 * cycle + 30 + fencingSeconds(spec, nodes));
}

/** The longest a fence takes until the fenced node is back up (0: no fencing can happen). */
function fencingSeconds(spec: HanaSystemReplicationSpec, nodes: Scenario['nodes']): number {
  const watchdog =
    spec.fencing.watchdog.mode === 'disabled'
      ? 0
      : Math.max(
          watchdogTimeoutOf(spec, nodes, undefined),
          ...Object.values(nodes?.sites ?? {}).map((n) => n.watchdogTimeoutSeconds ?? 0),
        );
  // Off, then status until off (the fence's timeout at most), and the power on after the takeover.
  const fence = spec.fencing.agent !== undefined ? spec.fencing.agent.timeoutSeconds + 4 : 0;
  if (watchdog === 0 && fence === 0) return 0;
  return Math.max(watchdog, fence) + (nodes?.bootSeconds ?? 60);
}

/** A node's watchdog timeout in a simulated run (as the runner sets the devices up). */
function watchdogTimeoutOf(
  spec: HanaSystemReplicationSpec,
  nodes: Scenario['nodes'],
  site: string | undefined,
): number {
  return (
    (site !== undefined ? nodes?.sites?.[site]?.watchdogTimeoutSeconds : undefined) ??
    nodes?.watchdogTimeoutSeconds ??
    Math.max(1, Math.floor(maxWatchdogTimeoutSeconds(spec)))
  );
}

interface Window {
  readonly action: Fault['action'];
  readonly site: string | undefined;
  readonly start: number;
  end: number | null;
}

/**
 * Schedules outside what hanasr can handle, as README's Limits say: a primary whose agent is
 * dead while its site is cut off, frozen or hung has nobody left to stop it when its node has
 * neither a usable watchdog (mode disabled, no device, a timeout that does not fit the lease, or
 * removed since) nor a fence device that works (none configured, or failing or hanging since the
 * agent died): examples/scenarios/limit-no-fencing-agent-stopped-and-isolated.yaml. With either,
 * such schedules must hold every invariant (the node resets or is powered off, then a takeover).
 * Not an indexserver that hdbdaemon restarts by itself while the agent is dead: the site stays
 * reachable and its running instance counts as writing (decide.ts mayBeWriting), so a successor
 * never takes it over by the lease rule and must suspend it first (test/sim/invariants.test.ts).
 */
export const KNOWN_LIMITS = ['agent-down-while-cut-off-without-fencing'] as const;
// What leaves a primary nobody can reach or stop. Not block-replication: it cuts the log
// shipping only, the secondary's direct check still reaches the primary and never takes a
// running one over by its lease, so nothing there is beyond hanasr and a violation is a real one
// (test/sim/invariants.test.ts).
const CUT_OFF = new Set<Fault['action']>(['isolate-site', 'freeze-site', 'hang-instance']);

/** Whether a time at the known limit covers `t`. */
function limitOpenAt(l: { readonly since: number; readonly until: number | null }, t: number): boolean {
  return t >= l.since && (l.until === null || t <= l.until);
}

export class InvariantChecker implements RunObserver {
  readonly violations: Violation[] = [];
  /** Violations in a schedule that hit a known limit (reported apart, not failures). */
  readonly limitViolations: Violation[] = [];
  /** The known limit this schedule hit, if any. */
  limit: (typeof KNOWN_LIMITS)[number] | undefined;
  /**
   * Each time a site was at the limit: since its agent died, until its agent was back in charge
   * (running, the site no longer cut off) plus the time to act, or its node went down; null while
   * open. Only what happened inside is excused: two writers while one is open, commits the site
   * took then. Anything else in the same schedule is a violation (a sticky excuse hid a real bug:
   * sim:fuzz 1318931430).
   */
  private readonly limits: { site: string; since: number; until: number | null }[] = [];
  private run!: ObservedRun;
  private readonly spec0: HanaSystemReplicationSpec;
  private forced = false;
  private readonly windows: Window[] = [];
  /** When each promotion (takeover action) completed, on the run's clock (ms). */
  private readonly promotionTimes: number[] = [];
  private holder: string | null = null;
  private previousHolder: string | null = null;
  private readonly cycleInMaintenance = new Map<string, boolean>();
  /**
   * A node fence runs in the background, across cycles (actions.ts `fence-node`), and so may the
   * lease watchdog's stop of its own site, decided between cycles and waiting out a hung instance
   * (sim:fuzz 1319023439, 1319003605): whether one of each site and kind was decided on a view in
   * maintenance (the cycle then, or the agent's last read for the watchdog). Its outcome is judged
   * by that, not by the cycle it ends in.
   */
  private readonly fenceBeganInMaintenance = new Map<string, boolean>();
  /** Whether each site's latest power-on after a takeover started while maintenance was on. */
  private readonly powerOnBeganInMaintenance = new Map<string, boolean>();
  private readonly lastReason = new Map<string, string>();
  private writerSeen = false;
  /** Agents not running now (stop-agent, crash-node), and since when. */
  private readonly agentDown = new Map<string, number>();
  /** Nodes that went down through their fencing hardware (a watchdog reset, a fence), and when. */
  private readonly nodeDowns: { site: string; t: number }[] = [];
  /**
   * A human started or turned a site by hand: two writers from then on are the human's doing
   * until hanasr is in charge (maintenance off, every agent running, no primary frozen or hung)
   * and had a cycle to fence; lost commits too when hanasr could not act then (maintenance, the site's agent down).
   */
  private byHand: { until: number | null; site?: string } | undefined;
  /**
   * Each such override, for the commits taken in it: since the action by hand until hanasr had its
   * cycle to fence (null: still open). A site started or taken over by hand commits the moment it
   * is up, before its agent's next cycle can see it (sim:fuzz 940009708: a 112.8-s probe interval,
   * a former primary started by hand up 31 s later, stopped at its agent's next cycle): those
   * commits are the human's, as the two writers are, if they are lost later.
   */
  private readonly handWindows: { site?: string; since: number; until: number | null }[] = [];
  private recoveredAt: number | null = null;
  private livenessResult: Liveness | undefined;

  constructor(
    private readonly scenario: Scenario,
    private readonly options: { readonly livenessFrom?: number } = {},
  ) {
    this.spec0 = scenario.cluster;
  }

  get liveness(): Liveness | undefined {
    return this.livenessResult;
  }

  attach(run: ObservedRun): void {
    this.run = run;
  }

  private violate(invariant: InvariantName, tAbs: number, message: string, site?: string): void {
    this.record(this.violations, invariant, tAbs, message, site);
  }

  /** What a site at the known limit caused: reported apart, not a failure. */
  private excuse(invariant: InvariantName, tAbs: number, message: string, site?: string): void {
    this.record(this.limitViolations, invariant, tAbs, message, site);
  }

  private record(
    list: Violation[],
    invariant: InvariantName,
    tAbs: number,
    message: string,
    site?: string,
  ): void {
    if (list.some((v) => v.invariant === invariant)) return; // the first one tells
    list.push({ invariant, t: this.run.rel(tAbs), message, ...(site ? { site } : {}) });
  }

  /** Whether `t` falls in a time some site was at the known limit. */
  private underLimit(t: number): boolean {
    return this.limits.some((l) => limitOpenAt(l, t));
  }

  /** Whether a commit `origin` took at `time` was taken by a site at the limit, then. */
  private readonly takenAtLimit = (origin: string, time: number): boolean =>
    this.limits.some((l) => l.site === origin && limitOpenAt(l, time));

  private readonly notTakenAtLimit = (origin: string, time: number): boolean =>
    !this.takenAtLimit(origin, time);

  /**
   * Whether some site's agent is down while the site is cut off (the windows open now) and
   * nothing can fence its node: no usable watchdog, no working fence device.
   */
  private checkLimit(t: number): void {
    for (const [site, since] of this.agentDown) {
      if (this.limits.some((l) => l.site === site && l.until === null)) continue;
      if (
        this.cutOff(site) &&
        !this.watchdogFences(site, this.watchdogArmedBy(site, since)) &&
        !this.fenceAgentFences(site, since)
      ) {
        this.limit = 'agent-down-while-cut-off-without-fencing';
        this.limits.push({ site, since, until: null });
      }
    }
    // Back in charge: its agent runs and reaches the site. It has a lease's time, two cycles and
    // the skew bound to stop what the site did meanwhile (the watchdog's window is not needed:
    // nothing fenced it).
    const spec = this.spec0;
    const act =
      (spec.lease.ttlSeconds +
        2 * (spec.probes.intervalSeconds + spec.probes.timeoutSeconds) +
        spec.clock.maxSkewSeconds +
        7) *
      1000;
    for (const l of this.limits) {
      if (l.until === null && !this.agentDown.has(l.site) && !this.cutOff(l.site)) l.until = t + act;
    }
  }

  /**
   * Since when `site`'s watchdog must have been in place to reset its node, its agent dead since
   * `agentDownSince`: the agent arms a device that comes back at its next cycle, and it feeds
   * (so the reset comes before its lease can expire) only after a confirmed renewal. A device back
   * while the site is cut off is armed unfed: it resets the node a timeout after its return,
   * which may be after the lease ran out for a successor (sim:fuzz 1060039327, where before the
   * agent left it closed). So: a cycle before the agent died, or before the cut-off open now began.
   */
  private watchdogArmedBy(site: string, agentDownSince: number): number {
    let from = agentDownSince;
    for (const w of this.windows) {
      if (w.end === null && w.site === site && CUT_OFF.has(w.action)) from = Math.min(from, w.start);
    }
    const p = this.spec0.probes;
    return from - (p.intervalSeconds + p.timeoutSeconds) * 1000;
  }

  /** A fault that leaves nobody able to reach or stop the site is open on it. */
  private cutOff(site: string): boolean {
    return this.windows.some((w) => w.end === null && w.site === site && CUT_OFF.has(w.action));
  }

  /** A fault window of `action` on `site` open at some time since `since`. */
  private openSince(action: Fault['action'], site: string, since: number): boolean {
    return this.windows.some(
      (w) => w.action === action && w.site === site && (w.end === null || w.end >= since),
    );
  }

  /**
   * Whether `site`'s watchdog resets its node, the agent dead since `since`: the spec uses it
   * (not disabled), the node has one whose timeout fits the lease (watchdogVerdict), and it was
   * not taken away since (see watchdogArmedBy).
   */
  private watchdogFences(site: string, since: number): boolean {
    const spec = this.spec0;
    if (spec.fencing.watchdog.mode === 'disabled') return false;
    if (this.scenario.nodes?.sites?.[site]?.watchdog === false) return false;
    const timeoutSeconds = watchdogTimeoutOf(spec, this.scenario.nodes, site);
    if (!watchdogVerdict(spec, { present: true, timeoutSeconds, nowayout: false }).use) return false;
    return !this.openSince('remove-watchdog', site, since);
  }

  /** Whether a peer can power `site`'s node off: a fence agent configured, its device working since `since`. */
  private fenceAgentFences(site: string, since: number): boolean {
    return this.spec0.fencing.agent !== undefined && !this.openSince('fail-fencing', site, since);
  }

  nodeDown(site: string, t: number): void {
    this.nodeDowns.push({ site, t });
    // Off through its fencing hardware: the site at the limit writes no more.
    for (const l of this.limits) if (l.site === site && (l.until === null || l.until > t)) l.until = t;
  }

  fault(f: Fault, t: number, error?: string): void {
    this.applyFault(f, t, error);
    this.afterFault(t);
  }

  private applyFault(f: Fault, t: number, error?: string): void {
    if (error !== undefined) return;
    if (f.site !== undefined) {
      if ((f.action === 'stop-agent' || f.action === 'crash-node') && !this.agentDown.has(f.site)) {
        this.agentDown.set(f.site, t);
      }
      if (f.action === 'start-agent' || f.action === 'restore-node') this.agentDown.delete(f.site);
    }
    // A DBA's start, takeover or registration by hand: hanasr cannot prevent what it did, only
    // undo it (fence) once it can act.
    const hand = f.action === 'restart-instance' || kindOf(f.action)?.effect === 'forced';
    if (hand) {
      this.byHand = { until: null, ...(f.site !== undefined ? { site: f.site } : {}) };
      this.handWindows.push({ since: t, until: null, ...(f.site !== undefined ? { site: f.site } : {}) });
      if (this.run.spec().maintenance || (f.site !== undefined && this.agentDown.has(f.site)))
        this.forced = true;
    }
    this.handBackCheck(t);
    const kind = kindOf(f.action);
    if (kind?.effect === 'forced') this.forced = true;
    if (kind) {
      // A fault already open on that target is extended, not restarted.
      const open = this.windows.find((w) => w.action === f.action && w.site === f.site && w.end === null);
      if (!open) this.windows.push({ action: f.action, site: f.site, start: t, end: kind.clear ? null : t });
      return;
    }
    for (const w of this.windows) {
      if (w.end !== null || kindOf(w.action)?.clear !== f.action) continue;
      // An all-sites clear (unblock-replication without a site) ends every window of its kind.
      if (f.site === undefined || w.site === f.site) w.end = t;
    }
  }

  /** After each fault: a known limit reached? */
  private afterFault(t: number): void {
    this.checkLimit(t);
  }

  /** hanasr is in charge again: the override ends one agent cycle (and a fence) later. */
  private handBackCheck(t: number): void {
    if (!this.byHand) return;
    const maintenance = this.run.spec().maintenance;
    // A frozen or hung primary takes writes again the instant it answers, and nothing can stop it
    // before unless its node is reset or fenced: its agent, whose probes cannot read it meanwhile,
    // fences it in its first cycle after (sim:fuzz 883002063: A frozen, B taken over by hand, A
    // thawed next to it; 886000175: B hung, taken over by hand there, answering again 21 s later).
    const blindPrimary = this.scenario.cluster.sites.some((s) => {
      const v = this.run.model.peerView(s.name);
      return (v.frozen || v.hung) && v.srMode === 'primary';
    });
    const notInCharge = maintenance || this.agentDown.size > 0 || blindPrimary;
    if (this.byHand.until !== null) {
      // hanasr lost charge again before its cycle to fence came (maintenance on, an agent down:
      // sim:fuzz 1318943415, 1318934025): the override waits for it to be in charge again, and
      // lost commits are the human's doing when the site's own agent or everything stood still.
      if (t <= this.byHand.until && notInCharge) {
        const site = this.byHand.site;
        this.byHand = { until: null, ...(site !== undefined ? { site } : {}) };
        const w = this.handWindows[this.handWindows.length - 1];
        if (w !== undefined) w.until = null;
        if (maintenance || (site !== undefined && this.agentDown.has(site))) this.forced = true;
      }
      return;
    }
    if (notInCharge) return;
    const p = this.run.spec().probes;
    this.byHand.until = t + (p.intervalSeconds + 2 * p.timeoutSeconds + 7) * 1000;
    const w = this.handWindows[this.handWindows.length - 1];
    if (w !== undefined) w.until = this.byHand.until;
  }

  /** Whether a commit `origin` took at `time` was taken by a site acted on by hand, before hanasr could undo it. */
  private readonly takenByHand = (origin: string, time: number): boolean =>
    this.handWindows.some(
      (w) =>
        (w.site === undefined || w.site === origin) &&
        time >= w.since &&
        (w.until === null || time <= w.until),
    );

  /** A commit hanasr answers for: not taken at the known limit, nor by a site acted on by hand before hanasr could undo it. */
  private readonly countsAgainstHanasr = (origin: string, time: number): boolean =>
    this.notTakenAtLimit(origin, time) && !this.takenByHand(origin, time);

  private underHand(t: number): boolean {
    return this.byHand !== undefined && (this.byHand.until === null || t <= this.byHand.until);
  }

  cycleStart(site: string, _t: number, spec: HanaSystemReplicationSpec): void {
    this.cycleInMaintenance.set(site, spec.maintenance);
  }

  agentEvent(e: AgentEvent): void {
    if (e.event === 'decision') {
      this.lastReason.set(e.site, e.reason);
      if (e.action === 'fence-node' || e.action === 'fence') {
        // The latest decision of its kind is the one its outcomes belong to (several per decision:
        // a stop that does not complete, then the kill, then the end).
        this.fenceBeganInMaintenance.set(
          `${e.site} ${e.action}`,
          this.cycleInMaintenance.get(e.site) === true,
        );
      }
      return;
    }
    // The power-on after a takeover runs in the background, from the moment it says it starts:
    // maintenance then (the live spec) is what counts for its outcome, not the cycle it ends in.
    if (e.event === 'fencing' && e.reason === 'node_power_on') {
      this.powerOnBeganInMaintenance.set(e.site, this.run.spec().maintenance);
      return;
    }
    if ((e.event === 'action' || e.event === 'action-failed') && e.action !== 'none') {
      const powerOn =
        e.action === 'fence-node' && (e.reason === 'node_powered_on' || e.reason === 'node_power_on_failed');
      // A fence's outcome: the decision's cycle.
      const fenceOutcome = e.action === 'fence' || (e.action === 'fence-node' && !powerOn);
      const began = fenceOutcome
        ? this.fenceBeganInMaintenance.get(`${e.site} ${e.action}`)
        : powerOn
          ? this.powerOnBeganInMaintenance.get(e.site)
          : undefined;
      // Decided in a cycle that began in maintenance, and maintenance still on (the lease
      // watchdog decides outside the cycle, on the spec of its own moment).
      if ((began ?? this.cycleInMaintenance.get(e.site) === true) && this.run.spec().maintenance) {
        this.violate(
          'nothing-in-maintenance',
          e.t,
          `${e.site} ${e.event === 'action' ? 'did' : 'tried'} ${e.action} (${e.reason}) in a cycle that began in maintenance`,
          e.site,
        );
      }
    }
    if (e.event === 'action' && e.action === 'takeover') {
      this.promoted(e);
      this.promotionTimes.push(this.run.clock.now());
    }
  }

  private promoted(e: AgentEvent): void {
    const { model } = this.run;
    const spec = this.run.spec();
    const planned = e.reason === 'planned_takeover';
    if (spec.replication.mode !== 'async' && !this.forced) {
      const missing = model.missingAcknowledged(e.site);
      // As for no-lost-commit: the commits a site at the limit took while nobody could stop it,
      // and those a site started or taken over by hand took before hanasr had its cycle to see
      // it, are not the promotion's to know (sim:fuzz 1070071714: a primary started by hand
      // 2.8 s before its site was cut off committed alone for the 1.7 s between the end of its
      // start and its agent's next cycle, 75.8 s after the last; nothing could record it SFAIL).
      const real =
        this.limits.length === 0 && this.handWindows.length === 0
          ? missing
          : model.missingAcknowledged(e.site, this.countsAgainstHanasr);
      const message = (n: number, at = '') =>
        `${planned ? 'planned' : 'automatic'} promotion of ${e.site}, which lacks ${n} acknowledged commit(s) (${spec.replication.mode})${at}`;
      if (real > 0) this.violate('in-sync-promotion', e.t, message(real), e.site);
      else if (missing > 0 && this.limits.length > 0)
        this.excuse(
          'in-sync-promotion',
          e.t,
          message(missing, ', taken by a site at the known limit'),
          e.site,
        );
    }
    if (planned) return;
    const from = this.holder !== null && this.holder !== e.site ? this.holder : this.previousHolder;
    if (from === null || from === e.site) return;
    this.checkCause(from, e);
  }

  /** The old primary must have failed for real, or for at least the failure threshold. */
  private checkCause(from: string, e: AgentEvent): void {
    const spec = this.run.spec();
    const threshold = (spec.takeover.failureThreshold - 1) * spec.probes.intervalSeconds * 1000;
    const now = this.run.clock.now();
    // Its node reset by its watchdog or powered off by a fence: a failure for real (a frozen
    // primary resets within the watchdog's timeout, however short the freeze).
    if (this.nodeDowns.some((d) => d.site === from && d.t <= now)) return;
    // A DBA asked for a planned takeover to this site, and no promotion came since: this one is
    // what was asked for, not a blip's (sim:fuzz 1150006009: the target won the key, could not
    // arm its required watchdog and released it; the old primary stopped itself next to a last
    // leader other than itself, and the target, its watchdog back, retried the takeover).
    const request = this.windows.filter(
      (w) => w.action === 'planned-takeover' && w.site === e.site && w.start <= now,
    );
    const asked = request.length > 0 ? Math.max(...request.map((w) => w.start)) : undefined;
    if (asked !== undefined && !this.promotionTimes.some((t) => t >= asked)) return;
    const blips: string[] = [];
    const spans: { start: number; end: number }[] = [];
    for (const w of this.windows) {
      if (w.start > now || (w.site !== undefined && w.site !== from)) continue;
      const effect = kindOf(w.action)?.effect;
      if (effect === 'failure' || effect === 'forced') return;
      if (effect !== 'probe-blip') continue;
      const end = Math.min(w.end ?? now, now);
      spans.push({ start: w.start, end });
      blips.push(`${w.action} for ${Math.round(end - w.start) / 1000}s`);
    }
    // Blips that overlap are one outage to the probe (tools hung, then the instance hung before
    // the tools came back: sim:fuzz 1319003919): the failure threshold counts their union. So are
    // blips apart by less than a cycle, in which no probe need have answered (sim:fuzz 960043817:
    // a 4.8-s freeze, 2.8 s later probe tools hung for 24.5 s; probes every 10 s failed four times
    // in a row, 32 s after the freeze began, against a threshold of 30 s).
    const gap = (spec.probes.intervalSeconds + spec.probes.timeoutSeconds) * 1000;
    spans.sort((a, b) => a.start - b.start);
    let run: { start: number; end: number } | undefined;
    for (const span of spans) {
      if (run !== undefined && span.start < run.end + gap) run.end = Math.max(run.end, span.end);
      else run = { ...span };
      if (run.end - run.start >= threshold) return;
    }
    this.violate(
      'no-blip-takeover',
      e.t,
      blips.length > 0
        ? `${e.site} took over from ${from} after only ${blips.join(', ')} (failure threshold ${threshold / 1000}s)`
        : `${e.site} took over from ${from}, which had no failure`,
      e.site,
    );
  }

  sample(t: number, leader: string | null): void {
    if (leader !== null && leader !== this.holder) {
      this.previousHolder = this.holder;
      this.holder = leader;
    }
    const { model } = this.run;
    this.handBackCheck(t);
    if (!this.writerSeen && model.maxConcurrentWritable() > 1) {
      if (this.byHand === undefined && this.limits.length === 0) {
        this.writerSeen = true;
        this.violate('single-writer', t, 'two or more sites accepted writes at one instant');
      } else if (model.writableCount() > 1 && !this.underHand(t)) {
        if (this.underLimit(t)) {
          this.excuse(
            'single-writer',
            t,
            'two or more sites accepted writes at one instant, one at the known limit',
          );
        } else {
          this.writerSeen = true;
          this.violate(
            'single-writer',
            t,
            this.byHand !== undefined
              ? 'two or more sites accept writes, after hanasr was back in charge of a start by hand'
              : 'two or more sites accept writes, after hanasr was back in charge of the site at the known limit',
          );
        }
      }
    }
    const from = this.options.livenessFrom;
    if (from !== undefined && this.recoveredAt === null && this.run.rel(t) >= from) {
      if (leader !== null && model.servesWithInSyncSecondary(leader)) this.recoveredAt = this.run.rel(t);
    }
  }

  finish(t: number): void {
    const { model, store, cluster } = this.run;
    if (!this.writerSeen && this.byHand === undefined && model.maxConcurrentWritable() > 1) {
      // With a site at the limit, the samples judged each instant; one they did not see is
      // counted at the limit, as before.
      if (this.limits.length === 0)
        this.violate('single-writer', t, 'two sites accepted writes at one instant');
      else
        this.excuse('single-writer', t, 'two sites accepted writes at one instant, one at the known limit');
    }
    const leader = store.leaderOf(cluster);
    const primary = leader !== null && model.acceptsWrites(leader) ? leader : null;
    const lost = model.stats(primary).lostCommittedWrites;
    if (lost > 0 && this.spec0.replication.mode !== 'async' && !this.forced) {
      // Commits the site at the limit took while nobody could stop it are its own, and so are
      // the commits of a site acted on by hand before hanasr could undo it; any other lost commit
      // is a violation (on the site that holds the most, as stats() measures).
      const counts = this.countsAgainstHanasr;
      const real =
        this.limits.length === 0 && this.handWindows.length === 0
          ? lost
          : primary !== null
            ? model.missingAcknowledged(primary, counts)
            : Math.min(...this.scenario.cluster.sites.map((s) => model.missingAcknowledged(s.name, counts)));
      const message = (n: number, at = '') =>
        `${n} acknowledged commit(s) missing on ${primary ?? 'every site'} (${this.spec0.replication.mode})${at}`;
      if (real > 0) this.violate('no-lost-commit', t, message(real));
      // Lost commits taken by hand only are the human's: nothing to report.
      else if (this.limits.length > 0)
        this.excuse('no-lost-commit', t, message(lost, ', taken by a site at the known limit'));
    }
    const from = this.options.livenessFrom;
    if (from !== undefined) {
      const boundSeconds = livenessBoundSeconds(this.spec0, this.scenario.nodes);
      const ok = this.recoveredAt !== null && this.recoveredAt - from <= boundSeconds;
      this.livenessResult = {
        from,
        boundSeconds,
        recoveredAt: this.recoveredAt,
        ok,
        lastReasons: Object.fromEntries(this.lastReason),
        poweredOff: this.scenario.cluster.sites.map((s) => s.name).filter((s) => this.run.poweredOff(s)),
      };
    }
  }
}

/** Whether `scenario` lasts long enough after `from` for its liveness bound to be measured. */
export function livenessMeasurable(scenario: Scenario, from: number): boolean {
  return from + livenessBoundSeconds(scenario.cluster, scenario.nodes) <= scenario.durationSeconds;
}
