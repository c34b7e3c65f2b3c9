/**
 * How the fuzz runner sorts a liveness miss (src/sim/fuzz/summary.ts): a miss the settings explain
 * is reported apart from the availability findings.
 */
import { describe, expect, it } from 'vitest';
import { randomCase } from '../../src/sim/fuzz/generate.js';
import { missCategory, runSeed } from '../../src/sim/fuzz/summary.js';

const timing = (maxSkewSeconds: number) => ({
  probes: { intervalSeconds: 2.2, timeoutSeconds: 0.7 },
  clock: { maxSkewSeconds },
});

describe('liveness misses the settings explain', () => {
  it.each([
    [
      'a secondary not in sync under a skew bound above a probe cycle',
      4.1,
      { A: 'waiting_for_takeover', B: 'not_in_sync' },
      [],
      'skew-above-cycle',
    ],
    [
      'the same under a bound below a cycle',
      0.5,
      { A: 'waiting_for_takeover', B: 'not_in_sync' },
      [],
      'finding',
    ],
    [
      'a bound above a cycle, but nobody waits on the in-sync rule',
      4.1,
      { A: 'waiting_for_takeover', B: 'promote_after_acquiring_leader' },
      [],
      'finding',
    ],
    ['registration off', 4.1, { A: 'waiting_for_registration', B: 'not_in_sync' }, [], 'registration-off'],
    [
      'a node a fence left off',
      0.5,
      { A: 'no_leader_not_eligible', B: 'not_in_sync' },
      ['A'],
      'node-left-off',
    ],
  ] as const)('%s', (_name, skew, reasons, poweredOff, category) => {
    expect(missCategory(timing(skew), reasons, poweredOff)).toBe(category);
  });

  it('schedule 980003350: the frozen primary that stepped down takes the key back when its secondary would not be trusted', async () => {
    // A 4.1-s bound over a 2.2 + 0.7-s cycle; A's stop waited 17 s for the thaw of a freeze. B,
    // judging A's reports with the bound, never trusted its SOK; A, judging B with its own clock,
    // waited for it for ever (a skew-above-cycle miss). A now waits only while B would take over.
    const { cluster } = randomCase(980003350).scenario;
    expect(cluster.clock.maxSkewSeconds).toBeGreaterThan(
      cluster.probes.intervalSeconds + cluster.probes.timeoutSeconds,
    );
    const s = await runSeed(980003350);
    expect(s.violations).toEqual([]);
    expect(s.liveness).toMatchObject({ ok: true });
  });

  it('schedule 1050048263: the stopped primary takes the key back when its secondary reads its reports stale, the bound under a cycle', async () => {
    // interval 9.1 s, timeout 0.6 s, bound 8.2 s: a report counts as fresh only within 1.5 s of
    // its writing. A publishes and B reads once an interval; B's reads missed that window, judged
    // A's reports stale and refused, while A judged B with a report made now and waited for it.
    // A now waits only while B would take over with a report of it fresh or an interval old.
    const { cluster } = randomCase(1050048263).scenario;
    const cycle = cluster.probes.intervalSeconds + cluster.probes.timeoutSeconds;
    expect(cluster.clock.maxSkewSeconds).toBeLessThan(cycle);
    expect(cluster.clock.maxSkewSeconds).toBeGreaterThan(cluster.probes.timeoutSeconds);
    const s = await runSeed(1050048263);
    expect(s.violations).toEqual([]);
    expect(s.liveness).toMatchObject({ ok: true });
  });
});
