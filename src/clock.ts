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
export async function withTimeout<T>(
  clock: Clock,
  ms: number,
  what: string,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  let cancel: () => void = () => {};
  const timeout = new Promise<never>((_, reject) => {
    cancel = clock.setTimer(ms, () => {
      const err = new TimeoutError(what, ms);
      controller.abort(err);
      reject(err);
    });
  });
  try {
    return await Promise.race([fn(controller.signal), timeout]);
  } finally {
    cancel();
  }
}

/**
 * withTimeout for work that takes no abort signal (nothing to kill at the deadline): the same
 * deadline and TimeoutError, without building an AbortController per call (the agent makes a
 * handful of coordination calls every cycle).
 */
export async function withDeadline<T>(
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

/** Virtual time: timers fire only when the owner advances the clock. */
export class VirtualClock implements Clock {
  private current: number;
  private readonly origin: number;
  private seq = 0;
  private timers: { at: number; seq: number; fn: () => void; sync: boolean }[] = [];
  private readonly settleTurns: number;

  /**
   * `settleTurns`: macrotask turns let pass after each timer (default 3, for code that mixes
   * real I/O in). One turn runs every promise continuation when the timers drive nothing but
   * promises (the simulator: no real I/O, no real timers), as a macrotask runs only once the
   * microtask queue is empty.
   */
  constructor(start = 0, options: { readonly settleTurns?: number } = {}) {
    this.current = start;
    this.settleTurns = Math.max(1, options.settleTurns ?? 3);
    this.origin = start;
  }

  now(): number {
    return this.current;
  }

  /** Virtual time since the clock was made: it only moves forward, with the timers. */
  monotonic(): number {
    return this.current - this.origin;
  }

  setTimer(ms: number, fn: () => void, options?: { readonly sync?: boolean }): () => void {
    const timer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, sync: options?.sync === true };
    this.timers.push(timer);
    return () => {
      const i = this.timers.indexOf(timer);
      if (i >= 0) this.timers.splice(i, 1);
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
    let next: number | undefined;
    for (const t of this.timers) if (next === undefined || t.at < next) next = t.at;
    return next;
  }

  /**
   * Advances to `target`, firing timers in time order and letting promise chains settle after
   * each one (so async code driven by the timers runs as it would in real time).
   */
  async advanceTo(target: number): Promise<void> {
    let needSettle = true;
    for (;;) {
      if (needSettle) await settle(this.settleTurns);
      let nextIndex = -1;
      for (let i = 0; i < this.timers.length; i++) {
        const t = this.timers[i]!;
        if (t.at > target) continue;
        const best = nextIndex >= 0 ? this.timers[nextIndex]! : undefined;
        if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) nextIndex = i;
      }
      if (nextIndex < 0) break;
      const [timer] = this.timers.splice(nextIndex, 1);
      this.current = Math.max(this.current, timer!.at);
      timer!.fn();
      needSettle = !timer!.sync;
    }
    this.current = Math.max(this.current, target);
    await settle(this.settleTurns);
  }

  advanceBy(ms: number): Promise<void> {
    return this.advanceTo(this.current + ms);
  }
}

/** Lets every queued promise continuation run (`turns` macrotask turns, for chained I/O). */
export async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
