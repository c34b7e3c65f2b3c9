/**
 * The coordination port on one real etcd member: compare-and-set on the leader key, epochs as
 * fencing tokens, lease-bound reports, records that outlive leases.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdCoordination } from '../../src/coordination/etcd.js';
import { NotLeaderError, StaleEpochError } from '../../src/coordination/port.js';
import type { SyncRecord } from '../../src/domain/types.js';
import { EtcdCluster, processExists } from '../../rigs/etcd.js';
import { TcpProxy } from '../../src/net/tcp-proxy.js';
import { coordination, report, uniqueCluster, until } from './helpers.js';

let etcd: EtcdCluster;
const opened: EtcdCoordination[] = [];
const proxies: TcpProxy[] = [];

function open(endpoints: readonly string[] = etcd.endpoints, ttl = 2): EtcdCoordination {
  const c = coordination(endpoints, { leaseTtlSeconds: ttl });
  opened.push(c);
  return c;
}

beforeAll(async () => {
  etcd = await EtcdCluster.start({ members: 1 });
}, 30_000);

afterAll(async () => {
  await Promise.allSettled(opened.map((c) => c.close()));
  await Promise.allSettled(proxies.map((p) => p.close()));
  await etcd.stop();
}, 30_000);

const sync = (site: string, epoch: number): SyncRecord => ({
  site,
  state: 'SOK',
  confirmedAt: 1,
  epoch,
  mode: 'sync',
  lagSeconds: 0,
  lagBytes: 0,
});

describe('leader key on etcd', () => {
  it('two sessions race for the free key: exactly one wins and the epoch grows by one', async () => {
    const cluster = uniqueCluster('race');
    const c1 = open();
    const c2 = open();
    const a = c1.session(cluster, 'siteA', 2);
    const b = c2.session(cluster, 'siteB', 2);
    await Promise.all([a.start(), b.start()]);
    for (let round = 0; round < 5; round++) {
      const before = await a.read();
      const [ra, rb] = await Promise.all([
        a.acquireLeader(before.lastEpoch, 1000 + round),
        b.acquireLeader(before.lastEpoch, 1000 + round),
      ]);
      const winners = [ra, rb].filter((r) => r !== null);
      expect(winners).toHaveLength(1);
      const winner = winners[0]!;
      expect(winner.epoch).toBe(before.lastEpoch + 1);
      const after = await b.read();
      expect(after.leader).toEqual(winner);
      expect(after.lastEpoch).toBe(before.lastEpoch + 1);
      expect(after.lastLeader).toBe(winner.site);
      // The loser cannot take the held key even with the right epoch.
      const loser = winner.site === 'siteA' ? b : a;
      expect(await loser.acquireLeader(after.lastEpoch, 0)).toBeNull();
      const holder = winner.site === 'siteA' ? a : b;
      await holder.releaseLeader(winner.epoch);
      expect((await a.read()).leader).toBeNull();
    }
  }, 20_000);

  it('refuses to acquire with a stale expected epoch', async () => {
    const cluster = uniqueCluster('expect');
    const a = open().session(cluster, 'siteA', 2);
    await a.start();
    const first = await a.acquireLeader(0, 1);
    expect(first).toEqual({ site: 'siteA', epoch: 1, since: 1 });
    await a.releaseLeader(1);
    expect(await a.acquireLeader(0, 2)).toBeNull();
    expect(await a.acquireLeader(1, 3)).toEqual({ site: 'siteA', epoch: 2, since: 3 });
  });

  it('lease expiry removes the leader key and the report; the other site takes the next epoch', async () => {
    const cluster = uniqueCluster('expiry');
    const proxy = await TcpProxy.start(etcd.endpoints[0]!);
    proxies.push(proxy);
    const a = open([proxy.endpoint], 1).session(cluster, 'siteA', 1);
    const b = open(etcd.endpoints, 1).session(cluster, 'siteB', 1);
    await Promise.all([a.start(), b.start()]);
    const won = await a.acquireLeader(0, 10);
    expect(won?.epoch).toBe(1);
    await a.publishReport(report('siteA', 1));
    await b.publishReport(report('siteB', 1));
    let state = await b.read();
    expect(state.leader?.site).toBe('siteA');
    expect(Object.keys(state.reports).sort()).toEqual(['siteA', 'siteB']);

    await proxy.cut(); // site A's agent can no longer reach etcd
    state = await until('the leader key to expire', async () => {
      const s = await b.read();
      return s.leader === null ? s : undefined;
    });
    expect(state.reports.siteA).toBeUndefined();
    expect(state.reports.siteB).toBeDefined();
    expect(state.lastEpoch).toBe(1);
    expect(state.lastLeader).toBe('siteA');

    const next = await b.acquireLeader(state.lastEpoch, 20);
    expect(next).toEqual({ site: 'siteB', epoch: 2, since: 20 });

    // Site A comes back: its epoch-1 actions are refused.
    await proxy.heal();
    await expect(a.writeSync(1, [sync('siteB', 1)])).rejects.toBeInstanceOf(StaleEpochError);
    await expect(a.stampPrimary(1, 5)).rejects.toBeInstanceOf(StaleEpochError);
    await expect(a.releaseLeader(1)).rejects.toBeInstanceOf(StaleEpochError);
    expect((await a.read()).leader).toEqual(next);
  }, 20_000);

  it('stale-epoch writes are refused, and only the holder may write at the current epoch', async () => {
    const cluster = uniqueCluster('stale');
    const c = open();
    const a = c.session(cluster, 'siteA', 2);
    const b = open().session(cluster, 'siteB', 2);
    await Promise.all([a.start(), b.start()]);
    const t1 = await a.acquireLeader(0, 1);
    await a.releaseLeader(t1!.epoch);
    const t2 = await b.acquireLeader(1, 2);
    expect(t2?.epoch).toBe(2);

    const stale = await a.writeSync(1, [sync('siteB', 1)]).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(StaleEpochError);
    expect(stale).toMatchObject({ code: 'STALE_EPOCH', expected: 1, actual: 2 });
    await expect(a.stampPrimary(1, 1)).rejects.toBeInstanceOf(StaleEpochError);
    await expect(
      c.addIntent(cluster, { kind: 'fence', id: 'f1', site: 'siteB', epoch: 1 }),
    ).rejects.toBeInstanceOf(StaleEpochError);
    // Right epoch, wrong holder.
    await expect(a.writeSync(2, [sync('siteB', 2)])).rejects.toBeInstanceOf(NotLeaderError);
    await expect(a.stampPrimary(2, 1)).rejects.toBeInstanceOf(NotLeaderError);
    await expect(a.releaseLeader(2)).rejects.toBeInstanceOf(NotLeaderError);
    // The holder at the current epoch may.
    await b.writeSync(2, [sync('siteA', 2)]);
    await b.stampPrimary(2, 1234);
    await c.addIntent(cluster, { kind: 'register', id: 'r1', site: 'siteA', epoch: 2 });
    const state = await a.read();
    expect(state.sync.siteA).toEqual(sync('siteA', 2));
    expect(state.lpt).toEqual({ siteB: 1234 });
    // The epoch of the stamp, written with it; A's refused stamps left none.
    expect(state.lpe).toEqual({ siteB: 2 });
    expect(state.intents).toEqual([{ kind: 'register', id: 'r1', site: 'siteA', epoch: 2 }]);
    expect(state.leader).toEqual(t2);
    // The operator removes an intent (a released fence) without a session; an absent one is fine.
    await c.removeIntent(cluster, 'r1');
    await c.removeIntent(cluster, 'r1');
    expect((await a.read()).intents).toEqual([]);
  });

  it('sync records, last-primary stamps, the epoch and intents survive the lease; the key and report do not', async () => {
    const cluster = uniqueCluster('survive');
    const c = open();
    const a = c.session(cluster, 'siteA', 2);
    await a.start();
    const t = await a.acquireLeader(0, 7);
    await a.publishReport(report('siteA', 1));
    await a.writeSync(1, [sync('siteB', 1)]);
    await a.stampPrimary(1, 4242);
    await c.addIntent(cluster, { kind: 'planned-takeover', id: 'p1', target: 'siteB', epoch: 1 });
    const before = Date.now();
    await a.close(); // revokes the lease: the key goes at once, not after the TTL
    const state = await c.read(cluster);
    expect(Date.now() - before).toBeLessThan(2000);
    expect(state.leader).toBeNull();
    expect(state.reports).toEqual({});
    expect(state.lastEpoch).toBe(t!.epoch);
    expect(state.lastLeader).toBe('siteA');
    expect(state.sync.siteB).toEqual(sync('siteB', 1));
    expect(state.lpt.siteA).toBe(4242);
    expect(state.lpe).toEqual({ siteA: 1 });
    expect(state.intents.map((i) => i.id)).toEqual(['p1']);

    const b = c.session(cluster, 'siteB', 2);
    await b.completeIntent('p1');
    expect((await c.read(cluster)).intents).toEqual([]);
    await c.deleteCluster(cluster);
    expect(await c.read(cluster)).toEqual({
      leader: null,
      lastEpoch: 0,
      reports: {},
      sync: {},
      lpt: {},
      intents: [],
    });
  });

  it('a leader that steps down names its successor; the successor clears the handover', async () => {
    const cluster = uniqueCluster('handover');
    const a = open().session(cluster, 'siteA', 2);
    const b = open().session(cluster, 'siteB', 2);
    await Promise.all([a.start(), b.start()]);
    await a.acquireLeader(0, 1);
    await a.releaseLeader(1, 'siteB');
    const s = await b.read();
    expect(s.leader).toBeNull();
    expect(s.handoverTo).toBe('siteB');
    await b.acquireLeader(s.lastEpoch, 2);
    expect((await b.read()).handoverTo).toBeUndefined();
  });

  it('a handover that cannot complete is won over only by naming its site (compare-and-set)', async () => {
    const cluster = uniqueCluster('handover-supersede');
    const a = open().session(cluster, 'siteA', 2);
    const c = open().session(cluster, 'siteC', 2);
    await Promise.all([a.start(), c.start()]);
    await a.acquireLeader(0, 1);
    await a.releaseLeader(1, 'siteB');
    expect(await c.acquireLeader(1, 2)).toBeNull();
    expect(await c.acquireLeader(1, 2, 'siteD')).toBeNull();
    expect((await c.read()).handoverTo).toBe('siteB');
    expect(await c.acquireLeader(1, 2, 'siteB')).toMatchObject({ site: 'siteC', epoch: 2 });
    const s = await a.read();
    expect(s.handoverTo).toBeUndefined();
    expect(s.leader).toMatchObject({ site: 'siteC', epoch: 2 });
    await expect(c.acquireLeader(2, 3, 'bad name;')).rejects.toThrow();
  });

  it('keeps the lease alive and reports renewals on the clock', async () => {
    const cluster = uniqueCluster('renew');
    const a = open([...etcd.endpoints], 1).session(cluster, 'siteA', 1);
    expect(a.lastRenewedAt()).toBeNull();
    await a.start();
    const t0 = a.lastRenewedAt()!;
    await a.acquireLeader(0, 1);
    // Three TTLs later the key is still there: the keepalive loop runs on its own.
    await new Promise((r) => setTimeout(r, 3000));
    expect((await a.read()).leader?.site).toBe('siteA');
    expect(a.lastRenewedAt()!).toBeGreaterThan(t0);
    const before = a.lastRenewedAt()!;
    await a.renew();
    expect(a.lastRenewedAt()!).toBeGreaterThanOrEqual(before);
  }, 10_000);

  it('rejects names that would escape the key layout', () => {
    const c = open();
    expect(() => c.session('a/b', 'siteA')).toThrow(RangeError);
    expect(() => c.session('ok', '../x')).toThrow(RangeError);
  });

  it('the harness kills its etcd processes on stop', async () => {
    const other = await EtcdCluster.start({ members: 1 });
    const pid = other.member(0).pid!;
    expect(processExists(pid)).toBe(true);
    await other.stop();
    expect(processExists(pid)).toBe(false);
  }, 20_000);
});

describe('backup record on etcd', () => {
  it('only the holder of the leader key at its epoch writes it; the new leader overwrites it', async () => {
    const cluster = uniqueCluster('backup');
    const c = open();
    const a = c.session(cluster, 'siteA', 2);
    const b = c.session(cluster, 'siteB', 2);
    await Promise.all([a.start(), b.start()]);
    const rec = await a.acquireLeader(0, 1);
    expect(rec?.epoch).toBe(1);
    const state = {
      runs: [
        {
          id: 's-1',
          kind: 'scheduled' as const,
          slot: 1,
          attempt: 1,
          site: 'siteA',
          epoch: 1,
          state: 'running' as const,
          startedAt: 2,
          message: 'x',
        },
      ],
    };
    await c.writeBackup(cluster, 'siteA', 1, state);
    expect((await c.read(cluster)).backup).toEqual(state);
    await expect(c.writeBackup(cluster, 'siteB', 1, { runs: [] })).rejects.toBeInstanceOf(NotLeaderError);
    await expect(c.writeBackup(cluster, 'siteA', 0, { runs: [] })).rejects.toBeInstanceOf(StaleEpochError);
    // The term ends (A's key released), B wins epoch 2: A's late write is refused, B's goes through.
    await a.releaseLeader(1);
    expect((await b.acquireLeader(1, 3))?.epoch).toBe(2);
    await expect(c.writeBackup(cluster, 'siteA', 1, { runs: [] })).rejects.toBeInstanceOf(StaleEpochError);
    await c.writeBackup(cluster, 'siteB', 2, { runs: [] });
    expect((await c.read(cluster)).backup).toEqual({ runs: [] });
    // The record outlives the leases.
    await a.close();
    await b.close();
    expect((await c.read(cluster)).backup).toEqual({ runs: [] });
  });
});
