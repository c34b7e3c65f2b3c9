/**
 * The lag alert evaluator (src/operator/alerts.ts): table tests with lag sequences that hover at a
 * threshold, cross it and come back, on an injected clock (one sample per second).
 */
import { describe, expect, it } from 'vitest';
import {
  emptyLagAlertState,
  evaluateLagAlerts,
  lagCondition,
  restoreLagAlerts,
  thresholdsFromSpec,
  type LagAlertState,
  type LagAlertTransition,
  type LagThresholds,
} from '../../src/operator/alerts.js';
import { findCondition, type HanaSystemReplicationStatus } from '../../src/api/resource.js';
import type { ClusterState } from '../../src/coordination/port.js';
import { buildStatus } from '../../src/operator/status.js';
import { healthy, link, primaryHealth, report, spec } from '../operator/fixtures.js';

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);
/** warning 10 s (clear 8), critical 30 s (clear 24), for 3 s. */
const TH: LagThresholds = {
  warningSeconds: 10,
  criticalSeconds: 30,
  forSeconds: 3,
  clearRatio: 0.8,
};

/** Feeds one lag value per second for site B; returns the transitions as "t:severity:to". */
function run(
  lags: readonly (number | null)[],
  th: LagThresholds = TH,
  start: LagAlertState = emptyLagAlertState,
): { log: string[]; state: LagAlertState; conditions: string[] } {
  let state = start;
  const log: string[] = [];
  const conditions: string[] = [];
  lags.forEach((lag, i) => {
    const r = evaluateLagAlerts(
      state,
      [{ site: 'B', ...(lag !== null ? { lagSeconds: lag } : {}) }],
      th,
      T0 + i * 1000,
    );
    state = r.state;
    for (const tr of r.transitions) log.push(`${i}:${tr.severity}:${tr.to}`);
    conditions.push(lagCondition(state).reason);
  });
  return { log, state, conditions };
}

describe('lag alert evaluator', () => {
  const table: { name: string; lags: (number | null)[]; expected: string[] }[] = [
    { name: 'stays below: nothing', lags: [0, 5, 9.9, 9, 0], expected: [] },
    { name: 'a blip shorter than for: nothing', lags: [0, 12, 12, 5, 0, 0], expected: [] },
    {
      name: 'crosses and stays for forSeconds: fires once',
      lags: [0, 12, 12, 12, 12, 12, 12],
      expected: ['4:warning:firing'],
    },
    {
      name: 'fires, comes back, stays clear for forSeconds: resolves once',
      lags: [12, 12, 12, 12, 2, 2, 2, 2, 2],
      expected: ['3:warning:firing', '7:warning:resolved'],
    },
    {
      name: 'hovers around the fire threshold while firing (never below the clear threshold): no flapping',
      lags: [12, 12, 12, 12, 9.9, 10.1, 9.5, 10, 8.5, 9.9, 8.1, 10.2],
      expected: ['3:warning:firing'],
    },
    {
      name: 'dips below the clear threshold shorter than forSeconds: stays firing',
      lags: [12, 12, 12, 12, 5, 5, 12, 5, 5, 9],
      expected: ['3:warning:firing'],
    },
    {
      name: 'hovers around the fire threshold before firing: pending restarts, fires only after for above',
      lags: [10, 9.9, 10, 10, 9.9, 10, 10, 10, 10],
      expected: ['8:warning:firing'],
    },
    {
      name: 'escalates to critical and back: critical fires and resolves, warning stays for the episode',
      lags: [12, 12, 12, 12, 31, 31, 31, 31, 20, 20, 20, 20, 2, 2, 2, 2],
      expected: ['3:warning:firing', '7:critical:firing', '11:critical:resolved', '15:warning:resolved'],
    },
    {
      // The phase clock keeps running across unknown samples: the transition waits for a known one.
      name: 'unknown lag neither fires nor resolves by itself',
      lags: [12, 12, null, null, null, 12, 12, 2, null, null, null, 2, 2, 2],
      expected: ['5:warning:firing', '11:warning:resolved'],
    },
    {
      name: 'a second episode after a full recovery fires again',
      lags: [12, 12, 12, 12, 0, 0, 0, 0, 12, 12, 12, 12],
      expected: ['3:warning:firing', '7:warning:resolved', '11:warning:firing'],
    },
  ];
  for (const { name, lags, expected } of table) {
    it(name, () => {
      expect(run(lags).log).toEqual(expected);
    });
  }

  it('with forSeconds 0 it fires and resolves on the sample, still with hysteresis', () => {
    const th = { ...TH, forSeconds: 0 };
    expect(run([0, 10, 9, 8, 7.9, 10], th).log).toEqual([
      '1:warning:firing',
      '4:warning:resolved',
      '5:warning:firing',
    ]);
  });

  it('bytes thresholds fire on their own, with the same hysteresis', () => {
    const th: LagThresholds = { ...TH, warningBytes: 1000, criticalBytes: 1e9 };
    let state = emptyLagAlertState;
    const log: string[] = [];
    [1500, 1500, 1500, 1500, 900, 850, 900, 900, 100, 100, 100, 100].forEach((bytes, i) => {
      const r = evaluateLagAlerts(
        state,
        [{ site: 'B', lagSeconds: 0.1, lagBytes: bytes }],
        th,
        T0 + i * 1000,
      );
      state = r.state;
      log.push(...r.transitions.map((tr) => `${i}:${tr.severity}:${tr.to}`));
    });
    expect(log).toEqual(['3:warning:firing', '11:warning:resolved']);
  });

  it('the condition is True for the whole episode, reason following the highest active severity', () => {
    const { conditions } = run([12, 12, 12, 12, 31, 31, 31, 31, 20, 20, 20, 20, 2, 2, 2, 2]);
    expect(conditions).toEqual([
      ...Array(3).fill('LagBelowThresholds'),
      ...Array(4).fill('LagAboveWarning'),
      ...Array(4).fill('LagAboveCritical'),
      ...Array(4).fill('LagAboveWarning'),
      'LagBelowThresholds',
    ]);
  });

  it('transitions carry startsAt/endsAt and the lag', () => {
    let state = emptyLagAlertState;
    const all: LagAlertTransition[] = [];
    [12, 12, 12, 12, 1, 1, 1, 1].forEach((lag, i) => {
      const r = evaluateLagAlerts(state, [{ site: 'B', lagSeconds: lag, lagBytes: 640 }], TH, T0 + i * 1000);
      state = r.state;
      all.push(...r.transitions);
    });
    expect(all).toEqual([
      { site: 'B', severity: 'warning', to: 'firing', activeAt: T0 + 3000, lagSeconds: 12, lagBytes: 640 },
      {
        site: 'B',
        severity: 'warning',
        to: 'resolved',
        activeAt: T0 + 3000,
        resolvedAt: T0 + 7000,
        lagSeconds: 1,
        lagBytes: 640,
      },
    ]);
  });

  it('a site that is no longer a secondary resolves its firing alerts at once', () => {
    const { state } = run([12, 12, 12, 12]);
    const r = evaluateLagAlerts(state, [], TH, T0 + 10_000);
    expect(r.transitions.map((t) => `${t.site}:${t.severity}:${t.to}`)).toEqual(['B:warning:resolved']);
    expect(lagCondition(r.state).status).toBe('False');
  });

  it('takes its thresholds from the spec, clear ratio 0.8 by default', () => {
    const s = spec({
      alerts: { lagWarningSeconds: 2, lagCriticalSeconds: 5, lagWarningBytes: 100, forSeconds: 1 },
    });
    expect(thresholdsFromSpec(s.alerts)).toEqual({
      warningSeconds: 2,
      criticalSeconds: 5,
      warningBytes: 100,
      forSeconds: 1,
      clearRatio: 0.8,
    });
  });

  it('restores from the condition after an operator restart: no repeated Event, no early recovery', () => {
    const { state } = run([35, 35, 35, 35, 35, 35, 35]);
    const cond = lagCondition(state);
    expect(cond).toMatchObject({ status: 'True', reason: 'LagAboveCritical' });
    const restored = restoreLagAlerts({
      type: 'ReplicationLagHigh',
      ...cond,
      lastTransitionTime: new Date(T0 + 3000).toISOString(),
    });
    expect(lagCondition(restored)).toMatchObject({ status: 'True', reason: 'LagAboveCritical' });
    // Still lagging: nothing new fires. Back to normal: each rule resolves once, after forSeconds.
    const again = run([35, 35, 1, 1, 1, 1], TH, restored);
    expect(again.log).toEqual(['5:warning:resolved', '5:critical:resolved']);
    expect(again.conditions.slice(0, 5).every((c) => c === 'LagAboveCritical')).toBe(true);
    expect(restoreLagAlerts(undefined)).toEqual(emptyLagAlertState);
  });
});

describe('buildStatus with the evaluator', () => {
  const s = spec({ alerts: { lagWarningSeconds: 10, lagCriticalSeconds: 30, forSeconds: 3 } });
  const lagging = (lag: number): ClusterState => ({
    ...healthy(),
    reports: { ...healthy().reports, A: report('A', primaryHealth([link('B', { lagSeconds: lag })])) },
  });

  it('one ReplicationLagHigh and one ReplicationRecovered Event per episode, hovering included', () => {
    let previous: HanaSystemReplicationStatus | undefined;
    let alerts: LagAlertState | null = null;
    const events: string[] = [];
    [0, 12, 12, 12, 12, 9.5, 10.5, 9, 12, 2, 2, 2, 2, 2].forEach((lag, i) => {
      const r = buildStatus({
        spec: s,
        generation: 1,
        state: lagging(lag),
        previous,
        now: T0 + i * 1000,
        lagAlerts: alerts,
      });
      previous = r.status;
      alerts = r.lagAlerts?.state ?? null;
      events.push(...r.events.map((e) => `${i}:${e.reason}`));
    });
    expect(events).toEqual(['4:ReplicationLagHigh', '12:ReplicationRecovered']);
  });

  it('a restarted operator (state null) rebuilds from the condition: no repeated Event', () => {
    let previous: HanaSystemReplicationStatus | undefined;
    let alerts: LagAlertState | null = null;
    for (let i = 0; i < 5; i++) {
      const r = buildStatus({
        spec: s,
        generation: 1,
        state: lagging(12),
        previous,
        now: T0 + i * 1000,
        lagAlerts: alerts,
      });
      previous = r.status;
      alerts = r.lagAlerts?.state ?? null;
    }
    const after = buildStatus({
      spec: s,
      generation: 1,
      state: lagging(12),
      previous,
      now: T0 + 6000,
      lagAlerts: null,
    });
    expect(after.events).toEqual([]);
    expect(findCondition(after.status, 'ReplicationLagHigh')).toMatchObject({
      status: 'True',
      reason: 'LagAboveWarning',
    });
  });
});
