/**
 * The HANA commands of a simulated site as hdbnsutil and sapcontrol carry them out (takeover,
 * register, unregister, start, stop, kill, suspend, resume): each checks what the real command
 * checks, refuses with its text (SimCommandError), and changes the site through the transitions
 * of site.ts. The model (model.ts) hands them to the site's control handle.
 */
import type { Prng } from './prng.js';
import {
  commonPrefix,
  isPrefix,
  newLink,
  reach,
  replicationPath,
  type ReplicationHost,
} from './replication.js';
import { beginStart, finishStart, frozenTotal, isUp, requestStop, stopInstance, type Site } from './site.js';
import { SimCommandError, type SimSiteControl } from './snapshot.js';

/** Internal step of the model: a start that waits on a frozen site looks again after this. */
export const STEP_MS = 100;

/** What the commands use of the model. */
export interface CommandHost {
  /** Brings the model up to the clock (before a command looks at a site). */
  advance(): void;
  /** Re-derives the links and the writable count (after a command changed a site). */
  afterChange(): void;
  /** The model's clock time (ms). */
  now(): number;
  readonly instanceNumber: string;
  /** Mean duration of StartSystem (ms). */
  readonly startMs: number;
  /** How long a new primary holds commits back after its takeover command (ms, min and max). */
  readonly takeoverReplayMs: readonly [number, number];
  readonly order: readonly Site[];
  get(name: string): Site;
  find(name: string): Site | undefined;
  readonly rng: Prng;
  schedule(inMs: number, fn: () => void): void;
  record(site: string, event: string, reason: string): void;
  newPids(): number[];
  readonly repl: ReplicationHost;
}

export function takeover(h: CommandHost, name: string, handshake: boolean): void {
  h.advance();
  const t = h.get(name);
  assertAnswers(h, t, 'hdbnsutil -sr_takeover');
  if (t.role === 'primary') {
    throw new SimCommandError('takeover not possible: this system is already the primary system', 1);
  }
  if (t.role !== 'secondary' || t.source === undefined) {
    throw new SimCommandError(
      'takeover not possible: system replication is not configured on this system',
      1,
    );
  }
  const s = h.get(t.source);
  const link = s.links.get(t.name);
  if (link?.phase === 'init') {
    throw new SimCommandError(
      'takeover not possible: the secondary has not finished the initial data shipping (full replica incomplete)',
      1,
    );
  }
  if (handshake) {
    if (!replicationPath(h.repl, s, t) || !isUp(s) || s.frozen || s.hung || s.role !== 'primary') {
      throw new SimCommandError(
        `takeover with --suspendPrimary failed: cannot suspend primary site ${s.name} on ${s.host}: ` +
          `unable to contact primary site host ${s.host}:3${h.instanceNumber}01 (connection refused); ` +
          'the takeover was not executed',
        1,
      );
    }
    s.suspended = true;
    h.record(s.name, 'suspend', `primary suspended for a takeover with handshake by ${t.name}`);
    if (isPrefix(t.log, s.log)) {
      for (let i = t.log.length; i < s.log.length; i++) t.log.push(s.log[i]!);
    }
  }
  const held = t.log.length;
  t.role = 'primary';
  t.source = undefined;
  t.suspended = false;
  t.takeoverActive = true;
  const incarnation = t.incarnation;
  h.record(
    t.name,
    'takeover',
    handshake
      ? `takeover with handshake from ${s.name}: old primary suspended, all log shipped`
      : `takeover from ${s.name} with the ${held} writes this site holds; ${s.name} is not touched`,
  );
  const complete = () => {
    if (t.incarnation !== incarnation || !t.takeoverActive) return;
    t.takeoverActive = false;
    h.record(t.name, 'takeover-complete', 'log replayed; the site is primary and accepts writes');
  };
  const [min, max] = h.takeoverReplayMs;
  if (max === 0) complete();
  else h.schedule(h.rng.between(min, max), complete);
  h.afterChange();
}

export function register(h: CommandHost, name: string, o: Parameters<SimSiteControl['register']>[0]): void {
  h.advance();
  const t = h.get(name);
  if (!t.nodeUp) throw unreachable(t);
  if (t.frozen) throw new SimCommandError('hdbnsutil did not answer (site frozen)', 1);
  if (t.instance !== 'stopped' && !o.online) {
    throw new SimCommandError(
      'error: the system is running; register it while it is stopped, or use --online',
      1,
    );
  }
  if (o.name !== t.name) {
    throw new SimCommandError(`error: site name "${o.name}" does not match this site's name "${t.name}"`, 1);
  }
  const r = h.order.find((x) => x.host === o.remoteHost || x.name === o.remoteHost);
  const contactError = new SimCommandError(
    `error: unable to contact primary site host ${o.remoteHost}:3${o.remoteInstance}02. connection refused`,
    1,
  );
  if (!r || r === t || o.remoteInstance !== h.instanceNumber) throw contactError;
  if (!reach(t, r) || !isUp(r) || r.frozen) throw contactError;
  if (r.role === 'none') {
    throw new SimCommandError(`error: site ${r.name} is not enabled for system replication`, 1);
  }
  if (sourceChain(h, r).includes(t.name)) {
    throw new SimCommandError(`error: site ${r.name} replicates from this site; cannot register to it`, 1);
  }
  const common = commonPrefix(t.log, r.log);
  const discarded = t.log.length - common;
  t.log.length = common;
  if (t.source !== undefined) h.find(t.source)?.links.delete(t.name);
  t.links.delete(r.name);
  r.links.set(t.name, newLink(t.name, o.replicationMode, o.operationMode, true, h.now()));
  t.role = 'secondary';
  t.source = r.name;
  t.mode = o.replicationMode;
  t.operationMode = o.operationMode;
  t.suspended = false;
  t.takeoverActive = false;
  t.pending = [];
  h.record(
    t.name,
    'register',
    `registered as ${o.replicationMode} secondary of ${r.name}` +
      (discarded > 0 ? `; ${discarded} writes not on ${r.name} discarded` : ''),
  );
  h.afterChange();
}

export function unregister(h: CommandHost, name: string): void {
  h.advance();
  const t = h.get(name);
  assertReachableNode(t);
  if (t.role !== 'secondary') throw new SimCommandError('error: this system is not a secondary system', 1);
  if (t.source !== undefined) h.find(t.source)?.links.delete(t.name);
  t.role = 'none';
  t.source = undefined;
  h.record(t.name, 'unregister', 'system replication configuration removed');
  h.afterChange();
}

export function start(h: CommandHost, name: string): void {
  h.advance();
  const s = h.get(name);
  assertReachableNode(s);
  if (!beginStart(s, () => h.newPids())) return;
  const incarnation = s.incarnation;
  const duration = h.startMs * h.rng.between(0.8, 1.2);
  h.record(s.name, 'start', `StartSystem: processes starting (about ${Math.round(duration / 1000)} s)`);
  // A start makes no progress while the site is frozen: the time spent frozen is added to it,
  // so a start can never complete on a frozen site.
  const finish = (frozenCredited: number): void => {
    if (s.incarnation !== incarnation || s.instance !== 'starting') return;
    const debt = frozenTotal(s, h.now()) - frozenCredited;
    if (s.frozen || debt > 0) {
      h.schedule(Math.max(debt, STEP_MS), () => finish(frozenCredited + debt));
      return;
    }
    finishStart(s, h.now());
    const others = h.order.filter((x) => x !== s && x.role === 'primary' && x.instance === 'running');
    let reason =
      s.role === 'primary'
        ? 'started as primary'
        : s.role === 'secondary'
          ? `started as ${s.mode} secondary of ${s.source ?? '?'}`
          : 'started without system replication';
    if (s.role === 'primary' && others.length > 0) {
      reason += `; ${others.map((x) => x.name).join(', ')} is primary too (dual primary)`;
    }
    h.record(s.name, 'started', reason);
  };
  const frozenAtStart = frozenTotal(s, h.now());
  h.schedule(duration, () => finish(frozenAtStart));
  h.afterChange();
}

export function stop(h: CommandHost, name: string, hard: boolean): void {
  h.advance();
  const s = h.get(name);
  assertReachableNode(s);
  const outcome = requestStop(s);
  if (outcome === 'queued')
    h.record(
      s.name,
      'stop-hangs',
      `${hard ? 'hard stop' : 'StopSystem'} requested: the hung processes do not stop`,
    );
  if (outcome !== 'stopped') return;
  h.record(s.name, 'stop', hard ? 'hard stop (processes killed)' : 'StopSystem');
  h.afterChange();
}

/** `HDB kill-9`: every process of the instance killed at once, hung or not. */
export function kill(h: CommandHost, name: string): void {
  h.advance();
  const s = h.get(name);
  assertReachableNode(s);
  if (s.frozen) throw new SimCommandError('HDB kill-9: no answer (the site is frozen)', 1);
  if (s.instance === 'stopped') return;
  const wasHung = s.hung;
  stopInstance(s);
  h.record(s.name, 'kill', `HDB kill-9: every process killed${wasHung ? ' (they hung)' : ''}`);
  h.afterChange();
}

export function suspend(h: CommandHost, name: string): void {
  h.advance();
  const s = h.get(name);
  assertAnswers(h, s, 'suspend');
  if (s.role !== 'primary') throw new SimCommandError('error: only a primary system can be suspended', 1);
  if (s.suspended) return;
  s.suspended = true;
  h.record(s.name, 'suspend', 'primary suspended: no writes');
  h.afterChange();
}

export function resume(h: CommandHost, name: string): void {
  h.advance();
  const s = h.get(name);
  assertAnswers(h, s, 'hdbnsutil -sr_resumeSuspendedPrimary');
  if (!s.suspended) return;
  s.suspended = false;
  h.record(s.name, 'resume', 'suspended primary resumed');
  h.afterChange();
}

function sourceChain(h: CommandHost, s: Site): string[] {
  const chain: string[] = [];
  let cur: Site | undefined = s;
  while (cur?.role === 'secondary' && cur.source !== undefined && !chain.includes(cur.source)) {
    chain.push(cur.source);
    cur = h.find(cur.source);
  }
  return chain;
}

function assertReachableNode(s: Site): void {
  if (!s.nodeUp) throw unreachable(s);
}

function assertAnswers(h: CommandHost, s: Site, what: string): void {
  assertReachableNode(s);
  if (s.frozen) throw new SimCommandError(`${what}: no answer (the site is frozen)`, 1);
  if (s.instance !== 'running') {
    throw new SimCommandError(`nameserver ${s.host}:3${h.instanceNumber}01 not responding.`, 1);
  }
}

function unreachable(s: Site): SimCommandError {
  return new SimCommandError(
    `FAIL: NIECONN_REFUSED (Connection refused), NiRawConnect failed in plugin_fopen() (host ${s.host})`,
    1,
  );
}
