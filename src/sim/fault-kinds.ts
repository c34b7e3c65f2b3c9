/**
 * The fault alphabet of random schedules (`npm run sim:fuzz`), one entry per fault: how to draw
 * it, what ends it, and what it says about the site it hits (for the invariant "no takeover caused
 * by a blip shorter than the failure threshold"). A new simulator fault is its name in
 * scenario.ts `faultActions`, one entry here, and its effect: for a fault of a simulated site one
 * entry in src/standins/hana-sim/site-faults.ts (applied by that name), for one that reaches the
 * agents, the store or the devices a case in src/sim/faults.ts.
 */
import type { HanaSystemReplicationSpec } from '../api/spec.js';
import type { Prng } from '../standins/hana-sim/prng.js';
import type { Fault, FaultAction } from './scenario.js';

/**
 * What a fault tells about the primary it hits:
 * - `failure`: the primary failed for real (its instance, node, agent or lease): a takeover may follow;
 * - `probe-blip`: its probes fail while the fault lasts and only then: a takeover may follow only
 *   when it lasted at least (failureThreshold - 1) probe intervals;
 * - `none`: no failure of the primary (a takeover because of it alone would be wrong);
 * - `forced`: a DBA acted by hand (lost commits and unsynced promotions are the DBA's choice).
 */
export type FaultEffect = 'failure' | 'probe-blip' | 'none' | 'forced';

export interface FaultKind {
  readonly action: FaultAction;
  /** The action that ends it (absent: it ends by itself, or never). */
  readonly clear?: FaultAction;
  /** Chance that a drawn fault gets its clear (1: always, so liveness can be measured after it). */
  readonly clearChance?: number;
  /** `site`: one site; `global`: the landscape; `site-or-all`: one site, or every site when absent. */
  readonly target: 'site' | 'global' | 'site-or-all';
  /** Relative frequency in random schedules. */
  readonly weight: number;
  readonly effect: FaultEffect;
  /** Extra fields of the fault (factor, seconds). */
  readonly params?: (rng: Prng, spec: HanaSystemReplicationSpec) => Partial<Fault>;
  /** Extra fields of its clear, from the fault it ends. */
  readonly clearParams?: (fault: Fault) => Partial<Fault>;
}

const logUniform = (rng: Prng, min: number, max: number) =>
  Math.exp(rng.between(Math.log(min), Math.log(max)));

export const faultKinds: readonly FaultKind[] = [
  {
    action: 'crash-instance',
    clear: 'restart-instance',
    clearChance: 0.5,
    target: 'site',
    weight: 3,
    effect: 'failure',
  },
  { action: 'kill-indexserver', target: 'site', weight: 2, effect: 'failure' },
  { action: 'crash-node', clear: 'restore-node', target: 'site', weight: 3, effect: 'failure' },
  {
    action: 'block-replication',
    clear: 'unblock-replication',
    target: 'site-or-all',
    weight: 2,
    effect: 'none',
  },
  { action: 'isolate-site', clear: 'reconnect-site', target: 'site', weight: 3, effect: 'failure' },
  { action: 'freeze-site', clear: 'thaw-site', target: 'site', weight: 3, effect: 'probe-blip' },
  { action: 'fill-log-area', clear: 'free-log-area', target: 'site', weight: 1, effect: 'none' },
  // Agent death: with a watchdog or a fence agent the node is reset or powered off and taken over.
  {
    action: 'stop-agent',
    clear: 'start-agent',
    target: 'site',
    weight: 3,
    effect: 'failure',
  },
  {
    action: 'coordination-outage',
    clear: 'coordination-restore',
    target: 'global',
    weight: 2,
    effect: 'failure',
  },
  { action: 'planned-takeover', target: 'site', weight: 1, effect: 'none' },
  {
    action: 'slow-replication',
    clear: 'slow-replication',
    target: 'site',
    weight: 1,
    effect: 'none',
    params: (rng) => ({ factor: Math.round(logUniform(rng, 2, 1000)) }),
    clearParams: () => ({ factor: 1 }),
  },
  { action: 'maintenance-on', clear: 'maintenance-off', target: 'global', weight: 1, effect: 'none' },
  {
    action: 'skew-clock',
    clear: 'skew-clock',
    target: 'site',
    weight: 2,
    effect: 'none',
    // Half within the bound the settings allow for, half beyond it (either sign).
    params: (rng, spec) => {
      const within = rng.next() < 0.5;
      const size = within ? rng.between(0, spec.clock.maxSkewSeconds) : logUniform(rng, 1, 600);
      return { seconds: Math.round((rng.next() < 0.5 ? -size : size) * 10) / 10 };
    },
    clearParams: (f) => ({ seconds: -(f.seconds ?? 0) }),
  },
  { action: 'break-sql-probe', clear: 'fix-sql-probe', target: 'site', weight: 1, effect: 'none' },
  // The probe's tools hang while the database still commits (issue 12's protocol model,
  // finding-unknown-probe): its probes time out, a stop through sapcontrol still works.
  {
    action: 'hang-probe-tools',
    clear: 'unhang-probe-tools',
    target: 'site',
    weight: 1,
    effect: 'probe-blip',
  },
  { action: 'hang-instance', clear: 'unhang-instance', target: 'site', weight: 2, effect: 'probe-blip' },
  { action: 'manual-takeover', target: 'site', weight: 1, effect: 'forced' },
  { action: 'manual-register', target: 'site', weight: 1, effect: 'forced' },
  {
    action: 'fail-fencing',
    clear: 'restore-fencing',
    target: 'site',
    weight: 2,
    effect: 'none',
    params: (rng) => (rng.next() < 0.5 ? { hang: true } : {}),
  },
  { action: 'remove-watchdog', clear: 'restore-watchdog', target: 'site', weight: 2, effect: 'none' },
];

/** The kind whose fault starts with `action` (clears are not kinds of their own). */
export function kindOf(action: FaultAction): FaultKind | undefined {
  return faultKinds.find((k) => k.action === action);
}

/** Actions that only end a fault. */
export function isClearOnly(action: FaultAction): boolean {
  return !kindOf(action) && faultKinds.some((k) => k.clear === action);
}
