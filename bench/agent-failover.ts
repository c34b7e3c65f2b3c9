/**
 * Agent-level failover timings on a real three-member etcd cluster (loopback, tmpfs), printed,
 * not asserted. The rig of test/coordination/agent-failover.test.ts: site A's agent is a real
 * child process (real Agent, EtcdCoordination, simulated HANA through an HTTP bridge), site B's
 * agent runs here; lease TTL 2 s, probes every 0.5 s (timeout 0.4 s), failureThreshold 2.
 *
 * 1. agent death -> B holds the key: A's agent is SIGKILLed and its node crashes; time from the
 *    kill until etcd confirmed B's leader key (and until B accepts writes).
 * 2. partition -> A fenced: A's etcd traffic is blackholed and A is isolated from B; time from the
 *    cut until A's agent stopped its HANA, until B holds the key, and the margin between the two
 *    (must be > 0: no moment with two writers).
 *
 * Run: npx tsx bench/agent-failover.ts [runs=5]
 */
import { EtcdCluster, etcdVersion } from '../rigs/etcd.js';
import { sampleWritable, SPEC, startRig, until } from '../rigs/agent-rig.js';

const RUNS = Number(process.argv[2] ?? 5);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (xs: number[]) =>
  `median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)}, n=${xs.length})`;

async function deathRun(etcd: EtcdCluster, run: number): Promise<{ held: number; writable: number }> {
  const rig = await startRig(etcd, { cluster: `bench-death-${process.pid}-${run}`, seed: 100 + run });
  try {
    await rig.steady();
    const killedAt = Date.now();
    await rig.childA.kill();
    rig.landscape.crashNode('A');
    const held = await until('B to hold the key', () => rig.bHeldAt ?? undefined, 20_000, 5);
    const writable = await until(
      'B to accept writes',
      () => (rig.landscape.acceptsWrites('B') ? Date.now() : undefined),
      10_000,
      5,
    );
    return { held: held - killedAt, writable: writable - killedAt };
  } finally {
    await rig.close();
  }
}

async function partitionRun(
  etcd: EtcdCluster,
  run: number,
): Promise<{ fence: number; held: number; margin: number; maxWriters: number }> {
  const rig = await startRig(etcd, {
    cluster: `bench-partition-${process.pid}-${run}`,
    proxied: true,
    seed: 200 + run,
  });
  try {
    await rig.steady();
    const sampler = sampleWritable(rig.landscape);
    const cutAt = Date.now();
    for (const p of rig.proxies) p.blackhole();
    rig.landscape.isolateSite('A');
    const held = await until('B to hold the key', () => rig.bHeldAt ?? undefined, 20_000, 5);
    const fencedAt = await until(
      'A to stop its HANA',
      () => rig.bridge.calls.find((c) => c.site === 'A' && c.op === 'stop')?.t,
      5_000,
      5,
    );
    await until('B to accept writes', () => (rig.landscape.acceptsWrites('B') ? true : undefined), 10_000);
    const samples = sampler.stop();
    return {
      fence: fencedAt - cutAt,
      held: held - cutAt,
      margin: (rig.bAcquiredAt ?? held) - fencedAt,
      maxWriters: Math.max(...samples.map((s) => s.sites.length)),
    };
  } finally {
    await rig.close();
  }
}

const etcd = await EtcdCluster.start({ members: 3 });
try {
  console.log(`${etcdVersion()}, 3 members on loopback, --heartbeat-interval 50 --election-timeout 250`);
  console.log(
    `lease TTL ${SPEC.lease.ttlSeconds} s, probes every ${SPEC.probes.intervalSeconds} s (timeout ${SPEC.probes.timeoutSeconds} s), failureThreshold ${SPEC.takeover.failureThreshold}, ${RUNS} runs`,
  );
  const held: number[] = [];
  const writable: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await deathRun(etcd, i);
    held.push(r.held);
    writable.push(r.writable);
  }
  console.log(`agent SIGKILL + node crash -> B holds the leader key: ${fmt(held)}`);
  console.log(`agent SIGKILL + node crash -> B accepts writes:       ${fmt(writable)}`);
  const fences: number[] = [];
  const heldP: number[] = [];
  const margins: number[] = [];
  let maxWriters = 0;
  for (let i = 0; i < RUNS; i++) {
    const r = await partitionRun(etcd, i);
    fences.push(r.fence);
    heldP.push(r.held);
    margins.push(r.margin);
    maxWriters = Math.max(maxWriters, r.maxWriters);
  }
  console.log(`partition -> A fenced (HANA stopped by its agent):   ${fmt(fences)}`);
  console.log(`partition -> B holds the leader key:                 ${fmt(heldP)}`);
  console.log(
    `A fenced before B's acquisition by: ${fmt(margins)}${Math.min(...margins) > 0 ? '' : '  <-- OVERLAP'}`,
  );
  console.log(`most sites taking writes at once (sampled every 50 ms): ${maxWriters}`);
} finally {
  await etcd.stop();
}
