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
  await store.publishSpec(cluster, { ...spec, maintenance: true });
  expect((await session.read()).spec).toMatchObject({ maintenance: true });
  // The spec outlives every lease.
  await session.close();
  expect((await store.read(cluster)).spec).toMatchObject({ maintenance: true });
  await store.deleteCluster(cluster);
  expect((await store.read(cluster)).spec).toBeUndefined();
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
