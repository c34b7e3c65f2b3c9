/**
 * The watchdog rules, pure: whether a site's watchdog is usable under the spec, whether it may
 * lead without one, and whether the agent may feed it now.
 *
 * Why the bound: a node whose agent stops feeding resets at most `timeout` after the last feed
 * (plus the reset itself, WATCHDOG_RESET_ALLOWANCE_MS). The leader lease lives at least until
 * lastRenewedAt + ttl (lastRenewedAt is when the last confirmed renewal was *sent*). A feed at
 * `now` keeps the node alive until now + timeout + allowance, so it is allowed only while that is
 * no later than lastRenewedAt + ttl: then the node is dead before anyone may take the key. With a
 * device timeout of ttl - safetyMarginSeconds, feeding is allowed for safetyMarginSeconds -
 * allowance after each confirmed renewal (2 s with the defaults: a renewal's round trip).
 */
import type { HanaSystemReplicationSpec } from '../api/spec.js';

/** How long a reset takes from the watchdog's expiry until the node can no longer write. */
export const WATCHDOG_RESET_ALLOWANCE_MS = 1000;

/** How often the agent checks whether to feed its armed watchdog (ms). */
export const WATCHDOG_FEED_TICK_MS = 500;

/**
 * The longest time a healthy leader can go without a feed (ms), or null when it may never be fed
 * at all. A renewal sent at r allows feeds until r + window (window = ttl - timeout - allowance);
 * the feeder looks every tick; renewals come at least every ttl/3 (the lease keepalive). So the
 * last feed after a renewal is at least window - tick after it, the first after the next renewal
 * at most ttl/3 + tick after the first: up to ttl/3 - window + 2 ticks apart (one tick when the
 * window outlasts the renewal period). A window shorter than a tick may hold no feed at all.
 */
export function watchdogFeedGapMs(spec: HanaSystemReplicationSpec, timeoutSeconds: number): number | null {
  const ttlMs = spec.lease.ttlSeconds * 1000;
  const window = ttlMs - timeoutSeconds * 1000 - WATCHDOG_RESET_ALLOWANCE_MS;
  if (window < WATCHDOG_FEED_TICK_MS) return null;
  const renewEvery = ttlMs / 3;
  return window >= renewEvery ? WATCHDOG_FEED_TICK_MS : renewEvery - window + 2 * WATCHDOG_FEED_TICK_MS;
}

/** What the agent knows of its watchdog (the Watchdog port's probe, src/fencing/port.ts). */
export interface WatchdogFacts {
  readonly present: boolean;
  readonly timeoutSeconds?: number;
  readonly nowayout?: boolean;
  readonly problem?: string;
  readonly device?: string;
}

export type WatchdogVerdictReason =
  | 'watchdog_disabled'
  | 'watchdog_usable'
  | 'watchdog_absent'
  | 'watchdog_timeout_unknown'
  | 'watchdog_timeout_too_long'
  | 'watchdog_nowayout';

export interface WatchdogVerdict {
  /** Arm it while leading. */
  readonly use: boolean;
  /** The site may lead (false only in `required` mode without a usable watchdog). */
  readonly mayLead: boolean;
  readonly reason: WatchdogVerdictReason;
  readonly message: string;
}

/** The longest device timeout the spec allows: lease.ttlSeconds - safetyMarginSeconds. */
export function maxWatchdogTimeoutSeconds(spec: HanaSystemReplicationSpec): number {
  return spec.lease.ttlSeconds - spec.fencing.watchdog.safetyMarginSeconds;
}

/** Whether this site's watchdog is used, and whether the site may lead, under the spec. */
export function watchdogVerdict(
  spec: HanaSystemReplicationSpec,
  facts: WatchdogFacts | null,
): WatchdogVerdict {
  const { mode } = spec.fencing.watchdog;
  if (mode === 'disabled') {
    return {
      use: false,
      mayLead: true,
      reason: 'watchdog_disabled',
      message: 'watchdog disabled in the spec',
    };
  }
  const max = maxWatchdogTimeoutSeconds(spec);
  const unusable = (reason: WatchdogVerdictReason, why: string): WatchdogVerdict => ({
    use: false,
    mayLead: mode !== 'required',
    reason,
    message:
      mode === 'required'
        ? `watchdog required but unusable: ${why}; this site does not lead`
        : `watchdog unusable: ${why}; leading without it`,
  });
  if (facts === null || !facts.present) {
    return unusable('watchdog_absent', facts?.problem ?? 'not probed');
  }
  if (facts.nowayout === true) {
    return unusable(
      'watchdog_nowayout',
      `${facts.device ?? 'the device'} cannot be disarmed (nowayout): every step-down would reset the node`,
    );
  }
  if (
    facts.timeoutSeconds === undefined ||
    !Number.isFinite(facts.timeoutSeconds) ||
    facts.timeoutSeconds <= 0
  ) {
    return unusable('watchdog_timeout_unknown', 'its timeout cannot be read');
  }
  if (max < 1) {
    return unusable(
      'watchdog_timeout_too_long',
      `lease.ttlSeconds - safetyMarginSeconds = ${max} s leaves no room for a watchdog timeout`,
    );
  }
  if (facts.timeoutSeconds > max) {
    return unusable(
      'watchdog_timeout_too_long',
      `its timeout ${facts.timeoutSeconds} s exceeds lease.ttlSeconds - safetyMarginSeconds = ${max} s ` +
        `(e.g. modprobe softdog soft_margin=${Math.floor(max)})`,
    );
  }
  // Within the bound, but a healthy leader must also be able to feed it before it fires.
  const gap = watchdogFeedGapMs(spec, facts.timeoutSeconds);
  if (gap === null || gap >= facts.timeoutSeconds * 1000) {
    return unusable(
      'watchdog_timeout_too_long',
      `with its timeout ${facts.timeoutSeconds} s it cannot be fed in time: feeds are allowed only ` +
        `${Math.max(0, spec.lease.ttlSeconds - facts.timeoutSeconds - WATCHDOG_RESET_ALLOWANCE_MS / 1000)} s after each lease renewal ` +
        `(lease.ttlSeconds - timeout - ${WATCHDOG_RESET_ALLOWANCE_MS / 1000} s for the reset), so a healthy leader would reset; ` +
        'raise safetyMarginSeconds (a shorter device timeout) or lease.ttlSeconds',
    );
  }
  return {
    use: true,
    mayLead: true,
    reason: 'watchdog_usable',
    message: `watchdog usable: timeout ${facts.timeoutSeconds} s within ${max} s`,
  };
}

/**
 * Whether a feed now still resets the node before the lease can expire: now + timeout + the
 * reset allowance must not pass lastRenewedAt + ttl. Never feed on a renewal that is not
 * confirmed (null), or on one too old: skip the feed and let the next confirmed renewal feed.
 */
export function watchdogFeedAllowed(
  spec: HanaSystemReplicationSpec,
  timeoutSeconds: number,
  lastRenewedAt: number | null,
  now: number,
): boolean {
  if (lastRenewedAt === null || !(timeoutSeconds > 0)) return false;
  return (
    now + timeoutSeconds * 1000 + WATCHDOG_RESET_ALLOWANCE_MS <= lastRenewedAt + spec.lease.ttlSeconds * 1000
  );
}

// --- arming and feeding -----------------------------------------------------------------------

/** What the agent knows this instant, for the arm and feed rules. Times on the monotonic clock. */
export interface WatchdogDutyQuery {
  /** The site holds the leader key, or is about to race for it (acquire or takeover). */
  readonly leading: boolean;
  /** The local HANA may be taking writes (src/domain/decide.ts mayBeWriting). */
  readonly mayBeWriting: boolean;
  /** When the last confirmed lease renewal was sent (monotonic ms), or null. */
  readonly lastRenewedAt: number | null;
  readonly now: number;
  /** The device's timeout (seconds). */
  readonly timeoutSeconds: number;
  /**
   * A stop of the own site the agent decided (fence, step-down, local restart): none, in
   * progress, or failed (the hard stop and the kill both did not complete), until one is confirmed.
   */
  readonly stopping: 'none' | 'in-progress' | 'failed';
  /**
   * The agent's last decision (at most a cycle ago) kept its primary running through a store
   * outage because every peer is a reachable secondary (Patroni's failsafe).
   */
  readonly failsafe: boolean;
  /** How long the local HANA has been unreadable while the site does not lead (ms), or null. */
  readonly hungForMs: number | null;
}

/**
 * Whether the watchdog should be armed: while the site leads or its HANA may write, and on
 * every site when `resetHungSecondaryAfterSeconds` is set (a frozen node can no longer arm it).
 * Otherwise it is disarmed (magic close): a graceful step-down, a stopped former primary.
 */
export function watchdogWanted(
  spec: HanaSystemReplicationSpec,
  verdict: WatchdogVerdict,
  q: Pick<WatchdogDutyQuery, 'leading' | 'mayBeWriting'>,
): boolean {
  if (!verdict.use) return false;
  return q.leading || q.mayBeWriting || spec.fencing.watchdog.resetHungSecondaryAfterSeconds !== undefined;
}

export type WatchdogFeedReason =
  | 'watchdog_fed'
  | 'watchdog_self_fencing'
  | 'watchdog_renewal_unconfirmed'
  | 'watchdog_renewal_too_old'
  | 'watchdog_hung_site_reset';

export interface WatchdogFeedVerdict {
  readonly feed: boolean;
  readonly reason: WatchdogFeedReason;
  readonly message: string;
}

/**
 * Whether to feed an armed watchdog now. Not while the agent fences its own primary without the
 * key, nor once a stop of it failed (the reset does it); while leading only within the lease
 * bound of `watchdogFeedAllowed` (a node that stops renewing resets before its lease can expire),
 * or in failsafe (no one can take the key without the store; a successor that can reach it
 * promotes with --suspendPrimary, as without a watchdog); while
 * not leading, not once the local HANA has stayed unreadable for
 * `resetHungSecondaryAfterSeconds` (the hung site resets and comes back stopped).
 */
export function watchdogFeed(spec: HanaSystemReplicationSpec, q: WatchdogDutyQuery): WatchdogFeedVerdict {
  const no = (reason: WatchdogFeedReason, message: string): WatchdogFeedVerdict => ({
    feed: false,
    reason,
    message,
  });
  // Without the key, a primary that may write runs next to another leader: while its stop runs
  // it is not fed, so it resets unless the stop completes first. The leader keeps the key (and
  // feeds from its renewals) while its stop runs; once the stop and the kill have failed, it is
  // not fed either: the reset stops it, and its lease runs out for a successor.
  if (
    (q.stopping === 'in-progress' && !q.leading && q.mayBeWriting) ||
    (q.stopping === 'failed' && (q.leading || q.mayBeWriting))
  ) {
    return no(
      'watchdog_self_fencing',
      q.stopping === 'failed'
        ? 'the local primary could not be stopped (hard stop and kill failed): the watchdog is no longer fed, so the node resets'
        : 'stopping the local primary while another site leads: the watchdog is no longer fed, so the node resets unless the stop completes',
    );
  }
  if (q.leading) {
    if (q.failsafe) {
      return {
        feed: true,
        reason: 'watchdog_fed',
        message: 'fed in failsafe: the store is unreachable and every peer is a reachable secondary',
      };
    }
    if (q.lastRenewedAt === null)
      return no('watchdog_renewal_unconfirmed', 'no confirmed lease renewal: not feeding the watchdog');
    if (!watchdogFeedAllowed(spec, q.timeoutSeconds, q.lastRenewedAt, q.now)) {
      return no(
        'watchdog_renewal_too_old',
        `the last confirmed lease renewal is ${Math.round((q.now - q.lastRenewedAt) / 100) / 10}s old: a feed now could keep the node up past its lease`,
      );
    }
    return { feed: true, reason: 'watchdog_fed', message: 'fed after a confirmed lease renewal' };
  }
  const bound = spec.fencing.watchdog.resetHungSecondaryAfterSeconds;
  if (bound !== undefined && q.hungForMs !== null && q.hungForMs >= bound * 1000) {
    return no(
      'watchdog_hung_site_reset',
      `HANA has been unreadable for ${Math.round(q.hungForMs / 1000)}s (resetHungSecondaryAfterSeconds ${bound}): the watchdog is no longer fed, so the node resets`,
    );
  }
  return { feed: true, reason: 'watchdog_fed', message: 'fed while not leading' };
}
