/**
 * The chaos suite, short form (the long one is `npm run chaos`): real `hanasr agent` and
 * `hanasr operator` processes, a three-member etcd and the embedded Kubernetes API
 * (test/chaos/rig.ts); a client workload writes through the -rw Service's target while the
 * nemesis plays every kind of fault once (a primary's node crash first, held long enough for a
 * takeover, the others one after another meanwhile); then the history is checked against the
 * simulator's truth. Asserts the invariants only: no timing is asserted beyond generous waits
 * for the landscape to come up and back.
 */
import { describe, expect, it } from 'vitest';
import { runChaos } from './run.js';

describe('chaos, short form', () => {
  it('every kind of fault once on real processes: one writer, no lost or unsynced promotion', async () => {
    const lines: string[] = [];
    const r = await runChaos({
      seed: 20261206,
      faultPhaseMs: 35_000,
      schedule: 'plan',
      faultMs: [2000, 4000],
      gapMs: [300, 1000],
      recoverMs: 180_000,
      log: (l) => lines.push(l),
    });
    const context = `${lines.join('\n')}\n${JSON.stringify(r.check.violations, null, 1)}\n${r.logs}`;
    expect(r.check.violations, context).toEqual([]);
    // The invariants were exercised, not skipped: faults ran, commits were acknowledged, a site
    // was promoted, and the landscape came back so that lost commits could be looked for.
    expect(r.faults.length, context).toBeGreaterThanOrEqual(5);
    expect(r.check.acknowledged, context).toBeGreaterThan(0);
    expect(r.truth.promotions.length, context).toBeGreaterThanOrEqual(1);
    expect(r.check.unchecked, context).toEqual([]);
    expect(r.truth.finalKeys.size).toBeGreaterThanOrEqual(r.check.acknowledged);
  }, 420_000);
});
