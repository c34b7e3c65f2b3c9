/**
 * One line per fuzz schedule with everything a run of it decides: the runner's metrics (without
 * wall time), the final state, the invariant checker's violations (and those at a known limit),
 * liveness, and a hash of the whole timeline. For changes that must not change what the fuzz
 * finds (speed work): run it on the build before and after and compare the outputs byte for byte.
 *
 * Usage: tsx scripts/fuzz-fingerprint.ts FROM COUNT [--sites 2|3] > fingerprints.jsonl
 */
import { createHash } from 'node:crypto';
import { randomCase } from '../src/sim/fuzz/generate.js';
import { InvariantChecker } from '../src/sim/invariants.js';
import { directPortFactory, runScenario } from '../src/sim/runner.js';

const [fromText, countText, flag, sitesText] = process.argv.slice(2);
const from = Number(fromText);
const count = Number(countText);
const sites = flag === '--sites' ? Number(sitesText) : undefined;
if (
  !Number.isInteger(from) ||
  !Number.isInteger(count) ||
  count < 1 ||
  (sites !== 2 && sites !== 3 && sites !== undefined)
) {
  process.stderr.write('usage: tsx scripts/fuzz-fingerprint.ts FROM COUNT [--sites 2|3]\n');
  process.exit(2);
}
const portFactory = await directPortFactory();
for (let seed = from; seed < from + count; seed++) {
  const c = randomCase(seed, sites !== undefined ? { sites } : {});
  const checker = new InvariantChecker(
    c.scenario,
    c.livenessFrom !== undefined ? { livenessFrom: c.livenessFrom } : {},
  );
  const r = await runScenario(c.scenario, { portFactory, decisions: false, observer: checker });
  const { wallMilliseconds: _wall, ...metrics } = r.metrics;
  const line = {
    seed,
    durationSeconds: c.scenario.durationSeconds,
    metrics,
    final: r.final,
    violations: checker.violations,
    limitViolations: checker.limitViolations,
    liveness: checker.liveness ?? null,
    timeline: createHash('sha256').update(JSON.stringify(r.timeline)).digest('hex').slice(0, 16),
    timelineEntries: r.timeline.length,
  };
  process.stdout.write(JSON.stringify(line) + '\n');
}
