/**
 * How the fuzz runner sorts a liveness miss (src/sim/fuzz/summary.ts): a miss the settings explain
 * is reported apart from the availability findings. Two schedules of the 2026-12-07 runs: one whose
 * skew bound (4.1 s) is above a probe cycle (2.2 s + 0.7 s), where the secondary never trusts its
 * SOK once the primary's stop took 17 s (a freeze), and one with a 0.1-s bound that stays a finding.
 */
import { describe, expect, it } from 'vitest';
import { randomCase } from '../../src/sim/fuzz/generate.js';
import { runSeed } from '../../src/sim/fuzz/summary.js';

describe('liveness misses the settings explain', () => {
  it('a secondary left untrusted by a skew bound above a probe cycle: skew-above-cycle', async () => {
    const { cluster } = randomCase(980003350).scenario;
    expect(cluster.clock.maxSkewSeconds).toBeGreaterThan(
      cluster.probes.intervalSeconds + cluster.probes.timeoutSeconds,
    );
    const s = await runSeed(980003350);
    expect(s.violations).toEqual([]);
    expect(s.liveness).toMatchObject({ ok: false, category: 'skew-above-cycle' });
    expect(Object.values(s.liveness?.lastReasons ?? {})).toContain('not_in_sync');
  });

  it('a miss with a skew bound under a cycle stays a finding', async () => {
    const { cluster } = randomCase(970000179).scenario;
    expect(cluster.clock.maxSkewSeconds).toBeLessThan(
      cluster.probes.intervalSeconds + cluster.probes.timeoutSeconds,
    );
    const s = await runSeed(970000179);
    expect(s.liveness).toMatchObject({ ok: false, category: 'finding' });
  });
});
