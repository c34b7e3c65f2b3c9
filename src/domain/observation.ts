/**
 * What one agent knows in one cycle: its own site's probe, the coordination store's view, and
 * what it sees of its peers. Rebuilt every cycle (Patroni's immutable cluster snapshot).
 */
import type { SkewEstimate } from './clock-skew.js';
import type { RegionView } from './region.js';
import type {
  FenceRecord,
  HanaHealth,
  Intent,
  LeaderRecord,
  LeaderView,
  Role,
  SiteReport,
  SyncRecord,
} from './types.js';

/** What this agent sees of a peer site directly (not through the store). */
export interface PeerView {
  /** The peer's HANA answered a direct check this cycle. */
  readonly reachable: boolean;
  /** It answered and it is a primary that accepts writes. Unknown counts as false only where that is the safe side. */
  readonly acceptsWrites: boolean;
  /** Its SR role as the direct check saw it, when reachable. */
  readonly role?: 'primary' | 'secondary' | 'none';
  /** For a secondary: the site it replicates from. */
  readonly source?: string;
  /** Its HANA runs, as the check saw it (absent: not known). */
  readonly running?: boolean;
  /** The peer's clock reading in its answer (ms), when it sent one: for the skew estimate. */
  readonly clock?: number;
  /**
   * Not answered within the cycle's wait (the probe interval, when shorter than the timeout) and
   * still running: counted unreachable, and no takeover from this peer rests on it.
   */
  readonly pending?: true;
}

export interface LocalView {
  readonly health: HanaHealth;
  /** Consecutive failed probes (a probe that failed or found the instance not running). */
  readonly failedProbes: number;
  /** Local start attempts since the site was last healthy. */
  readonly localRestarts: number;
  /** The agent fenced this site and has not undone it. */
  readonly fenced: boolean;
  /** The last time this site was seen accepting writes (ms), or null. */
  readonly lastWritableAt: number | null;
  /** Since when this site is known to take no writes (sync-trust.ts); null or absent: not known. */
  readonly notWritableSince?: number | null;
  /** The role this site had at the agent's last readable probe; absent: none since the agent started. */
  readonly lastKnownRole?: Role;
  /** The last time a readable probe found this site down (SiteReport.downSeenAt); null or absent: not seen. */
  readonly downSeenAt?: number | null;
  /**
   * The newest epoch at which this agent read the leader key as its own (memory: absent after
   * the agent restarts, and absent counts as "not known").
   */
  readonly ledEpoch?: number;
  /**
   * A start of this site's primary was seen (sync.ts primaryStartSeen: a DBA's start after a
   * crash, say) and its secondaries are not recorded SFAIL for it yet. Absent: false.
   */
  readonly startUnrecorded?: boolean;
  /**
   * The current leader may still believe maintenance is on: this agent has seen maintenance on and
   * no live report of a leader taken outside maintenance since (an agent that starts knows only the
   * spec it reads then). Such a leader
   * does not fence itself, so its key running out proves nothing. Absent: false.
   */
  readonly leaderMayBeInMaintenance?: boolean;
}

export interface Observation {
  readonly self: string;
  readonly local: LocalView;
  readonly leader: LeaderView;
  /**
   * How long ago this agent's lease was last confirmed by the store (ms, on the agent's monotonic
   * clock: a wall-clock jump does not move it), or null without a lease.
   */
  readonly leaseAgeMs: number | null;
  /** Live reports of the other agents (absent: that agent is silent or its lease expired). */
  readonly reports: Readonly<Record<string, SiteReport>>;
  /** Direct checks of the other sites. Absent: not checked, which counts as unreachable. */
  readonly peers: Readonly<Record<string, PeerView>>;
  /** Last known SOK/SFAIL per secondary (outlives leases). */
  readonly sync: Readonly<Record<string, SyncRecord>>;
  /** Last-primary timestamps (ms) per site. */
  readonly lpt: Readonly<Record<string, number>>;
  /**
   * Per site, the newest epoch in which it was stamped primary (ClusterState.lpe: its agent led
   * that term and saw it take writes). Absent, or absent for a site: not known.
   */
  readonly lpe?: Readonly<Record<string, number>>;
  /** This agent's last measurement of each peer's clock (absent: never measured). */
  readonly clockSkew?: Readonly<Record<string, SkewEstimate>>;
  /** A leader that stepped down for a planned takeover names its successor here. */
  readonly handoverTo?: string;
  readonly intents: readonly Intent[];
  /**
   * This site's watchdog under the spec (src/domain/fencing.ts watchdogVerdict); absent: not
   * probed (no watchdog port), which decides nothing.
   */
  readonly watchdog?: { readonly mayLead: boolean; readonly message: string };
  /** The last fence of each site's node by another site's agent (outlives leases). */
  readonly fences?: Readonly<Record<string, FenceRecord>>;
  /**
   * The leader (another site) looks lost: for `cycles` consecutive cycles of this agent its
   * report did not change and the direct check of its site got no answer, and `silentMs` is how
   * long that has lasted at least, on this agent's monotonic clock (from the end of the store read
   * that first saw the report unchanged, or of the last check its node answered, to the start of
   * this cycle's read): never a difference of two hosts' clocks.
   */
  readonly leaderSilence?: { readonly site: string; readonly cycles: number; readonly silentMs: number };
  /** The region records as this agent read them (docs/dr.md); absent: the agent reads none. */
  readonly region?: RegionView;
  /**
   * The site whose node this agent is fencing now, in the background (its outcome not recorded
   * yet): while it runs the lease rule stays in force, as after a fence that failed, once that
   * node has been silent for lease.ttlSeconds (peerSilentMs).
   */
  readonly fencingNode?: string;
  /**
   * For each peer whose latest direct check went unanswered: how long it has been silent, in ms on
   * this agent's monotonic clock, from its last answer to any direct check (or, when it has not
   * answered since this agent started, from the start of the first unanswered check) to the
   * start of this decision (src/domain/peer-silence.ts peerSilentMs). Absent for a peer: it
   * answered its latest check, or nothing measured it; both count as not silent.
   */
  readonly peerSilentMs?: Readonly<Record<string, number>>;
}

/** What the coordination store holds about a cluster, as far as an observation needs it. */
export interface PublishedState {
  readonly leader: LeaderRecord | null;
  readonly lastEpoch: number;
  readonly lastLeader?: string;
  readonly handoverTo?: string;
  readonly reports: Readonly<Record<string, SiteReport>>;
  readonly sync: Readonly<Record<string, SyncRecord>>;
  readonly lpt: Readonly<Record<string, number>>;
  readonly lpe?: Readonly<Record<string, number>>;
  readonly intents: readonly Intent[];
  readonly fences?: Readonly<Record<string, FenceRecord>>;
}

/** The leader key as `self` sees it in a store read. */
export function leaderViewOf(state: PublishedState, self: string): LeaderView {
  return state.leader
    ? { state: 'held', leader: state.leader, mine: state.leader.site === self }
    : {
        state: 'free',
        lastEpoch: state.lastEpoch,
        ...(state.lastLeader !== undefined ? { lastLeader: state.lastLeader } : {}),
      };
}

/**
 * The observation of one cycle, built from what the agent knows: one rule for the agent itself
 * and for `hanasr explain`, which rebuilds it from the agent's published report.
 */
export function buildObservation(input: {
  readonly self: string;
  readonly local: LocalView;
  readonly leader: LeaderView;
  /** Age of the last confirmed lease renewal (ms, the agent's monotonic clock), or null. */
  readonly leaseAgeMs: number | null;
  /** The store read of this cycle; null when the store could not be read. */
  readonly state: PublishedState | null;
  readonly peers: Readonly<Record<string, PeerView>>;
  /** The agent's last measurement of each peer's clock. */
  readonly clockSkew?: Readonly<Record<string, SkewEstimate>>;
  readonly watchdog?: Observation['watchdog'];
  readonly leaderSilence?: Observation['leaderSilence'];
  readonly region?: RegionView;
  readonly fencingNode?: string;
  readonly peerSilentMs?: Observation['peerSilentMs'];
}): Observation {
  const { state } = input;
  // Copied key by key rather than spread and `delete`d (every cycle): the same keys in the same order.
  const reports: Record<string, SiteReport> = {};
  const published = state?.reports ?? {};
  for (const site of Object.keys(published)) if (site !== input.self) reports[site] = published[site]!;
  return {
    self: input.self,
    local: input.local,
    leader: input.leader,
    leaseAgeMs: input.leaseAgeMs,
    reports,
    peers: input.peers,
    sync: state?.sync ?? {},
    lpt: state?.lpt ?? {},
    ...(state?.lpe !== undefined ? { lpe: state.lpe } : {}),
    ...(input.clockSkew !== undefined ? { clockSkew: input.clockSkew } : {}),
    ...(state?.handoverTo !== undefined ? { handoverTo: state.handoverTo } : {}),
    intents: state?.intents ?? [],
    ...(input.watchdog !== undefined ? { watchdog: input.watchdog } : {}),
    ...(state?.fences !== undefined ? { fences: state.fences } : {}),
    ...(input.leaderSilence !== undefined ? { leaderSilence: input.leaderSilence } : {}),
    ...(input.region !== undefined ? { region: input.region } : {}),
    ...(input.fencingNode !== undefined ? { fencingNode: input.fencingNode } : {}),
    ...(input.peerSilentMs !== undefined ? { peerSilentMs: input.peerSilentMs } : {}),
  };
}

/**
 * The agent's local view as its report publishes it (for `hanasr explain`). Fields an older agent
 * did not publish are taken on the cautious side: no local restarts counted.
 */
export function localViewOf(report: SiteReport): LocalView {
  return {
    health: report.health,
    failedProbes: report.failedProbes,
    localRestarts: report.localRestarts ?? 0,
    fenced: report.fenced,
    lastWritableAt: report.lastWritableAt,
    notWritableSince: report.notWritableSince ?? null,
    ...(report.lastKnownRole !== undefined ? { lastKnownRole: report.lastKnownRole } : {}),
    downSeenAt: report.downSeenAt ?? null,
  };
}
