/**
 * A retried plain promotion asks the in-sync rule again (actions.ts inSyncAgain(), sim:fuzz
 * 1318931430), also when the agent that won the key for it was restarted meanwhile (issue 12, the
 * third race the model's note named): the new process has no pendingTakeover, and before this
 * test its promotion named no old primary and was carried out without the check. Two agents on
 * the in-memory store and a virtual clock, over scripted sites whose takeover can be
 * made to fail; A's agent is killed (the documented limit: its primary may commit alone).
 */
import { describe, expect, it } from 'vitest';
import { agentRig, promotionRefusedAfterAgentLoss } from '../support/agents.js';
import { link, primaryHealth, secondaryHealth } from '../support/observations.js';
import { ScriptedSite } from '../support/scripted-site.js';

describe('a retried promotion after the agent restarted', () => {
  it('is asked the in-sync rule again: the old primary may have committed alone since', async () => {
    const rig = agentRig();
    const { clock } = rig;
    const hanaA = new ScriptedSite(primaryHealth([link('B')]), clock);
    const hanaB = new ScriptedSite(secondaryHealth('A'), clock);
    // A's agent is killed; its primary goes on (no watchdog). B's takeover command fails once it
    // has won the key, so the promotion waits and is retried every cycle, until the in-sync rule
    // refuses it: past logShippingTimeoutSeconds after A's last contact, A may have committed alone.
    const { events, make, b } = await promotionRefusedAfterAgentLoss(rig, hanaA, hanaB);
    hanaB.failTakeover = false;
    const tries = hanaB.takeovers;
    await clock.advanceBy(2_000);
    expect(hanaB.takeovers).toBe(tries);

    // B's agent process dies and a new one starts while the key of the old one still lives.
    b.kill();
    const b2 = make('B', hanaB);
    await b2.start();
    await clock.advanceBy(4_000);
    // The new process holds the key by its site; it must not promote on trust it never had.
    expect(hanaB.takeovers).toBe(tries);
    expect(hanaB.health.srRole).toBe('secondary');
    expect(events.filter((e) => e === 'B refused not_in_sync_any_more').length).toBeGreaterThan(1);
    await b2.stop();
  });
});
