/**
 * What the operator adds to the status builder's view, as pure functions (no I/O, `now` passed
 * in): takeovers that failed, refusals of unsafe requests kept visible in the status, the role
 * label of each site's pods, and the per-cluster metrics built from the agents' reports.
 */
import {
  appendTakeoverHistory,
  findCondition,
  type Condition,
  type HanaSystemReplicationStatus,
  type TakeoverRecord,
} from '../api/resource.js';
import type { HanaSystemReplicationSpec } from '../api/spec.js';
import type { ClusterState } from '../coordination/port.js';
import type { SiteReport } from '../domain/types.js';
import {
  initClusterCounters,
  replicationStatusValues,
  setReplicationStatus,
  setSiteRole,
  type HanasrMetrics,
  type ReplicationStatusValue,
} from '../observability/metrics.js';
import { rfc3339, type OperatorEvent } from './status.js';
import { exportBackupMetrics } from './backup-status.js';

/** A takeover in progress for longer than this has failed (default of ControllerOptions). */
export const DEFAULT_TAKEOVER_TIMEOUT_MS = 120_000;

/** Condition reason of TakeoverInProgress after a refused planned takeover. */
export const REASON_TAKEOVER_REFUSED = 'TakeoverRefused';

/** Reasons of a takeover action that did not fail: another member moved first, or a deliberate wait. */
const NOT_A_FAILURE = new Set([
  'lost_race',
  // The handshake failed and the old primary may still write: the agent keeps the key and tries
  // again next cycle (src/domain/promotion.ts); a takeover that never completes times out.
  'old_primary_may_write',
  'old_primary_writable',
]);

/**
 * The agent's last action says its takeover (or the promotion after it) failed. A lost
 * compare-and-set on the leader key is not a failure (another member moved first), nor is a
 * promotion that waits for the old primary to stop.
 */
export function reportSaysTakeoverFailed(report: SiteReport): boolean {
  const a = report.lastAction;
  if (a === undefined || a.ok) return false;
  return (a.action === 'takeover' || a.action === 'promote') && !NOT_A_FAILURE.has(a.reason);
}

export interface TakeoverFailure {
  /** Identifies the failure so it is reported once (the controller remembers the keys). */
  readonly key: string;
  readonly record: TakeoverRecord;
  readonly event: OperatorEvent;
}

export interface FailureInput {
  readonly previous: HanaSystemReplicationStatus | undefined;
  /** The status buildStatus computed for this reconcile. */
  readonly next: HanaSystemReplicationStatus;
  readonly state: ClusterState;
  readonly now: number;
  readonly timeoutMs: number;
}

/**
 * Takeovers that failed, seen in this reconcile:
 * - a planned takeover whose intent ended (carried out or refused by the agents) without its
 *   target holding the leader key;
 * - a takeover in progress for longer than `timeoutMs`;
 * - an agent report whose last action says its takeover failed (once per action).
 */
export function detectTakeoverFailures(input: FailureInput): TakeoverFailure[] {
  const { previous, next, state, now, timeoutMs } = input;
  const out: TakeoverFailure[] = [];
  const leader = state.leader;
  const before = findCondition(previous, 'TakeoverInProgress');
  const after = findCondition(next, 'TakeoverInProgress');
  const from = leader?.site ?? state.lastLeader ?? previous?.currentPrimary;
  const failure = (key: string, to: string, reason: string, message: string, startedAt?: number) => {
    out.push({
      key,
      record: {
        time: rfc3339(now),
        from: from ?? to,
        to,
        reason,
        outcome: 'failed',
        epoch: leader?.epoch ?? state.lastEpoch,
        ...(startedAt !== undefined && now >= startedAt
          ? { durationSeconds: Math.round((now - startedAt) / 1000) }
          : {}),
      },
      event: { type: 'Warning', reason: 'TakeoverFailed', message },
    });
  };

  const target = previous?.targetPrimary;
  if (
    before?.status === 'True' &&
    before.reason === 'PlannedTakeover' &&
    after?.status !== 'True' &&
    target !== undefined &&
    leader?.site !== target
  ) {
    failure(
      `planned|${target}|${before.lastTransitionTime}`,
      target,
      'PlannedTakeover',
      `planned takeover to ${target} ended without ${target} becoming primary (${leader !== null ? `${leader.site} is primary in epoch ${leader.epoch}` : 'no site holds the leader key'})`,
      Date.parse(before.lastTransitionTime),
    );
  }

  // A region switchover has its own deadline (--region-switchover-timeout-seconds) and Events.
  if (after?.status === 'True' && after.reason !== 'RegionSwitchover') {
    const startedAt = Date.parse(after.lastTransitionTime);
    if (now - startedAt > timeoutMs) {
      const to = next.targetPrimary ?? '';
      const planned = after.reason === 'PlannedTakeover';
      const seconds = Math.round(timeoutMs / 1000);
      const message = planned
        ? `planned takeover to ${to} did not complete within ${seconds} s`
        : `no secondary took over within ${seconds} s after the leader key of term ${state.lastEpoch} was lost`;
      const site = planned ? to : undefined;
      failure(
        `timeout|${after.lastTransitionTime}`,
        site !== undefined && site !== '' ? site : (state.lastLeader ?? from ?? 'unknown'),
        planned ? 'PlannedTakeover' : 'PrimaryFailed',
        message,
        startedAt,
      );
    }
  }

  for (const report of Object.values(state.reports)) {
    if (!reportSaysTakeoverFailed(report)) continue;
    const a = report.lastAction!;
    // Already in the history (this failure was reported before an operator restart): not again.
    const recorded = (previous?.takeoverHistory ?? []).some(
      (t) =>
        t.outcome === 'failed' &&
        t.reason === 'TakeoverActionFailed' &&
        t.to === report.site &&
        Date.parse(t.time) >= Math.floor(a.at / 1000) * 1000,
    );
    if (recorded) continue;
    failure(
      `report|${report.site}|${a.at}`,
      report.site,
      'TakeoverActionFailed',
      `${report.site}: ${a.message}`,
    );
  }
  return out.filter((f) => /^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(f.record.to));
}

/** A stop an agent could not complete, even with a kill (its report's last action). */
export interface FenceFailure {
  /** Identifies the failure so it is reported once. */
  readonly key: string;
  readonly event: OperatorEvent;
}

/**
 * Agents whose last action is a failed stop of their own site (`fence_failed`: the hard stop and
 * the kill both failed or timed out): a Warning Event each, once per failed attempt. The agent
 * retries on its next cycle; the site is not reported as fenced meanwhile.
 */
export function detectFenceFailures(state: ClusterState): FenceFailure[] {
  const out: FenceFailure[] = [];
  for (const report of Object.values(state.reports)) {
    const a = report.lastAction;
    if (a === undefined || a.ok || a.reason !== 'fence_failed') continue;
    out.push({
      key: `fence|${report.site}|${a.at}`,
      event: { type: 'Warning', reason: 'FenceFailed', message: `${report.site}: ${a.message}` },
    });
  }
  return out;
}

/**
 * Fencing news from the store and the reports, an Event each, once: a node fenced off or on by
 * another site's agent (NodeFenced, or NodeFenceFailed when the fence agent failed or timed out)
 * and a watchdog that the spec wants but that is not usable (WatchdogUnusable, once per reason).
 */
export function detectFencingEvents(state: ClusterState): FenceFailure[] {
  const out: FenceFailure[] = [];
  for (const f of Object.values(state.fences ?? {})) {
    const ok = f.result === 'confirmed';
    out.push({
      key: `node-fence|${f.site}|${f.action}|${f.endedAt}`,
      event: {
        type: ok ? 'Normal' : 'Warning',
        reason: ok ? 'NodeFenced' : 'NodeFenceFailed',
        message: `${f.by} ${f.action === 'off' ? 'fenced (powered off)' : 'powered back on'} the node of ${f.site} (term ${f.epoch}): ${f.result}, ${f.message}`,
      },
    });
  }
  for (const report of Object.values(state.reports)) {
    const w = report.watchdog;
    if (w === undefined || w.mode === 'disabled' || w.usable) continue;
    out.push({
      key: `watchdog|${report.site}|${w.reason}`,
      event: {
        type: 'Warning',
        reason: 'WatchdogUnusable',
        message: `${report.site}: ${w.message}${w.mayLead ? '' : ' (the site may not lead: watchdog mode required)'}`,
      },
    });
  }
  return out;
}

/** Puts failed takeovers into lastTakeover and the history (newest last in `failures`). */
export function withFailures(
  status: HanaSystemReplicationStatus,
  failures: readonly TakeoverFailure[],
): HanaSystemReplicationStatus {
  if (failures.length === 0) return status;
  let history = status.takeoverHistory;
  let last = status.lastTakeover;
  for (const f of failures) {
    history = appendTakeoverHistory(history, f.record);
    last = f.record;
  }
  return {
    ...status,
    ...(last !== undefined ? { lastTakeover: last } : {}),
    ...(history !== undefined ? { takeoverHistory: history } : {}),
  };
}

export interface Refusal {
  /** The annotation, e.g. hanasr.io/planned-takeover. */
  readonly annotation: string;
  readonly kind:
    'planned-takeover' | 'fence' | 'fence-release' | 'register' | 'disaster-takeover' | 'region-switchover';
  readonly site: string;
  readonly why: string;
}

/**
 * Keeps a refused planned takeover visible: TakeoverInProgress is False with reason
 * TakeoverRefused and a message saying why, from the refusal until a takeover starts or the
 * term changes.
 */
export function withRefusal(
  status: HanaSystemReplicationStatus,
  refusals: readonly Refusal[],
  previous: HanaSystemReplicationStatus | undefined,
  generation: number,
  now: number,
): HanaSystemReplicationStatus {
  const current = findCondition(status, 'TakeoverInProgress');
  if (current === undefined || current.status !== 'False' || current.reason !== 'Stable') return status;
  const refused = refusals
    .filter((r) => r.kind === 'planned-takeover' || r.kind === 'region-switchover')
    .at(-1);
  const prev = findCondition(previous, 'TakeoverInProgress');
  let replacement: Condition | undefined;
  if (refused !== undefined) {
    replacement = {
      type: 'TakeoverInProgress',
      status: 'False',
      reason: REASON_TAKEOVER_REFUSED,
      message: `${refused.annotation}=${refused.site} refused at ${rfc3339(now)}: ${refused.why}`,
      lastTransitionTime: prev?.status === 'False' ? prev.lastTransitionTime : rfc3339(now),
      observedGeneration: generation,
    };
  } else if (prev?.reason === REASON_TAKEOVER_REFUSED && previous?.epoch === status.epoch) {
    replacement = { ...prev, observedGeneration: generation };
  }
  if (replacement === undefined) return status;
  const r = replacement;
  return {
    ...status,
    conditions: (status.conditions ?? []).map((c) => (c.type === 'TakeoverInProgress' ? r : c)),
  };
}

/**
 * The role label a site's pods should carry: primary for the holder of the leader key,
 * secondary for the others, none (label removed) for the former primary while the key is vacant.
 */
export function desiredRole(site: string, state: ClusterState): 'primary' | 'secondary' | null {
  if (state.leader !== null) return state.leader.site === site ? 'primary' : 'secondary';
  return state.lastLeader === site ? null : 'secondary';
}

export interface ClusterLabels {
  readonly namespace: string;
  readonly cluster: string;
}

/** Exports the per-cluster view: primaries, epoch, roles, replication, report times, takeovers. */
export function exportClusterMetrics(
  metrics: HanasrMetrics,
  labels: ClusterLabels,
  spec: HanaSystemReplicationSpec,
  state: ClusterState,
  status: HanaSystemReplicationStatus,
  previous: HanaSystemReplicationStatus | undefined,
): void {
  initClusterCounters(
    metrics,
    labels,
    spec.sites.map((s) => s.name),
  );
  const writable = Object.values(state.reports).filter((r) => r.health.acceptsWrites).length;
  metrics.primarySites.set(labels, writable);
  metrics.leaderEpoch.set(labels, state.leader?.epoch ?? state.lastEpoch);
  for (const site of status.sites ?? []) {
    const l = { ...labels, site: site.name };
    setSiteRole(metrics, l, site.role);
    const report = state.reports[site.name];
    if (report !== undefined) {
      metrics.agentLastReportTimestampSeconds.set(l, Math.floor(report.observedAt / 1000));
      const ls = report.health.landscapeStatus;
      if (ls !== null) metrics.landscapeStatus.set(l, ls);
    }
    if (site.name === status.currentPrimary && state.leader?.site === site.name) continue;
    if (site.lagSeconds !== undefined) metrics.replicationLagSeconds.set(l, site.lagSeconds);
    if (site.lagBytes !== undefined) metrics.replicationUnshippedBytes.set(l, site.lagBytes);
    if (site.inSync !== undefined) metrics.replicationInSync.set(l, site.inSync ? 1 : 0);
    const rs = site.replicationStatus;
    if (rs !== undefined && (replicationStatusValues as readonly string[]).includes(rs)) {
      setReplicationStatus(metrics, l, rs as ReplicationStatusValue);
    }
  }
  exportBackupMetrics(metrics, labels, status.backup);
  const lastSuccess = (status.takeoverHistory ?? []).find((t) => t.outcome !== 'failed');
  if (lastSuccess !== undefined) {
    metrics.lastTakeoverTimestampSeconds.set(labels, Math.floor(Date.parse(lastSuccess.time) / 1000));
  }
  // Count each takeover once: the records new in this status.
  const seen = new Set((previous?.takeoverHistory ?? []).map((t) => JSON.stringify(t)));
  for (const t of status.takeoverHistory ?? []) {
    if (seen.has(JSON.stringify(t))) continue;
    metrics.takeoversTotal.inc({ ...labels, site: t.to, outcome: t.outcome ?? 'succeeded' });
  }
}

/**
 * A takeover can start and finish between two reconciles (the key is vacant for less than a
 * resync): the Events still tell the whole story, TakeoverStarted before TakeoverSucceeded.
 */
export function withTakeoverStory(
  events: readonly OperatorEvent[],
  previous: HanaSystemReplicationStatus | undefined,
  status: HanaSystemReplicationStatus,
): OperatorEvent[] {
  const i = events.findIndex((e) => e.reason === 'TakeoverSucceeded');
  if (i < 0 || events.some((e) => e.reason === 'TakeoverStarted')) return [...events];
  // True: TakeoverStarted was told. Unknown (the store could not be read): it may have been, and
  // a second one would be worse than none — TakeoverSucceeded tells the story on its own.
  const prev = findCondition(previous, 'TakeoverInProgress')?.status;
  if (prev === 'True' || prev === 'Unknown') return [...events];
  const t = status.lastTakeover;
  const planned = t?.reason === 'PlannedTakeover';
  const started: OperatorEvent = {
    type: planned ? 'Normal' : 'Warning',
    reason: 'TakeoverStarted',
    message: `${planned ? 'planned takeover' : 'takeover'}${t !== undefined ? ` from ${t.from} to ${t.to}` : ''} started and completed between two reconciles`,
  };
  return [...events.slice(0, i), started, ...events.slice(i)];
}
