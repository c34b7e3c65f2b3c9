/**
 * One operator and one etcd for many HSR clusters. For each N (default 10, 100, 1000): one etcd
 * member, the embedded Kubernetes API (it counts its requests), N HanaSystemReplication resources,
 * the agents of the 2N simulated sites, up to `--clusters-per-agent-process` (250) clusters to a
 * process (bench/scale-agents.ts: each site its own session and lease) and `hanasr operator` (the built CLI) in its own process. Once every cluster
 * has a primary in its status, over a window of `--window` seconds: the operator's CPU (share of
 * one core) and peak RSS, etcd's requests per second (gRPC calls handled) and its keys, the
 * Kubernetes API requests per second; then the time from a change in HANA (site B of a sample of
 * clusters crashes) to the status showing it (p50/p99). Printed and written to
 * bench/results/scale.json (+ .txt).
 *
 * Run: npx tsx bench/scale.ts [--sizes 10,100,1000] [--window 30] [--samples 20] [--settle-seconds 300]
 *   [--clusters-per-agent-process 250] [--settle-fraction 1]
 * While clusters settle, a line every 15 s on stderr says where the time goes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { startFakeApiServer, type FakeApiServer } from '../src/standins/kube-api/index.js';
import { EtcdCoordination } from '../src/coordination/etcd.js';
import { EtcdCluster, etcdVersion, freePort } from '../rigs/etcd.js';
import { createHsr, installHsrCrd } from '../rigs/kube.js';
import { TWO_SITES } from '../rigs/spec.js';
import { parseSpec } from '../src/api/spec.js';
import { cpuAndRss, load, machine, pct, type Stat } from './lib/stats.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const SIZES = flag('--sizes', '10,100,1000').split(',').map(Number);
const WINDOW = Number(flag('--window', '30'));
const SAMPLES = Number(flag('--samples', '20'));
/** How long the clusters may take to settle before the size is given up. */
const SETTLE_SECONDS = Number(flag('--settle-seconds', '300'));
/**
 * Clusters whose agents share one process. One Node.js thread for the 2,000 agents of 1,000
 * clusters fell behind (their lease keepalives arrived late and etcd expired about 35 leases a
 * second, so leaders and reports kept vanishing); on real hosts each agent has its own.
 */
/**
 * The share of clusters that must show their primary before the figures are taken (default 1:
 * all). Below 1 the sampled changes are drawn from the clusters that had settled; the figures then
 * say so (`settledClusters`).
 */
const SETTLE_FRACTION = Number(flag('--settle-fraction', '1'));
const CLUSTERS_PER_AGENT_PROCESS = Number(flag('--clusters-per-agent-process', '250'));
const NAMESPACE = 'scale';
/** The agents' probe interval: bench/scale-agents.ts runs them at the spec's default. */
const INTERVAL_MS = parseSpec({ ...TWO_SITES, sites: [...TWO_SITES.sites] }).probes.intervalSeconds * 1000;
const PREFIX = '/hanasr-scale';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Sum of a counter (all label sets) and a gauge from etcd's /metrics. */
async function etcdMetrics(endpoint: string): Promise<{
  grpcHandled: number;
  keys: number;
  leasesExpired: number;
  puts: number;
  dbBytes: number;
  quotaBytes: number;
}> {
  const text = await (await fetch(`${endpoint}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  let grpcHandled = 0;
  let keys = 0;
  let leasesExpired = 0;
  let puts = 0;
  let dbBytes = 0;
  let quotaBytes = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('etcd_mvcc_put_total ')) puts = Number(line.split(' ').pop());
    if (line.startsWith('etcd_mvcc_db_total_size_in_bytes ')) dbBytes = Number(line.split(' ').pop());
    if (line.startsWith('etcd_server_quota_backend_bytes ')) quotaBytes = Number(line.split(' ').pop());
    if (line.startsWith('etcd_debugging_server_lease_expired_total '))
      leasesExpired = Number(line.split(' ').pop());
    if (line.startsWith('grpc_server_handled_total{')) grpcHandled += Number(line.split(' ').pop());
    if (line.startsWith('etcd_debugging_mvcc_keys_total ')) keys = Number(line.split(' ').pop());
  }
  return { grpcHandled, keys, leasesExpired, puts, dbBytes, quotaBytes };
}

/** The operator's reconciles so far (count and total seconds over every cluster) from its /metrics. */
async function reconcileMetrics(port: number): Promise<{ count: number; sum: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let count = 0;
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('hanasr_reconcile_duration_seconds_count{')) count += Number(line.split(' ').pop());
    if (line.startsWith('hanasr_reconcile_duration_seconds_sum{')) sum += Number(line.split(' ').pop());
  }
  return { count, sum };
}

interface SizeResult {
  readonly clusters: number;
  /** Clusters showing their primary when the measurement started. */
  readonly settledClusters: number;
  readonly settleSeconds: number;
  readonly operatorCpuCores: number;
  readonly operatorPeakRssMB: number;
  readonly etcdRequestsPerSecond: number;
  readonly etcdKeys: number;
  readonly kubeRequestsPerSecond: number;
  readonly statusLatencyMs: Stat;
  /** The two parts of it: the change to B's report in the store, and that report to the status. */
  readonly storeLatencyMs: Stat;
  readonly operatorLatencyMs: Stat;
  readonly agentsCpuCores: number;
  /** etcd's puts a second over the window (reports, sync records, stamps), and its backend at the end (MB). */
  readonly etcdPutsPerSecond: number;
  readonly etcdBackendMB: number;
  /** Sampled clusters left out: B did not show running within 10 s before the change. */
  readonly samplesSkipped: number;
}

async function oneSize(n: number): Promise<SizeResult> {
  // etcd's own defaults for the quota (2 GB) and kube-apiserver's compaction period (5 min): with
  // neither (the test rig's 64 MB, no compaction) 1,000 clusters' reports filled the backend in
  // about two minutes and etcd refused every write after (NOSPACE), which froze every report.
  const etcd = await EtcdCluster.start({
    members: 1,
    quotaBackendBytes: 2 * 1024 * 1024 * 1024,
    autoCompactionRetention: '5m',
  });
  const api: FakeApiServer = await startFakeApiServer();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hanasr-scale-'));
  const children: ChildProcess[] = [];
  try {
    const kc = api.kubeConfig();
    await installHsrCrd(kc);
    const core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
    const spec = {
      ...TWO_SITES,
      fencing: { watchdog: { mode: 'disabled' } },
    };
    for (let i = 0; i < n; i++) {
      await createHsr(custom, NAMESPACE, `c${i}`, spec);
    }
    const kubeconfig = path.join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'scale', cluster: { server: api.url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'scale', user: { token: 'scale-bench-token' } }],
        contexts: [{ name: 'scale', context: { cluster: 'scale', user: 'scale', namespace: NAMESPACE } }],
        'current-context': 'scale',
      }),
      { mode: 0o600 },
    );

    // The agents: at most CLUSTERS_PER_AGENT_PROCESS clusters per process (as many hosts would).
    const parts = Math.max(1, Math.ceil(n / CLUSTERS_PER_AGENT_PROCESS));
    const agentProcs: ChildProcess[] = [];
    const firstOf: number[] = [];
    const changed = new Map<number, number>();
    const readies: Promise<void>[] = [];
    for (let p = 0; p < parts; p++) {
      const from = Math.floor((p * n) / parts);
      const to = Math.floor(((p + 1) * n) / parts);
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          path.join(root, 'bench/scale-agents.ts'),
          String(n),
          etcd.endpoints.join(','),
          PREFIX,
          NAMESPACE,
          String(from),
          String(to),
        ],
        { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] },
      );
      children.push(child);
      agentProcs.push(child);
      firstOf.push(from);
      readies.push(
        new Promise<void>((ready) =>
          createInterface({ input: child.stdout! }).on('line', (line) => {
            if (line === 'ready') ready();
            const m = /^changed (\d+) (\d+)$/.exec(line);
            if (m) changed.set(Number(m[1]), Number(m[2]));
          }),
        ),
      );
    }
    const agentsReady = Promise.all(readies);
    const agentsCpu = () => agentProcs.reduce((sum, c) => sum + cpuAndRss(c.pid!).cpuSeconds, 0);
    const agentsOf = (i: number) => agentProcs[firstOf.findLastIndex((f) => f <= i)]!;
    const metricsPort = await freePort();
    const operator = spawn(
      process.execPath,
      [
        path.join(root, 'dist/cli/main.js'),
        'operator',
        '--kubeconfig',
        kubeconfig,
        '--etcd-endpoints',
        etcd.endpoints.join(','),
        '--etcd-prefix',
        PREFIX,
        '--watch-namespace',
        NAMESPACE,
        '--metrics-port',
        String(metricsPort),
        '--health-port',
        String(await freePort()),
        '--bind-address',
        '127.0.0.1',
        '--log-level',
        'warn',
      ],
      {
        cwd: root,
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, POD_NAME: 'op-0', POD_NAMESPACE: NAMESPACE },
      },
    );
    children.push(operator);
    const t0 = Date.now();
    await agentsReady;
    // Where the time goes while the clusters settle: every 15 s, each process's share of a core,
    // the requests per second, the operator's reconciles (its own metrics) and how many settled.
    const etcdPid = etcd.members[0]?.pid ?? null;
    let last = {
      at: Date.now(),
      op: cpuAndRss(operator.pid!).cpuSeconds,
      ag: agentsCpu(),
      et: etcdPid !== null ? cpuAndRss(etcdPid).cpuSeconds : 0,
      self: process.cpuUsage(),
      kube: api.requests(),
      ...(await etcdMetrics(etcd.endpoints[0]!).then((e) => ({
        grpc: e.grpcHandled,
        expired: e.leasesExpired,
      }))),
      rec: { count: 0, sum: 0 },
    };
    let done = 0;
    const progress = setInterval(() => {
      void (async () => {
        const at = Date.now();
        const secs = (at - last.at) / 1000;
        const op = cpuAndRss(operator.pid!).cpuSeconds;
        const ag = agentsCpu();
        const et = etcdPid !== null ? cpuAndRss(etcdPid).cpuSeconds : 0;
        const self = process.cpuUsage();
        const kube = api.requests();
        const e = await etcdMetrics(etcd.endpoints[0]!).catch(() => ({
          grpcHandled: NaN,
          leasesExpired: NaN,
          dbBytes: NaN,
        }));
        const grpc = e.grpcHandled;
        const expired = e.leasesExpired;
        const rec = await reconcileMetrics(metricsPort).catch(() => ({ count: NaN, sum: NaN }));
        const selfSecs = (self.user + self.system - last.self.user - last.self.system) / 1e6;
        const r = rec.count - last.rec.count;
        console.error(
          `  [${((at - t0) / 1000).toFixed(0)} s] ${n}-cluster size: settled ${done};` +
            ` cores: operator ${((op - last.op) / secs).toFixed(2)} agents ${((ag - last.ag) / secs).toFixed(2)} etcd ${((et - last.et) / secs).toFixed(2)} bench+api ${(selfSecs / secs).toFixed(2)};` +
            ` kube ${((kube - last.kube) / secs).toFixed(0)}/s etcd ${((grpc - last.grpc) / secs).toFixed(0)}/s, leases expired ${((expired - last.expired) / secs).toFixed(1)}/s, backend ${(e.dbBytes / 1048576).toFixed(0)} MB;` +
            ` reconciles ${(r / secs).toFixed(1)}/s mean ${r > 0 ? (((rec.sum - last.rec.sum) / r) * 1000).toFixed(0) : '-'} ms; load ${os.loadavg()[0]!.toFixed(1)}`,
        );
        last = { at, op, ag, et, self, kube, grpc, expired, rec };
      })();
    }, 15_000);
    // Settled: every resource (or --settle-fraction of them) has a primary in its status.
    let settledNow: number[] = [];
    for (;;) {
      const list = (await custom.listNamespacedCustomObject({
        group: 'hanasr.io',
        version: 'v1alpha1',
        plural: 'hanasystemreplications',
        namespace: NAMESPACE,
      })) as { items: { metadata?: { name?: string }; status?: { currentPrimary?: string } }[] };
      const primaryA = list.items.filter((o) => o.status?.currentPrimary === 'A');
      done = primaryA.length;
      settledNow = primaryA.map((o) => Number(o.metadata?.name?.slice(1))).sort((a, b) => a - b);
      if (done >= Math.ceil(SETTLE_FRACTION * n)) break;
      if (Date.now() - t0 > SETTLE_SECONDS * 1000) {
        clearInterval(progress);
        throw new Error(`only ${done} of ${n} clusters settled in ${SETTLE_SECONDS} s`);
      }
      // A list of every resource is work for the API in this process: not more often than needed.
      await sleep(n >= 500 ? 5000 : 1000);
    }
    clearInterval(progress);
    const settleSeconds = (Date.now() - t0) / 1000;
    await sleep(5000);

    const op0 = cpuAndRss(operator.pid!);
    const ag0 = agentsCpu();
    const e0 = await etcdMetrics(etcd.endpoints[0]!);
    const k0 = api.requests();
    const w0 = Date.now();
    await sleep(WINDOW * 1000);
    const secs = (Date.now() - w0) / 1000;
    const op1 = cpuAndRss(operator.pid!);
    const ag1 = agentsCpu();
    const e1 = await etcdMetrics(etcd.endpoints[0]!);
    const k1 = api.requests();

    // A change in HANA to the status: site B of a sample of clusters crashes.
    // Spread over the clusters that had settled (all of them unless --settle-fraction < 1).
    const pool = settledNow.length > 0 ? settledNow : Array.from({ length: n }, (_, i) => i);
    const sample = Array.from(
      { length: Math.min(SAMPLES, pool.length) },
      (_, k) => pool[Math.floor((k * pool.length) / Math.min(SAMPLES, pool.length))]!,
    );
    const latencies: number[] = [];
    const storeParts: number[] = [];
    const operatorParts: number[] = [];
    // When B's report saying it is not running reaches the store (one watch over every cluster).
    const reported = new Map<number, number>();
    const watcher = new EtcdCoordination({
      endpoints: etcd.endpoints,
      keyPrefix: PREFIX,
      callTimeoutMs: 5000,
    });
    const storeWatch = await watcher.watchClusters(
      {
        onChange: (c) => {
          const m = /\.c(\d+)$/.exec(c.cluster);
          const health = (c.report as { health?: { running?: boolean } } | undefined)?.health;
          if (m && c.what === 'report' && c.site === 'B' && health?.running === false) {
            const i = Number(m[1]);
            if (!reported.has(i)) reported.set(i, Date.now());
          }
        },
        onBroken: () => {},
      },
      AbortSignal.timeout(5000),
    );
    const siteB = async (i: number) => {
      const o = (await custom.getNamespacedCustomObject({
        group: 'hanasr.io',
        version: 'v1alpha1',
        plural: 'hanasystemreplications',
        namespace: NAMESPACE,
        name: `c${i}`,
      })) as { status?: { sites?: { name: string; hanaStatus?: string }[] } };
      return o.status?.sites?.find((s) => s.name === 'B');
    };
    let skipped = 0;
    for (const i of sample) {
      // Only a change the status can show: B must show running first (a cluster whose lease ran
      // out shows B unknown, and would count as changed at once).
      const before = Date.now();
      while ((await siteB(i))?.hanaStatus !== 'running' && Date.now() - before < 10_000) await sleep(200);
      if ((await siteB(i))?.hanaStatus !== 'running') {
        skipped++;
        continue;
      }
      // At a random phase of B's probe cycle: right after the previous sample's status showed up,
      // the next sampled cluster's agent (started a fixed share of an interval after the last
      // one's) was always at the same point of its cycle, and every sample measured one phase.
      await sleep(Math.random() * INTERVAL_MS);
      agentsOf(i).stdin!.write(`change ${i}\n`);
      const seen = Date.now();
      for (;;) {
        const o = (await custom.getNamespacedCustomObject({
          group: 'hanasr.io',
          version: 'v1alpha1',
          plural: 'hanasystemreplications',
          namespace: NAMESPACE,
          name: `c${i}`,
        })) as { status?: { sites?: { name: string; hanaStatus?: string }[] } };
        const b = o.status?.sites?.find((s) => s.name === 'B');
        if (b !== undefined && b.hanaStatus !== 'running' && changed.has(i)) {
          const t = Date.now();
          latencies.push(t - changed.get(i)!);
          const r = reported.get(i);
          if (r !== undefined) {
            storeParts.push(r - changed.get(i)!);
            operatorParts.push(t - r);
          }
          break;
        }
        if (Date.now() - seen > 60_000) break;
        await sleep(20);
      }
    }
    storeWatch.close();
    await watcher.close();
    const e2 = await etcdMetrics(etcd.endpoints[0]!);
    // A full backend refuses every write (NOSPACE): reports stop, and no figure above means anything.
    if (e2.quotaBytes > 0 && e2.dbBytes >= e2.quotaBytes)
      throw new Error(
        `etcd's backend reached its quota (${e2.dbBytes} of ${e2.quotaBytes} bytes): writes refused`,
      );
    return {
      etcdPutsPerSecond: (e1.puts - e0.puts) / secs,
      etcdBackendMB: e2.dbBytes / 1048576,
      clusters: n,
      settledClusters: settledNow.length,
      settleSeconds,
      operatorCpuCores: (op1.cpuSeconds - op0.cpuSeconds) / secs,
      operatorPeakRssMB: op1.peakRssMB,
      etcdRequestsPerSecond: (e1.grpcHandled - e0.grpcHandled) / secs,
      etcdKeys: e1.keys,
      kubeRequestsPerSecond: (k1 - k0) / secs,
      statusLatencyMs: pct(latencies),
      storeLatencyMs: pct(storeParts),
      operatorLatencyMs: pct(operatorParts),
      agentsCpuCores: (ag1 - ag0) / secs,
      samplesSkipped: skipped,
    };
  } finally {
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null) {
        if (c.stdin) c.stdin.write('stop\n');
        await sleep(500);
        if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      }
    }
    await api.close();
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const out: string[] = [];
const say = (line = '') => {
  out.push(line);
  console.log(line);
};
const m = machine();
say(`hanasr scale bench, ${new Date().toISOString()}`);
say(
  `machine: ${m.cpus} x ${m.cpuModel}, Node ${process.version}; ${etcdVersion()}, 1 member; load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
say(`window ${WINDOW} s, ${SAMPLES} sampled changes per size; defaults (interval 2 s, resync 10 s)`);
const results: SizeResult[] = [];
for (const n of SIZES) {
  try {
    results.push(await oneSize(n));
  } catch (err) {
    say(`  ${n} clusters failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}
say('');
say(
  'clusters  settle s  operator CPU (cores)  operator peak RSS MB  etcd req/s  etcd puts/s  etcd keys  etcd backend MB  kube req/s  status p50/p99 ms  agents CPU (cores)',
);
for (const r of results)
  say(
    `${String(r.clusters).padEnd(9)} ${r.settleSeconds.toFixed(0).padEnd(9)} ${r.operatorCpuCores.toFixed(3).padEnd(21)} ${r.operatorPeakRssMB.toFixed(0).padEnd(21)} ${r.etcdRequestsPerSecond.toFixed(0).padEnd(11)} ${r.etcdPutsPerSecond.toFixed(0).padEnd(12)} ${String(r.etcdKeys).padEnd(10)} ${r.etcdBackendMB.toFixed(0).padEnd(16)} ${r.kubeRequestsPerSecond.toFixed(1).padEnd(11)} ${`${r.statusLatencyMs.median.toFixed(0)}/${r.statusLatencyMs.p99.toFixed(0)}`.padEnd(18)} ${r.agentsCpuCores.toFixed(2)}`,
  );
for (const r of results)
  if (r.samplesSkipped > 0)
    say(
      `  ${r.clusters}: ${r.samplesSkipped} sampled clusters left out (B not running in the status before the change)`,
    );
for (const r of results)
  if (r.settledClusters < r.clusters)
    say(
      `  ${r.clusters}: measured with ${r.settledClusters} of ${r.clusters} clusters showing their primary (--settle-fraction); the sampled changes come from those`,
    );
say('');
say(
  "HANA change -> status, in two parts (p50/p99 ms): change -> B's report in the store, that report -> status",
);
for (const r of results)
  say(
    `${String(r.clusters).padEnd(9)} ${`${r.storeLatencyMs.median.toFixed(0)}/${r.storeLatencyMs.p99.toFixed(0)}`.padEnd(12)} ${r.operatorLatencyMs.median.toFixed(0)}/${r.operatorLatencyMs.p99.toFixed(0)}`,
  );
const big = results.find((r) => r.clusters === 1000);
if (big)
  say(
    `1,000 clusters: operator ${big.operatorCpuCores.toFixed(2)} cores (target < 0.5), ${big.operatorPeakRssMB.toFixed(0)} MB (target < 512), status p99 ${big.statusLatencyMs.p99.toFixed(0)} ms (target < 2000)`,
  );
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('./results/scale.json', import.meta.url),
  JSON.stringify({ machine: m, loadAverageAfter: load(), results }, null, 2) + '\n',
);
writeFileSync(new URL('./results/scale.txt', import.meta.url), out.join('\n') + '\n');
