/**
 * `npm run sim:fuzz -- --schedules N --seed S [--sites 2|3] [--json]`: random fault schedules
 * against random HA settings, every invariant checked on each, failures shrunk to scenario files.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomCase, type GenerateOptions } from './generate.js';
import { runPool } from './pool.js';
import { shrink } from './shrink.js';
import { runSeed, type CaseSummary } from './summary.js';
import { scenarioYaml } from './yaml.js';
import type { InvariantName } from '../invariant-names.js';
import { KNOWN_LIMITS } from '../invariants.js';

export const help = `Usage: npm run sim:fuzz -- [--schedules N] [--seed S] [--sites 2|3] [--json]
       npm run sim:fuzz -- --replay SEED [--sites 2|3]

Plays N random fault schedules (schedule i has seed S+i) against random HA settings, in virtual
time, on worker threads, and checks on each: at most one writer at any instant, no acknowledged
commit lost in sync/syncmem unless a DBA forced it, no automatic promotion of a site lacking an
acknowledged commit, no takeover after a blip shorter than the failure threshold, nothing done in
maintenance. A violation is shrunk to a scenario file for test/regressions/. After the last fault
clears, a writable primary with an in-sync secondary must be back within a bound the settings
imply: misses are printed as availability findings (not failures).

Options:
  --schedules N   schedules to run (default 1000)
  --seed S        seed of the first schedule (default: from the clock; printed for replay)
  --sites 2|3     only landscapes of that many sites (default: both)
  --duration S    simulated seconds per schedule (default 600; more when the settings need it)
  --workers W     worker threads (default: one per core)
  --shrink K      shrink at most K violations, one per invariant first (default 3)
  --out DIR       write the shrunk scenarios and the availability findings there as YAML
  --replay SEED   print the scenario file of one schedule and what it found
  --json          print one JSON object

Exit codes: 0 no violation, 1 a violation (shrunk scenario printed), 2 bad arguments.
`;

interface Args {
  schedules: number;
  seed: number;
  generate: GenerateOptions;
  workers?: number;
  shrink: number;
  out?: string;
  replay?: number;
  json: boolean;
}

function parseArgs(argv: readonly string[]): Args | string {
  const args: Args = {
    schedules: 1000,
    seed: Date.now() % 1_000_000_000,
    generate: {},
    shrink: 3,
    json: false,
  };
  const generate: { sites?: 2 | 3; durationSeconds?: number } = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v)) throw new Error(`${a} needs a number`);
      return v;
    };
    try {
      switch (a) {
        case '--schedules':
          args.schedules = Math.floor(value());
          if (args.schedules < 1) return '--schedules must be at least 1';
          break;
        case '--seed':
          args.seed = Math.floor(value());
          break;
        case '--sites': {
          const v = value();
          if (v !== 2 && v !== 3) return '--sites must be 2 or 3';
          generate.sites = v;
          break;
        }
        case '--duration':
          generate.durationSeconds = value();
          if (generate.durationSeconds < 60) return '--duration must be at least 60';
          break;
        case '--workers':
          args.workers = Math.max(1, Math.floor(value()));
          break;
        case '--shrink':
          args.shrink = Math.max(0, Math.floor(value()));
          break;
        case '--replay':
          args.replay = Math.floor(value());
          break;
        case '--out': {
          const dir = argv[++i];
          if (!dir) return '--out needs a directory';
          args.out = dir;
          break;
        }
        case '--json':
          args.json = true;
          break;
        default:
          return `unknown option ${a}`;
      }
    } catch (err) {
      return (err as Error).message;
    }
  }
  args.generate = generate;
  return args;
}

export interface FuzzReport {
  readonly seed: number;
  readonly schedules: number;
  readonly workers: number | 'auto';
  readonly wallSeconds: number;
  readonly schedulesPerSecond: number;
  readonly simulatedSeconds: number;
  readonly violations: { seed: number; invariant: InvariantName; t: number; message: string }[];
  /** Violations in schedules at a known limit (src/sim/invariants.ts KNOWN_LIMITS): not failures. */
  readonly atKnownLimits: { seed: number; invariant: InvariantName; t: number; message: string }[];
  readonly shrunk: { seed: number; invariant: InvariantName; tries: number; yaml: string }[];
  readonly liveness: {
    readonly measured: number;
    readonly met: number;
    readonly missedByDesign: Record<string, number>;
    readonly findings: {
      seed: number;
      from: number;
      boundSeconds: number;
      recoveredAt: number | null;
      lastReasons: Record<string, string>;
    }[];
  };
}

export async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseArgs(argv);
  if (typeof parsed === 'string') {
    process.stderr.write(`sim:fuzz: ${parsed}\n${help}`);
    return 2;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(help);
    return 0;
  }
  const args = parsed;
  if (args.replay !== undefined) {
    const c = randomCase(args.replay, args.generate);
    const summary = await runSeed(args.replay, args.generate);
    process.stdout.write(
      scenarioYaml(c.input, `sim:fuzz schedule ${args.replay}: ${JSON.stringify(summary)}`),
    );
    return summary.violations.length > 0 ? 1 : 0;
  }

  const log = (line: string) => {
    if (!args.json) process.stdout.write(line + '\n');
  };
  log(
    `sim:fuzz: ${args.schedules} schedules from seed ${args.seed} (replay one: npm run sim:fuzz -- --replay SEED${args.generate.sites ? ` --sites ${args.generate.sites}` : ''})`,
  );
  const started = performance.now();
  // Ctrl-C (or SIGTERM) ends a long run early: the schedules done so far are reported.
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const cases: CaseSummary[] = [];
  let violationsSoFar = 0;
  let findingsSoFar = 0;
  let done = 0;
  let simulated = 0;
  let lastProgress = started;
  await runPool({
    schedules: args.schedules,
    seed: args.seed,
    ...args.generate,
    ...(args.workers !== undefined ? { workers: args.workers } : {}),
    signal: stop.signal,
    onCase: (c) => {
      done++;
      if (c.violations.length > 0) {
        violationsSoFar++;
        // Told at once: a long run may be stopped before it ends.
        for (const v of c.violations)
          process.stderr.write(`  VIOLATION ${v.invariant} in schedule ${c.seed} at ${v.t}s: ${v.message}\n`);
      }
      if (c.liveness?.category === 'finding') findingsSoFar++;
      simulated += c.simulatedSeconds;
      // Only what is reported is kept (a long run holds no more than its findings).
      if (c.violations.length > 0 || c.limitViolations.length > 0 || (c.liveness && !c.liveness.ok))
        cases.push(c);
      else if (c.liveness)
        cases.push({
          seed: c.seed,
          simulatedSeconds: 0,
          violations: [],
          limitViolations: [],
          liveness: c.liveness,
        });
      const now = performance.now();
      if (now - lastProgress > 30_000) {
        lastProgress = now;
        process.stderr.write(
          `  ${done}/${args.schedules} schedules, ${(done / ((now - started) / 1000)).toFixed(1)}/s, ` +
            `violating ${violationsSoFar}, availability findings ${findingsSoFar}\n`,
        );
      }
    },
  });
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  const wallSeconds = (performance.now() - started) / 1000;
  if (stop.signal.aborted) log(`stopped early: ${done} of ${args.schedules} schedules done`);
  cases.sort((a, b) => a.seed - b.seed);

  const violations = cases.flatMap((c) =>
    c.violations.map((v) => ({ seed: c.seed, invariant: v.invariant, t: v.t, message: v.message })),
  );
  const atLimits = cases.flatMap((c) =>
    c.limitViolations.map((v) => ({ seed: c.seed, invariant: v.invariant, t: v.t, message: v.message })),
  );
  const measured = cases.filter((c) => c.liveness);
  const missedByDesign: Record<string, number> = {};
  const findings: FuzzReport['liveness']['findings'] = [];
  for (const c of measured) {
    const l = c.liveness!;
    if (l.ok) continue;
    if (l.category === 'finding')
      findings.push({
        seed: c.seed,
        from: l.from,
        boundSeconds: l.boundSeconds,
        recoveredAt: l.recoveredAt,
        lastReasons: { ...l.lastReasons },
      });
    else missedByDesign[l.category ?? 'finding'] = (missedByDesign[l.category ?? 'finding'] ?? 0) + 1;
  }

  // Shrink: one violation per invariant first, up to --shrink.
  const toShrink: typeof violations = [];
  for (const v of violations) if (!toShrink.some((s) => s.invariant === v.invariant)) toShrink.push(v);
  for (const v of violations) if (!toShrink.includes(v)) toShrink.push(v);
  const shrunk: FuzzReport['shrunk'] = [];
  for (const v of toShrink.slice(0, args.shrink)) {
    const c = randomCase(v.seed, args.generate);
    const r = await shrink(c.input, v.invariant);
    const input = {
      ...r.input,
      name: `fuzz-${v.seed}-${v.invariant}`,
      expect: { invariants: [v.invariant] },
    };
    const yaml = scenarioYaml(
      input,
      `Found by npm run sim:fuzz (schedule ${v.seed}${args.generate.sites ? `, --sites ${args.generate.sites}` : ''}), shrunk in ${r.tries} replays.\n${v.invariant} at ${v.t}s: ${v.message}`,
    );
    shrunk.push({ seed: v.seed, invariant: v.invariant, tries: r.tries, yaml });
  }

  if (args.out !== undefined) {
    mkdirSync(args.out, { recursive: true });
    for (const s of shrunk) writeFileSync(join(args.out, `fuzz-${s.seed}-${s.invariant}.yaml`), s.yaml);
    for (const f of findings) {
      const c = randomCase(f.seed, args.generate);
      writeFileSync(
        join(args.out, `availability-${f.seed}.yaml`),
        scenarioYaml(c.input, `availability finding (sim:fuzz schedule ${f.seed}): ${JSON.stringify(f)}`),
      );
    }
  }

  const report: FuzzReport = {
    seed: args.seed,
    schedules: done,
    workers: args.workers ?? 'auto',
    wallSeconds: Math.round(wallSeconds * 10) / 10,
    schedulesPerSecond: Math.round((done / wallSeconds) * 10) / 10,
    simulatedSeconds: Math.round(simulated),
    violations,
    atKnownLimits: atLimits,
    shrunk,
    liveness: {
      measured: measured.length,
      met: measured.filter((c) => c.liveness!.ok).length,
      missedByDesign,
      findings,
    },
  };
  if (args.json) {
    process.stdout.write(JSON.stringify(report) + '\n');
  } else {
    log(
      `schedules ${report.schedules} in ${report.wallSeconds} s: ${report.schedulesPerSecond} schedules/s ` +
        `(${Math.round(simulated / Math.max(1, done))} simulated s each on average, seed ${args.seed})`,
    );
    if (violations.length === 0) log('violations: none');
    if (atLimits.length > 0)
      log(
        `at a known limit (${KNOWN_LIMITS.join(', ')}: a dead agent on a cut-off primary whose node ` +
          `has neither a usable watchdog nor a working fence device): ${new Set(atLimits.map((v) => v.seed)).size} schedules, e.g. ${atLimits
            .slice(0, 5)
            .map((v) => `${v.seed} ${v.invariant}`)
            .join(', ')}`,
      );
    for (const v of violations)
      log(`VIOLATION ${v.invariant} in schedule ${v.seed} at ${v.t}s: ${v.message}`);
    for (const s of shrunk)
      log(`\n--- shrunk scenario for test/regressions/ (schedule ${s.seed}, ${s.invariant}):\n${s.yaml}`);
    const byDesign = Object.entries(missedByDesign)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    log(
      `liveness: measured on ${report.liveness.measured}, met on ${report.liveness.met}` +
        (byDesign ? `, missed by design (a human must act): ${byDesign}` : '') +
        `, availability findings: ${findings.length}`,
    );
    for (const f of findings.slice(0, 20))
      log(
        `  AVAILABILITY schedule ${f.seed}: faults cleared at ${f.from}s, bound ${f.boundSeconds}s, ` +
          `${f.recoveredAt === null ? 'never back' : `back at ${f.recoveredAt}s`}; agents: ${Object.entries(
            f.lastReasons,
          )
            .map(([s, r]) => `${s} ${r}`)
            .join(', ')}`,
      );
    if (findings.length > 20) log(`  ... and ${findings.length - 20} more (--json or --out lists them all)`);
  }
  return violations.length > 0 ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      process.stderr.write(`sim:fuzz: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 2;
    },
  );
}
