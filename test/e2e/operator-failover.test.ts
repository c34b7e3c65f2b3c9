/**
 * Apply a manifest, agents report, status appears and Ready=True; then the primary instance
 * crashes: the agents take over, the rw Service and the pod role labels move to B, and the
 * TakeoverStarted / TakeoverSucceeded Events and status.lastTakeover tell the story.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cond, startRig, until, type Rig } from './operator-harness.js';

let rig: Rig;

beforeAll(async () => {
  rig = await startRig();
});

afterAll(async () => {
  await rig.stop();
});

describe('operator e2e: failover', () => {
  it('reports a healthy cluster, then tells the story of a takeover after the primary crashes', async () => {
    let o = await rig.waitFor(
      (x) => cond(x, 'Ready')?.[0] === 'True' && cond(x, 'ReplicationHealthy')?.[0] === 'True',
    );
    expect(o['status']).toMatchObject({ observedGeneration: 1, currentPrimary: 'A', epoch: 1 });
    expect(
      o['status']['sites'].map((s: Record<string, unknown>) => [s['name'], s['role'], s['inSync']]),
    ).toEqual([
      ['A', 'primary', undefined],
      ['B', 'secondary', true],
    ]);
    // The spec reached the store for the agents.
    expect((await rig.store.read('hana.ha1')).spec).toMatchObject({ sid: 'HA1', lease: { ttlSeconds: 2 } });
    const roles = async () => rig.podRoles();
    await until('pod roles', roles, (r) => r['A'] === 'primary' && r['B'] === 'secondary');
    await until(
      'rw service on A',
      () => rig.serviceSelector('ha1-rw'),
      (s) => s?.['hanasr.io/site'] === 'A',
    );
    expect(await rig.serviceSelector('ha1-ro')).toBeUndefined();

    // The takeover guard needs B's SOK record confirmed by a healthy primary cycle.
    await until(
      'B in sync in the store',
      () => rig.store.read('hana.ha1'),
      (st) => st.sync['B']?.state === 'SOK' && st.reports['A']?.lastDecision?.reason === 'leader_healthy',
    );
    rig.landscape.model.crashInstance('A');

    o = await rig.waitFor(
      (x) => x['status']?.['currentPrimary'] === 'B' && cond(x, 'Ready')?.[0] === 'True',
      15_000,
    );
    expect(o['status']['lastTakeover']).toMatchObject({ from: 'A', to: 'B', outcome: 'succeeded' });
    expect(o['status']['epoch']).toBeGreaterThanOrEqual(2);
    await until(
      'rw service on B',
      () => rig.serviceSelector('ha1-rw'),
      (s) => s?.['hanasr.io/site'] === 'B',
    );
    await until('pod roles moved', roles, (r) => r['B'] === 'primary' && r['A'] !== 'primary');

    const reasons = await rig.eventReasons();
    expect(reasons).toContain('TakeoverStarted');
    expect(reasons).toContain('TakeoverSucceeded');
    expect(reasons.indexOf('TakeoverStarted')).toBeLessThan(reasons.indexOf('TakeoverSucceeded'));

    const metrics = await (
      await fetch(rig.operator.metricsUrl, { signal: AbortSignal.timeout(2000) })
    ).text();
    expect(metrics).toMatch(
      /hanasr_takeovers_total\{namespace="hana",cluster="ha1",site="B",outcome="succeeded"\} 1/,
    );
    expect(metrics).toMatch(/hanasr_leader_epoch\{namespace="hana",cluster="ha1"\} [2-9]/);
    expect(metrics).toMatch(
      /hanasr_agent_last_report_timestamp_seconds\{namespace="hana",cluster="ha1",site="B"\} \d+/,
    );
  });
});
