/** `hanasr simulate SCENARIO.yaml [--json]`: rehearse a failure against HA settings in virtual time. */
import { COMMON_OPTIONS, optionsHelp, parseOptions, type OptionTable } from '../../config/options.js';
import { escapeControl } from '../../quote.js';
import { MAX_SIMULATED_WRITES, parseScenario, ScenarioError } from '../../sim/scenario.js';
import { MAX_YAML_CHARS } from '../../yaml-input.js';
import { readBounded } from '../read.js';
import { runScenario, type SimulationResult } from '../../sim/runner.js';

/** Every option of `hanasr simulate`, declared once (parser, --help and docs/cli.md). */
export const options = {
  json: {
    type: 'boolean',
    help: 'print one JSON object (name, seed, passed, final, metrics, expectations, timeline)',
  },
  quiet: {
    type: 'boolean',
    help: 'without --json: print only the verdict and the expectations, not the timeline',
  },
} as const satisfies OptionTable;

export const help = `Usage: hanasr simulate SCENARIO.yaml [--json] [--quiet]

Plays a scenario (a landscape, HA settings, a workload and a fault schedule) in virtual time
against the real agent code and the HANA simulator, then checks the scenario's expectations.

Options:
${optionsHelp(options)}
${optionsHelp(COMMON_OPTIONS)}

The scenario file is at most ${MAX_YAML_CHARS / 1024 / 1024} MiB of YAML, and durationSeconds x
workload.writesPerSecond at most ${MAX_SIMULATED_WRITES} writes (the simulator keeps every write
in memory to count lost commits).

Exit codes:
  0  every expectation holds
  1  an expectation does not hold
  2  the scenario is invalid (the message names the file, the line and the field)
`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseOptions(argv, options);
  const json = parsed.values.json === true;
  const quiet = parsed.values.quiet === true;
  const files = parsed.positionals;
  if (parsed.problems.length > 0 || files.length !== 1) {
    process.stderr.write(
      `hanasr simulate: ${parsed.problems[0] ?? 'needs exactly one scenario file'}\n${help}`,
    );
    return 2;
  }
  const file = files[0]!;
  let text: string | undefined;
  try {
    text = await readBounded(file, MAX_YAML_CHARS);
  } catch (err) {
    process.stderr.write(
      `hanasr simulate: cannot read ${escapeControl(file)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`,
    );
    return 2;
  }
  if (text === undefined) {
    process.stderr.write(
      `hanasr simulate: invalid scenario\n${escapeControl(file)}: larger than ${MAX_YAML_CHARS / 1024 / 1024} MiB: not read\n`,
    );
    return 2;
  }
  let scenario;
  try {
    scenario = parseScenario(text, file);
  } catch (err) {
    if (err instanceof ScenarioError) {
      process.stderr.write(`hanasr simulate: invalid scenario\n${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const result = await runScenario(scenario);
  if (json) process.stdout.write(JSON.stringify(result) + '\n');
  else process.stdout.write(formatResult(result, { timeline: !quiet }));
  return result.passed ? 0 : 1;
}

export function formatResult(r: SimulationResult, options: { timeline: boolean }): string {
  const lines: string[] = [];
  lines.push(`scenario ${r.name} (seed ${r.seed})`);
  if (options.timeline) {
    lines.push('');
    for (const e of r.timeline) {
      const t = e.t.toFixed(3).padStart(10);
      lines.push(`${t}s  ${e.site.padEnd(8)} ${e.event.padEnd(30)} ${e.message ?? e.reason}`);
    }
  }
  lines.push('');
  lines.push(
    `final: primary ${r.final.primary ?? '(none)'}, replication ${r.final.replicationStatus}, epoch ${r.final.epoch}`,
  );
  const m = r.metrics;
  lines.push(
    `metrics: takeovers ${m.takeovers}, lost committed writes ${m.lostCommittedWrites} of ${m.acknowledgedWrites}, ` +
      `max concurrent primaries ${m.maxConcurrentPrimaries}, writes unavailable ${m.writeUnavailableSeconds}s` +
      (m.firstTakeoverSeconds !== null ? `, first takeover at ${m.firstTakeoverSeconds}s` : ''),
  );
  const b = m.backups;
  if (b !== undefined)
    lines.push(
      `backups: ${b.succeeded} succeeded, ${b.failed} failed, ${b.interrupted} interrupted, ` +
        `most successes of one run ${b.maxSucceededPerRun}, BACKUP DATA on a secondary ${b.onSecondary}, health ${b.health}`,
    );
  for (const e of r.expectations) {
    lines.push(
      `  ${e.ok ? 'ok  ' : 'FAIL'} ${e.key}: expected ${JSON.stringify(e.expected)}${e.note !== undefined ? ` (${e.note})` : ''}, got ${JSON.stringify(e.actual)}`,
    );
  }
  lines.push(r.passed ? 'PASSED' : 'FAILED');
  return lines.join('\n') + '\n';
}
