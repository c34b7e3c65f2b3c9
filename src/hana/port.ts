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

export interface StopOptions {
  readonly hard: boolean;
  readonly stoppedAtLastProbe?: boolean;
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
  kill(signal?: AbortSignal): Promise<void>;
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
