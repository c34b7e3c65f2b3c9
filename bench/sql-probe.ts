/**
 * Latency of one SQL probe against the wire-protocol simulator on loopback: on a fresh connection
 * (SCRAM login + query + disconnect) and on the kept connection the agent's own lag probe uses
 * (keepConnection: the query alone). Prints figures; asserts nothing.
 *   npx tsx bench/sql-probe.ts [iterations]
 */
import { realClock } from '../src/clock.js';
import { HanaSqlProbe } from '../src/hana/sql/probe.js';
import { startHanaWireServer } from '../src/standins/hana-wire/server.js';
import type { SimSiteSnapshot } from '../src/standins/hana-sim/snapshot.js';

const n = Number(process.argv[2] ?? '50');
const t = Date.now();
const snapshot = (): SimSiteSnapshot => ({
  sid: 'HA1',
  instanceNumber: '00',
  site: 'A',
  siteId: 1,
  host: 'hana-a',
  now: Date.now(),
  nodeUp: true,
  running: true,
  frozen: false,
  processes: [],
  landscapeStatus: 4,
  srMode: 'primary',
  operationMode: 'logreplay',
  suspended: false,
  takeoverActive: false,
  topology: [],
  logAreaFull: false,
  links: [
    {
      secondarySite: 'B',
      secondarySiteId: 2,
      secondaryHost: 'hana-b',
      mode: 'sync',
      operationMode: 'logreplay',
      status: 'ACTIVE',
      statusDetails: '',
      secondaryActive: true,
      fullySynced: true,
      lastLogPosition: 2000,
      lastLogPositionTime: t,
      shippedLogPosition: 1990,
      shippedLogPositionTime: t - 20,
      replayedLogPosition: 1990,
      replayedLogPositionTime: t - 20,
      backlogSize: 640,
      backlogTimeMicros: 20000,
      shippedLogBuffersCount: 1,
      shippedLogBuffersSize: 4096,
      shippedLogBuffersDurationMicros: 100,
    },
  ],
});

for (const method of ['SCRAMPBKDF2SHA256', 'SCRAMSHA256'] as const) {
  const server = await startHanaWireServer({
    port: 0,
    user: 'SYSTEM',
    password: 'Bench-1',
    snapshot,
    authMethods: [method],
  });
  for (const keepConnection of [false, true]) {
    const probe = new HanaSqlProbe({
      host: '127.0.0.1',
      port: server.port,
      credentials: { user: 'SYSTEM', password: 'Bench-1' },
      timeoutMs: 5000,
      clock: realClock,
      keepConnection,
    });
    const how = keepConnection ? 'kept' : 'fresh';
    for (const [name, fn] of [
      ['availability', () => probe.availability()],
      ['replicationLag', () => probe.replicationLag(new AbortController().signal)],
    ] as const) {
      const times: number[] = [];
      for (let i = 0; i < n; i++) {
        const start = performance.now();
        await fn();
        times.push(performance.now() - start);
      }
      times.sort((a, b) => a - b);
      const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(1);
      console.log(
        `${method.padEnd(18)} ${how.padEnd(6)} ${name.padEnd(15)} n=${n} median=${q(0.5)} ms p90=${q(0.9)} ms max=${q(1)} ms`,
      );
    }
    await probe.close();
  }
  await server.close();
}
