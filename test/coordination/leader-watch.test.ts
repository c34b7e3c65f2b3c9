/**
 * The etcd adapter's watches on a real etcd (CoordinationSession.watchLeader,
 * Coordination.watchClusters): every change of the leader key is told (acquire, release, lease
 * expiry), a watch that cannot be opened fails at its deadline, a watch whose connection drops is
 * reported broken once, and a new one works after the connection heals.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdCoordination } from '../../src/coordination/etcd.js';
import {
  CoordinationUnavailableError,
  type ClusterChange,
  type StoreWatch,
} from '../../src/coordination/port.js';
import { TcpProxy } from '../../src/net/tcp-proxy.js';
import { EtcdCluster } from '../../rigs/etcd.js';
import { coordination, report, sleep, uniqueCluster, until } from './helpers.js';

let etcd: EtcdCluster;
const open: EtcdCoordination[] = [];
const client = (endpoints: readonly string[]) => {
  const c = coordination(endpoints);
  open.push(c);
  return c;
};

beforeAll(async () => {
  etcd = await EtcdCluster.start({ members: 1 });
}, 30_000);

afterAll(async () => {
  await Promise.allSettled(open.map((c) => c.close()));
  await etcd?.stop();
});

const deadline = (ms: number) => AbortSignal.timeout(ms);

describe('etcd watches', () => {
  it('tells every change of the leader key: acquire, release, and the expiry of a dead holder', async () => {
    const store = client(etcd.endpoints);
    const cluster = uniqueCluster('watch');
    // TTL 2 s: long enough that a loaded machine's keepalives hold it, short for the expiry step.
    const a = store.session(cluster, 'A', 2);
    const b = store.session(cluster, 'B', 2);
    await a.start();
    await b.start();
    let changes = 0;
    const broken: Error[] = [];
    const watch = await b.watchLeader(
      { onChange: () => changes++, onBroken: (e) => broken.push(e) },
      deadline(2000),
    );
    const seen = (n: number) => until(`${n} changes`, async () => (changes >= n ? true : undefined), 5000, 5);

    const rec = await a.acquireLeader(0, Date.now());
    expect(rec?.epoch).toBe(1);
    await seen(1);
    await a.releaseLeader(1);
    await seen(2);
    expect((await b.read()).leader).toBeNull();
    await a.acquireLeader(1, Date.now());
    await seen(3);
    a.abandon(); // a killed holder: the key goes when its lease runs out
    await until('the expiry', async () => (changes >= 4 ? true : undefined), 10_000, 5);
    expect((await b.read()).leader).toBeNull();
    expect(broken).toEqual([]);
    watch.close();
    await b.close();
  });

  it('the operator watch names the cluster and carries reports', async () => {
    const store = client(etcd.endpoints);
    const cluster = uniqueCluster('watch-all');
    const changes: ClusterChange[] = [];
    const watch = await store.watchClusters(
      { onChange: (c) => changes.push(c), onBroken: () => undefined },
      deadline(2000),
    );
    const s = store.session(cluster, 'A', 2);
    await s.start();
    await s.publishReport(report('A'));
    await s.acquireLeader(0, Date.now());
    const mine = () => changes.filter((c) => c.cluster === cluster);
    await until('both changes', async () => (mine().length >= 2 ? true : undefined), 5000, 5);
    expect(mine()).toEqual([
      expect.objectContaining({ what: 'report', site: 'A', report: expect.objectContaining({ site: 'A' }) }),
      { cluster, what: 'leader' },
    ]);
    watch.close();
    await s.close();
  });

  it('a watch that cannot be opened fails at its deadline; once the connection is back a new one sees the release', async () => {
    const proxy = await TcpProxy.start(etcd.endpoints[0]!);
    try {
      const cluster = uniqueCluster('watch-hole');
      const direct = client(etcd.endpoints).session(cluster, 'A', 2);
      await direct.start();
      const viaProxy = client([proxy.endpoint]);
      const b = viaProxy.session(cluster, 'B', 2);
      proxy.blackhole();
      const started = Date.now();
      const failed = await b
        .watchLeader({ onChange: () => undefined, onBroken: () => undefined }, deadline(300))
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(failed).toBeInstanceOf(CoordinationUnavailableError);
      expect(Date.now() - started).toBeLessThan(2000);

      // The held connection is dead for good (as after a long partition): drop it, then heal.
      await proxy.cut();
      await proxy.heal();
      let changes = 0;
      let watch: StoreWatch | null = null;
      // The client may need a moment to drop the dead connection: retry as the agent does (each cycle).
      await until(
        'a watch through the healed proxy',
        async () => {
          watch = await b
            .watchLeader({ onChange: () => changes++, onBroken: () => undefined }, deadline(500))
            .catch(() => null);
          return watch ?? undefined;
        },
        15_000,
        100,
      );
      await direct.acquireLeader(0, Date.now());
      await until('the acquire', async () => (changes >= 1 ? true : undefined), 5000, 5);
      await direct.releaseLeader(1);
      await until('the release', async () => (changes >= 2 ? true : undefined), 5000, 5);
      (watch as StoreWatch | null)?.close();
      await direct.close();
    } finally {
      await proxy.close();
    }
  }, 30_000);

  it('a watch whose connection drops is reported broken once, and no change follows', async () => {
    const proxy = await TcpProxy.start(etcd.endpoints[0]!);
    try {
      const cluster = uniqueCluster('watch-cut');
      const b = client([proxy.endpoint]).session(cluster, 'B', 2);
      const broken: Error[] = [];
      let changes = 0;
      await b.watchLeader({ onChange: () => changes++, onBroken: (e) => broken.push(e) }, deadline(2000));
      await proxy.cut();
      await until('the watch to break', async () => (broken.length > 0 ? true : undefined), 5000, 5);
      expect(broken[0]).toBeInstanceOf(CoordinationUnavailableError);
      expect(broken[0]!.message).toMatch(/etcd watch (lost|ended|failed)/);
      // A change after the break is not told through the broken watch (the reader reopens it).
      await proxy.heal();
      const direct = client(etcd.endpoints).session(cluster, 'A', 2);
      await direct.start();
      await direct.acquireLeader(0, Date.now());
      await sleep(300);
      expect(changes).toBe(0);
      expect(broken).toHaveLength(1);
      await direct.close();
    } finally {
      await proxy.close();
    }
  }, 30_000);
});
