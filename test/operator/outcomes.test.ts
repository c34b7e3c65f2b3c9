/** Failed takeovers, kept refusals, pod roles and the per-cluster metrics, as pure functions. */
import { describe, expect, it } from 'vitest';
import { findCondition, type HanaSystemReplicationStatus } from '../../src/api/resource.js';
import { createMetrics } from '../../src/observability/metrics.js';
import {
  desiredRole,
  detectFencingEvents,
  detectTakeoverFailures,
  exportClusterMetrics,
  reportSaysTakeoverFailed,
  withFailures,
  withRefusal,
} from '../../src/operator/outcomes.js';
import { buildStatus } from '../../src/operator/status.js';
import { healthy, primaryHealth, report, secondaryHealth, spec } from './fixtures.js';

const T0 = 1_700_000_000_000;

function statusOf(state: ReturnType<typeof healthy>, previous?: HanaSystemReplicationStatus, now = T0) {
  return buildStatus({ spec: spec(), generation: 1, state, previous, now });
}

describe('detectTakeoverFailures', () => {
  it('reports a planned takeover whose intent ended without the target leading', () => {
    const base = healthy('A', 1);
    const planned = {
      ...base,
      intents: [{ kind: 'planned-takeover' as const, id: 'p1', target: 'B', epoch: 1 }],
    };
    const during = statusOf(planned).status;
    expect(findCondition(during, 'TakeoverInProgress')?.reason).toBe('PlannedTakeover');
    const after = statusOf(base, during, T0 + 5000).status;
    const failures = detectTakeoverFailures({
      previous: during,
      next: after,
      state: base,
      now: T0 + 5000,
      timeoutMs: 60_000,
    });
    expect(failures.map((f) => [f.event.reason, f.event.type, f.record.to, f.record.outcome])).toEqual([
      ['TakeoverFailed', 'Warning', 'B', 'failed'],
    ]);
    expect(failures[0]?.event.message).toContain('ended without B becoming primary');
    expect(failures[0]?.record.durationSeconds).toBe(5);
  });

  it('does not report a planned takeover that succeeded', () => {
    const planned = {
      ...healthy('A', 1),
      intents: [{ kind: 'planned-takeover' as const, id: 'p1', target: 'B', epoch: 1 }],
    };
    const during = statusOf(planned).status;
    const done = healthy('B', 2, T0 + 2000);
    const after = statusOf(done, during, T0 + 3000).status;
    expect(
      detectTakeoverFailures({
        previous: during,
        next: after,
        state: done,
        now: T0 + 3000,
        timeoutMs: 60_000,
      }),
    ).toEqual([]);
  });

  it('reports a takeover in progress beyond the bound, and not before', () => {
    const lost = { ...healthy('A', 1), leader: null };
    const first = statusOf(lost).status;
    const input = (now: number) => ({
      previous: first,
      next: statusOf(lost, first, now).status,
      state: lost,
      now,
      timeoutMs: 30_000,
    });
    expect(detectTakeoverFailures(input(T0 + 29_000))).toEqual([]);
    const late = detectTakeoverFailures(input(T0 + 31_000));
    expect(late.map((f) => [f.event.reason, f.record.reason])).toEqual([['TakeoverFailed', 'PrimaryFailed']]);
    expect(late[0]?.event.message).toContain('no secondary took over within 30 s');
  });

  it('reports an agent whose last action says its takeover failed, once', () => {
    const state = healthy('A', 1);
    const failed = {
      action: 'takeover',
      reason: 'primary_failed',
      ok: false,
      message: 'takeover failed: sr_takeover exited 1',
      at: T0 - 500,
    };
    const failedReport = report('B', secondaryHealth('A'), { lastAction: failed });
    expect(reportSaysTakeoverFailed(failedReport)).toBe(true);
    expect(
      reportSaysTakeoverFailed(
        report('B', secondaryHealth('A'), { lastAction: { ...failed, action: 'promote' } }),
      ),
    ).toBe(true);
    // A promotion that waits for the old primary to stop is not a failure (it is retried).
    for (const reason of ['old_primary_may_write', 'old_primary_writable', 'lost_race'])
      expect(
        reportSaysTakeoverFailed(report('B', secondaryHealth('A'), { lastAction: { ...failed, reason } })),
      ).toBe(false);
    const withFailed = { ...state, reports: { ...state.reports, B: failedReport } };
    const next = statusOf(withFailed).status;
    const failures = detectTakeoverFailures({
      previous: undefined,
      next,
      state: withFailed,
      now: T0,
      timeoutMs: 60_000,
    });
    expect(failures.map((f) => [f.record.to, f.event.reason, f.event.message])).toEqual([
      ['B', 'TakeoverFailed', 'B: takeover failed: sr_takeover exited 1'],
    ]);
    const status = withFailures(next, failures);
    expect(status.lastTakeover).toMatchObject({ to: 'B', outcome: 'failed', reason: 'TakeoverActionFailed' });
    expect(status.takeoverHistory).toHaveLength(1);
    // A restarted operator (no memory of what it reported) finds it in the history: not again.
    expect(
      detectTakeoverFailures({
        previous: status,
        next: statusOf(withFailed, status, T0 + 1000).status,
        state: withFailed,
        now: T0 + 1000,
        timeoutMs: 60_000,
      }),
    ).toEqual([]);
  });

  it('does not guess from reason texts: only a failed takeover or promote action counts', () => {
    const lastAction = {
      action: 'takeover',
      reason: 'primary_failed',
      ok: true,
      message: 'B is primary',
      at: T0,
    };
    const cases: [string, Partial<Parameters<typeof report>[2]>, boolean][] = [
      // A decision to take over whose reason has "fail" in it is not a failed takeover.
      [
        'decision only',
        { lastDecision: { action: 'takeover', reason: 'primary_failed_takeover', message: 'taking over' } },
        false,
      ],
      ['takeover done', { lastAction }, false],
      ['lost the compare-and-set', { lastAction: { ...lastAction, ok: false, reason: 'lost_race' } }, false],
      [
        'a failed fence',
        { lastAction: { ...lastAction, action: 'fence', ok: false, reason: 'fence_failed' } },
        false,
      ],
      ['takeover failed', { lastAction: { ...lastAction, ok: false } }, true],
      [
        'failed, with a harmless reason text',
        { lastAction: { ...lastAction, ok: false, reason: 'planned_takeover' } },
        true,
      ],
    ];
    for (const [, over, expected] of cases) {
      expect(reportSaysTakeoverFailed(report('B', secondaryHealth('A'), over))).toBe(expected);
    }
  });
});

describe('detectFencingEvents', () => {
  const fence = {
    site: 'A',
    by: 'B',
    epoch: 3,
    startedAt: T0,
    endedAt: T0 + 2000,
    calls: 3,
    message: 'fence agent said so',
  };
  const wd = {
    mode: 'required' as const,
    state: 'disarmed' as const,
    usable: false,
    mayLead: false,
    reason: 'watchdog_absent',
    message: 'no watchdog device /dev/watchdog',
  };

  it('tells a confirmed fence as NodeFenced, a failed or timed-out one as a Warning, each with its own key', () => {
    const base = healthy('B', 4);
    const off = detectFencingEvents({
      ...base,
      fences: { A: { ...fence, action: 'off', result: 'confirmed' } },
    });
    expect(off.map((f) => [f.event.type, f.event.reason])).toEqual([['Normal', 'NodeFenced']]);
    expect(off[0]?.event.message).toBe(
      'B fenced (powered off) the node of A (term 3): confirmed, fence agent said so',
    );
    const failed = detectFencingEvents({
      ...base,
      fences: { A: { ...fence, action: 'off', result: 'timed-out', endedAt: T0 + 9000 } },
    });
    expect(failed.map((f) => [f.event.type, f.event.reason])).toEqual([['Warning', 'NodeFenceFailed']]);
    // A later fence of the same node is news again; the same record is not.
    expect(failed[0]?.key).not.toBe(off[0]?.key);
  });

  it('warns of a watchdog the spec wants but cannot use, never of a disabled or usable one', () => {
    const base = healthy('A', 1);
    const withWd = (
      w: typeof wd | (Omit<typeof wd, 'mode' | 'usable'> & { mode: string; usable: boolean }),
    ) => ({
      ...base,
      reports: { ...base.reports, B: { ...base.reports['B']!, watchdog: w as typeof wd } },
    });
    const events = detectFencingEvents(withWd(wd));
    expect(events.map((f) => [f.event.type, f.event.reason, f.event.message])).toEqual([
      [
        'Warning',
        'WatchdogUnusable',
        'B: no watchdog device /dev/watchdog (the site may not lead: watchdog mode required)',
      ],
    ]);
    expect(detectFencingEvents(withWd({ ...wd, mode: 'disabled' }))).toEqual([]);
    expect(detectFencingEvents(withWd({ ...wd, usable: true, mayLead: true }))).toEqual([]);
  });
});

describe('withRefusal', () => {
  const refusal = {
    annotation: 'hanasr.io/planned-takeover',
    kind: 'planned-takeover' as const,
    site: 'B',
    why: 'B is not in sync with A (SFAIL in this term): a takeover could lose committed data',
  };

  it('shows a refused planned takeover in TakeoverInProgress until the term changes', () => {
    const state = healthy('A', 1);
    const refused = withRefusal(statusOf(state).status, [refusal], undefined, 1, T0);
    const c = findCondition(refused, 'TakeoverInProgress');
    expect([c?.status, c?.reason]).toEqual(['False', 'TakeoverRefused']);
    expect(c?.message).toContain('hanasr.io/planned-takeover=B refused');
    expect(c?.message).toContain('not in sync');

    // Kept on the next reconcile of the same term...
    const kept = withRefusal(statusOf(state, refused, T0 + 1000).status, [], refused, 1, T0 + 1000);
    expect(findCondition(kept, 'TakeoverInProgress')?.reason).toBe('TakeoverRefused');
    // ...and gone with a new term.
    const next = healthy('B', 2);
    const moved = withRefusal(statusOf(next, kept, T0 + 2000).status, [], kept, 1, T0 + 2000);
    expect(findCondition(moved, 'TakeoverInProgress')?.reason).toBe('Stable');
  });

  it('never hides a takeover in progress', () => {
    const lost = { ...healthy('A', 1), leader: null };
    const status = withRefusal(statusOf(lost).status, [refusal], undefined, 1, T0);
    expect(findCondition(status, 'TakeoverInProgress')?.reason).toBe('PrimaryLost');
  });
});

describe('desiredRole', () => {
  it('labels the leader primary, the others secondary, the former primary nothing while vacant', () => {
    const state = healthy('A', 1);
    expect([desiredRole('A', state), desiredRole('B', state)]).toEqual(['primary', 'secondary']);
    const vacant = { ...state, leader: null };
    expect([desiredRole('A', vacant), desiredRole('B', vacant)]).toEqual([null, 'secondary']);
  });
});

describe('exportClusterMetrics', () => {
  it('exports roles, replication, report times, epoch and takeovers once', async () => {
    const metrics = createMetrics(undefined, { version: 'test' });
    const labels = { namespace: 'ns', cluster: 'c' };
    const first = healthy('A', 1);
    const s1 = statusOf(first).status;
    exportClusterMetrics(metrics, labels, spec(), first, s1, undefined);
    const moved = healthy('B', 2, T0 + 60_000);
    const second = {
      ...moved,
      reports: { ...moved.reports, B: report('B', primaryHealth([]), { observedAt: T0 + 61_000 }) },
    };
    const s2 = statusOf(second, s1, T0 + 61_000).status;
    exportClusterMetrics(metrics, labels, spec(), second, s2, s1);
    exportClusterMetrics(metrics, labels, spec(), second, s2, s2);
    const text = await metrics.registry.metrics();
    expect(text).toContain('hanasr_primary_sites{namespace="ns",cluster="c"} 1');
    expect(text).toContain('hanasr_leader_epoch{namespace="ns",cluster="c"} 2');
    expect(text).toContain('hanasr_site_role{namespace="ns",cluster="c",site="B",role="primary"} 1');
    expect(text).toContain(
      `hanasr_agent_last_report_timestamp_seconds{namespace="ns",cluster="c",site="B"} ${Math.floor((T0 + 61_000) / 1000)}`,
    );
    expect(text).toContain('hanasr_replication_in_sync{namespace="ns",cluster="c",site="B"} 1');
    expect(text).toContain(
      'hanasr_takeovers_total{namespace="ns",cluster="c",site="B",outcome="succeeded"} 1',
    );
    expect(text).toContain('hanasr_takeovers_total{namespace="ns",cluster="c",site="A",outcome="failed"} 0');
    expect(text).toContain(
      `hanasr_last_takeover_timestamp_seconds{namespace="ns",cluster="c"} ${Math.floor((T0 + 60_000) / 1000)}`,
    );
  });
});
