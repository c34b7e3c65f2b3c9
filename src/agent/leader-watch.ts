/**
 * The agent's watch on its cluster's leader key: a release or expiry of the key wakes the loop for
 * a cycle at once instead of at the next probe interval. The watch only triggers a cycle; the
 * cycle re-reads the store and decide() decides as on any other cycle.
 *
 * A watch that cannot be opened (the deadline of a store call), breaks (its stream failed, the
 * member was cut off) or goes silent is reported once, and the loop runs on its interval alone
 * until the watch is open again; every cycle tries to reopen it. Silent: two reads of the store in
 * a row saw the leader key change and the watch said nothing in between (the stream still looks
 * connected while its events no longer arrive, e.g. a blackholed connection).
 */
import { withTimeout, type Clock } from '../clock.js';
import type { CoordinationSession, StoreWatch } from '../coordination/port.js';
import type { LeaderRecord } from '../domain/types.js';

export interface LeaderWatcherOptions {
  readonly session: CoordinationSession;
  readonly clock: Clock;
  /** Deadline of opening the watch (ms). */
  readonly timeoutMs: number;
  /** The key changed: run a cycle now. */
  readonly wake: () => void;
  /** Reports a change of the watch's state (event name, machine reason, human message). */
  readonly report: (event: string, reason: string, message: string) => void;
}

export type LeaderWatchState = 'unsupported' | 'opening' | 'open' | 'down';

export class LeaderWatcher {
  private watch: StoreWatch | null = null;
  private opening = false;
  private closed = false;
  /** Whether the watch was ever open, and whether its loss was reported (once per episode). */
  private wasOpen = false;
  private downReported = false;
  /** Changes the watch delivered, and how many had arrived at the last read of the store. */
  private seq = 0;
  private seqAtRead = 0;
  private lastSig: string | undefined;
  /** The read that saw a change the watch had not told (seq at that read); null: none. */
  private suspectSeq: number | null = null;

  constructor(private readonly options: LeaderWatcherOptions) {}

  get state(): LeaderWatchState {
    if (this.options.session.watchLeader === undefined) return 'unsupported';
    if (this.watch !== null) return 'open';
    return this.opening ? 'opening' : 'down';
  }

  /** Opens the watch unless it is open or being opened (never throws; failures are reported). */
  ensure(): void {
    const open = this.options.session.watchLeader?.bind(this.options.session);
    if (open === undefined || this.closed || this.watch !== null || this.opening) return;
    this.opening = true;
    const handlers = {
      onChange: () => {
        if (this.closed) return;
        this.seq++;
        this.options.wake();
      },
      onBroken: (err: Error) => {
        if (this.closed) return;
        this.watch = null;
        this.down('leader_watch_broken', `the watch on the leader key broke (${err.message})`);
      },
    };
    withTimeout(this.options.clock, this.options.timeoutMs, 'leader watch', (signal) =>
      open(handlers, signal),
    )
      .then(
        (w) => {
          if (this.closed) {
            w.close();
            return;
          }
          this.watch = w;
          if (this.downReported) {
            this.options.report(
              'leader-watch-restored',
              'leader_watch_open',
              'watching the leader key again: its release or expiry wakes the loop at once',
            );
          }
          const reopened = this.downReported;
          this.wasOpen = true;
          this.downReported = false;
          if (reopened) {
            // A change while the watch was down may have been missed: look once more now.
            this.seq++;
            this.options.wake();
          }
        },
        (err: unknown) => {
          if (this.closed) return;
          this.down(
            'leader_watch_failed',
            `could not watch the leader key (${err instanceof Error ? err.message : String(err)})`,
          );
        },
      )
      .finally(() => {
        this.opening = false;
      });
  }

  /**
   * What a cycle read from the store: checks that the watch told every change of the leader key
   * it should have, and reopens a watch that is down.
   */
  observed(leader: LeaderRecord | null): void {
    const sig = leader === null ? 'none' : `${leader.site}@${leader.epoch}`;
    if (this.watch !== null) {
      if (this.suspectSeq !== null && this.seq === this.suspectSeq) {
        this.watch.close();
        this.watch = null;
        this.down('leader_watch_silent', 'the leader key changed and its watch said nothing: reopening it');
      }
      this.suspectSeq = null;
      if (
        this.watch !== null &&
        this.lastSig !== undefined &&
        sig !== this.lastSig &&
        this.seq === this.seqAtRead
      )
        this.suspectSeq = this.seq;
    }
    this.lastSig = sig;
    this.seqAtRead = this.seq;
    this.ensure();
  }

  close(): void {
    this.closed = true;
    this.watch?.close();
    this.watch = null;
  }

  private down(reason: string, message: string): void {
    this.suspectSeq = null;
    if (this.downReported) return;
    this.downReported = true;
    this.options.report(
      'leader-watch-lost',
      reason,
      `${message}; until it is back the loop runs on its probe interval${this.wasOpen ? '' : ' alone'}`,
    );
  }
}
