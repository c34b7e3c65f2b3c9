import { describe, expect, it } from 'vitest';
import { VirtualClock, settle } from '../../src/clock.js';
import { WorkQueue } from '../../src/operator/queue.js';

describe('WorkQueue', () => {
  it('merges adds of a waiting key into one run', async () => {
    const clock = new VirtualClock();
    const runs: string[] = [];
    const q = new WorkQueue(clock, async (k) => void runs.push(k));
    q.add('ns/a');
    q.add('ns/a');
    q.add('ns/b');
    await clock.advanceBy(0);
    expect(runs).toEqual(['ns/a', 'ns/b']);
    await q.stop();
  });

  it('never runs a key twice at once; an add during a run runs it once more', async () => {
    const clock = new VirtualClock();
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    let release: () => void = () => {};
    const q = new WorkQueue(clock, async () => {
      active++;
      runs++;
      maxActive = Math.max(maxActive, active);
      if (runs === 1) await new Promise<void>((r) => (release = r));
      active--;
    });
    q.add('k');
    await clock.advanceBy(0);
    q.add('k');
    q.add('k');
    await clock.advanceBy(0);
    expect(runs).toBe(1);
    release();
    await settle();
    await clock.advanceBy(0);
    expect(runs).toBe(2);
    expect(maxActive).toBe(1);
    await q.stop();
  });

  it('retries a failing key with exponential backoff and resets after a success', async () => {
    const clock = new VirtualClock();
    const at: number[] = [];
    let fail = 3;
    const errors: number[] = [];
    const q = new WorkQueue(
      clock,
      async () => {
        at.push(clock.now());
        if (fail-- > 0) throw new Error('boom');
      },
      { baseDelayMs: 100, maxDelayMs: 1000, onError: (_k, _e, retry) => errors.push(retry) },
    );
    q.add('k');
    await clock.advanceBy(5000);
    expect(at).toEqual([0, 100, 300, 700]);
    expect(errors).toEqual([100, 200, 400]);
    expect(q.failureCount('k')).toBe(0);
    await q.stop();
  });

  it('caps the backoff and stops cleanly', async () => {
    const clock = new VirtualClock();
    let runs = 0;
    const q = new WorkQueue(
      clock,
      async () => {
        runs++;
        throw new Error('always');
      },
      { baseDelayMs: 100, maxDelayMs: 300 },
    );
    q.add('k');
    await clock.advanceBy(1300);
    // 0, 100, 300, 600 (capped at +300), 900, 1200
    expect(runs).toBe(6);
    await q.stop();
    await clock.advanceBy(10_000);
    expect(runs).toBe(6);
    expect(q.size).toBe(0);
  });
});
