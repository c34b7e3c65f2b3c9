/**
 * Node loss: time to a writable new primary with a confirmed fence (STONITH through the fence
 * agent, then the leader key taken over at the old term) against the lease-only path (no fence
 * agent: the secondary waits for the old leader's lease to run out), in the same run of the
 * simulator (virtual time, the real Agent code, simulated fence devices: off 2 s, status 0.5 s).
 * For each lease TTL and seed: the primary's node crashes at t=60; the figure is the time from the
 * crash until the new primary accepts writes (the scenario's write-unavailable seconds). Printed,
 * not asserted.
 *
 * Run: npx tsx bench/fencing.ts [seeds=5]
 */
import { parseSpec } from '../src/api/spec.js';
import { directPortFactory, runScenario } from '../src/sim/runner.js';
import type { Scenario } from '../src/sim/scenario.js';

const SEEDS = Number(process.argv[2] ?? 5);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function scenario(seed: number, ttlSeconds: number, fenceAgent: boolean): Scenario {
  return {
    name: `bench-fencing-${ttlSeconds}-${fenceAgent}`,
    seed,
    durationSeconds: 180,
    initialPrimary: 'A',
    cluster: parseSpec({
      sid: 'HA1',
      instanceNumber: '00',
      sites: [
        { name: 'A', host: 'hana-a' },
        { name: 'B', host: 'hana-b' },
      ],
      takeover: { automatedRegister: true },
      lease: { ttlSeconds },
      replication: { logShippingTimeoutSeconds: Math.max(30, ttlSeconds * 3) },
      fencing: fenceAgent ? { agent: { command: 'fence_ipmilan' } } : {},
    }),
    workload: { writesPerSecond: 20 },
    // Offset by the seed so the crash falls at another point of the renewal and probe cycles.
    faults: [{ atSeconds: 60 + (seed % 10) / 10, action: 'crash-node', site: 'A' }],
    expect: { primary: 'B', takeovers: 1, lostCommittedWrites: 0, maxConcurrentPrimaries: 1 },
  };
}

const port = await directPortFactory();
const rows: string[] = [];
for (const ttl of [10, 20, 30]) {
  const lease: number[] = [];
  const fenced: number[] = [];
  for (let seed = 1; seed <= SEEDS; seed++) {
    for (const withAgent of [false, true]) {
      const r = await runScenario(scenario(seed, ttl, withAgent), { portFactory: port, decisions: false });
      if (!r.passed)
        throw new Error(
          `ttl ${ttl} seed ${seed} fence agent ${withAgent}: ${JSON.stringify(r.expectations)}`,
        );
      (withAgent ? fenced : lease).push(r.metrics.writeUnavailableSeconds);
    }
  }
  rows.push(
    `| ${ttl} s | ${median(lease).toFixed(1)} s (${Math.min(...lease).toFixed(1)}-${Math.max(...lease).toFixed(1)}) | ${median(fenced).toFixed(1)} s (${Math.min(...fenced).toFixed(1)}-${Math.max(...fenced).toFixed(1)}) |`,
  );
}
console.log(`node loss to a writable new primary, median (min-max) over ${SEEDS} seeds, virtual time`);
console.log('| lease.ttlSeconds | lease only | confirmed fence |');
console.log('|---|---|---|');
for (const r of rows) console.log(r);
