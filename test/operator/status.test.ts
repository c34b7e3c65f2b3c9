import { describe, expect, it } from 'vitest';
import { findCondition, parseStatus, type ConditionType } from '../../src/api/resource.js';
import type { ClusterState } from '../../src/coordination/port.js';
import { buildStatus, rfc3339, statusMergePatch, type StatusInput } from '../../src/operator/status.js';
import { withTakeoverStory } from '../../src/operator/outcomes.js';
import { healthy, link, primaryHealth, report, secondaryHealth, spec } from './fixtures.js';

const T0 = 1_700_000_001_000; // a second after the fixtures' reports: they are fresh

function build(state: ClusterState | null, over: Partial<StatusInput> = {}) {
  const result = buildStatus({ spec: spec(), generation: 1, state, previous: undefined, now: T0, ...over });
  // Whatever the builder writes must pass the status schema (what the CRD enforces).
  parseStatus(result.status);
  return result;
}

function conditionOf(status: ReturnType<typeof build>['status'], type: ConditionType) {
  const c = findCondition(status, type);
  if (c === undefined) throw new Error(`no ${type} condition`);
  return [c.status, c.reason] as const;
}

const vacant: ClusterState = {
  ...healthy('A', 1),
  leader: null,
  reports: { B: report('B', secondaryHealth('A')) },
};

describe('buildStatus conditions', () => {
  const table: {
    name: string;
    state: ClusterState | null;
    maintenance?: boolean;
    expected: Partial<Record<ConditionType, readonly [string, string]>>;
  }[] = [
    {
      name: 'healthy sync pair',
      state: healthy(),
      expected: {
        Ready: ['True', 'PrimaryAvailable'],
        ReplicationHealthy: ['True', 'AllSecondariesInSync'],
        TakeoverInProgress: ['False', 'Stable'],
        Fenced: ['False', 'NoSiteFenced'],
        MaintenanceMode: ['False', 'MaintenanceOff'],
        ReplicationLagHigh: ['False', 'LagBelowThresholds'],
      },
    },
    {
      name: 'no primary before the first term',
      state: { ...healthy(), leader: null, lastEpoch: 0, reports: {}, sync: {} },
      expected: { Ready: ['False', 'NoPrimaryYet'], TakeoverInProgress: ['False', 'NoPrimaryYet'] },
    },
    {
      name: 'leader key vacant after a term',
      state: vacant,
      expected: {
        Ready: ['False', 'NoPrimary'],
        ReplicationHealthy: ['Unknown', 'NoPrimary'],
        TakeoverInProgress: ['True', 'PrimaryLost'],
      },
    },
    {
      name: 'planned takeover pending',
      state: { ...healthy(), intents: [{ kind: 'planned-takeover', id: 'p1', target: 'B', epoch: 1 }] },
      expected: { TakeoverInProgress: ['True', 'PlannedTakeover'], Ready: ['True', 'PrimaryAvailable'] },
    },
    {
      name: 'secondary ACTIVE but SFAIL',
      state: {
        ...healthy(),
        reports: { ...healthy().reports, A: report('A', primaryHealth([link('B', { inSync: false })])) },
      },
      expected: { ReplicationHealthy: ['False', 'SecondaryNotInSync'] },
    },
    {
      name: 'secondary link in ERROR',
      state: {
        ...healthy(),
        reports: {
          ...healthy().reports,
          A: report('A', primaryHealth([link('B', { status: 'ERROR', inSync: false })])),
        },
      },
      expected: { ReplicationHealthy: ['False', 'SecondaryNotReplicating'] },
    },
    {
      name: 'primary suspended (handshake)',
      state: {
        ...healthy(),
        reports: {
          ...healthy().reports,
          A: report('A', primaryHealth([link('B')], { suspended: true, acceptsWrites: false })),
        },
      },
      expected: { Ready: ['False', 'PrimaryNotWritable'] },
    },
    {
      name: 'primary not reporting',
      state: { ...healthy(), reports: { B: healthy().reports['B']! } },
      expected: {
        Ready: ['Unknown', 'PrimaryNotReporting'],
        ReplicationHealthy: ['Unknown', 'PrimaryNotReporting'],
      },
    },
    {
      name: 'a fenced former primary',
      state: {
        ...healthy('B', 2),
        reports: {
          ...healthy('B', 2).reports,
          A: report('A', primaryHealth([], { running: false, acceptsWrites: false }), { fenced: true }),
        },
      },
      expected: { Fenced: ['True', 'SiteFenced'] },
    },
    {
      name: 'lag above the critical threshold',
      state: {
        ...healthy(),
        reports: { ...healthy().reports, A: report('A', primaryHealth([link('B', { lagSeconds: 400 })])) },
      },
      expected: { ReplicationLagHigh: ['True', 'LagAboveCritical'] },
    },
    {
      name: 'lag above the warning threshold',
      state: {
        ...healthy(),
        reports: { ...healthy().reports, A: report('A', primaryHealth([link('B', { lagSeconds: 45 })])) },
      },
      expected: { ReplicationLagHigh: ['True', 'LagAboveWarning'] },
    },
    {
      name: 'maintenance',
      state: healthy(),
      maintenance: true,
      expected: { MaintenanceMode: ['True', 'MaintenanceRequested'] },
    },
    {
      name: 'store unreachable',
      state: null,
      expected: {
        Ready: ['Unknown', 'CoordinationUnavailable'],
        ReplicationHealthy: ['Unknown', 'CoordinationUnavailable'],
        MaintenanceMode: ['False', 'MaintenanceOff'],
      },
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      const { status } = build(row.state, { spec: spec({ maintenance: row.maintenance ?? false }) });
      for (const [type, expected] of Object.entries(row.expected)) {
        expect([type, ...conditionOf(status, type as ConditionType)]).toEqual([type, ...expected]);
      }
      for (const c of status.conditions ?? []) {
        expect(c.message).not.toBe('');
        expect(c.observedGeneration).toBe(1);
      }
    });
  }
});

describe('buildStatus fields', () => {
  it('fills primary, epoch and per-site entries from reports and links', () => {
    const { status } = build(healthy('A', 3));
    expect(status).toMatchObject({
      observedGeneration: 1,
      currentPrimary: 'A',
      targetPrimary: 'A',
      epoch: 3,
    });
    expect(status.sites).toEqual([
      {
        name: 'A',
        role: 'primary',
        hanaStatus: 'running',
        landscapeStatus: 'OK',
        replicationStatus: 'ACTIVE',
        lastReportTime: rfc3339(1_700_000_000_000),
        fenced: false,
      },
      {
        name: 'B',
        role: 'secondary',
        hanaStatus: 'running',
        landscapeStatus: 'OK',
        replicationMode: 'sync',
        replicationStatus: 'ACTIVE',
        inSync: true,
        lagSeconds: 0,
        lagBytes: 0,
        lastReportTime: rfc3339(1_700_000_000_000),
        fenced: false,
      },
    ]);
  });

  it("carries each site's watchdog from its report and the last fence of its node from the store", () => {
    const base = healthy('B', 4);
    const wd = {
      mode: 'automatic' as const,
      state: 'armed' as const,
      usable: true,
      mayLead: true,
      device: '/dev/watchdog',
      timeoutSeconds: 5,
      reason: 'watchdog_usable',
      message: 'usable',
    };
    const state = {
      ...base,
      reports: { ...base.reports, B: { ...base.reports['B']!, watchdog: wd } },
      fences: {
        A: {
          site: 'A',
          by: 'B',
          epoch: 3,
          action: 'off' as const,
          result: 'confirmed' as const,
          startedAt: 1_700_000_000_000,
          endedAt: 1_700_000_002_000,
          calls: 3,
          message: 'Success: Powered OFF',
        },
      },
    };
    const { status } = build(state);
    const site = (n: string) => status.sites?.find((x) => x.name === n);
    expect(site('B')?.watchdog).toEqual({
      mode: 'automatic',
      state: 'armed',
      usable: true,
      timeoutSeconds: 5,
      reason: 'watchdog_usable',
      message: 'usable',
    });
    expect(site('A')?.watchdog).toBeUndefined();
    expect(site('A')?.nodeFence).toEqual({
      action: 'off',
      result: 'confirmed',
      by: 'B',
      epoch: 3,
      time: rfc3339(1_700_000_002_000),
      message: 'Success: Powered OFF',
    });
  });

  it('names the planned target while the takeover runs, the last holder while the key is vacant', () => {
    const planned = build({ ...healthy(), handoverTo: 'B', leader: null }).status;
    expect([planned.currentPrimary, planned.targetPrimary]).toEqual(['A', 'B']);
    expect(findCondition(planned, 'TakeoverInProgress')?.reason).toBe('PlannedTakeover');
    const failover = build(vacant).status;
    expect([failover.currentPrimary, failover.targetPrimary]).toEqual(['A', undefined]);
  });

  it('falls back on the sync record when the primary does not report', () => {
    const { status } = build({ ...healthy(), reports: {} });
    expect(status.sites?.[1]).toMatchObject({ name: 'B', role: 'none', hanaStatus: 'unknown', inSync: true });
  });

  it('keeps lastTransitionTime while a condition holds and moves it when it flips', () => {
    const first = build(healthy()).status;
    const later = build(healthy(), { previous: first, now: T0 + 60_000 }).status;
    expect(findCondition(later, 'Ready')?.lastTransitionTime).toBe(rfc3339(T0));
    const flipped = build(vacant, { previous: later, now: T0 + 120_000 }).status;
    expect(findCondition(flipped, 'Ready')?.lastTransitionTime).toBe(rfc3339(T0 + 120_000));
    expect(findCondition(flipped, 'MaintenanceMode')?.lastTransitionTime).toBe(rfc3339(T0));
  });

  it('keeps the previous view with Unknown conditions when the store cannot be read', () => {
    const first = build(healthy()).status;
    const { status, events } = build(null, { previous: first, stateError: 'no quorum', now: T0 + 1000 });
    expect(status.currentPrimary).toBe('A');
    expect(findCondition(status, 'Ready')?.message).toContain('no quorum');
    expect(events).toEqual([]);
  });
});

describe('buildStatus events and takeover history', () => {
  it('tells a failover: TakeoverStarted when the key goes, TakeoverSucceeded with a record when B holds it', () => {
    const s0 = build(healthy('A', 1)).status;
    expect(build(healthy('A', 1), { previous: s0 }).events).toEqual([]);

    const lost = build(vacant, { previous: s0, now: T0 + 10_000 });
    expect(lost.events.map((e) => [e.type, e.reason])).toEqual([['Warning', 'TakeoverStarted']]);

    const since = T0 + 14_000;
    const won = build(healthy('B', 2, since), { previous: lost.status, now: T0 + 15_000 });
    expect(won.events.map((e) => e.reason)).toEqual(['TakeoverSucceeded']);
    expect(won.events[0]?.message).toBe('B took over from A in epoch 2 (PrimaryFailed, 4 s)');
    const record = {
      time: rfc3339(since),
      from: 'A',
      to: 'B',
      reason: 'PrimaryFailed',
      outcome: 'succeeded',
      epoch: 2,
      durationSeconds: 4,
    };
    expect(won.status.lastTakeover).toEqual(record);
    expect(won.status.takeoverHistory).toEqual([record]);
    expect(won.status).toMatchObject({ currentPrimary: 'B', targetPrimary: 'B', epoch: 2 });

    // Nothing more to tell on the next cycle; the history stays.
    const again = build(healthy('B', 2, since), { previous: won.status, now: T0 + 20_000 });
    expect(again.events).toEqual([]);
    expect(again.status.takeoverHistory).toEqual([record]);
  });

  it('a store outage during a takeover does not tell TakeoverStarted twice', () => {
    const s0 = build(healthy('A', 1)).status;
    const lost = build(vacant, { previous: s0, now: T0 + 10_000 });
    expect(lost.events.map((e) => e.reason)).toEqual(['TakeoverStarted']);
    // The store cannot be read: TakeoverInProgress goes Unknown, no Event.
    const outage = build(null, { previous: lost.status, stateError: 'no quorum', now: T0 + 11_000 });
    expect(findCondition(outage.status, 'TakeoverInProgress')?.status).toBe('Unknown');
    expect(outage.events).toEqual([]);
    // Back, still in progress: True again, and still no second TakeoverStarted.
    const back = build(vacant, { previous: outage.status, now: T0 + 12_000 });
    expect(findCondition(back.status, 'TakeoverInProgress')?.status).toBe('True');
    expect(back.events).toEqual([]);
    // It completes: TakeoverSucceeded only, and the operator adds no made-up TakeoverStarted.
    const won = build(healthy('B', 2, T0 + 13_000), { previous: back.status, now: T0 + 14_000 });
    expect(won.events.map((e) => e.reason)).toEqual(['TakeoverSucceeded']);
    expect(withTakeoverStory(won.events, back.status, won.status).map((e) => e.reason)).toEqual([
      'TakeoverSucceeded',
    ]);
    // A takeover that starts and ends while the store is unreadable is told by TakeoverSucceeded.
    const done = build(healthy('B', 2, T0 + 13_000), { previous: outage.status, now: T0 + 14_000 });
    expect(withTakeoverStory(done.events, outage.status, done.status).map((e) => e.reason)).toEqual([
      'TakeoverSucceeded',
    ]);
    // From False, a new takeover is told again.
    const later = build(vacant, { previous: won.status, now: T0 + 60_000 });
    expect(later.events.filter((e) => e.reason === 'TakeoverStarted')).toHaveLength(1);
  });

  it('tells a planned takeover as such (Normal TakeoverStarted, reason PlannedTakeover)', () => {
    const s0 = build(healthy('A', 1)).status;
    const asked = build(
      { ...healthy('A', 1), intents: [{ kind: 'planned-takeover', id: 'p', target: 'B', epoch: 1 }] },
      { previous: s0 },
    );
    expect(asked.events.map((e) => [e.type, e.reason])).toEqual([['Normal', 'TakeoverStarted']]);
    const done = build(healthy('B', 2, T0 + 3000), { previous: asked.status, now: T0 + 5000 });
    expect(done.status.lastTakeover?.reason).toBe('PlannedTakeover');
  });

  it('tells a planned takeover the operator did not see running by what the new primary did', () => {
    // The whole handover fell between two reconciles (a busy operator): the previous status
    // never had TakeoverInProgress; B's report says it took over as planned in term 2.
    const s0 = build(healthy('A', 1)).status;
    const since = T0 + 3000;
    const after = healthy('B', 2, since);
    const took = (reason: string, epoch = 2, at = since + 800) => ({
      ...after,
      reports: {
        ...after.reports,
        B: {
          ...after.reports['B']!,
          epoch,
          lastAction: { action: 'takeover', reason, ok: true, message: 'B is primary', at },
        },
      },
    });
    const opts = { previous: s0, now: T0 + 5000 };
    expect(build(took('planned_takeover'), opts).status.lastTakeover?.reason).toBe('PlannedTakeover');
    // B's report may still be from before: the operator that asked for it in this very reconcile knows.
    const early = build(after, { ...opts, plannedTarget: 'B' }).status.lastTakeover;
    expect(early?.reason).toBe('PlannedTakeover');
    expect(build(after, { ...opts, plannedTarget: 'C' }).status.lastTakeover?.reason).toBe('PrimaryFailed');
    // A failover stays a failover, and an older term's planned takeover does not count.
    expect(build(took('takeover_done'), opts).status.lastTakeover?.reason).toBe('PrimaryFailed');
    expect(build(took('planned_takeover', 1), opts).status.lastTakeover?.reason).toBe('PrimaryFailed');
    expect(build(took('planned_takeover', 2, since - 60_000), opts).status.lastTakeover?.reason).toBe(
      'PrimaryFailed',
    );
  });

  it('reports the old primary fenced and then registered as a secondary', () => {
    const s1 = build(healthy('B', 2)).status;
    const withA = (health: ReturnType<typeof primaryHealth>, fenced: boolean): ClusterState => ({
      ...healthy('B', 2),
      reports: { ...healthy('B', 2).reports, A: report('A', health, { fenced }) },
    });
    const primaryStill = build(withA(primaryHealth([], { acceptsWrites: false }), false), { previous: s1 });
    expect(primaryStill.status.sites?.[0]?.role).toBe('primary');
    const fenced = build(withA(primaryHealth([], { running: false, acceptsWrites: false }), true), {
      previous: primaryStill.status,
    });
    expect(fenced.events.map((e) => e.reason)).toEqual(['FencedOldPrimary']);
    const registered = build(withA(secondaryHealth('B'), false), { previous: fenced.status });
    expect(registered.events.map((e) => [e.reason, e.message])).toEqual([
      ['RegisteredSecondary', 'former primary A is registered as a secondary of B'],
    ]);
  });

  it('raises ReplicationLagHigh and ReplicationRecovered on flips only', () => {
    const lagging: ClusterState = {
      ...healthy(),
      reports: { ...healthy().reports, A: report('A', primaryHealth([link('B', { lagSeconds: 40 })])) },
    };
    const s0 = build(healthy()).status;
    const high = build(lagging, { previous: s0 });
    expect(high.events.map((e) => [e.type, e.reason])).toEqual([['Warning', 'ReplicationLagHigh']]);
    expect(build(lagging, { previous: high.status }).events).toEqual([]);
    expect(build(healthy(), { previous: high.status }).events.map((e) => e.reason)).toEqual([
      'ReplicationRecovered',
    ]);
  });
});

describe('statusMergePatch', () => {
  it('sends null for top-level fields that disappeared', () => {
    expect(
      statusMergePatch(
        { currentPrimary: 'A', targetPrimary: 'B', epoch: 1 },
        { currentPrimary: 'A', epoch: 1 },
      ),
    ).toEqual({
      status: { currentPrimary: 'A', epoch: 1, targetPrimary: null },
    });
  });
});
