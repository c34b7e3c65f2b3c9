/** sim:fuzz goes on when one schedule cannot be generated or its worker dies: recorded, exit 3. */
import { describe, expect, it } from 'vitest';
import { main, type FuzzReport } from '../../src/sim/fuzz/cli.js';
import { randomCase } from '../../src/sim/fuzz/generate.js';

const broken = new URL('../support/fuzz-broken-worker.ts', import.meta.url);

async function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(argv, {
    worker: broken,
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
  });
  return { code, out, err };
}

describe('npm run sim:fuzz with a schedule that fails', () => {
  it('records the seed as an error, runs every other schedule, reports and exits 3', async () => {
    const r = await run('--schedules', '6', '--seed', '4242', '--workers', '1', '--json');
    const report = JSON.parse(r.out) as FuzzReport;
    expect(report.schedules).toBe(6);
    expect(report.errors.map((e) => e.seed)).toEqual([4243, 4245]);
    expect(report.errors[0]!.message).toMatch(/writesPerSecond: too big/);
    expect(report.errors[1]!.message).toMatch(/exited with code 7 while running this schedule/);
    // Every other schedule ran, 4246 and 4247 (in the dead worker's chunk) on a fresh worker.
    const others = [4242, 4244, 4246, 4247].map((s) => randomCase(s).scenario.durationSeconds);
    expect(report.simulatedSeconds).toBe(Math.round(others.reduce((a, b) => a + b, 0)));
    expect(report.violations).toEqual([]);
    expect(r.err).toMatch(/ERROR schedule 4243 could not be generated or run/);
    expect(r.code).toBe(3);
  }, 120_000);

  it('says so in the text report', async () => {
    const r = await run('--schedules', '2', '--seed', '4242', '--workers', '1');
    expect(r.out).toMatch(/schedules 2 in/);
    expect(r.out).toMatch(/errors: 1 schedules could not be generated or run .*4243 \(Error: workload/);
    expect(r.code).toBe(3);
  }, 120_000);
});
