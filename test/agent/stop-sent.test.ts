/**
 * The restart race (issue 12, the model's restart race): A's HANA freezes, A's agent restarts at
 * once and cannot read it; its old session's key runs out. B must not take over before A's agent
 * has sent its hard stop (a report with `stopSent` of the lost leader's term): the frozen
 * instance gets that stop at its thaw, before any write, so B waits for the stop SENT, not landed
 * (examples/scenarios/frozen-node-started-by-hand.yaml). Two agents on the in-memory store and a
 * virtual clock, over ScriptedSite with a frozen mode: probes answer nothing, a hard stop or kill
 * waits for the thaw and is told sent as the command adapter tells it (whenSent).
 */
import { describe, expect, it } from 'vitest';
import type { SiteReport } from '../../src/domain/types.js';
import { HanaActionError, whenSent, type KillOptions, type StopOptions } from '../../src/hana/port.js';
import { agentRig } from '../support/agents.js';
import { link, primaryHealth, secondaryHealth, stoppedPrimaryHealth } from '../support/observations.js';
import { ScriptedSite } from '../support/scripted-site.js';

class FreezableSite extends ScriptedSite {
  frozen = false;
  /** The stop and kill tools answer a failure at once (sapstartsrv down, HDB refuses). */
  refuse = false;
  stopsSent = 0;
  /** Resolves at the thaw; rejects on abort (the caller's deadline). */
  private thawed(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      let cancel = () => {};
      const poll = () => {
        if (!this.frozen) return resolve();
        cancel = this.clock.setTimer(100, poll);
      };
      signal?.addEventListener('abort', () => {
        cancel();
        reject(signal.reason as Error);
      });
      poll();
    });
  }
  override async probe(signal?: AbortSignal) {
    if (this.frozen) await this.thawed(signal);
    return super.probe(signal);
  }
  private async hardStop(onSent: (() => void) | undefined, signal?: AbortSignal): Promise<void> {
    await whenSent(this.clock, onSent, async () => {
      if (this.refuse) throw new HanaActionError('COMMAND_FAILED', 'sapcontrol: NIECONN_REFUSED');
      this.stopsSent++;
      await this.thawed(signal);
    });
    this.health = stoppedPrimaryHealth();
  }
  override async stop(options?: StopOptions, signal?: AbortSignal): Promise<void> {
    await this.hardStop(options?.onSent, signal);
  }
  override async kill(signal?: AbortSignal, options?: KillOptions): Promise<void> {
    await this.hardStop(options?.onSent, signal);
  }
}

function rig() {
  const { clock, coordination, agent } = agentRig();
  const hanaA = new FreezableSite(primaryHealth([link('B')]), clock);
  const hanaB = new FreezableSite(secondaryHealth('A'), clock);
  const reasons: string[] = [];
  const make = (site: string, hana: FreezableSite) =>
    agent(site, hana, { onEvent: (e) => reasons.push(`${site} ${e.event} ${e.reason}`) });
  return { clock, coordination, hanaA, hanaB, reasons, make };
}

describe('a restarted agent under a frozen primary reports its stop sent', () => {
  it('B waits for that report (not for the stop to land), then takes over; a new process reports none', async () => {
    const { clock, coordination, hanaA, hanaB, reasons, make } = rig();
    const a = make('A', hanaA);
    const b = make('B', hanaB);
    await a.start();
    await b.start();
    await clock.advanceBy(6_000);
    expect((await coordination.read('ha1')).leader).toMatchObject({ site: 'A', epoch: 1 });

    // A's instance freezes and its agent restarts at once: the new process cannot read it.
    hanaA.frozen = true;
    a.kill();
    const a2 = make('A', hanaA);
    await a2.start();

    let sentAt: number | null = null;
    let sent: SiteReport['stopSent'] = null;
    let takenAt: number | null = null;
    for (let t = 0; t < 40_000 && takenAt === null; t += 100) {
      await clock.advanceBy(100);
      const state = await coordination.read('ha1');
      const r = state.reports.A;
      if (sentAt === null && r?.stopSent) {
        sentAt = clock.now();
        sent = r.stopSent;
      }
      if (state.leader?.site === 'B') takenAt = clock.now();
    }
    // A's agent sent its hard stop in the lost leader's term (epoch 1); the frozen instance has
    // not stopped (it lands at the thaw), and B took over only after that report.
    expect(sent).toMatchObject({ epoch: 1 });
    expect(takenAt).not.toBeNull();
    expect(sentAt).not.toBeNull();
    expect(sentAt!).toBeLessThanOrEqual(takenAt!);
    expect(hanaA.stopsSent).toBeGreaterThan(0);
    expect(hanaA.health.srRole).toBe('primary');
    expect(reasons).toContain('B decision former_primary_stop_not_sent');
    // (The new process took its old session's key for its own and steps down with a stop, the key
    // running out meanwhile; with the key gone first it decides local_state_unknown_key_lost.)
    expect(
      reasons.some((r) => /^A decision (primary_failed_takeover|local_state_unknown_key_lost)$/.test(r)),
    ).toBe(true);

    // Another restart: the first report of the new process says null, not the old process's stop
    // (its stops are its own: a successor counts only what the process that publishes sent).
    a2.kill();
    const restartAt = clock.now();
    const a3 = make('A', hanaA);
    await a3.start();
    let r3: SiteReport | undefined;
    for (let t = 0; t < 20_000 && r3 === undefined; t += 100) {
      await clock.advanceBy(100);
      const r = (await coordination.read('ha1')).reports.A;
      if (r !== undefined && r.observedAt >= restartAt) r3 = r;
    }
    expect(r3).toBeDefined();
    expect(r3!.stopSent).toBeNull();

    // The thaw: the stop lands, and the next good probe clears nothing it should not.
    hanaA.frozen = false;
    await clock.advanceBy(12_000);
    const r4 = (await coordination.read('ha1')).reports.A;
    expect(r4?.health.probeOk).toBe(true);
    expect(r4?.stopSent).toBeNull();
    await a3.stop();
    await b.stop();
  });

  it('a stop its tools refuse at once is not sent: B keeps waiting (no time bound)', async () => {
    const { clock, coordination, hanaA, hanaB, reasons, make } = rig();
    const a = make('A', hanaA);
    const b = make('B', hanaB);
    await a.start();
    await b.start();
    await clock.advanceBy(6_000);
    hanaA.frozen = true;
    hanaA.refuse = true;
    a.kill();
    const a2 = make('A', hanaA);
    await a2.start();
    await clock.advanceBy(25_000);
    const state = await coordination.read('ha1');
    expect(state.leader).toBeNull();
    expect(state.reports.A?.stopSent).toBeNull();
    expect(reasons).toContain('A action-failed fence_failed');
    expect(reasons).toContain('B decision former_primary_stop_not_sent');
    // B's decision of its last cycle, still the wait.
    expect(state.reports.B?.lastDecision?.reason).toBe('former_primary_stop_not_sent');
    a2.kill();
    b.kill();
  });
});
