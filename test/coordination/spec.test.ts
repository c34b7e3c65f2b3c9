/** The operator publishes the spec into the store; agents read it back, with or without an operator. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock.js';
import { MemoryCoordination } from '../../src/coordination/memory.js';
import type { Coordination } from '../../src/coordination/port.js';
import { CoordinationUnavailableError } from '../../src/coordination/port.js';
import { EtcdCluster } from '../../rigs/etcd.js';
import { coordination, uniqueCluster } from './helpers.js';

const spec = {
  sid: 'HA1',
  instanceNumber: '00',
  sites: [
    { name: 'A', host: 'a' },
    { name: 'B', host: 'b' },
  ],
};

async function roundTrip(store: Coordination, cluster: string): Promise<void> {
  expect((await store.read(cluster)).spec).toBeUndefined();
  await store.publishSpec(cluster, spec);
  expect((await store.read(cluster)).spec).toEqual(spec);
  const session = store.session(cluster, 'A', 2);
  await session.start();
  expect((await session.read()).spec).toEqual(spec);
  // The maintenance generation: one more on every change of maintenance, in the same write, and
  // not on other changes (issue 12: an agent cut off may have read any of them).
  expect((await session.read()).maintenanceGeneration).toBe(0);
  await store.publishSpec(cluster, { ...spec, maintenance: true });
  expect(await session.read()).toMatchObject({ spec: { maintenance: true }, maintenanceGeneration: 1 });
  await store.publishSpec(cluster, { ...spec, maintenance: false });
  await store.publishSpec(cluster, { ...spec, maintenance: false, probes: { intervalSeconds: 3 } });
  expect((await store.read(cluster)).maintenanceGeneration).toBe(2);
  await store.publishSpec(cluster, { ...spec, maintenance: true });
  expect(await session.read()).toMatchObject({ spec: { maintenance: true }, maintenanceGeneration: 3 });
  // The spec outlives every lease.
  await session.close();
  expect((await store.read(cluster)).spec).toMatchObject({ maintenance: true });
  await store.deleteCluster(cluster);
  expect((await store.read(cluster)).spec).toBeUndefined();
  expect((await store.read(cluster)).maintenanceGeneration).toBeUndefined();
}

describe('published spec', () => {
  it('in memory: round trip, outlives leases, gone with the cluster, fails while the store is down', async () => {
    const store = new MemoryCoordination(new VirtualClock(0));
    await roundTrip(store, 'ns.hsr');
    store.setAvailable(false);
    await expect(store.publishSpec('ns.hsr', spec)).rejects.toBeInstanceOf(CoordinationUnavailableError);
  });

  describe('on etcd', () => {
    let etcd: EtcdCluster;
    beforeAll(async () => {
      etcd = await EtcdCluster.start({ members: 1 });
    }, 30_000);
    afterAll(async () => {
      await etcd?.stop();
    });

    it('two publishers at once: every change of maintenance counted once, the last spec kept', async () => {
      const one = coordination(etcd.endpoints);
      const two = coordination(etcd.endpoints);
      const cluster = uniqueCluster('spec-race');
      try {
        await one.publishSpec(cluster, spec);
        // Alternating writers, each flipping maintenance: the transaction on the revision read
        // makes a write that raced another read again, so the count is exact.
        for (let i = 1; i <= 6; i++) {
          await Promise.all([
            one.publishSpec(cluster, { ...spec, maintenance: i % 2 === 1 }),
            two.publishSpec(cluster, { ...spec, maintenance: i % 2 === 1 }),
          ]);
          expect((await one.read(cluster)).maintenanceGeneration).toBe(i);
        }
      } finally {
        await one.close();
        await two.close();
      }
    });

    it('round trip, outlives leases, gone with the cluster', async () => {
      const store = coordination(etcd.endpoints);
      try {
        await roundTrip(store, uniqueCluster('spec'));
      } finally {
        await store.close();
      }
    });
  });
});
