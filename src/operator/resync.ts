/**
 * The periodic resync, spread over its period: each key is queued once per period at its own
 * phase (a hash of the key modulo the period), not all keys in one burst. A tick every
 * `tickMs` queues the keys whose phase fell since the previous tick; a tick later than a whole
 * period queues them all. The period is read at every tick, so it may change (the controller
 * lengthens it while the coordination store's watch is open); a key whose phase moves with it
 * runs at most one period late or once early.
 */
import type { Clock } from '../clock.js';

/** FNV-1a (32 bit) of the key: stable across processes and restarts. */
export function keyHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Where in a period of `periodMs` the key's resync falls (0 ≤ phase < periodMs). */
export function resyncPhase(key: string, periodMs: number): number {
  return keyHash(key) % Math.max(1, Math.round(periodMs));
}

/** True when a time ≡ phase (mod period) lies in (from, to]. */
export function phaseDue(phase: number, periodMs: number, from: number, to: number): boolean {
  return Math.floor((to - phase) / periodMs) > Math.floor((from - phase) / periodMs);
}

export interface SpreadResyncOptions {
  readonly clock: Clock;
  /** The keys known now (the informer's cache). */
  readonly keys: () => Iterable<string>;
  readonly enqueue: (key: string) => void;
  /** The period now (ms). */
  readonly periodMs: () => number;
  /** How often to look (ms). */
  readonly tickMs: number;
  /** Called at every tick, after the keys were queued (the loop's heartbeat). */
  readonly onTick?: (now: number) => void;
}

export class SpreadResync {
  private cancel: (() => void) | null = null;
  private last = 0;
  /** Keys queued by the resync (tests, figures). */
  queued = 0;

  constructor(private readonly options: SpreadResyncOptions) {}

  start(): void {
    this.stop();
    this.last = this.options.clock.now();
    this.schedule();
  }

  stop(): void {
    this.cancel?.();
    this.cancel = null;
  }

  private schedule(): void {
    this.cancel = this.options.clock.setTimer(this.options.tickMs, () => {
      this.tick();
      this.schedule();
    });
  }

  private tick(): void {
    const now = this.options.clock.now();
    const period = Math.max(1, this.options.periodMs());
    for (const key of this.options.keys()) {
      if (phaseDue(resyncPhase(key, period), period, this.last, now)) {
        this.queued++;
        this.options.enqueue(key);
      }
    }
    this.last = now;
    this.options.onTick?.(now);
  }
}
