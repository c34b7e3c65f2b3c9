/**
 * A work queue keyed by `namespace/name`, as controller-runtime's: adding a key that is already
 * waiting merges into one run; a key is never processed twice at once (an add during a run makes
 * it run once more afterwards); a failed run is retried with exponential backoff, a successful one
 * resets the backoff. At most `concurrency` keys run at once; keys whose time has come wait in one
 * first-in first-out line, and a key added again while it runs goes to the back of that line, so a
 * busy key cannot starve the others. Timers come from the injected clock.
 */
import type { Clock } from '../clock.js';

export interface WorkQueueOptions {
  /** First retry delay after a failure (default 200 ms). */
  readonly baseDelayMs?: number;
  /** Largest retry delay (default 30 s). */
  readonly maxDelayMs?: number;
  /** Most keys run at once (default 8). */
  readonly concurrency?: number;
  /** Called with each failure (for logs and metrics). */
  readonly onError?: (key: string, err: unknown, retryInMs: number) => void;
}

export class WorkQueue {
  private readonly waiting = new Map<string, { at: number; cancel: () => void }>();
  private readonly running = new Map<string, Promise<void>>();
  /** Keys due and waiting for a free slot, oldest first (a Set keeps insertion order). */
  private readonly ready = new Set<string>();
  /** Keys added while running: run again once the current run ends. */
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private stopped = false;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly concurrency: number;

  constructor(
    private readonly clock: Clock,
    private readonly handler: (key: string) => Promise<void>,
    private readonly options: WorkQueueOptions = {},
  ) {
    this.baseDelayMs = options.baseDelayMs ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? 8));
  }

  /** Schedules `key` in `delayMs` (0: now). An earlier pending schedule of the same key wins. */
  add(key: string, delayMs = 0): void {
    if (this.stopped) return;
    if (delayMs === 0 && this.ready.has(key)) return;
    if (this.running.has(key)) {
      if (delayMs === 0) this.dirty.add(key);
      else this.schedule(key, delayMs);
      return;
    }
    this.schedule(key, delayMs);
  }

  private schedule(key: string, delayMs: number): void {
    const at = this.clock.now() + delayMs;
    const pending = this.waiting.get(key);
    if (pending !== undefined) {
      if (pending.at <= at) return;
      pending.cancel();
    }
    const cancel = this.clock.setTimer(delayMs, () => {
      this.waiting.delete(key);
      this.run(key);
    });
    this.waiting.set(key, { at, cancel });
  }

  /** A key whose time has come: into the line, then start what the free slots allow. */
  private run(key: string): void {
    if (this.stopped) return;
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    this.ready.add(key);
    this.pump();
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.concurrency) {
      const next = this.ready.values().next();
      if (next.done === true) return;
      this.ready.delete(next.value);
      this.start(next.value);
    }
  }

  private start(key: string): void {
    const done = (async () => {
      try {
        await this.handler(key);
        this.failures.delete(key);
      } catch (err) {
        const n = (this.failures.get(key) ?? 0) + 1;
        this.failures.set(key, n);
        const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (n - 1));
        this.options.onError?.(key, err, delay);
        this.running.delete(key);
        this.schedule(key, delay);
      } finally {
        this.running.delete(key);
        if (this.dirty.delete(key)) this.add(key);
        this.pump();
      }
    })();
    this.running.set(key, done);
  }

  /** Consecutive failures of `key` (0 after a success). */
  failureCount(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Keys waiting (for their time or for a slot) or running. */
  get size(): number {
    return new Set([...this.waiting.keys(), ...this.ready, ...this.running.keys()]).size;
  }

  /** Keys running now. */
  get active(): number {
    return this.running.size;
  }

  /** Cancels pending runs and waits for the running ones. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const { cancel } of this.waiting.values()) cancel();
    this.waiting.clear();
    this.ready.clear();
    this.dirty.clear();
    await Promise.allSettled([...this.running.values()]);
  }
}
