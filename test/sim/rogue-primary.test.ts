/**
 * A former primary started by hand next to the leader, its agent dead before it could stop it
 * (sim:fuzz 1318934025): nothing but a fence agent can stop it. With one, the leader powers its
 * node off within a cycle of it taking writes, then on again with HANA stopped; without one, the
 * two writers stay (README Limits).
 */
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/sim/scenario.js';
import { runScenario, type SimulationResult } from '../../src/sim/runner.js';

const scenario = (fenceAgent: boolean) => `
name: rogue-primary-${fenceAgent ? 'fenced' : 'no-fence-agent'}
seed: 7
durationSeconds: 200
initialPrimary: A
cluster:
  sid: HA1
  instanceNumber: "00"
  sites:
    - { name: A, host: hana-a }
    - { name: B, host: hana-b }
  replication: { mode: sync, logShippingTimeoutSeconds: 30 }
  takeover: { automatedRegister: false, failureThreshold: 3 }
  probes: { intervalSeconds: 2, timeoutSeconds: 1 }
  lease: { ttlSeconds: 10 }
  fencing:
    watchdog: { mode: disabled }
${fenceAgent ? '    agent: { command: fence_dummy, timeoutSeconds: 30, callTimeoutSeconds: 2, statusIntervalSeconds: 1 }' : ''}
workload: { writesPerSecond: 20 }
nodes: { bootSeconds: 20 }
faults:
  - { atSeconds: 20, action: planned-takeover, site: B }
  - { atSeconds: 60, action: stop-agent, site: A }
  - { atSeconds: 61, action: restart-instance, site: A }
`;

const run = (fenceAgent: boolean): Promise<SimulationResult> =>
  runScenario(parseScenario(scenario(fenceAgent), 'rogue-primary.yaml'));
const first = (r: SimulationResult, site: string, event: string, reason?: RegExp) =>
  r.timeline.find(
    (e) => e.site === site && e.event === event && (reason === undefined || reason.test(e.reason)),
  );

describe('a primary started by hand whose agent died', () => {
  it('with a fence agent: the leader fences its node within a cycle and a fence, then powers it on', async () => {
    const r = await run(true);
    const up = first(r, 'A', 'hana:started', /dual primary/);
    expect(up).toBeDefined();
    const decided = first(r, 'B', 'decision:fence-node')!;
    expect(decided.reason).toBe('fence_rogue_primary');
    const off = first(r, 'A', 'node:fenced-off')!;
    // A cycle (interval + probe) to see it, then the fence device's off (its call and a status).
    expect(decided.t - up!.t).toBeLessThanOrEqual(2 + 1 + 1);
    expect(off.t - up!.t).toBeLessThanOrEqual(2 + 1 + 1 + 2 + 1 + 2);
    expect(first(r, 'B', 'action:fence-node', /node_powered_on/)).toBeDefined();
    expect(first(r, 'A', 'node:fenced-on')!.t).toBeGreaterThan(off.t);
    // B stayed the primary throughout and alone after the fence.
    expect(r.final.primary).toBe('B');
    expect(r.timeline.filter((e) => e.event === 'decision:fence-node').length).toBe(1);
  });

  it('without one: the two writers stay, the known limit', async () => {
    const r = await run(false);
    expect(first(r, 'A', 'hana:started', /dual primary/)).toBeDefined();
    expect(r.timeline.some((e) => e.event === 'decision:fence-node')).toBe(false);
    expect(r.metrics.maxConcurrentPrimaries).toBe(2);
  });
});
