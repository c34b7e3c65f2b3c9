/**
 * Failover timings on a real three-member etcd cluster (loopback, tmpfs), printed, not asserted.
 *
 * 1. holder death -> new leader key: a child process holds the leader key (an agent stand-in with
 *    an etcd session); it is SIGKILLed; a standby session reading every `POLL_MS` acquires the key
 *    as soon as it is free. Time from SIGKILL to the standby's successful acquire.
 * 2. partition -> self-fence: a leader session reaches etcd through a TCP proxy that is switched
 *    to blackhole. The agent's rule (src/domain/decide.ts: fence once the lease is unrenewed for
 *    FENCE_AFTER_TTL_FRACTION x TTL) is applied to lastRenewedAt, checked every 10 ms. Time from
 *    the cut to that moment, and the margin until the other site sees the key expire (must be > 0:
 *    no moment with two primaries).
 *
 * Run: npx tsx bench/coordination-failover.ts [runs=5] [ttlSeconds=2]
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EtcdCoordination } from '../src/coordination/etcd.js';
import { FENCE_AFTER_TTL_FRACTION } from '../src/domain/decide.js';
import { EtcdCluster, etcdVersion } from '../rigs/etcd.js';
import { TcpProxy } from '../src/net/tcp-proxy.js';

const RUNS = Number(process.argv[2] ?? 5);
const TTL = Number(process.argv[3] ?? 2);
const POLL_MS = 50;
const PREFIX = '/hanasr-bench';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (xs: number[]) =>
  `median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)}, n=${xs.length})`;

function open(endpoints: string[]): EtcdCoordination {
  return new EtcdCoordination({ endpoints, leaseTtlSeconds: TTL, callTimeoutMs: 400, keyPrefix: PREFIX });
}

async function deathRun(etcd: EtcdCluster, run: number): Promise<number> {
  const cluster = `death-${run}`;
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(new URL('./coordination-holder-child.ts', import.meta.url)),
      etcd.endpoints.join(','),
      cluster,
      String(TTL),
      PREFIX,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', () => reject(new Error('holder exited early')));
    });
    const c = open(etcd.endpoints);
    try {
      const standby = c.session(cluster, 'siteB');
      await standby.start();
      await sleep(TTL * 1000); // steady state: the holder renews for a while
      const killedAt = performance.now();
      child.kill('SIGKILL');
      for (;;) {
        const s = await standby.read().catch(() => null);
        if (s && s.leader === null) {
          const won = await standby.acquireLeader(s.lastEpoch, Date.now()).catch(() => null);
          if (won) return performance.now() - killedAt;
        }
        await sleep(POLL_MS);
      }
    } finally {
      await c.close();
    }
  } finally {
    child.kill('SIGKILL');
  }
}

async function partitionRun(etcd: EtcdCluster, run: number): Promise<{ fence: number; expire: number }> {
  const cluster = `partition-${run}`;
  const proxy = await TcpProxy.start(etcd.endpoints[0]!);
  const ca = open([proxy.endpoint]);
  const cb = open(etcd.endpoints);
  try {
    const a = ca.session(cluster, 'siteA');
    const b = cb.session(cluster, 'siteB');
    await Promise.all([a.start(), b.start()]);
    await a.acquireLeader(0, Date.now());
    await sleep(TTL * 1000);
    const fenceAfter = TTL * 1000 * FENCE_AFTER_TTL_FRACTION;
    proxy.blackhole();
    const cutAt = Date.now();
    let fencedAt: number | null = null;
    let expiredAt: number | null = null;
    const watchFence = (async () => {
      while (fencedAt === null) {
        const r = a.lastRenewedAt();
        if (r !== null && Date.now() - r >= fenceAfter) fencedAt = Date.now();
        else await sleep(10);
      }
    })();
    while (expiredAt === null) {
      const s = await b.read().catch(() => null);
      if (s && s.leader === null) expiredAt = Date.now();
      else await sleep(10);
    }
    await watchFence;
    return { fence: fencedAt! - cutAt, expire: expiredAt - cutAt };
  } finally {
    await proxy.close();
    await Promise.allSettled([ca.close(), cb.close()]);
  }
}

const etcd = await EtcdCluster.start({ members: 3 });
try {
  console.log(`${etcdVersion()}, 3 members on loopback, --heartbeat-interval 50 --election-timeout 250`);
  console.log(
    `lease TTL ${TTL} s, keepalive every ${Math.floor((TTL * 1000) / 3)} ms, standby poll ${POLL_MS} ms, ${RUNS} runs`,
  );
  const deaths: number[] = [];
  for (let i = 0; i < RUNS; i++) deaths.push(await deathRun(etcd, i));
  console.log(`holder SIGKILL -> new leader key: ${fmt(deaths)}`);
  const fences: number[] = [];
  const expiries: number[] = [];
  const margins: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await partitionRun(etcd, i);
    fences.push(r.fence);
    expiries.push(r.expire);
    margins.push(r.expire - r.fence);
  }
  console.log(`partition -> self-fence (rule: ${FENCE_AFTER_TTL_FRACTION} x TTL unrenewed): ${fmt(fences)}`);
  console.log(`partition -> other site sees the key expire: ${fmt(expiries)}`);
  console.log(
    `self-fence before expiry by: ${fmt(margins)}${Math.min(...margins) > 0 ? '' : '  <-- OVERLAP'}`,
  );
} finally {
  await etcd.stop();
}
