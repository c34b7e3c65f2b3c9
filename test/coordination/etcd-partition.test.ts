/**
 * One member partitioned from etcd by a proxy that swallows its traffic: its renewals stop, every
 * kind of call fails within the deadline, and the other member sees the leader key go only after
 * the TTL counted from the partitioned member's last confirmed renewal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdCoordination } from '../../src/coordination/etcd.js';
import { CoordinationUnavailableError } from '../../src/coordination/port.js';
import { EtcdCluster } from '../../rigs/etcd.js';
import { TcpProxy } from '../../src/net/tcp-proxy.js';
import { coordination, report, settleTimed, sleep, uniqueCluster, until } from './helpers.js';

let etcd: EtcdCluster;
const opened: EtcdCoordination[] = [];
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  etcd = await EtcdCluster.start({ members: 1 });
}, 30_000);

afterAll(async () => {
  await Promise.allSettled(proxies.map((p) => p.close()));
  await Promise.allSettled(opened.map((c) => c.close()));
  await etcd.stop();
}, 30_000);

const CALL_MS = 400;

describe('a partitioned session', () => {
  it('stops seeing renewals; the other sees the key expire only after the TTL', async () => {
    const cluster = uniqueCluster('partition');
    const proxy = await TcpProxy.start(etcd.endpoints[0]!);
    proxies.push(proxy);
    const ca = coordination([proxy.endpoint], { leaseTtlSeconds: 2, callTimeoutMs: CALL_MS });
    const cb = coordination(etcd.endpoints, { leaseTtlSeconds: 2, callTimeoutMs: CALL_MS });
    opened.push(ca, cb);
    const a = ca.session(cluster, 'siteA');
    const b = cb.session(cluster, 'siteB');
    await Promise.all([a.start(), b.start()]);
    const held = await a.acquireLeader(0, 1);
    expect(held?.epoch).toBe(1);
    // Let a renewal or two happen so lastRenewedAt is a keepalive, not the grant.
    const granted = a.lastRenewedAt()!;
    await until('a keepalive', async () => (a.lastRenewedAt()! > granted ? true : undefined));

    proxy.blackhole();
    const cutAt = Date.now();
    // The last renewal a confirmed was sent before the cut.
    await sleep(CALL_MS + 200);
    const frozen = a.lastRenewedAt()!;
    expect(frozen).toBeLessThanOrEqual(cutAt);

    const goneAt = await until(
      'the leader key to expire',
      async () => ((await b.read()).leader === null ? Date.now() : undefined),
      10_000,
      20,
    );
    // etcd keeps the key at least TTL after the last renewal a got confirmed.
    expect(goneAt).toBeGreaterThanOrEqual(frozen + 2000);
    expect(a.lastRenewedAt()).toBe(frozen);
    const next = await b.acquireLeader(1, 2);
    expect(next?.epoch).toBe(2);
  }, 20_000);

  it("a lease granted after the key's lease ran out is no renewal of it; a key won on it counts from it", async () => {
    const cluster = uniqueCluster('regrant');
    const proxy = await TcpProxy.start(etcd.endpoints[0]!);
    proxies.push(proxy);
    const ca = coordination([proxy.endpoint], { leaseTtlSeconds: 2, callTimeoutMs: CALL_MS });
    const cb = coordination(etcd.endpoints, { leaseTtlSeconds: 2, callTimeoutMs: CALL_MS });
    opened.push(ca, cb);
    const a = ca.session(cluster, 'siteA');
    const b = cb.session(cluster, 'siteB');
    await Promise.all([a.start(), b.start()]);
    expect((await a.acquireLeader(0, 1))?.epoch).toBe(1);
    const granted = a.lastRenewedAt()!;
    await until('a keepalive', async () => (a.lastRenewedAt()! > granted ? true : undefined));

    await proxy.cut();
    await sleep(CALL_MS + 200);
    const frozen = a.lastRenewedAt()!;
    await until('the leader key to expire', async () =>
      (await b.read()).leader === null ? true : undefined,
    );
    await proxy.heal();
    const healedAt = performance.now();
    // etcd says the lease expired: the session takes a new one (its own keepalive, or this renew).
    await until('a new lease', async () => {
      try {
        await a.renew();
        return a.currentLeaseId() !== null ? true : undefined;
      } catch {
        return undefined;
      }
    });
    expect((await a.read()).leader).toBeNull();
    // An agent that still believes it leads (its read failed) measures from the key's lease.
    expect(a.lastRenewedAt()).toBe(frozen);
    // The new lease's keepalives (every TTL/3) are no renewal of the old one either.
    await sleep(1000);
    await a.renew();
    expect(a.lastRenewedAt()).toBe(frozen);
    // A key bound to the new lease counts from the new lease.
    expect((await a.acquireLeader(1, 2))?.epoch).toBe(2);
    expect(a.lastRenewedAt()!).toBeGreaterThan(frozen);
    expect(a.lastRenewedAt()!).toBeGreaterThanOrEqual(healedAt - 50);
  }, 20_000);

  it('a key won on a lease granted right before it (the renewal was a grant) counts from that grant', async () => {
    const cluster = uniqueCluster('regrant-win');
    const proxy = await TcpProxy.start(etcd.endpoints[0]!);
    proxies.push(proxy);
    const ca = coordination([proxy.endpoint], { leaseTtlSeconds: 2, callTimeoutMs: CALL_MS });
    const cb = coordination(etcd.endpoints, { leaseTtlSeconds: 2, callTimeoutMs: CALL_MS });
    opened.push(ca, cb);
    const a = ca.session(cluster, 'siteA');
    const b = cb.session(cluster, 'siteB');
    await Promise.all([a.start(), b.start()]);
    expect((await a.acquireLeader(0, 1))?.epoch).toBe(1);
    await proxy.cut();
    await sleep(CALL_MS + 200);
    await until('the leader key to expire', async () =>
      (await b.read()).leader === null ? true : undefined,
    );
    await proxy.heal();
    const healedAt = performance.now();
    // As winLeaderKey() does: renew (a grant now), then compare-and-set.
    await until('a renewal', async () => {
      try {
        await a.renew();
        return true;
      } catch {
        return undefined;
      }
    });
    expect((await a.acquireLeader(1, 2))?.epoch).toBe(2);
    expect(a.lastRenewedAt()!).toBeGreaterThanOrEqual(healedAt - 50);
  }, 20_000);

  it('every call kind fails with CoordinationUnavailableError within the deadline when etcd is silent', async () => {
    const cluster = uniqueCluster('deadline');
    const proxy = await TcpProxy.start(etcd.endpoints[0]!);
    proxies.push(proxy);
    const c = coordination([proxy.endpoint], { leaseTtlSeconds: 2, callTimeoutMs: CALL_MS });
    opened.push(c);
    const s = c.session(cluster, 'siteA');
    await s.start();
    await s.acquireLeader(0, 1);
    proxy.blackhole();

    const fresh = c.session(cluster, 'siteB'); // its first call must grant a lease: also bounded
    const calls: Record<string, () => Promise<unknown>> = {
      renew: () => s.renew(),
      read: () => s.read(),
      publishReport: () => s.publishReport(report('siteA', 1)),
      acquireLeader: () => s.acquireLeader(1, 2),
      releaseLeader: () => s.releaseLeader(1),
      writeSync: () => s.writeSync(1, []),
      stampPrimary: () => s.stampPrimary(1, 5),
      completeIntent: () => s.completeIntent('x'),
      startGrant: () => fresh.start(),
      coordinationRead: () => c.read(cluster),
      addIntent: () => c.addIntent(cluster, { kind: 'fence', id: 'f', site: 'siteA', epoch: 1 }),
      deleteCluster: () => c.deleteCluster(cluster),
    };
    const results = await Promise.all(
      Object.entries(calls).map(async ([name, fn]) => ({ name, r: await settleTimed(fn) })),
    );
    for (const { name, r } of results) {
      expect(r.ok, name).toBe(false);
      if (!r.ok) {
        expect(r.error, name).toBeInstanceOf(CoordinationUnavailableError);
        // Generous bound: the deadline plus scheduling slack, far below "hangs forever".
        expect(r.ms, name).toBeLessThan(CALL_MS + 1500);
      }
    }
    await proxy.heal();
  }, 20_000);

  it('a cut proxy (connection refused) fails fast and the session recovers its lease after healing', async () => {
    const cluster = uniqueCluster('refused');
    const proxy = await TcpProxy.start(etcd.endpoints[0]!);
    proxies.push(proxy);
    const c = coordination([proxy.endpoint], { leaseTtlSeconds: 3, callTimeoutMs: CALL_MS });
    opened.push(c);
    const s = c.session(cluster, 'siteA');
    await s.start();
    const rec = await s.acquireLeader(0, 1);
    await proxy.cut();
    const r = await settleTimed(() => s.read());
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toBeInstanceOf(CoordinationUnavailableError);
    await proxy.heal();
    // Back within the TTL: the same lease and the same leader key.
    await until('a renewal after healing', async () => {
      try {
        await s.renew();
        return true;
      } catch {
        return undefined;
      }
    });
    expect((await s.read()).leader).toEqual(rec);
  }, 20_000);
});
