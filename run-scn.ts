import { readFileSync } from 'node:fs';
import { parseScenario } from './src/sim/scenario.js';
import { runScenario } from './src/sim/runner.js';
const f = process.argv[2]!;
const from = Number(process.argv[3] ?? 0), to = Number(process.argv[4] ?? 1e9);
const r = await runScenario(parseScenario(readFileSync(f, 'utf8'), f));
for (const e of r.timeline) if (e.t >= from && e.t <= to) console.log(e.t, e.site, e.event, e.reason, e.message ?? '');
console.log(JSON.stringify(r.expectations), JSON.stringify(r.metrics));
