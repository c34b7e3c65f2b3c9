/**
 * The agents of many simulated HSR clusters in one process (bench/scale.ts starts it): per cluster a
 * simulated landscape (real time) and two Agents on it (SimDirectPort), each site with its own
 * etcd session and lease, all on one etcd client. Reads commands on stdin:
 *   `change I`  site B of cluster I crashes (its instance stops): prints `changed I <ms>`.
 * Prints `ready` once every agent has started.
 *
 * Run by bench/scale.ts: tsx bench/scale-agents.ts N ENDPOINTS PREFIX NAMESPACE [FROM TO]
 * (this process runs clusters FROM to TO - 1; default all N).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Agent } from '../src/agent/agent.js';
import { parseSpec } from '../src/api/spec.js';
import { realClock } from '../src/clock.js';
import { EtcdCoordination } from '../src/coordination/etcd.js';
import { SimDirectPort } from '../src/standins/hana-sim/direct-port.js';
import { SimLandscape } from '../src/standins/hana-sim/model.js';

const [nArg, endpoints, prefix, namespace, fromArg, toArg] = process.argv.slice(2);
const N = Number(nArg);
const FROM = fromArg === undefined ? 0 : Number(fromArg);
const TO = toArg === undefined ? N : Number(toArg);
const spec = parseSpec({
  sid: 'HA1',
  instanceNumber: '00',
  sites: [
    { name: 'A', host: 'hana-a' },
    { name: 'B', host: 'hana-b' },
  ],
  fencing: { watchdog: { mode: 'disabled' } },
});
const store = new EtcdCoordination({
  endpoints: endpoints!.split(','),
  keyPrefix: prefix!,
  callTimeoutMs: 5000,
});
const landscapes = new Map<number, SimLandscape>();
/** The last event of each agent (`cI/SITE`), for the progress lines on stderr. */
const lastEvents = new Map<string, string>();
const agents: Agent[] = [];
const agentIds: string[] = [];
for (let i = FROM; i < TO; i++) {
  const landscape = new SimLandscape({
    sid: 'HA1',
    instanceNumber: '00',
    sites: spec.sites.map((s) => ({ name: s.name, host: s.host })),
    initialPrimary: 'A',
    mode: 'sync',
    operationMode: 'logreplay',
    logShippingTimeoutSeconds: 30,
    clock: realClock,
    seed: i + 1,
    writesPerSecond: 1,
  });
  landscapes.set(i, landscape);
  for (const site of ['A', 'B']) {
    const id = `c${i}/${site}`;
    const agent = new Agent({
      onEvent: (e) => lastEvents.set(id, `${e.event} ${e.reason}: ${e.message}`.slice(0, 300)),
      cluster: `${namespace}.c${i}`,
      site,
      spec: () => spec,
      hana: new SimDirectPort(landscape.site(site), realClock),
      coordination: store,
      clock: realClock,
      storeTimeoutMs: 5000,
    });
    agents.push(agent);
    agentIds.push(id);
  }
}
// Spread the starts over one interval, as agents on many hosts would start.
await Promise.all(
  agents.map(async (a, k) => {
    await new Promise((r) => setTimeout(r, (k / agents.length) * spec.probes.intervalSeconds * 1000));
    await a.start();
  }),
);
process.stdout.write('ready\n');
// Every 30 s on stderr: agents that have not decided anything yet, and what one of them last said.
const lag = monitorEventLoopDelay({ resolution: 20 });
lag.enable();
setInterval(() => {
  const lagMs = `event loop delay p50 ${(lag.percentile(50) / 1e6).toFixed(0)} ms, max ${(lag.max / 1e6).toFixed(0)} ms`;
  lag.reset();
  const silent = agents.filter((a) => a.lastDecision === null);
  const k = agents.findIndex((a) => a.lastDecision === null);
  const id = k < 0 ? undefined : agentIds[k];
  const busy = silent.filter((a) => (a as unknown as { busy: unknown }).busy != null).length;
  process.stderr.write(
    `  [agents ${FROM}-${TO - 1}] ${lagMs}; ${silent.length} of ${agents.length} have decided nothing yet (${busy} of them in a cycle)${id !== undefined ? `; ${id}: ${lastEvents.get(id) ?? 'no event'}` : ''}\n`,
  );
}, 30_000).unref();
createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, arg] = line.trim().split(' ');
  if (cmd === 'change') {
    const i = Number(arg);
    landscapes.get(i)?.crashInstance('B');
    process.stdout.write(`changed ${i} ${Date.now()}\n`);
  } else if (cmd === 'stop') {
    for (const a of agents) a.kill();
    for (const l of landscapes.values()) l.dispose();
    void store.close().finally(() => process.exit(0));
  }
});
