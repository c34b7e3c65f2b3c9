/**
 * The two fencing ports: a watchdog the leading agent arms and feeds (self-fencing that works
 * when the agent cannot), and a fence agent another site runs to power a lost node off (STONITH).
 *
 * Real adapters: `./watchdog-device.ts` (a Linux watchdog device) and `./fence-agent.ts` (a
 * binary of the fence-agents collection). Simulated ones: `src/standins/hana-sim/devices.ts`. The
 * off-then-confirm procedure both kinds of fence agent share is `./procedure.ts`; the rules
 * (is this watchdog usable, may I feed it now) are pure, in `src/domain/fencing.ts`.
 *
 * Every call takes an AbortSignal and must give up when it aborts; callers bound every call with
 * a deadline (`withTimeout`). Nothing unknown is ever reported as success.
 *
 * How the agent uses them (issue 11 part B):
 * - at start and every cycle: `watchdogVerdict(spec, await watchdog.probe(signal))`; `mayLead`
 *   false (required mode, no usable watchdog) keeps the site from acquiring the leader key.
 * - on acquiring the key (and while running a primary): `arm`; after every confirmed renewal,
 *   `feed` only if `watchdogFeedAllowed(spec, timeout, session.lastRenewedAt(), now)`;
 *   to fence itself when a stop does not complete: stop feeding (never `disarm`);
 *   on a graceful step-down or stop: `disarm` (magic close) once the site is not writable.
 * - a surviving in-sync secondary, before promoting over a lost primary whose agent cannot
 *   confirm it stopped: `fenceOff(fenceAgent, oldPrimarySite, { clock, ...fenceTiming(spec
 *   .fencing.agent) })`; only `result === 'confirmed'` lets it go before the old lease expires.
 */

// --- watchdog ---------------------------------------------------------------------------------

/** What a watchdog looks like without opening it (opening arms most drivers). */
export interface WatchdogInfo {
  /** The device path the agent would open. */
  readonly device: string;
  /** The device exists and is a watchdog the agent may open (not busy, not refused). */
  readonly present: boolean;
  /** The device's timeout in seconds (sysfs `timeout`); absent when it could not be read. */
  readonly timeoutSeconds?: number;
  /** The driver's name (sysfs `identity`, e.g. "Software Watchdog"). */
  readonly identity?: string;
  /**
   * The driver ignores the magic close (`nowayout`): once opened it can never be disarmed, so a
   * graceful step-down would reset the node. Such a device is unusable for hanasr.
   */
  readonly nowayout?: boolean;
  /** Why the device cannot be used at all (absent, not a device, busy, no permission...). */
  readonly problem?: string;
}

export type WatchdogState =
  /** Closed (or closed with the magic character): it will not fire. */
  | 'disarmed'
  /** Open and counting down: it resets the node unless fed within its timeout. */
  | 'armed'
  /**
   * A call failed or timed out while armed: the device may or may not be counting down (and was
   * not magic-closed). Treat as armed-and-unfed; only disarm() or a new arm() leaves this state.
   */
  | 'failed';

export type WatchdogErrorCode =
  /** The device does not exist (or vanished). */
  | 'ABSENT'
  /** The path is not a character device (the real adapter refuses to "feed" a plain file). */
  | 'NOT_A_DEVICE'
  /** Another process holds it open (only one may: systemd's RuntimeWatchdogSec, a watchdog daemon). */
  | 'BUSY'
  /** No permission to open it (run as root, or a udev rule giving the agent's group access). */
  | 'DENIED'
  /** feed() or disarm() while not armed. */
  | 'NOT_ARMED'
  /** The previous call on the device has not finished (a write to a device can block). */
  | 'PENDING'
  /** The call did not finish before its signal aborted. */
  | 'TIMEOUT'
  /** Any other I/O error. */
  | 'IO';

export class WatchdogError extends Error {
  constructor(
    readonly code: WatchdogErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'WatchdogError';
  }
}

/**
 * A watchdog device. Use: probe() (safe at any time), then arm() when the site starts to lead,
 * feed() after every confirmed lease renewal (only while `watchdogFeedAllowed` says so), stop
 * feeding to self-fence, disarm() on a graceful step-down or stop.
 */
export interface Watchdog {
  readonly device: string;
  /** Reads what can be known without opening the device. Never throws; never arms. */
  probe(signal: AbortSignal): Promise<WatchdogInfo>;
  /** Opens the device (it starts counting down) and feeds it once. Throws WatchdogError. */
  arm(signal: AbortSignal): Promise<void>;
  /** Restarts the countdown. Throws WatchdogError (NOT_ARMED when not armed). */
  feed(signal: AbortSignal): Promise<void>;
  /**
   * Magic close: writes 'V' and closes, so the device stops counting down. A no-op when disarmed.
   * Throws WatchdogError; on failure the state is 'failed' (it may still fire).
   */
  disarm(signal: AbortSignal): Promise<void>;
  state(): WatchdogState;
}

// --- fence agent ------------------------------------------------------------------------------

/** The fence-agents actions hanasr uses. */
export const fenceActions = ['off', 'on', 'status', 'monitor'] as const;
export type FenceAction = (typeof fenceActions)[number];

export type FenceErrorCode =
  /** The agent ran and reported failure (exit 1, or any exit code the protocol does not define). */
  | 'FAILED'
  /** The agent did not finish within its call timeout; it was killed (its process group). */
  | 'TIMEOUT'
  /** `status` answered with something other than the protocol's ON (exit 0) or OFF (exit 2). */
  | 'UNKNOWN_STATUS'
  /** No fence agent configured for this cluster, or the site has no fence agent options. */
  | 'NOT_CONFIGURED'
  /** The credentials file or Secret could not be read (its path and reason, never its content). */
  | 'CREDENTIALS'
  /** The agent could not be started (missing, not executable). */
  | 'SPAWN'
  /** The caller's signal aborted the call. */
  | 'ABORTED';

export type FenceCallResult =
  | { readonly ok: true; readonly action: 'off' | 'on' | 'monitor'; readonly message: string }
  | { readonly ok: true; readonly action: 'status'; readonly power: 'on' | 'off'; readonly message: string }
  | {
      readonly ok: false;
      readonly action: FenceAction;
      readonly code: FenceErrorCode;
      /** Human text: never a credential. */
      readonly message: string;
    };

export interface FenceCallOptions {
  /** The agent process is killed after this. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/**
 * One fence-agents protocol call against the node of `site` (the node, not HANA: `off` cuts its
 * power). Never throws; a result is ok only when the protocol said so (status: exit 0 and
 * "Status: ON", or exit 2 and "Status: OFF").
 */
export interface FenceAgent {
  call(site: string, action: FenceAction, options: FenceCallOptions): Promise<FenceCallResult>;
}

/** The end of a whole fence (`fenceOff` / `fenceOn` in ./procedure.ts). */
export interface FenceOutcome {
  readonly site: string;
  readonly action: 'off' | 'on';
  /**
   * confirmed: the agent's `status` reported the wanted power state (for `off`: the node provably
   * cannot write). failed: the last call failed and nothing confirmed it. timed-out: no
   * confirmation before the deadline.
   */
  readonly result: 'confirmed' | 'failed' | 'timed-out';
  readonly startedAt: number;
  readonly endedAt: number;
  /** Protocol calls made (the off/on calls and the status polls). */
  readonly calls: number;
  /** The last error, when not confirmed. */
  readonly code?: FenceErrorCode;
  readonly message: string;
}
