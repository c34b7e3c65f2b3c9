/**
 * A primary restarted locally after probes that failed (timed out: its SR role unknown) comes up
 * as primary and commits alone at once, like any primary that starts: its agent records its
 * secondaries SFAIL before the start, as it does for a primary it saw stopped (the model's
 * `finding-start-keeps-sok`, with the probe unknown). An agent on the in-memory store, in virtual
 * time; the fake HANA looks at the store when asked to start.
 */
import { describe, expect, it } from 'vitest';
import type { HanaHealth, SyncRecord } from '../../src/domain/types.js';
import type { HanaPort } from '../../src/hana/port.js';
import { agentRig } from '../support/agents.js';
import { link, primaryHealth, spec } from '../support/observations.js';

class Site implements HanaPort {
  failing = false;
  recordsAtStart: SyncRecord | undefined | null = null;
  constructor(
    public health: HanaHealth,
    private readonly atStart: () => Promise<SyncRecord | undefined>,
  ) {}
  probe(): Promise<HanaHealth> {
    return this.failing ? Promise.reject(new Error('probe timed out')) : Promise.resolve(this.health);
  }
  async takeover(): Promise<void> {}
  async register(): Promise<void> {}
  async start(): Promise<void> {
    this.recordsAtStart = await this.atStart();
    this.failing = false;
  }
  async stop(): Promise<void> {}
  async kill(): Promise<void> {}
}

describe('a primary restarted after failed probes', () => {
  it('has its secondaries recorded SFAIL before it starts', async () => {
    const { clock, coordination, events, agent } = agentRig({
      startAt: 1_000_000,
      spec: spec({ takeover: { preferSiteTakeover: false, failureThreshold: 2, localRestartAttempts: 1 } }),
    });
    const hanaA = new Site(
      primaryHealth([link('B')]),
      async () => (await coordination.read('ha1')).sync['B'],
    );
    const a = agent('A', hanaA);
    await a.start();
    await clock.advanceBy(4000);
    expect((await coordination.read('ha1')).sync['B']?.state).toBe('SOK');

    hanaA.failing = true;
    for (let i = 0; i < 10 && hanaA.recordsAtStart === null; i++) await clock.advanceBy(4000);
    const started = events.find((e) => e.event === 'action' && e.action === 'start-local');
    expect(started?.reason).toMatch(/restart_locally$/);
    expect(hanaA.recordsAtStart?.state).toBe('SFAIL');
    await a.stop();
  });
});
