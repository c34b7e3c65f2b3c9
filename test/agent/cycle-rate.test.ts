/**
 * The agent's cycles run at a fixed rate (issue 14): the next cycle starts `intervalSeconds` after
 * the previous one STARTED, not after it ended, so a slow probe (real HANA tools take a second or
 * more; a loaded host more) no longer stretches failureThreshold x interval into
 * failureThreshold x (interval + probe). A cycle longer than the interval is never overlapped: the
 * next one starts when it ends. Blips keep their tolerance: consecutive cycles still start at
 * least an interval apart, so a failure shorter than (failureThreshold - 1) x interval never hands
 * the key on, however long each probe takes. In virtual time, with probes that take virtual time.
 */
import { describe, expect, it } from 'vitest';
import { link, primaryHealth, secondaryHealth, stoppedPrimaryHealth } from '../support/observations.js';
import { ScriptedSite } from '../support/scripted-site.js';
import { actionOf, agentRig, failoverSpec, until } from '../support/agents.js';

const INTERVAL = 2000;
const THRESHOLD = 3;

function landscape(probeMs: number, timeoutSeconds = 3) {
  const rig = agentRig({
    watches: true,
    spec: failoverSpec({ intervalSeconds: INTERVAL / 1000, timeoutSeconds, failureThreshold: THRESHOLD }),
  });
  const hanaA = new ScriptedSite(primaryHealth([link('B')]), rig.clock, probeMs);
  const hanaB = new ScriptedSite(secondaryHealth('A'), rig.clock, probeMs);
  return { ...rig, a: rig.agent('A', hanaA), b: rig.agent('B', hanaB), hanaA, hanaB };
}

const gaps = (ts: readonly number[]) => ts.slice(1).map((t, i) => t - ts[i]!);

describe('fixed-rate cycles', () => {
  it('a probe of 1.5 s: cycles start every 2 s (the interval), not every 3.5 s', async () => {
    const l = landscape(1500);
    await l.a.start();
    await l.clock.advanceBy(20_000);
    // The first cycle acquires the key and the watch wakes a second one as it ends (woken cycles
    // run at once); from there on the interval rules.
    expect(l.hanaA.probedAt.slice(0, 2)).toEqual([0, 1500]);
    const g = gaps(l.hanaA.probedAt.slice(1));
    expect(g.length).toBeGreaterThanOrEqual(8);
    for (const gap of g) expect(gap).toBe(INTERVAL);
    l.a.kill();
  });

  it('a cycle longer than the interval is not overlapped: the next starts when it ends', async () => {
    const l = landscape(2500);
    await l.a.start();
    await l.clock.advanceBy(20_000);
    const g = gaps(l.hanaA.probedAt.slice(1));
    expect(g.length).toBeGreaterThanOrEqual(5);
    // Never closer than the interval (the blip tolerance rests on it), never two at once.
    for (const gap of g) expect(gap).toBeGreaterThanOrEqual(2500);
    for (const gap of g) expect(gap).toBeLessThan(2500 + 100);
    l.a.kill();
  });

  it('a crashed primary with 1.5-s probes steps down within threshold x interval + one probe of the crash', async () => {
    const l = landscape(1500);
    await l.a.start();
    await l.clock.advanceBy(1000);
    await l.b.start();
    await l.clock.advanceBy(10_300);
    expect((await l.coordination.read('ha1')).leader?.site).toBe('A');
    const crashedAt = l.clock.now();
    l.hanaA.health = stoppedPrimaryHealth();
    const done = await until(l.clock, () => l.hanaB.health.srRole === 'primary', 60_000, 50);
    expect(l.hanaB.health.srRole).toBe('primary');
    const stepDown = actionOf(l.events, 'A', 'step-down');
    expect(stepDown).toBeDefined();
    // The first failing probe starts within an interval of the crash and ends a probe later; the
    // threshold-th one starts (threshold - 1) intervals after it. Before: threshold x (2 + 1.5) s.
    expect(stepDown!.t - crashedAt).toBeLessThanOrEqual(THRESHOLD * INTERVAL + 1500);
    // B is woken by the release (no wait for its next cycle); its own probe takes 1.5 s.
    expect(done - stepDown!.t).toBeLessThanOrEqual(1500 + 100);
    l.a.kill();
    l.b.kill();
  });

  for (const probeMs of [100, 1500, 2900]) {
    it(`blips shorter than (threshold - 1) x interval never hand the key on (probes of ${probeMs} ms)`, async () => {
      const l = landscape(probeMs);
      await l.a.start();
      await l.clock.advanceBy(1000);
      await l.b.start();
      await l.clock.advanceBy(10_000);
      expect((await l.coordination.read('ha1')).leader?.site).toBe('A');
      const healthy = l.hanaA.health;
      // Blips at every phase against A's cycle grid, each just short of the tolerated failure.
      const blip = (THRESHOLD - 1) * INTERVAL - 1;
      for (let phase = 0; phase < 4000; phase += 250) {
        await l.clock.advanceBy(phase % INTERVAL === 0 ? 7 : 250);
        l.hanaA.health = stoppedPrimaryHealth();
        await l.clock.advanceBy(blip);
        l.hanaA.health = healthy;
        // Long enough for a probe that saw the blip to finish and a good one to reset the count.
        await l.clock.advanceBy(2 * INTERVAL + 2 * probeMs);
      }
      expect(l.events.filter((e) => e.action === 'step-down' || e.action === 'takeover')).toEqual([]);
      expect((await l.coordination.read('ha1')).leader?.site).toBe('A');
      l.a.kill();
      l.b.kill();
    });
  }
});
