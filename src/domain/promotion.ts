/**
 * Promotion while another site may still take writes. Pure.
 *
 * A site that holds the leader key and is still a secondary promotes itself with
 * `hdbnsutil -sr_takeover`. Where another site may still write, the takeover must first suspend it
 * (`--suspendPrimary`, the handshake). When the handshake fails, a plain takeover is safe only if
 * every such site is known not to write; unknown counts as "may still write":
 * - a direct check that answered and found it writable: it writes;
 * - a direct check that answered and found a secondary, or HANA not running: it does not;
 * - a direct check that answered anything else (a primary not taking writes right now, no role):
 *   it may write, whatever its lease or its agent's last report say;
 * - no answer (timeout, unreachable, unauthenticated, or no peer check configured at all): the
 *   check says nothing. Then its agent's live report decides: fenced (a stop its agent confirmed),
 *   or read as a secondary or as stopped, it does not write; otherwise it may;
 * - no live report and no leader key: its lease ran out. A leader fences itself before its lease
 *   can expire, so it does not write (the agent-down limit of the README aside).
 * While one may still write, the promotion waits: the key stays, the next cycle tries again.
 */
import type { PeerView } from './observation.js';
import type { Observation } from './observation.js';
import { hasLiveProcess } from './health.js';

/** What a direct check of a site said. */
export type SuspectCheck =
  | { readonly kind: 'answered'; readonly view: PeerView }
  | {
      readonly kind: 'no-answer';
      readonly why: 'timeout' | 'unreachable' | 'unauthenticated' | 'blind';
      readonly detail?: string;
    };

export type WriterState = 'writable' | 'not-writing' | 'unknown';

export interface SuspectVerdict {
  readonly site: string;
  readonly state: WriterState;
  /** Why, for the human message. */
  readonly why: string;
}

/** A PeerView from the observation as a check: a view that is not reachable said nothing. */
export function checkOf(view: PeerView | undefined): SuspectCheck {
  if (view === undefined) return { kind: 'no-answer', why: 'unreachable', detail: 'not checked' };
  if (!view.reachable) return { kind: 'no-answer', why: 'unreachable' };
  return { kind: 'answered', view };
}

function describeNoAnswer(c: Extract<SuspectCheck, { kind: 'no-answer' }>): string {
  const what = {
    timeout: 'the direct check timed out',
    unreachable: 'the direct check got no answer',
    unauthenticated: 'the direct check was not authenticated',
    blind: 'no direct check is configured',
  }[c.why];
  return c.detail !== undefined ? `${what} (${c.detail})` : what;
}

/** Is `site` a writer, as far as this observation and the direct check show? */
export function writerState(obs: Observation, site: string, check: SuspectCheck): SuspectVerdict {
  const verdict = (state: WriterState, why: string): SuspectVerdict => ({ site, state, why });
  if (check.kind === 'answered') {
    const v = check.view;
    if (v.acceptsWrites) return verdict('writable', `${site} answers as a writable primary`);
    if (v.role === 'secondary') return verdict('not-writing', `${site} answers as a secondary`);
    if (v.running === false) return verdict('not-writing', `${site} answers: its HANA is not running`);
    // It answers and is neither stopped nor a secondary: nothing older (its lease, its agent's
    // last report) outweighs that. A lease that ran out says its agent stopped renewing, not that
    // HANA stopped: an agent that died leaves a primary that commits again once it stops waiting
    // for its secondary (sim:fuzz 120000466, 120200175).
    return verdict(
      'unknown',
      v.role === 'primary'
        ? `${site} answers as a primary that takes no writes right now (it may again)`
        : `${site} answers but does not say it is stopped or a secondary`,
    );
  }
  const direct = describeNoAnswer(check);
  if (obs.leader.state === 'held' && obs.leader.leader.site === site) {
    return verdict('unknown', `${direct}, and ${site} holds the leader key`);
  }
  const report = obs.reports[site];
  if (report === undefined) {
    return verdict(
      'not-writing',
      `${direct}, but ${site}'s lease ran out (a leader fences itself before its lease can expire)`,
    );
  }
  if (report.fenced) return verdict('not-writing', `${direct}, but ${site}'s agent confirmed it stopped`);
  const h = report.health;
  if (h.probeOk && h.srRole === 'secondary') {
    return verdict('not-writing', `${direct}, but ${site}'s agent reads it as a secondary`);
  }
  if (h.probeOk && !hasLiveProcess(h)) {
    return verdict('not-writing', `${direct}, but ${site}'s agent reads it stopped`);
  }
  return verdict(
    'unknown',
    `${direct}, and ${site}'s agent is alive without confirming it stopped (it may still write)`,
  );
}

/**
 * The sites a promotion of `obs.self` must not run next to: the site it replicates from when it
 * knows it (the old primary), else every other site.
 */
export function promotionSuspects(obs: Observation, sites: readonly string[]): string[] {
  const source = obs.local.health.source;
  if (source !== undefined && source !== obs.self && sites.includes(source)) return [source];
  return sites.filter((s) => s !== obs.self);
}

export interface FallbackDecision {
  /** A plain takeover (without --suspendPrimary) may run now. */
  readonly plain: boolean;
  readonly reason: string;
  readonly message: string;
  readonly verdicts: readonly SuspectVerdict[];
}

/**
 * After `-sr_takeover --suspendPrimary` failed: a plain takeover only when no suspect may write.
 * `checks` holds a fresh direct check of each suspect (absent: none was made).
 */
export function handshakeFallback(
  obs: Observation,
  suspects: readonly string[],
  checks: Readonly<Record<string, SuspectCheck>>,
  handshakeError: string,
): FallbackDecision {
  const verdicts = suspects.map((site) =>
    writerState(obs, site, checks[site] ?? { kind: 'no-answer', why: 'unreachable', detail: 'not checked' }),
  );
  const writers = verdicts.filter((v) => v.state === 'writable');
  const unknown = verdicts.filter((v) => v.state === 'unknown');
  const reasons = (vs: readonly SuspectVerdict[]) => vs.map((v) => v.why).join('; ');
  if (writers.length > 0) {
    return {
      plain: false,
      reason: 'old_primary_writable',
      message: `takeover with --suspendPrimary failed (${handshakeError}) and ${reasons(writers)}: not promoting, keeping the leader key and retrying`,
      verdicts,
    };
  }
  if (unknown.length > 0) {
    return {
      plain: false,
      reason: 'old_primary_may_write',
      message: `takeover with --suspendPrimary failed (${handshakeError}); ${reasons(unknown)}: not promoting blind, keeping the leader key until it is confirmed stopped or its lease runs out`,
      verdicts,
    };
  }
  return {
    plain: true,
    reason: 'handshake_failed',
    message: `takeover with --suspendPrimary failed (${handshakeError}); ${verdicts.length > 0 ? reasons(verdicts) : 'no other site'}: plain takeover`,
    verdicts,
  };
}
