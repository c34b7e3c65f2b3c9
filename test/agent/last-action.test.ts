/**
 * SiteReport.lastAction: the Agent publishes the outcome of its last action (done, failed or
 * refused) with its reason, so the operator tells a failed takeover from a decision text. Two
 * agents on the in-memory coordination and a virtual clock, each over a scripted site
 * (test/support/scripted-site.ts) whose takeover can be made to fail.
 */
import { describe, expect, it } from 'vitest';
import { reportSaysTakeoverFailed } from '../../src/operator/outcomes.js';
import { agentRig } from '../support/agents.js';
import { link, primaryHealth, secondaryHealth, stoppedPrimaryHealth } from '../support/observations.js';
import { ScriptedSite } from '../support/scripted-site.js';

/** A scripted site whose start makes it run again (writable if it is a primary). */
class Site extends ScriptedSite {
  override async start(): Promise<void> {
    this.health = { ...this.health, running: true, acceptsWrites: this.health.srRole === 'primary' };
  }
}

const INTERVAL_MS = 2000;

describe('SiteReport.lastAction', () => {
  it('carries each action result: done, failed (a failed takeover), and done again after a retry', async () => {
    const { clock, coordination, agent } = agentRig();
    const hanaA = new Site(primaryHealth([link('B')]), clock);
    const hanaB = new Site(secondaryHealth('A'), clock);
    const a = agent('A', hanaA);
    const b = agent('B', hanaB);
    await a.start();
    await b.start();
    await clock.advanceBy(2 * INTERVAL_MS);
    const read = async () => (await coordination.read('ha1')).reports;

    // A took the key: its report says so; B has taken no action yet.
    expect((await read())['A']?.lastAction).toMatchObject({
      action: 'acquire-leader',
      reason: 'bootstrap_leader',
      ok: true,
      message: 'acquired the leader key at epoch 1',
    });
    expect((await read())['B']?.lastAction).toBeUndefined();
    expect(b.lastAction).toBeNull();

    // A's instance stops; at the threshold A hands the key on, and B's takeover fails.
    hanaB.failTakeover = true;
    hanaA.health = stoppedPrimaryHealth();
    for (let i = 0; i < 3; i++) await clock.advanceBy(INTERVAL_MS);
    expect(a.lastAction).toMatchObject({ action: 'step-down', ok: true });
    expect(b.lastAction).toMatchObject({ ok: false, message: expect.stringContaining('exited 1') });
    expect(['takeover', 'promote']).toContain(b.lastAction?.action);
    // The next report publishes it, with the time it ended; the operator sees a failed takeover.
    await clock.advanceBy(INTERVAL_MS);
    const failed = (await read())['B']!;
    expect(failed.lastAction).toMatchObject({ ok: false });
    expect(failed.lastAction!.at).toBeLessThanOrEqual(failed.observedAt);
    expect(reportSaysTakeoverFailed(failed)).toBe(true);

    // The retry succeeds: the report says so and is no longer a failure.
    hanaB.failTakeover = false;
    for (let i = 0; i < 3 && hanaB.health.srRole !== 'primary'; i++) await clock.advanceBy(INTERVAL_MS);
    expect(hanaB.health.srRole).toBe('primary');
    await clock.advanceBy(INTERVAL_MS);
    const done = (await read())['B']!;
    expect(done.lastAction).toMatchObject({
      action: expect.stringMatching(/^(takeover|promote)$/),
      ok: true,
    });
    expect(reportSaysTakeoverFailed(done)).toBe(false);
    await a.stop();
    await b.stop();
  });
});
