/**
 * The chaos suite's checker: after a run, on the recorded history (test/chaos/history.ts) and
 * the simulator's truth, are the safety invariants kept? The names are those of the random
 * schedules' invariants (`npm run sim:fuzz`, src/sim/invariant-names.ts), checked here on real
 * processes:
 * - single-writer: at most one site accepts writes at any instant (the simulator counts the
 *   writable sites at every change and step; the rig also samples which ones, for the report);
 * - no-lost-commit: every commit acknowledged to a client (`ok`) is on the final primary, in
 *   sync/syncmem, unless a takeover was forced (by hand: the chaos nemesis never forces one);
 *   the simulator's own background writes are counted too;
 * - in-sync-promotion: no promotion (hdbnsutil -sr_takeover, as the agent ran it) of a site
 *   that lacked an acknowledged commit at that moment: by the simulator's count, and by the
 *   history (a client `ok` completed before the takeover and missing on the promoted site).
 * Indeterminate operations (`info`) may be there or not; `fail`ed ones are not checked.
 */
import type { ReplicationMode } from '../../src/api/spec.js';
import type { InvariantName } from '../../src/sim/invariant-names.js';
import { completedOps, type HistoryOp } from './history.js';

/** The random schedules' invariants (src/sim/invariants.ts) that a chaos run can check. */
export type ChaosInvariant = Extract<InvariantName, 'single-writer' | 'no-lost-commit' | 'in-sync-promotion'>;

export interface Violation {
  readonly invariant: ChaosInvariant;
  /** Wall-clock ms (the rig's clock), when known. */
  readonly time?: number;
  readonly site?: string;
  readonly message: string;
}

/** A takeover as the simulator executed it, observed at the moment it returned. */
export interface Promotion {
  readonly time: number;
  readonly site: string;
  readonly handshake: boolean;
  /** Acknowledged writes (every writer's: clients' and the simulator's own) the site lacks. */
  readonly missingAcknowledged: number;
  /** The workload's keys the promoted site holds then. */
  readonly heldKeys: ReadonlySet<string>;
}

export interface Truth {
  readonly mode: ReplicationMode;
  /** The writable sites as sampled, one entry per change (time-ordered). */
  readonly writable: readonly { readonly time: number; readonly sites: readonly string[] }[];
  /** The simulator's own maximum of sites writable at one instant over the whole run. */
  readonly maxConcurrentWritable: number;
  readonly promotions: readonly Promotion[];
  /** Takeovers or registrations by hand during the run (they may lose commits by design). */
  readonly forcedTakeovers: number;
  /** The writable primary at the end (null: none came back). */
  readonly finalPrimary: string | null;
  /** The workload's keys the final primary holds. */
  readonly finalKeys: ReadonlySet<string>;
  /** The simulator's count of acknowledged writes the final primary lacks (null: no primary). */
  readonly simLostCommits: number | null;
}

export interface CheckResult {
  readonly violations: readonly Violation[];
  readonly acknowledged: number;
  readonly failed: number;
  readonly indeterminate: number;
  /** Indeterminate operations found committed on the final primary. */
  readonly indeterminateCommitted: number;
  /** Invariants that could not be checked, and why (e.g. no final primary). */
  readonly unchecked: readonly string[];
}

export function check(history: readonly HistoryOp[], truth: Truth): CheckResult {
  const violations: Violation[] = [];
  const unchecked: string[] = [];
  const ops = completedOps(history);
  const acked = ops.filter((o) => o.type === 'ok');

  // single-writer
  if (truth.maxConcurrentWritable > 1)
    violations.push({
      invariant: 'single-writer',
      message: `the simulator counted ${truth.maxConcurrentWritable} sites accepting writes at one instant`,
    });
  let inTwo = false;
  for (const w of truth.writable) {
    const two = w.sites.length > 1;
    if (two && !inTwo)
      violations.push({
        invariant: 'single-writer',
        time: w.time,
        message: `${w.sites.join(' and ')} accept writes at the same time`,
      });
    inTwo = two;
  }

  const protectedMode = truth.mode === 'sync' || truth.mode === 'syncmem';

  // no-lost-commit
  if (!protectedMode) unchecked.push(`no-lost-commit: ${truth.mode} replication may lose commits by design`);
  else if (truth.forcedTakeovers > 0)
    unchecked.push(`no-lost-commit: ${truth.forcedTakeovers} forced takeover(s) in the run`);
  else if (truth.finalPrimary === null) unchecked.push('no-lost-commit: no writable primary at the end');
  else {
    for (const o of acked)
      if (!truth.finalKeys.has(o.value))
        violations.push({
          invariant: 'no-lost-commit',
          time: o.completedAt,
          ...(o.site ? { site: o.site } : {}),
          message: `${o.value}, acknowledged${o.site ? ` by ${o.site}` : ''}, is not on the final primary ${truth.finalPrimary}`,
        });
    if (truth.simLostCommits !== null && truth.simLostCommits > 0)
      violations.push({
        invariant: 'no-lost-commit',
        site: truth.finalPrimary,
        message: `the simulator counts ${truth.simLostCommits} acknowledged write(s) the final primary ${truth.finalPrimary} lacks`,
      });
  }

  // in-sync-promotion
  if (protectedMode && truth.forcedTakeovers === 0) {
    for (const p of truth.promotions) {
      if (p.missingAcknowledged > 0)
        violations.push({
          invariant: 'in-sync-promotion',
          time: p.time,
          site: p.site,
          message: `${p.site} was promoted lacking ${p.missingAcknowledged} acknowledged write(s)`,
        });
      const missing = acked.filter((o) => o.completedAt < p.time && !p.heldKeys.has(o.value));
      if (missing.length > 0)
        violations.push({
          invariant: 'in-sync-promotion',
          time: p.time,
          site: p.site,
          message: `${p.site} was promoted without ${missing.length} commit(s) acknowledged before (${missing
            .slice(0, 3)
            .map((o) => o.value)
            .join(', ')}${missing.length > 3 ? ', ...' : ''})`,
        });
    }
  }

  const indeterminate = ops.filter((o) => o.type === 'info');
  return {
    violations,
    acknowledged: acked.length,
    failed: ops.filter((o) => o.type === 'fail').length,
    indeterminate: indeterminate.length,
    indeterminateCommitted: indeterminate.filter((o) => truth.finalKeys.has(o.value)).length,
    unchecked,
  };
}
