/** A killed agent leaves its lease behind: it runs out after its TTL, it is not revoked at once. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock.js';
import { MemoryCoordination } from '../../src/coordination/memory.js';
import { EtcdCluster } from '../../rigs/etcd.js';
import { coordination, report, uniqueCluster, until } from './helpers.js';

describe('abandon()', () => {
  it('in memory: the leader key and report stay until the TTL has passed', async () => {
    const clock = new VirtualClock(0);
    const store = new MemoryCoordination(clock);
    const a = store.session('c', 'A', 3);
    await a.start();
    expect(await a.acquireLeader(0, clock.now())).toMatchObject({ site: 'A', epoch: 1 });
    await a.publishReport(report('A', 1));
    a.abandon();
    await clock.advanceBy(2_000);
    expect((await store.read('c')).leader?.site).toBe('A');
    expect((await store.read('c')).reports.A).toBeDefined();
    await clock.advanceBy(1_500);
    const state = await store.read('c');
    expect(state.leader).toBeNull();
    expect(state.reports.A).toBeUndefined();
    expect(state.lastEpoch).toBe(1);
  });

  describe('on etcd', () => {
    let etcd: EtcdCluster;
    beforeAll(async () => {
      etcd = await EtcdCluster.start({ members: 1 });
    }, 30_000);
    afterAll(async () => {
      await etcd?.stop();
    });

    it('the key survives the abandon and disappears only after the TTL', async () => {
      const cluster = uniqueCluster('abandon');
      const owner = coordination(etcd.endpoints);
      const observer = coordination(etcd.endpoints);
      try {
        const a = owner.session(cluster, 'A', 2);
        await a.start();
        expect(await a.acquireLeader(0, Date.now())).toMatchObject({ site: 'A' });
        const abandonedAt = Date.now();
        a.abandon();
        expect((await observer.read(cluster)).leader?.site).toBe('A');
        await until(
          'the key to expire',
          async () => ((await observer.read(cluster)).leader === null ? true : undefined),
          10_000,
        );
        expect(Date.now() - abandonedAt).toBeGreaterThanOrEqual(1_000);
      } finally {
        await owner.close();
        await observer.close();
      }
    });
  });
});
