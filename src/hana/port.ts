/**
 * The HANA port: what the agent needs from its local HANA site. Adapters: the command/SQL
 * adapter for real HANA (src/hana/commands, src/hana/sql) and the simulator (src/standins/hana-sim).
 * Every method must settle within its own timeout; callers also wrap them (withTimeout).
 */
import type { HanaHealth, OperationMode, ReplicationMode } from '../domain/types.js';

export interface RegisterOptions {
  /** The primary (its master host) to replicate from. */
  readonly remoteSite: string;
  readonly remoteHost: string;
  readonly remoteInstance: string;
  readonly replicationMode: ReplicationMode;
  readonly operationMode: OperationMode;
  /** This site's name (`--name=`). */
  readonly siteName: string;
  /** Register while running (`--online`). */
  readonly online?: boolean;
}

/**
 * How long a stop or kill command may run without an answer before it counts as sent
 * (`onSent`): a tool that could not be started, or that refuses at once (sapstartsrv down, the
 * node unreachable), answers well within it; one that is still running has reached the node and
 * waits on the instance (a frozen instance answers nothing until its thaw).
 */
export const STOP_SENT_SETTLE_MS = 1000;

export interface StopOptions {
  readonly hard: boolean;
  readonly stoppedAtLastProbe?: boolean;
  /**
   * Called (at most once) when the stop has reached the node's tools and will land on the
   * instance at the latest at its thaw (a kill before the instance runs again; a StopSystem queued
   * at a hung sapstartsrv only after it, docs/agent.md): sapcontrol accepted the hard stop, or
   * the command is still running after STOP_SENT_SETTLE_MS (it waits on a frozen instance). Not
   * called when the command could not be run or answered a failure within that time. Only a
   * hard stop is ever reported sent.
   */
  readonly onSent?: () => void;
}

/** `kill`'s options: `onSent` as in StopOptions (the kill's command reached the node's tools). */
export interface KillOptions {
  readonly onSent?: () => void;
}

/**
 * Runs a stop or kill `call` and tells `onSent` (at most once) when it reached the node's tools:
 * it answered success, or it still runs after STOP_SENT_SETTLE_MS (it waits on a frozen instance;
 * a tool that cannot start or refuses at once answers well before). A failure within that time:
 * not sent.
 */
export async function whenSent<T>(
  clock: { setTimer(ms: number, fn: () => void): () => void },
  onSent: (() => void) | undefined,
  call: () => Promise<T>,
): Promise<T> {
  if (onSent === undefined) return call();
  let told = false;
  const tell = () => {
    if (told) return;
    told = true;
    onSent();
  };
  const cancel = clock.setTimer(STOP_SENT_SETTLE_MS, tell);
  try {
    const r = await call();
    tell();
    return r;
  } finally {
    told = true;
    cancel();
  }
}

export interface HanaPort {
  /** One probe of the local site: role, processes, landscape, replication links. Never throws for "unhealthy": returns it. */
  probe(signal?: AbortSignal): Promise<HanaHealth>;
  /** `hdbnsutil -sr_takeover`; with handshake `--suspendPrimary` (the old primary is suspended first). */
  takeover(options: { readonly handshake: boolean }, signal?: AbortSignal): Promise<void>;
  /** `hdbnsutil -sr_register ...` (the site must be stopped unless online). */
  register(options: RegisterOptions, signal?: AbortSignal): Promise<void>;
  /** `sapcontrol -nr NN -function StartSystem` (waits until started or fails). */
  start(signal?: AbortSignal): Promise<void>;
  /**
   * `sapcontrol -nr NN -function StopSystem` (hard stop when `hard`); resolves once every process
   * is stopped. `stoppedAtLastProbe`: the caller's last probe found every process stopped (a
   * crashed instance); a port may then take a fresh process list that shows them all stopped as
   * the confirmation without asking for a stop first (anything else: it stops as usual).
   */
  stop(options: StopOptions, signal?: AbortSignal): Promise<void>;
  /**
   * `HDB kill-9` as <sid>adm: kills every process of the instance at once, for an instance that
   * does not stop (hung); resolves once every process is gone.
   */
  kill(signal?: AbortSignal, options?: KillOptions): Promise<void>;
  /** Suspend a primary so it takes no writes (fencing without a stop). */
  suspend?(signal?: AbortSignal): Promise<void>;
}

/** A failure of a HANA action (command exit code, SQL error, timeout). */
export class HanaActionError extends Error {
  constructor(
    readonly code: 'TIMEOUT' | 'COMMAND_FAILED' | 'PARSE' | 'REFUSED' | 'UNAVAILABLE',
    message: string,
  ) {
    super(message);
    this.name = 'HanaActionError';
  }
}
