/**
 * What a site's tools would show, as a snapshot (src/standins/hana-sim/snapshot.ts): processes as
 * sapcontrol lists them, the SR mode and topology as hdbnsutil prints them, and each link as
 * systemReplicationStatus.py reports it. render.ts turns a snapshot into the tools' text.
 */
import type { OperationMode } from '../../domain/types.js';
import { BLOCK_BYTES, commonPrefix, linkStatus } from './replication.js';
import { isUp, PROCESS_NAMES, type Link, type Site } from './site.js';
import type {
  SimLink,
  SimProbeView,
  SimProcess,
  SimSiteSnapshot,
  SimSiteState,
  SimTopologySite,
} from './snapshot.js';

/** What the snapshots use of the model. */
export interface SnapshotHost {
  readonly sid: string;
  readonly instanceNumber: string;
  /** LAST_LOG_POSITION of an empty log. */
  readonly basePos: number;
  /** Clock time of t=0. */
  readonly t0: number;
  readonly order: readonly Site[];
  get(name: string): Site;
  /** Wall time of a clock time (true time; a host's clock offset comes on top). */
  wall(t: number): number;
  clockOffsetMs(name: string): number;
  readonly sqlBroken: ReadonlySet<string>;
  readonly toolsHung: ReadonlySet<string>;
}

export class SiteSnapshots {
  private descriptions: Record<(typeof PROCESS_NAMES)[number], string> | undefined;
  private readonly startTimes = new Map<number, string>();

  constructor(private readonly h: SnapshotHost) {}

  /** The snapshot of `s` at clock time `now`. */
  of(s: Site, now: number): SimSiteSnapshot {
    const h = this.h;
    const source = s.role === 'secondary' && s.source !== undefined ? h.get(s.source) : undefined;
    const snap: SimSiteSnapshot = {
      sid: h.sid,
      instanceNumber: h.instanceNumber,
      site: s.name,
      siteId: s.siteId,
      host: s.host,
      now: h.wall(now) + h.clockOffsetMs(s.name),
      nodeUp: s.nodeUp,
      running: s.nodeUp && s.instance === 'running',
      frozen: s.frozen,
      hung: s.hung,
      processes: this.processes(s, now),
      landscapeStatus: isUp(s) ? 4 : 1,
      srMode: srMode(s),
      operationMode: s.operationMode,
      ...(source ? { source: { site: source.name, siteId: source.siteId, host: source.host } } : {}),
      suspended: s.suspended,
      takeoverActive: s.takeoverActive,
      links: [...s.links.values()].map((l) => this.linkSnapshot(s, l)),
      topology: this.topology(s),
      logAreaFull: s.logFull,
      ...(h.sqlBroken.has(s.name) ? { sqlProbeBroken: true } : {}),
      ...(h.toolsHung.has(s.name) ? { probeToolsHung: true } : {}),
    };
    return snap;
  }

  /** of(s)'s SimSiteState fields, computed the same way. */
  state(s: Site): SimSiteState {
    const state: SimSiteState = {
      host: s.host,
      nodeUp: s.nodeUp,
      running: s.nodeUp && s.instance === 'running',
      frozen: s.frozen,
      hung: s.hung,
    };
    return this.h.toolsHung.has(s.name) ? { ...state, probeToolsHung: true } : state;
  }

  /** of(s, now)'s SimProbeView fields, computed the same way (the processes without texts). */
  probeView(s: Site): SimProbeView {
    const h = this.h;
    const source = s.role === 'secondary' && s.source !== undefined ? h.get(s.source) : undefined;
    const links: SimLink[] = [];
    for (const l of s.links.values()) links.push(this.linkSnapshot(s, l));
    const processes: Pick<SimProcess, 'name' | 'dispstatus' | 'pid'>[] = [];
    if (s.nodeUp) {
      if (s.instance === 'stopped')
        processes.push({ name: 'hdbdaemon', dispstatus: 'GRAY', pid: s.pids[0] ?? 0 });
      else
        PROCESS_NAMES.forEach((name, i) =>
          processes.push({ name, dispstatus: processState(s, name)[0], pid: s.pids[i] ?? 0 }),
        );
    }
    const view: SimProbeView = {
      running: s.nodeUp && s.instance === 'running',
      processes,
      landscapeStatus: isUp(s) ? 4 : 1,
      srMode: srMode(s),
      suspended: s.suspended,
      links,
      ...(source ? { source: { site: source.name } } : {}),
    };
    return h.sqlBroken.has(s.name) ? { ...view, sqlProbeBroken: true } : view;
  }

  private linkSnapshot(s: Site, link: Link): SimLink {
    const h = this.h;
    const t = h.get(link.secondary);
    const last = s.log[s.log.length - 1];
    const heldCount = commonPrefix(t.log, s.log);
    const shipped = heldCount > 0 ? s.log[heldCount - 1] : undefined;
    const status = linkStatus(link);
    const lastPos = last?.pos ?? h.basePos;
    const shippedPos = shipped?.pos ?? h.basePos;
    // Times of the source host's clock (both: their difference, the lag, knows no skew).
    const offset = h.clockOffsetMs(s.name);
    const lastTime = h.wall(last?.time ?? h.t0) + offset;
    const shippedTime = h.wall(shipped?.time ?? h.t0) + offset;
    let details = link.connected ? '' : link.details;
    if (status === 'INITIALIZING') {
      const mb = (b: number) => Math.floor(b / 1048576);
      const pct = Math.floor((100 * link.initDoneBytes) / Math.max(1, link.initTotalBytes));
      details = `Full Replica: ${pct} % (${mb(link.initDoneBytes)}/${mb(link.initTotalBytes)} MB)`;
    }
    const caughtUp = heldCount === s.log.length;
    return {
      secondarySite: t.name,
      secondarySiteId: t.siteId,
      secondaryHost: t.host,
      mode: link.mode,
      operationMode: link.operationMode,
      status,
      statusDetails: details,
      secondaryActive: link.connected,
      fullySynced: status === 'ACTIVE' && (link.mode === 'async' ? caughtUp : link.syncRequired),
      lastLogPosition: lastPos,
      lastLogPositionTime: lastTime,
      shippedLogPosition: shippedPos,
      shippedLogPositionTime: shippedTime,
      replayedLogPosition: shippedPos,
      replayedLogPositionTime: shippedTime,
      backlogSize: (lastPos - shippedPos) * BLOCK_BYTES,
      backlogTimeMicros: (lastTime - shippedTime) * 1000,
      shippedLogBuffersCount: link.buffersCount,
      shippedLogBuffersSize: link.buffersBytes,
      shippedLogBuffersDurationMicros: link.buffersMicros,
    };
  }

  private topology(s: Site): SimTopologySite[] {
    // Plain literals (no spreads): every probe of every site builds this.
    const out: SimTopologySite[] = [];
    for (const x of this.h.order) {
      let mode: SimTopologySite['mode'];
      let operationMode: OperationMode;
      let source: string | undefined;
      const link = x === s ? undefined : s.links.get(x.name);
      if (x === s) {
        mode = srMode(s);
        operationMode = s.operationMode;
        source = s.source;
      } else if (link) {
        mode = link.mode;
        operationMode = link.operationMode;
        source = s.name;
      } else if (s.source === x.name) {
        mode = 'primary';
        operationMode = x.operationMode;
      } else {
        mode = srMode(x);
        operationMode = x.operationMode;
        source = x.role === 'secondary' ? x.source : undefined;
      }
      out.push(
        source
          ? { name: x.name, siteId: x.siteId, host: x.host, mode, operationMode, source }
          : { name: x.name, siteId: x.siteId, host: x.host, mode, operationMode },
      );
    }
    return out;
  }

  private processes(s: Site, now: number): SimProcess[] {
    if (!s.nodeUp) return [];
    const descriptions = (this.descriptions ??= {
      hdbdaemon: 'HDB Daemon',
      hdbcompileserver: 'HDB Compileserver',
      hdbindexserver: `HDB Indexserver-${this.h.sid}`,
      hdbnameserver: 'HDB Nameserver',
      hdbpreprocessor: 'HDB Preprocessor',
      hdbwebdispatcher: 'HDB Web Dispatcher',
      hdbxsengine: `HDB XSEngine-${this.h.sid}`,
    });
    if (s.instance === 'stopped') {
      return [
        {
          name: 'hdbdaemon',
          description: descriptions.hdbdaemon,
          dispstatus: 'GRAY',
          textstatus: 'Stopped',
          starttime: '',
          elapsedtime: '',
          pid: s.pids[0] ?? 0,
        },
      ];
    }
    return PROCESS_NAMES.map((name, i) => {
      const pid = s.pids[i] ?? 0;
      let since = name === 'hdbindexserver' ? s.indexserverStartedAt : s.instanceStartedAt;
      const [dispstatus, textstatus] = processState(s, name);
      if (s.instance === 'starting') since = now;
      const running = dispstatus !== 'RED';
      return {
        name,
        description: descriptions[name],
        dispstatus,
        textstatus,
        starttime: running ? this.startTimeText(this.h.wall(since)) : '',
        elapsedtime: running ? formatElapsed(now - since) : '',
        pid,
      };
    });
  }

  /** formatStartTime, remembered: start times change rarely and every probe prints them. */
  private startTimeText(ms: number): string {
    let text = this.startTimes.get(ms);
    if (text === undefined) {
      if (this.startTimes.size > 64) this.startTimes.clear();
      text = formatStartTime(ms);
      this.startTimes.set(ms, text);
    }
    return text;
  }
}

/** A process of a node that is up and an instance that is not stopped: sapcontrol's status. */
function processState(
  s: Site,
  name: (typeof PROCESS_NAMES)[number],
): [SimProcess['dispstatus'], SimProcess['textstatus']] {
  if (s.instance === 'starting' && name !== 'hdbdaemon') return ['YELLOW', 'Initializing'];
  if (s.stopAtUnhang) return ['YELLOW', 'Stopping'];
  if (name === 'hdbindexserver' && s.indexserver === 'dead') return ['RED', 'Stopped'];
  if (name === 'hdbindexserver' && s.indexserver === 'restarting') return ['YELLOW', 'Initializing'];
  return ['GREEN', 'Running'];
}

export function srMode(s: Site): SimSiteSnapshot['srMode'] {
  return s.role === 'primary' ? 'primary' : s.role === 'secondary' ? s.mode : 'none';
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** sapcontrol's start time format: 'YYYY MM DD HH:MM:SS' (UTC here). */
export function formatStartTime(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getUTCFullYear()} ${pad(d.getUTCMonth() + 1)} ${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  );
}

/** sapcontrol's elapsed time format: 'H:MM:SS' (hours unbounded). */
export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  return `${h}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
}
