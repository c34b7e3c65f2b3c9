/**
 * Replication lag alerts with hysteresis: a pure evaluator (no clock reads: `now` is passed in).
 *
 * Per secondary there are two rules, warning and critical, each a small state machine:
 *   normal --(lag >= fire threshold)--> pending --(still over after forSeconds)--> firing
 *   firing --(lag < clear threshold)--> resolving --(still under after forSeconds)--> normal
 * A pending rule whose lag drops below the fire threshold goes back to normal (the `for` clock
 * restarts); a resolving rule whose lag climbs back to the clear threshold goes back to firing
 * without a new notification. The clear threshold is `clearRatio` (default 0.8) times the fire
 * threshold, so lag hovering at a threshold neither fires repeatedly nor flaps.
 * A rule is "over" when the seconds OR (when configured) the bytes threshold is reached. An unknown
 * lag (no link, probe failed) changes nothing: missing data neither fires nor resolves an alert
 * (the phase clock keeps running, so the transition happens at the next known sample).
 *
 * The ReplicationLagHigh condition is True while any rule of any secondary fires; an episode
 * starts when the first rule fires and ends when the last one resolves, so the operator records
 * exactly one ReplicationLagHigh and one ReplicationRecovered Event per episode. After an operator
 * restart the state is rebuilt from the condition (restoreLagAlerts).
 */
import type { Condition } from '../api/resource.js';
import type { HanaSystemReplicationSpec } from '../api/spec.js';

export const lagSeverities = ['warning', 'critical'] as const;
export type LagSeverity = (typeof lagSeverities)[number];
export type LagAlertPhase = 'normal' | 'pending' | 'firing' | 'resolving';

/** The alert names, as in the chart's PrometheusRule (charts/hanasr/files/alerts.rules.yaml). */
export const LAG_ALERT_NAMES: Readonly<Record<LagSeverity, string>> = {
  warning: 'HanaSRReplicationLagWarning',
  critical: 'HanaSRReplicationLagCritical',
};

export const DEFAULT_CLEAR_RATIO = 0.8;

export interface LagThresholds {
  readonly warningSeconds: number;
  readonly criticalSeconds: number;
  readonly warningBytes?: number;
  readonly criticalBytes?: number;
  readonly forSeconds: number;
  /** Clear threshold = clearRatio x fire threshold (0 < clearRatio <= 1). */
  readonly clearRatio: number;
}

export function thresholdsFromSpec(
  alerts: HanaSystemReplicationSpec['alerts'],
  clearRatio = DEFAULT_CLEAR_RATIO,
): LagThresholds {
  return {
    warningSeconds: alerts.lagWarningSeconds,
    criticalSeconds: alerts.lagCriticalSeconds,
    ...(alerts.lagWarningBytes !== undefined ? { warningBytes: alerts.lagWarningBytes } : {}),
    ...(alerts.lagCriticalBytes !== undefined ? { criticalBytes: alerts.lagCriticalBytes } : {}),
    forSeconds: alerts.forSeconds,
    clearRatio,
  };
}

/** One rule's state. `since`: when the current phase began; `activeAt`: when it (last) fired. */
export interface LagRuleState {
  readonly phase: LagAlertPhase;
  readonly since: number;
  readonly activeAt?: number;
}

export interface SiteLagState {
  readonly warning: LagRuleState;
  readonly critical: LagRuleState;
  /** The last known lag, for messages and notifications. */
  readonly lagSeconds?: number;
  readonly lagBytes?: number;
}

/** The evaluator state of one cluster: per secondary site. */
export interface LagAlertState {
  readonly sites: Readonly<Record<string, SiteLagState>>;
}

export const emptyLagAlertState: LagAlertState = { sites: {} };

/** Lag of one secondary this round; undefined fields are unknown. */
export interface LagSample {
  readonly site: string;
  readonly lagSeconds?: number | undefined;
  readonly lagBytes?: number | undefined;
}

/** A rule that fired or resolved this round (what notifiers send). */
export interface LagAlertTransition {
  readonly site: string;
  readonly severity: LagSeverity;
  readonly to: 'firing' | 'resolved';
  /** When the rule fired (startsAt). */
  readonly activeAt: number;
  /** Set on resolved (endsAt). */
  readonly resolvedAt?: number;
  readonly lagSeconds?: number;
  readonly lagBytes?: number;
}

export interface LagEvaluation {
  readonly state: LagAlertState;
  readonly transitions: readonly LagAlertTransition[];
}

const normal = (now: number): LagRuleState => ({ phase: 'normal', since: now });

function thresholdsOf(t: LagThresholds, severity: LagSeverity): { seconds: number; bytes?: number } {
  const bytes = severity === 'warning' ? t.warningBytes : t.criticalBytes;
  return {
    seconds: severity === 'warning' ? t.warningSeconds : t.criticalSeconds,
    ...(bytes !== undefined ? { bytes } : {}),
  };
}

/** Whether the sample reaches `ratio` x the severity's thresholds; undefined when nothing is known. */
function reaches(
  sample: LagSample,
  t: LagThresholds,
  severity: LagSeverity,
  ratio: number,
): boolean | undefined {
  const th = thresholdsOf(t, severity);
  const known = sample.lagSeconds !== undefined || (th.bytes !== undefined && sample.lagBytes !== undefined);
  if (!known) return undefined;
  return (
    (sample.lagSeconds !== undefined && sample.lagSeconds >= th.seconds * ratio) ||
    (th.bytes !== undefined && sample.lagBytes !== undefined && sample.lagBytes >= th.bytes * ratio)
  );
}

/**
 * One step of one rule. `over`: the fire threshold is reached; `held`: the clear threshold is
 * reached (over implies held). Returns the new state and what happened.
 */
export function stepRule(
  rule: LagRuleState,
  over: boolean,
  held: boolean,
  now: number,
  forMs: number,
): { rule: LagRuleState; fired?: boolean; resolved?: boolean } {
  switch (rule.phase) {
    case 'normal':
      if (!over) return { rule };
      if (forMs <= 0) return { rule: { phase: 'firing', since: now, activeAt: now }, fired: true };
      return { rule: { phase: 'pending', since: now } };
    case 'pending':
      if (!over) return { rule: normal(now) };
      if (now - rule.since >= forMs)
        return { rule: { phase: 'firing', since: now, activeAt: now }, fired: true };
      return { rule };
    case 'firing':
      if (held) return { rule };
      if (forMs <= 0) return { rule: normal(now), resolved: true };
      return { rule: { phase: 'resolving', since: now, activeAt: rule.activeAt ?? rule.since } };
    case 'resolving':
      if (held) return { rule: { phase: 'firing', since: now, activeAt: rule.activeAt ?? rule.since } };
      if (now - rule.since >= forMs) return { rule: normal(now), resolved: true };
      return { rule };
  }
}

/**
 * Evaluates one round. `samples` should name every secondary (with unknown lag when not known);
 * a site in the state but not in `samples` is gone (removed from the spec, or became primary):
 * its firing rules resolve at once.
 */
export function evaluateLagAlerts(
  previous: LagAlertState,
  samples: readonly LagSample[],
  thresholds: LagThresholds,
  now: number,
): LagEvaluation {
  const forMs = thresholds.forSeconds * 1000;
  const sites: Record<string, SiteLagState> = {};
  const transitions: LagAlertTransition[] = [];
  for (const sample of samples) {
    const before = previous.sites[sample.site];
    let next: SiteLagState = before ?? { warning: normal(now), critical: normal(now) };
    next = {
      warning: next.warning,
      critical: next.critical,
      ...(sample.lagSeconds !== undefined
        ? { lagSeconds: sample.lagSeconds }
        : next.lagSeconds !== undefined
          ? { lagSeconds: next.lagSeconds }
          : {}),
      ...(sample.lagBytes !== undefined
        ? { lagBytes: sample.lagBytes }
        : next.lagBytes !== undefined
          ? { lagBytes: next.lagBytes }
          : {}),
    };
    for (const severity of lagSeverities) {
      const over = reaches(sample, thresholds, severity, 1);
      if (over === undefined) continue;
      const held = over || reaches(sample, thresholds, severity, thresholds.clearRatio) === true;
      const step = stepRule(next[severity], over, held, now, forMs);
      next = { ...next, [severity]: step.rule };
      if (step.fired === true || step.resolved === true) {
        transitions.push({
          site: sample.site,
          severity,
          to: step.fired === true ? 'firing' : 'resolved',
          activeAt:
            step.fired === true ? now : (next[severity].activeAt ?? before?.[severity].activeAt ?? now),
          ...(step.resolved === true ? { resolvedAt: now } : {}),
          ...lagFields(next),
        });
      }
    }
    sites[sample.site] = next;
  }
  for (const [site, before] of Object.entries(previous.sites)) {
    if (sites[site] !== undefined) continue;
    for (const severity of lagSeverities) {
      const rule = before[severity];
      if (rule.phase === 'firing' || rule.phase === 'resolving') {
        transitions.push({
          site,
          severity,
          to: 'resolved',
          activeAt: rule.activeAt ?? rule.since,
          resolvedAt: now,
          ...lagFields(before),
        });
      }
    }
  }
  return { state: { sites }, transitions };
}

function lagFields(s: SiteLagState): { lagSeconds?: number; lagBytes?: number } {
  return {
    ...(s.lagSeconds !== undefined ? { lagSeconds: s.lagSeconds } : {}),
    ...(s.lagBytes !== undefined ? { lagBytes: s.lagBytes } : {}),
  };
}

const isActive = (r: LagRuleState): boolean => r.phase === 'firing' || r.phase === 'resolving';

/** The highest active severity of a site, or undefined. */
export function activeSeverity(s: SiteLagState): LagSeverity | undefined {
  if (isActive(s.critical)) return 'critical';
  if (isActive(s.warning)) return 'warning';
  return undefined;
}

export interface LagConditionDraft {
  readonly status: 'True' | 'False';
  readonly reason: 'LagAboveCritical' | 'LagAboveWarning' | 'LagBelowThresholds';
  readonly message: string;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/**
 * The ReplicationLagHigh condition from the evaluator state. The message lists each alerting site
 * as `<site>: lag <s> s, <bytes> bytes (<severity>)`, which restoreLagAlerts reads back.
 */
export function lagCondition(state: LagAlertState): LagConditionDraft {
  const active = Object.entries(state.sites)
    .map(([site, s]) => ({ site, s, severity: activeSeverity(s) }))
    .filter((x): x is { site: string; s: SiteLagState; severity: LagSeverity } => x.severity !== undefined)
    .sort((a, b) => a.site.localeCompare(b.site));
  if (active.length === 0) {
    return {
      status: 'False',
      reason: 'LagBelowThresholds',
      message: 'no secondary lags beyond the alert thresholds',
    };
  }
  const critical = active.some((x) => x.severity === 'critical');
  return {
    status: 'True',
    reason: critical ? 'LagAboveCritical' : 'LagAboveWarning',
    message: active
      .map(
        ({ site, s, severity }) =>
          `${site}: lag ${s.lagSeconds !== undefined ? round(s.lagSeconds) : '?'} s, ${s.lagBytes !== undefined ? Math.round(s.lagBytes) : '?'} bytes (${severity})`,
      )
      .join('; '),
  };
}

const MESSAGE_PART = /^([A-Za-z][A-Za-z0-9_-]{0,63}): lag .* \((warning|critical)\)$/;

/**
 * Rebuilds the evaluator state from the ReplicationLagHigh condition a previous operator wrote,
 * so a restart neither repeats the Event nor clears the condition before the lag is back
 * under the clear threshold for forSeconds. Rules start firing since the condition's transition.
 */
export function restoreLagAlerts(condition: Condition | undefined): LagAlertState {
  if (condition === undefined || condition.status !== 'True') return emptyLagAlertState;
  const since = Date.parse(condition.lastTransitionTime);
  const at = Number.isNaN(since) ? 0 : since;
  const firing: LagRuleState = { phase: 'firing', since: at, activeAt: at };
  const sites: Record<string, SiteLagState> = {};
  for (const part of condition.message.split('; ')) {
    const m = MESSAGE_PART.exec(part);
    if (m === null) continue;
    const [, site, severity] = m as unknown as [string, string, LagSeverity];
    sites[site] = { warning: firing, critical: severity === 'critical' ? firing : normal(at) };
  }
  return { sites };
}
