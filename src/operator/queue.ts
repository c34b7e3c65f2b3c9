/**
 * A work queue keyed by `namespace/name`, as controller-runtime's: adding a key that is already
 * waiting merges into one run; a key is never processed twice at once (an add during a run makes
 * it run once more afterwards); a failed run is retried with exponential backoff, a successful one
 * resets the backoff. At most `concurrency` keys run at once. Keys whose time has come wait for a
 * slot in two first-in first-out lines, as in controller-runtime's priority queue: `change`
 * (something changed: the resource, the store, a retry) and `resync` (the periodic resync and the
 * initial list, which only confirm). A free slot takes the oldest change first, so a change never
 * waits behind a line of resyncs; a key waiting as a resync that is asked for as a change moves to
 * the change line. A key added again while it runs goes to the back of its line, so a busy key
 * cannot starve the others of its line. Timers come from the injected clock.
 */
import type { Clock } from '../clock.js';

/** `change`: something changed that the status may have to show; `resync`: a periodic look. */
export type Priority = 'change' | 'resync';

export interface WorkQueueOptions {
  /** First retry delay after a failure (default 200 ms). */
  readonly baseDelayMs?: number;
  /** Largest retry delay (default 30 s). */
  readonly maxDelayMs?: number;
  /** Most keys run at once (default 8). */
  readonly concurrency?: number;
  /** Called with each failure (for logs and metrics). */
  readonly onError?: (key: string, err: unknown, retryInMs: number) => void;
  /** Called as a key starts, with how long it waited in its line for a slot (ms), and the line. */
  readonly onStart?: (key: string, waitedMs: number, priority: Priority) => void;
}

/** The stronger of two priorities. */
const higher = (a: Priority, b: Priority): Priority =>
  a === 'change' || b === 'change' ? 'change' : 'resync';

export class WorkQueue {
  private readonly waiting = new Map<string, { at: number; priority: Priority; cancel: () => void }>();
  private readonly running = new Map<string, Promise<void>>();
  /** Keys due and waiting for a free slot, per line, oldest first, with when they became due. */
  private readonly lines: Record<Priority, Map<string, number>> = { change: new Map(), resync: new Map() };
  /** Keys added while running: run again once the current run ends, in this line. */
  private readonly dirty = new Map<string, Priority>();
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

  /**
   * Schedules `key` in `delayMs` (0: now) in line `priority` (default `change`). An earlier
   * pending schedule of the same key wins, and takes the higher of the two priorities.
   */
  add(key: string, delayMs = 0, priority: Priority = 'change'): void {
    if (this.stopped) return;
    if (delayMs === 0 && this.queued(key, priority)) return;
    if (this.running.has(key)) {
      if (delayMs === 0) this.dirty.set(key, higher(priority, this.dirty.get(key) ?? 'resync'));
      else this.schedule(key, delayMs, priority);
      return;
    }
    this.schedule(key, delayMs, priority);
  }

  /** True when `key` already waits in a line (moved to the change line when asked as a change). */
  private queued(key: string, priority: Priority): boolean {
    if (this.lines.change.has(key)) return true;
    const since = this.lines.resync.get(key);
    if (since === undefined) return false;
    if (priority === 'change') {
      this.lines.resync.delete(key);
      this.lines.change.set(key, since);
    }
    return true;
  }

  private schedule(key: string, delayMs: number, priority: Priority): void {
    const at = this.clock.now() + delayMs;
    const pending = this.waiting.get(key);
    if (pending !== undefined) {
      if (pending.at <= at) {
        pending.priority = higher(pending.priority, priority);
        return;
      }
      pending.cancel();
      priority = higher(pending.priority, priority);
    }
    const entry = {
      at,
      priority,
      cancel: this.clock.setTimer(delayMs, () => {
        this.waiting.delete(key);
        this.run(key, entry.priority);
      }),
    };
    this.waiting.set(key, entry);
  }

  /** A key whose time has come: into its line, then start what the free slots allow. */
  private run(key: string, priority: Priority): void {
    if (this.stopped) return;
    if (this.running.has(key)) {
      this.dirty.set(key, higher(priority, this.dirty.get(key) ?? 'resync'));
      return;
    }
    if (!this.queued(key, priority)) this.lines[priority].set(key, this.clock.now());
    this.pump();
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.concurrency) {
      const priority: Priority = this.lines.change.size > 0 ? 'change' : 'resync';
      const next = this.lines[priority].entries().next();
      if (next.done === true) return;
      const [key, since] = next.value;
      this.lines[priority].delete(key);
      this.options.onStart?.(key, this.clock.now() - since, priority);
      this.start(key);
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
        // A retry: the run it repeats has not been done.
        this.schedule(key, delay, 'change');
      } finally {
        this.running.delete(key);
        const again = this.dirty.get(key);
        if (again !== undefined) {
          this.dirty.delete(key);
          this.run(key, again);
        }
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
    return new Set([
      ...this.waiting.keys(),
      ...this.lines.change.keys(),
      ...this.lines.resync.keys(),
      ...this.running.keys(),
    ]).size;
  }

  /** Keys due and waiting for a slot in line `priority`. */
  waitingIn(priority: Priority): number {
    return this.lines[priority].size;
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
    this.lines.change.clear();
    this.lines.resync.clear();
    this.dirty.clear();
    await Promise.allSettled([...this.running.values()]);
  }
}
