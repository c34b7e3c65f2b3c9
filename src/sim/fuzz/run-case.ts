/** One random schedule through the scenario runner with the invariant checker attached. */
import { InvariantChecker, type Liveness, type Violation } from '../invariants.js';
import { directPortFactory, runScenario, type PortFactory } from '../runner.js';
import type { Scenario } from '../scenario.js';

export interface CaseOutcome {
  readonly seed: number;
  readonly violations: readonly Violation[];
  /** Violations in a schedule at a known limit (KNOWN_LIMITS): reported, not failures. */
  readonly limitViolations: readonly Violation[];
  readonly liveness?: Liveness;
  readonly takeovers: number;
  readonly simulatedSeconds: number;
}

let direct: PortFactory | undefined;

/** Runs `scenario` (through the direct port: no text rendering) and checks every invariant. */
export async function checkScenario(scenario: Scenario, livenessFrom?: number): Promise<CaseOutcome> {
  direct ??= await directPortFactory();
  const checker = new InvariantChecker(scenario, livenessFrom !== undefined ? { livenessFrom } : {});
  const result = await runScenario(scenario, { portFactory: direct, decisions: false, observer: checker });
  return {
    seed: scenario.seed,
    violations: checker.violations,
    limitViolations: checker.limitViolations,
    ...(checker.liveness ? { liveness: checker.liveness } : {}),
    takeovers: result.metrics.takeovers,
    simulatedSeconds: scenario.durationSeconds,
  };
}
