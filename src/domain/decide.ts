// Why this file is long: every branch of decide() with its machine reason and message, kept in one place on purpose (Patroni ha.py style).
/**
 * The decision engine: one pure function from what an agent sees to what it should do, with a
 * machine reason and a human message. No I/O, no clock: `now` is passed in.
 *
 * Safety rules (each has tests that try to break it):
 * - Only a secondary that was in sync (SOK) at the last trustworthy report is promoted
 *   automatically; SFAIL or unknown means the primary is restarted locally instead. In async
 *   mode only within the explicit lag bound.
 * - A failed primary is given up only after `failureThreshold` consecutive failed probes.
 * - `preferSiteTakeover: false` restarts the primary locally first.
 * - Never two primaries: a site that sees the leader key held by another site, or cannot renew its
 *   own lease, fences itself before its lease can expire; a returning former primary never
 *   starts as primary (it waits, or registers when allowed, with the last-primary-timestamp rule).
 * - A store outage alone does not fence a healthy primary that sees all its peers (failsafe) —
 *   only the leader's: a site that did not hold the key at its last store read stops a primary
 *   it runs as soon as it cannot reach the store (no lease vouches for it).
 * - Maintenance: observe and report, never act.
 */
import type { HanaSystemReplicationSpec, SiteSpec } from '../api/spec.js';
import type { Action, Decision } from './decision.js';
import { NONE } from './decision.js';
import { decideAdoption, decideAdoptionPending, decideTurnedLeader, otherWriter } from './adoption.js';
import { hasLiveProcess } from './health.js';
import { decideUnknownLocalState, localStateUnknown } from './local-state.js';
import { decideRegion, gateByRegion } from './region.js';
import { checkOf, promotionSuspects, writerState } from './promotion.js';
import type { Observation, PeerView } from './observation.js';
import {
  inSyncVerdict,
  primaryViewOf,
  selfViewOf,
  type InSyncVerdict,
  type PrimaryView,
} from './sync-trust.js';
import type { HanaHealth, Intent } from './types.js';

/** A leader that has not renewed its lease for this fraction of the TTL fences itself. */
export const FENCE_AFTER_TTL_FRACTION = 0.7;

export function fenceDeadlineMs(spec: HanaSystemReplicationSpec): number {
  return spec.lease.ttlSeconds * 1000 * FENCE_AFTER_TTL_FRACTION;
}

export { cycleMs } from './sync-trust.js';

/** Store calls of a live leader's cycle before its report is out (read, renew, write), allowed for. */
export const LEADER_STORE_ALLOWANCE_MS = 1000;

/**
 * How long a leader that holds the key must have been silent to another site (its report
 * unchanged, its node not answering) before that site may fence it: failureThreshold x interval,
 * the time a failing primary is given on its own site, but never less than the longest gap
 * between two reports of a live leader: its next cycle starts at most an interval after the last
 * one did, and publishes after its probe (up to the probe timeout) and its store calls.
 */
export function leaderSilenceWindowMs(spec: HanaSystemReplicationSpec): number {
  const { intervalSeconds, timeoutSeconds } = spec.probes;
  return wholeMs(
    Math.max(
      spec.takeover.failureThreshold * intervalSeconds * 1000,
      (intervalSeconds + timeoutSeconds) * 1000 + LEADER_STORE_ALLOWANCE_MS,
    ),
  );
}

/**
 * A duration made of settings in seconds, in whole milliseconds, rounded up: 13 × 1.3 s is
 * 16900.000000000004 ms in floating point, and a timer set to the difference of two such values
 * can lie a few picoseconds ahead, which a virtual clock cannot tell from now (sim:fuzz
 * 1326091883 never ended). The 1e-6 absorbs that error; a real fraction of a millisecond still
 * rounds up, so the window is never shorter than the settings say.
 */
export function wholeMs(ms: number): number {
  return Math.ceil(ms - 1e-6);
}

/**
 * How long a lost leader (its key ran out, its agent gone) must have been silent to this agent's
 * direct checks before the lease rule stands in for a fence of it that is still running or that
 * failed (decideNoLeader): lease.ttlSeconds, counted on this agent's monotonic clock from the
 * node's last answer to any direct check. Only this agent's clock is used: no time of another host.
 *
 * Why not "wait for the fence" (sim:fuzz 1319015437): a lost leader whose agent is gone and whose
 * node has no usable watchdog never stops by itself; only the fence stops it. The lease rule used
 * to stand in for a running fence at once, and let a successor take over 0.8 s after the old
 * primary answered as writable, during a 1-s cut; the old primary wrote beside it when the cut
 * ended, until the fence landed. Waiting for the fence's outcome instead loses every takeover with
 * a hung fence device (examples/scenarios/crash-primary-node-fence-fails.yaml): the fence runs
 * fencing.agent.timeoutSeconds (60 s by default), and by then the successor's last contact with
 * the primary is older than replication.logShippingTimeoutSeconds, so it is no longer trusted as
 * in sync and nothing is promoted.
 *
 * What the silence buys, and what it does not: no silence proves such a node stopped (no
 * self-fence, no watchdog reset). A node out of reach for less than the TTL never lets the
 * takeover overtake the fence: it answers again and the wait goes on until the fence confirms the
 * off (then the takeover) or fails. A working fence device lands within its off call and a status
 * poll (fencing.agent.callTimeoutSeconds, statusIntervalSeconds; seconds in practice, 2 s in the
 * simulator), so two writers are left only when the node stays out of reach for a whole TTL while
 * the device has not powered it off: a device slower than the TTL, or one that hangs (then the
 * README's limit of a dead agent on a cut-off primary that nothing can fence), or a failed fence.
 *
 * Why the TTL, and not the leader silence window (failureThreshold x interval, at least a probe
 * cycle and the store allowance; 1.2 s at the smallest intervals, shorter than the simulator's
 * 2-s fence): it is the longest silence the schema's timing rule affords while keeping the
 * successor trusted after a node loss with a hung fence. The silence counts from the node's last
 * answer, at most when it died (t0). The key ran out by t0 + TTL (its last renewal came before
 * t0) and is read within a cycle; the silence reaches the TTL by t0 + TTL; the first cycle that
 * starts after that (an interval) decides once its check of the silent node times out (the probe
 * timeout): by t0 + TTL + a cycle (interval + probe timeout), as the lease rule alone. The schema
 * (lease.ttlSeconds + 3 x (interval + timeout) + clock.maxSkewSeconds <
 * logShippingTimeoutSeconds, src/api/spec.ts) keeps the successor trusted that long: its last SOK
 * is at most a cycle before t0, and it is trusted until a cycle and the skew bound before contact
 * + logShippingTimeoutSeconds (src/domain/sync-trust.ts). A longer wait would not be covered: the
 * window alone may exceed the TTL by far (failureThreshold up to 100), and
 * test/sim/fencing-scenarios.test.ts shows that a 40-s window then promotes nothing.
 */
export function lostLeaderSilenceMs(spec: HanaSystemReplicationSpec): number {
  return wholeMs(spec.lease.ttlSeconds * 1000);
}

/** Two direct checks of a leader's node without an answer, at least, before it counts as silent. */
export const LEADER_SILENCE_MIN_CHECKS = 2;

const decision = (action: Action, reason: string, message: string): Decision => ({ action, reason, message });
const none = (reason: string, message: string): Decision => decision(NONE, reason, message);

export function decide(obs: Observation, spec: HanaSystemReplicationSpec, now: number): Decision {
  const d = gateByRegion(decideActive(obs, spec, now), obs, spec);
  if (spec.maintenance && d.action.kind !== 'none') {
    return none('maintenance_mode', `maintenance mode: observing only (would have: ${d.message})`);
  }
  if (spec.maintenance) return none(d.reason, `maintenance mode: ${d.message}`);
  return d;
}

function isWritablePrimary(h: HanaHealth): boolean {
  return h.probeOk && h.srRole === 'primary' && h.acceptsWrites;
}

/**
 * The instance is coming up (its daemon or nameserver YELLOW, nothing RED): starting it again
 * would not help. An indexserver restarting alone after a crash is not this: that is a failure.
 */
export function isStarting(h: HanaHealth): boolean {
  const p = h.processes;
  const colours = Object.values(p);
  return (
    !h.running && !colours.includes('RED') && (p['hdbnameserver'] === 'YELLOW' || p['hdbdaemon'] === 'YELLOW')
  );
}

function isHealthySecondary(h: HanaHealth): boolean {
  return h.probeOk && h.running && h.srRole === 'secondary';
}

function siteSpec(spec: HanaSystemReplicationSpec, name: string): SiteSpec | undefined {
  return spec.sites.find((s) => s.name === name);
}

function currentEpoch(obs: Observation): number {
  if (obs.leader.state === 'held') return obs.leader.leader.epoch;
  if (obs.leader.state === 'free') return obs.leader.lastEpoch;
  return 0;
}

/**
 * The in-sync rule (src/domain/sync-trust.ts) for `candidate` as this agent sees it: its own
 * skew measurement when it is the candidate, else the candidate's published one.
 */
export function promotable(
  obs: Observation,
  spec: HanaSystemReplicationSpec,
  candidate: string,
  primary: string,
  lastEpoch: number,
  primaryView: PrimaryView,
  now: number,
): InSyncVerdict {
  const skew =
    candidate === obs.self ? obs.clockSkew?.[primary] : obs.reports[candidate]?.clockSkew?.[primary];
  return inSyncVerdict(spec, {
    candidate,
    primary,
    lastEpoch,
    record: obs.sync[candidate],
    primaryView,
    skew,
    candidateDownSeenAt:
      candidate === obs.self ? (obs.local.downSeenAt ?? null) : (obs.reports[candidate]?.downSeenAt ?? null),
    now,
  });
}

/** Sites that may be promoted automatically from `primary`, best first (priority, then name). */
export function takeoverCandidates(
  obs: Observation,
  spec: HanaSystemReplicationSpec,
  primary: string,
  lastEpoch: number,
  primaryView: PrimaryView,
  now: number,
): string[] {
  const out: SiteSpec[] = [];
  for (const site of spec.sites) {
    if (site.name === primary || !site.autoTakeover) continue;
    // Never across regions automatically (docs/dr.md): only a disaster takeover or a switchover.
    if (site.region !== undefined && site.region !== siteSpec(spec, primary)?.region) continue;
    if (site.source !== undefined && site.source !== primary) continue;
    const health = site.name === obs.self ? obs.local.health : obs.reports[site.name]?.health;
    if (!health || !isHealthySecondary(health)) continue;
    if (health.source !== undefined && health.source !== primary) continue;
    if (!promotable(obs, spec, site.name, primary, lastEpoch, primaryView, now).ok) continue;
    out.push(site);
  }
  out.sort((a, b) => b.priority - a.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out.map((s) => s.name);
}

function intentsFor(obs: Observation, kind: Intent['kind']): Intent[] {
  return obs.intents.filter((i) => i.kind === kind);
}

function decideActive(obs: Observation, spec: HanaSystemReplicationSpec, now: number): Decision {
  const me = siteSpec(spec, obs.self);
  if (!me) return none('unknown_site', `site ${obs.self} is not in the spec; not acting`);
  const epoch = currentEpoch(obs);

  const fenceIntent = obs.intents.find((i) => i.kind === 'fence' && i.site === obs.self);
  // A register request releases a fence request (the runbook's "fence, then register").
  const registerRequested = obs.intents.some((i) => i.kind === 'register' && i.site === obs.self);
  if (fenceIntent && !registerRequested) {
    // Fenced means a stop this agent confirmed, and a readable probe with every process stopped
    // since: a failed probe (a hung instance), a start in progress, or a site that stopped by
    // itself (not yet confirmed by a stop) is stopped (again).
    const h = obs.local.health;
    if (!obs.local.fenced || !h.probeOk || h.running || h.acceptsWrites || hasLiveProcess(h)) {
      return decision(
        { kind: 'fence', epoch: fenceIntent.epoch, mode: 'stop', intentId: fenceIntent.id },
        'fence_requested',
        `fencing requested for ${obs.self}: stopping it`,
      );
    }
    return none(
      'fenced_by_request',
      `${obs.self} is fenced on request; release it (hanasr fence --release) or register it (hanasr register)`,
    );
  }

  // Regions first (docs/dr.md): outside the active region nobody leads; a disaster takeover.
  const regional = decideRegion(obs, spec, now, mayBeWriting);
  if (regional !== null) return regional;

  switch (obs.leader.state) {
    case 'unknown':
      return decideWithoutStore(obs, spec, now, obs.leader.error);
    case 'held':
      return obs.leader.mine ? decideAsLeader(obs, spec, now) : decideUnderOtherLeader(obs, spec, now);
    case 'free':
      return decideWithoutLeader(obs, spec, now, epoch);
  }
}

/**
 * The local site may be taking writes: a writable primary, or a primary whose probe fails (a hung
 * or unreadable primary is not known to have stopped writing: unknown is never safe), or a primary
 * whose processes run but cannot take writes right now (starting, started by hand while cut off,
 * or hdbdaemon restarting its indexserver): it takes writes the moment it is up, possibly next to
 * a successor. Only a fully stopped instance (all GRAY) or a secondary does not.
 */
export function mayBeWriting(h: HanaHealth): boolean {
  return (
    isWritablePrimary(h) ||
    (h.probeOk && h.srRole === 'primary' && hasLiveProcess(h)) ||
    (!h.probeOk && h.srRole !== 'secondary')
  );
}

/** The store cannot be read: nobody can win the key, so only the question of self-fencing remains. */
function decideWithoutStore(
  obs: Observation,
  spec: HanaSystemReplicationSpec,
  now: number,
  error: string,
): Decision {
  const h = obs.local.health;
  // A site that may be taking writes: a writable primary, or a leader whose probe fails (a hung
  // or unreadable primary is not known to have stopped writing: unknown is never safe). A primary
  // whose processes run but cannot take writes right now (starting, started by hand while cut
  // off, or hdbdaemon restarting its indexserver) takes writes the moment it is up, possibly next
  // to a successor: it counts as writing. Only a fully stopped instance (all GRAY) does not.
  if (obs.leader.state !== 'unknown') throw new Error('unreachable');
  const wasLeader = obs.leader.wasMine;
  // Only a leader's lease can be valid: the session lease of a site that does not hold the key
  // (leaseAgeMs) vouches for nothing, so only its last writable probe counts. An agent that has
  // read no probe of its site since it started, and holds no key, knows nothing of it: it may be
  // a primary that writes (sim:fuzz 1140014018: the leader's agent died while cut off, just
  // before its self-fence; a new one started under probe tools that hung, the store out of reach,
  // and waited while B took over and A went on writing). Unknown is never healthy.
  const unreadSinceStart = !h.probeOk && !wasLeader && obs.local.lastKnownRole === undefined;
  const mayWrite =
    mayBeWriting(obs.local.health) &&
    (h.probeOk ||
      unreadSinceStart ||
      (obs.local.lastWritableAt !== null && (obs.leaseAgeMs !== null || !wasLeader)));
  if (!mayWrite) {
    return none('coordination_unreachable', `coordination store unreachable (${error}); not acting`);
  }
  if (!wasLeader) {
    // A primary without the key (taken over or started by hand while cut off, or an agent that
    // has not read the store since it started): no lease vouches for it, and the leader (or a
    // successor) may be writing. Unknown is never healthy: stop it now, no failsafe without the
    // key (Patroni demotes such a primary too).
    return decision(
      { kind: 'fence', epoch: currentEpochFromReports(obs), mode: 'stop' },
      'not_leader_store_unreachable',
      `${obs.self} runs as primary${h.probeOk ? '' : ` or cannot be read (${h.probeError ?? 'unknown'})`} but did not hold the leader key at its last store read, and the store is unreachable (${error}): no lease vouches for it, stopping it`,
    );
  }
  // A start of this primary its agent saw (a DBA's start after a crash) and could not record its
  // secondaries SFAIL for (sfailBeforeStart): once up, the primary commits alone at once, and a
  // successor would trust a SOK from before the start (sim:fuzz 990014876: the start and the cut
  // came 0.4 s apart, the takeover at the lease's end promoted a site lacking what it committed).
  // Stop it now, not at the lease deadline and not kept by the failsafe: as leader, once it
  // reaches the store, the agent starts it again, recording SFAIL first.
  if (obs.local.startUnrecorded === true && h.probeOk && h.srRole === 'primary' && hasLiveProcess(h)) {
    return decision(
      { kind: 'fence', epoch: currentEpochFromReports(obs), mode: 'stop' },
      'start_unrecorded',
      `${obs.self} is starting as primary and the store is unreachable (${error}), so its secondaries cannot be recorded SFAIL for the start: stopping it before it commits alone`,
    );
  }
  const others = spec.sites.filter((s) => s.name !== obs.self);
  const peersConfirm = others.every((s) => {
    const p = obs.peers[s.name];
    return p !== undefined && p.reachable && !p.acceptsWrites && p.role === 'secondary';
  });
  if (peersConfirm) {
    return none(
      'failsafe_peers_healthy',
      `coordination store unreachable, but all ${others.length} peer site(s) are reachable secondaries: keeping the primary running (failsafe)`,
    );
  }
  const age = obs.leaseAgeMs;
  const since = age === null ? Infinity : age;
  const deadline = fenceDeadlineMs(spec);
  if (since >= deadline) {
    return decision(
      { kind: 'fence', epoch: currentEpochFromReports(obs), mode: 'stop' },
      'lease_not_renewed',
      `cannot renew the leader lease for ${age === null ? 'ever' : `${Math.round(since / 100) / 10}s`} and not every peer is reachable: fencing before the lease can expire`,
    );
  }
  return none(
    'lease_renewal_failing',
    `coordination store unreachable (${error}); fencing in ${Math.round((deadline - since) / 100) / 10}s unless the lease is renewed or every peer is seen`,
  );
}

/** A required watchdog that is not usable here: this site never leads (Patroni's `required`). */
function watchdogForbids(obs: Observation, what: string): Decision {
  return none(
    'watchdog_required_unusable',
    `${obs.self} does not ${what}: ${obs.watchdog?.message ?? 'its watchdog is required but unusable'}`,
  );
}

function currentEpochFromReports(obs: Observation): number {
  return obs.reports[obs.self]?.epoch ?? 0;
}

/** This site holds the leader key. */
function decideAsLeader(obs: Observation, spec: HanaSystemReplicationSpec, now: number): Decision {
  if (obs.leader.state !== 'held') throw new Error('unreachable');
  const { epoch } = obs.leader.leader;
  const h = obs.local.health;

  // Not only a writable primary: a hung one whose probe times out may still write, and one that is
  // starting writes the moment it is up. Its stop may not complete: the watchdog, unfed from now
  // on, resets the node before the lease can expire.
  if (obs.leaseAgeMs !== null && obs.leaseAgeMs >= fenceDeadlineMs(spec) && mayBeWriting(obs.local.health)) {
    const what = isWritablePrimary(h)
      ? ''
      : `; ${obs.self} is not readable as stopped (${h.probeError ?? 'not writable yet'}), so it may still write`;
    return decision(
      { kind: 'fence', epoch, mode: 'stop' },
      'lease_not_renewed',
      `the leader lease was last renewed ${Math.round(obs.leaseAgeMs / 1000)}s ago${what}: fencing before it can expire`,
    );
  }

  // Turned by hand into a secondary of another site (maintenance): hand the key over, never promote back.
  const turned = decideTurnedLeader(obs, spec, now);
  if (turned !== null) return turned;

  if (h.probeOk && h.srRole === 'secondary') {
    // A promotion while another site may still take writes (it answers writable, or nothing
    // confirms it stopped: src/domain/promotion.ts) must suspend it first (handshake); without
    // the handshake, wait: that site sees our key and fences itself within a cycle.
    const suspects = new Set(
      promotionSuspects(
        obs,
        spec.sites.map((s) => s.name),
      ),
    );
    for (const [site, p] of Object.entries(obs.peers))
      if (site !== obs.self && p.acceptsWrites) suspects.add(site);
    const mayWrite = [...suspects]
      .map((site) => writerState(obs, site, checkOf(obs.peers[site])))
      .filter((v) => v.state !== 'not-writing');
    if (mayWrite.length > 0 && !spec.takeover.handshake) {
      return none(
        'waiting_for_old_primary_to_stop',
        `holding the leader key at epoch ${epoch}, but ${mayWrite.map((v) => v.why).join('; ')}: waiting for it to fence itself before promoting ${obs.self}`,
      );
    }
    const handshake = spec.takeover.handshake && (obs.handoverTo === obs.self || mayWrite.length > 0);
    return decision(
      { kind: 'promote', epoch, handshake },
      'promote_after_acquiring_leader',
      `holding the leader key at epoch ${epoch}: promoting ${obs.self} to primary`,
    );
  }

  if (isWritablePrimary(h)) return decideHealthyLeader(obs, spec, now, epoch);

  // The local primary is down, hung or unreadable.
  const threshold = spec.takeover.failureThreshold;
  if (isStarting(h)) {
    return none('primary_starting', `primary ${obs.self} is starting`);
  }
  if (obs.local.fenced && h.probeOk && h.srRole === 'primary') {
    return decision(
      { kind: 'start-local', epoch, restart: false },
      'unfence_still_leader',
      `still the leader at epoch ${epoch} after fencing ${obs.self}: starting it again`,
    );
  }
  if (obs.local.failedProbes < threshold) {
    return none(
      'primary_probe_failed_below_threshold',
      `primary ${obs.self} failed ${obs.local.failedProbes} of ${threshold} probes (${h.probeError ?? 'not running'}); waiting`,
    );
  }
  const self: PrimaryView = selfViewOf(obs.local);
  const candidates = takeoverCandidates(obs, spec, obs.self, epoch, self, now);
  const best = candidates[0];
  const restartsLeft = obs.local.localRestarts < spec.takeover.localRestartAttempts;
  if (best !== undefined && spec.takeover.automatic && (spec.takeover.preferSiteTakeover || !restartsLeft)) {
    return decision(
      { kind: 'step-down', epoch, fence: 'stop' },
      'primary_failed_takeover',
      `primary ${obs.self} failed ${obs.local.failedProbes} consecutive probes: stopping it and releasing the leader key for in-sync secondary ${best}`,
    );
  }
  const why =
    best === undefined
      ? 'no secondary is in sync (SFAIL or unknown)'
      : !spec.takeover.automatic
        ? 'automatic takeover is off'
        : 'preferSiteTakeover is false';
  return decision(
    { kind: 'start-local', epoch, restart: true },
    best === undefined ? 'secondary_not_in_sync_restart_locally' : 'restart_primary_locally',
    `primary ${obs.self} failed ${obs.local.failedProbes} consecutive probes and ${why}: restarting it locally`,
  );
}

function decideHealthyLeader(
  obs: Observation,
  spec: HanaSystemReplicationSpec,
  now: number,
  epoch: number,
): Decision {
  const rogue = decideFenceRogueWriter(obs, spec, now, epoch);
  if (rogue !== null) return rogue;
  for (const intent of intentsFor(obs, 'planned-takeover')) {
    if (intent.kind !== 'planned-takeover') continue;
    if (intent.epoch !== epoch) {
      return decision(
        { kind: 'refuse-intent', epoch, intentId: intent.id },
        'stale_epoch',
        `planned takeover to ${intent.target} carries epoch ${intent.epoch}, the current epoch is ${epoch}: refused`,
      );
    }
    if (intent.target === obs.self) {
      return decision(
        { kind: 'refuse-intent', epoch, intentId: intent.id },
        'already_primary',
        `planned takeover to ${intent.target}: it is already the primary`,
      );
    }
    const target = siteSpec(spec, intent.target);
    const report = obs.reports[intent.target];
    if (!target || !report || !isHealthySecondary(report.health)) {
      return decision(
        { kind: 'refuse-intent', epoch, intentId: intent.id },
        'target_not_ready',
        `planned takeover to ${intent.target} refused: it is not a running secondary with a live agent`,
      );
    }
    // A tier-3 site would refuse the handover (not_tier2) and leave the key reserved for nobody.
    const from = report.health.source ?? target.source;
    if (
      (target.source !== undefined && target.source !== obs.self) ||
      (from !== undefined && from !== obs.self)
    ) {
      return decision(
        { kind: 'refuse-intent', epoch, intentId: intent.id },
        'target_not_tier2',
        `planned takeover to ${intent.target} refused: it replicates from ${from ?? 'another site'}, not from ${obs.self}`,
      );
    }
    if (report.watchdog?.mayLead === false) {
      return decision(
        { kind: 'refuse-intent', epoch, intentId: intent.id },
        'target_watchdog_unusable',
        `planned takeover to ${intent.target} refused: ${report.watchdog.message}`,
      );
    }
    const self: PrimaryView = selfViewOf(obs.local);
    const trust = promotable(obs, spec, intent.target, obs.self, epoch, self, now);
    if (!trust.ok && !intent.force) {
      return decision(
        { kind: 'refuse-intent', epoch, intentId: intent.id },
        'target_not_in_sync',
        `planned takeover to ${intent.target} refused: ${trust.why}`,
      );
    }
    return decision(
      { kind: 'step-down', epoch, fence: 'none', handoverTo: intent.target, intentId: intent.id },
      'planned_takeover_handover',
      `planned takeover: handing the leader key to ${intent.target}, which takes over with --suspendPrimary`,
    );
  }
  return none(
    'leader_healthy',
    `${obs.self} is the healthy primary and holds the leader key at epoch ${epoch}`,
  );
}

/**
 * Another site of this region answers as a writable primary while this one leads, and no agent
 * reports for it (its agent is dead, or cut off from the store and stopping it by itself): a
 * primary started by hand next to the leader, or one whose agent died before it could stop it.
 * Its own agent would fence it (decideUnderOtherLeader); without one, nothing but a fence agent
 * stops it, as Pacemaker fences a node that left the cluster. The leader powers its node off
 * (then on again: HANA stays down there, Autostart=0), one fence at a time, again at most once
 * per fencing.agent.timeoutSeconds. Null: nothing to fence, or no fence agent (a known limit).
 */
function decideFenceRogueWriter(
  obs: Observation,
  spec: HanaSystemReplicationSpec,
  now: number,
  epoch: number,
): Decision | null {
  const fencing = spec.fencing.agent;
  if (fencing === undefined) return null;
  const region = siteSpec(spec, obs.self)?.region;
  const rogue = spec.sites.find(
    (s) =>
      s.name !== obs.self &&
      s.region === region &&
      obs.reports[s.name] === undefined &&
      obs.peers[s.name]?.reachable === true &&
      obs.peers[s.name]?.acceptsWrites === true,
  );
  if (rogue === undefined) return null;
  const why = `${rogue.name} answers as a writable primary next to ${obs.self}, which leads at epoch ${epoch}, and no agent reports for it`;
  if (obs.fencingNode !== undefined) {
    return none('rogue_primary_fence_running', `${why}; a fence of ${obs.fencingNode} is running`);
  }
  const f = obs.fences?.[rogue.name];
  const skewMs = spec.clock.maxSkewSeconds * 1000;
  if (f !== undefined && now - f.endedAt < fencing.timeoutSeconds * 1000 + skewMs) {
    return none(
      'rogue_primary_fence_recent',
      `${why}; its fence device was last used (power ${f.action}: ${f.result}) ${Math.max(0, Math.round((now - f.endedAt) / 1000))} s ago: trying again after fencing.agent.timeoutSeconds (${fencing.timeoutSeconds} s)`,
    );
  }
  return decision(
    { kind: 'fence-node', epoch, site: rogue.name, powerOnAfter: true },
    'fence_rogue_primary',
    `${why}: powering its node off through the fence agent (${fencing.command}), then on again with HANA stopped`,
  );
}

/** Another site holds the leader key. */
function decideUnderOtherLeader(obs: Observation, spec: HanaSystemReplicationSpec, now: number): Decision {
  if (obs.leader.state !== 'held') throw new Error('unreachable');
  const leader = obs.leader.leader;
  const h = obs.local.health;

  if (h.srRole === 'primary' && (h.running || h.acceptsWrites || isStarting(h))) {
    // The primary a DBA turned to, while the holder of the key became its secondary: kept.
    const pending = decideAdoptionPending(obs, spec, now);
    if (pending !== null) return pending;
    return decision(
      { kind: 'fence', epoch: leader.epoch, mode: 'stop' },
      'leader_key_held_by_other',
      `${obs.self} runs as primary but ${leader.site} holds the leader key at epoch ${leader.epoch}: fencing ${obs.self}`,
    );
  }
  if (localStateUnknown(obs)) return decideUnknownLocalState(obs, spec, leader.site, leader.epoch);
  if (h.srRole === 'primary' || h.srRole === 'none') {
    return decideFormerPrimary(obs, spec, leader.site, leader.epoch, leader.since);
  }
  // A secondary, registered again on request (e.g. after it was fenced).
  const requested = obs.intents.find((i) => i.kind === 'register' && i.site === obs.self);
  if (requested !== undefined) {
    if (requested.epoch !== leader.epoch) {
      return decision(
        { kind: 'refuse-intent', epoch: leader.epoch, intentId: requested.id },
        'stale_epoch',
        `register request for ${obs.self} carries epoch ${requested.epoch}, the current epoch is ${leader.epoch}: refused`,
      );
    }
    const source = siteSpec(spec, obs.self)?.source ?? leader.site;
    return decision(
      {
        kind: 'register',
        epoch: leader.epoch,
        primary: source,
        intentId: requested.id,
        ...(h.running ? { online: true } : {}),
        ...releasedFences(obs),
      },
      'register_requested',
      `registering secondary ${obs.self} with ${source} on request${h.running ? ' (online)' : ''}`,
    );
  }
  // A secondary.
  if (!h.running && isStarting(h)) {
    return none('secondary_starting', `secondary ${obs.self} is starting`);
  }
  if (!h.running) {
    return decision(
      { kind: 'start-local', epoch: leader.epoch, restart: false },
      'secondary_down_restart',
      `secondary ${obs.self} is not running: starting it`,
    );
  }
  const lost = decideFenceLostLeader(obs, spec, now, leader.site, leader.epoch, true);
  if (lost !== null) return lost;
  // Multitarget: after a takeover, a secondary still attached to the old primary must follow the
  // new one (its configured source, or the primary when it has none).
  const me = siteSpec(spec, obs.self);
  const intended = me?.source ?? leader.site;
  if (h.source !== undefined && h.source !== intended) {
    const sourceReport = obs.reports[intended];
    const sourceReady =
      sourceReport !== undefined &&
      (intended === leader.site
        ? isWritablePrimary(sourceReport.health)
        : isHealthySecondary(sourceReport.health));
    if (spec.takeover.automatedRegister && sourceReady) {
      return decision(
        { kind: 'register', epoch: leader.epoch, primary: intended, online: true },
        'reregister_to_new_source',
        `secondary ${obs.self} still replicates from ${h.source}: registering it with ${intended} (online)`,
      );
    }
    return none(
      'secondary_of_old_source',
      `secondary ${obs.self} replicates from ${h.source}, not ${intended}: ${
        spec.takeover.automatedRegister
          ? `waiting for ${intended} to be ready`
          : 'register it (automatedRegister is off)'
      }`,
    );
  }
  return none(
    'secondary_healthy',
    `${obs.self} is a secondary; ${leader.site} is primary at epoch ${leader.epoch}`,
  );
}

/** The fence requests of this site, which a requested registration releases. */
function releasedFences(obs: Observation): { releases?: readonly string[] } {
  const ids = obs.intents.filter((i) => i.kind === 'fence' && i.site === obs.self).map((i) => i.id);
  return ids.length > 0 ? { releases: ids } : {};
}

/** A stopped site still configured as primary, while `leaderSite` leads: register or wait. */
function decideFormerPrimary(
  obs: Observation,
  spec: HanaSystemReplicationSpec,
  leaderSite: string,
  epoch: number,
  leaderSince: number,
): Decision {
  const leaderReport = obs.reports[leaderSite];
  if (!leaderReport || !isWritablePrimary(leaderReport.health)) {
    return none(
      'waiting_for_leader_healthy',
      `former primary ${obs.self} waits: the leader ${leaderSite} is not (yet) a running primary`,
    );
  }
  const requested = obs.intents.find((i) => i.kind === 'register' && i.site === obs.self);
  if (requested && requested.epoch !== epoch) {
    return decision(
      { kind: 'refuse-intent', epoch, intentId: requested.id },
      'stale_epoch',
      `register request for ${obs.self} carries epoch ${requested.epoch}, the current epoch is ${epoch}: refused`,
    );
  }
  const register = (reason: string, message: string): Decision =>
    decision(
      requested
        ? { kind: 'register', epoch, primary: leaderSite, intentId: requested.id, ...releasedFences(obs) }
        : { kind: 'register', epoch, primary: leaderSite },
      reason,
      message,
    );
  if (requested) {
    return register(
      'register_requested',
      `registering former primary ${obs.self} as secondary of ${leaderSite} on request`,
    );
  }
  if (!spec.takeover.automatedRegister) {
    return none(
      'waiting_for_registration',
      `former primary ${obs.self} stays down: automatedRegister is off, register it as secondary of ${leaderSite}`,
    );
  }
  // SAPHanaSR's last-primary-timestamp rule.
  const mine = obs.lpt[obs.self];
  const theirs = obs.lpt[leaderSite] ?? leaderSince;
  if (mine === undefined || mine <= leaderSince) {
    return register(
      'automated_register',
      `former primary ${obs.self} was last primary before ${leaderSite}'s term began: registering it as secondary`,
    );
  }
  const dpt = spec.takeover.duplicatePrimaryTimeoutSeconds * 1000;
  if (theirs - mine > dpt) {
    return register(
      'automated_register_after_dpt',
      `both sites were primary; ${obs.self}'s last-primary time trails ${leaderSite}'s by more than duplicatePrimaryTimeoutSeconds: registering`,
    );
  }
  return none(
    'dual_primary_wait',
    `both ${obs.self} and ${leaderSite} were primary within duplicatePrimaryTimeoutSeconds: waiting for a DBA to choose`,
  );
}

/** Nobody holds the leader key. */
function decideWithoutLeader(
  obs: Observation,
  spec: HanaSystemReplicationSpec,
  now: number,
  lastEpoch: number,
): Decision {
  if (obs.leader.state !== 'free') throw new Error('unreachable');
  const lastLeader = obs.leader.lastLeader;
  const h = obs.local.health;

  const adoption = decideAdoption(obs);
  if (adoption !== null) return adoption;

  // A handover that can never complete (its target stopped: deadHandover; or it would refuse the
  // key while this site goes on writing: refusedHandover): the rules below go on as if there were
  // none, and the key is won over it.
  const dead = deadHandover(obs);
  const refused = dead === undefined ? refusedHandover(obs, spec, now, lastEpoch) : undefined;
  const supersede = dead ?? refused?.target;
  if (h.srRole === 'primary' && (h.probeOk || h.running)) {
    if (lastLeader === undefined || lastLeader === obs.self) {
      if (obs.handoverTo !== undefined && obs.handoverTo !== obs.self && supersede === undefined) {
        return none(
          'handover_to_other',
          `the leader key is being handed over to ${obs.handoverTo}; ${obs.self} does not take it back`,
        );
      }
      // By its agent's report, or by a direct check (its agent may not read it: probe tools hung).
      const writable = (site: string): boolean =>
        site !== obs.self &&
        ((obs.reports[site] !== undefined && isWritablePrimary(obs.reports[site]!.health)) ||
          obs.peers[site]?.acceptsWrites === true);
      const anotherWritable = spec.sites.some((s) => writable(s.name));
      if (anotherWritable) {
        // A primary that may never hold the key (its required watchdog is unusable) next to
        // another primary: nobody will ever lead and fence one of them, and each waits for the
        // other (sim:fuzz schedules 120300000, 120100538: a takeover by hand while nobody held the
        // key; the old primary committed alone next to it). It steps aside: stopping only removes
        // a writer, and a site that may lead then takes the key.
        if (obs.watchdog?.mayLead === false && (h.acceptsWrites || h.running || hasLiveProcess(h))) {
          return decision(
            { kind: 'fence', epoch: lastEpoch, mode: 'stop' },
            'primary_cannot_lead',
            `${obs.self} runs as primary next to another primary and may never hold the leader key (${obs.watchdog.message}): stopping it`,
          );
        }
        // Nobody leads and a writable primary runs that this site's own replication still lists
        // as its secondary: it was taken over from this site, and by hand (a takeover by hanasr
        // holds the key, and would have made it the last leader). The DBA's takeover decides, as
        // SAPHanaSR's newer last-primary timestamp does: this site steps aside, and the other,
        // the only writer then, takes the key. Each waited for the other before, both writable,
        // and this one committed alone once logshipping_timeout passed (sim:fuzz 1070093604:
        // nobody had led, a required watchdog absent; a DBA took B over; A's watchdog came back).
        // Stopping only removes a writer; the other lists no link to this one, so it stays.
        const takenOver = h.probeOk
          ? spec.sites.find((s) => writable(s.name) && h.replication.some((l) => l.secondary === s.name))
          : undefined;
        if (takenOver !== undefined && (h.acceptsWrites || h.running || hasLiveProcess(h))) {
          return decision(
            { kind: 'fence', epoch: lastEpoch, mode: 'stop' },
            'primary_taken_over_by_hand',
            `${takenOver.name}, which ${obs.self} still lists as its secondary, runs as a writable primary and nobody leads: it was taken over by hand; stopping ${obs.self}`,
          );
        }
        return none(
          'another_primary_running',
          `another site runs as primary; ${obs.self} does not take the key`,
        );
      }
      // A stopped last leader with an in-sync successor leaves the key to it (as decideAsLeader
      // stepped down for it): taking it back would start a new term and make the successor's SOK
      // record untrusted for good.
      // Stopped means no process at all: an instance still starting (started by hand after a node
      // came back) takes writes the moment it is up, next to the heir (sim:fuzz 121600175).
      const restartsLeft = obs.local.localRestarts < spec.takeover.localRestartAttempts;
      if (
        !h.running &&
        !hasLiveProcess(h) &&
        spec.takeover.automatic &&
        (spec.takeover.preferSiteTakeover || !restartsLeft)
      ) {
        const self: PrimaryView = selfViewOf(obs.local);
        // The heir judges with this site's report, another host's clock: the skew bound and a
        // cycle count against trust there, and the report it reads may be an interval old.
        // Waiting for an heir that its own rule refuses leaves nobody writable for ever (a
        // switchover aborted after the old primary had stopped, with the skew bound above a cycle:
        // the heir refused once its contact was logShippingTimeout less the bound and a cycle old).
        // Then this site, the one with every commit, takes the key back and starts again.
        const views = [self, ...heirViews(obs, spec, now)];
        const inEvery = views.map((v) => takeoverCandidates(obs, spec, obs.self, lastEpoch, v, now));
        const heir = inEvery[0]!.find((c) => inEvery.every((cs) => cs.includes(c)));
        if (heir !== undefined) {
          return none(
            'waiting_for_takeover',
            `${obs.self} is stopped and the leader key is free: leaving it to in-sync secondary ${heir} to take over`,
          );
        }
      }
      if (obs.watchdog?.mayLead === false) return watchdogForbids(obs, 'acquire the leader key');
      return decision(
        {
          kind: 'acquire-leader',
          expectedLastEpoch: lastEpoch,
          ...(supersede !== undefined ? { supersedeHandover: supersede } : {}),
        },
        lastLeader === undefined ? 'bootstrap_leader' : 'reacquire_leader',
        `${obs.self} is the primary and the leader key is free: acquiring it (epoch ${lastEpoch + 1})${refused !== undefined ? `, over the handover to ${refused.target}, which would not take it (${refused.why})` : supersede !== undefined ? `, over the handover to ${supersede}, which is stopped` : ''}`,
      );
    }
    // A stopped primary, next to no writer, that takes the key to start itself as leader.
    const stoppedAlone =
      h.probeOk && !h.running && !hasLiveProcess(h) && otherWriter(obs, obs.self) === undefined;
    const takeKeyToStart = (reason: string, why: string): Decision =>
      obs.watchdog?.mayLead === false
        ? watchdogForbids(obs, 'acquire the leader key')
        : decision(
            {
              kind: 'acquire-leader',
              expectedLastEpoch: lastEpoch,
              ...(supersede !== undefined ? { supersedeHandover: supersede } : {}),
            },
            reason,
            `${why}: acquiring ${reason === 'handover_accepted' ? 'it' : 'the key'} (epoch ${lastEpoch + 1}) to start ${obs.self} as the primary${supersede !== undefined ? `, over the handover to ${supersede}, which is stopped` : ''}`,
          );
    // The last leader handed the key to this primary (it ran as primary by hand and was in sync
    // at its last write) and its own agent stopped it meanwhile, as it does with any primary
    // while another site leads (sim:fuzz 882000445: then every agent waited for ever). The
    // leader vetted it and is stopped itself: it takes the key, and as leader starts its site.
    if (obs.handoverTo === obs.self && stoppedAlone) {
      return takeKeyToStart(
        'handover_accepted',
        `${lastLeader} handed the leader key to ${obs.self}, a stopped primary`,
      );
    }
    // The last leader never took over: this site led the term right before it, and the last
    // leader's agent (alive: its report is leased) reads its site a stopped secondary, never
    // stamped primary in its term. A takeover makes a site primary, and a stopped secondary
    // cannot be mid-takeover, so the last term made no primary and this stopped primary is still
    // the newest: it takes the key and, as leader, starts itself (sim:fuzz 980006877: B took the
    // key for a takeover, its node crashed before it, the key ran out, and A, stopped, and B, a
    // stopped secondary once its node was back, each waited for the other for ever).
    // "Led the term right before" is this agent's memory, or the store's record that this site
    // was stamped primary at that epoch, which outlives an agent restart (sim:fuzz 1050016312,
    // 1070039480: A's agent restarted and both waited for ever). Without either, a term of a
    // third site in between cannot be ruled out: then it waits.
    const last = lastLeader === undefined ? undefined : obs.reports[lastLeader];
    if (
      lastLeader !== undefined &&
      (obs.local.ledEpoch === lastEpoch - 1 || obs.lpe?.[obs.self] === lastEpoch - 1) &&
      obs.lpe?.[lastLeader] !== lastEpoch &&
      last !== undefined &&
      last.health.probeOk &&
      last.health.srRole === 'secondary' &&
      !last.health.running &&
      !hasLiveProcess(last.health) &&
      obs.peers[lastLeader]?.running !== true &&
      // A handover to another site reserves the key: only one that can never complete (its site
      // stopped) is won over (property test seed 1336158586: the race was decided and then lost).
      (obs.handoverTo === undefined || obs.handoverTo === obs.self || supersede !== undefined) &&
      stoppedAlone
    ) {
      return takeKeyToStart(
        'last_leader_never_took_over',
        `${lastLeader}, the last leader (epoch ${lastEpoch}, after ${obs.self}'s term), never took over (its agent reads it a stopped secondary)`,
      );
    }
    // Coming up (started by hand) or restarting its indexserver counts: it takes writes the
    // moment it is up, before the next cycle could stop it.
    if (h.acceptsWrites || h.running || hasLiveProcess(h)) {
      return decision(
        { kind: 'fence', epoch: lastEpoch, mode: 'stop' },
        'stale_primary',
        `${obs.self} runs as primary but ${lastLeader} was the last leader: fencing it`,
      );
    }
  }

  // The last leader's key ran out and it cannot read its own state (hung, its agent restarted
  // under an instance that answers nothing): the successor takes over by the lease rule, and this
  // instance may take writes the moment it answers again. Unknown is never healthy: stop it now
  // (sim:fuzz 1318956004: a hung primary thawed next to the new one until the next cycle). A
  // stopped former primary comes back through the rules above (reacquire, or wait for the heir).
  if (
    lastLeader === obs.self &&
    localStateUnknown(obs) &&
    !isStarting(h) &&
    !(
      h.srRole === 'none' &&
      obs.local.lastKnownRole === 'secondary' &&
      obs.local.failedProbes < spec.takeover.failureThreshold
    )
  ) {
    return decision(
      { kind: 'fence', epoch: lastEpoch, mode: 'stop' },
      'local_state_unknown_key_lost',
      `cannot read the state of ${obs.self} (${h.probeError ?? 'unknown'}) and its leader key ran out: a successor may take over, and it may be a primary that writes when it answers again: stopping it (hard stop, delivered even to a hung instance)`,
    );
  }
  // A former primary, not the last leader, that cannot read its own state: it may have been
  // started by hand (a running primary it could read would be fenced as stale_primary above), and
  // it would take writes next to whichever site leads next (sim:fuzz 1318982986: started by hand
  // while its probe tools hung and the last leader was cut off, it took writes with a secondary in
  // sync; the last leader came back, took the key again and restarted, and those commits were
  // lost). Stopping it removes no candidate: only a secondary takes over, only the last leader
  // takes the key back. So too before anyone led (sim:fuzz 1040006226: no site could lead, its
  // watchdog required and unusable; the first primary's probe tools hung and it went on writing
  // unseen, and a DBA's takeover by hand elsewhere left two writers): once it reads itself again,
  // a stopped primary takes the key as at bootstrap.
  if (
    lastLeader !== obs.self &&
    localStateUnknown(obs) &&
    !isStarting(h) &&
    obs.local.lastKnownRole === 'primary'
  ) {
    return decision(
      { kind: 'fence', epoch: lastEpoch, mode: 'stop' },
      'local_state_unknown_former_primary',
      `cannot read the state of ${obs.self} (${h.probeError ?? 'unknown'}), last seen as a primary while ${lastLeader === undefined ? 'no site has led yet' : `${lastLeader} was the last leader`}: it may be a primary that writes unseen, stopping it (hard stop, delivered even to a hung instance)`,
    );
  }
  if (!isHealthySecondary(h)) {
    return none('no_leader_not_eligible', `no leader, and ${obs.self} is not a running secondary; waiting`);
  }
  if (lastLeader === undefined) {
    return none('waiting_for_primary', `no leader yet; ${obs.self} is a secondary and waits for the primary`);
  }
  const handover = obs.handoverTo;
  if (handover !== undefined && handover !== obs.self && supersede === undefined) {
    return none('handover_to_other', `the leader key is being handed over to ${handover}`);
  }
  const planned = handover === obs.self;
  const me = siteSpec(spec, obs.self)!;
  if (!planned) {
    if (!spec.takeover.automatic) {
      return none('automatic_takeover_off', `no leader; automatic takeover is off, ${obs.self} waits`);
    }
    if (!me.autoTakeover) {
      return none(
        'site_not_auto_takeover',
        `no leader; ${obs.self} is never promoted automatically (DR site)`,
      );
    }
  }
  if (!planned && lastLeader === obs.self) {
    return decideLastLeaderSecondary(obs, spec, now, lastEpoch, supersede);
  }
  if (
    (me.source !== undefined && me.source !== lastLeader) ||
    (h.source !== undefined && h.source !== lastLeader)
  ) {
    return none(
      'not_tier2',
      `${obs.self} does not replicate from the last primary ${lastLeader}; not a candidate`,
    );
  }
  const peer = obs.peers[lastLeader];
  if (
    !planned &&
    spec.fencing.agent !== undefined &&
    (peer?.acceptsWrites === true || unconfirmedLostLeader(obs, lastLeader, lastEpoch))
  ) {
    // Its agent is gone (the key ran out) and its database answers as writable, or nothing shows
    // it stopped: STONITH, when this site would be the one to take over.
    const lost = decideFenceLostLeader(obs, spec, now, lastLeader, lastEpoch, false);
    if (lost !== null) return lost;
  }
  if (!planned && peer?.acceptsWrites) {
    return none(
      'former_primary_still_serving',
      `no leader key, but ${lastLeader} still answers as a writable primary: not taking over (its agent is silent, the database is not)`,
    );
  }
  // A check of it that has not answered yet is no evidence either way: the next cycle has it.
  if (!planned && peer?.pending === true) {
    return none(
      'peer_check_pending',
      `no leader key, but the direct check of ${lastLeader} has not answered within the probe interval and still runs: not taking over until it answers or times out`,
    );
  }
  const lastReport = obs.reports[lastLeader];
  if (!planned && lastReport && isWritablePrimary(lastReport.health) && !lastReport.fenced) {
    return none('former_primary_reports_healthy', `${lastLeader} reports a healthy primary; not taking over`);
  }
  // The lease rule stands in for a fence of the lost leader that still runs or that failed, but
  // only once its node has been silent to this agent's direct checks for lostLeaderSilenceMs()
  // (sim:fuzz 1319015437: a 1-s cut during the fence let the takeover overtake it).
  const standsIn =
    !planned && spec.fencing.agent !== undefined ? leaseRuleStandsIn(obs, lastLeader, lastEpoch) : null;
  if (standsIn !== null && peer?.reachable !== true) {
    const silentMs = obs.peerSilentMs?.[lastLeader];
    const needMs = lostLeaderSilenceMs(spec);
    if (silentMs === undefined || silentMs < needMs) {
      const fence =
        standsIn === 'running'
          ? `${obs.self} is fencing ${lastLeader}'s node (its key ran out with its agent gone)`
          : `the fence of ${lastLeader} failed in this term (its key ran out with its agent gone)`;
      const heard =
        silentMs === undefined
          ? `no unanswered direct check of ${lastLeader} measures its silence yet`
          : `${lastLeader} answered a direct check ${(silentMs / 1000).toFixed(1)} s ago`;
      return none(
        standsIn === 'running' ? 'fence_running_leader_answered' : 'fence_failed_leader_answered',
        `${fence} and ${heard}: the lease rule stands in for the fence only once ${lastLeader} has been silent for ${needMs / 1000} s (lease.ttlSeconds); waiting${standsIn === 'running' ? ' for the fence or the silence' : ' for the silence'}`,
      );
    }
  }
  const primaryView = primaryViewOf(lastReport);
  const intent = planned
    ? obs.intents.find((i) => i.kind === 'planned-takeover' && i.target === obs.self)
    : undefined;
  // The leader handed over on a forced request: the successor honours the same force, or nobody
  // could take the key (handoverTo reserves it for this site).
  const forced = intent?.kind === 'planned-takeover' && intent.force === true;
  const trust = promotable(obs, spec, obs.self, lastLeader, lastEpoch, primaryView, now);
  if (!trust.ok && !forced) {
    return none('not_in_sync', `no leader, but ${obs.self} is not promoted: ${trust.why}`);
  }
  if (!planned) {
    const candidates = takeoverCandidates(obs, spec, lastLeader, lastEpoch, primaryView, now);
    const best = candidates[0];
    if (best !== undefined && best !== obs.self) {
      return none('better_candidate', `no leader; ${best} is the preferred in-sync candidate`);
    }
  }
  // The last leader's agent is alive (its report) but cannot read its HANA, has not seen it stop
  // and has not sent a stop of it in that term, and the direct check got no answer: the instance
  // may be hung and take writes when it answers again. Its agent stops it once it finds the key
  // gone (local_state_unknown_key_lost); a takeover before that stop is sent lets a thaw in
  // between make two writers until the stop lands (the model's restart race: the agent restarted
  // under a hung primary, its old session's key ran out, and this cycle came first). The wait is
  // for the stop SENT, not landed: a hard stop reaches a hung or frozen instance at the thaw,
  // before any write (examples/scenarios/frozen-node-started-by-hand.yaml: the stop lands only at
  // the thaw, 25 s later; waiting for the landing cost the in-sync trust and the takeover).
  //
  // No time bound: after any wait a takeover would let the instance thaw and write next to this
  // site, since its agent said it could not stop it (unknown is never healthy). The wait ends with
  // a stop sent or confirmed (`fenced`), a readable state or `notWritableSince` in its report, its
  // agent gone (the report goes with its lease: the rules for a lost agent, the watchdog's and the
  // fence agent's), a direct check that answers, or a confirmed fence of its node. A stop that
  // fails outright leaves its agent's watchdog unfed (stopSite: `stopping` failed), so with a
  // usable watchdog the node resets and its report goes; without one nor a fence agent, the
  // wait lasts until a human fences or stops the node (the reason says why). An agent of an earlier
  // version reports no `stopSent`: the older rule (no wait), README "Limits".
  if (!planned && formerPrimaryStopNotSent(obs, lastLeader, lastEpoch, peer)) {
    const r = obs.reports[lastLeader]!;
    const older =
      r.stopSent !== null && r.stopSent !== undefined
        ? ` (it reports a stop in epoch ${r.stopSent.epoch})`
        : '';
    return none(
      'former_primary_stop_not_sent',
      `no leader key, but the agent of ${lastLeader} is alive, cannot read its HANA (${r.health.probeError ?? 'unknown'}) and has not sent its stop of epoch ${lastEpoch}${older}, and ${lastLeader} does not answer here: waiting for its agent to send it (a hung instance may take writes when it answers again)`,
    );
  }
  // Without the handshake nothing suspends a primary that still answers as running while it takes
  // no writes (waiting for its secondary, its indexserver coming back): it goes on by itself, next
  // to a plain takeover (sim:fuzz schedule 121100782: its agent dead, the replication network cut).
  if (
    !planned &&
    !spec.takeover.handshake &&
    peer !== undefined &&
    peer.reachable &&
    peer.role === 'primary' &&
    peer.running !== false
  ) {
    return none(
      'former_primary_still_running',
      `no leader key, but ${lastLeader} still answers as a running primary and takeover.handshake is off (nothing would suspend it): not taking over`,
    );
  }
  // A leader in maintenance mode fences nothing: its key running out then proves nothing of its
  // HANA (sim:fuzz 996580585: isolated during maintenance, its lease ran out, maintenance off, a
  // plain takeover next to it). Only its node seen stopped, or fenced, lets the takeover go on.
  if (
    !planned &&
    obs.local.leaderMayBeInMaintenance === true &&
    confirmedFenceOf(obs, lastLeader, lastEpoch) === undefined &&
    !(peer !== undefined && peer.reachable && peer.running === false && !peer.acceptsWrites)
  ) {
    return none(
      'leader_lost_in_maintenance',
      `the leader key of ${lastLeader} ran out while its agent may still act in maintenance mode (it fences nothing then): not taking over until ${lastLeader} is seen stopped or fenced`,
    );
  }
  // Another site than the one taken over from takes writes (taken over by hand, by its report or
  // a direct check): a takeover suspends only the last leader, so it would make two writers
  // (sim:fuzz 1090020940: three sites, a DBA took B over while the leader A's node was down; A's
  // restarted agent could not hand B the key its dead session held, and when that key ran out C,
  // in sync with A, took over next to B). It waits; B's own agent then fences B, a primary next
  // to a last leader other than itself (its commits since are the DBA's), and this site takes over.
  const writer = planned ? undefined : otherWriter(obs, lastLeader);
  if (writer !== undefined) {
    return none(
      'another_primary_running',
      `no leader key, but ${writer} runs as a writable primary: ${obs.self} does not take over from ${lastLeader} next to it`,
    );
  }
  if (obs.watchdog?.mayLead === false) return watchdogForbids(obs, `take over from ${lastLeader}`);
  const handshake =
    spec.takeover.handshake && peer !== undefined && peer.reachable && peer.role === 'primary';
  const ours = confirmedFenceOf(obs, lastLeader, lastEpoch);
  return decision(
    {
      kind: 'takeover',
      expectedLastEpoch: lastEpoch,
      handshake: planned ? true : handshake,
      from: lastLeader,
      planned,
      ...(intent ? { intentId: intent.id } : {}),
      ...(ours?.by === obs.self ? { powerOn: lastLeader } : {}),
      ...(supersede !== undefined ? { supersedeHandover: supersede } : {}),
    },
    planned ? 'planned_takeover' : 'primary_lost_takeover',
    planned
      ? `planned takeover: ${obs.self} takes over from ${lastLeader} with --suspendPrimary (epoch ${lastEpoch + 1})`
      : `the leader key of ${lastLeader} is gone and ${obs.self} was in sync: taking over (epoch ${lastEpoch + 1})${supersede !== undefined ? `, over the handover to ${supersede}, which is stopped` : ''}`,
  );
}

/**
 * This site, a running secondary, was the last leader and never took over: it took the key for a
 * takeover from the site it replicates from, and the promotion never happened (it failed, the
 * node crashed, the instance hung, the handshake kept failing) before its key ran out. Nobody
 * else may act: the old primary, stopped, waits for the last leader (its report of a running
 * secondary may predate a takeover still in flight, so the old primary does not start next to it:
 * last_leader_never_took_over wants it stopped), and every other secondary replicates from a site
 * that is not the last leader (not_tier2). Everybody waited for ever (sim:fuzz 1070098632,
 * 1050017408, 1110019491). This site knows its own state fresh and has nothing in flight, so it
 * acts, once the evidence shows its term made no primary and the old primary `from` has every
 * commit: `from` was stamped primary in the term right before this one's (the store's `lpe`) and
 * this site never in its own; `from`'s agent reads it a stopped primary, no direct check reaches
 * it, and no other site takes writes. Then:
 * - in sync against `from`'s term (its records) and a takeover candidate from it, it retries its
 *   takeover, as it would have gone on had its key lasted (last_leader_retries_takeover);
 * - otherwise it takes the key and hands it to `from` at once (last_leader_hands_back), which
 *   takes it and starts as primary (handover_accepted), as SAPHanaSR restarts a primary whose
 *   secondary is SFAIL.
 * A promotion retried after the first try asks the in-sync rule with the key's term before
 * (actions.ts): it finds no record of it and hands the key back too (the model's RECHECK).
 * Anything missing: it says which, and waits.
 */
function decideLastLeaderSecondary(
  obs: Observation,
  spec: HanaSystemReplicationSpec,
  now: number,
  lastEpoch: number,
  supersede: string | undefined,
): Decision {
  const h = obs.local.health;
  const me = siteSpec(spec, obs.self)!;
  const from = h.source ?? me.source;
  const wait = (why: string): Decision =>
    none(
      'last_leader_not_retrying',
      `${obs.self} led epoch ${lastEpoch} and runs as a secondary, but ${why}: not taking the key again; waiting`,
    );
  if (obs.lpe?.[obs.self] === lastEpoch) {
    return wait('it was stamped primary in its own term (turned back by hand since)');
  }
  if (from === undefined || from === obs.self || (me.source !== undefined && me.source !== from)) {
    return wait('the site it replicates from is not known');
  }
  const trustEpoch = lastEpoch - 1;
  if (obs.lpe?.[from] !== trustEpoch) {
    return wait(`${from} is not recorded primary in epoch ${trustEpoch}, the term right before`);
  }
  const r = obs.reports[from];
  if (
    r === undefined ||
    !r.health.probeOk ||
    r.health.srRole !== 'primary' ||
    r.health.running ||
    r.health.acceptsWrites ||
    hasLiveProcess(r.health)
  ) {
    return wait(`${from}'s agent does not read it a stopped primary`);
  }
  const peer = obs.peers[from];
  if (peer?.pending === true) return wait(`the direct check of ${from} has not answered yet`);
  if (peer?.reachable === true) return wait(`a direct check of ${from} answers`);
  const writer = otherWriter(obs, from);
  if (writer !== undefined) {
    return none(
      'another_primary_running',
      `${obs.self} led epoch ${lastEpoch} and never took over, but ${writer} runs as a writable primary: not taking the key next to it`,
    );
  }
  if (obs.watchdog?.mayLead === false) return watchdogForbids(obs, 'acquire the leader key');
  const stopped = `${obs.self} led epoch ${lastEpoch} and never took over; ${from}, primary in epoch ${trustEpoch}, is stopped`;
  const view = primaryViewOf(r);
  const trust = promotable(obs, spec, obs.self, from, trustEpoch, view, now);
  if (trust.ok && takeoverCandidates(obs, spec, from, trustEpoch, view, now).includes(obs.self)) {
    return decision(
      {
        kind: 'takeover',
        expectedLastEpoch: lastEpoch,
        handshake: false,
        from,
        planned: false,
        ...(supersede !== undefined ? { supersedeHandover: supersede } : {}),
      },
      'last_leader_retries_takeover',
      `${stopped} and ${obs.self} was in sync at its last write: retrying the takeover (epoch ${lastEpoch + 1})`,
    );
  }
  return decision(
    {
      kind: 'hand-back',
      expectedLastEpoch: lastEpoch,
      to: from,
      ...(supersede !== undefined ? { supersedeHandover: supersede } : {}),
    },
    'last_leader_hands_back',
    `${stopped}, and ${obs.self} ${trust.ok ? `is no automatic takeover candidate from ${from}` : `is not promoted (${trust.why})`}: taking the key (epoch ${lastEpoch + 1}) to hand it to ${from}, which holds every commit and starts as primary`,
  );
}

/**
 * The site this site handed the key to, when that site would refuse it now: this site, the last
 * leader, still takes writes (a handover with --suspendPrimary keeps it writable until the
 * successor suspends it) and the successor, judging a report of it fresh or an interval old
 * (heirViews), may not find itself in sync. Nobody writes its sync record while nobody leads,
 * and every write here makes that record older, so the refusal lasts: a planned takeover whose target's agent was down when
 * the key came left the old primary serving without a leader key, for ever (sim:fuzz
 * 1010002825). It wins the key back as the one writer; a DBA asks again. A forced request is not
 * refused by the in-sync rule, so its handover stands.
 */
function refusedHandover(
  obs: Observation,
  spec: HanaSystemReplicationSpec,
  now: number,
  lastEpoch: number,
): { readonly target: string; readonly why: string } | undefined {
  const target = obs.handoverTo;
  if (target === undefined || target === obs.self) return undefined;
  if (obs.leader.state !== 'free' || obs.leader.lastLeader !== obs.self) return undefined;
  if (!isWritablePrimary(obs.local.health)) return undefined;
  const forced = obs.intents.some(
    (i) => i.kind === 'planned-takeover' && i.target === target && i.force === true,
  );
  if (forced) return undefined;
  for (const view of heirViews(obs, spec, now)) {
    const verdict = promotable(obs, spec, target, obs.self, lastEpoch, view, now);
    if (!verdict.ok) return { target, why: verdict.why };
  }
  return undefined;
}

/**
 * This site's own memory as a successor judges a report of it (another host's clock), fresh or an
 * interval old: cycles start once an interval (while one takes less), so this site publishes and
 * the successor reads once an interval, and the successor's reads may keep missing the moments a
 * report is fresh. Any age in between judges as one of the two (fresh, or stale and then only the
 * contact counts). A successor takes the key for sure only if both find it in sync: judged with a
 * report made now alone, a stopped primary waited for an heir that, with the skew bound under a
 * cycle but above the probe timeout, found its reports stale and refused (sim:fuzz 1050048263:
 * interval 9.1 s, timeout 0.6 s, skew bound 8.2 s; nobody ran). A whole cycle instead of the
 * interval took the key from heirs that read fresh reports (test/sim/stuck-step-down.test.ts).
 */
function heirViews(obs: Observation, spec: HanaSystemReplicationSpec, now: number): PrimaryView[] {
  const at = (observedAt: number): PrimaryView => ({
    kind: 'report',
    lastWritableAt: obs.local.lastWritableAt,
    notWritableSince: obs.local.notWritableSince ?? null,
    observedAt,
  });
  return [at(now), at(now - spec.probes.intervalSeconds * 1000)];
}

/**
 * The site a pending handover names, when that handover can never complete: its agent reports it
 * stopped (a readable probe, no process at all) and no direct check of it this cycle finds it
 * running, and
 * - it is a secondary: its agent starts no stopped secondary while nobody leads, so a planned
 *   takeover whose target went down waited for ever;
 * - or it is a primary while this site is a writable primary. A stopped primary named by a
 *   handover takes the key itself (handover_accepted), but only while no other site takes
 *   writes; the site that handed over and still takes them (a planned takeover whose target a
 *   DBA took over by hand, and its agent then stopped: sim:fuzz 990011773) waited for it for ever.
 *   It wins the key back: the one writer, whose commits the stopped site may lack.
 * An absent report (an agent restarting) or a site still starting is no proof: undefined, and the
 * handover stands. Winning the key over it is a compare-and-set on the handover naming that site.
 */
function deadHandover(obs: Observation): string | undefined {
  const target = obs.handoverTo;
  if (target === undefined || target === obs.self) return undefined;
  const r = obs.reports[target];
  if (r === undefined || !r.health.probeOk) return undefined;
  if (r.health.srRole === 'primary' && !isWritablePrimary(obs.local.health)) return undefined;
  if (r.health.running || hasLiveProcess(r.health)) return undefined;
  const p = obs.peers[target];
  if (p !== undefined && p.reachable && (p.acceptsWrites || p.running !== false)) return undefined;
  return target;
}

/**
 * The last leader's key ran out and nothing shows its HANA stopped: no live report (its agent is
 * gone, so the lease running out says nothing of HANA: nobody stopped it unless its watchdog reset
 * the node), and no direct check that found it stopped or a secondary. With a fence agent, such a
 * site is fenced before a takeover; while that fence runs, and once it failed in that term, the
 * lease rule stands, once the node has been silent for lostLeaderSilenceMs() (README: a failed or
 * hung fence leaves the lease rule in force).
 */
function unconfirmedLostLeader(obs: Observation, site: string, epoch: number): boolean {
  if (obs.reports[site] !== undefined) return false;
  const peer = obs.peers[site];
  if (peer?.reachable === true && (peer.role === 'secondary' || peer.running === false)) return false;
  // A fence of it still running, or failed in this term: the lease rule stands in (once the node
  // has been silent for lostLeaderSilenceMs(), see leaseRuleStandsIn).
  return leaseRuleStandsIn(obs, site, epoch) === null;
}

/**
 * A lost leader that nothing shows stopped (no live report, no direct check that found it stopped
 * or a secondary) and whose fence by this agent is running ('running') or failed in this term
 * ('failed'): the lease rule stands in for the fence, once its node has been silent for
 * lostLeaderSilenceMs(). Null: not such a leader.
 */
function leaseRuleStandsIn(obs: Observation, site: string, epoch: number): 'running' | 'failed' | null {
  if (obs.reports[site] !== undefined) return null;
  const peer = obs.peers[site];
  if (peer?.reachable === true && (peer.role === 'secondary' || peer.running === false)) return null;
  if (obs.fencingNode === site) return 'running';
  const fence = obs.fences?.[site];
  return fence !== undefined &&
    fence.epoch === epoch &&
    fence.action === 'off' &&
    fence.result !== 'confirmed'
    ? 'failed'
    : null;
}

/**
 * The last leader's agent reports (it is alive) that it cannot read its HANA, and nothing shows
 * the instance stopped or a stop of it on its way: no stop of its own confirmed (`fenced`), no
 * moment since its last writable probe at which it took no writes (`notWritableSince`), no stop
 * sent in term `epoch` (`stopSent`), no direct check that answered, no confirmed fence of its
 * node. A report without `stopSent` (an agent of an earlier version): false, the older rule.
 */
function formerPrimaryStopNotSent(
  obs: Observation,
  site: string,
  epoch: number,
  peer: PeerView | undefined,
): boolean {
  const r = obs.reports[site];
  if (r === undefined || r.fenced || r.stopSent === undefined) return false;
  if (r.stopSent !== null && r.stopSent.epoch === epoch) return false;
  if (r.health.probeOk || r.health.srRole === 'secondary') return false;
  if (r.notWritableSince !== undefined && r.notWritableSince !== null) return false;
  if (peer !== undefined && peer.reachable) return false;
  return confirmedFenceOf(obs, site, epoch) === undefined;
}

/** A confirmed power-off of `site`'s node in term `epoch` (the store's fence record), if any. */
function confirmedFenceOf(obs: Observation, site: string, epoch: number) {
  const f = obs.fences?.[site];
  return f !== undefined && f.epoch === epoch && f.action === 'off' && f.result === 'confirmed'
    ? f
    : undefined;
}

/**
 * Fence before promote (STONITH): a lost leader (another site) whose agent cannot confirm it
 * stopped is powered off through the fence agent by the in-sync secondary that would take over,
 * before it promotes. `keyHeld`: the leader still holds the key (its lease runs) and has been
 * silent (report unchanged, node not answering) for leaderSilenceWindowMs() on this agent's clock; otherwise the key ran
 * out while its database still answers as a writable primary. A confirmed off lets the takeover
 * go before the old lease runs out (the key is seized at that term); a failed or timed-out fence
 * leaves the lease rule in force and is tried again after fencing.agent.timeoutSeconds. Null:
 * the rule does not apply (no fence agent, not silent, automatic takeover off...).
 */
function decideFenceLostLeader(
  obs: Observation,
  spec: HanaSystemReplicationSpec,
  now: number,
  leader: string,
  epoch: number,
  keyHeld: boolean,
): Decision | null {
  const fencing = spec.fencing.agent;
  if (fencing === undefined) return null;
  const me = siteSpec(spec, obs.self);
  const h = obs.local.health;
  if (!me || !me.autoTakeover || !spec.takeover.automatic) return null;
  // A leader restarting its primary locally (preferSiteTakeover false) is busy, not lost.
  if (keyHeld && !spec.takeover.preferSiteTakeover) return null;
  if (!isHealthySecondary(h)) return null;
  if ((me.source !== undefined && me.source !== leader) || (h.source !== undefined && h.source !== leader))
    return null;
  // The leader's silence counts in time on this agent's clock, not in its cycles (each of which
  // waits out the silent node's port, so failureThreshold cycles took about the TTL).
  const silence = obs.leaderSilence;
  if (
    keyHeld &&
    (silence === undefined ||
      silence.site !== leader ||
      silence.cycles < LEADER_SILENCE_MIN_CHECKS ||
      !(silence.silentMs >= leaderSilenceWindowMs(spec)))
  )
    return null;
  if (obs.handoverTo !== undefined) return null;
  const primaryView = primaryViewOf(obs.reports[leader]);
  const trust = promotable(obs, spec, obs.self, leader, epoch, primaryView, now);
  const lostWhy = keyHeld
    ? `${leader} holds the leader key but its agent has been silent and its node has not answered for ${((silence?.silentMs ?? 0) / 1000).toFixed(1)} s (${silence?.cycles ?? 0} checks; the rule wants ${leaderSilenceWindowMs(spec) / 1000} s)`
    : obs.peers[leader]?.acceptsWrites === true
      ? `the leader key of ${leader} ran out but its database still answers as a writable primary`
      : `the leader key of ${leader} ran out with its agent gone, and nothing shows ${leader} stopped (no watchdog is known to have reset it)`;
  if (!trust.ok) {
    return none(
      'lost_leader_not_in_sync',
      `${lostWhy}; ${obs.self} would not be promoted (${trust.why}): not fencing it, waiting`,
    );
  }
  const best = takeoverCandidates(obs, spec, leader, epoch, primaryView, now)[0];
  if (best !== obs.self) {
    return none(
      'better_candidate',
      `${lostWhy}; ${best ?? 'another site'} is the preferred in-sync candidate`,
    );
  }
  if (obs.watchdog?.mayLead === false) return watchdogForbids(obs, `take over from ${leader}`);
  const fence = obs.fences?.[leader];
  if (fence !== undefined && fence.epoch === epoch && fence.action === 'off') {
    if (fence.result === 'confirmed') {
      if (!keyHeld) return null; // the node is off: the takeover rules go on (it no longer answers)
      return decision(
        {
          kind: 'takeover',
          expectedLastEpoch: epoch,
          handshake: false,
          from: leader,
          planned: false,
          seize: leader,
          ...(fence.by === obs.self ? { powerOn: leader } : {}),
        },
        'fenced_leader_takeover',
        `${leader}'s node is confirmed off by ${fence.by}'s fence agent at epoch ${epoch}: ${obs.self} was in sync and takes the key over before the old lease runs out (epoch ${epoch + 1})`,
      );
    }
    if (now - fence.endedAt < fencing.timeoutSeconds * 1000) {
      return none(
        'fence_failed_lease_rule',
        `fencing ${leader}'s node ${fence.result === 'failed' ? 'failed' : 'timed out'} (${fence.message}): the lease rule stays in force, ${obs.self} waits for ${leader}'s lease to run out`,
      );
    }
  }
  return decision(
    { kind: 'fence-node', epoch, site: leader },
    'fence_lost_leader',
    `${lostWhy}: powering its node off through the fence agent (${fencing.command}) before ${obs.self} takes over`,
  );
}
