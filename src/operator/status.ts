// Why this file is long: the pure status builder: every status field and condition computed from one observed state, unit-tested as a whole.
/**
 * The status builder: a pure function from what the coordination store says (leader key, epoch,
 * agent reports, sync records, intents), the resource and the previous status, to the status the
 * operator writes and the Events it records. No I/O, no clock reads: `now` is passed in.
 *
 * While the leader key is vacant, `currentPrimary` names the holder of the last term (the store's
 * lastLeader) and `Ready` is False: nobody accepts writes. This keeps the from-site of a takeover
 * in the status itself, so a restarted operator still tells the takeover's story.
 */
import { drLossBySite } from './disaster.js';
import {
  appendTakeoverHistory,
  findCondition,
  type Condition,
  type ConditionStatus,
  type ConditionType,
  type HanaStatus,
  type HanaSystemReplicationStatus,
  type SiteStatus,
  type TakeoverRecord,
} from '../api/resource.js';
import type { HanaSystemReplicationSpec, SiteSpec } from '../api/spec.js';
import type { ClusterState } from '../coordination/port.js';
import { regionOf, type RegionRecord } from '../domain/region.js';
import { describeSkew, skewBeyondBound } from '../domain/clock-skew.js';
import { inSyncFromStore } from '../domain/sync-trust.js';
import { landscapeStatusNames, type Intent, type ReplicationLink, type SiteReport } from '../domain/types.js';
import {
  evaluateLagAlerts,
  lagCondition,
  restoreLagAlerts,
  thresholdsFromSpec,
  type LagAlertState,
  type LagEvaluation,
} from './alerts.js';
import { backupReport } from './backup-status.js';

export type EventType = 'Normal' | 'Warning';

/** A core v1 Event to record on the resource. */
export interface OperatorEvent {
  readonly type: EventType;
  /** CamelCase (TakeoverStarted, TakeoverSucceeded...). */
  readonly reason: string;
  readonly message: string;
}

export interface StatusInput {
  readonly spec: HanaSystemReplicationSpec;
  readonly generation: number;
  /** The store's snapshot, or null when it could not be read (the error says why). */
  readonly state: ClusterState | null;
  readonly stateError?: string;
  readonly previous: HanaSystemReplicationStatus | undefined;
  /** ms since the Unix epoch. */
  readonly now: number;
  /**
   * The lag alert evaluator's state (src/operator/alerts.ts): when given, ReplicationLagHigh
   * follows it (hysteresis, alerts.forSeconds); null rebuilds it from the previous condition
   * (operator restart). Absent: the condition follows the thresholds at once.
   */
  readonly lagAlerts?: LagAlertState | null;
  /**
   * The target of a planned takeover the operator requested in this reconcile: a change of
   * primary to it seen now is that takeover, even when the agents finished the whole handover
   * before the status could show it running.
   */
  readonly plannedTarget?: string;
  /**
   * The region whose store this operator reads (its own; docs/dr.md). With it, a store whose
   * region record names another region as active is a DR region: nobody leads there, and that
   * is no in-region takeover (no PrimaryLost, no TakeoverStarted, no FencedOldPrimary). Absent:
   * the region of the sites that report into this store, when they agree.
   */
  readonly ownRegion?: string;
  /** The operator's --region-switchover-timeout-seconds (ms): the draining switchover's deadline. */
  readonly regionSwitchoverTimeoutMs?: number;
}

export interface StatusResult {
  readonly status: HanaSystemReplicationStatus;
  readonly events: readonly OperatorEvent[];
  /** The evaluator's new state and transitions, when `lagAlerts` was given. */
  readonly lagAlerts?: LagEvaluation;
}

/** RFC 3339 in seconds, as Kubernetes writes metav1.Time. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function hanaStatusOf(report: SiteReport): HanaStatus {
  const h = report.health;
  if (h.suspended) return 'suspended';
  if (h.running) return 'running';
  if (h.probeOk) return 'stopped';
  return 'unknown';
}

/** The link that replicates to `site`, from the report of its source (or of any site that has one). */
function linkTo(
  site: SiteSpec,
  source: string | undefined,
  state: ClusterState,
): ReplicationLink | undefined {
  const from = site.source ?? source;
  if (from !== undefined) {
    const link = state.reports[from]?.health.replication.find((l) => l.secondary === site.name);
    if (link !== undefined) return link;
  }
  return undefined;
}

function buildSite(
  spec: HanaSystemReplicationSpec,
  site: SiteSpec,
  state: ClusterState,
  primary: string | undefined,
  now: number,
): SiteStatus {
  const report = state.reports[site.name];
  const isLeader = state.leader?.site === site.name;
  const role = isLeader ? 'primary' : (report?.health.srRole ?? 'none');
  const out: {
    -readonly [K in keyof SiteStatus]: SiteStatus[K];
  } = { name: site.name, role, hanaStatus: report !== undefined ? hanaStatusOf(report) : 'unknown' };
  if (report !== undefined) {
    const ls = report.health.landscapeStatus;
    if (ls !== null) out.landscapeStatus = landscapeStatusNames[ls];
    out.lastReportTime = rfc3339(report.observedAt);
    out.fenced = report.fenced;
    const wd = report.watchdog;
    if (wd !== undefined) {
      out.watchdog = {
        mode: wd.mode,
        state: wd.state,
        usable: wd.usable,
        ...(wd.timeoutSeconds !== undefined ? { timeoutSeconds: wd.timeoutSeconds } : {}),
        reason: wd.reason.slice(0, 64),
        message: wd.message.slice(0, 1024),
      };
    }
  }
  const fence = state.fences?.[site.name];
  if (fence !== undefined) {
    out.nodeFence = {
      action: fence.action,
      result: fence.result,
      by: fence.by,
      epoch: fence.epoch,
      time: rfc3339(fence.endedAt),
      message: fence.message.slice(0, 1024),
    };
  }
  if (site.name === primary) {
    if (report !== undefined) out.replicationStatus = report.health.overallReplicationStatus;
    return out;
  }
  const link = linkTo(site, primary, state);
  if (link !== undefined) {
    out.replicationMode = link.mode;
    out.replicationStatus = link.status;
    out.inSync = link.inSync;
    if (link.lagSeconds !== null) out.lagSeconds = Math.max(0, link.lagSeconds);
    if (link.lagBytes !== null) out.lagBytes = Math.max(0, Math.round(link.lagBytes));
  } else {
    // No live link (primary not reporting): fall back on the sync record of the current term.
    const sync = state.sync[site.name];
    if (sync !== undefined && sync.state !== 'PRIM' && sync.epoch === state.lastEpoch) {
      out.replicationMode = sync.mode;
      out.inSync = sync.state === 'SOK';
      if (sync.lagSeconds !== null) out.lagSeconds = Math.max(0, sync.lagSeconds);
      if (sync.lagBytes !== null) out.lagBytes = Math.max(0, Math.round(sync.lagBytes));
    }
  }
  // A site that replicates from the primary is in sync only when the promotion rule says so (the
  // agents' rule, src/domain/sync-trust.ts): the status never promises a takeover it would refuse.
  // A tier-3 site shows its link to its own source.
  const from = site.source ?? state.reports[site.name]?.health.source;
  if (primary !== undefined && (from === undefined || from === primary)) {
    const verdict = inSyncFromStore(spec, state, site.name, primary, now);
    // The primary's live view goes first: its next record will say SFAIL too.
    const linkBehind = link !== undefined && !link.inSync && spec.replication.mode !== 'async';
    out.inSync = verdict.ok && !linkBehind;
    if (linkBehind)
      out.notInSyncReason = `the primary reports its link ${link.status}, not fully synced (SFAIL)`;
    else if (!verdict.ok) out.notInSyncReason = verdict.why;
  }
  return out;
}

interface ConditionDraft {
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
}

function condition(
  type: ConditionType,
  draft: ConditionDraft,
  previous: HanaSystemReplicationStatus | undefined,
  generation: number,
  now: number,
): Condition {
  const prev = findCondition(previous, type);
  // A region switchover that ended is no part of what follows (an in-region loss after an abort
  // starts its own clock: the takeover timeout counts from it).
  const same =
    prev !== undefined &&
    prev.status === draft.status &&
    (prev.reason === 'RegionSwitchover') === (draft.reason === 'RegionSwitchover');
  const lastTransitionTime = same ? prev.lastTransitionTime : rfc3339(now);
  return { type, ...draft, lastTransitionTime, observedGeneration: generation };
}

const unknownStore = (error: string | undefined): ConditionDraft => ({
  status: 'Unknown',
  reason: 'CoordinationUnavailable',
  message: `the coordination store could not be read${error !== undefined ? `: ${error}` : ''}`,
});

function plannedTarget(state: ClusterState): string | undefined {
  if (state.handoverTo !== undefined) return state.handoverTo;
  const intent = state.intents.find(
    (i): i is Extract<Intent, { kind: 'planned-takeover' }> => i.kind === 'planned-takeover',
  );
  return intent?.target;
}

function readyDraft(state: ClusterState, phase: RegionPhase): ConditionDraft {
  const leader = state.leader;
  if (leader === null && phase.kind === 'inactive')
    return {
      status: 'False',
      reason: 'RegionInactive',
      message: `region ${phase.record.active} is active at generation ${phase.record.generation}: the primary runs there, the sites of region ${phase.own} are its DR secondaries`,
    };
  if (leader === null) {
    return state.lastEpoch === 0
      ? { status: 'False', reason: 'NoPrimaryYet', message: 'no site has become primary yet' }
      : {
          status: 'False',
          reason: 'NoPrimary',
          message: `no site holds the leader key since term ${state.lastEpoch}${state.lastLeader !== undefined ? ` of ${state.lastLeader}` : ''} ended`,
        };
  }
  const report = state.reports[leader.site];
  if (report === undefined) {
    return {
      status: 'Unknown',
      reason: 'PrimaryNotReporting',
      message: `${leader.site} holds the leader key in epoch ${leader.epoch} but its agent publishes no report`,
    };
  }
  if (!report.health.acceptsWrites) {
    return {
      status: 'False',
      reason: 'PrimaryNotWritable',
      message: `${leader.site} holds the leader key in epoch ${leader.epoch} but does not accept writes${report.health.probeError !== undefined ? ` (${report.health.probeError})` : ''}`,
    };
  }
  return {
    status: 'True',
    reason: 'PrimaryAvailable',
    message: `${leader.site} is primary in epoch ${leader.epoch} and accepts writes`,
  };
}

function replicationDraft(
  spec: HanaSystemReplicationSpec,
  state: ClusterState,
  sites: readonly SiteStatus[],
): ConditionDraft {
  const leader = state.leader;
  if (leader === null) {
    return { status: 'Unknown', reason: 'NoPrimary', message: 'no primary: replication cannot be judged' };
  }
  if (state.reports[leader.site] === undefined) {
    return {
      status: 'Unknown',
      reason: 'PrimaryNotReporting',
      message: `the primary ${leader.site} publishes no report`,
    };
  }
  const secondaries = sites.filter((s) => s.name !== leader.site);
  const broken = secondaries.filter((s) => s.replicationStatus !== 'ACTIVE');
  if (broken.length > 0) {
    return {
      status: 'False',
      reason: 'SecondaryNotReplicating',
      message: broken.map((s) => `${s.name} is ${s.replicationStatus ?? 'not replicating'}`).join('; '),
    };
  }
  const sync = spec.replication.mode !== 'async';
  const behind = secondaries.filter((s) => s.inSync !== true);
  if (behind.length > 0) {
    return {
      status: 'False',
      reason: 'SecondaryNotInSync',
      message: behind
        .map((s) => `${s.name} is ACTIVE but not in sync (${s.notInSyncReason ?? 'SFAIL'})`)
        .join('; '),
    };
  }
  return {
    status: 'True',
    reason: sync ? 'AllSecondariesInSync' : 'AllSecondariesActive',
    message: secondaries
      .map(
        (s) =>
          `${s.name} ${sync ? 'in sync' : 'active'}${s.lagSeconds !== undefined ? `, lag ${s.lagSeconds} s` : ''}`,
      )
      .join('; '),
  };
}

function lagDraft(
  spec: HanaSystemReplicationSpec,
  sites: readonly SiteStatus[],
  primary: string | undefined,
): ConditionDraft {
  const a = spec.alerts;
  const over = (s: SiteStatus, seconds: number, bytes: number | undefined): boolean =>
    (s.lagSeconds !== undefined && s.lagSeconds >= seconds) ||
    (bytes !== undefined && s.lagBytes !== undefined && s.lagBytes >= bytes);
  const secondaries = sites.filter((s) => s.name !== primary);
  const critical = secondaries.filter((s) => over(s, a.lagCriticalSeconds, a.lagCriticalBytes));
  const warning = secondaries.filter((s) => over(s, a.lagWarningSeconds, a.lagWarningBytes));
  const describe = (list: readonly SiteStatus[]): string =>
    list.map((s) => `${s.name} lags ${s.lagSeconds ?? '?'} s / ${s.lagBytes ?? '?'} bytes`).join('; ');
  if (critical.length > 0) {
    return { status: 'True', reason: 'LagAboveCritical', message: describe(critical) };
  }
  if (warning.length > 0) {
    return { status: 'True', reason: 'LagAboveWarning', message: describe(warning) };
  }
  return {
    status: 'False',
    reason: 'LagBelowThresholds',
    message: 'every secondary lags less than the warning thresholds',
  };
}

/**
 * Where this store's region stands (docs/dr.md): `active` (it may lead; also every store without
 * a region record), `draining` (a planned region switchover drains here: nobody leads until the
 * handover or the abort), or `inactive` (another region is active: its sites are DR secondaries,
 * and no site of it takes over inside the region).
 */
type RegionPhase =
  | { readonly kind: 'active' }
  | { readonly kind: 'draining'; readonly record: RegionRecord }
  | { readonly kind: 'inactive'; readonly record: RegionRecord; readonly own: string };

/** The one region of the sites reporting into this store (agents report to their own region's). */
function reportingRegion(spec: HanaSystemReplicationSpec, state: ClusterState): string | undefined {
  const regions = new Set(Object.keys(state.reports).map((site) => regionOf(spec, site)));
  if (regions.size !== 1) return undefined;
  return [...regions][0];
}

function regionPhaseOf(
  spec: HanaSystemReplicationSpec,
  state: ClusterState,
  ownRegion: string | undefined,
): RegionPhase {
  const r = state.region;
  if (r === undefined) return { kind: 'active' };
  if (r.draining === true && r.by === 'switchover') return { kind: 'draining', record: r };
  const own = ownRegion ?? reportingRegion(spec, state);
  if (own !== undefined && r.active !== own) return { kind: 'inactive', record: r, own };
  return { kind: 'active' };
}

/**
 * What a draining planned region switchover waits for, from this (the old active) region's store:
 * the old primary's demotion token first (its agent's last word on it, when it said one), then the
 * target's agent, which reports into the other region's store (the operator reads it there).
 */
export function switchoverWaitingFor(
  record: RegionRecord,
  state: ClusterState,
  deadline: number | undefined,
): string {
  const token = record.token;
  const until =
    deadline !== undefined
      ? ` (aborted at ${rfc3339(deadline)} if not handed over by then: the old region active again, the target not promoted)`
      : '';
  if (token?.toSite === undefined)
    return `the draining record of generation ${record.generation} names no target site: a DBA must write the next generation`;
  const { fromSite: from, toSite: to } = token;
  if (token.logPosition === undefined) {
    const said = state.reports[from]?.lastAction;
    const last =
      said !== undefined && said.action === 'demote-region' && said.at >= record.since
        ? `; ${from}'s agent said: ${said.message}`
        : '';
    return `waiting for ${from} to stop once its log stands still and is shipped to ${to}, and to record its last log position (the demotion token)${last}${until}`;
  }
  return `${from} stopped at log position ${token.logPosition}; waiting for ${to}'s agent (region ${record.active}) to report it running as a secondary holding that position, then the handover to region ${record.active}${until}`;
}

function takeoverDraft(state: ClusterState, phase: RegionPhase, waitingFor?: string): ConditionDraft {
  if (phase.kind === 'draining') {
    const t = phase.record.token;
    return {
      status: 'True',
      reason: 'RegionSwitchover',
      message: `planned region switchover${t?.toSite !== undefined ? ` from ${t.fromSite} to ${t.toSite}` : ''} (region ${phase.record.active} at generation ${phase.record.generation + 1}) draining: ${waitingFor ?? 'nobody leads until the handover or the abort'}`,
    };
  }
  if (phase.kind === 'inactive')
    return {
      status: 'False',
      reason: 'RegionInactive',
      message: `region ${phase.record.active} is active at generation ${phase.record.generation}: the sites of region ${phase.own} are DR secondaries and take over only by a region switchover or a disaster takeover`,
    };
  const target = plannedTarget(state);
  const leader = state.leader;
  if (target !== undefined && leader?.site !== target) {
    const from = leader?.site ?? state.lastLeader;
    return {
      status: 'True',
      reason: 'PlannedTakeover',
      message: `planned takeover${from !== undefined ? ` from ${from}` : ''} to ${target} in progress`,
    };
  }
  if (leader === null) {
    if (state.lastEpoch === 0) {
      return { status: 'False', reason: 'NoPrimaryYet', message: 'waiting for the first primary' };
    }
    return {
      status: 'True',
      reason: 'PrimaryLost',
      message: `the leader key of term ${state.lastEpoch}${state.lastLeader !== undefined ? ` (${state.lastLeader})` : ''} is gone: waiting for an eligible secondary to take over`,
    };
  }
  return { status: 'False', reason: 'Stable', message: `${leader.site} is primary in epoch ${leader.epoch}` };
}

function lagUnknownDraft(sites: readonly SiteStatus[], primary: string | undefined): ConditionDraft {
  const unknown = sites.filter(
    (s) => s.name !== primary && s.replicationStatus !== undefined && s.lagSeconds === undefined,
  );
  if (unknown.length === 0)
    return {
      status: 'False',
      reason: 'LagKnown',
      message: 'the lag of every replicating secondary is known',
    };
  return {
    status: 'True',
    reason: 'NoLagSource',
    message: `the lag of ${unknown.map((s) => s.name).join(', ')} is unknown (the SQL lag source of the primary fails or has no credentials): no automatic takeover rests on it`,
  };
}

function clockSkewDraft(spec: HanaSystemReplicationSpec, state: ClusterState): ConditionDraft {
  const beyond: string[] = [];
  let measured = 0;
  for (const [site, report] of Object.entries(state.reports)) {
    for (const [peer, e] of Object.entries(report.clockSkew ?? {})) {
      measured++;
      if (skewBeyondBound(e, spec)) beyond.push(`${site} measures ${describeSkew(e, peer, site)}`);
    }
  }
  if (beyond.length > 0) {
    return {
      status: 'True',
      reason: 'SkewAboveBound',
      message: `${beyond.join('; ')}: more than clock.maxSkewSeconds (${spec.clock.maxSkewSeconds} s), automatic takeover is refused (check NTP/chrony)`,
    };
  }
  if (measured === 0)
    return {
      status: 'Unknown',
      reason: 'SkewNotMeasured',
      message: 'no agent has measured a peer clock yet',
    };
  return {
    status: 'False',
    reason: 'SkewWithinBound',
    message: `every measured clock offset is within clock.maxSkewSeconds (${spec.clock.maxSkewSeconds} s)`,
  };
}

function fencedDraft(sites: readonly SiteStatus[]): ConditionDraft {
  const fenced = sites.filter((s) => s.fenced === true);
  if (fenced.length === 0) return { status: 'False', reason: 'NoSiteFenced', message: 'no site is fenced' };
  return {
    status: 'True',
    reason: 'SiteFenced',
    message: `${fenced.map((s) => s.name).join(', ')} ${fenced.length === 1 ? 'is' : 'are'} fenced (stopped or suspended, no writes)`,
  };
}

function maintenanceDraft(spec: HanaSystemReplicationSpec): ConditionDraft {
  return spec.maintenance
    ? {
        status: 'True',
        reason: 'MaintenanceRequested',
        message: 'spec.maintenance is true: hanasr observes and reports but takes no action',
      }
    : { status: 'False', reason: 'MaintenanceOff', message: 'hanasr acts on failures' };
}

/** Computes the status to write and the Events to record for one reconcile. */
export function buildStatus(input: StatusInput): StatusResult {
  const { spec, generation, state, previous, now } = input;
  const events: OperatorEvent[] = [];
  const cond = (type: ConditionType, draft: ConditionDraft): Condition =>
    condition(type, draft, previous, generation, now);

  const prevLagAlerts =
    input.lagAlerts === undefined
      ? undefined
      : (input.lagAlerts ?? restoreLagAlerts(findCondition(previous, 'ReplicationLagHigh')));

  if (state === null) {
    // Keep what we knew; say that it is not current.
    const unknown = unknownStore(input.stateError);
    // The lag alerts keep their episode while the store cannot be read.
    const prevLag = findCondition(previous, 'ReplicationLagHigh');
    const conditions = [
      cond('Ready', unknown),
      cond('ReplicationHealthy', unknown),
      cond('TakeoverInProgress', unknown),
      cond('Fenced', unknown),
      cond('MaintenanceMode', maintenanceDraft(spec)),
      prevLagAlerts !== undefined && prevLag !== undefined ? prevLag : cond('ReplicationLagHigh', unknown),
      cond('LagUnknown', unknown),
      cond('ClockSkew', unknown),
      ...(spec.backup !== undefined ? [cond('BackupHealthy', unknown)] : []),
    ];
    return {
      status: { ...previous, observedGeneration: generation, conditions },
      events,
      ...(prevLagAlerts !== undefined ? { lagAlerts: { state: prevLagAlerts, transitions: [] } } : {}),
    };
  }

  const leader = state.leader;
  const currentPrimary = leader?.site ?? state.lastLeader;
  const targetPrimary = plannedTarget(state) ?? leader?.site;
  const sites = spec.sites.map((s) => buildSite(spec, s, state, leader?.site, now));

  const phase = regionPhaseOf(spec, state, input.ownRegion);
  const deadline =
    phase.kind === 'draining' && input.regionSwitchoverTimeoutMs !== undefined
      ? phase.record.since + input.regionSwitchoverTimeoutMs
      : undefined;
  const waitingFor =
    phase.kind === 'draining' ? switchoverWaitingFor(phase.record, state, deadline) : undefined;
  const takeover = takeoverDraft(state, phase, waitingFor);
  const lagAlerts =
    prevLagAlerts === undefined
      ? undefined
      : evaluateLagAlerts(
          prevLagAlerts,
          sites
            .filter((s) => s.name !== leader?.site)
            .map((s) => ({ site: s.name, lagSeconds: s.lagSeconds, lagBytes: s.lagBytes })),
          thresholdsFromSpec(spec.alerts),
          now,
        );
  const lag = lagAlerts === undefined ? lagDraft(spec, sites, leader?.site) : lagCondition(lagAlerts.state);
  const conditions = [
    cond('Ready', readyDraft(state, phase)),
    cond('ReplicationHealthy', replicationDraft(spec, state, sites)),
    cond('TakeoverInProgress', takeover),
    cond('Fenced', fencedDraft(sites)),
    cond('MaintenanceMode', maintenanceDraft(spec)),
    cond('ReplicationLagHigh', lag),
    cond('LagUnknown', lagUnknownDraft(sites, leader?.site)),
    cond('ClockSkew', clockSkewDraft(spec, state)),
  ];
  const backup = backupReport(spec, state, previous, now);
  if (backup !== undefined) {
    conditions.push(cond('BackupHealthy', backup.condition));
    events.push(...backup.events);
  }

  const prevTakeover = findCondition(previous, 'TakeoverInProgress');
  // Only a start seen from False (or a first status) is new: after a store outage (Unknown) the
  // takeover that was already running has had its TakeoverStarted Event. A region switchover has
  // its own Events (RegionSwitchoverDraining, then Handover, Aborted or Stuck).
  if (
    takeover.status === 'True' &&
    takeover.reason !== 'RegionSwitchover' &&
    (prevTakeover === undefined ||
      prevTakeover.status === 'False' ||
      (prevTakeover.status === 'True' && prevTakeover.reason === 'RegionSwitchover'))
  ) {
    events.push({
      type: takeover.reason === 'PlannedTakeover' ? 'Normal' : 'Warning',
      reason: 'TakeoverStarted',
      message: takeover.message,
    });
  }

  let lastTakeover = previous?.lastTakeover;
  let takeoverHistory = previous?.takeoverHistory;
  const prevPrimary = previous?.currentPrimary;
  if (
    leader !== null &&
    prevPrimary !== undefined &&
    leader.site !== prevPrimary &&
    leader.epoch > (previous?.epoch ?? 0)
  ) {
    // Planned when the operator saw the planned takeover running, or (when the whole handover fell
    // between two reconciles) when the new primary's agent says it took over as planned in this
    // term (its own clock on both times: no skew between them).
    const own = state?.reports[leader.site];
    const done = own?.lastAction;
    const plannedByAgent =
      own !== undefined &&
      done !== undefined &&
      done.ok &&
      done.action === 'takeover' &&
      done.reason === 'planned_takeover' &&
      own.epoch === leader.epoch &&
      done.at >= leader.since;
    const planned =
      (prevTakeover?.status === 'True' && prevTakeover.reason === 'PlannedTakeover') ||
      plannedByAgent ||
      input.plannedTarget === leader.site;
    const startedAt =
      prevTakeover?.status === 'True' ? Date.parse(prevTakeover.lastTransitionTime) : undefined;
    const record: TakeoverRecord = {
      time: rfc3339(leader.since),
      from: prevPrimary,
      to: leader.site,
      reason: planned ? 'PlannedTakeover' : 'PrimaryFailed',
      outcome: 'succeeded',
      epoch: leader.epoch,
      ...(startedAt !== undefined && leader.since >= startedAt
        ? { durationSeconds: Math.round((leader.since - startedAt) / 1000) }
        : {}),
    };
    lastTakeover = record;
    takeoverHistory = appendTakeoverHistory(takeoverHistory, record);
    events.push({
      type: 'Normal',
      reason: 'TakeoverSucceeded',
      message: `${leader.site} took over from ${prevPrimary} in epoch ${leader.epoch} (${record.reason}${record.durationSeconds !== undefined ? `, ${record.durationSeconds} s` : ''})`,
    });
  }

  const prevSites = new Map((previous?.sites ?? []).map((s) => [s.name, s]));
  for (const site of sites) {
    const before = prevSites.get(site.name);
    if (before === undefined) continue;
    // A stop for a region switchover's demotion, or in a DR region, fences no old primary of an
    // in-region takeover (status.region and the RegionSwitchover* Events tell it).
    if (
      site.fenced === true &&
      before.fenced !== true &&
      site.name !== leader?.site &&
      phase.kind === 'active'
    ) {
      events.push({
        type: 'Normal',
        reason: 'FencedOldPrimary',
        message: `${site.name} is fenced (${site.hanaStatus ?? 'unknown'}): it cannot accept writes`,
      });
    }
    if (before.role === 'primary' && site.role === 'secondary') {
      events.push({
        type: 'Normal',
        reason: 'RegisteredSecondary',
        message: `former primary ${site.name} is registered as a secondary${leader !== null ? ` of ${leader.site}` : ''}`,
      });
    }
  }

  // With the evaluator, an episode begins and ends with its state (not with an Unknown condition).
  const prevLag =
    prevLagAlerts !== undefined ? lagCondition(prevLagAlerts) : findCondition(previous, 'ReplicationLagHigh');
  if (lag.status === 'True' && prevLag?.status !== 'True') {
    events.push({ type: 'Warning', reason: 'ReplicationLagHigh', message: lag.message });
  } else if (lag.status === 'False' && prevLag?.status === 'True') {
    events.push({ type: 'Normal', reason: 'ReplicationRecovered', message: lag.message });
  }

  // A disaster takeover in this region's store: its history entry, once (docs/dr.md).
  const drRecord = state.region;
  if (
    drRecord?.by === 'disaster' &&
    leader !== null &&
    leader.site !== prevPrimary &&
    drRecord.loss !== undefined &&
    !(takeoverHistory ?? []).some((t) => t.reason === 'DisasterTakeover' && t.epoch === leader.epoch)
  ) {
    const record: TakeoverRecord = {
      time: rfc3339(drRecord.since),
      from: prevPrimary ?? leader.site,
      to: leader.site,
      reason: 'DisasterTakeover',
      outcome: 'succeeded',
      epoch: leader.epoch,
      durationSeconds: Math.max(0, Math.round((leader.since - drRecord.since) / 1000)),
    };
    lastTakeover = record;
    takeoverHistory = appendTakeoverHistory(takeoverHistory, record);
    events.push({
      type: 'Warning',
      reason: 'DisasterTakeoverSucceeded',
      message: `${leader.site} is primary in region ${drRecord.active} at generation ${drRecord.generation} (epoch ${leader.epoch}); ${drRecord.loss.message}`,
    });
  }
  const region = regionStatus(spec, state, now, phase, input.ownRegion, deadline, waitingFor);

  const status: HanaSystemReplicationStatus = {
    observedGeneration: generation,
    ...(currentPrimary !== undefined ? { currentPrimary } : {}),
    ...(targetPrimary !== undefined ? { targetPrimary } : {}),
    epoch: leader?.epoch ?? state.lastEpoch,
    sites,
    ...(lastTakeover !== undefined ? { lastTakeover } : {}),
    ...(takeoverHistory !== undefined ? { takeoverHistory } : {}),
    ...(backup !== undefined ? { backup: backup.status } : {}),
    conditions,
    ...(region !== undefined ? { region } : {}),
  };
  return { status, events, ...(lagAlerts !== undefined ? { lagAlerts } : {}) };
}

/** status.region: the store's region record and what a disaster takeover would lose now. */
function regionStatus(
  spec: HanaSystemReplicationSpec,
  state: ClusterState,
  now: number,
  phase: RegionPhase,
  ownRegion: string | undefined,
  deadline: number | undefined,
  waitingFor: string | undefined,
): HanaSystemReplicationStatus['region'] {
  const r = state.region;
  if (r === undefined) return undefined;
  const thisRegion =
    phase.kind === 'inactive'
      ? phase.own
      : (ownRegion ??
        (phase.kind === 'draining' && r.token !== undefined
          ? regionOf(spec, r.token.fromSite)
          : reportingRegion(spec, state)));
  const t = r.token;
  const fromRegion = t !== undefined ? regionOf(spec, t.fromSite) : undefined;
  const switchover =
    phase.kind === 'draining' && t?.toSite !== undefined && fromRegion !== undefined
      ? {
          from: t.fromSite,
          to: t.toSite,
          fromRegion,
          toRegion: r.active,
          ...(deadline !== undefined ? { deadline: rfc3339(deadline) } : {}),
          ...(t.logPosition !== undefined ? { logPosition: t.logPosition } : {}),
          waitingFor: (waitingFor ?? '').slice(0, 1024),
        }
      : undefined;
  const losses = drLossBySite(spec, state, now) ?? {};
  const expectedLoss = Object.values(losses).map((l) => ({
    site: l.site,
    ...(l.lagSeconds !== null ? { lagSeconds: l.lagSeconds } : {}),
    ...(l.lagBytes !== null ? { lagBytes: l.lagBytes } : {}),
    ...(l.reportAgeSeconds !== null
      ? { reportAgeMinSeconds: l.reportAgeSeconds.min, reportAgeMaxSeconds: l.reportAgeSeconds.max }
      : {}),
    message: l.message,
  }));
  return {
    generation: r.generation,
    active: r.active,
    by: r.by,
    since: rfc3339(r.since),
    ...(thisRegion !== undefined ? { thisRegion } : {}),
    ...(phase.kind === 'draining' ? { draining: true } : {}),
    ...(switchover !== undefined ? { switchover } : {}),
    ...(r.loss !== undefined ? { lossMessage: r.loss.message } : {}),
    ...(expectedLoss.length > 0 ? { expectedLoss } : {}),
  };
}

/**
 * The body of a JSON merge patch on the status subresource that turns `previous` into `next`:
 * top-level fields that disappeared are sent as null (arrays are replaced whole by merge patch).
 */
export function statusMergePatch(
  previous: HanaSystemReplicationStatus | undefined,
  next: HanaSystemReplicationStatus,
): { status: Record<string, unknown> } {
  const patch: Record<string, unknown> = { ...next };
  for (const key of Object.keys(previous ?? {})) if (!(key in next)) patch[key] = null;
  return { status: patch };
}
