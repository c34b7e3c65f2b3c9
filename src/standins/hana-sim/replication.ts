/**
 * System replication between the simulated sites: the links and their connection, log shipping
 * (bandwidth, latency, the full copy of an initial or lost replica), acknowledgements of sync
 * commits, and logshipping_timeout. Log positions: an entry sits at the same index in every log
 * that holds it (logs share entries by reference up to their fork point).
 */
import type { OperationMode, ReplicationMode, ReplicationStatus } from '../../domain/types.js';
import { isUp, type Entry, type Link, type Site } from './site.js';

export const BLOCK_BYTES = 64;
/** One-way latency of the replication network at slowdown 1. */
const BASE_LATENCY_MS = 1;

/** What replication uses of the model. */
export interface ReplicationHost {
  /** The model's clock time (ms). */
  now(): number;
  readonly order: readonly Site[];
  get(name: string): Site;
  record(site: string, event: string, reason: string): void;
  /** A commit is acknowledged to its client. */
  ack(e: Entry): void;
  /** Bytes per second per link at slowdown 1. */
  readonly bandwidth: number;
  /** logshipping_timeout (ms). */
  readonly timeoutMs: number;
  /** How long a primary keeps log for a delta resync (ms). */
  readonly retentionMs: number;
  /** What a full resync ships (bytes). */
  readonly dataSize: number;
  /** The replication network is cut between all sites. */
  allReplBlocked(): boolean;
}

export function newLink(
  secondary: string,
  mode: ReplicationMode,
  operationMode: OperationMode,
  fresh: boolean,
  now: number,
): Link {
  return {
    secondary,
    mode,
    operationMode,
    phase: 'catchup',
    connected: false,
    since: now,
    details: 'Communication channel closed',
    syncRequired: false,
    fresh,
    initDoneBytes: 0,
    initTotalBytes: 0,
    initTarget: 0,
    carryBytes: 0,
    buffersCount: 0,
    buffersBytes: 0,
    buffersMicros: 0,
  };
}

export function ship(h: ReplicationHost, s: Site, link: Link, from: number, to: number): void {
  if (!link.connected) return;
  const t = h.get(link.secondary);
  if (t.logFull) return; // the secondary cannot write what it receives: shipping stalls
  const bandwidth = h.bandwidth / t.slowdown;
  let capacity = link.carryBytes + (bandwidth * (to - from)) / 1000;
  if (link.phase === 'init') {
    const use = Math.min(capacity, link.initTotalBytes - link.initDoneBytes);
    link.initDoneBytes += use;
    capacity -= use;
    if (link.initDoneBytes < link.initTotalBytes) {
      link.carryBytes = 0;
      return;
    }
    t.log = s.log.slice(0, link.initTarget);
    link.phase = 'catchup';
    h.record(t.name, 'full-replica-done', `initial data shipping from ${s.name} complete`);
  }
  const latency = BASE_LATENCY_MS * t.slowdown;
  while (t.log.length < s.log.length) {
    const e = s.log[t.log.length]!;
    const bytes = e.blocks * BLOCK_BYTES;
    if (e.time > to - latency || bytes > capacity) break;
    capacity -= bytes;
    t.log.push(e);
    link.buffersCount++;
    link.buffersBytes += bytes;
    link.buffersMicros += Math.round((latency + (bytes / bandwidth) * 1000) * 1000);
  }
  link.carryBytes = t.log.length < s.log.length ? Math.min(capacity, bandwidth) : 0;
  if (t.log.length === s.log.length && link.phase === 'catchup') {
    link.phase = 'active';
    if (link.mode !== 'async' && s.role === 'primary') {
      link.syncRequired = true;
      h.record(s.name, 'sok', `${t.name} caught up and is in sync again (ACTIVE)`);
    } else {
      h.record(s.name, 'active', `${t.name} caught up (ACTIVE)`);
    }
  }
}

/** Acknowledges the waiting commits every sync secondary holds, in order. */
export function acknowledge(h: ReplicationHost, s: Site): void {
  if (s.pending.length === 0) return;
  const required: Site[] = [];
  for (const l of s.links.values()) if (l.syncRequired) required.push(h.get(l.secondary));
  let n = 0;
  // Loops rather than every() and find() with closures: this runs in every step of the model.
  for (const e of s.pending) {
    let held = true;
    for (const t of required) if (t.log[e.index] !== e) held = false;
    if (!held) break;
    h.ack(e);
    n++;
  }
  if (n > 0) s.pending.splice(0, n);
}

/** When the primary has waited logshipping_timeout for a sync secondary: the wait start. */
function syncWaitStart(h: ReplicationHost, s: Site, link: Link): number | undefined {
  if (!link.syncRequired) return undefined;
  if (!link.connected) return link.since;
  const t = h.get(link.secondary);
  for (const e of s.pending) if (t.log[e.index] !== e) return e.time;
  return undefined;
}

export function nextSyncTimeout(h: ReplicationHost): number {
  let next = Infinity;
  for (const s of h.order) {
    if (s.frozen || s.hung) continue;
    for (const link of s.links.values()) {
      const since = syncWaitStart(h, s, link);
      if (since !== undefined) next = Math.min(next, since + h.timeoutMs);
    }
  }
  return next;
}

/** A primary that waited logshipping_timeout for a sync secondary commits without it (SFAIL). */
export function checkSyncTimeouts(h: ReplicationHost): boolean {
  let changed = false;
  for (const s of h.order) {
    // A frozen or hung primary runs no commit path: its waiting commits go ahead only after.
    if (s.frozen || s.hung) continue;
    for (const link of s.links.values()) {
      const since = syncWaitStart(h, s, link);
      if (since === undefined || h.now() < since + h.timeoutMs) continue;
      link.syncRequired = false;
      if (link.connected) link.phase = 'catchup';
      changed = true;
      h.record(
        s.name,
        'commit-alone',
        `${link.secondary} did not acknowledge within logshipping_timeout ` +
          `(${h.timeoutMs / 1000} s): committing without it`,
      );
      h.record(link.secondary, 'sfail', `not fully synced with ${s.name} any more (SFAIL)`);
      acknowledge(h, s);
    }
  }
  return changed;
}

export function reach(a: Site, b: Site): boolean {
  if (!a.nodeUp || !b.nodeUp) return false;
  return a === b || (!a.isolated && !b.isolated);
}

export function replicationPath(h: ReplicationHost, a: Site, b: Site): boolean {
  return reach(a, b) && !h.allReplBlocked() && !a.replBlocked && !b.replBlocked;
}

function connection(h: ReplicationHost, s: Site, link: Link): { ok: boolean; details: string } {
  const t = h.get(link.secondary);
  if (t.role !== 'secondary' || t.source !== s.name)
    return { ok: false, details: 'Communication channel closed' };
  if (!isUp(s) || !isUp(t)) return { ok: false, details: 'Communication channel closed' };
  if (!replicationPath(h, s, t)) return { ok: false, details: 'Communication channel closed' };
  if (s.frozen || t.frozen || s.hung || t.hung)
    return { ok: false, details: 'Log shipping timed out: no answer from the peer' };
  return { ok: true, details: '' };
}

/** Re-derives every link's connection from the sites as they are now. */
export function refreshLinks(h: ReplicationHost): void {
  for (const s of h.order) {
    for (const link of s.links.values()) {
      const c = connection(h, s, link);
      link.details = c.details;
      if (c.ok === link.connected) continue;
      link.connected = c.ok;
      link.since = h.now();
      link.carryBytes = 0;
      if (c.ok) onConnect(h, s, link);
      else if (isUp(s)) h.record(s.name, 'connection-lost', `${link.secondary}: ${c.details} (ERROR)`);
    }
  }
}

/** A link (re)connects: a delta resync when the logs still share a lineage, else a full one. */
function onConnect(h: ReplicationHost, s: Site, link: Link): void {
  const t = h.get(link.secondary);
  const k = t.log.length;
  const lineageOk = k <= s.log.length && (k === 0 || s.log[k - 1] === t.log[k - 1]);
  const missing = s.log[k];
  const logGone = missing !== undefined && missing.time < h.now() - h.retentionMs;
  const full = !lineageOk || logGone || link.phase === 'init';
  const why = !lineageOk
    ? 'the logs diverged'
    : logGone
      ? `${s.name} no longer holds the log since the common point (retention ${h.retentionMs / 1000} s)`
      : link.phase === 'init'
        ? 'the interrupted full replica starts over'
        : '';
  if (full) {
    link.phase = 'init';
    link.initDoneBytes = 0;
    link.initTotalBytes = h.dataSize;
    link.initTarget = s.log.length;
    h.record(t.name, 'resync-full', `full data shipping from ${s.name}: ${why}`);
  } else {
    link.phase = 'catchup';
    const behind = s.log.length - k;
    h.record(
      t.name,
      link.fresh ? 'resync-delta' : 'reconnected',
      `${link.fresh ? 'delta resync' : 'reconnected'} to ${s.name}: ${behind} log entries to ship (SYNCING)`,
    );
  }
  link.fresh = false;
}

export function linkStatus(link: Link): ReplicationStatus {
  if (!link.connected) return 'ERROR';
  return link.phase === 'init' ? 'INITIALIZING' : link.phase === 'catchup' ? 'SYNCING' : 'ACTIVE';
}

/** How many entries `a` and `b` share from the start. */
export function commonPrefix(a: Entry[], b: Entry[]): number {
  // Logs share entries by reference up to their fork point, so equality is monotone.
  let lo = 0;
  let hi = Math.min(a.length, b.length);
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (a[mid - 1] === b[mid - 1]) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export function isPrefix(a: Entry[], b: Entry[]): boolean {
  return a.length <= b.length && commonPrefix(a, b) === a.length;
}
