/**
 * A fence is reported only once the stop is confirmed. A stop that does not complete is followed
 * by a kill; when neither completes within its deadline the agent says so (an `action-failed`
 * event with reason fence_failed, its report's lastAction, hanasr_fencing_failures_total), keeps
 * `fenced` false, and tries again on its next cycle. Real Agent, in-memory store, virtual clock.
 */
import { describe, expect, it } from 'vitest';
import { AgentMetrics } from '../../src/agent/metrics.js';
import type { HanaHealth } from '../../src/domain/types.js';
import type { HanaPort } from '../../src/hana/port.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { detectFenceFailures } from '../../src/operator/outcomes.js';
import { agentRig } from '../support/agents.js';
import { primaryHealth, stoppedPrimaryHealth } from '../support/observations.js';

/** A site whose stop and kill hang until the test lets them work. */
class StubbornSite implements HanaPort {
  health: HanaHealth = primaryHealth([]);
  stopWorks = false;
  killWorks = false;
  readonly calls: string[] = [];
  probe(): Promise<HanaHealth> {
    return Promise.resolve(this.health);
  }
  async takeover(): Promise<void> {}
  async register(): Promise<void> {}
  async start(): Promise<void> {}
  stop(_o: { readonly hard: boolean }, signal?: AbortSignal): Promise<void> {
    this.calls.push('stop');
    return this.settle(this.stopWorks, signal);
  }
  kill(signal?: AbortSignal): Promise<void> {
    this.calls.push('kill');
    return this.settle(this.killWorks, signal);
  }
  private settle(works: boolean, signal?: AbortSignal): Promise<void> {
    if (works) {
      this.health = stoppedPrimaryHealth();
      return Promise.resolve();
    }
    return new Promise((_, reject) =>
      signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
    );
  }
}

describe('fencing the own site', () => {
  it('is reported only once the stop is confirmed; a failed one is an event, a metric and a retry', async () => {
    const rig = agentRig({ startAt: 1_700_000_000_000 });
    const { clock, coordination: store, spec: s, events } = rig;
    // B holds the leader key; A still runs as a writable primary: A must fence itself.
    const b = store.session('ha1', 'B', s.lease.ttlSeconds);
    await b.start();
    expect(await b.acquireLeader(0, clock.now())).toMatchObject({ site: 'B', epoch: 1 });
    const hana = new StubbornSite();
    const metrics = createMetrics(undefined, { version: 'test' });
    // The cycle that failed to fence overran its interval, so the next one starts at once (fixed
    // rate): the stop is made to work from the moment the failure is reported.
    let fencedAtFailure: boolean | null = null;
    const agent = rig.agent('A', hana, {
      onEvent: (e) => {
        if (e.reason === 'fence_failed' && fencedAtFailure === null) {
          fencedAtFailure = agent.isFenced;
          hana.stopWorks = true;
        }
      },
      stopTimeoutMs: 10_000,
      metrics: new AgentMetrics({ metrics, namespace: '', cluster: 'ha1', site: 'A' }),
    });
    const failures = async () =>
      (await metrics.registry.getSingleMetric('hanasr_fencing_failures_total')!.get()).values.find(
        (v) => v.labels['site'] === 'A',
      )?.value;
    await agent.start();
    await clock.advanceBy(100);
    expect(agent.lastDecision?.reason).toBe('leader_key_held_by_other');

    // The hard stop hangs: not fenced while it runs, nor after it timed out and the kill started.
    await clock.advanceBy(5_000);
    expect(agent.isFenced).toBe(false);
    await clock.advanceBy(10_000);
    expect(hana.calls).toEqual(['stop', 'kill']);
    expect(events.some((e) => e.event === 'action-failed' && e.reason === 'stop_failed')).toBe(true);
    expect(agent.isFenced).toBe(false);

    // The kill times out too: fence_failed, not fenced, counted, and in the next report.
    await clock.advanceBy(6_000);
    expect(fencedAtFailure).toBe(false);
    const failed = events.find((e) => e.reason === 'fence_failed');
    expect(failed).toMatchObject({ event: 'action-failed', action: 'fence' });
    expect(failed?.message).toMatch(/A is not stopped.*retrying on the next cycle/);
    expect(await failures()).toBe(1);
    // The next cycle published it and tried again; this time the stop worked.
    const report = (await store.read('ha1')).reports['A']!;
    expect(report.fenced).toBe(false);
    expect(report.lastAction).toMatchObject({ reason: 'fence_failed', ok: false });
    expect(detectFenceFailures(await store.read('ha1'))).toEqual([
      expect.objectContaining({ event: expect.objectContaining({ type: 'Warning', reason: 'FenceFailed' }) }),
    ]);
    await clock.advanceBy(1_000);
    expect(hana.calls.filter((c) => c === 'stop').length).toBeGreaterThanOrEqual(2);
    expect(agent.isFenced).toBe(true);
    expect(agent.lastAction).toMatchObject({ action: 'fence', ok: true, message: 'fenced A (stopped)' });
    await clock.advanceBy(2_500);
    expect((await store.read('ha1')).reports['A']!.fenced).toBe(true);
    expect(detectFenceFailures(await store.read('ha1'))).toEqual([]);
    await agent.stop();
    await b.close();
  });

  it('a stop that never completes is followed by a kill that does: fenced, and the event says how', async () => {
    const rig = agentRig({ startAt: 1_700_000_000_000 });
    const { clock, coordination: store, spec: s } = rig;
    const b = store.session('ha1', 'B', s.lease.ttlSeconds);
    await b.start();
    await b.acquireLeader(0, clock.now());
    const hana = new StubbornSite();
    hana.killWorks = true;
    const agent = rig.agent('A', hana, { stopTimeoutMs: 10_000 });
    await agent.start();
    await clock.advanceBy(11_000);
    expect(hana.calls).toEqual(['stop', 'kill']);
    expect(agent.isFenced).toBe(true);
    expect(agent.lastAction).toMatchObject({ action: 'fence', ok: true });
    expect(agent.lastAction?.message).toContain('killed (HDB kill-9, the hard stop did not complete)');
    await agent.stop();
    await b.close();
  });
});
