/**
 * Agent-level failover on a real three-member etcd cluster (issue 4, "Tests against real etcd"):
 * site A's agent is a real child process (the real Agent with EtcdCoordination, its simulated HANA
 * reached through an HTTP bridge served here); site B's agent runs in this process. Timings: lease
 * TTL 2 s, probes every 0.5 s (timeout 0.4 s), failureThreshold 2.
 *
 * 1. A SIGKILLed primary agent on a crashed node is replaced: B acquires the leader key after A's
 *    lease runs out, within TTL + one probe interval (+ slack), and then promotes B.
 * 2. A partitioned primary (its etcd traffic blackholed, its site isolated from B) fences itself
 *    before B acquires the key; at no sampled moment (every 50 ms) do both sites take writes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EtcdCluster, liveEtcdPids, processExists } from '../../rigs/etcd.js';
import { sampleWritable, SPEC, startRig, until, type Rig } from '../../rigs/agent-rig.js';

const TTL_MS = SPEC.lease.ttlSeconds * 1000;
const INTERVAL_MS = SPEC.probes.intervalSeconds * 1000;
/** Scheduling slack on a loaded two-core machine: the order is asserted exactly, time generously. */
const SLACK_MS = 2500;

let etcd: EtcdCluster;
const rigs: Rig[] = [];
const childPids: number[] = [];
let seq = 0;
const nextCluster = (tag: string) => `${tag}-${process.pid}-${++seq}`;

beforeAll(async () => {
  etcd = await EtcdCluster.start({ members: 3 });
}, 60_000);

afterEach(async () => {
  for (const rig of rigs.splice(0)) {
    if (rig.childA.pid !== undefined) childPids.push(rig.childA.pid);
    await rig.close();
  }
}, 30_000);

afterAll(async () => {
  await etcd?.stop();
  // Every agent child and etcd member this file started is gone.
  expect(childPids.filter(processExists)).toEqual([]);
  expect(liveEtcdPids()).toEqual([]);
}, 30_000);

describe('agent failover on real etcd (3 members)', () => {
  it('a SIGKILLed primary agent on a crashed node is replaced within TTL + one probe interval', async () => {
    const rig = await startRig(etcd, { cluster: nextCluster('agent-death'), seed: 3 });
    rigs.push(rig);
    await rig.steady();
    expect(rig.landscape.writableSites()).toEqual(['A']);
    const sampler = sampleWritable(rig.landscape);

    // Node crash: the agent process dies without a goodbye and HANA dies with its node.
    const killedAt = Date.now();
    await rig.childA.kill();
    rig.landscape.crashNode('A');

    const acquiredAt = await until('B to acquire the leader key', () => rig.bAcquiredAt ?? undefined, 15_000);
    await until('B to accept writes', () => (rig.landscape.acceptsWrites('B') ? true : undefined), 10_000);
    const samples = sampler.stop();

    // B waited for A's lease to run out (A renewed it at most ~TTL/3 before the kill) ...
    expect(acquiredAt - killedAt).toBeGreaterThan(TTL_MS / 2);
    // ... and took the key within TTL + one probe interval, plus slack.
    expect(acquiredAt - killedAt).toBeLessThan(TTL_MS + INTERVAL_MS + SLACK_MS);
    expect(rig.bAcquired).toMatchObject({ site: 'B', epoch: 2 });
    const state = await rig.observer.read(rig.cluster);
    expect(state.leader).toMatchObject({ site: 'B', epoch: 2 });

    // Key first, then the promotion, with no other writer at that moment.
    expect(rig.takeoverCalls).toHaveLength(1);
    expect(rig.takeoverCalls[0]!.t).toBeGreaterThanOrEqual(acquiredAt);
    expect(rig.takeoverCalls[0]!.writableAtCall).toEqual([]);
    const promoted = rig.eventsB.find((e) => e.event === 'action' && e.action === 'takeover');
    expect(promoted?.reason).toBe('takeover_done');
    expect(rig.landscape.writableSites()).toEqual(['B']);
    expect(samples.every((s) => s.sites.length <= 1)).toBe(true);
  }, 60_000);

  it('a partitioned primary fences itself before the other site takes the key: never two writers', async () => {
    const rig = await startRig(etcd, { cluster: nextCluster('agent-partition'), proxied: true, seed: 5 });
    rigs.push(rig);
    await rig.steady();
    expect(rig.landscape.writableSites()).toEqual(['A']);
    const sampler = sampleWritable(rig.landscape);

    // A loses etcd (silently: packets vanish) and the sites lose each other.
    const cutAt = Date.now();
    for (const p of rig.proxies) p.blackhole();
    rig.landscape.isolateSite('A');

    const acquiredAt = await until('B to acquire the leader key', () => rig.bAcquiredAt ?? undefined, 20_000);
    await until('B to accept writes', () => (rig.landscape.acceptsWrites('B') ? true : undefined), 10_000);
    const fence = await until(
      "A's agent to report its fence",
      () => rig.childA.find((e) => e.event === 'action' && e.action === 'fence'),
      5_000,
    );
    const samples = sampler.stop();

    // A fenced itself (its HANA was stopped through its own agent) before B got the key.
    const stopA = rig.bridge.calls.find((c) => c.site === 'A' && c.op === 'stop');
    expect(stopA).toBeDefined();
    expect(stopA!.t).toBeGreaterThan(cutAt);
    expect(stopA!.t).toBeLessThan(acquiredAt);
    expect(fence.t).toBeLessThan(acquiredAt);
    expect(fence.reason).toBe('lease_not_renewed');
    expect(rig.landscape.acceptsWrites('A')).toBe(false);
    // It fenced within the TTL of the cut (its rule: 0.7 x TTL after the last renewal).
    expect(stopA!.t - cutAt).toBeLessThan(TTL_MS + SLACK_MS);

    expect(rig.bAcquired).toMatchObject({ site: 'B', epoch: 2 });
    expect(rig.takeoverCalls).toHaveLength(1);
    expect(rig.takeoverCalls[0]!.writableAtCall).toEqual([]);
    expect(rig.landscape.writableSites()).toEqual(['B']);

    // Never two writers at any sampled moment; A was writable before the cut and B after.
    expect(samples.length).toBeGreaterThan(10);
    expect(samples.filter((s) => s.sites.length > 1)).toEqual([]);
    expect(samples[0]!.sites).toEqual(['A']);
    expect(samples.at(-1)!.sites).toEqual(['B']);
  }, 60_000);
});
