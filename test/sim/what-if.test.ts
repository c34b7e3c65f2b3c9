/**
 * `hanasr explain --what-if`: the simulator seeded from a published state (primary, epoch,
 * in-sync secondaries, sites down, silent agents, measured clock offsets) plays the fault with
 * the real agent code; the prediction follows the live state, not a default landscape.
 */
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/api/spec.js';
import type { ClusterState } from '../../src/coordination/port.js';
import type { HanaHealth, SiteReport } from '../../src/domain/types.js';
import { parseWhatIfFault, predict, whatIfScenario, WhatIfError } from '../../src/sim/what-if.js';

const spec = parseSpec({
  sid: 'HA1',
  instanceNumber: '00',
  sites: [
    { name: 'A', host: 'hana-a' },
    { name: 'B', host: 'hana-b' },
  ],
  takeover: { automatedRegister: true },
});
const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);

function health(role: 'primary' | 'secondary', extra: Partial<HanaHealth> = {}): HanaHealth {
  return {
    probeOk: true,
    running: true,
    landscapeStatus: 4,
    processes: { hdbdaemon: 'GREEN', hdbnameserver: 'GREEN', hdbindexserver: 'GREEN' },
    srRole: role,
    ...(role === 'secondary' ? { source: 'A', srMode: 'sync' as const } : {}),
    suspended: false,
    acceptsWrites: role === 'primary',
    replication: [],
    overallReplicationStatus: role === 'primary' ? 'ACTIVE' : 'NONE',
    ...extra,
  };
}

function report(site: string, h: HanaHealth, extra: Partial<SiteReport> = {}): SiteReport {
  return {
    site,
    observedAt: NOW,
    health: h,
    failedProbes: 0,
    lastWritableAt: h.acceptsWrites ? NOW : null,
    epoch: 3,
    leader: site === 'A',
    fenced: false,
    ...extra,
  };
}

function state(bInSync: boolean, extra: Partial<SiteReport> = {}): ClusterState {
  const link = {
    secondary: 'B',
    mode: 'sync' as const,
    operationMode: 'logreplay' as const,
    status: bInSync ? ('ACTIVE' as const) : ('ERROR' as const),
    statusDetails: '',
    inSync: bInSync,
    lagSeconds: 0,
    lagBytes: 0,
  };
  return {
    leader: { site: 'A', epoch: 3, since: NOW - 60_000 },
    lastEpoch: 3,
    reports: {
      A: report('A', health('primary', { replication: [link] }), extra),
      B: report('B', health('secondary')),
    },
    sync: {
      B: {
        site: 'B',
        state: bInSync ? 'SOK' : 'SFAIL',
        confirmedAt: NOW,
        epoch: 3,
        mode: 'sync',
        lagSeconds: 0,
        lagBytes: 0,
      },
    },
    lpt: { A: NOW },
    intents: [],
  };
}

describe('what-if', () => {
  it('parses ACTION[:SITE[:VALUE]]', () => {
    expect(parseWhatIfFault('crash-instance:A')).toEqual({ action: 'crash-instance', site: 'A' });
    expect(parseWhatIfFault('coordination-outage')).toEqual({ action: 'coordination-outage' });
    expect(parseWhatIfFault('skew-clock:B:-8')).toEqual({ action: 'skew-clock', site: 'B', seconds: -8 });
    expect(parseWhatIfFault('slow-replication:B:50')).toEqual({
      action: 'slow-replication',
      site: 'B',
      factor: 50,
    });
    expect(() => parseWhatIfFault('explode:A')).toThrow(WhatIfError);
    expect(() => parseWhatIfFault('crash-instance:A:3')).toThrow(/takes no value/);
    expect(() => parseWhatIfFault('skew-clock:B:soon')).toThrow(/not a number/);
  });

  it('starts from the live epoch: a takeover after crash-instance:primary is epoch 4', async () => {
    const p = await predict(spec, state(true), { action: 'crash-instance', site: 'primary' }, 90);
    expect(p.start).toMatchObject({ primary: 'A', epoch: 3, notInSync: [] });
    expect(p.final).toMatchObject({ primary: 'B', epoch: 4 });
    expect(p.takeovers).toBe(1);
    expect(p.takeoverAfterSeconds).not.toBeNull();
    expect(p.timeline[0]).toMatchObject({ t: 0, event: 'fault:crash-instance', site: 'A' });
  });

  it('an SFAIL secondary live: the same crash restarts A locally and promotes nothing', async () => {
    const p = await predict(spec, state(false), { action: 'crash-instance', site: 'A' }, 90);
    expect(p.start.notInSync).toEqual(['B']);
    // The warm-up recreates it: B's link is cut until A commits alone (logShippingTimeout 30 s).
    expect(p.warmupSeconds).toBeGreaterThan(30);
    expect(p.takeovers).toBe(0);
    expect(p.final.primary).toBe('A');
    expect(p.timeline.some((e) => e.event === 'decision:start-local' && e.site === 'A')).toBe(true);
  });

  it('a clock offset the primary measured is recreated, and sites down or silent start so', () => {
    const live = state(true, { clockSkew: { B: { offsetMs: 8000, uncertaintyMs: 2, measuredAt: NOW } } });
    const down = {
      ...live,
      reports: { A: live.reports['A']! }, // B's agent is silent
    };
    const { scenario, start } = whatIfScenario(spec, down, { action: 'crash-node', site: 'A' }, 60);
    expect(start.clockSkew).toEqual(['B +8s']);
    expect(start.agentsSilent).toEqual(['B']);
    expect(scenario.faults).toEqual(
      expect.arrayContaining([
        { atSeconds: 0, action: 'stop-agent', site: 'B' },
        { atSeconds: 0, action: 'skew-clock', site: 'B', seconds: 8 },
        { atSeconds: 10, action: 'crash-node', site: 'A' },
      ]),
    );
    expect(scenario.initialPrimary).toBe('A');
  });

  it('refuses without a primary to start from', () => {
    const none: ClusterState = { ...state(true), leader: null, reports: {} };
    expect(() => whatIfScenario(spec, none, { action: 'crash-instance', site: 'A' }, 60)).toThrow(
      /no primary now/,
    );
  });
});
