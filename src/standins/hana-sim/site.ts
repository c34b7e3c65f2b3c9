/**
 * One simulated site: its state (the Site record), and the lifecycle of its processes as a state
 * machine. Every change of the process state goes through a transition here, which says what it
 * did (the reason the timeline records); model.ts decides when a transition runs.
 *
 *   node-down --restoreNode--> stopped --beginStart--> starting --finishStart--> running
 *   any state --crashNode--> node-down; starting|running --stopInstance--> stopped
 *
 * Conditions on top of a starting or running instance: `frozen` (nothing answers, time stands
 * still for it; a hard stop queues until the thaw), `hung` (processes stay and answer nothing; a
 * stop queues until they answer, a kill works), and the indexserver (up, dead, restarting).
 */
import type { OperationMode, ReplicationMode } from '../../domain/types.js';

export interface Entry {
  readonly id: number;
  /** Position in every log that holds this entry. */
  readonly index: number;
  /** LAST_LOG_POSITION after this entry (64-byte blocks). */
  readonly pos: number;
  readonly blocks: number;
  /** Clock time of the commit. */
  readonly time: number;
  /** The site that took the commit (its primary then). */
  readonly origin: string;
  acked: boolean;
  /** A client's transaction (SQL over the wire): what it changed, opaque to the model. */
  readonly data?: unknown;
}

export type Phase = 'init' | 'catchup' | 'active';

export interface Link {
  readonly secondary: string;
  mode: ReplicationMode;
  operationMode: OperationMode;
  phase: Phase;
  connected: boolean;
  /** Clock time connected last changed. */
  since: number;
  details: string;
  /** The primary waits for this secondary's acknowledgement before it commits. */
  syncRequired: boolean;
  /** Newly registered: the first connection decides delta or full resync. */
  fresh: boolean;
  initDoneBytes: number;
  initTotalBytes: number;
  /** Index into the source log where the full copy's data snapshot was taken. */
  initTarget: number;
  carryBytes: number;
  buffersCount: number;
  buffersBytes: number;
  buffersMicros: number;
}

export type Role = 'primary' | 'secondary' | 'none';

export interface Site {
  readonly name: string;
  readonly host: string;
  readonly siteId: number;
  // ---- the process lifecycle (changed only by the transitions below)
  nodeUp: boolean;
  instance: 'stopped' | 'starting' | 'running';
  /** Bumped whenever the instance stops: scheduled work of an older incarnation is void. */
  incarnation: number;
  indexserver: 'up' | 'dead' | 'restarting';
  instanceStartedAt: number;
  indexserverStartedAt: number;
  pids: number[];
  frozen: boolean;
  /** Clock time the current freeze began (meaningful while frozen). */
  frozenSince: number;
  /** Time spent frozen in earlier freezes (ms): work in progress (a start) does not advance then. */
  frozenMs: number;
  /** A hard stop arrived while frozen: it takes effect at the thaw. */
  stopAtThaw?: boolean;
  /**
   * The instance hangs (hang-instance): its processes stay but answer nothing (no SQL, no commits,
   * hdbnsutil and the python scripts hang); sapstartsrv still answers. A stop does not complete,
   * a kill works.
   */
  hung: boolean;
  /** A stop was requested while hung: the processes finish it if they ever answer again. */
  stopAtUnhang?: boolean;
  // ---- system replication configuration
  role: Role;
  mode: ReplicationMode;
  operationMode: OperationMode;
  source: string | undefined;
  suspended: boolean;
  takeoverActive: boolean;
  // ---- faults outside the processes
  logFull: boolean;
  isolated: boolean;
  replBlocked: boolean;
  slowdown: number;
  // ---- the log and the replication from this site
  log: Entry[];
  /** Links where this site is the source, in registration order. */
  links: Map<string, Link>;
  /** Commits written locally, waiting for sync acknowledgements. */
  pending: Entry[];
  nextWriteAt: number;
}

export const PROCESS_NAMES = [
  'hdbdaemon',
  'hdbcompileserver',
  'hdbindexserver',
  'hdbnameserver',
  'hdbpreprocessor',
  'hdbwebdispatcher',
  'hdbxsengine',
] as const;

/** Where the processes of a site stand, by name (for tests and messages). */
export type ProcessState =
  'node-down' | 'stopped' | 'starting' | 'running' | 'indexserver-down' | 'frozen' | 'hung';

export function processState(s: Site): ProcessState {
  if (!s.nodeUp) return 'node-down';
  if (s.instance === 'stopped') return 'stopped';
  if (s.frozen) return 'frozen';
  if (s.hung) return 'hung';
  if (s.instance === 'starting') return 'starting';
  return s.indexserver === 'up' ? 'running' : 'indexserver-down';
}

/** Running with its indexserver up (it may still be frozen or hung). */
export function isUp(s: Site): boolean {
  return s.nodeUp && s.instance === 'running' && s.indexserver === 'up';
}

/** All the time this site has spent frozen, up to `now` (ms). */
export function frozenTotal(s: Site, now: number): number {
  return s.frozenMs + (s.frozen ? now - s.frozenSince : 0);
}

// ---------------------------------------------------------------- transitions

/** starting|running -> stopped: every process gone; what the old incarnation had in flight dies. */
export function stopInstance(s: Site): void {
  s.instance = 'stopped';
  s.hung = false;
  s.stopAtUnhang = false;
  s.incarnation++;
  s.indexserver = 'up';
  s.pending = [];
  s.suspended = false;
  s.takeoverActive = false;
  for (const link of s.links.values()) link.syncRequired = false;
}

export function setFrozen(s: Site, frozen: boolean, now: number): void {
  if (frozen === s.frozen) return;
  if (frozen) s.frozenSince = now;
  else s.frozenMs += now - s.frozenSince;
  s.frozen = frozen;
}

/** any -> node-down. */
export function crashNode(s: Site, now: number): string {
  if (!s.nodeUp) return 'node already down';
  stopInstance(s);
  s.nodeUp = false;
  setFrozen(s, false, now);
  return 'node down: HANA down and the host unreachable';
}

/** node-down -> stopped (Autostart=0). */
export function restoreNode(s: Site): string {
  if (s.nodeUp) return 'node already up';
  s.nodeUp = true;
  return 'node up; the HANA instance stays stopped (Autostart=0)';
}

export function crashInstance(s: Site): string {
  if (s.instance === 'stopped') return 'instance already stopped';
  stopInstance(s);
  return 'all processes killed; Autostart=0, the instance stays down until started';
}

export function freeze(s: Site, now: number): string {
  if (s.frozen) return 'already frozen';
  setFrozen(s, true, now);
  return 'processes hang: commands and SQL never answer, no commits';
}

/** Frozen -> as before; a hard stop sent while frozen takes effect now. */
export function thaw(s: Site, now: number): string {
  if (!s.frozen) return 'was not frozen';
  setFrozen(s, false, now);
  if (s.stopAtThaw) {
    s.stopAtThaw = false;
    if (s.instance !== 'stopped') stopInstance(s);
    return 'processes resume only to die: the hard stop sent while frozen takes effect';
  }
  return 'processes resume';
}

export function hang(s: Site): string {
  if (!s.nodeUp || s.instance === 'stopped') return 'instance not running';
  if (s.hung) return 'already hung';
  s.hung = true;
  return 'processes stay but answer nothing: no SQL, no commits, hdbnsutil hangs; a stop will not complete, a kill works';
}

/** Hung -> answering; a stop requested while hung is finished now. */
export function unhang(s: Site): string {
  if (!s.hung) return 'was not hung';
  s.hung = false;
  if (s.stopAtUnhang) {
    s.stopAtUnhang = false;
    stopInstance(s);
    return 'processes answer again only to finish the stop requested while they hung';
  }
  return 'processes answer again';
}

/**
 * A stop request (StopSystem or a hard stop): stops the instance, or, on hung processes, queues
 * until they answer ('queued': told once, 'still-queued' after). 'stopped' also when it was.
 */
export function requestStop(s: Site): 'stopped' | 'queued' | 'still-queued' | 'was-stopped' {
  if (s.instance === 'stopped') return 'was-stopped';
  if (s.hung) {
    // sapstartsrv takes the request; the hung processes never act on it.
    if (s.stopAtUnhang) return 'still-queued';
    s.stopAtUnhang = true;
    return 'queued';
  }
  stopInstance(s);
  return 'stopped';
}

/**
 * stopped -> starting (false: not stopped, nothing to do), with new processes: sapcontrol lists
 * new pids from the start on (an indexserver restart renews only the indexserver's).
 */
export function beginStart(s: Site, newPids: () => number[]): boolean {
  if (s.instance !== 'stopped') return false;
  s.instance = 'starting';
  s.indexserver = 'up';
  s.pids = newPids();
  return true;
}

/** starting -> running (the processes beginStart gave it). */
export function finishStart(s: Site, now: number): void {
  s.instance = 'running';
  s.instanceStartedAt = now;
  s.indexserverStartedAt = now;
}

/** The indexserver dies (hdbdaemon restarts it: see indexserverRestarting/indexserverUp). */
export function killIndexserver(s: Site): string | null {
  if (s.instance !== 'running' || !s.nodeUp) return 'instance not running';
  if (s.indexserver !== 'up') return 'indexserver already down';
  s.indexserver = 'dead';
  s.pending = [];
  return null;
}
