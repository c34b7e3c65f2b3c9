/**
 * Found by the property test (HANASR_PROPERTY_RUNS=200, seed 42): the primary freezes, its agent
 * decides to step down and its stop hangs on the frozen site; the site thaws and is cut off at
 * once. The agent is stuck in the stop (no cycles), and its lease watchdog judged the failsafe on
 * the peer view of the last cycle, from before the cut ("B is a reachable secondary"): it kept
 * the thawed, writable primary running while its lease ran out and B took over.
 */
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/api/spec.js';
import { directPortFactory, runScenario } from '../../src/sim/runner.js';
import type { Scenario } from '../../src/sim/scenario.js';

const scenario = (watchdog: 'disabled' | 'automatic'): Scenario => ({
  name: 'freeze-then-isolate-primary',
  seed: 1,
  durationSeconds: 120,
  initialPrimary: 'A',
  cluster: parseSpec({
    sid: 'HA1',
    instanceNumber: '00',
    sites: [
      { name: 'A', host: 'hana-a' },
      { name: 'B', host: 'hana-b' },
    ],
    takeover: { automatedRegister: true },
    fencing: { watchdog: { mode: watchdog } },
  }),
  workload: { writesPerSecond: 10 },
  faults: [
    { atSeconds: 10, action: 'freeze-site', site: 'A' },
    { atSeconds: 24, action: 'thaw-site', site: 'A' },
    { atSeconds: 24, action: 'isolate-site', site: 'A' },
    { atSeconds: 36, action: 'reconnect-site', site: 'A' },
  ],
  expect: {},
});

describe('a primary cut off while its agent is stuck in a hung stop', () => {
  it.each(['disabled', 'automatic'] as const)(
    'is stopped before B takes over: one writer, nothing lost (watchdog %s)',
    async (mode) => {
      const r = await runScenario(scenario(mode), { portFactory: await directPortFactory() });
      expect(r.metrics.maxConcurrentPrimaries).toBe(1);
      expect(r.metrics.lostCommittedWrites).toBe(0);
      // A is stopped before B takes over: by the hard stop that waited on the frozen site (it takes
      // effect at the thaw, as a queued kill does on a real host), by the lease check, or (with the
      // watchdog) by the reset of the frozen node that could no longer feed it.
      const fence = r.timeline.find(
        (e) =>
          e.site === 'A' &&
          (e.event === 'action:fence' ||
            e.event === 'hana:stop' ||
            e.event === 'node:watchdog-reset' ||
            (e.event === 'hana:thaw-site' && /die/.test(e.reason))),
      );
      const takeover = r.timeline.find((e) => e.site === 'B' && e.event === 'action:takeover');
      expect(fence).toBeDefined();
      expect(takeover).toBeDefined();
      expect(fence!.t).toBeLessThanOrEqual(takeover!.t);
      expect(r.final.primary).toBe('B');
    },
  );
});
