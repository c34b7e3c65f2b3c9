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
