/**
 * The leader-key watch wakes the agent (src/agent/leader-watch.ts): event-driven, in virtual time.
 * The agents probe every 30 s, so anything B does within 100 ms of the key's release or expiry
 * was woken by the watch, not by its interval. The
 * in-memory store offers watches with `{ watches: true }`; without them the same landscape waits
 * for the interval (the control case that shows the watch is what makes the difference).
 */
import { describe, expect, it } from 'vitest';
import { Agent, type AgentEvent } from '../../src/agent/agent.js';
import type { HanaSystemReplicationSpec } from '../../src/api/spec.js';
import { VirtualClock } from '../../src/clock.js';
import { MemoryCoordination } from '../../src/coordination/memory.js';
import type { HanaPort } from '../../src/hana/port.js';
import { link, primaryHealth, secondaryHealth, spec, stoppedPrimaryHealth } from '../support/observations.js';
import { ScriptedSite } from '../support/scripted-site.js';

const SLOW = 30_000;

function landscape(options: { watches: boolean }) {
  const clock = new VirtualClock(0);
  const coordination = new MemoryCoordination(clock, { watches: options.watches });
  const s: HanaSystemReplicationSpec = spec({
    probes: { intervalSeconds: SLOW / 1000, timeoutSeconds: 3 },
    lease: { ttlSeconds: 40 },
    replication: { mode: 'sync', logShippingTimeoutSeconds: 600 },
  });
  const hanaA = new ScriptedSite(primaryHealth([link('B')]), clock);
  const hanaB = new ScriptedSite(secondaryHealth('A'), clock);
  const events: AgentEvent[] = [];
  const make = (site: string, hana: HanaPort) =>
    new Agent({
      cluster: 'ha1',
      site,
      spec: () => s,
      hana,
      coordination,
      clock,
      onEvent: (e) => events.push(e),
    });
  const a = make('A', hanaA);
  const b = make('B', hanaB);
  return { clock, coordination, s, a, b, hanaA, hanaB, events };
}

/** Advances in `step` ms until `done` holds (at most `maxMs`); returns the virtual time. */
async function until(clock: VirtualClock, done: () => boolean, maxMs: number, step = 10): Promise<number> {
  for (let t = 0; t < maxMs && !done(); t += step) await clock.advanceBy(step);
  return clock.now();
}

/** The time of the first event of `site` with this action that succeeded. */
function at(events: readonly AgentEvent[], site: string, action: string): number {
  const e = events.find((x) => x.site === site && x.action === action && x.event === 'action');
  if (e === undefined) throw new Error(`no ${action} of ${site} in ${JSON.stringify(events)}`);
  return e.t;
}

/** A starts at 0 and B 15 s later, so their 30-s cycles never coincide. */
async function started(l: ReturnType<typeof landscape>): Promise<void> {
  await l.a.start();
  await l.clock.advanceBy(SLOW / 2);
  await l.b.start();
  await l.clock.advanceBy(4000);
}

/** A's HANA stops; A's cycles (every 30 s) count the failed probes and hand the key back. */
async function primaryStops(l: ReturnType<typeof landscape>): Promise<void> {
  // Let A's second cycle write the sync records its step-down relies on, then stop A's HANA.
  await l.clock.advanceBy(SLOW + 1000 - (l.clock.now() % SLOW));
  l.hanaA.health = stoppedPrimaryHealth();
  await until(l.clock, () => l.a.lastAction?.action === 'step-down', 5 * SLOW, 100);
  expect(l.a.lastAction).toMatchObject({ action: 'step-down', ok: true });
}

describe('the leader-key watch', () => {
  it("wakes a secondary on the leader's release: B takes over within 100 ms, its next cycle 30 s away", async () => {
    const l = landscape({ watches: true });
    await started(l);
    expect((await l.coordination.read('ha1')).leader?.site).toBe('A');
    expect(l.b.leaderWatch.state).toBe('open');

    await primaryStops(l);
    await until(l.clock, () => l.hanaB.health.srRole === 'primary', 1000);
    expect(l.hanaB.health.srRole).toBe('primary');
    expect(at(l.events, 'B', 'takeover') - at(l.events, 'A', 'step-down')).toBeLessThanOrEqual(100);
    expect((await l.coordination.read('ha1')).leader?.site).toBe('B');
    l.a.kill();
    l.b.kill();
  });

  it('without watches the same secondary waits for its next interval (the control case)', async () => {
    const l = landscape({ watches: false });
    await started(l);
    expect(l.b.leaderWatch.state).toBe('unsupported');
    await primaryStops(l).catch((err: unknown) => {
      throw new Error(`${String(err)} ${JSON.stringify(l.events)}`);
    });
    await until(l.clock, () => l.hanaB.health.srRole === 'primary', 2 * SLOW, 100);
    expect(l.hanaB.health.srRole).toBe('primary');
    expect(at(l.events, 'B', 'takeover') - at(l.events, 'A', 'step-down')).toBeGreaterThan(1000);
    l.a.kill();
    l.b.kill();
  });

  it("wakes a secondary when the leader's lease runs out (agent gone): a cycle within 100 ms of the expiry", async () => {
    const l = landscape({ watches: true });
    await started(l);
    l.a.kill();
    const gone = await until(l.clock, () => l.coordination.snapshot('ha1').leader?.site !== 'A', 60_000);
    await l.clock.advanceBy(100);
    // B's cycles: at its start (15 s), every 30 s after, and at the expiry (40 s: off its grid).
    expect(gone % SLOW).not.toBe(SLOW / 2);
    expect(l.hanaB.probedAt.filter((t) => t >= gone - 10 && t <= gone + 100).length).toBeGreaterThan(0);
    expect(at(l.events, 'B', 'takeover') - gone).toBeLessThanOrEqual(100);
    l.b.kill();
  });

  it('a woken cycle keeps the rules: a secondary that is not in sync is not promoted', async () => {
    const l = landscape({ watches: true });
    // A reports B's link as not in sync (SYNCING): B is not eligible.
    l.hanaA.health = primaryHealth([link('B', { status: 'SYNCING' })]);
    await started(l);
    l.a.kill();
    l.hanaA.health = stoppedPrimaryHealth();
    const gone = await until(l.clock, () => l.coordination.snapshot('ha1').leader === null, 60_000);
    await l.clock.advanceBy(100);
    // Woken at the expiry (off B's 30-s grid), and not promoted.
    expect(gone % SLOW).not.toBe(SLOW / 2);
    // (on its last probe, a healthy secondary's within the interval: see probe-reuse.test.ts)
    expect(
      l.events.filter(
        (e) => e.site === 'B' && e.reason === 'probe_reused' && e.t >= gone - 10 && e.t <= gone + 100,
      ),
    ).toHaveLength(1);
    expect(l.hanaB.health.srRole).not.toBe('primary');
    expect(l.coordination.snapshot('ha1').leader).toBeNull();
    expect(l.events.some((e) => e.site === 'B' && (e.action === 'takeover' || e.action === 'promote'))).toBe(
      false,
    );
    expect(l.b.lastDecision?.action.kind).toBe('none');
    l.b.kill();
  });

  it('a broken watch is reported, the loop falls back to its interval, and the watch comes back', async () => {
    const l = landscape({ watches: true });
    await started(l);
    l.coordination.cut('B', true);
    await l.clock.advanceBy(10);
    expect(l.b.leaderWatch.state).toBe('down');
    expect(l.events.filter((e) => e.event === 'leader-watch-lost')).toEqual([
      expect.objectContaining({
        site: 'B',
        reason: 'leader_watch_broken',
        message: expect.stringContaining('probe interval'),
      }),
    ]);
    l.coordination.cut('B', false);
    // Down: nothing wakes B; its next interval cycle reopens the watch.
    await l.clock.advanceBy(SLOW + 1000);
    expect(l.b.leaderWatch.state).toBe('open');
    expect(l.events.filter((e) => e.event === 'leader-watch-restored')).toHaveLength(1);
    // And it wakes B again.
    await primaryStops(l);
    await until(l.clock, () => l.hanaB.health.srRole === 'primary', 1000);
    expect(l.hanaB.health.srRole).toBe('primary');
    expect(at(l.events, 'B', 'takeover') - at(l.events, 'A', 'step-down')).toBeLessThanOrEqual(100);
    l.a.kill();
    l.b.kill();
  });

  it('a watch that stays silent while the key changes is reopened and reported', async () => {
    const l = landscape({ watches: true });
    await started(l);
    l.coordination.muteWatches('B', true);
    await primaryStops(l);
    // Muted: B learns of the release on its interval, and two reads later that its watch said nothing.
    const lost = () => l.events.filter((e) => e.event === 'leader-watch-lost');
    await until(l.clock, () => lost().length > 0, 3 * SLOW, 100);
    expect(lost()).toEqual([expect.objectContaining({ site: 'B', reason: 'leader_watch_silent' })]);
    // Reopened at once (a fresh watch), and said so.
    await l.clock.advanceBy(10);
    expect(l.events.filter((e) => e.event === 'leader-watch-restored')).toHaveLength(1);
    expect(l.b.leaderWatch.state).toBe('open');
    l.a.kill();
    l.b.kill();
  });
});
