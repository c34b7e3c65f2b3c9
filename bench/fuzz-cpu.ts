/**
 * CPU time of the fuzz runner per 600 simulated seconds, on one thread: the figure its throughput
 * target rests on (100 schedules/s on two cores means 20 ms of CPU per 600 simulated s). Process
 * CPU time, not wall time, so a run at nice 19 on a shared machine still says something (load
 * inflates it too: compare builds alternated, at the same load).
 *
 * Usage: tsx bench/fuzz-cpu.ts [FROM] [COUNT] [--dist DIR]
 *   FROM, COUNT: the schedules (seeds FROM .. FROM+COUNT-1; default 777000 150), after one warm-up
 *   --dist DIR:  a built tree (`npm run build`'s dist, or another build's copy) instead of src/
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

type Summary = typeof import('../src/sim/fuzz/summary.js');

const args = process.argv.slice(2);
const distAt = args.indexOf('--dist');
const dist = distAt >= 0 ? args.splice(distAt, 2)[1] : undefined;
const from = Number(args[0] ?? 777000);
const count = Number(args[1] ?? 150);
if (!Number.isInteger(from) || !Number.isInteger(count) || count < 1 || (distAt >= 0 && !dist)) {
  process.stderr.write('usage: tsx bench/fuzz-cpu.ts [FROM] [COUNT] [--dist DIR]\n');
  process.exit(2);
}
const { runSeed } = (await import(
  dist ? pathToFileURL(resolve(dist, 'sim/fuzz/summary.js')).href : '../src/sim/fuzz/summary.js'
)) as Summary;

await runSeed(from - 1); // warm-up (compilation), not counted
const started = process.cpuUsage();
let simulated = 0;
for (let seed = from; seed < from + count; seed++) simulated += (await runSeed(seed)).simulatedSeconds;
const used = process.cpuUsage(started);
const cpuMs = (used.user + used.system) / 1000;
const per600 = (cpuMs / simulated) * 600;
process.stdout.write(
  JSON.stringify({
    from,
    count,
    ...(dist ? { dist } : {}),
    cpuMs: Math.round(cpuMs),
    simulatedSeconds: simulated,
    cpuMsPer600SimulatedSeconds: Math.round(per600 * 10) / 10,
    projectedSchedulesPerSecondOn2Cores: Math.round((2000 / per600) * 10) / 10,
  }) + '\n',
);
