/**
 * The contract between the HANA simulator's model (model.ts) and everything that presents it:
 * the command renderer (text byte-identical to real HANA's tools) and the SQL wire-protocol
 * server (monitoring views). Pure data.
 */
import type { OperationMode, ReplicationMode, ReplicationStatus } from '../../domain/types.js';

export interface SimProcess {
  /** e.g. hdbdaemon, hdbcompileserver, hdbindexserver, hdbnameserver, hdbpreprocessor, hdbwebdispatcher, hdbxsengine */
  readonly name: string;
  /** e.g. "HDB Daemon", "HDB Indexserver-HA1" */
  readonly description: string;
  readonly dispstatus: 'GREEN' | 'YELLOW' | 'RED' | 'GRAY';
  /** Running / Stopped / Initializing / Scheduled for start... */
  readonly textstatus: string;
  /** 'YYYY MM DD HH:MM:SS' or '' when stopped */
  readonly starttime: string;
  /** 'H:MM:SS' or '' */
  readonly elapsedtime: string;
  readonly pid: number;
}

/** One replication link, as the source site's monitoring views show it. */
export interface SimLink {
  readonly secondarySite: string;
  readonly secondarySiteId: number;
  readonly secondaryHost: string;
  readonly mode: ReplicationMode;
  readonly operationMode: OperationMode;
  readonly status: ReplicationStatus;
  readonly statusDetails: string;
  /** Secondary Active Status: YES / NO */
  readonly secondaryActive: boolean;
  readonly fullySynced: boolean;
  /** Log positions are in 64-byte blocks, as in M_SERVICE_REPLICATION. */
  readonly lastLogPosition: number;
  readonly lastLogPositionTime: number;
  readonly shippedLogPosition: number;
  readonly shippedLogPositionTime: number;
  readonly replayedLogPosition: number;
  readonly replayedLogPositionTime: number;
  readonly backlogSize: number;
  readonly backlogTimeMicros: number;
  readonly shippedLogBuffersCount: number;
  readonly shippedLogBuffersSize: number;
  readonly shippedLogBuffersDurationMicros: number;
}

export interface SimTopologySite {
  readonly name: string;
  readonly siteId: number;
  readonly host: string;
  /** primary, or the mode this site replicates with */
  readonly mode: ReplicationMode | 'primary' | 'none';
  readonly operationMode: OperationMode;
  /** the site it replicates from, if any */
  readonly source?: string;
}

export interface SimSiteSnapshot {
  readonly sid: string;
  readonly instanceNumber: string;
  readonly site: string;
  readonly siteId: number;
  readonly host: string;
  /** Simulated wall-clock time of the snapshot (ms since epoch). */
  readonly now: number;
  /** The node (host) is up at all: false makes every command fail to connect. */
  readonly nodeUp: boolean;
  /** The instance's database processes run (nameserver answers). */
  readonly running: boolean;
  /** The site is frozen: commands and SQL hang. */
  readonly frozen: boolean;
  /**
   * The instance hangs: its processes stay but answer nothing (SQL, hdbnsutil and the python
   * scripts hang); sapstartsrv (sapcontrol) still answers and `HDB kill-9` works. Absent: false.
   */
  readonly hung?: boolean;
  readonly processes: readonly SimProcess[];
  /** landscapeHostConfiguration.py overall host status code. */
  readonly landscapeStatus: 0 | 1 | 2 | 3 | 4;
  /** SR mode of this site as `hdbnsutil -sr_state` prints it. */
  readonly srMode: ReplicationMode | 'primary' | 'none';
  readonly operationMode: OperationMode;
  /** for a secondary: the site it replicates from */
  readonly source?: { readonly site: string; readonly siteId: number; readonly host: string };
  readonly suspended: boolean;
  readonly takeoverActive: boolean;
  /** links where this site is the source */
  readonly links: readonly SimLink[];
  /** every site of the landscape as this site's SR configuration knows it */
  readonly topology: readonly SimTopologySite[];
  /** log area full: writes block */
  readonly logAreaFull: boolean;
  /** The SQL lag source (monitoring views) fails: the lag cannot be read. */
  readonly sqlProbeBroken?: boolean;
  /**
   * hdbnsutil and the HDBSettings.sh scripts hang (the probe's tools, not the database): the
   * indexserver still commits and sapcontrol still answers (hang-probe-tools).
   */
  readonly probeToolsHung?: boolean;
}

/** Whether a site's tools answer at all: the fields of its snapshot a caller waits on. */
export type SimSiteState = Pick<
  SimSiteSnapshot,
  'host' | 'nodeUp' | 'running' | 'frozen' | 'hung' | 'probeToolsHung'
>;

/**
 * The fields of a snapshot an agent's probe turns into its health (direct-port.ts
 * healthFromSnapshot): the processes' states without their texts, no topology.
 */
export type SimProbeView = Pick<
  SimSiteSnapshot,
  'running' | 'landscapeStatus' | 'srMode' | 'suspended' | 'links' | 'sqlProbeBroken'
> & {
  readonly processes: readonly Pick<SimProcess, 'name' | 'dispstatus' | 'pid'>[];
  readonly source?: Pick<NonNullable<SimSiteSnapshot['source']>, 'site'>;
};

/** Control surface of one simulated site: what hdbnsutil/sapcontrol actions do to the model. */
export interface SimSiteControl {
  snapshot(): SimSiteSnapshot;
  /**
   * snapshot()'s SimSiteState fields, read the same way without building the rest (the direct
   * port asks before every call whether the site answers; thousands of fuzz schedules).
   */
  state?(): SimSiteState;
  /** snapshot()'s SimProbeView fields, read the same way without the texts and the topology. */
  probeView?(): SimProbeView;
  /** hdbnsutil -sr_takeover [--suspendPrimary]; throws SimCommandError with HANA's text on refusal. */
  takeover(options: { handshake: boolean }): void;
  /** hdbnsutil -sr_register ... */
  register(options: {
    remoteHost: string;
    remoteInstance: string;
    replicationMode: ReplicationMode;
    operationMode: OperationMode;
    name: string;
    online: boolean;
  }): void;
  /** hdbnsutil -sr_unregister */
  unregister(): void;
  /** sapcontrol StartSystem (asynchronous in reality: processes come up over a few seconds) */
  start(): void;
  /** sapcontrol StopSystem (soft, or hard); on a hung instance it is accepted but never completes */
  stop(hard: boolean): void;
  /** `HDB kill-9` as <sid>adm: kills every process of the instance, even hung ones */
  kill(): void;
  /** suspend the primary (no writes) */
  suspend(): void;
  /**
   * A hard stop sent while the site is frozen: the processes cannot die before the thaw, and die
   * at the thaw, before they take any write (a queued SIGKILL on a real host).
   */
  killAtThaw?(): void;
  /** hdbnsutil -sr_resumeSuspendedPrimary (undo suspend) */
  resume?(): void;
}

export class SimCommandError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'SimCommandError';
  }
}
