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

  it('runs a change before every resync already waiting, and a waiting resync asked as a change moves up', async () => {
    const clock = new VirtualClock();
    const order: string[] = [];
    const waited: [string, number, string][] = [];
    let release: () => void = () => {};
    const q = new WorkQueue(
      clock,
      async (k) => {
        order.push(k);
        if (k === 'ns/busy') await new Promise<void>((r) => (release = r));
        else await clock.sleep(10);
      },
      { concurrency: 1, onStart: (k, ms, p) => waited.push([k, ms, p]) },
    );
    q.add('ns/busy');
    await clock.advanceBy(0);
    // A thousand resyncs come due while the only slot is busy, then two changes.
    for (let i = 0; i < 1000; i++) q.add(`ns/r${i}`, 0, 'resync');
    await clock.advanceBy(0);
    q.add('ns/r500');
    q.add('ns/x');
    await clock.advanceBy(5);
    expect(q.waitingIn('resync')).toBe(999);
    expect(q.waitingIn('change')).toBe(2);
    release();
    await clock.advanceBy(25);
    // The two changes ran next, in the order they were asked for.
    expect(order.slice(0, 4)).toEqual(['ns/busy', 'ns/r500', 'ns/x', 'ns/r0']);
    // r500 waited from when it came due as a resync (5 ms before the release).
    expect(waited[1]).toEqual(['ns/r500', 5, 'change']);
    expect(waited[3]).toEqual(['ns/r0', 25, 'resync']);
    // A resync of a key waiting as a change changes nothing; every key (busy, 1,000 resyncs, x) runs once.
    q.add('ns/r999');
    q.add('ns/r999', 0, 'resync');
    await clock.advanceBy(20_000);
    expect(order.filter((k, i) => order.indexOf(k) !== i)).toEqual([]);
    expect(order.length).toBe(1002);

    expect(order[3 + 1]).toBe('ns/r999');
    await q.stop();
  });

  it('runs a key added as a change during its resync run again as a change', async () => {
    const clock = new VirtualClock();
    const starts: [string, string][] = [];
    const q = new WorkQueue(clock, async () => clock.sleep(100), {
      concurrency: 1,
      onStart: (k, _ms, p) => starts.push([k, p]),
    });
    q.add('ns/a', 0, 'resync');
    q.add('ns/b', 0, 'resync');
    await clock.advanceBy(50);
    q.add('ns/a', 0, 'resync');
    q.add('ns/a');
    await clock.advanceBy(1000);
    expect(starts).toEqual([
      ['ns/a', 'resync'],
      ['ns/a', 'change'],
      ['ns/b', 'resync'],
    ]);
    await q.stop();
  });
});
