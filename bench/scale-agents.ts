/**
 * The agents of many simulated HSR clusters in one process (bench/scale.ts starts it): per cluster a
 * simulated landscape (real time) and two Agents on it (SimDirectPort), each site with its own
 * etcd session and lease, all on one etcd client. Reads commands on stdin:
 *   `change I`  site B of cluster I crashes (its instance stops): prints `changed I <ms>`.
 * Prints `ready` once every agent has started.
 *
 * Run by bench/scale.ts: tsx bench/scale-agents.ts N ENDPOINTS PREFIX NAMESPACE
 */
import { createInterface } from 'node:readline';
import { Agent } from '../src/agent/agent.js';
import { parseSpec } from '../src/api/spec.js';
import { realClock } from '../src/clock.js';
import { EtcdCoordination } from '../src/coordination/etcd.js';
import { SimDirectPort } from '../src/standins/hana-sim/direct-port.js';
import { SimLandscape } from '../src/standins/hana-sim/model.js';

const [nArg, endpoints, prefix, namespace] = process.argv.slice(2);
const N = Number(nArg);
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
const landscapes: SimLandscape[] = [];
const agents: Agent[] = [];
for (let i = 0; i < N; i++) {
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
  landscapes.push(landscape);
  for (const site of ['A', 'B']) {
    const agent = new Agent({
      cluster: `${namespace}.c${i}`,
      site,
      spec: () => spec,
      hana: new SimDirectPort(landscape.site(site), realClock),
      coordination: store,
      clock: realClock,
      storeTimeoutMs: 5000,
    });
    agents.push(agent);
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
createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, arg] = line.trim().split(' ');
  if (cmd === 'change') {
    const i = Number(arg);
    landscapes[i]?.crashInstance('B');
    process.stdout.write(`changed ${i} ${Date.now()}\n`);
  } else if (cmd === 'stop') {
    for (const a of agents) a.kill();
    for (const l of landscapes) l.dispose();
    void store.close().finally(() => process.exit(0));
  }
});
