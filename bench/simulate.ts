/**
 * How long `hanasr simulate` takes per scenario (wall time of the virtual-time run, median of
 * five), for the "600 simulated seconds in well under a second" goal. Prints figures; asserts
 * nothing. Run: npm run bench
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseScenario } from '../src/sim/scenario.js';
import { runScenario } from '../src/sim/runner.js';

const dir = join(import.meta.dirname, '../examples/scenarios');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`node ${process.version}`);
console.log('scenario'.padEnd(40), 'simulated s', 'wall ms (median of 5)');
for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
  const scenario = parseScenario(readFileSync(join(dir, file), 'utf8'), file);
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await runScenario(scenario);
    times.push(performance.now() - t0);
  }
  console.log(
    file.padEnd(40),
    String(scenario.durationSeconds).padStart(11),
    median(times).toFixed(0).padStart(10),
  );
}
