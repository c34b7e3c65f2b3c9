import { describe, expect, it } from 'vitest';
import { TimeoutError, VirtualClock, withDeadline, withTimeout, type Clock } from '../../src/clock.js';

/**
 * withTimeout and withDeadline settle in exactly the microtask turns of the async form they
 * replaced (an `async` function awaiting Promise.race with the timeout, cancelling it in a
 * finally): in the simulator two promise chains at one virtual instant run in that order, so a
 * turn more or less would change what the fuzz runner's schedules do.
 */
async function referenceDeadline<T>(
  clock: Clock,
  ms: number,
  what: string,
  fn: () => Promise<T>,
): Promise<T> {
  let cancel: () => void = () => {};
  const timeout = new Promise<never>((_, reject) => {
    cancel = clock.setTimer(ms, () => reject(new TimeoutError(what, ms)));
  });
  try {
    return await Promise.race([fn(), timeout]);
  } finally {
    cancel();
  }
}

type Deadline = <T>(clock: Clock, ms: number, what: string, fn: () => Promise<T>) => Promise<T>;

const viaTimeout: Deadline = (clock, ms, what, fn) => withTimeout(clock, ms, what, () => fn());

/** What fn does: settle after `turns` awaits (negative: throw at once), with a value or an error. */
interface Work {
  readonly turns: number;
  readonly fails: boolean;
  /** Never settles (only the deadline ends it). */
  readonly hangs?: boolean;
}

const works: Work[] = [];
for (let turns = -1; turns <= 4; turns++) for (const fails of [false, true]) works.push({ turns, fails });
works.push({ turns: 0, fails: false, hangs: true });

/** Runs two deadlines side by side and a turn counter; returns the order of everything that happened. */
async function trace(deadline: Deadline, a: Work, b: Work): Promise<string[]> {
  const clock = new VirtualClock(0, { settle: 'microtasks', lightSignals: true });
  const log: string[] = [];
  // A turn counter for 60 turns (the queue must run empty for the clock to go on), restarted at
  // the deadline's instant by a timer set first, which fires just before the deadlines.
  let turn = 0;
  let left = 60;
  const tick = () => {
    if (left-- <= 0) return;
    turn++;
    queueMicrotask(tick);
  };
  clock.setTimer(
    10,
    () => {
      turn = 0;
      left = 60;
      queueMicrotask(tick);
    },
    { sync: true },
  );
  const work = (name: string, w: Work) => (): Promise<string> => {
    if (w.hangs) return new Promise<string>(() => {});
    if (w.turns < 0) {
      if (w.fails) throw new Error(`${name} threw`);
      return Promise.resolve(`${name} at once`);
    }
    return (async () => {
      for (let i = 0; i < w.turns; i++) await undefined;
      if (w.fails) throw new Error(`${name} failed`);
      return `${name} done`;
    })();
  };
  const run = (name: string, w: Work) =>
    deadline(clock, 10, name, work(name, w)).then(
      (v) => log.push(`${v} resumed at turn ${turn}`),
      (err: unknown) => log.push(`${name} ${(err as Error).message} resumed at turn ${turn}`),
    );
  queueMicrotask(tick);
  const both = Promise.all([run('a', a), run('b', b)]);
  await clock.advanceTo(20);
  await both;
  return log;
}

describe('withDeadline and withTimeout settle in the turns of async Promise.race', () => {
  it('for answers, failures, synchronous throws and deadlines, two at a time', async () => {
    let compared = 0;
    for (const a of works)
      for (const b of works) {
        const expected = await trace(referenceDeadline, a, b);
        expect(await trace(withDeadline, a, b)).toEqual(expected);
        expect(await trace(viaTimeout, a, b)).toEqual(expected);
        compared++;
      }
    expect(compared).toBe(works.length ** 2);
  });
});
