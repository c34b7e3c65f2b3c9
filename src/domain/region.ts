// Why this file is long: every region rule in one pure place (which region may run the primary, adoption of a newer generation, disaster takeover, the planned switchover and its abort), each with its reason and message.
/**
 * Regions (docs/dr.md): which region may run the primary, and what the sites of the other region
 * do. Pure: the agent reads the stores (its own region's and, with a short deadline, the other
 * region's) and passes what it found in as a RegionView.
 *
 * Rules (each has tests that try to break it, test/domain/region.test.ts):
 * - Terms of two regions are ordered by the region generation: the region record of each store
 *   says which region is active in which generation; the higher generation wins.
 * - Only the active region leads: a site elsewhere never takes the leader key, takes over,
 *   promotes or starts as primary, and a primary there stops.
 * - An agent that has not read the other region's record since it started never starts a term
 *   (a returning region whose store still says it is active, even with a leader key whose lease
 *   looks valid, must first hear of the other region's generation).
 * - Links across regions are async; a DR site whose source is gone follows the active primary.
 */
import type { HanaSystemReplicationSpec, ReplicationMode } from '../api/spec.js';
import type { Decision } from './decision.js';
import { NONE } from './decision.js';
import type { Observation } from './observation.js';
import type { HanaHealth, LogPosition, SyncRecord } from './types.js';

/** What wrote a region record. */
export type RegionRecordBy = 'bootstrap' | 'switchover' | 'disaster' | 'adopted';

/** The data a disaster takeover can lose, as known when it was decided (status, history). */
export interface DataLossEstimate {
  /** The DR site to be promoted. */
  readonly site: string;
  /** The DR link's shipping delay at the last report (null: unknown). */
  readonly lagSeconds: number | null;
  /** Unshipped log at the last report (bytes; null: unknown). */
  readonly lagBytes: number | null;
  /** When the old primary's agent confirmed that report (its clock, ms), or null: no report. */
  readonly reportedAt: number | null;
  /** The report's age on the reader's clock, less and plus the clock-skew bound (s). */
  readonly reportAgeSeconds: { readonly min: number; readonly max: number } | null;
  /** One human sentence. */
  readonly message: string;
}

/** The region record of one store: which region may run the primary, in which generation. */
export interface RegionRecord {
  readonly generation: number;
  /** The region that may lead in this generation. */
  readonly active: string;
  /** When it was written (the writer's clock, ms). */
  readonly since: number;
  readonly by: RegionRecordBy;
  /**
   * A planned switchover's demotion token: the term the old region gave up (and, at the handover,
   * the log position the new primary holds, equal to the old primary's last one).
   */
  readonly token?: {
    readonly fromSite: string;
    readonly epoch: number;
    readonly generation: number;
    /** The switchover's target site (the drained link's secondary). */
    readonly toSite?: string;
    /**
     * The old primary's last log position: recorded by its agent after it stopped, from its last
     * two probes before the stop (docs/dr.md); the highest volume's, per volume in `positions`.
     */
    readonly logPosition?: number;
    readonly positions?: Readonly<Record<string, number>>;
  };
  /**
   * A planned switchover's first write (docs/dr.md): the old region has given up, the new one may
   * not lead yet. Nobody leads under such a record; the old primary stops (no more writes) and the
   * handover (or the abort) writes the next generation.
   */
  readonly draining?: boolean;
  /** A disaster takeover's expected data loss. */
  readonly loss?: DataLossEstimate;
}

/** What an agent knows of another region's store. */
export interface PeerRegionView {
  readonly region: string;
  /** The last read of that store succeeded (this cycle or within the link's deadline). */
  readonly reachable: boolean;
  /** Its region record at the last successful read (null: none there, or never read). */
  readonly record: RegionRecord | null;
  /** The site holding that store's leader key at the last read (null: none, or never read). */
  readonly leader: string | null;
}

/** The region view of one agent in one cycle. */
export interface RegionView {
  /** This agent's region. */
  readonly region: string;
  /** Its own store's region record (null: none written yet). */
  readonly own: RegionRecord | null;
  readonly peers: readonly PeerRegionView[];
  /** Every other region's store was read at least once since this agent started. */
  readonly confirmed: boolean;
}

export function regionNames(spec: HanaSystemReplicationSpec): string[] {
  const out: string[] = [];
  for (const s of spec.sites) if (s.region !== undefined && !out.includes(s.region)) out.push(s.region);
  return out;
}

export function isMultiRegion(spec: HanaSystemReplicationSpec): boolean {
  return regionNames(spec).length > 1;
}

export function regionOf(spec: HanaSystemReplicationSpec, site: string): string | undefined {
  return spec.sites.find((s) => s.name === site)?.region;
}

/** The replication mode of the link source -> secondary: async across regions. */
export function linkReplicationMode(
  spec: HanaSystemReplicationSpec,
  secondary: string,
  source: string,
): ReplicationMode {
  const a = regionOf(spec, secondary);
  const b = regionOf(spec, source);
  return a !== undefined && b !== undefined && a !== b ? 'async' : spec.replication.mode;
}

/** The newest record among the own store and the readable peers (ties: the own store's). */
export function newestRecord(view: RegionView): RegionRecord | null {
  let best = view.own;
  for (const p of view.peers) {
    if (p.record !== null && (best === null || p.record.generation > best.generation)) best = p.record;
  }
  return best;
}

export type RegionVerdict =
  | { readonly mayLead: true; readonly reason: 'single_region' | 'region_active'; readonly message: string }
  | {
      readonly mayLead: false;
      readonly reason:
        | 'region_view_missing'
        | 'region_uninitialised'
        | 'region_unconfirmed'
        | 'region_generation_behind'
        | 'region_generation_conflict'
        | 'region_not_active'
        | 'region_switchover_draining';
      /** This region is known not to be the active one (the rest: not known to be). */
      readonly notActive: boolean;
      readonly message: string;
    };

/** May `self` start a term (lead) as far as regions go? */
export function regionVerdict(
  spec: HanaSystemReplicationSpec,
  self: string,
  view: RegionView | undefined,
): RegionVerdict {
  if (!isMultiRegion(spec)) return { mayLead: true, reason: 'single_region', message: 'one region' };
  const mine = regionOf(spec, self);
  if (view === undefined || mine === undefined || view.region !== mine) {
    return {
      mayLead: false,
      reason: 'region_view_missing',
      notActive: false,
      message: `${self} has no view of the region records (the agent reads no region store): it does not lead`,
    };
  }
  const newest = newestRecord(view);
  if (view.own !== null && newest !== null && newest.generation > view.own.generation) {
    return {
      mayLead: false,
      reason: 'region_generation_behind',
      notActive: newest.active !== mine,
      message: `region ${newest.active} is active at generation ${newest.generation}, ${mine}'s store still says generation ${view.own.generation}: ${self} does not lead until ${mine} has adopted it`,
    };
  }
  const rival = view.peers.find(
    (p) =>
      p.record !== null &&
      newest !== null &&
      p.record.generation === newest.generation &&
      p.record.active !== newest.active,
  );
  if (rival !== undefined && newest !== null) {
    return {
      mayLead: false,
      reason: 'region_generation_conflict',
      notActive: false,
      message: `the region records disagree: generation ${newest.generation} names ${newest.active} in one store and ${rival.record?.active ?? '?'} in ${rival.region}'s (two disaster takeovers during a partition?): no site leads until a DBA resolves it`,
    };
  }
  if (newest !== null && newest.active !== mine) {
    return {
      mayLead: false,
      reason: 'region_not_active',
      notActive: true,
      message: `region ${newest.active} is active at generation ${newest.generation} (${newest.by}): ${self} in ${mine} never leads`,
    };
  }
  if (newest !== null && newest.draining === true) {
    return {
      mayLead: false,
      reason: 'region_switchover_draining',
      notActive: false,
      message: `a planned switchover to ${newest.active} drains at generation ${newest.generation} (the old primary ${newest.token?.fromSite ?? '?'} stops): ${self} does not lead until the handover`,
    };
  }
  if (view.own === null) {
    return {
      mayLead: false,
      reason: 'region_uninitialised',
      notActive: false,
      message: `no region record in ${mine}'s store yet: ${self} does not lead until one names ${mine} active`,
    };
  }
  // A disaster takeover to this region is the DBA's statement that the other region is lost: it
  // stands in for reading it (the agent may have restarted since, with the other region still gone).
  if (!view.confirmed && view.own.by !== 'disaster') {
    const unread = view.peers.filter((p) => !p.reachable).map((p) => p.region);
    return {
      mayLead: false,
      reason: 'region_unconfirmed',
      notActive: false,
      message: `${self}'s agent has not read the region record of ${unread.join(', ') || 'the other region'} since it started: it starts no term until it has (a returning region must first hear of a newer generation)`,
    };
  }
  return {
    mayLead: true,
    reason: 'region_active',
    message: `${mine} is the active region at generation ${view.own.generation}`,
  };
}

/**
 * The record the agent should write into its own store before deciding: the other region's
 * newer record (adopted), or the first record (bootstrap) when no store holds one, every other
 * region was read, and this site runs as the primary. Null: nothing to write.
 */
export function regionRecordToWrite(
  spec: HanaSystemReplicationSpec,
  self: string,
  view: RegionView,
  health: HanaHealth,
  now: number,
): RegionRecord | null {
  if (!isMultiRegion(spec)) return null;
  const newest = newestRecord(view);
  if (newest !== null && (view.own === null || newest.generation > view.own.generation)) {
    return { ...newest, by: 'adopted' };
  }
  const mine = regionOf(spec, self);
  const everyPeerRead = view.peers.every((p) => p.reachable);
  if (
    newest === null &&
    mine !== undefined &&
    view.confirmed &&
    everyPeerRead &&
    health.probeOk &&
    health.srRole === 'primary' &&
    health.acceptsWrites
  ) {
    return { generation: 1, active: mine, since: now, by: 'bootstrap' };
  }
  return null;
}

/**
 * What a disaster takeover to `site` may lose, from the last sync record the DR region saw of
 * its link (the old primary's clock) and the reader's clock, with the skew bound.
 */
export function estimateDataLoss(
  spec: HanaSystemReplicationSpec,
  site: string,
  record: SyncRecord | undefined,
  now: number,
): DataLossEstimate {
  if (record === undefined) {
    return {
      site,
      lagSeconds: null,
      lagBytes: null,
      reportedAt: null,
      reportAgeSeconds: null,
      message: `no report of ${site}'s replication was ever seen: the data loss is unknown (everything since ${site} last caught up)`,
    };
  }
  const skew = spec.clock.maxSkewSeconds;
  const age = (now - record.confirmedAt) / 1000;
  const min = Math.max(0, Math.round((age - skew) * 10) / 10);
  const max = Math.round((age + skew) * 10) / 10;
  const lag = record.lagSeconds === null ? 'unknown' : `${record.lagSeconds} s`;
  const bytes = record.lagBytes === null ? 'unknown' : `${record.lagBytes} bytes`;
  return {
    site,
    lagSeconds: record.lagSeconds,
    lagBytes: record.lagBytes,
    reportedAt: record.confirmedAt,
    reportAgeSeconds: { min, max },
    message: `${site} was ${lag} (${bytes}) behind at the last report, ${min}-${max} s ago (clock skew bound ${skew} s): that much is lost, plus whatever the old primary committed after the report`,
  };
}

/** Actions that begin or continue a term as primary, or clear the way for one. */
function startsTerm(d: Decision, h: HanaHealth): boolean {
  switch (d.action.kind) {
    case 'acquire-leader':
    case 'takeover':
    case 'promote':
    case 'fence-node':
      return true;
    case 'start-local':
      return h.srRole !== 'secondary';
    default:
      return false;
  }
}

const none = (reason: string, message: string): Decision => ({ action: NONE, reason, message });

/**
 * The region rules that come before every other (decide() asks them first): a site outside the
 * active region stops a primary, gives up the key, registers with the active primary or waits;
 * a disaster takeover request is carried out in the active region. Null: the usual rules decide.
 */
export function decideRegion(
  obs: Observation,
  spec: HanaSystemReplicationSpec,
  now: number,
  mayBeWriting: (h: HanaHealth) => boolean,
): Decision | null {
  if (!isMultiRegion(spec)) return null;
  const verdict = regionVerdict(spec, obs.self, obs.region);
  const h = obs.local.health;
  const epoch =
    obs.leader.state === 'held'
      ? obs.leader.leader.epoch
      : obs.leader.state === 'free'
        ? obs.leader.lastEpoch
        : 0;
  if (!verdict.mayLead && verdict.notActive) {
    const drain = obs.region === undefined ? null : newestRecord(obs.region);
    const token = drain?.draining === true ? drain.token : undefined;
    if (
      drain !== null &&
      token !== undefined &&
      token.fromSite === obs.self &&
      token.toSite !== undefined &&
      token.logPosition === undefined &&
      h.srRole === 'primary' &&
      mayBeWriting(h)
    ) {
      return {
        action: { kind: 'demote-region', epoch, generation: drain.generation, target: token.toSite },
        reason: 'region_switchover_demote',
        message: `a planned switchover to ${token.toSite} drains at generation ${drain.generation}: ${obs.self} waits until its log stands still and is shipped to ${token.toSite}, then stops and records its last log position`,
      };
    }
    if (h.srRole === 'primary' && mayBeWriting(h)) {
      return {
        action: { kind: 'fence', epoch, mode: 'stop' },
        reason: 'region_not_active_stop_primary',
        message: `${verdict.message}: stopping the primary ${obs.self}`,
      };
    }
    if (obs.leader.state === 'held' && obs.leader.mine) {
      return {
        action: { kind: 'step-down', epoch, fence: 'stop' },
        reason: 'region_not_active_release_key',
        message: `${verdict.message}: giving up the leader key of ${obs.self}`,
      };
    }
    return decideOutsideActiveRegion(obs, spec, epoch, verdict.message);
  }
  if (verdict.mayLead) {
    const disaster = obs.intents.find((i) => i.kind === 'disaster-takeover' && i.target === obs.self);
    if (disaster !== undefined && disaster.kind === 'disaster-takeover') {
      return decideDisasterTakeover(obs, spec, now, disaster, epoch);
    }
  }
  return null;
}

/** The active region's primary, as far as this agent can tell (the other store's key holder). */
function activePrimary(obs: Observation): string | null {
  const active = obs.region === undefined ? undefined : newestRecord(obs.region)?.active;
  const peer = obs.region?.peers.find((p) => p.region === active && p.reachable);
  return peer?.leader ?? null;
}

function decideOutsideActiveRegion(
  obs: Observation,
  spec: HanaSystemReplicationSpec,
  epoch: number,
  why: string,
): Decision {
  const h = obs.local.health;
  const primary = activePrimary(obs);
  const primaryWritable = primary !== null && obs.peers[primary]?.acceptsWrites === true;
  const requested = obs.intents.find((i) => i.kind === 'register' && i.site === obs.self);
  if (h.srRole === 'secondary' || (h.probeOk && h.srRole !== 'primary' && h.running)) {
    if (!h.running) {
      const starting = Object.values(h.processes).includes('YELLOW');
      if (starting || !h.probeOk)
        return none('region_secondary_starting', `${why}; secondary ${obs.self} is not running yet`);
      return {
        action: { kind: 'start-local', epoch, restart: false },
        reason: 'region_secondary_down_restart',
        message: `${why}; secondary ${obs.self} is not running: starting it`,
      };
    }
    const me = spec.sites.find((s) => s.name === obs.self);
    const configured = me?.source;
    const sourceRunning = (site: string) => {
      const p = obs.peers[site];
      return p?.reachable === true && (p.acceptsWrites || p.role === 'secondary');
    };
    const intended =
      configured !== undefined && sourceRunning(configured) ? configured : primaryWritable ? primary : null;
    // Multitarget (no configured source): the DR site belongs on the active primary. Its old source,
    // back as a secondary of the new primary after an in-region takeover (it may be up again before
    // this agent ever saw it stopped), would leave it a tier-3 of a chain the spec does not describe,
    // and a region switchover hands over only from the primary's own secondary.
    const sourcePeer = h.source === undefined ? undefined : obs.peers[h.source];
    const demotedSource =
      configured === undefined &&
      intended === primary &&
      sourcePeer?.reachable === true &&
      sourcePeer.role === 'secondary' &&
      !sourcePeer.acceptsWrites;
    if (
      h.source !== undefined &&
      intended !== null &&
      h.source !== intended &&
      (!sourceRunning(h.source) || demotedSource)
    ) {
      const gone = demotedSource
        ? `${h.source}, now a secondary itself`
        : `${h.source}, which no longer runs`;
      if (spec.takeover.automatedRegister || requested !== undefined) {
        return {
          action: {
            kind: 'register',
            epoch,
            primary: intended,
            online: true,
            ...(requested ? { intentId: requested.id } : {}),
          },
          reason: 'dr_reregister_to_new_source',
          message: `secondary ${obs.self} replicates from ${gone}: registering it with ${intended} (online)`,
        };
      }
      return none(
        'dr_secondary_of_old_source',
        `secondary ${obs.self} replicates from ${gone}: register it with ${intended} (automatedRegister is off)`,
      );
    }
    return none('region_secondary', `${why}; ${obs.self} is a secondary`);
  }
  // A stopped (former) primary, or a site whose role is unknown: never started as primary.
  if (primary === null || !primaryWritable) {
    return none(
      'region_waiting_for_active_primary',
      `${why}; ${obs.self} stays stopped until the active region's primary is seen writable`,
    );
  }
  if (requested !== undefined || spec.takeover.automatedRegister) {
    return {
      action: {
        kind: 'register',
        epoch,
        primary,
        ...(requested ? { intentId: requested.id } : {}),
      },
      reason: requested ? 'register_requested' : 'region_returned_register',
      message: `${why}; registering former primary ${obs.self} as secondary of ${primary}`,
    };
  }
  return none(
    'region_returned_waiting_for_registration',
    `${why}; former primary ${obs.self} stays stopped: automatedRegister is off, register it as secondary of ${primary}`,
  );
}

function decideDisasterTakeover(
  obs: Observation,
  spec: HanaSystemReplicationSpec,
  now: number,
  intent: { readonly id: string; readonly target: string; readonly generation: number },
  epoch: number,
): Decision {
  const own = obs.region?.own;
  const planned = own?.by === 'switchover' && own.draining !== true;
  if (
    own === null ||
    own === undefined ||
    own.generation !== intent.generation ||
    (own.by !== 'disaster' && !planned)
  ) {
    return {
      action: { kind: 'refuse-intent', epoch, intentId: intent.id },
      reason: 'stale_generation',
      message: `disaster takeover to ${obs.self} carries generation ${intent.generation}, the region record is at ${own?.generation ?? 'none'}: refused`,
    };
  }
  const h = obs.local.health;
  if (obs.leader.state === 'held') {
    return {
      action: { kind: 'refuse-intent', epoch, intentId: intent.id },
      reason: obs.leader.mine ? 'already_primary' : 'leader_in_region',
      message: `disaster takeover to ${obs.self}: ${obs.leader.leader.site} already holds the leader key of this region`,
    };
  }
  if (obs.leader.state !== 'free') {
    return none(
      'coordination_unreachable',
      `disaster takeover to ${obs.self} waits: this region's store cannot be read`,
    );
  }
  if (!(h.probeOk && h.running && h.srRole === 'secondary')) {
    return none(
      'disaster_target_not_ready',
      `disaster takeover to ${obs.self} waits: it is not a running secondary (${h.probeError ?? h.srRole})`,
    );
  }
  // A planned switchover's handover: the old primary stopped and this site holds its last log
  // position (the orchestrator checked it before writing this generation): no fence, no loss.
  if (planned) {
    return {
      action: {
        kind: 'takeover',
        expectedLastEpoch: epoch,
        handshake: false,
        from: null,
        planned: true,
        intentId: intent.id,
      },
      reason: 'region_switchover_takeover',
      message: `planned region switchover: ${obs.self} takes over in region ${own.active} at generation ${own.generation} (epoch ${epoch + 1}; ${own.token?.fromSite ?? 'the old primary'} stopped at log position ${own.token?.logPosition ?? '?'}, which ${obs.self} holds)`,
    };
  }
  // Fence what the fence agent reaches: each site of the other regions, once in this generation.
  if (spec.fencing.agent !== undefined) {
    const skewMs = spec.clock.maxSkewSeconds * 1000;
    for (const s of spec.sites) {
      if (s.region === undefined || s.region === obs.region?.region) continue;
      const f = obs.fences?.[s.name];
      const tried = f !== undefined && f.action === 'off' && f.endedAt + skewMs >= own.since;
      if (!tried) {
        return {
          action: { kind: 'fence-node', epoch, site: s.name },
          reason: 'disaster_fence_old_region',
          message: `disaster takeover to ${obs.self}: powering ${s.name} (region ${s.region}) off through the fence agent first, where it reaches`,
        };
      }
    }
  }
  const fenced = spec.sites
    .filter((s) => s.region !== obs.region?.region)
    .map((s) => `${s.name}: ${obs.fences?.[s.name]?.result ?? 'no fence agent'}`)
    .join(', ');
  void now;
  return {
    action: {
      kind: 'takeover',
      expectedLastEpoch: epoch,
      handshake: false,
      from: null,
      planned: false,
      intentId: intent.id,
    },
    reason: 'disaster_takeover',
    message: `disaster takeover: ${obs.self} takes over in region ${own.active} at generation ${own.generation} (epoch ${epoch + 1}; old region fenced: ${fenced || 'none'}; ${own.loss?.message ?? 'data loss unknown'})`,
  };
}

/**
 * The gate every decision passes (decide() applies it last): an action that starts a term is
 * turned into waiting when regions forbid this site to lead.
 */
export function gateByRegion(d: Decision, obs: Observation, spec: HanaSystemReplicationSpec): Decision {
  if (!startsTerm(d, obs.local.health)) return d;
  const verdict = regionVerdict(spec, obs.self, obs.region);
  if (verdict.mayLead) return d;
  return none(verdict.reason, `${verdict.message} (would have: ${d.message})`);
}

/** What a disaster takeover request finds (the DR region's store, read by the CLI or the operator). */
export interface DisasterTakeoverInput {
  /** The target's region store: its record, the mirrored DR link records, its last epoch. */
  readonly own: {
    readonly region?: RegionRecord;
    readonly regionSync?: Readonly<Record<string, SyncRecord>>;
    readonly lastEpoch: number;
    readonly leader: { readonly site: string } | null;
  };
  /** The active region's store could be read just now (then a planned switchover is the way). */
  readonly activeRegionReachable: boolean;
  /** The typed confirmation: must equal the cluster's name. */
  readonly confirm: string | undefined;
  readonly clusterName: string;
  readonly now: number;
  readonly id: string;
}

export type DisasterTakeoverPlan =
  | {
      readonly ok: false;
      readonly reason: string;
      readonly message: string;
      readonly loss?: DataLossEstimate;
    }
  | {
      readonly ok: true;
      readonly loss: DataLossEstimate;
      /** Written first, compare-and-set on the current generation. */
      readonly record: RegionRecord;
      readonly expectedGeneration: number | null;
      /** Written second: the target's agent carries it out. */
      readonly intent: Extract<import('./types.js').Intent, { kind: 'disaster-takeover' }>;
    };

/**
 * The checks and the writes of `hanasr takeover NAME --to SITE --disaster`, in one pure rule for
 * the CLI, the operator's annotation and the simulator: refused while the active region answers,
 * for a site in the active region, or without the typed confirmation; the expected data loss is
 * in every answer that gets that far.
 */
export function planDisasterTakeover(
  spec: HanaSystemReplicationSpec,
  target: string,
  input: DisasterTakeoverInput,
): DisasterTakeoverPlan {
  const region = regionOf(spec, target);
  if (!isMultiRegion(spec) || region === undefined) {
    return {
      ok: false,
      reason: 'not_multi_region',
      message: `${target}: a disaster takeover needs sites in two regions (sites[].region)`,
    };
  }
  const current = input.own.region;
  if (current === undefined) {
    return {
      ok: false,
      reason: 'no_region_record',
      message: `region ${region}'s store holds no region record: it never read the active region's, so the generation to supersede is unknown`,
    };
  }
  if (current.active === region) {
    return {
      ok: false,
      reason: 'region_already_active',
      message: `region ${region} is already active at generation ${current.generation}: use a takeover inside it`,
    };
  }
  if (input.own.leader !== null) {
    return {
      ok: false,
      reason: 'leader_in_region',
      message: `${input.own.leader.site} holds the leader key in region ${region}: nothing to take over`,
    };
  }
  const loss = estimateDataLoss(spec, target, input.own.regionSync?.[target], input.now);
  if (input.activeRegionReachable) {
    return {
      ok: false,
      reason: 'active_region_reachable',
      message: `the active region ${current.active} answers: use a planned region switchover (lossless), not --disaster`,
      loss,
    };
  }
  if (input.confirm !== input.clusterName) {
    return {
      ok: false,
      reason: 'not_confirmed',
      message: `a disaster takeover needs the typed confirmation of the name ${input.clusterName}; expected data loss: ${loss.message}`,
      loss,
    };
  }
  const generation = current.generation + 1;
  return {
    ok: true,
    loss,
    record: { generation, active: region, since: input.now, by: 'disaster', loss },
    expectedGeneration: current.generation,
    intent: { kind: 'disaster-takeover', id: input.id, target, generation, epoch: input.own.lastEpoch },
  };
}

/** What a planned region switchover request finds (both regions' stores, read just now). */
export interface RegionSwitchoverInput {
  /** The active region's store: its record, its leader key and last epoch. */
  readonly active: {
    readonly region?: RegionRecord;
    readonly leader: { readonly site: string; readonly epoch: number } | null;
    readonly lastEpoch: number;
  } | null;
  /** The target's region store could be read just now. */
  readonly targetRegionReachable: boolean;
  /** The active primary reports the replication into the target ACTIVE. */
  readonly linkActive: boolean;
  /** The generation and epoch the requester saw (refused when the stores moved on). */
  readonly expectedGeneration?: number;
  readonly expectedEpoch?: number;
  readonly now: number;
}

export type RegionSwitchoverPlan =
  | { readonly ok: false; readonly reason: string; readonly message: string }
  | {
      readonly ok: true;
      /** Written into the active region's store, compare-and-set on `expectedGeneration`. */
      readonly drain: RegionRecord;
      readonly expectedGeneration: number;
      readonly fromSite: string;
      readonly message: string;
    };

/**
 * The checks and the first write of a planned region switchover to `target` (docs/dr.md): both
 * regions answer, the active region has a primary holding the key, the link into the target is
 * ACTIVE, nothing is in maintenance, and the generation and epoch the requester saw still hold.
 * The first write (draining) makes the old region give up (its primary stops: no more writes) and
 * lets nobody lead until the handover.
 */
export function planRegionSwitchover(
  spec: HanaSystemReplicationSpec,
  target: string,
  input: RegionSwitchoverInput,
): RegionSwitchoverPlan {
  const region = regionOf(spec, target);
  const refuse = (reason: string, message: string): RegionSwitchoverPlan => ({ ok: false, reason, message });
  if (!isMultiRegion(spec) || region === undefined)
    return refuse(
      'not_multi_region',
      `${target}: a region switchover needs sites in two regions (sites[].region)`,
    );
  if (spec.maintenance) return refuse('maintenance', 'the cluster is in maintenance: nothing is done');
  if (input.active === null)
    return refuse(
      'active_region_unreachable',
      "the active region's store does not answer: a planned switchover needs both regions (a lost region: --disaster)",
    );
  const current = input.active.region;
  if (current === undefined)
    return refuse('no_region_record', 'no region record yet: the generation to supersede is unknown');
  if (current.draining === true)
    return refuse(
      'switchover_in_progress',
      `a switchover to ${current.active} is already draining at generation ${current.generation}`,
    );
  if (current.active === region)
    return refuse(
      'region_already_active',
      `region ${region} is already active at generation ${current.generation}: use a takeover inside it`,
    );
  if (!input.targetRegionReachable)
    return refuse(
      'target_region_unreachable',
      `region ${region}'s store does not answer: the switchover would leave nobody leading`,
    );
  if (input.expectedGeneration !== undefined && input.expectedGeneration !== current.generation)
    return refuse(
      'stale_generation',
      `the request saw generation ${input.expectedGeneration}, the active region's record is at ${current.generation}: read again`,
    );
  const leader = input.active.leader;
  if (leader === null)
    return refuse(
      'no_primary',
      `region ${current.active} has no primary holding the leader key: nothing to hand over`,
    );
  if (input.expectedEpoch !== undefined && input.expectedEpoch !== leader.epoch)
    return refuse(
      'stale_epoch',
      `the request saw epoch ${input.expectedEpoch}, the leader ${leader.site} is at epoch ${leader.epoch}: read again`,
    );
  if (!input.linkActive)
    return refuse(
      'dr_link_not_active',
      `the replication from ${leader.site} into ${target} is not ACTIVE: ${target} could not catch up`,
    );
  return {
    ok: true,
    drain: {
      generation: current.generation + 1,
      active: region,
      since: input.now,
      by: 'switchover',
      draining: true,
      token: { fromSite: leader.site, epoch: leader.epoch, generation: current.generation, toSite: target },
    },
    expectedGeneration: current.generation,
    fromSite: leader.site,
    message: `switchover to ${target}: region ${current.active} gives up at generation ${current.generation + 1}; ${leader.site} stops, then ${target} takes over once it holds ${leader.site}'s last log position`,
  };
}

/**
 * The second write of a planned switchover, once the old primary stopped: when the target holds
 * exactly the old primary's last log position, the target's region becomes active (handover);
 * otherwise (not caught up by the deadline, the link dropped) the old region becomes active again
 * (abort): a site that was not caught up is never promoted.
 */
export function regionSwitchoverNext(
  spec: HanaSystemReplicationSpec,
  drain: RegionRecord,
  target: string,
  input: {
    /** The old primary's last log position (it is stopped), or null: not known yet. */
    readonly finalPosition: number | null;
    /** The target's log position now, or null: unknown. */
    readonly targetPosition: number | null;
    readonly deadlinePassed: boolean;
    /** The last epoch of the target region's store (the intent carries it). */
    readonly targetLastEpoch: number;
    readonly now: number;
    readonly id: string;
  },
):
  | { readonly kind: 'wait'; readonly message: string }
  | {
      readonly kind: 'handover';
      readonly record: RegionRecord;
      readonly intent: Extract<import('./types.js').Intent, { kind: 'disaster-takeover' }>;
      readonly message: string;
    }
  | { readonly kind: 'abort'; readonly record: RegionRecord; readonly message: string } {
  const from = drain.token?.fromSite ?? '?';
  const old = drain.token !== undefined ? regionOf(spec, drain.token.fromSite) : undefined;
  const caughtUp =
    input.finalPosition !== null &&
    input.targetPosition !== null &&
    input.targetPosition === input.finalPosition;
  if (caughtUp) {
    const generation = drain.generation + 1;
    return {
      kind: 'handover',
      record: {
        generation,
        active: drain.active,
        since: input.now,
        by: 'switchover',
        ...(drain.token !== undefined
          ? { token: { ...drain.token, logPosition: input.finalPosition! } }
          : {}),
      },
      intent: { kind: 'disaster-takeover', id: input.id, target, generation, epoch: input.targetLastEpoch },
      message: `${target} holds ${from}'s last log position ${input.finalPosition}: region ${drain.active} is active at generation ${generation}, ${target} takes over`,
    };
  }
  if (!input.deadlinePassed)
    return {
      kind: 'wait',
      message:
        input.finalPosition === null
          ? `waiting for ${from} to stop`
          : `waiting for ${target} (log position ${input.targetPosition ?? 'unknown'}) to reach ${from}'s last position ${input.finalPosition}`,
    };
  return {
    kind: 'abort',
    record: {
      generation: drain.generation + 1,
      active: old ?? drain.active,
      since: input.now,
      by: 'switchover',
    },
    message: `switchover refused: ${target} did not reach ${from}'s last log position (${input.targetPosition ?? 'unknown'} of ${input.finalPosition ?? 'unknown'}) in time; region ${old ?? '?'} is active again and ${target} is not promoted`,
  };
}

export type DrainCheck =
  | {
      readonly drained: true;
      /** The highest volume's last position, and each volume's. */
      readonly position: number;
      readonly positions: Readonly<Record<string, number>>;
      readonly message: string;
    }
  | { readonly drained: false; readonly reason: string; readonly message: string };

/**
 * Has the old primary of a planned switchover drained into `target` (docs/dr.md)? From two probes
 * of it a cycle apart, with the -rw Service withdrawn: both understood, still primary and running,
 * the link into `target` ACTIVE in both, every volume's LAST_LOG_POSITION unchanged between them
 * and equal to its SHIPPED_LOG_POSITION, the same volumes in both. Anything unknown (a failed
 * probe, no positions, a volume missing) is not drained.
 */
export function drainCheck(first: HanaHealth, second: HanaHealth, target: string): DrainCheck {
  const no = (reason: string, message: string): DrainCheck => ({ drained: false, reason, message });
  for (const [h, which] of [
    [first, 'first'],
    [second, 'second'],
  ] as const) {
    if (!h.probeOk) return no('probe_failed', `the ${which} probe failed (${h.probeError ?? 'unknown'})`);
    if (h.srRole !== 'primary' || !h.running)
      return no('not_running_primary', `the ${which} probe does not show a running primary`);
  }
  const link1 = first.replication.find((l) => l.secondary === target);
  const link2 = second.replication.find((l) => l.secondary === target);
  if (link1 === undefined || link2 === undefined || link1.status !== 'ACTIVE' || link2.status !== 'ACTIVE')
    return no(
      'dr_link_not_active',
      `the replication into ${target} is ${link2?.status ?? link1?.status ?? 'absent'}, not ACTIVE`,
    );
  const p1 = link1.positions;
  const p2 = link2.positions;
  if (p1 === undefined || p2 === undefined || p1.length === 0 || p2.length === 0)
    return no('positions_unknown', `the log positions of the link into ${target} are unknown`);
  const before = new Map<string, LogPosition>(p1.map((p) => [p.volume, p]));
  if (
    before.size !== p1.length ||
    new Set(p2.map((p) => p.volume)).size !== p2.length ||
    p2.length !== before.size
  )
    return no('positions_unknown', `the volumes of the link into ${target} differ between the two probes`);
  const positions: Record<string, number> = {};
  let position = 0;
  for (const p of p2) {
    const q = before.get(p.volume);
    const valid = (n: number) => Number.isSafeInteger(n) && n >= 0;
    if (q === undefined || !valid(p.last) || !valid(p.shipped) || !valid(q.last))
      return no('positions_unknown', `volume ${p.volume}: positions unknown`);
    if (q.last !== p.last)
      return no(
        'log_moving',
        `volume ${p.volume}: the log moved from ${q.last} to ${p.last} (still written to)`,
      );
    if (p.shipped !== p.last)
      return no('not_shipped', `volume ${p.volume}: shipped ${p.shipped} of ${p.last} to ${target}`);
    positions[p.volume] = p.last;
    position = Math.max(position, p.last);
  }
  return {
    drained: true,
    position,
    positions,
    message: `the log stood still at ${position} and was shipped to ${target} on every volume`,
  };
}
