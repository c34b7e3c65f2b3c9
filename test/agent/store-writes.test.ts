/**
 * Store writes that fail are not silent (issue 10 item 11): a failed write of the report, the
 * SOK/SFAIL records or the last-primary timestamp is counted in hanasr_store_write_failures_total
 * every time and told once per episode (and its end); and the secondary, reading the records that
 * stopped moving, does not trust them past their bound. Agents on the in-memory store, whose
 * writes can be made to fail, in virtual time.
 */
import { describe, expect, it } from 'vitest';
import { AgentMetrics } from '../../src/agent/metrics.js';
import { decide } from '../../src/domain/decide.js';
import type { HanaHealth } from '../../src/domain/types.js';
import type { HanaPort } from '../../src/hana/port.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { agentRig } from '../support/agents.js';
import { link, primaryHealth, secondaryHealth } from '../support/observations.js';

class Site implements HanaPort {
  constructor(public health: HanaHealth) {}
  probe(): Promise<HanaHealth> {
    return Promise.resolve(this.health);
  }
  async takeover(): Promise<void> {}
  async register(): Promise<void> {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async kill(): Promise<void> {}
}

describe('failed store writes', () => {
  it('are counted every time, told once per episode, and the stale SOK record expires', async () => {
    const { clock, coordination, spec: s, events, agent } = agentRig({ startAt: 1_000_000 });
    const metrics = createMetrics();
    const hanaA = new Site(primaryHealth([link('B')]));
    const a = agent('A', hanaA, {
      metrics: new AgentMetrics({ metrics, namespace: 'hana', cluster: 'ha1', site: 'A' }),
    });
    await a.start();
    await clock.advanceBy(4000);
    const before = (await coordination.read('ha1')).sync['B'];
    expect(before?.state).toBe('SOK');

    coordination.failWrites('A', ['sync', 'last-primary']);
    await clock.advanceBy(40_000);
    const failed = events.filter((e) => e.event === 'store-write-failed');
    expect(failed.map((e) => e.reason).sort()).toEqual(['last-primary_write_failed', 'sync_write_failed']);
    const counted = (await metrics.registry.getSingleMetricAsString('hanasr_store_write_failures_total'))
      .split('\n')
      .filter((l) => l.includes('write="sync"'))[0];
    expect(Number(counted?.split(' ').pop())).toBeGreaterThanOrEqual(10);

    // A's HANA fails; what a secondary reads now: B's SOK record stopped 40 s ago while A took
    // writes until a moment ago. A may have committed alone since; the record must not be trusted.
    hanaA.health = { ...hanaA.health, probeOk: false, running: false, acceptsWrites: false };
    await clock.advanceBy(2000);
    const state = await coordination.read('ha1');
    expect(state.sync['B']?.confirmedAt).toBe(before?.confirmedAt);
    const d = decide(
      {
        self: 'B',
        local: {
          health: secondaryHealth('A'),
          failedProbes: 0,
          localRestarts: 0,
          fenced: false,
          lastWritableAt: null,
        },
        leader: { state: 'free', lastEpoch: state.lastEpoch, lastLeader: 'A' },
        leaseAgeMs: 0,
        reports: state.reports,
        peers: {},
        sync: state.sync,
        lpt: state.lpt,
        intents: [],
      },
      s,
      clock.now(),
    );
    expect(d.action.kind).toBe('none');
    expect(d.reason).toBe('not_in_sync');

    hanaA.health = primaryHealth([link('B')]);
    coordination.failWrites('A', []);
    await clock.advanceBy(4000);
    expect(events.filter((e) => e.event === 'store-write-failed')).toHaveLength(2);
    expect(d.message).toContain('after the last SOK');
    expect(
      events
        .filter((e) => e.event === 'store-write-recovered')
        .map((e) => e.reason)
        .sort(),
    ).toEqual(['last-primary_write_recovered', 'sync_write_recovered']);
    expect((await coordination.read('ha1')).sync['B']?.confirmedAt).toBeGreaterThan(before!.confirmedAt);
    await a.stop();
  });
});
