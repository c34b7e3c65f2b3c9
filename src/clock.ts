/**
 * The injected clock. Nothing outside this file reads the wall clock or sets timers directly,
 * so the same agent code runs in real time and in the simulator's virtual time.
 */
export interface Clock {
  /**
   * Wall time (ms since the Unix epoch): for values published to other hosts (reports, sync
   * records, last-primary times), which are compared with another host's clock only with the
   * skew bound. NTP steps and a DBA's `date -s` move it.
   */
  now(): number;
  /**
   * A monotonic reading (ms, arbitrary origin) that no wall-clock jump moves: for every local
   * duration (lease age, fence deadline, watchdog feed bound, failure timing), as Patroni and
   * etcd measure leases. Only differences of two readings on the same host mean anything.
   */
  monotonic(): number;
  /** Resolves after ms; rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /**
   * Calls fn after ms; returns a cancel function. `sync: true` promises that fn starts no
   * asynchronous work, so a virtual clock need not let promises settle after it (faster).
   */
  setTimer(ms: number, fn: () => void, options?: { readonly sync?: boolean }): () => void;
  /**
   * A controller for one deadline (withTimeout). Absent: `new AbortController()`. A virtual
   * clock whose world has no real I/O may hand out a lighter one (see VirtualClock).
   */
  abortController?(): DeadlineController;
}

/** What withTimeout needs of an AbortController. */
export interface DeadlineController {
  readonly signal: AbortSignal;
  abort(reason?: unknown): void;
}

export class TimeoutError extends Error {
  readonly code = 'TIMEOUT' as const;
  constructor(
    readonly what: string,
    readonly ms: number,
  ) {
    super(`${what} timed out after ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/**
 * Runs fn with a deadline on the given clock. The signal passed to fn is aborted at the
 * deadline, so adapters can kill a child process or close a socket.
 */
export function withTimeout<T>(
  clock: Clock,
  ms: number,
  what: string,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = clock.abortController?.() ?? new AbortController();
  return raceDeadline(
    clock,
    ms,
    () => fn(controller.signal),
    () => {
      const err = new TimeoutError(what, ms);
      controller.abort(err);
      return err;
    },
  );
}

/**
 * The race of `fn()` against a timer that rejects with `expired()`, settled in the same microtask
 * turns as `async` code awaiting `Promise.race([fn(), timeout])` and cancelling the timer in a
 * `finally` (the simulator's virtual time depends on that order: which of two chains at one
 * instant runs first), without the timeout promise, the race and the async frame: the agent makes
 * a dozen of these each cycle, the fuzz runner millions.
 *
 * Turns, counted from the one in which fn's promise settles (or the timer fires): +1 the race's
 * promise settles, +2 the async function's promise does, so its caller resumes at +3. Here: +1
 * the race is decided (a reaction of fn's promise; at the deadline a queued microtask), +2 the
 * promise returned settles (a microtask the decision queued), +3 the caller.
 */
function raceDeadline<T>(clock: Clock, ms: number, fn: () => Promise<T>, expired: () => Error): Promise<T> {
  let cancel: () => void = () => {};
  let work: Promise<T>;
  let lose: (err: unknown) => void = () => {};
  try {
    cancel = clock.setTimer(ms, () => {
      const err = expired();
      queueMicrotask(() => lose(err));
    });
    work = fn();
  } catch (err) {
    // As the async function: a synchronous throw rejects its promise at once (timer cancelled).
    cancel();
    return Promise.reject(err as Error);
  }
  // One promise where the race took three (the race's, a reaction to fn's, the one returned): the
  // first to settle (fn's reaction or the deadline's microtask, turn +1) queues a microtask that
  // settles the promise returned (turn +2), as the race's own reaction did.
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = (ok: boolean, outcome: unknown) => {
      if (done) return;
      done = true;
      queueMicrotask(() => {
        cancel();
        if (ok) resolve(outcome as T);
        else reject(outcome as Error);
      });
    };
    lose = (err) => finish(false, err);
    // Promise.race takes each entry through Promise.resolve, as here.
    Promise.resolve(work).then(
      (value) => finish(true, value),
      (err: unknown) => finish(false, err),
    );
  });
}

/**
 * withTimeout for work that takes no abort signal (nothing to kill at the deadline): the same
 * deadline and TimeoutError, without building an AbortController per call (the agent makes a
 * handful of coordination calls every cycle).
 */
export function withDeadline<T>(clock: Clock, ms: number, what: string, fn: () => Promise<T>): Promise<T> {
  return raceDeadline(clock, ms, fn, () => new TimeoutError(what, ms));
}

export const realClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const t = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(t);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
  setTimer: (ms, fn) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

interface VirtualTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  readonly sync: boolean;
  cancelled: boolean;
}

/** Earlier first; at the same instant, the one set first (as a list scanned in order would). */
const before = (a: VirtualTimer, b: VirtualTimer) => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/** One 'abort' listener of a LightAbortSignal: a link of its list, as Node's EventTarget keeps them. */
type AbortCallback = ((this: unknown, event: Event) => unknown) | { handleEvent(event: Event): unknown };

interface AbortListener {
  readonly callback: AbortCallback;
  readonly capture: boolean;
  readonly once: boolean;
  previous: AbortListener | AbortRoot;
  next: AbortListener | undefined;
  removed: boolean;
}

interface AbortRoot {
  next: AbortListener | undefined;
}

/**
 * An AbortSignal for a world without real I/O (the simulator): the same aborted/reason/abort
 * event, without Node's AbortSignal construction, which costs several microseconds on Node 20
 * (the simulator makes ~10,000 deadlines per schedule and aborts a handful). Handed out only by
 * a VirtualClock made with `lightSignals`: a Node API (AbortSignal.any, child_process) needs a
 * real one.
 *
 * Its 'abort' listeners are kept as Node's EventTarget keeps them (a list in the order added, a
 * listener added twice kept once, a `once` one unlinked before it is called, the next one looked
 * up before each call, a removed one skipped, a throw reported as an uncaught exception on the
 * next tick, a returned promise's rejection too), without extending EventTarget: its construction
 * (a map per target) and its addEventListener (options validated, the type converted) were a
 * tenth of the CPU of a sim:fuzz schedule, which adds and removes a listener on nearly every
 * signal it makes. An abort signal dispatches nothing but 'abort': listeners of another type are
 * not kept. No `signal` option for a listener (nothing here uses one).
 */
class LightAbortSignal {
  aborted = false;
  reason: unknown = undefined;
  onabort: ((this: AbortSignal, ev: Event) => unknown) | null = null;
  private readonly listeners: AbortRoot = { next: undefined };
  private last: AbortListener | AbortRoot = this.listeners;

  throwIfAborted(): void {
    if (this.aborted) throw this.reason;
  }

  addEventListener(
    type: string,
    callback: AbortCallback | null,
    options?: { readonly once?: boolean; readonly capture?: boolean } | boolean,
  ): void {
    if (type !== 'abort' || callback === null) return;
    const capture = typeof options === 'boolean' ? options : options?.capture === true;
    for (let l = this.listeners.next; l !== undefined; l = l.next)
      if (l.callback === callback && l.capture === capture) return;
    const link: AbortListener = {
      callback,
      capture,
      once: typeof options === 'object' && options.once === true,
      previous: this.last,
      next: undefined,
      removed: false,
    };
    this.last.next = link;
    this.last = link;
  }

  removeEventListener(
    type: string,
    callback: AbortCallback | null,
    options?: { readonly capture?: boolean } | boolean,
  ): void {
    if (type !== 'abort' || callback === null) return;
    const capture = typeof options === 'boolean' ? options : options?.capture === true;
    for (let l = this.listeners.next; l !== undefined; l = l.next) {
      if (l.callback !== callback || l.capture !== capture) continue;
      this.unlink(l);
      return;
    }
  }

  private unlink(l: AbortListener): void {
    l.previous.next = l.next;
    if (l.next !== undefined) l.next.previous = l.previous;
    else this.last = l.previous;
    l.removed = true;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason ?? new DOMException('This operation was aborted', 'AbortError');
    const event = new Event('abort');
    this.onabort?.call(this as unknown as AbortSignal, event);
    this.dispatch(event);
    // After this signal's own listeners, as Node aborts the signals AbortSignal.any made from it.
    this.mirror?.abort(this.reason);
  }

  /** Node's EventTarget dispatch of one event to the 'abort' listeners (see the class). */
  private dispatch(event: Event): void {
    let l = this.listeners.next;
    while (l !== undefined) {
      const next: AbortListener | undefined = l.next;
      if (!l.removed) {
        if (l.once) this.unlink(l);
        try {
          const cb = l.callback;
          const result: unknown = typeof cb === 'function' ? cb.call(this, event) : handleEventOf(cb, event);
          if (result !== undefined && result !== null) reportRejection(result);
        } catch (err) {
          process.nextTick(() => {
            throw err;
          });
        }
      }
      l = next;
    }
  }

  /** A Node AbortSignal that follows this one (made on first use: only anySignal needs it). */
  native(): AbortSignal {
    if (this.mirror === undefined) {
      this.mirror = new AbortController();
      if (this.aborted) this.mirror.abort(this.reason);
    }
    return this.mirror.signal;
  }

  private mirror: AbortController | undefined;
}

/** An object listener, as Node's EventTarget calls it (through an async function). */
async function handleEventOf(listener: { handleEvent(event: Event): unknown }, event: Event): Promise<void> {
  if (typeof listener.handleEvent === 'function') await listener.handleEvent(event);
}

/** A listener's returned thenable: its rejection is an uncaught exception (Node's addCatch). */
function reportRejection(result: unknown): void {
  const then = (result as { then?: unknown }).then;
  if (typeof then === 'function')
    (then as (ok: undefined, fail: (err: unknown) => void) => unknown).call(
      result,
      undefined,
      (err: unknown) =>
        process.nextTick(() => {
          throw err;
        }),
    );
}

/**
 * AbortSignal.any for every signal this code base hands around: Node 24's AbortSignal.any refuses
 * anything but Node's own AbortSignal, so a light one (VirtualClock `lightSignals`) takes part
 * through a Node signal that follows it. Use this instead of AbortSignal.any (lint enforces it).
 */
export function anySignal(signals: readonly AbortSignal[]): AbortSignal {
  return AbortSignal.any(signals.map((s) => (s instanceof LightAbortSignal ? s.native() : s)));
}

class LightAbortController implements DeadlineController {
  private readonly light = new LightAbortSignal();
  // Structurally an AbortSignal for every caller in the simulated world (aborted, reason,
  // throwIfAborted, onabort, the 'abort' event); not one for Node's own APIs.
  readonly signal = this.light as unknown as AbortSignal;
  abort(reason?: unknown): void {
    this.light.abort(reason);
  }
}

/** More timers at one instant of virtual time than any schedule sets: time has stopped moving. */
export const MAX_TIMERS_AT_ONE_INSTANT = 100_000;

/** Virtual time: timers fire only when the owner advances the clock. */
export class VirtualClock implements Clock {
  private current: number;
  private readonly origin: number;
  private seq = 0;
  /** A binary min-heap by (at, seq); a cancelled timer stays until it reaches the top. */
  private heap: VirtualTimer[] = [];
  private live = 0;
  private readonly settleTurns: number;
  private readonly microtasks: boolean;
  readonly abortController?: () => DeadlineController;

  /**
   * `settleTurns`: macrotask turns let pass after each timer (default 3, for code that mixes
   * real I/O in). One turn runs every promise continuation when the timers drive nothing but
   * promises (the simulator: no real I/O, no real timers), as a macrotask runs only once the
   * microtask queue is empty.
   *
   * `settle: 'microtasks'` (for a world of promises only, no real I/O or real timers at all):
   * after a timer, wait only until the microtask queue is empty (a process.nextTick queued from
   * a promise continuation runs once every microtask, those queued meanwhile included, has run),
   * rather than a whole event-loop turn. `lightSignals`: withTimeout gets a light AbortSignal
   * (see LightAbortSignal) instead of Node's.
   */
  constructor(
    start = 0,
    options: {
      readonly settleTurns?: number;
      readonly settle?: 'macrotasks' | 'microtasks';
      readonly lightSignals?: boolean;
    } = {},
  ) {
    this.current = start;
    this.settleTurns = Math.max(1, options.settleTurns ?? 3);
    this.microtasks = options.settle === 'microtasks';
    this.origin = start;
    if (options.lightSignals === true) this.abortController = () => new LightAbortController();
  }

  now(): number {
    return this.current;
  }

  /** Virtual time since the clock was made: it only moves forward, with the timers. */
  monotonic(): number {
    return this.current - this.origin;
  }

  setTimer(ms: number, fn: () => void, options?: { readonly sync?: boolean }): () => void {
    const timer: VirtualTimer = {
      at: this.current + Math.max(0, ms),
      seq: this.seq++,
      fn,
      sync: options?.sync === true,
      cancelled: false,
    };
    this.push(timer);
    this.live++;
    return () => {
      if (timer.cancelled) return;
      timer.cancelled = true;
      this.live--;
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const cancel = this.setTimer(ms, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      const onAbort = () => {
        cancel();
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Time of the next pending timer, or undefined. */
  nextTimerAt(): number | undefined {
    return this.top()?.at;
  }

  /**
   * Advances to `target`, firing timers in time order and letting promise chains settle after
   * each one (so async code driven by the timers runs as it would in real time).
   */
  advanceTo(target: number): Promise<void> {
    if (this.microtasks) return this.advanceOnMicrotasks(target);
    return this.advanceOnMacrotasks(target);
  }

  private async advanceOnMacrotasks(target: number): Promise<void> {
    let needSettle = true;
    const fired = this.firedCounter();
    for (;;) {
      if (needSettle) await settle(this.settleTurns);
      const timer = this.fireNext(target, fired);
      if (timer === undefined) break;
      needSettle = !timer.sync;
    }
    this.current = Math.max(this.current, target);
    await settle(this.settleTurns);
  }

  /**
   * advanceTo for `settle: 'microtasks'`, the same steps in the same order without an async frame
   * and three promises per settle (a schedule of the fuzz runner settles ~8 times a simulated
   * second): a settle is a microtask that queues a process.nextTick, whose callback runs once the
   * microtask queue is empty (Node drains it before it turns to the tick queue). The hop through a
   * microtask first matters: a tick queued from a tick callback would run before the microtasks
   * the fired timer queued. The caller of advanceTo resumes as before: after every chain settled.
   */
  private advanceOnMicrotasks(target: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const fired = this.firedCounter();
      const run = () => {
        try {
          for (;;) {
            const timer = this.fireNext(target, fired);
            if (timer === undefined) break;
            if (!timer.sync) return afterMicrotasks(run);
          }
          this.current = Math.max(this.current, target);
          afterMicrotasks(resolve);
        } catch (err) {
          reject(err as Error);
        }
      };
      afterMicrotasks(run);
    });
  }

  private firedCounter(): { instant: number; count: number } {
    return { instant: this.current, count: 0 };
  }

  /** Fires the next timer due by `target` (undefined: none is). */
  private fireNext(target: number, fired: { instant: number; count: number }): VirtualTimer | undefined {
    const timer = this.top();
    if (timer === undefined || timer.at > target) return undefined;
    this.pop();
    timer.cancelled = true;
    this.live--;
    this.current = Math.max(this.current, timer.at);
    if (this.current !== fired.instant) {
      fired.instant = this.current;
      fired.count = 0;
    }
    // Time that no longer moves is a bug (a timer re-armed with a delay of nothing, sim:fuzz
    // 1326091883): stop with an error rather than spin for ever.
    if (++fired.count > MAX_TIMERS_AT_ONE_INSTANT)
      throw new Error(
        `virtual time stands still at ${this.current}: more than ${MAX_TIMERS_AT_ONE_INSTANT} timers fired at that instant (a timer re-armed with a delay that moves no time?)`,
      );
    timer.fn();
    return timer;
  }

  advanceBy(ms: number): Promise<void> {
    return this.advanceTo(this.current + ms);
  }

  /** The earliest live timer (cancelled ones on top are dropped). */
  private top(): VirtualTimer | undefined {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
    // Mostly cancelled deadlines: rebuild rather than let them pile up below the top.
    if (this.heap.length > 64 && this.live * 4 < this.heap.length) this.compact();
    return this.heap[0];
  }

  private compact(): void {
    const keep = this.heap.filter((t) => !t.cancelled);
    this.heap = [];
    for (const t of keep) this.push(t);
  }

  private push(timer: VirtualTimer): void {
    const h = this.heap;
    let i = h.length;
    h.push(timer);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(timer, h[parent]!)) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = timer;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && before(h[r]!, h[l]!) ? r : l;
      if (!before(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}

/** Calls fn once every queued microtask (those they queue included) has run. */
function afterMicrotasks(fn: () => void): void {
  queueMicrotask(() => process.nextTick(fn));
}

/** Lets every queued promise continuation run (`turns` macrotask turns, for chained I/O). */
export async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
