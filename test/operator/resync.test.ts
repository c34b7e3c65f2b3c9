/** The periodic resync spread over its period (src/operator/resync.ts), on the virtual clock. */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock.js';
import { SpreadResync, phaseDue, resyncPhase } from '../../src/operator/resync.js';

const KEYS = Array.from({ length: 200 }, (_, i) => `ns-${i % 7}/cluster-${i}`);

function harness(periodMs: () => number, tickMs: number) {
  const clock = new VirtualClock();
  const queued: { key: string; at: number }[] = [];
  const ticks: number[] = [];
  const resync = new SpreadResync({
    clock,
    keys: () => KEYS,
    enqueue: (key) => queued.push({ key, at: clock.now() }),
    periodMs,
    tickMs,
    onTick: (now) => ticks.push(now),
  });
  return { clock, queued, ticks, resync };
}

describe('SpreadResync', () => {
  it('queues every key once per period, each at its own phase, in small groups', async () => {
    const { clock, queued, ticks, resync } = harness(() => 10_000, 500);
    resync.start();
    await clock.advanceBy(30_000);
    resync.stop();
    expect(ticks.length).toBe(60);
    // Three periods: every key three times, 10 s apart (at the tick after its phase).
    for (const key of KEYS) {
      const at = queued.filter((q) => q.key === key).map((q) => q.at);
      expect(at).toHaveLength(3);
      expect(at[1]! - at[0]!).toBe(10_000);
      expect(at[2]! - at[1]!).toBe(10_000);
      const phase = resyncPhase(key, 10_000);
      expect(at[0]! - phase).toBeGreaterThan(0);
      expect(at[0]! - phase).toBeLessThanOrEqual(500);
    }
    // Spread, not a herd: 200 keys over 20 ticks per period is 10 a tick on average; the
    // fullest tick holds a small multiple of that, never all of them.
    const perTick = new Map<number, number>();
    for (const q of queued) perTick.set(q.at, (perTick.get(q.at) ?? 0) + 1);
    expect(Math.max(...perTick.values())).toBeLessThanOrEqual(25);
    expect(perTick.size).toBeGreaterThanOrEqual(18 * 3);
  });

  it('follows a longer period while the store watch is open, and the shorter one when it closes', async () => {
    let watchOpen = true;
    const { clock, queued, resync } = harness(() => (watchOpen ? 30_000 : 10_000), 500);
    resync.start();
    await clock.advanceBy(30_000);
    expect(queued.length).toBe(KEYS.length);
    watchOpen = false;
    await clock.advanceBy(60_000);
    // Six 10-s periods, give or take one run per key at the switch.
    const after = queued.filter((q) => q.at > 30_000);
    expect(after.length).toBeGreaterThanOrEqual(5 * KEYS.length);
    expect(after.length).toBeLessThanOrEqual(7 * KEYS.length);
    resync.stop();
    const n = queued.length;
    await clock.advanceBy(60_000);
    expect(queued.length).toBe(n);
  });

  it('queues every key when a tick comes later than a whole period', () => {
    for (const key of KEYS) expect(phaseDue(resyncPhase(key, 1000), 1000, 0, 1000)).toBe(true);
    expect(phaseDue(250, 1000, 0, 249)).toBe(false);
    expect(phaseDue(250, 1000, 0, 250)).toBe(true);
    expect(phaseDue(250, 1000, 250, 1249)).toBe(false);
  });
});
