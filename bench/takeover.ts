/**
 * Unplanned and planned takeover on real processes (bench/lib/rig.ts): two `hanasr agent`
 * processes, the simulated HANA, a real three-member etcd, the operator with the embedded
 * Kubernetes API. Printed and written to bench/results/takeover.json (+ .txt), never asserted.
 *
 * For an instance crash (the agent stays up) and a node loss (agent SIGKILLed and HANA gone), the
 * time from the fault to (a) the leader key on B, (b) the takeover command B's agent ran, (c) the
 * first write a client got acknowledged by B, (d) the `-rw` Service selecting B; median and p99,
 * and the ratio to the floor (failureThreshold x interval for a crash, the TTL for a node loss).
 * The simulated HANA takeover takes `--takeover-ms` (default 1000) from the command to the first
 * commit it can take, and is reported apart (measured per run); `--replay-ms MIN,MAX` adds the
 * simulator's own log replay after the command (default 0,0; the simulator's default is 800,1500).
 * Then: the longest write gap a client sees through a planned takeover; false takeovers over a
 * blip suite (a probe stall shorter than the threshold, an etcd leader change, a 2 s freeze of the
 * primary, a slow SQL probe); the agents' CPU and RSS at the default interval; the simulator's
 * throughput (schedules per second).
 *
 * Run: npx tsx bench/takeover.ts [--runs 30] [--takeover-ms 1000] [--replay-ms 0,0] [--blips 3] [--blip-kinds K,...] [--probe-timeout S] [--standin node|sh]
 *        [--only crash,node,node-fenced,planned,blips,footprint,sim,patroni] [--patroni-runs 3] [--out takeover]
 *        [--settings defaults,tuned] [--trace]  (--trace: each unplanned run's timeline of HANA commands, decisions, leader key)
 *        [--footprint-starts N]  (the footprint N times: RSS, PSS, private from smaps_rollup, the median)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { ANNOTATION_PLANNED_TAKEOVER } from '../src/api/resource.js';
import { runScenario } from '../src/sim/runner.js';
import { parseScenario } from '../src/sim/scenario.js';
import { EtcdCluster, etcdVersion } from '../rigs/etcd.js';
import {
  Bench,
  DEFAULTS,
  FENCE_DUMMY,
  NAMESPACE,
  Rig,
  sleep,
  TUNED,
  until,
  Writer,
  type Timing,
} from './lib/rig.js';
import { spawn } from 'node:child_process';
import { cpuAndRss, load, machine, pct, smapsRollup, type Stat } from './lib/stats.js';
import { ensurePatroni, patroniBench, patroniLine } from './patroni.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const RUNS = Number(flag('--runs', '30'));
/** Agent footprint: how many times the agents are started and measured (the median is printed). */
const FOOTPRINT_STARTS = Number(flag('--footprint-starts', '1'));
const TAKEOVER_MS = Number(flag('--takeover-ms', '1000'));
/** The simulator's log replay after the takeover command (min,max ms); 0,0: all of it is TAKEOVER_MS. */
const REPLAY_MS = flag('--replay-ms', '0,0').split(',').map(Number) as [number, number];
if (
  REPLAY_MS.length !== 2 ||
  REPLAY_MS.some((n) => !Number.isFinite(n) || n < 0) ||
  REPLAY_MS[0] > REPLAY_MS[1]
) {
  throw new Error(`--replay-ms wants MIN,MAX in ms (0 <= MIN <= MAX), got ${flag('--replay-ms', '')}`);
}
const BLIPS = Number(flag('--blips', '3'));
/** Which blips to play (default all four). */
const BLIP_ONLY = new Set(
  flag('--blip-kinds', 'probe-stall,etcd-leader-change,primary-freeze-2s,slow-sql-probe').split(','),
);
/** Overrides probes.timeoutSeconds in both settings (a loaded machine: the fake tools are node processes). */
const PROBE_TIMEOUT = flag('--probe-timeout', '');
/** Prints, for every unplanned run, the timeline of commands, decisions and the leader key. */
const TRACE = args.includes('--trace');
const ONLY = new Set(flag('--only', 'crash,node,node-fenced,planned,blips,footprint,sim,patroni').split(','));
const PATRONI_RUNS = Number(flag('--patroni-runs', '3'));
/**
 * The HANA tools' stand-ins: `node` (default: each tool a Node.js process, 0.2-1.4 s of start-up
 * on a loaded machine) or `sh` (shell scripts over curl and jq, the same answers; hanasr's own
 * cost apart from the stand-in's).
 */
const STANDIN_FLAG = flag('--standin', 'node');
if (STANDIN_FLAG !== 'node' && STANDIN_FLAG !== 'sh') throw new Error('--standin node|sh');
const STANDIN: 'node' | 'sh' = STANDIN_FLAG;
/** Results go to bench/results/NAME.json and .txt. */
const OUT = flag('--out', 'takeover');
const withTimeout = (t: Timing): Timing =>
  PROBE_TIMEOUT === '' ? t : { ...t, timeoutSeconds: Number(PROBE_TIMEOUT) };
/** Which settings rows to run (a loaded machine: the tuned 1-s probe timeout may not be met). */
const SETTINGS = new Set(flag('--settings', 'defaults,tuned').split(','));
const settings = (
  [
    ['defaults', withTimeout(DEFAULTS)],
    ['tuned', withTimeout(TUNED)],
  ] as [string, Timing][]
).filter(([label]) => SETTINGS.has(label));

interface RunResult {
  readonly leader: number;
  readonly command: number;
  readonly write: number;
  readonly service: number;
  /**
   * The whole simulated HANA takeover: from the command reaching the simulator to its commits being
   * taken (the --takeover-ms wait, then the simulator's log replay, --replay-ms: none by default).
   */
  readonly hana?: number;
  /** node-fenced: when B's agent had A's node confirmed off (its node_fenced line). */
  readonly fenced?: number;
}

/**
 * crash: A's instance crashes, its agent stays up. node: A's agent is SIGKILLed and its node goes
 * down, no fence device (B waits for A's lease to run out). node-fenced: the same, with a fence
 * device per node (fence_dummy): B powers A's node off through it and takes the key over once the
 * off is confirmed, before the lease runs out.
 */
type Fault = 'crash' | 'node' | 'node-fenced';
const FAULTS: readonly Fault[] = ['crash', 'node', 'node-fenced'];

let seq = 0;

async function unplanned(bench: Bench, timing: Timing, fault: Fault): Promise<RunResult> {
  const rig = await Rig.start(bench, ++seq, {
    timing,
    takeoverMs: TAKEOVER_MS,
    replayMs: REPLAY_MS,
    seed: 100 + seq,
    fence: fault === 'node-fenced',
    standin: STANDIN,
  });
  const writer = new Writer(rig.sqlPorts());
  try {
    await rig.steady();
    await until('writes on A', () => (writer.firstAckOn('A', 0) !== undefined ? true : undefined), 20_000);
    // The fault at a random phase of the agents' cycles: a fixed wait after the first write put it
    // 0.3-0.6 s before A's next probe in every run (a detection near the best case, not the p99).
    await sleep(300 + Math.random() * timing.intervalSeconds * 1000);
    const t0 = Date.now();
    if (fault === 'crash') rig.landscape.crashInstance('A');
    else {
      await rig.agents.get('A')!.kill();
      rig.landscape.crashNode('A');
    }
    const limit =
      (timing.ttlSeconds + timing.failureThreshold * (timing.intervalSeconds + timing.timeoutSeconds)) *
        1000 +
      30_000;
    const write = await until('a write on B', () => writer.firstAckOn('B', t0), limit).catch(
      async (err: unknown) => {
        throw new Error(`${err instanceof Error ? err.message : String(err)}: ${await rig.describe()}`);
      },
    );
    const service = await until(
      'the Service on B',
      async () => ((await bench.serviceSite(rig.name)) === 'B' ? Date.now() : undefined),
      limit,
    );
    const leader = await until('the key on B', () => rig.leaderOnAt('B', t0), 5000);
    const command = await until('the takeover command', () => rig.takeoverAskedAt.get('B'), 5000);
    const complete = rig.takeoverCompleteAt('B', command);
    let fenced: number | undefined;
    if (fault === 'node-fenced') {
      // B's own line for the confirmed off, and the fence record in the store at A's term.
      fenced = rig.loggedAt('B', 'node_fenced', t0);
      const record = (await bench.observer.read(rig.cluster)).fences?.['A'];
      if (fenced === undefined || record?.result !== 'confirmed' || record.by !== 'B')
        throw new Error(
          `B took over without a confirmed fence of A: ${JSON.stringify(record)}; ${await rig.describe()}`,
        );
    }
    if (TRACE) {
      console.log(
        `  trace: ${fault}, failureThreshold ${timing.failureThreshold}, interval ${timing.intervalSeconds} s`,
      );
      const client = writer.events.map((e) => ({ at: e.at, line: `${e.site}  sql   ${e.what}` }));
      for (const line of rig.timeline(t0 - timing.intervalSeconds * 1000, write + 100, t0, client))
        console.log(`    ${line}`);
    }
    return {
      leader: leader - t0,
      command: command - t0,
      write: write - t0,
      service: service - t0,
      ...(complete !== undefined ? { hana: complete - command } : {}),
      ...(fenced !== undefined ? { fenced: fenced - t0 } : {}),
    };
  } finally {
    await writer.stop();
    await rig.close();
  }
}

async function planned(bench: Bench, timing: Timing): Promise<number> {
  const rig = await Rig.start(bench, ++seq, {
    timing,
    takeoverMs: TAKEOVER_MS,
    replayMs: REPLAY_MS,
    seed: 300 + seq,
    standin: STANDIN,
  });
  const writer = new Writer(rig.sqlPorts());
  try {
    await rig.steady();
    await until('writes on A', () => (writer.firstAckOn('A', 0) !== undefined ? true : undefined), 20_000);
    await sleep(500);
    const t0 = Date.now();
    await bench.custom.patchNamespacedCustomObject(
      {
        group: 'hanasr.io',
        version: 'v1alpha1',
        plural: 'hanasystemreplications',
        namespace: NAMESPACE,
        name: rig.name,
        body: { metadata: { annotations: { [ANNOTATION_PLANNED_TAKEOVER]: 'B' } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const first = await until('a write on B', () => writer.firstAckOn('B', t0), 60_000);
    await sleep(500);
    return writer.longestGap(t0, first + 1);
  } finally {
    await writer.stop();
    await rig.close();
  }
}

/** The member that leads etcd's raft now (its index), from each member's status. */
async function etcdLeader(etcd: EtcdCluster): Promise<number> {
  for (let i = 0; i < etcd.members.length; i++) {
    try {
      const res = await fetch(`${etcd.members[i]!.endpoint}/v3/maintenance/status`, {
        method: 'POST',
        body: '{}',
        signal: AbortSignal.timeout(1000),
      });
      const s = (await res.json()) as { header?: { member_id?: string }; leader?: string };
      if (s.leader !== undefined && s.leader === s.header?.member_id) return i;
    } catch {
      // try the next
    }
  }
  return 0;
}

type Blip = 'probe-stall' | 'etcd-leader-change' | 'primary-freeze-2s' | 'slow-sql-probe';
const BLIP_KINDS: Blip[] = ['probe-stall', 'etcd-leader-change', 'primary-freeze-2s', 'slow-sql-probe'];

/** Plays a blip at defaults; a takeover within 20 s after it is a false one. */
async function blip(bench: Bench, etcd: EtcdCluster, kind: Blip): Promise<number> {
  const timing = withTimeout(DEFAULTS);
  const rig = await Rig.start(bench, ++seq, {
    timing,
    takeoverMs: TAKEOVER_MS,
    replayMs: REPLAY_MS,
    seed: 500 + seq,
    standin: STANDIN,
  });
  try {
    await rig.steady();
    await sleep(1000);
    const t0 = Date.now();
    switch (kind) {
      case 'probe-stall': {
        // HANA hangs for less than failureThreshold x interval: at most threshold-1 failed probes.
        rig.landscape.hangInstance('A');
        await sleep((timing.failureThreshold - 1) * timing.intervalSeconds * 1000 - 500);
        rig.landscape.unhangInstance('A');
        break;
      }
      case 'etcd-leader-change': {
        const m = etcd.members[await etcdLeader(etcd)]!;
        await m.stop();
        await sleep(2000);
        m.start();
        await etcd.waitHealthy();
        break;
      }
      case 'primary-freeze-2s':
        rig.landscape.freezeSite('A');
        await sleep(2000);
        rig.landscape.thawSite('A');
        break;
      case 'slow-sql-probe':
        rig.sql.get('A')!.setFault({ delayMs: (timing.timeoutSeconds * 1000) / 2 });
        await sleep(10_000);
        rig.sql.get('A')!.setFault({});
        break;
    }
    await sleep(20_000);
    const took = rig.leaderAt.filter((l) => l.at >= t0 && l.site !== 'A' && l.site !== null).length;
    const falseTakeover = took > 0 || rig.takeoverAskedAt.size > 0;
    // How close A came: its longest run of failed probes in the window (from its decision lines).
    const failedInARow = Math.max(
      0,
      ...rig
        .timeline(t0, Date.now(), t0)
        .filter((l) => l.includes(' A  log '))
        .map((l) => Number(/failed (\d+)(?: of \d+| consecutive) probes/.exec(l)?.[1] ?? 0)),
    );
    console.log(
      `  blip ${kind}: A's longest run of failed probes ${failedInARow} (threshold ${timing.failureThreshold})${falseTakeover ? ': false takeover' : ''}`,
    );
    if (falseTakeover && TRACE) {
      console.log(`  trace: false takeover in the ${kind} blip`);
      for (const line of rig.timeline(t0 - 2000, Date.now(), t0).filter((l) => !l.includes(' sql ')))
        console.log(`    ${line}`);
    }
    return falseTakeover ? 1 : 0;
  } finally {
    await rig.close();
  }
}

interface Footprint {
  cpuPercent: number;
  rssMB: number;
  peakRssMB: number;
  anonMB: number;
  fileMB: number;
  /** /proc/PID/smaps_rollup of the agent (the larger of the two) and of an idle `node` beside it. */
  pssMB: number;
  privateMB: number;
  floor: { rssMB: number; pssMB: number; privateMB: number };
}

async function footprint(bench: Bench): Promise<Footprint> {
  const rig = await Rig.start(bench, ++seq, {
    timing: withTimeout(DEFAULTS),
    takeoverMs: TAKEOVER_MS,
    replayMs: REPLAY_MS,
    seed: 700,
    standin: STANDIN,
  });
  try {
    await rig.steady();
    await sleep(5000);
    const pids = [...rig.agents.values()].map((a) => a.child.pid!);
    // The floor: the same node binary doing nothing, sampled at the same moment.
    const idle = spawn(process.execPath, ['-e', 'setInterval(() => {}, 2000)'], { stdio: 'ignore' });
    try {
      const before = pids.map((p) => cpuAndRss(p));
      const t0 = Date.now();
      await sleep(30_000);
      const after = pids.map((p) => cpuAndRss(p));
      const secs = (Date.now() - t0) / 1000;
      const cpu = after.map((a, i) => (a.cpuSeconds - before[i]!.cpuSeconds) / secs);
      const rollups = pids.map((p) => smapsRollup(p));
      return {
        cpuPercent: Math.max(...cpu) * 100,
        rssMB: Math.max(...after.map((a) => a.rssMB)),
        peakRssMB: Math.max(...after.map((a) => a.peakRssMB)),
        anonMB: Math.max(...after.map((a) => a.anonMB)),
        fileMB: Math.max(...after.map((a) => a.fileMB)),
        pssMB: Math.max(...rollups.map((r) => r.pssMB)),
        privateMB: Math.max(...rollups.map((r) => r.privateMB)),
        floor: smapsRollup(idle.pid!),
      };
    } finally {
      idle.kill('SIGKILL');
    }
  } finally {
    await rig.close();
  }
}

async function simThroughput(): Promise<{ schedules: number; seconds: number; perSecond: number }> {
  const text = readFileSync(
    new URL('../examples/scenarios/kill-primary-instance.yaml', import.meta.url),
    'utf8',
  );
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < 10_000) {
    await runScenario(parseScenario(text.replace(/^seed: \d+$/m, `seed: ${n + 1}`), 'bench'));
    n++;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { schedules: n, seconds, perSecond: n / seconds };
}

// ---------------------------------------------------------------------------------------------

const out: string[] = [];
const say = (line = '') => {
  out.push(line);
  console.log(line);
};
const json: Record<string, unknown> = {
  machine: machine(),
  etcd: etcdVersion(),
  takeoverMs: TAKEOVER_MS,
  replayMs: REPLAY_MS,
  runs: RUNS,
  standin: STANDIN,
};

const etcd = await EtcdCluster.start({ members: 3 });
const bench = await Bench.start(etcd.endpoints);
try {
  say(`hanasr takeover bench, ${new Date().toISOString()}`);
  say(
    `machine: ${machine().cpus} x ${machine().cpuModel}, Node ${process.version}; ${etcdVersion()}, 3 members`,
  );
  say(
    `simulated HANA takeover: ${TAKEOVER_MS} ms (counted in (c) and (d), reported apart); ${RUNS} runs per row; HANA tools' stand-ins: ${STANDIN === 'sh' ? 'shell scripts over curl and jq (--standin sh)' : 'Node.js processes'}`,
  );
  say(
    `load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  for (const [label, t] of settings)
    say(
      `${label}: failureThreshold ${t.failureThreshold}, interval ${t.intervalSeconds} s, probe timeout ${t.timeoutSeconds} s${PROBE_TIMEOUT !== '' ? ' (--probe-timeout)' : ''}, TTL ${t.ttlSeconds} s`,
    );
  const rows: Record<string, unknown>[] = [];
  for (const [label, timing] of settings) {
    for (const fault of FAULTS) {
      if (!ONLY.has(fault)) continue;
      if (fault === 'node-fenced' && !existsSync(FENCE_DUMMY)) {
        say(`  ${label} node-fenced: skipped, ${FENCE_DUMMY} is missing (sudo apt-get install fence-agents)`);
        continue;
      }
      const results: RunResult[] = [];
      const loadAtStart = load();
      for (let i = 0; i < RUNS; i++) {
        try {
          results.push(await unplanned(bench, timing, fault));
        } catch (err) {
          say(`  ${label} ${fault} run ${i + 1} failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      // The floor of a node loss is the TTL; with a fence the target is to stay well under it.
      const floor =
        fault === 'crash'
          ? timing.failureThreshold * timing.intervalSeconds * 1000
          : timing.ttlSeconds * 1000;
      const stat = (xs: number[]): Stat => pct(xs);
      const r = {
        setting: label,
        timing,
        fault,
        floorMs: floor,
        n: results.length,
        leader: stat(results.map((x) => x.leader)),
        command: stat(results.map((x) => x.command)),
        write: stat(results.map((x) => x.write)),
        service: stat(results.map((x) => x.service)),
        hana: stat(results.flatMap((x) => x.hana ?? [])),
        writeWithoutHana: stat(results.flatMap((x) => (x.hana !== undefined ? [x.write - x.hana] : []))),
        ...(fault === 'node-fenced' ? { fenced: stat(results.flatMap((x) => x.fenced ?? [])) } : {}),
        // node-fenced: "well under the TTL"; the TTL itself is the most it may take.
        targetWriteP99Ms: fault === 'node-fenced' ? floor : floor + TAKEOVER_MS + 500,
        loadAverage: { atStart: loadAtStart, atEnd: load() },
      };
      rows.push(r);
    }
  }
  json['unplanned'] = rows;
  json['loadAverageAfter'] = load();
  if (rows.length > 0) {
    say('');
    say('Unplanned takeover: ms from the fault, median / p99 (ratio of the median to the floor)');
    say(
      'setting   fault  floor   n   (a) key on B          (b) takeover cmd      (c) first write       (d) -rw Service       target (c) p99',
    );
    for (const r of rows as {
      setting: string;
      fault: string;
      floorMs: number;
      n: number;
      leader: Stat;
      command: Stat;
      write: Stat;
      service: Stat;
      targetWriteP99Ms: number;
    }[]) {
      const cell = (s: Stat) =>
        `${s.median.toFixed(0)} / ${s.p99.toFixed(0)} (${(s.median / r.floorMs).toFixed(2)})`.padEnd(22);
      const miss =
        r.n === 0
          ? 'no run completed'
          : r.write.p99 > r.targetWriteP99Ms
            ? `MISSED by ${(r.write.p99 - r.targetWriteP99Ms).toFixed(0)} ms`
            : 'met';
      say(
        `${r.setting.padEnd(9)} ${r.fault.padEnd(6)} ${String(r.floorMs).padEnd(7)} ${String(r.n).padEnd(3)} ${cell(r.leader)}${cell(r.command)}${cell(r.write)}${cell(r.service)}<= ${r.targetWriteP99Ms}: ${miss}`,
      );
    }
    say(
      `(c) without the simulated HANA takeover: the line below (--takeover-ms ${TAKEOVER_MS}, replay ${REPLAY_MS.join('-')} ms, and the command's own round trip); (d) - (c) is the operator's part.`,
    );
    for (const r of rows as { setting: string; fault: string; hana: Stat; writeWithoutHana: Stat }[])
      if (r.hana.n > 0)
        say(
          `${r.setting} ${r.fault}: the whole simulated HANA takeover (command → commits taken: the ${TAKEOVER_MS}-ms wait plus the simulator's log replay of ${REPLAY_MS.join('-')} ms) ${r.hana.median.toFixed(0)} / ${r.hana.p99.toFixed(0)} ms; (c) without it ${r.writeWithoutHana.median.toFixed(0)} / ${r.writeWithoutHana.p99.toFixed(0)} ms (median / p99)`,
        );
    for (const r of rows as { setting: string; fault: string; fenced?: Stat }[])
      if (r.fenced !== undefined)
        say(
          `node-fenced ${r.setting}: A's node confirmed off by B's fence agent (fence_dummy) ${r.fenced.median.toFixed(0)} / ${r.fenced.p99.toFixed(0)} ms after the fault (median / p99); target for (c): under the TTL`,
        );
    for (const r of rows as {
      setting: string;
      fault: string;
      loadAverage: { atStart: number[]; atEnd: number[] };
    }[])
      say(
        `load average (1/5/15 min) ${r.setting} ${r.fault}: ${r.loadAverage.atStart.join(' ')} at the start, ${r.loadAverage.atEnd.join(' ')} at the end`,
      );
  }

  if (ONLY.has('patroni')) {
    say('');
    say('Side by side with Patroni (same etcd, same run). The databases differ: PostgreSQL is not HANA, and');
    say("its crash recovery and promotion are not HANA's takeover; only the HA manager's part is compared.");
    const missing = ensurePatroni();
    if (missing !== null) say(missing);
    else {
      const prows = await patroniBench(etcd, PATRONI_RUNS, say);
      json['patroni'] = prows;
      for (const r of prows) say(`  ${patroniLine(r)}`);
      type Row = { setting: string; fault: string; leader: Stat; command: Stat; write: Stat };
      const ourRow = (setting: string, fault: string) =>
        (rows as Row[]).find((r) => r.setting === setting && r.fault === fault);
      const theirRow = (setting: string, fault: string) =>
        prows.find((r) => r.setting === setting && r.fault === fault);
      const ours = (setting: string, fault: string) => ourRow(setting, fault)?.write;
      const theirs = (setting: string, fault: string) => theirRow(setting, fault)?.write;
      const ratio = (a?: Stat, b?: Stat) => (a && b && b.n > 0 ? a.median / b.median : NaN);
      const nodeDefault = ratio(ours('defaults', 'node'), theirs('defaults', 'node'));
      const nodeEqualTtl = ratio(ours('defaults', 'node'), theirs('ttl 10', 'node'));
      const crash = ratio(ours('defaults', 'crash'), theirs('defaults', 'crash'));
      // The HA managers' own part of a node loss: the key on the new site, and the promotion asked
      // of the database (hanasr's takeover command, PostgreSQL's promote request).
      const keyEqualTtl = ratio(ourRow('defaults', 'node')?.leader, theirRow('ttl 10', 'node')?.key);
      const commandEqualTtl = ratio(ourRow('defaults', 'node')?.command, theirRow('ttl 10', 'node')?.promote);
      const keyDefault = ratio(ourRow('defaults', 'node')?.leader, theirRow('defaults', 'node')?.key);
      const commandDefault = ratio(
        ourRow('defaults', 'node')?.command,
        theirRow('defaults', 'node')?.promote,
      );
      json['ratios'] = {
        nodeLossVsPatroniDefaults: nodeDefault,
        nodeLossVsPatroniEqualTtl: nodeEqualTtl,
        crashVsPatroniDefaults: crash,
        nodeLossKeyVsPatroniDefaults: keyDefault,
        nodeLossKeyVsPatroniEqualTtl: keyEqualTtl,
        nodeLossPromotionAskedVsPatroniDefaults: commandDefault,
        nodeLossPromotionAskedVsPatroniEqualTtl: commandEqualTtl,
      };
      say(
        `  ratio hanasr/Patroni, node loss, defaults vs defaults: ${nodeDefault.toFixed(2)} (target <= 0.45: ${nodeDefault <= 0.45 ? 'met' : 'MISSED'})`,
      );
      say(
        `  ratio hanasr/Patroni, node loss, both TTL 10 s: ${nodeEqualTtl.toFixed(2)} (target <= 1.0: ${nodeEqualTtl <= 1 ? 'met' : 'MISSED'})`,
      );
      say(
        `  ratio hanasr/Patroni, database crash, defaults: ${crash.toFixed(2)} (Patroni restarts PostgreSQL in place)`,
      );
      say(
        `  the managers' part of a node loss (medians): key on the new site ${keyDefault.toFixed(2)} (defaults vs defaults), ${keyEqualTtl.toFixed(2)} (both TTL 10 s); promotion asked of the database (hanasr's takeover command, PostgreSQL's promote request) ${commandDefault.toFixed(2)}, ${commandEqualTtl.toFixed(2)}`,
      );
    }
  }

  if (ONLY.has('planned')) {
    const gaps: number[] = [];
    for (let i = 0; i < Math.max(3, Math.min(RUNS, 10)); i++) {
      try {
        gaps.push(await planned(bench, withTimeout(DEFAULTS)));
      } catch (err) {
        say(`  planned run ${i + 1} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const s = pct(gaps);
    json['planned'] = { setting: 'defaults', n: gaps.length, writeGapMs: s, loadAverageAfter: load() };
    say('');
    say(
      `Planned takeover (defaults, handshake): longest write gap a client saw, median ${s.median.toFixed(0)} ms, p99 ${s.p99.toFixed(0)} ms (n=${gaps.length}; includes the ${TAKEOVER_MS} ms simulated takeover)`,
    );
  }

  if (ONLY.has('blips')) {
    const counts: Record<string, { runs: number; falseTakeovers: number }> = {};
    for (const kind of BLIP_KINDS.filter((k) => BLIP_ONLY.has(k))) {
      counts[kind] = { runs: 0, falseTakeovers: 0 };
      for (let i = 0; i < BLIPS; i++) {
        try {
          counts[kind].falseTakeovers += await blip(bench, etcd, kind);
          counts[kind].runs++;
        } catch (err) {
          say(`  blip ${kind} run ${i + 1} failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    }
    const total = Object.values(counts).reduce((a, c) => a + c.falseTakeovers, 0);
    json['blips'] = { counts, falseTakeovers: total, loadAverageAfter: load() };
    say('');
    say(`False takeovers over the blip suite (defaults): ${total} (must be 0)`);
    for (const [k, c] of Object.entries(counts))
      say(`  ${k.padEnd(20)} ${c.falseTakeovers} of ${c.runs} runs`);
  }

  if (ONLY.has('footprint')) {
    const starts: Footprint[] = [];
    for (let i = 0; i < FOOTPRINT_STARTS; i++) {
      const f = await footprint(bench);
      starts.push(f);
      say('');
      say(
        `Agent footprint at the default interval (2 s), 30 s sampled: CPU ${f.cpuPercent.toFixed(2)} % of a core (target < 2 %), RSS ${f.rssMB.toFixed(0)} MB, peak ${f.peakRssMB.toFixed(0)} MB (target < 80 MB); of the RSS, ${f.anonMB.toFixed(0)} MB the process's own (heaps) and ${f.fileMB.toFixed(0)} MB pages of files (the node binary, @sap/hana-client's library, libcrypto: shared with every process mapping them)`,
      );
      say(
        `  smaps_rollup: RSS ${f.rssMB.toFixed(1)} MB, PSS ${f.pssMB.toFixed(1)} MB, private ${f.privateMB.toFixed(1)} MB; an idle node beside it: RSS ${f.floor.rssMB.toFixed(1)}, PSS ${f.floor.pssMB.toFixed(1)}, private ${f.floor.privateMB.toFixed(1)} MB`,
      );
    }
    const med = (pick: (f: Footprint) => number) => pct(starts.map(pick)).median;
    json['agentFootprint'] = { starts, loadAverageAfter: load() };
    if (starts.length > 1)
      say(
        `Median of ${starts.length} starts: RSS ${med((f) => f.rssMB).toFixed(1)} MB, PSS ${med((f) => f.pssMB).toFixed(1)} MB, private ${med((f) => f.privateMB).toFixed(1)} MB, CPU ${med((f) => f.cpuPercent).toFixed(2)} %; idle node RSS ${med((f) => f.floor.rssMB).toFixed(1)}, private ${med((f) => f.floor.privateMB).toFixed(1)} MB`,
      );
  }

  if (ONLY.has('sim')) {
    const s = await simThroughput();
    json['simulator'] = { ...s, loadAverageAfter: load() };
    say('');
    say(
      `Simulator: ${s.perSecond.toFixed(1)} schedules/s (kill-primary-instance, 600 virtual s each, ${s.schedules} seeds in ${s.seconds.toFixed(1)} s)`,
    );
  }
} finally {
  await bench.close();
  await etcd.stop();
}

mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL(`./results/${OUT}.json`, import.meta.url), JSON.stringify(json, null, 2) + '\n');
writeFileSync(new URL(`./results/${OUT}.txt`, import.meta.url), out.join('\n') + '\n');
