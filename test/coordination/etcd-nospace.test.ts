/**
 * A full etcd backend (its NOSPACE alarm: every write refused until it is compacted, defragmented
 * and disarmed; README, "The etcd needs compaction"), on a real member with a 1-MB quota. What
 * the agents rely on: a refused write is the store being unavailable, never a lost race (the
 * agent would then believe another site holds the key); the leader keeps renewing its lease and
 * can still release the key; reads go on.
 */
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdCoordination } from '../../src/coordination/etcd.js';
import { CoordinationUnavailableError } from '../../src/coordination/port.js';
import { EtcdCluster } from '../../rigs/etcd.js';
import { coordination, report, uniqueCluster } from './helpers.js';

let etcd: EtcdCluster;
let store: EtcdCoordination;

beforeAll(async () => {
  etcd = await EtcdCluster.start({ members: 1, quotaBackendBytes: 1024 * 1024 });
  store = coordination(etcd.endpoints, { leaseTtlSeconds: 5, callTimeoutMs: 2000 });
}, 30_000);

afterAll(async () => {
  await store.close();
  await etcd.stop();
}, 30_000);

/** Writes 64-KB values until etcd refuses one; returns its error. */
async function fill(): Promise<unknown> {
  const raw = new Etcd3({ hosts: [...etcd.endpoints], dialTimeout: 2000 });
  try {
    for (let i = 0; i < 1000; i++) await raw.put(`/fill/${i}`).value('x'.repeat(64 * 1024));
    return null;
  } catch (err) {
    return err;
  } finally {
    raw.close();
  }
}

describe('a full etcd backend (NOSPACE)', () => {
  it('refuses writes as unavailable, keeps reads, renewals and the release', async () => {
    const cluster = uniqueCluster('nospace');
    const a = store.session(cluster, 'siteA', 5);
    const b = store.session(cluster, 'siteB', 5);
    await Promise.all([a.start(), b.start()]);
    expect(await a.acquireLeader(0, 1)).toEqual({ site: 'siteA', epoch: 1, since: 1 });
    await a.publishReport(report('siteA', 1));

    expect(String(await fill())).toContain('database space exceeded');

    // Writes: the store is unavailable, and says why.
    const publish = await a.publishReport(report('siteA', 1)).catch((e: unknown) => e);
    expect(publish).toBeInstanceOf(CoordinationUnavailableError);
    expect(String(publish)).toContain('database space exceeded');
    // Taking the key is not a lost race (null) but an unknown: nothing is believed about the key.
    const race = await b.acquireLeader(1, 2).catch((e: unknown) => e);
    expect(race).toBeInstanceOf(CoordinationUnavailableError);
    // The holder keeps its lease (renewals are not writes) and the key stays its own.
    await a.renew();
    const state = await b.read();
    expect(state.leader).toEqual({ site: 'siteA', epoch: 1, since: 1 });
    expect(state.reports['siteA']?.site).toBe('siteA');
    // A release is a delete: it goes through, and then nobody can take the key.
    await a.releaseLeader(1);
    expect((await b.read()).leader).toBeNull();
    expect(await b.acquireLeader(1, 3).catch((e: unknown) => e)).toBeInstanceOf(CoordinationUnavailableError);
    expect((await a.read()).leader).toBeNull();
  }, 30_000);
});
