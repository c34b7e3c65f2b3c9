/**
 * Parse time of every HANA output parser on pathological inputs (long runs of spaces, one huge
 * line, millions of short lines, many services, repeated keys, ...) at 64 KiB, 256 KiB, 1 MiB and
 * 4 MiB, the runner's output cap. Goal: every parser well under 100 ms at 4 MiB, and time growing
 * linearly with the size. A series that takes more than 1 s is not run at the larger sizes.
 * Figures are CPU time of this process (user + system, best of 3), which a busy machine inflates
 * less than wall time; the wall time of the worst input is printed too.
 * Prints figures; asserts nothing. Run: npx tsx bench/parsers.ts [--all]
 */
import { HanaParseError } from '../src/hana/parsers/index.js';
import { hostileInputs, MiB } from '../rigs/hostile-parser-inputs.js';

const sizes = [MiB / 16, MiB / 4, MiB, 4 * MiB];
const label = (n: number) => (n >= MiB ? `${n / MiB} MiB` : `${n / 1024} KiB`);
const STOP_MS = 1000;
const all = process.argv.includes('--all');

interface Series {
  parser: string;
  name: string;
  ms: Map<number, number>;
  wall: Map<number, number>;
  stoppedAt?: number;
  outcome: string;
}
const series = new Map<string, Series>();

function time(parse: (t: string) => unknown, text: string): { ms: number; wall: number; outcome: string } {
  let best = Infinity;
  let bestWall = Infinity;
  let outcome = 'parsed';
  for (let i = 0; i < 3; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    try {
      parse(text);
      outcome = 'parsed';
    } catch (err) {
      outcome = err instanceof HanaParseError ? 'refused' : `CRASHED: ${(err as Error).message.slice(0, 80)}`;
    }
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    const ms = (cpu.user + cpu.system) / 1000;
    best = Math.min(best, ms);
    bestWall = Math.min(bestWall, wall);
    if (ms > STOP_MS) break;
  }
  return { ms: best, wall: bestWall, outcome };
}

console.log(`node ${process.version}; CPU ms, best of 3 per input; sizes ${sizes.map(label).join(', ')}`);
for (const size of sizes) {
  for (const input of hostileInputs(size)) {
    const key = `${input.parser.name}\u0000${input.name}`;
    let s = series.get(key);
    if (!s) {
      s = { parser: input.parser.name, name: input.name, ms: new Map(), wall: new Map(), outcome: '' };
      series.set(key, s);
    }
    if (s.stoppedAt !== undefined) continue;
    const { ms, wall, outcome } = time(input.parser.parse, input.text);
    s.ms.set(size, ms);
    s.wall.set(size, wall);
    s.outcome = outcome;
    if (ms > STOP_MS) s.stoppedAt = size;
  }
}

const big = sizes[sizes.length - 1]!;
const fmt = (ms: number | undefined) => (ms === undefined ? '-' : ms.toFixed(1));
const byParser = new Map<string, Series[]>();
for (const s of series.values()) byParser.set(s.parser, [...(byParser.get(s.parser) ?? []), s]);

console.log();
console.log(
  'parser'.padEnd(24),
  'inputs'.padStart(6),
  `median cpu ms @${label(big)}`.padStart(16),
  `worst cpu ms @${label(big)}`.padStart(15),
  '  worst input (cpu ms at each size; wall ms at the largest)',
);
let superlinear = 0;
for (const [parser, list] of byParser) {
  const done = list.filter((s) => s.stoppedAt === undefined).map((s) => s.ms.get(big)!);
  done.sort((a, b) => a - b);
  const worst = [...list].sort(
    (a, b) =>
      (b.stoppedAt === undefined ? 0 : 1) - (a.stoppedAt === undefined ? 0 : 1) ||
      (b.ms.get(big) ?? 0) - (a.ms.get(big) ?? 0),
  )[0]!;
  superlinear += list.filter((s) => s.stoppedAt !== undefined).length;
  console.log(
    parser.padEnd(24),
    String(list.length).padStart(6),
    fmt(done[Math.floor(done.length / 2)]).padStart(16),
    (worst.stoppedAt !== undefined
      ? `>${STOP_MS} @${label(worst.stoppedAt)}`
      : fmt(worst.ms.get(big))
    ).padStart(15),
    `  ${worst.name} (${sizes.map((z) => fmt(worst.ms.get(z))).join(' / ')}; wall ${fmt(worst.wall.get(big))}) ${worst.outcome}`,
  );
}
const crashed = [...series.values()].filter((s) => s.outcome.startsWith('CRASHED'));
console.log();
console.log(
  `series over ${STOP_MS} ms (not run at larger sizes): ${superlinear}; crashed (not a HanaParseError): ${crashed.length}`,
);
for (const s of [...series.values()].filter(
  (x) => all || x.stoppedAt !== undefined || x.outcome.startsWith('CRASHED'),
))
  console.log(
    `  ${s.parser} / ${s.name}: ${sizes.map((z) => fmt(s.ms.get(z))).join(' / ')} ms${s.stoppedAt !== undefined ? ` (stopped at ${label(s.stoppedAt)})` : ''} ${s.outcome}`,
  );
