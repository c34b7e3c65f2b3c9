/**
 * The HSR state model: what one observation of a site says. Pure data, no behaviour.
 * Times are milliseconds since the Unix epoch, taken from the injected clock.
 */
import type { OperationMode, ReplicationMode } from '../api/spec.js';
import type { SkewEstimate } from './clock-skew.js';
import type { PeerView } from './observation.js';

export type { OperationMode, ReplicationMode } from '../api/spec.js';

export type Role = 'primary' | 'secondary' | 'none';

/** HANA's replication status words, in the order SAP ranks them (worst first for "overall"). */
export const replicationStatuses = ['ERROR', 'UNKNOWN', 'INITIALIZING', 'SYNCING', 'ACTIVE'] as const;
export type ReplicationStatus = (typeof replicationStatuses)[number];
/** What the primary reports overall: NONE when no secondary is attached. */
export type OverallReplicationStatus = ReplicationStatus | 'NONE';

/** landscapeHostConfiguration.py return codes: 0 FATAL, 1 ERROR, 2 WARNING, 3 INFO, 4 OK. */
export type LandscapeStatus = 0 | 1 | 2 | 3 | 4;
export const landscapeStatusNames = ['FATAL', 'ERROR', 'WARNING', 'INFO', 'OK'] as const;

/** sapcontrol GetProcessList dispstatus. */
export type ProcessColour = 'GREEN' | 'YELLOW' | 'RED' | 'GRAY';

/** One replication link as the source site reports it (one row per secondary, services merged). */
export interface ReplicationLink {
  readonly secondary: string;
  readonly mode: ReplicationMode;
  readonly operationMode: OperationMode;
  readonly status: ReplicationStatus;
  readonly statusDetails: string;
  /** SOK: every committed log is on the secondary ("Secondary Fully Synced" / ACTIVE). */
  readonly inSync: boolean;
  /** Shipping delay (LAST_LOG_POSITION_TIME - SHIPPED_LOG_POSITION_TIME); null when unknown. */
  readonly lagSeconds: number | null;
  /** Unshipped log (LAST_LOG_POSITION - SHIPPED_LOG_POSITION) * 64; null when unknown. */
  readonly lagBytes: number | null;
  /**
   * LAST_LOG_POSITION and SHIPPED_LOG_POSITION per service volume of this link (M_SERVICE_
   * REPLICATION); absent when not read or not understood (a planned region switchover then never
   * counts the link as drained).
   */
  readonly positions?: readonly LogPosition[];
}

/** One volume's log positions on a replication link (64-byte blocks). */
export interface LogPosition {
  /** SERVICE_NAME/VOLUME_ID. */
  readonly volume: string;
  readonly last: number;
  readonly shipped: number;
}

/** What the agent learnt from probing its own HANA in one cycle. */
export interface HanaHealth {
  /** Every probe of this cycle answered in time and was understood. */
  readonly probeOk: boolean;
  /** Why the probe failed (timeout, parse error, nameserver not responding...). */
  readonly probeError?: string;
  /** The instance runs (processes GREEN/YELLOW, landscape 2-4). False when unknown. */
  readonly running: boolean;
  readonly landscapeStatus: LandscapeStatus | null;
  readonly processes: Readonly<Record<string, ProcessColour>>;
  /**
   * The hdbnameserver's pid as sapcontrol lists it; absent or null: not listed, or without a pid.
   * A new one between two probes means the instance was started again in between (an
   * indexserver restart by hdbdaemon keeps it): primaryStartSeen.
   */
  readonly nameserverPid?: number | null;
  /** SR role from `hdbnsutil -sr_state` (mode primary / sync... / none). */
  readonly srRole: Role;
  /** For a secondary: the site it replicates from. */
  readonly source?: string;
  /** The site's SR mode as configured on it (the secondary's own `mode:`). */
  readonly srMode?: ReplicationMode;
  /** Primary suspended by `-sr_takeover --suspendPrimary` (no writes). */
  readonly suspended: boolean;
  /** The site answers writes right now (primary, running, not suspended). */
  readonly acceptsWrites: boolean;
  /** Links where this site is the source; empty on a pure secondary. */
  readonly replication: readonly ReplicationLink[];
  /** Worst status over links, NONE without secondaries. Only meaningful on a source. */
  readonly overallReplicationStatus: OverallReplicationStatus;
}

/** A health that says nothing good: what an unanswered or unreadable probe turns into. */
export function unknownHealth(probeError: string): HanaHealth {
  return {
    probeOk: false,
    probeError,
    running: false,
    landscapeStatus: null,
    processes: {},
    srRole: 'none',
    suspended: false,
    acceptsWrites: false,
    replication: [],
    overallReplicationStatus: 'UNKNOWN',
  };
}

/** The report an agent publishes (bound to its lease) every cycle. */
export interface SiteReport {
  readonly site: string;
  readonly observedAt: number;
  readonly health: HanaHealth;
  /** Consecutive failed probes of the local HANA (0 after a good one). */
  readonly failedProbes: number;
  /** The last time the agent saw its site accept writes (ms), or null. */
  readonly lastWritableAt: number | null;
  /**
   * Since when (ms) the site is known to take no writes after it was last writable: the first
   * probe that found no process, or the agent's confirmed stop (sync-trust.ts
   * notWritableAfterProbe/notWritableAfterStop). Null or absent (an older agent): not known,
   * it may still take writes.
   */
  readonly notWritableSince?: number | null;
  /** Epoch the agent believes in when it wrote this. */
  readonly epoch: number;
  /** True while this agent holds the leader key. */
  readonly leader: boolean;
  /** The agent fenced its site (stopped or suspended it) and has not undone it. */
  readonly fenced: boolean;
  /**
   * A hard stop (or `HDB kill-9`) of this site that this agent process sent while it could not
   * read its HANA, not known to have landed: the command reached the node's tools (sapcontrol
   * accepted it, or it still runs there: a frozen instance answers nothing), and it reaches a hung
   * or frozen instance at the latest at its thaw, before any write. `epoch`: the term the stop
   * was decided in; `at`: when it was sent (this agent's clock). Null: none sent since this
   * process last read its site or started it (a restarted process starts with null). Absent: an
   * agent of an earlier version (a successor then follows its older rule). docs/agent.md.
   */
  readonly stopSent?: { readonly epoch: number; readonly at: number } | null;
  /**
   * The last time (this agent's clock, ms) a readable probe found this site's HANA down (no live
   * process): a secondary seen down after its last SOK confirmation is not in sync until the
   * primary confirms it again (sync-trust.ts, candidate_down_after_sok). Null: not seen down since
   * this agent process started. Absent: an agent of an earlier version.
   */
  readonly downSeenAt?: number | null;
  /** Local start attempts since the site was last healthy (the decision's local view). */
  readonly localRestarts?: number;
  /** The role of the site at the agent's last readable probe (the decision's local view). */
  /**
   * The spec this agent acted on in its last cycle had maintenance on (it fences nothing then, so
   * its lease running out says nothing of its HANA). Absent: an agent that does not say.
   */
  readonly maintenance?: boolean;
  /**
   * The published spec's maintenance generation (ClusterState.maintenanceGeneration) of the spec
   * behind `maintenance`: this agent acts on that spec or a newer one from now on. Absent: an
   * agent that does not say, or one that follows its spec file.
   */
  readonly maintenanceGeneration?: number;
  readonly lastKnownRole?: Role;
  /** When the agent's lease was last confirmed by the store (ms), or null without a lease. */
  readonly leaseRenewedAt?: number | null;
  /**
   * What the agent saw of its peers directly this cycle (reachable, writable, role), so that
   * `hanasr explain` can rebuild the whole observation its decision rests on.
   */
  readonly peers?: Readonly<Record<string, PeerView>>;
  /** The agent's last decision, for humans. */
  readonly lastDecision?: { readonly action: string; readonly reason: string; readonly message: string };
  /**
   * The outcome of the agent's last action (not of a decision to wait): done (`ok`), failed or
   * refused (`ok: false`, e.g. a lost compare-and-set or a stale epoch), with when it ended (ms).
   */
  readonly lastAction?: ActionOutcome;
  /** The agent's last measurement of each peer's clock against its own (absent: never measured). */
  readonly clockSkew?: Readonly<Record<string, SkewEstimate>>;
  /** The site's watchdog (absent: an agent without a watchdog port, or an older agent). */
  readonly watchdog?: WatchdogReport;
}

/** What a site's agent says of its watchdog (status, metrics, `hanasr status`). */
export interface WatchdogReport {
  /** spec.fencing.watchdog.mode. */
  readonly mode: 'disabled' | 'automatic' | 'required';
  /** The device's state: armed (counting down), disarmed, failed (a call failed while armed: it may fire). */
  readonly state: 'armed' | 'disarmed' | 'failed';
  /** Usable under the spec (watchdogVerdict). */
  readonly usable: boolean;
  /** The site may lead (false only when required and unusable). */
  readonly mayLead: boolean;
  readonly device?: string;
  readonly timeoutSeconds?: number;
  /** watchdogVerdict's reason (watchdog_usable, watchdog_absent, watchdog_timeout_too_long...). */
  readonly reason: string;
  readonly message: string;
}

/** What became of an action the agent took (SiteReport.lastAction). */
export interface ActionOutcome {
  /** The action's kind (takeover, promote, step-down, fence, register, start-local...). */
  readonly action: string;
  /** Why it was taken, or why it failed or was refused (lost_race, stale_epoch, fence_failed...). */
  readonly reason: string;
  readonly ok: boolean;
  readonly message: string;
  readonly at: number;
}

/** SOK/SFAIL as SAPHanaSR records it: written by the primary's agent, kept beyond its lease. */
export type SyncState = 'SOK' | 'SFAIL' | 'PRIM';
export interface SyncRecord {
  readonly site: string;
  readonly state: SyncState;
  /** When the primary's agent confirmed this state (its observation time). */
  readonly confirmedAt: number;
  /** Epoch of the primary term that wrote it; a record from an older term is not trusted. */
  readonly epoch: number;
  readonly mode: ReplicationMode;
  readonly lagSeconds: number | null;
  readonly lagBytes: number | null;
  /**
   * The last replication contact this SOK vouches for (the primary's clock): confirmedAt minus
   * the shipping delay when the lag was known, else the contact of the last record whose lag was
   * known (null: none in this run of SOK). Absent in records of older agents: derived from the lag.
   */
  readonly contactAt?: number | null;
}

/** The leader key: which site is primary, in which epoch (the fencing token). */
export interface LeaderRecord {
  readonly site: string;
  readonly epoch: number;
  /** When this term began. */
  readonly since: number;
}

/** The coordination store as one agent sees it this cycle. */
export type LeaderView =
  | { readonly state: 'held'; readonly leader: LeaderRecord; readonly mine: boolean }
  | { readonly state: 'free'; readonly lastEpoch: number; readonly lastLeader?: string }
  | {
      readonly state: 'unknown';
      readonly error: string;
      /**
       * This agent held the key at its last store read (its lease may still be valid). False when
       * another site held it, nobody did, or the agent never read the store since it started.
       */
      readonly wasMine: boolean;
    };

/** Requests from the operator or a DBA (planned takeover, register, fence), carrying an epoch. */
export type Intent =
  | {
      readonly kind: 'planned-takeover';
      readonly id: string;
      readonly target: string;
      readonly epoch: number;
      readonly force?: boolean;
    }
  | { readonly kind: 'register'; readonly id: string; readonly site: string; readonly epoch: number }
  | { readonly kind: 'fence'; readonly id: string; readonly site: string; readonly epoch: number }
  /**
   * A disaster takeover to `target` (docs/dr.md), written into the DR region's store after the
   * region record that makes it active at `generation` (by: disaster).
   */
  | {
      readonly kind: 'disaster-takeover';
      readonly id: string;
      readonly target: string;
      readonly generation: number;
      readonly epoch: number;
    }
  /** hanasr backup NAME --now: the primary's agent runs a data backup (src/domain/backup.ts). */
  | { readonly kind: 'backup'; readonly id: string; readonly epoch: number };

/**
 * A fence of another site's node through the fence agent (STONITH), as the fencing site's agent
 * recorded it in the store (outlives leases, like sync records): who fenced whom, when, in which
 * term, and the result. Only `confirmed` (the agent's status reported the node off) means the
 * node cannot write.
 */
export interface FenceRecord {
  /** The fenced site (its node). */
  readonly site: string;
  /** The site whose agent fenced it. */
  readonly by: string;
  /** The epoch the fencing agent believed in (the fenced leader's term). */
  readonly epoch: number;
  readonly action: 'off' | 'on';
  readonly result: 'confirmed' | 'failed' | 'timed-out';
  /** Wall times of the fencing host (ms). */
  readonly startedAt: number;
  readonly endedAt: number;
  /** Fence agent calls made (off/on and status polls). */
  readonly calls: number;
  readonly code?: string;
  readonly message: string;
}
