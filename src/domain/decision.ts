/** What the decision engine may ask an agent to do. Every action carries the epoch it believes in. */

export type Action =
  /** Observe only. */
  | { readonly kind: 'none' }
  /** Create the leader key for this (running primary) site: compare-and-set on the last epoch. */
  | {
      readonly kind: 'acquire-leader';
      readonly expectedLastEpoch: number;
      /** A pending handover to this site that can no longer complete: acquired over it. */
      readonly supersedeHandover?: string;
    }
  /** Win the leader key (compare-and-set on the last epoch), then promote the local secondary. */
  | {
      readonly kind: 'takeover';
      readonly expectedLastEpoch: number;
      readonly handshake: boolean;
      readonly from: string | null;
      readonly planned: boolean;
      readonly intentId?: string;
      /**
       * Take the key from this site, whose node a fence confirmed off in the current term
       * (compare-and-set on its key at expectedLastEpoch), instead of waiting for it to be free.
       */
      readonly seize?: string;
      /** This site's node was powered off by our fence: power it on once the takeover is done. */
      readonly powerOn?: string;
      /** A pending handover to this site that can no longer complete: the key is won over it. */
      readonly supersedeHandover?: string;
    }
  /**
   * Win the leader key (compare-and-set on the last epoch) and release it at once naming `to`, a
   * stopped primary with every commit, which takes it and starts (a last leader that never took
   * over and is not in sync to retry: decide.ts last_leader_hands_back).
   */
  | {
      readonly kind: 'hand-back';
      readonly expectedLastEpoch: number;
      readonly to: string;
      /** A pending handover to another site that can no longer complete: the key is won over it. */
      readonly supersedeHandover?: string;
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
  /**
   * Power the node of `site` (the lost leader of term `epoch`) off through the fence agent, then
   * `status` until it reports off (STONITH). Refused when the term moved on; recorded in the store.
   */
  | {
      readonly kind: 'fence-node';
      readonly epoch: number;
      readonly site: string;
      /** Power the node on again once its power-off is confirmed (a rogue primary's node). */
      readonly powerOnAfter?: boolean;
    }
  /**
   * A planned region switchover's demotion (docs/dr.md): under the draining record of
   * `generation`, this primary (the -rw Service withdrawn) waits until, on two probes a cycle
   * apart, no log position moved and every volume of the link into `target` has shipped all of
   * it; then it stops, and only then records the position (the demotion token) in the store.
   */
  | {
      readonly kind: 'demote-region';
      readonly epoch: number;
      readonly generation: number;
      readonly target: string;
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
