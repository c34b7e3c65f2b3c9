/**
 * Maintenance through the manifest: the operator publishes the new spec, MaintenanceMode turns
 * True, and the agents (which read the spec from the store only) stop acting: the primary
 * crashes and nobody takes over. Maintenance off: the agents act again.
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

const maintenance = (on: boolean) =>
  rig.custom.patchNamespacedCustomObject(
    { ...ref, namespace: 'hana', name: 'ha1', body: { spec: { maintenance: on } } },
    merge,
  );

describe('operator e2e: maintenance', () => {
  it('stops the agents acting while spec.maintenance is true', async () => {
    await rig.waitFor((x) => cond(x, 'Ready')?.[0] === 'True');
    await maintenance(true);
    const o = await rig.waitFor((x) => cond(x, 'MaintenanceMode')?.[0] === 'True');
    expect(cond(o, 'MaintenanceMode')).toEqual(['True', 'MaintenanceRequested']);
    expect(o['status']['observedGeneration']).toBe(2);
    await until(
      'agents follow the published spec',
      async () => rig.landscape.spec(),
      (s) => s.maintenance,
    );
    // The operator's publish counted the change (issue 12: the agents' reports name the count).
    expect(await rig.store.read('hana.ha1')).toMatchObject({
      spec: { maintenance: true },
      maintenanceGeneration: 1,
    });

    rig.landscape.model.crashInstance('A');
    // Well past failureThreshold x interval (0.6 s) and the lease TTL (2 s): still no takeover.
    await new Promise((r) => setTimeout(r, 3000));
    const st = await rig.store.read('hana.ha1');
    expect(st.leader?.site).toBe('A');
    expect(st.lastEpoch).toBe(1);
    expect(rig.landscape.model.acceptsWrites('B')).toBe(false);
    expect(rig.landscape.events.some((e) => e.event === 'action' && e.site === 'B')).toBe(false);
    const during = await rig.get();
    expect(during['status']['currentPrimary']).toBe('A');
    expect(cond(during, 'Ready')?.[0]).not.toBe('True');
    expect(await rig.eventReasons()).not.toContain('TakeoverSucceeded');

    // Maintenance off: the agents act on the failure again.
    await maintenance(false);
    await rig.waitFor((x) => cond(x, 'MaintenanceMode')?.[0] === 'False');
    await until(
      'the operator publishes the end of maintenance, counted',
      async () => (await rig.store.read('hana.ha1')).maintenanceGeneration,
      (g) => g === 2,
    );
    await until(
      'agents act again',
      async () => rig.landscape.spec(),
      (s) => !s.maintenance,
    );
    await until(
      'an agent acts',
      async () => rig.landscape.events.filter((e) => e.event === 'action').length,
      (n) => n > 1,
      15_000,
    );
  });
});
