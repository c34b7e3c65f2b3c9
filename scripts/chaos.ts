/**
 * `npm run chaos -- --minutes N --seed S [--run-seconds R] [--clients C] [--json]`: the chaos
 * suite's long form. Runs one chaos run after another (test/chaos/run.ts: real agent and operator
 * processes, a three-member etcd, the embedded Kubernetes API, random overlapping faults for R
 * seconds each, default 120) until N minutes have passed; run i uses seed S+i, so a run can be
 * replayed with --seed S+i --minutes 0 (one run). Prints each run's verdict and, at the end, the
 * figures: runs, faults injected by kind, commits acknowledged, indeterminate and failed
 * writes, violations (each with its run's seed), takeovers with the time from the primary's crash before
 * each and the write outage around it, and recoveries (a run that did not recover within 3
 * minutes of the last cure is an availability finding, not a violation).
 * Exit code: 0 no violation, 1 violations, 2 invalid options.
 */
import { runChaos, type ChaosRunResult } from '../test/chaos/run.js';

interface Args {
  minutes: number;
  seed: number;
  runSeconds: number;
  clients: number;
  json: boolean;
}

function parseArgs(argv: string[]): Args | string {
  const a: Args = { minutes: 10, seed: Date.now() % 1_000_000, runSeconds: 120, clients: 2, json: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const num = () => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < 0) throw new Error(`${flag} needs a number >= 0`);
      return v;
    };
    try {
      if (flag === '--minutes') a.minutes = num();
      else if (flag === '--seed') a.seed = Math.floor(num());
      else if (flag === '--run-seconds') a.runSeconds = Math.max(10, num());
      else if (flag === '--clients') a.clients = Math.max(1, Math.floor(num()));
      else if (flag === '--json') a.json = true;
      else if (flag === '--help' || flag === '-h') return 'help';
      else return `unknown option ${flag}`;
    } catch (err) {
      return (err as Error).message;
    }
  }
  return a;
}

const HELP = `Usage: npm run chaos -- [--minutes N] [--seed S] [--run-seconds R] [--clients C] [--json]

Chaos runs on real processes (see README, "Chaos on real processes") until N minutes (default
10) have passed; at least one run. Run i uses seed S+i (default S: from the clock, printed).
Each run: the landscape comes up, C clients (default 2) write through the -rw Service, random
overlapping faults for R seconds (default 120), every fault cured, recovery awaited, the history
checked. Exit 1 when any invariant was violated.
`;

const stats = (xs: readonly number[]) => {
  if (xs.length === 0) return '-';
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  const f = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return `min ${f(s[0]!)}, median ${f(q(0.5))}, max ${f(s[s.length - 1]!)} (${s.length})`;
};

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (typeof args === 'string') {
    process.stderr.write(`chaos: ${args}\n\n${HELP}`);
    return 2;
  }
  const say = (line: string) => {
    if (!args.json) process.stdout.write(`${line}\n`);
  };
  say(`chaos: seed ${args.seed}, ${args.minutes} min, runs of ${args.runSeconds} s of faults`);
  const deadline = Date.now() + args.minutes * 60_000;
  const results: ChaosRunResult[] = [];
  const errors: { seed: number; error: string }[] = [];
  let stopping = false;
  process.once('SIGINT', () => {
    stopping = true;
    say('chaos: Ctrl-C, stopping after this run');
  });
  for (let i = 0; !stopping && (i === 0 || Date.now() < deadline); i++) {
    const seed = args.seed + i;
    const t0 = Date.now();
    say(`run ${i + 1} (seed ${seed})`);
    try {
      const r = await runChaos({
        seed,
        faultPhaseMs: args.runSeconds * 1000,
        schedule: 'random',
        clients: args.clients,
        recoverMs: 180_000,
        log: (l) => say(`  ${l}`),
      });
      results.push(r);
      const v = r.check.violations;
      say(
        `  => ${v.length === 0 ? 'ok' : `${v.length} VIOLATION(S)`}: ${r.faults.length} faults, ` +
          `${r.check.acknowledged} acknowledged, ${r.takeovers.length} takeover(s), ` +
          `${((Date.now() - t0) / 1000).toFixed(0)} s`,
      );
      for (const x of v) say(`     ${x.invariant}: ${x.message}`);
      if (v.length > 0 || r.recoveredMs === null) say(r.logs.slice(-6000));
    } catch (err) {
      errors.push({ seed, error: String(err).slice(0, 2000) });
      say(`  => the run could not be carried out: ${String(err).slice(0, 2000)}`);
    }
  }

  const byKind = new Map<string, number>();
  for (const r of results)
    for (const f of r.faults) {
      byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
    }
  const violations = results.flatMap((r) => r.check.violations.map((v) => ({ seed: r.seed, ...v })));
  const takeovers = results.flatMap((r) => r.takeovers);
  const summary = {
    seed: args.seed,
    runs: results.length,
    runsNotCarriedOut: errors,
    faults: results.reduce((n, r) => n + r.faults.length, 0),
    faultsByKind: Object.fromEntries([...byKind].sort()),
    acknowledged: results.reduce((n, r) => n + r.check.acknowledged, 0),
    indeterminate: results.reduce((n, r) => n + r.check.indeterminate, 0),
    indeterminateCommitted: results.reduce((n, r) => n + r.check.indeterminateCommitted, 0),
    failed: results.reduce((n, r) => n + r.check.failed, 0),
    violations,
    takeovers: takeovers.length,
    takeoverAfterFault: stats(takeovers.flatMap((t) => (t.afterFaultMs === null ? [] : [t.afterFaultMs]))),
    writeOutage: stats(takeovers.flatMap((t) => (t.writeOutageMs === null ? [] : [t.writeOutageMs]))),
    recovery: stats(results.flatMap((r) => (r.recoveredMs === null ? [] : [r.recoveredMs]))),
    notRecovered: results.filter((r) => r.recoveredMs === null).map((r) => r.seed),
    unchecked: results.flatMap((r) => r.check.unchecked.map((u) => `seed ${r.seed}: ${u}`)),
  };
  if (args.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    say('');
    say(
      `runs:                 ${summary.runs}${errors.length ? ` (+${errors.length} not carried out)` : ''}`,
    );
    say(`faults injected:      ${summary.faults}`);
    for (const [k, n] of Object.entries(summary.faultsByKind)) say(`  ${k.padEnd(24)}${n}`);
    say(`commits acknowledged: ${summary.acknowledged}`);
    say(`indeterminate writes: ${summary.indeterminate} (${summary.indeterminateCommitted} found committed)`);
    say(`failed writes:        ${summary.failed}`);
    say(`violations:           ${violations.length}`);
    for (const v of violations) say(`  seed ${v.seed} ${v.invariant}: ${v.message}`);
    say(`takeovers:            ${summary.takeovers}`);
    say(`  after the crash:    ${summary.takeoverAfterFault}`);
    say(`  write outage:       ${summary.writeOutage}`);
    say(`recovery after cure:  ${summary.recovery}`);
    if (summary.notRecovered.length)
      say(`not recovered (availability findings): seeds ${summary.notRecovered.join(', ')}`);
    for (const u of summary.unchecked) say(`unchecked: ${u}`);
  }
  return violations.length > 0 ? 1 : 0;
}

process.exitCode = await main();
