/**
 * When a peer whose node has gone silent may count as unreachable without this cycle waiting out
 * one more check of it (issue 14). A direct check of a lost node ends only at the probe timeout,
 * so every cycle that waits for it lasts that long: a secondary woken by the expiry of a lost
 * leader's key then took the whole timeout (3 s at the defaults) to decide.
 *
 * The evidence stays as strong as one fresh check: the peer's checks have gone unanswered for at
 * least a whole probe timeout, counted from its last answer, and the latest of them ended at most
 * SILENT_PEER_FRESH_MS ago. The agent keeps that evidence fresh by starting a check of such a peer
 * every SILENT_PEER_RECHECK_MS while it stays silent (they overlap; they start once a check has
 * gone SILENT_PEER_RECHECK_AFTER_MS without an answer); any answer ends the silence
 * at once, and the peer is then checked (and waited for) as any other. Refused connections count
 * as unanswered, as in the check itself (a closed port takes no writes). Times are this agent's
 * monotonic clock only.
 */

/** How often the agent starts another check of a peer that stays silent (ms). */
export const SILENT_PEER_RECHECK_MS = 250;
/** How old the end of the latest unanswered check may be for the silence to stand (ms). */
export const SILENT_PEER_FRESH_MS = 1000;
/**
 * How long a check goes unanswered before the rechecks start (ms): the first recheck then ends
 * SILENT_PEER_FRESH_MS after that check, so the evidence stays fresh without a gap, and a peer
 * that answers within this time is never checked more than once a cycle.
 */
export const SILENT_PEER_RECHECK_AFTER_MS = SILENT_PEER_FRESH_MS - SILENT_PEER_RECHECK_MS;

/** A peer's unanswered checks since it last answered (monotonic ms). */
export interface PeerQuiet {
  /** The start of the first unanswered check after the peer's last answer (or the answer itself). */
  readonly since: number;
  /** The end of the latest unanswered check. */
  readonly lastEnd: number;
}

export interface PeerSilenceVerdict {
  /** The peer counts as unreachable now, without waiting for another check. */
  readonly stands: boolean;
  readonly why: string;
}

export function peerSilenceStands(
  quiet: PeerQuiet | undefined,
  now: number,
  timeoutMs: number,
): PeerSilenceVerdict {
  if (quiet === undefined) return { stands: false, why: 'its last check answered (or none ran)' };
  const span = quiet.lastEnd - quiet.since;
  if (span < timeoutMs)
    return {
      stands: false,
      why: `its checks have gone unanswered for ${span} ms, less than the probe timeout (${timeoutMs} ms)`,
    };
  const age = now - quiet.lastEnd;
  if (age > SILENT_PEER_FRESH_MS)
    return {
      stands: false,
      why: `its latest unanswered check ended ${age} ms ago (at most ${SILENT_PEER_FRESH_MS} ms)`,
    };
  return {
    stands: true,
    why: `silent for ${span} ms of checks, the latest ended ${Math.max(0, age)} ms ago`,
  };
}

/**
 * How long a peer has been silent to this agent's direct checks (ms, this agent's monotonic
 * clock): from its last answer to any check (`lastAnswer`), or, when it has not answered since
 * this agent started, from the start of the first unanswered check, to `now`. Undefined while it
 * answered its latest check (`quiet` absent). Between its last answer and the first check that
 * went unanswered nobody asked it (at most an interval); that span counts as silence, as it does
 * for the lease rule, which counts from the last renewal.
 */
export function peerSilentMs(
  quiet: PeerQuiet | undefined,
  lastAnswer: number | undefined,
  now: number,
): number | undefined {
  if (quiet === undefined) return undefined;
  return Math.max(0, now - (lastAnswer ?? quiet.since));
}
