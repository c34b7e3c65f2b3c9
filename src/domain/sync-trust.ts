/**
 * The in-sync rule, once: may `candidate` be promoted from `primary` now, and if not, why?
 * decide() asks it for automatic and planned takeovers, the operator for its refusal of a planned
 * takeover and for the status's in-sync field and ReplicationHealthy condition, and the CLI reads
 * that status. Pure: every time comes in as an argument.
 *
 * A secondary is promoted only if its last sync record is SOK, from the last primary's term, and
 * the primary cannot have committed anything alone since: a sync primary commits without its
 * secondary from `logShippingTimeoutSeconds` after their last replication contact on. So:
 * - the record's replication contact must be known (a SOK whose lag was never known says nothing
 *   about when the secondary last answered: it is trusted only as far as the last known contact);
 * - what is known of the primary's writes comes from its own clock (the leader deciding for
 *   itself), from its agent's report (another host's clock, and only as far as the report is
 *   fresh), or from nothing (silent primary);
 * - a comparison of the primary's times with the reader's clock counts `clock.maxSkewSeconds`
 *   against trust, and a measured skew between candidate and primary beyond the bound refuses.
 * In async mode the lag at the last report must also be within asyncTakeoverMaxLagSeconds.
 */
import type { HanaSystemReplicationSpec } from '../api/spec.js';
import { describeSkew, maxSkewMs, skewBeyondBound, type SkewEstimate } from './clock-skew.js';
import { hasLiveProcess } from './health.js';
import type { HanaHealth, SiteReport, SyncRecord } from './types.js';

/** Slack for "the same cycle": a sync record confirmed within this of the primary's last good probe. */
export function cycleMs(spec: HanaSystemReplicationSpec): number {
  return (spec.probes.intervalSeconds + spec.probes.timeoutSeconds) * 1000;
}

/** What the reader knows of the primary's writes. */
export type PrimaryView =
  /**
   * The reader is the primary's own agent: its clock, its memory (lastWritableAt null: not seen
   * writable since start; notWritableSince: see notWritableAfterProbe(), null: not known stopped).
   */
  | {
      readonly kind: 'self';
      readonly lastWritableAt: number | null;
      readonly notWritableSince: number | null;
    }
  /** The primary's agent report (its clock), as the store holds it. */
  | {
      readonly kind: 'report';
      readonly lastWritableAt: number | null;
      readonly notWritableSince: number | null;
      readonly observedAt: number;
    }
  /** No report: the primary's agent is gone (its lease ran out) or never reported. */
  | { readonly kind: 'silent' };

export function primaryViewOf(report: SiteReport | undefined): PrimaryView {
  return report === undefined
    ? { kind: 'silent' }
    : {
        kind: 'report',
        lastWritableAt: report.lastWritableAt,
        // An older agent's report does not say: unknown counts against trust.
        notWritableSince: report.notWritableSince ?? null,
        observedAt: report.observedAt,
      };
}

/** The primary's own agent's view (its local view, as the observation carries it). */
export function selfViewOf(local: {
  readonly lastWritableAt: number | null;
  readonly notWritableSince?: number | null;
}): PrimaryView {
  return {
    kind: 'self',
    lastWritableAt: local.lastWritableAt,
    notWritableSince: local.notWritableSince ?? null,
  };
}

/**
 * The first moment, since the site was last seen writable, from which on it cannot have taken a
 * write (the agent's clock), after a probe: a readable answer that shows no process at all (an
 * instance that is down stays down until someone starts it, and a start by hand is recorded
 * SFAIL first: primaryStartSeen), the earlier such moment kept; reset by a writable answer. A
 * probe that failed or timed out, or an instance that runs but takes no writes (its indexserver
 * restarting, the landscape degraded: it may take writes again by itself) leaves it as it was:
 * only a confirmed stop (stopConfirmed) ends the writes of such a site. null: not known.
 */
export function notWritableAfterProbe(
  previous: number | null,
  lastWritableAt: number | null,
  health: HanaHealth,
  now: number,
): number | null {
  if (health.acceptsWrites) return null;
  if (previous !== null || lastWritableAt === null) return previous;
  return health.probeOk && !hasLiveProcess(health) ? now : null;
}

/**
 * The agent's own stop of its site was confirmed at `now` (every process gone): the site takes
 * no writes from now on, if it was not known stopped earlier.
 */
export function notWritableAfterStop(
  previous: number | null,
  lastWritableAt: number | null,
  now: number,
): number | null {
  if (previous !== null || lastWritableAt === null) return previous;
  return now;
}

export interface InSyncQuery {
  readonly candidate: string;
  readonly primary: string;
  /** The epoch of the primary's term. */
  readonly lastEpoch: number;
  /** The candidate's last sync record. */
  readonly record: SyncRecord | undefined;
  readonly primaryView: PrimaryView;
  /** The candidate's last measurement of the primary's clock (undefined: never measured). */
  readonly skew: SkewEstimate | undefined;
  /**
   * The last time the candidate's agent saw its HANA down, on the candidate's clock (its report's
   * downSeenAt, or its own memory when it decides for itself); null or undefined: not seen.
   */
  readonly candidateDownSeenAt?: number | null;
  /** The reader's clock (ms). */
  readonly now: number;
}

export type InSyncVerdict =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** Machine reason, snake_case. */
      readonly reason:
        | 'no_sync_record'
        | 'sync_record_old_term'
        | 'not_sok'
        | 'async_no_bound'
        | 'async_lag_unknown'
        | 'async_lag_above_bound'
        | 'clock_skew'
        | 'lag_unknown'
        | 'primary_wrote_after_sok'
        | 'sok_too_old'
        | 'candidate_down_after_sok';
      /** Human words: why the candidate may not be promoted. */
      readonly why: string;
    };

const refuse = (reason: Extract<InSyncVerdict, { ok: false }>['reason'], why: string): InSyncVerdict => ({
  ok: false,
  reason,
  why,
});

const secs = (ms: number): number => Math.round(ms / 1000);

/**
 * The last replication contact the record vouches for, on the primary's clock: the SOK
 * confirmation minus the shipping delay it showed (a sync commit waiting for an acknowledgement
 * shows up as a growing delay), or the last contact known when the lag was not. null: unknown.
 */
export function contactOf(record: SyncRecord): number | null {
  if (record.contactAt !== undefined) return record.contactAt;
  if (record.lagSeconds === null) return null;
  return record.confirmedAt - Math.max(0, record.lagSeconds) * 1000;
}

export function inSyncVerdict(spec: HanaSystemReplicationSpec, q: InSyncQuery): InSyncVerdict {
  const { record, now } = q;
  if (!record) return refuse('no_sync_record', 'no sync record (state unknown counts as SFAIL)');
  if (record.epoch !== q.lastEpoch) {
    return refuse(
      'sync_record_old_term',
      `sync record is from epoch ${record.epoch}, not the last term ${q.lastEpoch}`,
    );
  }
  if (record.state !== 'SOK') return refuse('not_sok', `it was ${record.state} at the last report`);
  // A secondary that was down after the SOK was confirmed missed whatever the primary committed
  // while it was down (a primary restarted between two of its agent's probes commits alone at once:
  // sim:fuzz 881002376). Its SOK vouches again only once the primary confirms it after that. Two
  // hosts' clocks: the skew bound counts against trust.
  const downAt = q.candidateDownSeenAt;
  if (downAt !== null && downAt !== undefined && downAt + maxSkewMs(spec) >= record.confirmedAt) {
    return refuse(
      'candidate_down_after_sok',
      `its agent saw its HANA down ${secs(Math.max(0, downAt - record.confirmedAt))}s after the last SOK confirmation (or within the clock skew bound of it): it is not in sync until the primary confirms it again`,
    );
  }
  if (spec.replication.mode === 'async') {
    const bound = spec.replication.asyncTakeoverMaxLagSeconds;
    if (bound === undefined)
      return refuse('async_no_bound', 'async replication without asyncTakeoverMaxLagSeconds');
    if (record.lagSeconds === null) return refuse('async_lag_unknown', 'async lag unknown');
    if (record.lagSeconds > bound) {
      return refuse(
        'async_lag_above_bound',
        `async lag ${record.lagSeconds}s exceeds the bound of ${bound}s`,
      );
    }
  }
  if (q.skew !== undefined && skewBeyondBound(q.skew, spec)) {
    return refuse(
      'clock_skew',
      `${describeSkew(q.skew, q.primary, q.candidate)}, more than clock.maxSkewSeconds (${spec.clock.maxSkewSeconds} s): times of the two hosts cannot be compared safely (NTP/chrony)`,
    );
  }
  const contactAt = contactOf(record);
  if (contactAt === null) {
    return refuse(
      'lag_unknown',
      'the replication lag was unknown at every SOK of this run (no SQL lag source): the last replication contact is unknown',
    );
  }
  // From here on the primary may commit without the secondary knowing (its clock).
  const commitAloneFrom = contactAt + spec.replication.logShippingTimeoutSeconds * 1000;
  const cycle = cycleMs(spec);
  const view = q.primaryView;
  // The reader's clock against the primary's: the bound counts against trust.
  const allowance = view.kind === 'self' ? 0 : maxSkewMs(spec);
  // A primary that is not the reader may still run after the takeover (the failsafe keeps it
  // while it sees its peers as secondaries) until its next cycle shows it the new primary: the
  // takeover must come a cycle before it could commit alone (found by the protocol model,
  // finding-silent-no-margin).
  const margin = view.kind === 'self' ? 0 : cycle;
  // The primary may have taken writes until now: only the window since the contact protects.
  const unknown = (who: string): InSyncVerdict =>
    now + allowance + margin >= commitAloneFrom
      ? refuse(
          'sok_too_old',
          `${who} and its last replication contact is ${secs(now - contactAt)}s old (>= logShippingTimeoutSeconds${margin > 0 ? (allowance > 0 ? ' less the clock skew bound and a cycle' : ' less a cycle') : ''})`,
        )
      : { ok: true };
  if (view.kind === 'silent') return unknown('the primary is silent');
  if (view.lastWritableAt === null) return unknown("the primary's last writable moment is unknown");
  if (view.kind === 'report' && now + allowance - view.observedAt > cycle) {
    // The agent publishes every cycle: an older report says nothing of the time since.
    return unknown(`the primary's last report is ${secs(now - view.observedAt)}s old`);
  }
  const lastWritableAt = view.lastWritableAt;
  // Both times below are the primary's own: no skew between them.
  if (lastWritableAt - record.confirmedAt > cycle) {
    return refuse('primary_wrote_after_sok', 'the primary took writes after the last SOK confirmation');
  }
  // The end of its writes: the first moment it was known to take none since its last writable
  // probe (its instance seen down, or its stop confirmed), on its clock as the contact is. Not
  // "the last writable probe + a cycle": the next probe may come much later (a cycle also waits
  // for store calls, peer checks and actions), and probes that failed or timed out say nothing
  // (found by the protocol model: finding-cycle-bound, finding-unknown-probe).
  const endedAt = view.notWritableSince;
  if (endedAt === null || endedAt < lastWritableAt) {
    // Nothing shows it stopped taking writes: it may be taking them now (and, when it is not the
    // reader, for up to a cycle after the takeover: the margin).
    const who = `the primary was last seen writable ${secs(now - lastWritableAt)}s ago, nothing shows it stopped taking writes since,`;
    // Its own agent keeps at least the bound it had: a cycle after its last writable probe.
    if (view.kind === 'self' && lastWritableAt + cycle >= commitAloneFrom) {
      return refuse(
        'sok_too_old',
        `replication was ${secs(record.confirmedAt - contactAt)}s behind at the last SOK: the primary may have committed alone since`,
      );
    }
    return unknown(who);
  }
  if (endedAt >= commitAloneFrom) {
    return refuse(
      'sok_too_old',
      `replication was ${secs(record.confirmedAt - contactAt)}s behind at the last SOK${record.contactAt !== undefined && record.lagSeconds === null ? ' (lag unknown since)' : ''} and the primary took writes until ${secs(endedAt - contactAt)}s after that contact (>= logShippingTimeoutSeconds): it may have committed alone`,
    );
  }
  return { ok: true };
}

/** The rule over what the coordination store holds (the operator's and any reader's view). */
export interface StoreView {
  readonly lastEpoch: number;
  readonly reports: Readonly<Record<string, SiteReport>>;
  readonly sync: Readonly<Record<string, SyncRecord>>;
}

/**
 * May `candidate` be promoted from `primary` now, as anyone reading the store can tell: the
 * primary's report, the candidate's sync record and the candidate's published skew measurement.
 */
export function inSyncFromStore(
  spec: HanaSystemReplicationSpec,
  store: StoreView,
  candidate: string,
  primary: string,
  now: number,
): InSyncVerdict {
  return inSyncVerdict(spec, {
    candidate,
    primary,
    lastEpoch: store.lastEpoch,
    record: store.sync[candidate],
    primaryView: primaryViewOf(store.reports[primary]),
    skew: store.reports[candidate]?.clockSkew?.[primary],
    candidateDownSeenAt: store.reports[candidate]?.downSeenAt ?? null,
    now,
  });
}
