/**
 * The faults the simulator injects into one site, one entry each: what it changes and the reason
 * the timeline records (by the event name it is recorded under). A new fault of a site is one
 * entry here (and, when it changes how the processes behave, a transition in site.ts); the
 * model applies it at the current clock time (SimLandscape.fault) and re-derives the links.
 */
import type { Prng } from './prng.js';
import {
  crashInstance,
  crashNode,
  freeze,
  hang,
  killIndexserver,
  restoreNode,
  thaw,
  unhang,
  type Site,
} from './site.js';

/** What a fault may use of the model besides its site. */
export interface FaultHost {
  /** The model's clock time (ms). */
  now(): number;
  readonly rng: Prng;
  /** Runs `fn` `inMs` from now, in model time. */
  schedule(inMs: number, fn: () => void): void;
  record(site: string, event: string, reason: string): void;
  /** Host clock offsets from true time (ms), per site. */
  readonly clockOffsets: Map<string, number>;
  /** Sites whose SQL lag source fails. */
  readonly sqlBroken: Set<string>;
  /** Sites whose hdbnsutil and HDBSettings.sh scripts hang. */
  readonly toolsHung: Set<string>;
}

/** A fault: changes the site (and what the host holds for it); returns the timeline's reason. */
export type SiteFault = (s: Site, host: FaultHost, value: number) => string;

export const SITE_FAULTS = {
  'crash-instance': (s) => crashInstance(s),
  'kill-indexserver': (s, h) => {
    const refused = killIndexserver(s);
    if (refused !== null) return refused;
    const incarnation = s.incarnation;
    const restartIn = h.rng.between(2000, 5000);
    const loadIn = h.rng.between(5000, 10000);
    h.schedule(restartIn, () => {
      if (s.incarnation !== incarnation || s.indexserver !== 'dead') return;
      s.indexserver = 'restarting';
      h.record(s.name, 'indexserver-restarting', 'hdbdaemon restarts the indexserver');
    });
    h.schedule(restartIn + loadIn, () => {
      if (s.incarnation !== incarnation || s.indexserver === 'up') return;
      s.indexserver = 'up';
      s.indexserverStartedAt = h.now();
      s.pids[2] = h.rng.int(2000, 99999);
      h.record(s.name, 'indexserver-restarted', 'indexserver running again (landscape back to 4)');
    });
    return 'hdbindexserver killed (landscape 1); hdbdaemon will restart it';
  },
  'crash-node': (s, h) => crashNode(s, h.now()),
  'restore-node': (s) => restoreNode(s),
  'block-replication': (s) => {
    if (s.replBlocked) return 'replication network already cut';
    s.replBlocked = true;
    return 'replication network of this site cut';
  },
  'unblock-replication': (s) => {
    if (!s.replBlocked) return 'replication network was not cut';
    s.replBlocked = false;
    return 'replication network of this site restored';
  },
  'isolate-site': (s) => {
    if (s.isolated) return 'already isolated';
    s.isolated = true;
    return 'cut from every other site (replication and peers)';
  },
  'reconnect-site': (s) => {
    if (!s.isolated) return 'was not isolated';
    s.isolated = false;
    return 'network to the other sites restored';
  },
  'freeze-site': (s, h) => freeze(s, h.now()),
  'thaw-site': (s, h) => thaw(s, h.now()),
  'hang-instance': (s) => hang(s),
  'unhang-instance': (s) => unhang(s),
  'fill-log-area': (s) => {
    if (s.logFull) return 'log area already full';
    s.logFull = true;
    return 'log volume full: commits block';
  },
  'free-log-area': (s) => {
    if (!s.logFull) return 'log area was not full';
    s.logFull = false;
    return 'log volume has space again';
  },
  /** `value`: seconds the host clock jumps (either sign). The model keeps true time. */
  'clock-skew': (s, h, seconds) => {
    const offset = (h.clockOffsets.get(s.name) ?? 0) + seconds * 1000;
    h.clockOffsets.set(s.name, offset);
    return `host clock jumps ${seconds >= 0 ? '+' : ''}${seconds} s (now ${offset / 1000} s off true time)`;
  },
  'sql-probe-broken': (s, h) => {
    h.sqlBroken.add(s.name);
    return 'SQL lag source fails (replication lag unknown)';
  },
  'sql-probe-fixed': (s, h) => {
    h.sqlBroken.delete(s.name);
    return 'SQL lag source answers again';
  },
  'probe-tools-hung': (s, h) => {
    h.toolsHung.add(s.name);
    return 'hdbnsutil and HDBSettings.sh hang (the database still commits, sapcontrol answers)';
  },
  'probe-tools-fixed': (s, h) => {
    h.toolsHung.delete(s.name);
    return 'hdbnsutil and HDBSettings.sh answer again';
  },
  /** `value`: the factor (bandwidth divided by it, latency multiplied). */
  'link-slowdown': (s, _h, factor) => {
    s.slowdown = factor;
    return factor === 1
      ? 'replication link back to normal'
      : `replication link into this site ${factor}x slower`;
  },
} satisfies Record<string, SiteFault>;

export type SiteFaultName = keyof typeof SITE_FAULTS;
