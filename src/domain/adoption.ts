/**
 * Adopting a turn made by hand. Pure.
 *
 * SAPHanaSR's maintenance procedure: with the cluster in maintenance the DBA stops the primary,
 * runs `hdbnsutil -sr_takeover` on a secondary, registers the former primary as its secondary and
 * starts it. When maintenance ends, the former primary's agent still holds the leader key of its
 * own term. The sites' real roles win: the leader hands its key to the new primary, which takes
 * it with a new epoch. Nobody promotes the old leader back, nobody fences the new primary.
 *
 * The evidence, all of it required (one writer at every step):
 * - the leader L was the primary in its own term (its last-primary timestamp is at or after the
 *   term began): a secondary that has just won the key in a takeover has not been primary in its
 *   term yet, so a takeover in progress is never mistaken for a turn by hand;
 * - L now runs as a secondary replicating from X (L's own probe, or L's live report), or (the DBA
 *   did not register it yet) L is stopped and X's last sync record passes the in-sync rule at L's
 *   last writable moment: X holds every commit of L's term, where a stale former primary started
 *   by hand would not;
 * - X runs as a writable primary, by its own agent's live report, and a direct check of X that
 *   answered does not say otherwise;
 * - no other site is a writable primary (by its report or a direct check).
 * The handover takes two steps, each on its own agent's fresh observation: L releases the key
 * naming X (step-down, no stop: L is a secondary); X, a writable primary named by the handover,
 * acquires it. Meanwhile X, a writable primary under L's key, is not fenced while the evidence
 * holds.
 */
import type { HanaSystemReplicationSpec } from '../api/spec.js';
import type { Decision } from './decision.js';
import { NONE } from './decision.js';
import { hasLiveProcess } from './health.js';
import type { Observation } from './observation.js';
import { inSyncVerdict, primaryViewOf, selfViewOf, type PrimaryView } from './sync-trust.js';
import type { HanaHealth } from './types.js';

function writablePrimary(h: HanaHealth): boolean {
  return h.probeOk && h.running && h.srRole === 'primary' && h.acceptsWrites && !h.suspended;
}

/**
 * `site` is a secondary replicating from `source`, by its health or a direct check. A stopped
 * secondary's `hdbnsutil -sr_state` does not name its source: then the source's own replication
 * links must list it.
 */
function replicatesFrom(obs: Observation, site: string, source: string): boolean {
  const h = site === obs.self ? obs.local.health : obs.reports[site]?.health;
  if (h !== undefined) {
    if (!h.probeOk || h.srRole !== 'secondary') return false;
    if (h.source !== undefined) return h.source === source;
    const links =
      source === obs.self ? obs.local.health.replication : obs.reports[source]?.health.replication;
    return links?.some((l) => l.secondary === site) ?? false;
  }
  const p = obs.peers[site];
  return p !== undefined && p.reachable && p.role === 'secondary' && p.source === source && !p.acceptsWrites;
}

/** Another site than `primary` (and than `self` when it is no primary) writes, by report or check. */
export function otherWriter(obs: Observation, primary: string): string | undefined {
  const sites = new Set([...Object.keys(obs.reports), ...Object.keys(obs.peers)]);
  for (const site of sites) {
    if (site === primary || site === obs.self) continue;
    const r = obs.reports[site];
    if ((r !== undefined && r.health.acceptsWrites) || obs.peers[site]?.acceptsWrites === true) return site;
  }
  if (obs.self !== primary && obs.local.health.acceptsWrites) return obs.self;
  return undefined;
}

/** X as a writable primary: its own agent says so, and a direct check that answered agrees. */
function primaryConfirmed(obs: Observation, x: string): { ok: true } | { ok: false; why: string } {
  const h = x === obs.self ? obs.local.health : obs.reports[x]?.health;
  if (h === undefined) return { ok: false, why: `${x}'s agent is silent` };
  if (!writablePrimary(h)) return { ok: false, why: `${x} is not a running writable primary` };
  const p = x === obs.self ? undefined : obs.peers[x];
  if (p !== undefined && p.reachable && !p.acceptsWrites) {
    return { ok: false, why: `a direct check finds ${x} not writable` };
  }
  return { ok: true };
}

/**
 * `l` is stopped as a primary (a readable probe, no live process) and `x`'s last sync record of
 * the term passes the in-sync rule at `l`'s last writable moment: `x` has every commit of it.
 */
function stoppedWithTrustedHeir(
  obs: Observation,
  spec: HanaSystemReplicationSpec,
  l: string,
  x: string,
  epoch: number,
  now: number,
): boolean {
  const h = l === obs.self ? obs.local.health : obs.reports[l]?.health;
  if (h === undefined || !h.probeOk || h.srRole !== 'primary' || hasLiveProcess(h)) return false;
  const view: PrimaryView = l === obs.self ? selfViewOf(obs.local) : primaryViewOf(obs.reports[l]);
  const skew = x === obs.self ? obs.clockSkew?.[l] : obs.reports[x]?.clockSkew?.[l];
  return inSyncVerdict(spec, {
    candidate: x,
    primary: l,
    lastEpoch: epoch,
    record: obs.sync[x],
    primaryView: view,
    skew,
    candidateDownSeenAt:
      x === obs.self ? (obs.local.downSeenAt ?? null) : (obs.reports[x]?.downSeenAt ?? null),
    now,
  }).ok;
}

/** The one writable primary other than this site, by its agent's report. */
function writableOther(obs: Observation): string | undefined {
  let writer: string | undefined;
  let writers = 0;
  for (const site of Object.keys(obs.reports)) {
    if (site === obs.self || !writablePrimary(obs.reports[site]!.health)) continue;
    writer = site;
    writers++;
  }
  return writers === 1 ? writer : undefined;
}

/** The leader `leader` was the primary in its term that began at `since`. */
function wasPrimaryInTerm(obs: Observation, leader: string, since: number): boolean {
  const lpt = obs.lpt[leader];
  return lpt !== undefined && lpt >= since;
}

/**
 * This site holds the key, was the primary in its term, and now replicates from another site:
 * a turn made by hand. Hands the key over when the new primary is confirmed; otherwise waits
 * (never promotes itself back: it may miss the new primary's commits). Null: not a turn by hand.
 */
export function decideTurnedLeader(
  obs: Observation,
  spec: HanaSystemReplicationSpec,
  now: number,
): Decision | null {
  if (obs.leader.state !== 'held' || !obs.leader.mine) return null;
  const { epoch, since } = obs.leader.leader;
  const h = obs.local.health;
  // Stopped, not registered yet, while its in-sync secondary runs as primary: a takeover by hand.
  const heir = writableOther(obs);
  if (
    h.probeOk &&
    h.srRole === 'primary' &&
    !hasLiveProcess(h) &&
    heir !== undefined &&
    wasPrimaryInTerm(obs, obs.self, since) &&
    primaryConfirmed(obs, heir).ok &&
    otherWriter(obs, heir) === undefined &&
    stoppedWithTrustedHeir(obs, spec, obs.self, heir, epoch, now)
  ) {
    return {
      action: { kind: 'step-down', epoch, fence: 'none', handoverTo: heir },
      reason: 'adopt_manual_takeover',
      message: `${obs.self} was primary in epoch ${epoch} and is stopped, and ${heir}, in sync at its last write, runs as the writable primary (a takeover by hand): handing the leader key to ${heir}`,
    };
  }
  // Only a DBA turns a leader that was primary in its term into a secondary (the agent registers
  // a site only under another site's key): from here on it never promotes itself back.
  if (!h.probeOk || h.srRole !== 'secondary' || !wasPrimaryInTerm(obs, obs.self, since)) return null;
  // The source as the probe names it, or (stopped) the one writable primary that lists this site.
  const x =
    h.source ??
    Object.entries(obs.reports).find(
      ([, r]) => r.health.acceptsWrites && r.health.replication.some((l) => l.secondary === obs.self),
    )?.[0];
  const wait = (why: string): Decision => ({
    action: NONE,
    reason: 'manual_turn_unconfirmed',
    message: `${obs.self} was primary in epoch ${epoch} and now runs as a secondary (a turn by hand), but ${why}: not handing the key over and not promoting ${obs.self} back`,
  });
  if (x === undefined || x === obs.self || !replicatesFrom(obs, obs.self, x)) {
    return wait('no running writable primary is known to be its source');
  }
  const confirmed = primaryConfirmed(obs, x);
  if (!confirmed.ok) return wait(`its source ${x}: ${confirmed.why}`);
  const other = otherWriter(obs, x);
  if (other !== undefined) return wait(`${other} takes writes next to its source ${x}`);
  return {
    action: { kind: 'step-down', epoch, fence: 'none', handoverTo: x },
    reason: 'adopt_manual_takeover',
    message: `${obs.self} was primary in epoch ${epoch} and now replicates from ${x}, the running writable primary (a turn by hand): handing the leader key to ${x}`,
  };
}

/**
 * This site is a writable primary while another site holds the key: not to be fenced when the
 * holder is a former primary turned by hand into this site's secondary. Null: fence as usual.
 */
export function decideAdoptionPending(
  obs: Observation,
  spec: HanaSystemReplicationSpec,
  now: number,
): Decision | null {
  if (obs.leader.state !== 'held' || obs.leader.mine) return null;
  const { site: leader, epoch, since } = obs.leader.leader;
  if (!writablePrimary(obs.local.health)) return null;
  if (!wasPrimaryInTerm(obs, leader, since)) return null;
  if (
    !replicatesFrom(obs, leader, obs.self) &&
    !stoppedWithTrustedHeir(obs, spec, leader, obs.self, epoch, now)
  ) {
    return null;
  }
  if (otherWriter(obs, obs.self) !== undefined) return null;
  return {
    action: NONE,
    reason: 'manual_takeover_adoption_pending',
    message: `${obs.self} is the writable primary and ${leader}, leader in epoch ${epoch}, was turned by hand (stopped or registered as its secondary): waiting for ${leader} to hand over the leader key (not fencing ${obs.self})`,
  };
}

/**
 * The key is free and named for this site, a writable primary: the former leader handed it over
 * after a turn by hand. Takes it with a new epoch. Null: not such a handover.
 */
export function decideAdoption(obs: Observation): Decision | null {
  if (obs.leader.state !== 'free' || obs.handoverTo !== obs.self) return null;
  const { lastEpoch, lastLeader } = obs.leader;
  if (lastLeader === undefined || lastLeader === obs.self) return null;
  // Only a handover after a turn by hand names a writable primary (a planned handover names a
  // secondary). The former leader, or any other site, must not take writes too.
  if (!writablePrimary(obs.local.health) || otherWriter(obs, obs.self) !== undefined) return null;
  return {
    action: { kind: 'acquire-leader', expectedLastEpoch: lastEpoch },
    reason: 'adopt_manual_takeover',
    message: `${lastLeader} handed the leader key to ${obs.self}, the running writable primary after a turn by hand: taking it (epoch ${lastEpoch + 1})`,
  };
}
