/**
 * A retried promotion the in-sync rule refuses hands the leader key back to the old primary when
 * its agent reports it a primary (actions.ts handBackOrKeep(), sim:fuzz 970001301): before, the
 * new leader kept a key it could never use while the old primary, the only site with every
 * commit, stayed stopped by its own agent. Two agents on the in-memory store and a virtual clock,
 * over scripted sites; B's takeover command fails, so its promotion is retried until the trust
 * runs out.
 */
import { describe, expect, it } from 'vitest';
import { agentRig, promotionRefusedAfterAgentLoss } from '../support/agents.js';
import { link, primaryHealth, secondaryHealth } from '../support/observations.js';
import { ScriptedSite, StartablePrimary } from '../support/scripted-site.js';

async function stuckPromotion() {
  const rig = agentRig();
  const hanaA = new StartablePrimary(primaryHealth([link('B')]), rig.clock);
  const hanaB = new ScriptedSite(secondaryHealth('A'), rig.clock);
  return { ...rig, hanaA, hanaB, ...(await promotionRefusedAfterAgentLoss(rig, hanaA, hanaB)) };
}

describe('a leader whose promotion is refused as not in sync', () => {
  it('hands the key back to the old primary, which starts again; nothing is promoted', async () => {
    const { clock, coordination, hanaA, hanaB, events, make, b } = await stuckPromotion();
    // While A's agent is dead nothing shows A lives to take the key: B keeps it.
    expect(events).not.toContain('B action handed_back_not_in_sync');
    // A's agent comes back: B leads, so it stops A. Its report shows a stopped primary.
    const a2 = make('A', hanaA);
    await a2.start();
    await clock.advanceBy(10_000);
    expect(events).toContain('A action leader_key_held_by_other');
    expect(events).toContain('B action handed_back_not_in_sync');
    expect(events).toContain('A action handover_accepted');
    const state = await coordination.read('ha1');
    expect(state.leader).toMatchObject({ site: 'A', epoch: 3 });
    expect(hanaA.starts).toBe(1);
    expect(hanaA.health.acceptsWrites).toBe(true);
    // B never became a primary; A, primary again, vouches for it in its own term.
    expect(hanaB.health.srRole).toBe('secondary');
    expect(hanaB.takeovers).toBeGreaterThan(0);
    expect(state.sync['B']).toMatchObject({ state: 'SOK', epoch: 3 });
    await a2.stop();
    await b.stop();
  });

  it('keeps the key when the old primary is reported a secondary (a DBA registered it)', async () => {
    const { clock, coordination, hanaA, events, make, b } = await stuckPromotion();
    hanaA.health = secondaryHealth('B');
    const a2 = make('A', hanaA);
    await a2.start();
    await clock.advanceBy(10_000);
    expect(events).not.toContain('B action handed_back_not_in_sync');
    expect((await coordination.read('ha1')).leader).toMatchObject({ site: 'B', epoch: 2 });
    await a2.stop();
    await b.stop();
  });
});
