/** SOK/SFAIL records as the primary's agent writes them each healthy cycle. */
import type { HanaSystemReplicationSpec } from '../api/spec.js';
import { hasLiveProcess } from './health.js';
import { contactOf } from './sync-trust.js';
import type { HanaHealth, SyncRecord } from './types.js';

/**
 * One record per other site in the spec: SOK when the link is ACTIVE and fully synced (in async
 * mode ACTIVE is enough: the lag bound is checked at takeover time), SFAIL otherwise, including a
 * secondary with no link at all. Only a writable primary's view counts.
 */
export function syncRecordsFrom(
  health: HanaHealth,
  spec: HanaSystemReplicationSpec,
  self: string,
  epoch: number,
  now: number,
  previous: Readonly<Record<string, SyncRecord>> = {},
): SyncRecord[] {
  const records: SyncRecord[] = [];
  for (const site of spec.sites) {
    if (site.name === self) continue;
    if (site.source !== undefined && site.source !== self) continue;
    const link = health.replication.find((l) => l.secondary === site.name);
    const ok =
      link !== undefined &&
      link.status === 'ACTIVE' &&
      (spec.replication.mode === 'async' ? true : link.inSync);
    const lagSeconds = link?.lagSeconds ?? null;
    const record: SyncRecord = {
      site: site.name,
      state: ok ? 'SOK' : 'SFAIL',
      confirmedAt: now,
      epoch,
      mode: link?.mode ?? spec.replication.mode,
      lagSeconds,
      lagBytes: link?.lagBytes ?? null,
    };
    if (!ok) {
      records.push(record);
      continue;
    }
    // The replication contact this SOK vouches for: known from the lag, else carried from the
    // previous SOK of this term (unknown lag is not zero lag: trust goes no further than known).
    const before = previous[site.name];
    const carried =
      before !== undefined && before.state === 'SOK' && before.epoch === epoch ? contactOf(before) : null;
    const contactAt = lagSeconds !== null ? now - Math.max(0, lagSeconds) * 1000 : carried;
    // The record with contactAt last, written out (every leader cycle) rather than spread.
    records.push({
      site: record.site,
      state: record.state,
      confirmedAt: record.confirmedAt,
      epoch: record.epoch,
      mode: record.mode,
      lagSeconds: record.lagSeconds,
      lagBytes: record.lagBytes,
      contactAt,
    });
  }
  return records;
}

/**
 * SFAIL for every secondary of `self`, as its agent writes them right before it starts its
 * primary: a HANA primary that starts does not wait logshipping_timeout for a sync secondary it
 * has not reconnected to, it commits alone at once, so no SOK from before the start may vouch
 * for the time after it (SAPHanaSR's secondary is SFAIL after a primary restart too, until it is
 * back in sync). The next healthy cycles write SOK again once the secondary has caught up.
 */
export function sfailBeforeStart(
  spec: HanaSystemReplicationSpec,
  self: string,
  epoch: number,
  now: number,
): SyncRecord[] {
  return spec.sites
    .filter((site) => site.name !== self && (site.source === undefined || site.source === self))
    .map((site) => ({
      site: site.name,
      state: 'SFAIL' as const,
      confirmedAt: now,
      epoch,
      mode: spec.replication.mode,
      lagSeconds: null,
      lagBytes: null,
    }));
}

/** This probe reads processes of a primary coming up that do not run yet. */
export function primaryStarting(h: HanaHealth): boolean {
  return h.probeOk && h.srRole === 'primary' && !h.running && hasLiveProcess(h);
}

const nameserverUp = (h: HanaHealth): boolean => {
  const c = h.processes['hdbnameserver'];
  return c === 'GREEN' || c === 'YELLOW';
};

/**
 * A start of the site's primary seen: this probe reads a primary whose processes run or come up,
 * and nothing shows it is the instance the last readable probe read. A start the agent did not
 * make itself (a DBA's HDB start after a crash) commits alone as soon as it is up, like its own:
 * its agent, holding the key, records the secondaries SFAIL as it does before its own start
 * (sfailBeforeStart; sim:fuzz 121800943: B was promoted on a SOK from before such a start).
 *
 * What the last readable probe read of the instance's health says nothing by itself: a crash and
 * a start by hand can both fall between two probes, the first finding the primary healthy
 * (sim:fuzz 960063960). Its hdbnameserver does: an indexserver restarted by hdbdaemon (SAPHanaSR
 * tester's "kill the primary indexserver", which must end in a takeover) keeps the nameserver
 * process and its pid; a start makes a new one. So:
 * - a primary coming up (not running yet) is a start unless both probes list its nameserver up
 *   with the same pid (none before it, a restarted agent, knows nothing: a start);
 * - a running one only on evidence: the last readable probe found no process at all, or both
 *   list a nameserver pid and they differ (a running primary is what a healthy one looks like;
 *   without a pid to compare, or without an earlier probe, it is taken as the same).
 * `previous`: the agent's last readable probe (probes that failed say nothing of the instance).
 */
export function primaryStartSeen(previous: HanaHealth | undefined, now: HanaHealth): boolean {
  if (!now.probeOk || now.srRole !== 'primary' || !hasLiveProcess(now)) return false;
  const before = previous !== undefined && previous.probeOk ? previous : undefined;
  const pidBefore = before !== undefined && nameserverUp(before) ? before.nameserverPid : undefined;
  const pidNow = nameserverUp(now) ? now.nameserverPid : undefined;
  const pidsKnown = pidBefore !== undefined && pidBefore !== null && pidNow !== undefined && pidNow !== null;
  if (primaryStarting(now)) return !(pidsKnown && pidBefore === pidNow);
  if (before === undefined) return false;
  return !hasLiveProcess(before) || (pidsKnown && pidBefore !== pidNow);
}

/**
 * Whether a `start-local` may bring up a primary, so that its agent must hold the key and record
 * its secondaries SFAIL first (sfailBeforeStart): when the instance was last seen as a primary,
 * and for every restart, which decideAsLeader orders only for the term's own failed primary,
 * often after probes that timed out and so show no SR role at all (`srRole: 'none'`).
 */
export function startMayBringUpPrimary(
  action: { readonly restart: boolean },
  lastHealth: { readonly srRole: string },
): boolean {
  return action.restart || lastHealth.srRole === 'primary';
}
