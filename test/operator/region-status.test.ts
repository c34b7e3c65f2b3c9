/**
 * The status and Events of a region through a planned region switchover (docs/dr.md), as the
 * old active region's operator computes them from its own store (planStatus: buildStatus and the
 * takeover outcomes): while it drains, status.region says so and what it waits for; after the
 * handover the region is a DR region, and its operator says nothing of in-region takeovers there
 * (no TakeoverStarted for the vacant leader key, no FencedOldPrimary for the demoted primary, no
 * TakeoverFailed when nobody takes over inside it). A real in-region loss still tells all of it.
 */
import { describe, expect, it } from 'vitest';
import { findCondition, parseStatus, type HanaSystemReplicationStatus } from '../../src/api/resource.js';
import { parseSpec } from '../../src/api/spec.js';
import type { ClusterState } from '../../src/coordination/port.js';
import type { RegionRecord } from '../../src/domain/region.js';
import { planStatus, type StatusPlanInput } from '../../src/operator/compute.js';
import { link, primaryHealth, report, secondaryHealth, syncRecord } from './fixtures.js';

const T0 = 1_700_000_001_000;
const TIMEOUT_MS = 120_000;
const regionSpec = parseSpec({
  sid: 'HA1',
  instanceNumber: '00',
  sites: [
    { name: 'A', host: 'hana-a', region: 'eu-west' },
    { name: 'B', host: 'hana-b', region: 'eu-west' },
    { name: 'C', host: 'hana-c', region: 'eu-north' },
  ],
});

const active: RegionRecord = { generation: 2, active: 'eu-west', since: T0 - 60_000, by: 'adopted' };
const token = { fromSite: 'A', epoch: 1, generation: 2, toSite: 'C' };
const draining: RegionRecord = {
  generation: 3,
  active: 'eu-north',
  since: T0,
  by: 'switchover',
  draining: true,
  token,
};

/** eu-west's store: A leads in epoch 1 with B in sync and C (eu-north) on the async DR link. */
const steady: ClusterState = {
  leader: { site: 'A', epoch: 1, since: T0 - 60_000 },
  lastEpoch: 1,
  lastLeader: 'A',
  reports: {
    A: report('A', primaryHealth([link('B'), link('C', { mode: 'async' })]), { observedAt: T0 }),
    B: report('B', secondaryHealth('A'), { observedAt: T0 }),
  },
  sync: { B: syncRecord('B', 1) },
  lpt: {},
  intents: [],
  region: active,
};

/** The draining record written, the leader key given up, A not yet drained. */
const drainingState: ClusterState = {
  ...steady,
  leader: null,
  region: draining,
  reports: {
    ...steady.reports,
    A: report('A', primaryHealth([link('B'), link('C', { mode: 'async' })]), {
      observedAt: T0 + 2000,
      lastAction: {
        action: 'demote-region',
        reason: 'region_switchover_draining',
        ok: true,
        message: 'A is not drained into C yet: the log moved from 100 to 140',
        at: T0 + 2000,
      },
    }),
  },
};

/** A stopped and recorded its last log position: the token. */
const stopped: ClusterState = {
  ...drainingState,
  region: { ...draining, token: { ...token, logPosition: 140 } },
  reports: {
    ...drainingState.reports,
    A: report('A', secondaryHealth('A', { running: false, srRole: 'primary', replication: [] }), {
      observedAt: T0 + 4000,
      fenced: true,
    }),
  },
};

/** The handover adopted into eu-west's store: eu-north is active, C leads there. */
const handedOver: ClusterState = {
  ...stopped,
  region: {
    generation: 4,
    active: 'eu-north',
    since: T0 + 5000,
    by: 'adopted',
    token: { ...token, logPosition: 140 },
  },
};

/** A and B follow C as DR secondaries. */
const following: ClusterState = {
  ...handedOver,
  reports: {
    A: report('A', secondaryHealth('C', { srMode: 'async' }), { observedAt: T0 + 8000 }),
    B: report('B', secondaryHealth('A'), { observedAt: T0 + 8000 }),
  },
};

function input(
  state: ClusterState,
  now: number,
  previous: HanaSystemReplicationStatus | undefined,
  ownRegion: string | null,
): StatusPlanInput {
  return {
    spec: regionSpec,
    generation: 1,
    state,
    previous,
    now,
    lagAlerts: null,
    refusals: [],
    reported: () => false,
    takeoverTimeoutMs: TIMEOUT_MS,
    fenceEvents: [],
    ...(ownRegion !== null ? { ownRegion } : {}),
    regionSwitchoverTimeoutMs: TIMEOUT_MS,
  };
}

/** Reconciles `steps` in order (each on the previous status), returning every status and Event. */
function run(steps: readonly (readonly [ClusterState, number])[], ownRegion: string | null = 'eu-west') {
  let previous: HanaSystemReplicationStatus | undefined;
  const statuses: HanaSystemReplicationStatus[] = [];
  const events: { reason: string; message: string }[] = [];
  for (const [state, now] of steps) {
    const plan = planStatus(input(state, now, previous, ownRegion));
    parseStatus(plan.status);
    statuses.push(plan.status);
    events.push(...plan.events);
    previous = plan.status;
  }
  return { statuses, events };
}

const condition = (s: HanaSystemReplicationStatus, type: 'Ready' | 'TakeoverInProgress') => {
  const c = findCondition(s, type)!;
  return [c.status, c.reason, c.message] as const;
};

describe('status of a region through a planned region switchover', () => {
  const steps = [
    [steady, T0 - 1000],
    [drainingState, T0 + 2000],
    [stopped, T0 + 4000],
    [handedOver, T0 + 5000],
    [following, T0 + 8000],
    // Long past the takeover timeout: nobody took over inside the DR region, and none should.
    [following, T0 + 8000 + 2 * TIMEOUT_MS],
  ] as const;

  it('shows the draining switchover in status.region and TakeoverInProgress, with what it waits for', () => {
    const { statuses } = run(steps);
    const [before, drain, token] = statuses;
    expect(before!.region).toMatchObject({ generation: 2, active: 'eu-west', thisRegion: 'eu-west' });
    expect(before!.region?.draining).toBeUndefined();
    expect(before!.region?.switchover).toBeUndefined();

    expect(drain!.region).toMatchObject({
      generation: 3,
      active: 'eu-north',
      by: 'switchover',
      thisRegion: 'eu-west',
      draining: true,
      switchover: {
        from: 'A',
        to: 'C',
        fromRegion: 'eu-west',
        toRegion: 'eu-north',
        deadline: new Date(T0 + TIMEOUT_MS).toISOString().replace('.000Z', 'Z'),
      },
    });
    expect(drain!.region?.switchover?.logPosition).toBeUndefined();
    expect(drain!.region?.switchover?.waitingFor).toMatch(
      /^waiting for A to stop once its log stands still and is shipped to C.*A's agent said: A is not drained into C yet: the log moved from 100 to 140.*aborted at /,
    );
    const [st, reason, message] = condition(drain!, 'TakeoverInProgress');
    expect([st, reason]).toEqual(['True', 'RegionSwitchover']);
    expect(message).toContain(drain!.region!.switchover!.waitingFor);

    expect(token!.region?.switchover).toMatchObject({ logPosition: 140 });
    expect(token!.region?.switchover?.waitingFor).toMatch(
      /^A stopped at log position 140; waiting for C's agent \(region eu-north\) to report it running as a secondary/,
    );
  });

  it('after the handover the old region is a DR region: Ready and TakeoverInProgress say so', () => {
    const { statuses } = run(steps);
    for (const s of statuses.slice(3)) {
      expect(s.region).toMatchObject({ active: 'eu-north', thisRegion: 'eu-west' });
      expect(s.region?.draining).toBeUndefined();
      expect(s.region?.switchover).toBeUndefined();
      expect(condition(s, 'TakeoverInProgress').slice(0, 2)).toEqual(['False', 'RegionInactive']);
      expect(condition(s, 'Ready').slice(0, 2)).toEqual(['False', 'RegionInactive']);
      expect(condition(s, 'Ready')[2]).toMatch(/region eu-north is active at generation 4/);
    }
    expect(statuses.at(-1)!.takeoverHistory ?? []).toEqual([]);
  });

  it('the old region says nothing of in-region takeovers: no TakeoverStarted, FencedOldPrimary or TakeoverFailed', () => {
    const { events } = run(steps);
    const reasons = events.map((e) => e.reason);
    expect(reasons).not.toContain('TakeoverStarted');
    expect(reasons).not.toContain('FencedOldPrimary');
    expect(reasons).not.toContain('TakeoverFailed');
    // What happened to A is still told: it follows C now.
    expect(reasons).toContain('RegisteredSecondary');
  });

  it('without its own region named, the region of the sites reporting into the store tells it', () => {
    const { statuses, events } = run(steps, null);
    expect(statuses.at(-1)!.region?.thisRegion).toBe('eu-west');
    expect(condition(statuses.at(-1)!, 'TakeoverInProgress').slice(0, 2)).toEqual([
      'False',
      'RegionInactive',
    ]);
    expect(events.map((e) => e.reason)).not.toContain('TakeoverStarted');
  });

  it('an abort after the token: the in-region loss that follows is told, and its timeout counts from the abort', () => {
    // A stopped and recorded its position, C never reported: at the deadline eu-west is active
    // again, nobody holds the key (A is stopped), B may take over inside the region.
    const abortedAt = T0 + TIMEOUT_MS + 1000;
    const aborted: ClusterState = {
      ...stopped,
      region: { generation: 4, active: 'eu-west', since: abortedAt, by: 'switchover' },
    };
    const { statuses, events } = run([
      [steady, T0 - 1000],
      [drainingState, T0 + 2000],
      [stopped, T0 + 4000],
      [aborted, abortedAt],
      [aborted, abortedAt + 10_000],
    ]);
    const after = findCondition(statuses[3]!, 'TakeoverInProgress')!;
    expect([after.status, after.reason]).toEqual(['True', 'PrimaryLost']);
    expect(Date.parse(after.lastTransitionTime)).toBe(abortedAt);
    const reasons = events.map((e) => e.reason);
    expect(reasons).toContain('TakeoverStarted');
    expect(reasons).not.toContain('TakeoverFailed');
  });

  it('a real in-region loss in the active region is still told (TakeoverStarted, FencedOldPrimary)', () => {
    const lost: ClusterState = {
      ...steady,
      leader: null,
      reports: {
        A: report('A', secondaryHealth('A', { running: false, srRole: 'primary', replication: [] }), {
          observedAt: T0 + 2000,
          fenced: true,
        }),
        B: report('B', secondaryHealth('A'), { observedAt: T0 + 2000 }),
      },
    };
    const { statuses, events } = run([
      [steady, T0 - 1000],
      [lost, T0 + 2000],
    ]);
    expect(condition(statuses[1]!, 'TakeoverInProgress').slice(0, 2)).toEqual(['True', 'PrimaryLost']);
    expect(events.map((e) => e.reason)).toEqual(
      expect.arrayContaining(['TakeoverStarted', 'FencedOldPrimary']),
    );
  });
});
