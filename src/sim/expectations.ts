/** A scenario's `expect` block against what happened: shared by simulate and the demo. */
import { isSiteRole, type Scenario } from './scenario.js';

export interface Outcome {
  readonly primary: string | null;
  readonly takeovers: number;
  readonly lostCommittedWrites: number;
  readonly maxConcurrentPrimaries: number;
  readonly replicationStatus: string;
  readonly writeUnavailableSeconds: number;
  /** Invariants violated during the run (checked when the scenario expects invariants). */
  readonly violated?: readonly string[];
  /** Backup runs at the end (scenarios with cluster.backup). */
  readonly backups?: {
    readonly succeeded: number;
    readonly failed: number;
    readonly interrupted: number;
    readonly maxSucceededPerRun: number;
    readonly onSecondary: number;
    readonly health: string;
  };
}

export interface ExpectationResult {
  readonly key: string;
  readonly expected: unknown;
  readonly actual: unknown;
  readonly ok: boolean;
  /** How a role word in the scenario was resolved, e.g. "the secondary at the start". */
  readonly note?: string;
}

/** `expect` with a role word in `primary` replaced by the site that had that role at the start. */
export function resolveExpect(
  expect: Scenario['expect'],
  rolesAtStart: { readonly primary: string | null; readonly secondary: string | null },
): Scenario['expect'] & { readonly primaryNote?: string } {
  const role = expect.primary;
  if (!isSiteRole(role)) return expect;
  const site = rolesAtStart[role];
  // No site had the role: the expectation cannot hold, and says why.
  return { ...expect, primary: site ?? `(no ${role} at the start)`, primaryNote: `the ${role} at the start` };
}

/**
 * Every key is compared exactly, except maxWriteUnavailableSeconds, which is a maximum, and
 * invariants, which lists what must never be violated (actual: the ones that were).
 */
export function checkExpectations(
  expect: Scenario['expect'] & { readonly primaryNote?: string },
  outcome: Outcome,
): ExpectationResult[] {
  const out: ExpectationResult[] = [];
  const exact = (key: keyof Outcome, expected: unknown, note?: string) => {
    if (expected !== undefined)
      out.push({
        key,
        expected,
        actual: outcome[key],
        ok: expected === outcome[key],
        ...(note !== undefined ? { note } : {}),
      });
  };
  exact('primary', expect.primary, expect.primaryNote);
  exact('takeovers', expect.takeovers);
  exact('lostCommittedWrites', expect.lostCommittedWrites);
  exact('maxConcurrentPrimaries', expect.maxConcurrentPrimaries);
  exact('replicationStatus', expect.replicationStatus);
  if (expect.invariants !== undefined) {
    const violated = expect.invariants.filter((i) => outcome.violated?.includes(i));
    out.push({ key: 'invariants', expected: expect.invariants, actual: violated, ok: violated.length === 0 });
  }
  for (const [key, expected] of Object.entries(expect.backups ?? {})) {
    if (expected === undefined) continue;
    const actual = outcome.backups?.[key as keyof NonNullable<Outcome['backups']>] ?? null;
    out.push({ key: `backups.${key}`, expected, actual, ok: expected === actual });
  }
  if (expect.maxWriteUnavailableSeconds !== undefined) {
    out.push({
      key: 'maxWriteUnavailableSeconds',
      expected: expect.maxWriteUnavailableSeconds,
      actual: outcome.writeUnavailableSeconds,
      ok: outcome.writeUnavailableSeconds <= expect.maxWriteUnavailableSeconds,
    });
  }
  return out;
}
