/**
 * failureThreshold as the agent counts it: the Agent runs against the in-memory coordination on a
 * virtual clock and a tiny HanaPort written here (a real implementation of the port whose health
 * the test sets), so the counting of consecutive failed probes, its reset by a good probe, and
 * the decision at the threshold are tested end to end, without mocks.
 */
import { describe, expect, it } from 'vitest';
import type { HanaHealth } from '../../src/domain/types.js';
import type { HanaPort, RegisterOptions } from '../../src/hana/port.js';
import { agentRig } from '../support/agents.js';
import { link, primaryHealth, secondaryHealth, stoppedPrimaryHealth } from '../support/observations.js';

type ProbeMode = 'ok' | 'error' | 'hang';

/** A HANA site whose probe answers what the test says, and whose actions change its state. */
class ControlledHana implements HanaPort {
  probeMode: ProbeMode = 'ok';
  readonly calls: string[] = [];

  constructor(public health: HanaHealth) {}

  probe(signal?: AbortSignal): Promise<HanaHealth> {
    if (this.probeMode === 'error') return Promise.reject(new Error('nameserver hana:30001 not responding'));
    if (this.probeMode === 'hang') {
      return new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));
    }
    return Promise.resolve(this.health);
  }

  async takeover(options: { readonly handshake: boolean }): Promise<void> {
    this.calls.push(`takeover${options.handshake ? ' --suspendPrimary' : ''}`);
    this.health = primaryHealth([]);
  }

  async register(options: RegisterOptions): Promise<void> {
    this.calls.push(`register ${options.remoteSite}`);
    this.health = secondaryHealth(options.remoteSite, { running: false });
  }

  async start(): Promise<void> {
    this.calls.push('start');
    this.health = { ...this.health, running: true, acceptsWrites: this.health.srRole === 'primary' };
  }

  async stop(): Promise<void> {
    this.calls.push('stop');
    this.health =
      this.health.srRole === 'primary' ? stoppedPrimaryHealth() : { ...this.health, running: false };
  }

  async kill(): Promise<void> {
    this.calls.push('kill');
    this.health =
      this.health.srRole === 'primary' ? stoppedPrimaryHealth() : { ...this.health, running: false };
  }
}

const INTERVAL_MS = 2000;

async function landscape(linkToB = link('B')) {
  const { clock, coordination, events, agent } = agentRig();
  const hanaA = new ControlledHana(primaryHealth([linkToB]));
  const hanaB = new ControlledHana(secondaryHealth('A'));
  const a = agent('A', hanaA);
  const b = agent('B', hanaB);
  await a.start();
  await b.start();
  // Three healthy cycles: A bootstraps the key, writes B's sync state and its LPT.
  await clock.advanceBy(2 * INTERVAL_MS);
  const state = await coordination.read('ha1');
  expect(state.leader).toMatchObject({ site: 'A', epoch: 1 });
  expect(a.lastDecision?.reason).toBe('leader_healthy');
  const cycle = () => clock.advanceBy(INTERVAL_MS);
  return { clock, coordination, hanaA, hanaB, a, b, events, cycle };
}

describe('failureThreshold through the agent', () => {
  it('1..threshold-1 failed probes change nothing; at the threshold the primary is given up', async () => {
    const { coordination, hanaA, hanaB, a, b, cycle } = await landscape();
    hanaA.probeMode = 'error';
    for (const n of [1, 2]) {
      await cycle();
      expect(a.lastDecision).toMatchObject({
        action: { kind: 'none' },
        reason: 'primary_probe_failed_below_threshold',
      });
      expect(a.lastDecision?.message).toContain(`primary A failed ${n} of 3 probes (nameserver`);
      expect(hanaA.calls).toEqual([]);
      expect(hanaB.calls).toEqual([]);
      expect((await coordination.read('ha1')).leader?.site).toBe('A');
      expect(b.lastDecision?.reason).toBe('secondary_healthy');
    }
    await cycle();
    expect(a.lastDecision).toMatchObject({
      action: { kind: 'step-down', fence: 'stop' },
      reason: 'primary_failed_takeover',
    });
    expect(a.lastDecision?.message).toContain('in-sync secondary B');
    expect(hanaA.calls).toEqual(['stop']);
    // B, which cycles right after A, takes the key and is promoted.
    expect(b.lastDecision).toMatchObject({ action: { kind: 'takeover' }, reason: 'primary_lost_takeover' });
    expect(hanaB.calls).toEqual(['takeover']);
    expect((await coordination.read('ha1')).leader).toMatchObject({ site: 'B', epoch: 2 });
  });

  it('a good probe resets the count', async () => {
    const { coordination, hanaA, a, cycle } = await landscape();
    const pattern: ProbeMode[] = ['error', 'error', 'ok', 'error', 'error'];
    for (const mode of pattern) {
      hanaA.probeMode = mode;
      await cycle();
    }
    expect(a.lastDecision?.reason).toBe('primary_probe_failed_below_threshold');
    expect(a.lastDecision?.message).toContain('failed 2 of 3 probes');
    expect(hanaA.calls).toEqual([]);
    expect((await coordination.read('ha1')).leader?.site).toBe('A');
    hanaA.probeMode = 'error';
    await cycle();
    expect(a.lastDecision?.reason).toBe('primary_failed_takeover');
  });

  it('a hung probe counts as failed (its timeout, never a healthy answer)', async () => {
    const { clock, hanaA, a } = await landscape();
    hanaA.probeMode = 'hang';
    // Each cycle now takes the probe timeout (3 s, longer than the 2 s interval): cycles run at a
    // fixed rate, so the next one starts as soon as the overrunning one ends.
    const until = async (reason: string, withinMs: number): Promise<number> => {
      let waited = 0;
      while (a.lastDecision?.reason !== reason && waited < withinMs) {
        await clock.advanceBy(100);
        waited += 100;
      }
      return waited;
    };
    await until('primary_probe_failed_below_threshold', INTERVAL_MS + 3000);
    expect(a.lastDecision?.reason).toBe('primary_probe_failed_below_threshold');
    expect(a.lastDecision?.message).toContain('failed 1 of 3 probes (HANA probe timed out');
    // Two more hung probes, back to back.
    await until('primary_failed_takeover', 2 * 3000 + 200);
    expect(a.lastDecision?.reason).toBe('primary_failed_takeover');
    expect(hanaA.calls).toEqual(['stop']);
  });

  it('an instance that answers but is not running counts as failed too', async () => {
    const { hanaA, a, cycle } = await landscape();
    hanaA.health = stoppedPrimaryHealth();
    await cycle();
    await cycle();
    expect(a.lastDecision?.message).toContain('failed 2 of 3 probes (not running)');
    await cycle();
    expect(a.lastDecision?.reason).toBe('primary_failed_takeover');
  });

  it('at the threshold with an SFAIL secondary the primary is restarted locally and keeps the key', async () => {
    const { coordination, hanaA, hanaB, a, b, cycle } = await landscape(
      link('B', { status: 'SYNCING', inSync: false }),
    );
    expect((await coordination.read('ha1')).sync.B).toMatchObject({ state: 'SFAIL', epoch: 1 });
    hanaA.health = stoppedPrimaryHealth();
    await cycle();
    await cycle();
    expect(hanaA.calls).toEqual([]);
    await cycle();
    expect(a.lastDecision).toMatchObject({
      action: { kind: 'start-local', restart: true },
      reason: 'secondary_not_in_sync_restart_locally',
    });
    // A restart always stops the instance first (hard stop; a kill if that does not complete).
    expect(hanaA.calls).toEqual(['stop', 'start']);
    expect(hanaB.calls).toEqual([]);
    expect(b.lastDecision?.reason).toBe('secondary_healthy');
    expect((await coordination.read('ha1')).leader).toMatchObject({ site: 'A', epoch: 1 });
  });
});
