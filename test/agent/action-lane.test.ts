/**
 * The concurrency rule of the agent's actions (src/agent/actions.ts): the cycle carries out one
 * action at a time, and the only action that may overtake it is the lease check's self-fence. A
 * leader whose `HDB start` hangs (the processes came up, the command never returns) is cut off
 * from the store: its cycle is stuck in the start for the whole action timeout, and the self-fence
 * still stops the writable site before the lease runs out. Real Agent, in-memory store, virtual clock.
 */
import { describe, expect, it } from 'vitest';
import { ActionLane, epochCheckOf } from '../../src/agent/actions.js';
import { fenceDeadlineMs } from '../../src/domain/decide.js';
import type { HanaHealth } from '../../src/domain/types.js';
import type { HanaPort } from '../../src/hana/port.js';
import { agentRig } from '../support/agents.js';
import { primaryHealth, stoppedPrimaryHealth } from '../support/observations.js';

/** A primary whose probe may fail, and whose start never returns (until its deadline aborts it). */
class HangingStart implements HanaPort {
  health: HanaHealth = primaryHealth([]);
  probeFails = false;
  readonly calls: { what: string; lane: ReturnType<() => ActionLane['inFlight']> | null }[] = [];
  lane: (() => ActionLane['inFlight']) | null = null;
  probe(): Promise<HanaHealth> {
    return this.probeFails ? Promise.reject(new Error('hdbnsutil hangs')) : Promise.resolve(this.health);
  }
  async takeover(): Promise<void> {}
  async register(): Promise<void> {}
  start(signal?: AbortSignal): Promise<void> {
    this.calls.push({ what: 'start', lane: this.lane?.() ?? null });
    return new Promise((_, reject) =>
      signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
    );
  }
  async stop(): Promise<void> {
    this.calls.push({ what: 'stop', lane: this.lane?.() ?? null });
    this.health = stoppedPrimaryHealth();
  }
  async kill(): Promise<void> {
    this.calls.push({ what: 'kill', lane: this.lane?.() ?? null });
  }
}

describe('the action lane', () => {
  it('lets a self-fence overtake a cycle stuck in a hung action, before the lease runs out', async () => {
    const rig = agentRig({ startAt: 1_700_000_000_000 });
    const { clock, coordination: store, spec: s, events } = rig;
    const hana = new HangingStart();
    const agent = rig.agent('A', hana, { actionTimeoutMs: 120_000 });
    hana.lane = () => agent.actions.inFlight;
    await agent.start();
    await clock.advanceBy(100);
    expect((await store.read('ha1')).leader?.site).toBe('A');

    // The primary stops answering; the leader restarts it (a stop first, then the start), and the
    // start hangs. The site may be writing: nothing good is known of it.
    hana.probeFails = true;
    for (let i = 0; i < 20 && !hana.calls.some((c) => c.what === 'start'); i++) await clock.advanceBy(1_000);
    expect(hana.calls.map((c) => c.what)).toEqual(['stop', 'start']);
    expect(agent.actions.inFlight).toEqual({ cycle: 'start-local', overtaking: 0 });

    // Cut off from the store: no renewal; the cycle stays stuck in the start.
    store.cut('A', true);
    const cutAt = clock.monotonic();
    await clock.advanceBy(fenceDeadlineMs(s) + 5_000);
    // The self-fence stopped the site beside the stuck start, within the lease.
    const stop = hana.calls[2];
    expect(stop?.what).toBe('stop');
    expect(stop).toBeDefined();
    expect(stop!.lane).toEqual({ cycle: 'start-local', overtaking: 1 });
    const fenced = events.find((e) => e.event === 'action' && e.action === 'fence');
    expect(fenced?.message).toBe('fenced A (stopped)');
    expect(fenced!.t - 1_700_000_000_000).toBeLessThan(cutAt + s.lease.ttlSeconds * 1000);
    expect(agent.isFenced).toBe(true);
    expect(agent.actions.inFlight).toEqual({ cycle: 'start-local', overtaking: 0 });

    // The hung start ends at its deadline, and says so; the site stays fenced.
    await clock.advanceBy(120_000);
    const failed = events.find((e) => e.event === 'action-failed' && e.action === 'start-local');
    expect(failed?.message).toMatch(/start-local failed: start timed out after 120000 ms/);
    expect(failed!.t).toBeGreaterThan(fenced!.t);
    expect(agent.isFenced).toBe(true);
    agent.kill();
  });

  it('runs one cycle action at a time, and lets only a self-fence overtake', async () => {
    const lane = new ActionLane();
    let release!: () => void;
    const stuck = lane.fromCycle('register', () => new Promise<void>((r) => (release = r)));
    await expect(lane.fromCycle('start-local', async () => {})).rejects.toThrow(
      'start-local while register runs: the cycle carries out one action at a time',
    );
    await expect(lane.overtaking('takeover', async () => {})).rejects.toThrow(
      'takeover may not overtake the cycle: only a self-fence may',
    );
    let during: ActionLane['inFlight'] | null = null;
    await lane.overtaking('fence', async () => {
      during = lane.inFlight;
    });
    expect(during).toEqual({ cycle: 'register', overtaking: 1 });
    release();
    await stuck;
    expect(lane.inFlight).toEqual({ cycle: null, overtaking: 0 });
  });

  it('declares how each action checks its epoch', () => {
    expect(epochCheckOf('register')).toBe('store');
    expect(epochCheckOf('start-local')).toBe('store');
    expect(epochCheckOf('fence-node')).toBe('store');
    expect(epochCheckOf('takeover')).toBe('leader-key');
    expect(epochCheckOf('promote')).toBe('leader-key');
    expect(epochCheckOf('step-down')).toBe('leader-key');
    expect(epochCheckOf('fence')).toBe('none');
  });
});
