/** What the decision engine may ask an agent to do. Every action carries the epoch it believes in. */

export type Action =
  /** Observe only. */
  | { readonly kind: 'none' }
  /** Create the leader key for this (running primary) site: compare-and-set on the last epoch. */
  | { readonly kind: 'acquire-leader'; readonly expectedLastEpoch: number }
  /** Win the leader key (compare-and-set on the last epoch), then promote the local secondary. */
  | {
      readonly kind: 'takeover';
      readonly expectedLastEpoch: number;
      readonly handshake: boolean;
      readonly from: string | null;
      readonly planned: boolean;
      readonly intentId?: string;
    }
  /** The key is ours already: promote the local secondary (`hdbnsutil -sr_takeover`). */
  | { readonly kind: 'promote'; readonly epoch: number; readonly handshake: boolean }
  /** Give up the leader key (after stopping the local site when `fence` is 'stop'). */
  | {
      readonly kind: 'step-down';
      readonly epoch: number;
      readonly fence: 'stop' | 'none';
      readonly handoverTo?: string;
      readonly intentId?: string;
    }
  /** Start the local site (a stopped primary we lead, or a stopped secondary). */
  | { readonly kind: 'start-local'; readonly epoch: number; readonly restart: boolean }
  /** Stop the local site so it cannot take writes. Fencing one's own site never needs permission. */
  | { readonly kind: 'fence'; readonly epoch: number; readonly mode: 'stop'; readonly intentId?: string }
  /**
   * Register the local site as a secondary of `primary` (the site it should replicate from): a
   * stopped former primary, or with `online` a running secondary still attached to an old source.
   */
  | {
      readonly kind: 'register';
      readonly epoch: number;
      readonly primary: string;
      readonly online?: boolean;
      readonly intentId?: string;
      /** Fence requests of this site that a requested registration releases (removed once done). */
      readonly releases?: readonly string[];
    }
  /** Refuse (and remove) a request that cannot be carried out safely. */
  | { readonly kind: 'refuse-intent'; readonly epoch: number; readonly intentId: string };

export type ActionKind = Action['kind'];

export interface Decision {
  readonly action: Action;
  /** Machine-readable reason, snake_case, stable (tests and metrics key on it). */
  readonly reason: string;
  /** One human sentence: what and why. */
  readonly message: string;
}

export const NONE: Action = { kind: 'none' };
