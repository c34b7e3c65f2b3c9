/**
 * A last leader that never took over and runs as a secondary again takes the key once more
 * (decide.ts decideLastLeaderSecondary; sim:fuzz 1070098632, 1050017408): before, the old
 * primary, stopped, waited for it, and it was "not a candidate" of itself, for ever. In sync, it
 * retries its takeover; when its promotion fails again, the retry asks the in-sync rule with the
 * new key's term before, finds no record of it, and hands the key to the old primary, which
 * starts. Two agents on the in-memory store and a virtual clock, over scripted sites.
 */
import { describe, expect, it } from 'vitest';
import { aLeadsB, agentRig, until } from '../support/agents.js';
import { link, primaryHealth, secondaryHealth, stoppedPrimaryHealth } from '../support/observations.js';
import { ScriptedSite, StartablePrimary } from '../support/scripted-site.js';

/**
 * A leads; its HANA goes down and its agent steps down for B; B's takeover fails every time and
 * its agent dies holding the key, which runs out. B's agent starts again: B runs as a secondary
 * of A, A's agent reads A a stopped primary.
 */
async function neverTookOver() {
  const rig = agentRig();
  const { clock, coordination } = rig;
  const hanaA = new StartablePrimary(primaryHealth([link('B')]), rig.clock);
  const hanaB = new ScriptedSite(secondaryHealth('A'), rig.clock);
  const { events, make, a, b } = await aLeadsB(rig, hanaA, hanaB);
  hanaB.failTakeover = true;
  hanaA.health = stoppedPrimaryHealth();
  await until(clock, () => hanaB.takeovers > 0, 60_000, 500);
  expect((await coordination.read('ha1')).leader).toMatchObject({ site: 'B', epoch: 2 });
  b.kill();
  for (let t = 0; t < 60_000 && (await coordination.read('ha1')).leader !== null; t += 1_000) {
    await clock.advanceBy(1_000);
  }
  const state = await coordination.read('ha1');
  expect(state.leader).toBeNull();
  expect(state.lastLeader).toBe('B');
  // The store's record of who was primary in which term: A in epoch 1, B never.
  expect(state.lpe).toEqual({ A: 1 });
  // Meanwhile A's agent waits: B, the last leader, might still be mid-takeover.
  expect(hanaA.starts).toBe(0);
  return { ...rig, hanaA, hanaB, events, make, a };
}

describe('a last leader that never took over, a running secondary again', () => {
  it('retries its takeover from the old primary, in sync by the records of its term', async () => {
    const { clock, coordination, hanaA, hanaB, events, make, a } = await neverTookOver();
    const takeoversBefore = hanaB.takeovers;
    hanaB.failTakeover = false;
    const b2 = make('B', hanaB);
    await b2.start();
    await until(clock, () => hanaB.health.srRole === 'primary', 30_000, 500);
    expect(events).toContain('B decision last_leader_retries_takeover');
    expect(hanaB.takeovers).toBe(takeoversBefore + 1);
    expect(hanaB.health.acceptsWrites).toBe(true);
    const state = await coordination.read('ha1');
    expect(state.leader).toMatchObject({ site: 'B', epoch: 3 });
    // The old primary was not started next to it.
    expect(hanaA.starts).toBe(0);
    await b2.stop();
    await a.stop();
  });

  it('hands the key to the old primary when the retried promotion fails again; A starts', async () => {
    const { clock, coordination, hanaA, hanaB, events, make, a } = await neverTookOver();
    const b2 = make('B', hanaB);
    await b2.start();
    await until(clock, () => hanaA.starts > 0, 60_000, 500);
    expect(events).toContain('B decision last_leader_retries_takeover');
    expect(events).toContain('B action handed_back_not_in_sync');
    expect(events).toContain('A action handover_accepted');
    await clock.advanceBy(5_000);
    const state = await coordination.read('ha1');
    // B's retry won epoch 3 and handed it back; A took the key at epoch 4.
    expect(state.leader).toMatchObject({ site: 'A', epoch: 4 });
    expect(hanaA.health.acceptsWrites).toBe(true);
    expect(hanaB.health.srRole).toBe('secondary');
    await b2.stop();
    await a.stop();
  });
});
