/**
 * May the leader believe maintenance is on? (issue 12, the model's
 * `finding-maintenance-single-writer`.) A leader in maintenance fences nothing, so its key running
 * out proves nothing of its HANA (decide.ts `leader_lost_in_maintenance`). This agent's own spec
 * reads do not tell: a DBA may turn maintenance on and off between two of them, while the leader
 * read it on and was then cut off. Its report does not tell either: the write can fail after the
 * read.
 *
 * What tells is the published spec's maintenance generation (ClusterState.maintenanceGeneration:
 * one more on every change of `maintenance`, in the same transaction as the spec) against the
 * generation in the leader's last report this agent saw (SiteReport.maintenanceGeneration: the
 * reporter acts on that spec or a newer one from then on). The leader's spec reads all come before
 * its key ran out, and the read that finds the key gone comes after: if the published number is
 * still the one of the leader's last report, the leader's last spec is that one and its
 * `maintenance` is the report's; if the number moved, the leader may have read maintenance on.
 *
 * The older rule stays for agents and operators that do not count (no generation on either side,
 * or no report of the leader seen since this agent started): this agent read maintenance on itself
 * and saw no live report of the key holder outside maintenance since (an agent that starts knows
 * only the spec it reads then). Where the generations tell, they decide.
 */
import type { PublishedState } from './observation.js';

/** The part of a store read the watch needs. */
export type MaintenanceRead = Pick<PublishedState, 'leader' | 'lastLeader' | 'reports'> & {
  readonly maintenanceGeneration?: number;
};

export interface MaintenanceWatch {
  /** This agent read maintenance on and no live report of the holder outside maintenance since. */
  readonly sawOn: boolean;
  /** The last report of the leader (the key holder, else the last leader) this agent saw. */
  readonly leaderReport: {
    readonly site: string;
    /** Absent: the report carried no generation (an older agent, or one on its spec file). */
    readonly generation?: number;
    readonly maintenance: boolean;
  } | null;
  /** The published maintenance generation at this agent's last read that carried one. */
  readonly published: number | null;
}

export const NO_MAINTENANCE_SEEN: MaintenanceWatch = { sawOn: false, leaderReport: null, published: null };

/**
 * The watch after a cycle: `specMaintenance` is the spec this agent acts on now, `state` its read
 * of the store this cycle (null: none).
 */
export function watchMaintenance(
  prev: MaintenanceWatch,
  self: string,
  specMaintenance: boolean,
  state: MaintenanceRead | null,
): MaintenanceWatch {
  if (state === null) return specMaintenance ? { ...prev, sawOn: true } : prev;
  const holder = state.leader?.site;
  let sawOn = prev.sawOn;
  if (specMaintenance) sawOn = true;
  else if (holder !== undefined && (holder === self || state.reports[holder]?.maintenance === false))
    sawOn = false;
  const leader = holder ?? state.lastLeader;
  let leaderReport = prev.leaderReport;
  if (leader !== undefined && leader !== prev.leaderReport?.site) leaderReport = null;
  const report = leader !== undefined ? state.reports[leader] : undefined;
  if (leader !== undefined && report !== undefined) {
    leaderReport = {
      site: leader,
      maintenance: report.maintenance === true,
      ...(report.maintenanceGeneration !== undefined ? { generation: report.maintenanceGeneration } : {}),
    };
  }
  const published = state.maintenanceGeneration ?? prev.published;
  return { sawOn, leaderReport, published };
}

/**
 * Whether `leader` (the last leader, whose key ran out) may still act in maintenance mode, as far
 * as this agent can tell (LocalView.leaderMayBeInMaintenance).
 */
export function leaderMayBeInMaintenance(
  w: MaintenanceWatch,
  self: string,
  leader: string | undefined,
): boolean {
  if (leader === undefined || leader === self) return w.sawOn;
  const r = w.leaderReport;
  // Never saw a report of it that counts (an older agent, or none since this agent started): the
  // older rule alone.
  if (r === null || r.site !== leader || r.generation === undefined || w.published === null) return w.sawOn;
  // The generations tell more than this agent's own reads: one of the leader's reports at the
  // generation published now, outside maintenance, shows its last spec is that one, whatever this
  // agent read before. Before, a read of maintenance on stood until a report of a key holder
  // outside maintenance, and a leader that stepped down in its first cycle after maintenance was
  // turned off held no key any more: its secondary waited for ever (sim:fuzz 970000179).
  return r.maintenance || r.generation !== w.published;
}
