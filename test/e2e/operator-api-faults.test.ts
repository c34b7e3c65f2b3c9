/**
 * Watch interruptions (reset sockets, 410 after compaction) and injected 500s on every verb the
 * operator uses do not break it: the informer restarts, failed reconciles are retried, and a
 * spec change made during the faults still reaches status and the store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cond, merge, ref, startRig, until, type Rig } from './operator-harness.js';

let rig: Rig;

beforeAll(async () => {
  rig = await startRig();
});

afterAll(async () => {
  await rig.stop();
});

describe('operator e2e: API faults', () => {
  it('survives dropped watches, compaction and 500s', async () => {
    await rig.waitFor((x) => cond(x, 'Ready')?.[0] === 'True');
    const controller = rig.operator.controller();
    expect(controller).not.toBeNull();
    await until(
      'a watch is open',
      async () => rig.server.faults.openWatches,
      (n) => n >= 1,
    );

    const injected = rig.server.faults.injected;
    rig.server.faults.failNext(2, { verb: 'list' });
    rig.server.faults.failNext(3, { verb: 'get', path: 'hanasystemreplications' });
    rig.server.faults.failNext(3, { verb: 'patch', path: '/status' });
    rig.server.faults.failNext(2, { verb: 'list', path: '/pods' });
    rig.server.faults.compact();
    rig.server.faults.dropWatches();
    await until(
      'informer restarted',
      async () => controller!.informer.restarts,
      (n) => n >= 1,
    );

    await rig.custom.patchNamespacedCustomObject(
      { ...ref, namespace: 'hana', name: 'ha1', body: { spec: { alerts: { lagWarningSeconds: 45 } } } },
      merge,
    );
    const o = await rig.waitFor(
      (x) => x['status']?.['observedGeneration'] === 2 && cond(x, 'Ready')?.[0] === 'True',
    );
    expect(cond(o, 'Ready')).toEqual(['True', 'PrimaryAvailable']);
    await until(
      'the new spec in the store',
      () => rig.store.read('hana.ha1'),
      (st) => (st.spec as { alerts?: { lagWarningSeconds?: number } }).alerts?.lagWarningSeconds === 45,
    );
    expect(rig.server.faults.injected - injected).toBeGreaterThanOrEqual(5);
    await until(
      'informer synced again',
      async () => controller!.informer.synced,
      (s) => s,
    );
    const ready = await fetch(`${rig.operator.healthUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
    expect(ready.status).toBe(200);
    const healthz = await fetch(`${rig.operator.healthUrl}/healthz`, { signal: AbortSignal.timeout(2000) });
    expect(healthz.status).toBe(200);
    const metrics = await (
      await fetch(rig.operator.metricsUrl, { signal: AbortSignal.timeout(2000) })
    ).text();
    expect(metrics).toMatch(/hanasr_reconcile_errors_total\{namespace="hana",cluster="ha1"\} [1-9]/);
  });
});
