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

  it('runs at most `concurrency` keys at once, first in first out, and a busy key starves none', async () => {
    const clock = new VirtualClock();
    let active = 0;
    let maxActive = 0;
    const order: string[] = [];
    const q = new WorkQueue(
      clock,
      async (k) => {
        active++;
        maxActive = Math.max(maxActive, active);
        order.push(k);
        // The busy key asks for itself again during every run (as its own status write would),
        // until 700 ms (so that stop() has nothing left running on a clock nobody advances).
        if (k === 'ns/hot' && clock.now() < 700) q.add('ns/hot');
        await clock.sleep(100);
        active--;
      },
      { concurrency: 3 },
    );
    q.add('ns/hot');
    for (let i = 0; i < 12; i++) q.add(`ns/c${i}`);
    await clock.advanceBy(0);
    expect(q.active).toBe(3);
    expect(q.size).toBe(13);
    await clock.advanceBy(1000);
    expect(maxActive).toBe(3);
    const cold = order.filter((k) => k !== 'ns/hot');
    // Every other key ran once, in the order it was added, although the busy key never went quiet.
    expect(cold).toEqual(Array.from({ length: 12 }, (_, i) => `ns/c${i}`));
    // The busy key went to the back of the line: its second run came after the last cold key
    // had started, and it then ran on alone once per 100 ms while it kept asking.
    expect(order.slice(0, 3)).toEqual(['ns/hot', 'ns/c0', 'ns/c1']);
    expect(order.indexOf('ns/hot', 1)).toBeGreaterThan(order.indexOf('ns/c11'));
    expect(order.filter((k) => k === 'ns/hot').length).toBe(5); // 0, 400, 500, 600, 700 ms
    await q.stop();
  });

  it('merges an add of a key already in the line for a slot', async () => {
    const clock = new VirtualClock();
    const runs: string[] = [];
    let release: () => void = () => {};
    const q = new WorkQueue(
      clock,
      async (k) => {
        runs.push(k);
        if (k === 'a') await new Promise<void>((r) => (release = r));
      },
      { concurrency: 1 },
    );
    q.add('a');
    await clock.advanceBy(0);
    q.add('b');
    q.add('c');
    await clock.advanceBy(0);
    q.add('b');
    await clock.advanceBy(0);
    expect(runs).toEqual(['a']);
    release();
    await clock.advanceBy(0);
    expect(runs).toEqual(['a', 'b', 'c']);
    await q.stop();
  });
});
