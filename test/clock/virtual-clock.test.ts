import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  anySignal,
  MAX_TIMERS_AT_ONE_INSTANT,
  TimeoutError,
  VirtualClock,
  withTimeout,
} from '../../src/clock.js';

describe('VirtualClock', () => {
  it('fires timers by time, then in the order they were set, and never a cancelled one', async () => {
    // Reference: a list scanned for the earliest (time, set order), as the clock did before its heap.
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({ ms: fc.integer({ min: 0, max: 40 }), cancel: fc.boolean(), child: fc.nat(30) }),
          { minLength: 1, maxLength: 150 },
        ),
        async (ops) => {
          const clock = new VirtualClock(1000, { settle: 'microtasks' });
          const fired: number[] = [];
          // A timer whose `child` is a multiple of 3 sets another when it fires (same instant or later).
          const set = (id: number, ms: number, cancel: boolean, child: number) => {
            const stop = clock.setTimer(ms, () => {
              fired.push(id);
              if (id < 10_000 && child % 3 === 0) set(10_000 + id, child % 7, false, 1);
            });
            if (cancel) stop();
          };
          ops.forEach((o, i) => set(i, o.ms, o.cancel, o.child));
          await clock.advanceTo(1100);

          let seq = 0;
          const queue: { at: number; seq: number; id: number; child: number }[] = [];
          ops.forEach((o, i) => {
            const s = seq++;
            if (!o.cancel) queue.push({ at: 1000 + o.ms, seq: s, id: i, child: o.child });
          });
          const order: number[] = [];
          while (queue.length > 0) {
            let best = 0;
            for (let i = 1; i < queue.length; i++) {
              const a = queue[i]!;
              const b = queue[best]!;
              if (a.at < b.at || (a.at === b.at && a.seq < b.seq)) best = i;
            }
            const t = queue.splice(best, 1)[0]!;
            order.push(t.id);
            if (t.id < 10_000 && t.child % 3 === 0)
              queue.push({ at: t.at + (t.child % 7), seq: seq++, id: 10_000 + t.id, child: 1 });
          }
          expect(fired).toEqual(order);
          expect(clock.nextTimerAt()).toBeUndefined();
        },
      ),
      { numRuns: 150 },
    );
  });

  it("settle: 'microtasks' lets a timer's promise chain finish before the next timer fires", async () => {
    const clock = new VirtualClock(0, { settle: 'microtasks' });
    const seen: string[] = [];
    clock.setTimer(10, () => {
      void (async () => {
        for (let i = 0; i < 50; i++) await Promise.resolve();
        seen.push(`chain done at ${clock.now()}`);
      })();
    });
    clock.setTimer(10, () => seen.push(`second timer at ${clock.now()}`), { sync: true });
    clock.setTimer(20, () => seen.push(`third timer at ${clock.now()}`));
    await clock.advanceTo(30);
    expect(seen).toEqual(['chain done at 10', 'second timer at 10', 'third timer at 20']);
  });

  it('a light signal is aborted with the TimeoutError at the deadline, and only then', async () => {
    const clock = new VirtualClock(0, { settle: 'microtasks', lightSignals: true });
    let heard: unknown;
    let handler = 0;
    const hung = withTimeout(clock, 500, 'probe', (signal) => {
      signal.onabort = () => handler++;
      return new Promise<never>((_, reject) =>
        signal.addEventListener('abort', () => {
          heard = signal.reason;
          reject(signal.reason as Error);
        }),
      );
    });
    const outcome = hung.catch((err: unknown) => err);
    let quick: AbortSignal | undefined;
    const answered = withTimeout(clock, 500, 'quick', async (signal) => {
      quick = signal;
      return 42;
    });
    await clock.advanceTo(499);
    expect(heard).toBeUndefined();
    expect(await answered).toBe(42);
    await clock.advanceTo(500);
    const err = await outcome;
    expect(err).toBeInstanceOf(TimeoutError);
    expect(heard).toBe(err);
    expect(handler).toBe(1);
    expect(quick?.aborted).toBe(false);
    expect(() => quick?.throwIfAborted()).not.toThrow();
  });

  it("a light signal calls its abort listeners as Node's AbortSignal does (order, duplicates, once, added or removed meanwhile)", () => {
    // Reference: the same program on Node's own AbortController. Listeners 0..5; each one, when
    // called the first time, may add or remove others (the dispatch goes on as Node's list walk does).
    const op = fc.record({
      add: fc.boolean(),
      listener: fc.nat(5),
      once: fc.boolean(),
      capture: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 12 }),
        fc.array(fc.array(op, { maxLength: 3 }), { minLength: 6, maxLength: 6 }),
        fc.array(op, { maxLength: 4 }),
        (before, during, after) => {
          const trace = (controller: { signal: AbortSignal; abort(reason?: unknown): void }) => {
            const calls: string[] = [];
            const listeners: (() => void)[] = [];
            const apply = (o: { add: boolean; listener: number; once: boolean; capture: boolean }) => {
              const l = listeners[o.listener]!;
              if (o.add) controller.signal.addEventListener('abort', l, { once: o.once, capture: o.capture });
              else controller.signal.removeEventListener('abort', l, { capture: o.capture });
            };
            for (let i = 0; i < 6; i++)
              listeners.push(() => {
                calls.push(`${i}`);
                // Only at its first call (two listeners adding each other would go on for ever).
                if (calls.filter((c) => c === `${i}`).length === 1) for (const o of during[i]!) apply(o);
              });
            for (const o of before) apply(o);
            controller.abort(new Error('stop'));
            // A listener added after the abort is never called; aborting again calls nothing.
            for (const o of after) apply(o);
            controller.abort(new Error('again'));
            return calls;
          };
          const light = new VirtualClock(0, { lightSignals: true }).abortController!();
          expect(trace(light)).toEqual(trace(new AbortController()));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('anySignal takes light signals (Node 24 AbortSignal.any refuses them) and aborts after their own listeners', async () => {
    const clock = new VirtualClock(0, { settle: 'microtasks', lightSignals: true });
    const outer = new AbortController();
    const order: string[] = [];
    const combinedAt = (ms: number, what: string) =>
      withTimeout(clock, ms, what, (deadline) => {
        deadline.addEventListener('abort', () => order.push(`${what} deadline`));
        const both = anySignal([outer.signal, deadline]);
        expect(both).toBeInstanceOf(AbortSignal);
        both.addEventListener('abort', () => order.push(`${what} combined`));
        return new Promise<never>((_, reject) =>
          both.addEventListener('abort', () => reject(both.reason as Error)),
        );
      }).catch((err: unknown) => err);
    const timedOut = combinedAt(100, 'first');
    await clock.advanceTo(100);
    expect(await timedOut).toBeInstanceOf(TimeoutError);
    expect(order).toEqual(['first deadline', 'first combined']);
    // The other source aborts it too; a light signal aborted already gives an aborted one.
    const cancelled = combinedAt(1000, 'second');
    outer.abort(new Error('stopping'));
    expect(((await cancelled) as Error).message).toBe('stopping');
    const late = clock.abortController!();
    late.abort(new Error('gone'));
    expect(anySignal([late.signal]).aborted).toBe(true);
  });

  it('stops with an error when time stands still (a timer re-armed a few picoseconds ahead), not spin for ever', async () => {
    const clock = new VirtualClock(26_000, { settle: 'microtasks' });
    // 26000 + 4e-12 is 26000 in floating point: the timer is due now, again and again.
    let fired = 0;
    const rearm = () => {
      fired++;
      clock.setTimer(26_000.000000000004 - clock.now(), rearm, { sync: true });
    };
    clock.setTimer(1e-12, rearm, { sync: true });
    await expect(clock.advanceTo(30_000)).rejects.toThrow(/virtual time stands still at 26000/);
    // One ULP of movement at the first re-arm, then none: the limit counts per instant.
    expect(fired).toBeGreaterThanOrEqual(MAX_TIMERS_AT_ONE_INSTANT);
    expect(fired).toBeLessThanOrEqual(MAX_TIMERS_AT_ONE_INSTANT + 1);
    // Many timers at one instant that end are fine, and time then moves on.
    const other = new VirtualClock(0, { settle: 'microtasks' });
    let n = 0;
    for (let i = 0; i < 1000; i++) other.setTimer(5, () => n++, { sync: true });
    await other.advanceTo(10);
    expect([n, other.now()]).toEqual([1000, 10]);
  });
});
