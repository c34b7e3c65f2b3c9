/**
 * `npm run sim:fuzz -- --schedules N --seed S [--sites 2|3] [--watches on|off] [--json]`: random fault schedules
 * against random HA settings, every invariant checked on each, failures shrunk to scenario files.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomCase, type GenerateOptions } from './generate.js';
import { runPool, type ScheduleError } from './pool.js';
import { shrink } from './shrink.js';
import { runSeed, type CaseSummary } from './summary.js';
import { scenarioYaml } from './yaml.js';
import type { InvariantName } from '../invariant-names.js';
import { KNOWN_LIMITS } from '../invariants.js';
import {
  COMMON_OPTIONS,
  optionsHelp,
  parseOptions,
  stringOption,
  type OptionTable,
} from '../../config/options.js';
import { escapeControl } from '../../quote.js';

/** Every option of `npm run sim:fuzz`, declared once (parser, --help and docs/cli.md). */
export const options = {
  schedules: { value: 'N', help: 'schedules to run (default 1000)' },
  seed: { value: 'S', help: 'seed of the first schedule (default: from the clock; printed for replay)' },
  sites: { value: '2|3', help: 'only landscapes of that many sites (default: both)' },
  watches: {
    value: 'on|off',
    help: "the agents' watch on the leader key in every schedule (default: drawn, on in three of four)",
  },
  duration: {
    value: 'S',
    help: 'simulated seconds per schedule (default 600; more when the settings need it)',
  },
  workers: { value: 'W', help: 'worker threads (default: one per core)' },
  shrink: { value: 'K', help: 'shrink at most K violations, one per invariant first (default 3)' },
  out: { value: 'DIR', help: 'write the shrunk scenarios and the availability findings there as YAML' },
  replay: { value: 'SEED', help: 'print the scenario file of one schedule and what it found' },
  json: { type: 'boolean', help: 'print one JSON object' },
} as const satisfies OptionTable;

export const help = `Usage: npm run sim:fuzz -- [--schedules N] [--seed S] [--sites 2|3] [--watches on|off] [--json]
       npm run sim:fuzz -- --replay SEED [--sites 2|3] [--watches on|off]

Plays N random fault schedules (schedule i has seed S+i) against random HA settings, in virtual
time, on worker threads (three in four with the agents' watch on the leader key, as in
production; the rest without, as with the watch down), and checks on each: at most one writer at any instant, no acknowledged
commit lost in sync/syncmem unless a DBA forced it, no automatic promotion of a site lacking an
acknowledged commit, no takeover after a blip shorter than the failure threshold, nothing done in
maintenance. A violation is shrunk to a scenario file for test/regressions/. After the last fault
clears, a writable primary with an in-sync secondary must be back within a bound the settings
imply: misses are printed as availability findings (not failures).

Options:
${optionsHelp(options)}
${optionsHelp(COMMON_OPTIONS)}

Exit codes: 0 no violation, 1 a violation (shrunk scenario printed), 2 bad arguments, 3 no
violation but a schedule could not be generated or run (its seed and error printed; the other
schedules ran).
`;

/** The generator options as replay flags (` --sites 3 --watches off`; empty for the defaults). */
function replayFlags(g: GenerateOptions): string {
  return (
    (g.sites !== undefined ? ` --sites ${g.sites}` : '') +
    (g.watches !== undefined ? ` --watches ${g.watches ? 'on' : 'off'}` : '')
  );
}

interface Args {
  schedules: number;
  seed: number;
  generate: GenerateOptions;
  workers?: number;
  shrink: number;
  out?: string;
  replay?: number;
  json: boolean;
  help: boolean;
}

/** The arguments, or the first problem with them (one line). */
function parseArgs(argv: readonly string[]): Args | string {
  const parsed = parseOptions(argv, options);
  if (parsed.problems.length > 0) return parsed.problems[0]!;
  if (parsed.positionals.length > 0) return `unexpected argument ${escapeControl(parsed.positionals[0]!)}`;
  const v = parsed.values;
  const number = (key: keyof typeof options): number | undefined | string => {
    const text = stringOption(v, key);
    if (text === undefined) return undefined;
    const n = Number(text);
    return Number.isFinite(n) ? n : `--${key} needs a number`;
  };
  const numbers: Partial<Record<keyof typeof options, number>> = {};
  for (const key of ['schedules', 'seed', 'sites', 'duration', 'workers', 'shrink', 'replay'] as const) {
    const n = number(key);
    if (typeof n === 'string') return n;
    if (n !== undefined) numbers[key] = n;
  }
  const generate: { sites?: 2 | 3; durationSeconds?: number; watches?: boolean } = {};
  if (numbers.sites !== undefined) {
    if (numbers.sites !== 2 && numbers.sites !== 3) return '--sites must be 2 or 3';
    generate.sites = numbers.sites;
  }
  const watches = stringOption(v, 'watches');
  if (watches !== undefined) {
    if (watches !== 'on' && watches !== 'off') return '--watches must be on or off';
    generate.watches = watches === 'on';
  }
  if (numbers.duration !== undefined) {
    if (numbers.duration < 60) return '--duration must be at least 60';
    generate.durationSeconds = numbers.duration;
  }
  const schedules = Math.floor(numbers.schedules ?? 1000);
  if (schedules < 1) return '--schedules must be at least 1';
  const out = stringOption(v, 'out');
  return {
    schedules,
    seed: numbers.seed !== undefined ? Math.floor(numbers.seed) : Date.now() % 1_000_000_000,
    generate,
    ...(numbers.workers !== undefined ? { workers: Math.max(1, Math.floor(numbers.workers)) } : {}),
    shrink: Math.max(0, Math.floor(numbers.shrink ?? 3)),
    ...(out !== undefined ? { out } : {}),
    ...(numbers.replay !== undefined ? { replay: Math.floor(numbers.replay) } : {}),
    json: v.json === true,
    help: v.help === true,
  };
}

export interface FuzzReport {
  readonly seed: number;
  readonly schedules: number;
  readonly workers: number | 'auto';
  readonly wallSeconds: number;
  readonly schedulesPerSecond: number;
  /** CPU time of the whole process (every worker thread) per schedule, in ms: steadier than wall time on a shared machine. */
  readonly cpuMsPerSchedule: number;
  readonly simulatedSeconds: number;
  /** Simulated seconds per schedule on average (600, more where the settings' liveness bound needs it). */
  readonly simulatedSecondsPerSchedule: number;
  /**
   * schedulesPerSecond scaled to schedules of 600 simulated seconds (the cost of a schedule grows
   * with its simulated time): simulated seconds run per wall second / 600.
   */
  readonly schedulesPerSecondAt600s: number;
  readonly violations: { seed: number; invariant: InvariantName; t: number; message: string }[];
  /** Violations in schedules at a known limit (src/sim/invariants.ts KNOWN_LIMITS): not failures. */
  readonly atKnownLimits: { seed: number; invariant: InvariantName; t: number; message: string }[];
  readonly shrunk: { seed: number; invariant: InvariantName; tries: number; yaml: string }[];
  /** Schedules that could not be generated or run (a bug of the runner or the simulator). */
  readonly errors: ScheduleError[];
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

/** Where the run goes (tests hand their own worker module and keep what is printed). */
export interface MainHooks {
  readonly worker?: URL;
  readonly stdout?: (text: string) => void;
  readonly stderr?: (text: string) => void;
}

export async function main(argv: readonly string[], hooks: MainHooks = {}): Promise<number> {
  const stdout = hooks.stdout ?? ((text: string) => void process.stdout.write(text));
  const stderr = hooks.stderr ?? ((text: string) => void process.stderr.write(text));
  const parsed = parseArgs(argv);
  if (typeof parsed === 'string') {
    stderr(`sim:fuzz: ${parsed}\n${help}`);
    return 2;
  }
  const args = parsed;
  if (args.help) {
    stdout(help);
    return 0;
  }
  if (args.replay !== undefined) {
    const c = randomCase(args.replay, args.generate);
    const summary = await runSeed(args.replay, args.generate);
    stdout(scenarioYaml(c.input, `sim:fuzz schedule ${args.replay}: ${JSON.stringify(summary)}`));
    return summary.violations.length > 0 ? 1 : 0;
  }

  const log = (line: string) => {
    if (!args.json) stdout(line + '\n');
  };
  log(
    `sim:fuzz: ${args.schedules} schedules from seed ${args.seed} (replay one: npm run sim:fuzz -- --replay SEED${replayFlags(args.generate)})`,
  );
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  // Ctrl-C (or SIGTERM) ends a long run early: the schedules done so far are reported.
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const cases: CaseSummary[] = [];
  const errors: ScheduleError[] = [];
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
    ...(hooks.worker !== undefined ? { worker: hooks.worker } : {}),
    onError: (e) => {
      done++;
      errors.push(e);
      // Told at once, first line only (the whole error is in the report).
      stderr(`  ERROR schedule ${e.seed} could not be generated or run: ${e.message.split('\n')[0]}\n`);
    },
    onCase: (c) => {
      done++;
      if (c.violations.length > 0) {
        violationsSoFar++;
        // Told at once: a long run may be stopped before it ends.
        for (const v of c.violations)
          stderr(`  VIOLATION ${v.invariant} in schedule ${c.seed} at ${v.t}s: ${v.message}\n`);
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
        stderr(
          `  ${done}/${args.schedules} schedules, ${(done / ((now - started) / 1000)).toFixed(1)}/s, ` +
            `violating ${violationsSoFar}, availability findings ${findingsSoFar}` +
            (errors.length > 0 ? `, errors ${errors.length}` : '') +
            '\n',
        );
      }
    },
  });
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  const wallSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  const cpuMsPerSchedule = Math.round((cpu.user + cpu.system) / 1000 / Math.max(1, done));
  if (stop.signal.aborted) log(`stopped early: ${done} of ${args.schedules} schedules done`);
  cases.sort((a, b) => a.seed - b.seed);
  errors.sort((a, b) => a.seed - b.seed);

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
      `Found by npm run sim:fuzz (schedule ${v.seed}${replayFlags(args.generate).replaceAll(' --', ', --')}), shrunk in ${r.tries} replays.\n${v.invariant} at ${v.t}s: ${v.message}`,
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
    cpuMsPerSchedule,
    simulatedSeconds: Math.round(simulated),
    simulatedSecondsPerSchedule: Math.round(simulated / Math.max(1, done)),
    schedulesPerSecondAt600s: Math.round((simulated / 600 / wallSeconds) * 10) / 10,
    violations,
    atKnownLimits: atLimits,
    shrunk,
    errors,
    liveness: {
      measured: measured.length,
      met: measured.filter((c) => c.liveness!.ok).length,
      missedByDesign,
      findings,
    },
  };
  if (args.json) {
    stdout(JSON.stringify(report) + '\n');
  } else {
    log(
      `schedules ${report.schedules} in ${report.wallSeconds} s: ${report.schedulesPerSecond} schedules/s ` +
        `(${report.simulatedSecondsPerSchedule} simulated s and ${cpuMsPerSchedule} ms of CPU each on average, seed ${args.seed}); ` +
        `${report.schedulesPerSecondAt600s} schedules/s at 600 simulated s each`,
    );
    if (violations.length === 0) log('violations: none');
    if (errors.length > 0)
      log(
        `errors: ${errors.length} schedules could not be generated or run (replay one with --replay): ` +
          errors.map((e) => `${e.seed} (${e.message.split('\n')[0]})`).join(', '),
      );
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
  return violations.length > 0 ? 1 : errors.length > 0 ? 3 : 0;
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
