/**
 * Clocks of different hosts. Every time an agent writes (a report's observedAt, a SOK record's
 * confirmedAt, a leader term's since) is read on its own host's clock. Rules that compare such a
 * time with another host's clock count the spec's bound (`clock.maxSkewSeconds`) against trust,
 * never for it; agents measure the offset to each peer and publish it, and a measured offset
 * beyond the bound refuses automatic takeover. Pure: the agent passes the three readings in.
 */
import type { HanaSystemReplicationSpec } from '../api/spec.js';

/** One measurement of a peer's clock against this site's clock (Cristian's method). */
export interface SkewEstimate {
  /** The peer's clock minus this site's clock (ms): the midpoint of the possible interval. */
  readonly offsetMs: number;
  /** Half the round trip (ms): the true offset lies within offsetMs ± uncertaintyMs. */
  readonly uncertaintyMs: number;
  /** When it was measured, on this site's clock (ms). */
  readonly measuredAt: number;
}

/**
 * The peer read `peerTime` on its clock somewhere between our `sentAt` and `receivedAt`: its
 * offset lies in [peerTime - receivedAt, peerTime - sentAt].
 */
export function estimateSkew(sentAt: number, receivedAt: number, peerTime: number): SkewEstimate {
  const rtt = Math.max(0, receivedAt - sentAt);
  return {
    offsetMs: peerTime - (sentAt + rtt / 2),
    uncertaintyMs: rtt / 2,
    measuredAt: receivedAt,
  };
}

export function maxSkewMs(spec: HanaSystemReplicationSpec): number {
  return spec.clock.maxSkewSeconds * 1000;
}

/** The largest offset the measurement allows (|offset| + uncertainty), in ms. */
export function worstSkewMs(e: SkewEstimate): number {
  return Math.abs(e.offsetMs) + e.uncertaintyMs;
}

export function skewBeyondBound(e: SkewEstimate, spec: HanaSystemReplicationSpec): boolean {
  return worstSkewMs(e) > maxSkewMs(spec);
}

const seconds = (ms: number): string => `${(Math.round(ms / 100) / 10).toFixed(1)} s`;

/** "A's clock is 5.0 s ahead of B's (± 0.1 s)". */
export function describeSkew(e: SkewEstimate, peer: string, self: string): string {
  const dir = e.offsetMs >= 0 ? 'ahead of' : 'behind';
  return `${peer}'s clock is ${seconds(Math.abs(e.offsetMs))} ${dir} ${self}'s (± ${seconds(e.uncertaintyMs)})`;
}
