/**
 * The fencing scenarios of examples/scenarios against each other: with fencing the takeover comes
 * early (a watchdog reset, a confirmed fence before the lease runs out); without it, or with a
 * fence that fails, it comes no earlier than today's rules allow.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/sim/scenario.js';
import { runScenario, type SimulationResult } from '../../src/sim/runner.js';

const dir = join(import.meta.dirname, '../../examples/scenarios');
const run = (file: string): Promise<SimulationResult> =>
  runScenario(parseScenario(readFileSync(join(dir, file), 'utf8'), file));
const first = (r: SimulationResult, site: string, event: string) =>
  r.timeline.find((e) => e.site === site && e.event === event);

describe('fencing in the scenarios', () => {
  it('a frozen primary: reset by its watchdog and taken over before the thaw; without it restarted locally at the thaw', async () => {
    const withWd = await run('frozen-primary-watchdog.yaml');
    const without = await run('frozen-primary-no-watchdog.yaml');
    const reset = first(withWd, 'A', 'node:watchdog-reset')!;
    expect(reset.t).toBeGreaterThan(60);
    expect(reset.t).toBeLessThanOrEqual(60 + 7);
    expect(withWd.metrics.firstTakeoverSeconds).toBeLessThan(100);
    expect(first(without, 'A', 'node:watchdog-reset')).toBeUndefined();
    // Its probes timed out past the commit-alone moment: B's SOK no longer vouches for A's writes.
    expect(without.metrics.firstTakeoverSeconds).toBeNull();
    expect(without.final.primary).toBe('A');
    expect(first(without, 'A', 'decision:start-local')?.reason).toBe('secondary_not_in_sync_restart_locally');
  });

  it('node loss: a confirmed fence takes over before the lease runs out; a failed or hung fence waits for it', async () => {
    const fenced = await run('crash-primary-node-fence-agent.yaml');
    const fails = await run('crash-primary-node-fence-fails.yaml');
    const hangs = await run('crash-primary-node-fence-hangs.yaml');
    const ttl = 20;
    expect(first(fenced, 'B', 'action:fence-node')?.reason).toBe('node_fenced');
    expect(first(fenced, 'B', 'decision:takeover')?.reason).toBe('fenced_leader_takeover');
    expect(fenced.metrics.firstTakeoverSeconds! - 60).toBeLessThan(ttl);
    for (const r of [fails, hangs]) {
      expect(first(r, 'B', 'action-failed:fence-node')?.reason).toBe('node_fence_failed');
      expect(r.timeline.some((e) => e.reason === 'fenced_leader_takeover')).toBe(false);
      expect(r.metrics.firstTakeoverSeconds!).toBeGreaterThan(fenced.metrics.firstTakeoverSeconds!);
      expect(r.metrics.maxConcurrentPrimaries).toBe(1);
    }
  });

  it('node loss, a hung fence and a silence window past the TTL: B waits for a TTL of silence, not the window, and takes over while the fence still runs, within its in-sync trust', async () => {
    // failureThreshold 20 x interval 2 s: a 40-s silence window, against a 10-s TTL and a 30-s
    // log-shipping timeout (the schema's floor: 10 + 3 x 5 + 1 = 26 s). Waiting that window
    // after the node's last answer would pass B's in-sync trust (its last SOK, about 60 s, plus
    // 30 s less a cycle and the skew bound): nothing would be promoted. The fence hangs for its
    // 60-s timeout. Waiting a TTL, B decides within the TTL and a cycle of the crash, as the lease
    // rule alone does.
    const text = readFileSync(join(dir, 'crash-primary-node-fence-hangs.yaml'), 'utf8')
      .replace('name: crash-primary-node-fence-hangs', 'name: crash-primary-node-fence-hangs-long-window')
      .replace(
        'takeover: { automatedRegister: true }',
        'takeover: { automatedRegister: true, failureThreshold: 20 }',
      )
      .replace('lease: { ttlSeconds: 20 }', 'lease: { ttlSeconds: 10 }')
      .replace('logShippingTimeoutSeconds: 60', 'logShippingTimeoutSeconds: 30')
      .replace('timeoutSeconds: 10\n', 'timeoutSeconds: 60\n');
    const r = await runScenario(parseScenario(text, 'crash-primary-node-fence-hangs-long-window.yaml'));
    const fence = first(r, 'B', 'decision:fence-node');
    const takeover = first(r, 'B', 'decision:takeover');
    const failed = first(r, 'B', 'action-failed:fence-node');
    expect(fence?.reason).toBe('fence_lost_leader');
    expect(takeover?.reason).toBe('primary_lost_takeover');
    expect(failed).toBeDefined();
    expect(takeover!.t).toBeLessThan(failed!.t);
    expect(takeover!.t - 60).toBeLessThanOrEqual(10 + 5);
    expect(r.metrics.maxConcurrentPrimaries).toBe(1);
    expect(r.metrics.lostCommittedWrites).toBe(0);
    expect(r.final.primary).toBe('B');
  });

  it('a frozen secondary with resetHungSecondaryAfterSeconds: reset, started again, in sync', async () => {
    const r = await run('frozen-secondary-reset.yaml');
    expect(first(r, 'B', 'node:watchdog-reset')).toBeDefined();
    expect(r.final.replicationStatus).toBe('ACTIVE');
  });

  it('the primary agent stopped: reset and taken over with the watchdog, kept without it', async () => {
    const withWd = await run('primary-agent-stopped.yaml');
    const without = await run('primary-agent-stopped-no-watchdog.yaml');
    expect(first(withWd, 'A', 'node:watchdog-reset')).toBeDefined();
    expect(withWd.final.primary).toBe('B');
    expect(without.final.primary).toBe('A');
  });

  it('a watchdog that comes back disarmed under the leader is armed again at the next feed, so the agent dying still resets the node', async () => {
    const base = readFileSync(join(dir, 'primary-agent-stopped.yaml'), 'utf8');
    // Gone at 31 s, between two cycles (every 2 s), and back at once (a driver reloaded) or after
    // 0.8 s without a device: no cycle sees it absent, and the next feed that finds the device
    // disarmed arms it again (sim:fuzz 637260222).
    for (const [back, name] of [
      [31, 'watchdog-back-at-once'],
      [31.8, 'watchdog-back-after-a-while'],
    ] as const) {
      const text = base
        .replace('name: primary-agent-stopped', `name: ${name}`)
        .replace(
          '  - { atSeconds: 60, action: stop-agent, site: A }',
          `  - { atSeconds: 31, action: remove-watchdog, site: A }\n  - { atSeconds: ${back}, action: restore-watchdog, site: A }\n  - { atSeconds: 60, action: stop-agent, site: A }`,
        );
      const r = await runScenario(parseScenario(text, `${name}.yaml`));
      const lost = r.timeline.find((e) => e.site === 'A' && e.reason === 'watchdog_lost');
      const rearmed = r.timeline.find(
        (e) => e.site === 'A' && e.event === 'node:watchdog-armed' && e.t >= back,
      );
      expect(lost?.t).toBeGreaterThanOrEqual(back);
      expect(rearmed!.t - back).toBeLessThanOrEqual(1);
      const reset = first(r, 'A', 'node:watchdog-reset')!;
      expect(reset.t).toBeGreaterThan(60);
      expect(reset.t).toBeLessThanOrEqual(60 + 7);
      expect(r.final.primary).toBe('B');
      expect(r.metrics.maxConcurrentPrimaries).toBe(1);
      expect(r.metrics.lostCommittedWrites).toBe(0);
    }
  });
});
