/** What the fuzz runner keeps of one schedule (small: it crosses from a worker thread). */
import type { HanaSystemReplicationSpec } from '../../api/spec.js';
import type { Violation } from '../invariants.js';
import { randomCase, type GenerateOptions } from './generate.js';
import { checkScenario } from './run-case.js';

/** Why a liveness miss happened, when the settings explain it (else: a finding). */
export type MissCategory =
  | 'finding'
  | 'registration-off'
  | 'dual-primary-wait'
  | 'automatic-off'
  | 'node-left-off'
  | 'watchdog-required'
  | 'skew-above-cycle';

export interface CaseSummary {
  readonly seed: number;
  readonly simulatedSeconds: number;
  readonly violations: readonly Violation[];
  /** Violations at a known limit (reported apart, not failures). */
  readonly limitViolations: readonly Violation[];
  /** Liveness, when measurable: missed (with why) or met. */
  readonly liveness?: {
    readonly ok: boolean;
    readonly from: number;
    readonly boundSeconds: number;
    readonly recoveredAt: number | null;
    readonly category?: MissCategory;
    readonly lastReasons: Readonly<Record<string, string>>;
  };
}

/** Reasons that say a human must act: the settings chose that, it is no finding. */
const BY_DESIGN: Record<string, MissCategory> = {
  waiting_for_registration: 'registration-off',
  dual_primary_wait: 'dual-primary-wait',
  automatic_takeover_off: 'automatic-off',
  // mode: required on a node whose watchdog is unusable: that site never leads, as asked.
  watchdog_required_unusable: 'watchdog-required',
};

/**
 * Why a liveness miss happened, when the settings explain it; 'finding' otherwise. `lastReasons`:
 * each agent's last decision reason; `poweredOff`: nodes a fence left off.
 */
export function missCategory(
  cluster: Pick<HanaSystemReplicationSpec, 'probes' | 'clock'>,
  lastReasons: Readonly<Record<string, string>>,
  poweredOff: readonly string[],
): MissCategory {
  let category: MissCategory = 'finding';
  for (const reason of Object.values(lastReasons)) category = BY_DESIGN[reason] ?? category;
  // A node a fence powered off while the lease rule decided the takeover stays off until a DBA
  // powers it on (README, Limits): no in-sync secondary without it.
  if (category === 'finding' && poweredOff.length > 0) category = 'node-left-off';
  // With clock.maxSkewSeconds above a probe cycle no report of another host ever counts as
  // fresh (src/domain/sync-trust.ts): a secondary trusts its SOK only within
  // logShippingTimeoutSeconds less the skew bound and a cycle of the last contact, the least
  // the schema allows for a step-down after failureThreshold probes. A failure that takes
  // longer to step down from (a stop that waits for a frozen instance) leaves it untrusted, and
  // a DBA decides (README, Random schedules).
  const { probes, clock } = cluster;
  if (
    category === 'finding' &&
    clock.maxSkewSeconds > probes.intervalSeconds + probes.timeoutSeconds &&
    Object.values(lastReasons).includes('not_in_sync')
  )
    category = 'skew-above-cycle';
  return category;
}

export async function runSeed(seed: number, options: GenerateOptions = {}): Promise<CaseSummary> {
  const c = randomCase(seed, options);
  const out = await checkScenario(c.scenario, c.livenessFrom);
  const l = out.liveness;
  const category = l && !l.ok ? missCategory(c.scenario.cluster, l.lastReasons, l.poweredOff) : undefined;
  return {
    seed,
    simulatedSeconds: out.simulatedSeconds,
    violations: out.violations,
    limitViolations: out.limitViolations,
    ...(l
      ? {
          liveness: {
            ok: l.ok,
            from: l.from,
            boundSeconds: l.boundSeconds,
            recoveredAt: l.recoveredAt,
            ...(category ? { category } : {}),
            lastReasons: l.lastReasons,
          },
        }
      : {}),
  };
}
