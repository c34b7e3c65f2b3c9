/**
 * What a site that does not lead does when it cannot read its own HANA. Pure.
 *
 * Unknown is never safe: a site whose probe failed may be a primary that takes writes the moment
 * it answers again (a frozen instance started by hand, a primary whose agent restarted while it
 * hung). When another site leads, this site must not write whatever it is doing, so the safe
 * action is a hard stop: sent now, it reaches a frozen instance at the thaw, before any write.
 *
 * The one exception is a blip: a site this agent last saw as a secondary keeps running while
 * fewer than `failureThreshold` consecutive probes failed (a secondary cannot take writes, and
 * stopping a sync secondary on one slow probe would stall the primary's commits for
 * logShippingTimeoutSeconds). It does not hold once the site it replicates from reports the
 * replication to it broken (status ERROR): then it is no working secondary (it may have been taken
 * over by hand, sim:fuzz 930003725: its probe tools hung, a DBA took it over, and it wrote for 58 s
 * next to the leader), and stopping it stalls nothing that is not stalled already.
 */
import type { HanaSystemReplicationSpec } from '../api/spec.js';
import type { Decision } from './decision.js';
import { NONE } from './decision.js';
import type { Observation } from './observation.js';

/**
 * The local probe did not say what the site is: it failed and did not read the role as
 * secondary. (A failed probe that still read "primary" counts too: a primary may write.)
 */
export function localStateUnknown(obs: Observation): boolean {
  const h = obs.local.health;
  return !h.probeOk && h.srRole !== 'secondary';
}

/**
 * The decision of a site that cannot read its own state while `leaderSite` holds the leader key:
 * a hard stop, or, for a blip on a known secondary, waiting. (While the key is free this rule
 * does not apply: the site may be the only candidate left, and a stopped secondary is started
 * again only under a leader; except for the last leader itself, whose key ran out: a successor
 * takes over by the lease rule, so decideWithoutLeader stops it, `local_state_unknown_key_lost`;
 * and for a former primary that is not the last leader (or before anyone led), which no rule
 * would make a candidate: `local_state_unknown_former_primary`.)
 */
export function decideUnknownLocalState(
  obs: Observation,
  spec: HanaSystemReplicationSpec,
  leaderSite: string,
  epoch: number,
): Decision {
  const h = obs.local.health;
  const why = h.probeError ?? 'unknown';
  const threshold = spec.takeover.failureThreshold;
  const broken = replicationBroken(obs, spec, leaderSite);
  if (
    h.srRole === 'none' &&
    obs.local.lastKnownRole === 'secondary' &&
    obs.local.failedProbes < threshold &&
    broken === null
  ) {
    return {
      action: NONE,
      reason: 'secondary_probe_failed_below_threshold',
      message: `cannot read the state of ${obs.self} (${why}), last seen as a secondary: ${obs.local.failedProbes} of ${threshold} failed probes, waiting`,
    };
  }
  return {
    action: { kind: 'fence', epoch, mode: 'stop' },
    reason: 'local_state_unknown',
    message: `cannot read the state of ${obs.self} (${why}) while ${leaderSite} leads at epoch ${epoch}${broken !== null ? ` and ${broken} reports its replication to ${obs.self} broken` : ''}: it may be a primary that writes, stopping it (hard stop, delivered even to a hung instance)`,
  };
}

/**
 * The site this one replicates from (its configured source, else the leader), when that site's
 * agent reads its HANA and reports the replication link to this site in ERROR; else null.
 */
function replicationBroken(
  obs: Observation,
  spec: HanaSystemReplicationSpec,
  leaderSite: string,
): string | null {
  const source = spec.sites.find((s) => s.name === obs.self)?.source ?? leaderSite;
  const r = obs.reports[source];
  if (r === undefined || !r.health.probeOk) return null;
  const link = r.health.replication.find((l) => l.secondary === obs.self);
  return link?.status === 'ERROR' ? source : null;
}
