/**
 * A release or expiry of the leader key supersedes the cycle whose local probe is in flight
 * (issue 14): the probe (and the peer checks) are aborted, their answers thrown away, and a fresh
 * cycle starts at once, so a secondary reacts within 100 ms instead of after the rest of its
 * probe. That fresh cycle of a secondary decides on its last complete probe when it is recent and
 * healthy (test/agent/probe-reuse.test.ts), else probes anew. In virtual time, with probes that
 * take virtual time and honour their abort signal.
 *
 * An aborted probe counts neither way: not as a failed probe (the command adapter answers a
 * failed health when its commands are aborted), nor as a healthy one (which would reset the
 * count). Blips keep their tolerance with wakes arriving at every phase, and two probes never run
 * at once.
 */
import { describe, expect, it } from 'vitest';
import { Agent, type AgentEvent } from '../../src/agent/agent.js';
import { VirtualClock } from '../../src/clock.js';
import { MemoryCoordination } from '../../src/coordination/memory.js';
import type { HanaPort } from '../../src/hana/port.js';
import { link, primaryHealth, secondaryHealth, spec, stoppedPrimaryHealth } from '../support/observations.js';
import { ScriptedSite } from '../support/scripted-site.js';

const INTERVAL = 2000;
const THRESHOLD = 3;

function landscape(probeA: number, probeB: number) {
  const clock = new VirtualClock(0);
  const coordination = new MemoryCoordination(clock, { watches: true });
  const s = spec({
    probes: { intervalSeconds: INTERVAL / 1000, timeoutSeconds: 3 },
    takeover: { failureThreshold: THRESHOLD },
    lease: { ttlSeconds: 10 },
    replication: { mode: 'sync', logShippingTimeoutSeconds: 600 },
  });
  const hanaA = new ScriptedSite(primaryHealth([link('B')]), clock, probeA);
  const hanaB = new ScriptedSite(secondaryHealth('A'), clock, probeB);
  const events: AgentEvent[] = [];
  const make = (site: string, hana: HanaPort) =>
    new Agent({
      cluster: 'ha1',
      site,
      spec: () => s,
      hana,
      coordination,
      clock,
      onEvent: (e) => events.push(e),
    });
  return { clock, coordination, a: make('A', hanaA), b: make('B', hanaB), hanaA, hanaB, events };
}

async function until(clock: VirtualClock, done: () => boolean, maxMs: number, step = 10): Promise<number> {
  for (let t = 0; t < maxMs && !done(); t += step) await clock.advanceBy(step);
  return clock.now();
}

const actionOf = (events: readonly AgentEvent[], site: string, action: string) =>
  events.find((e) => e.site === site && e.action === action && e.event === 'action');

/** A spurious change of the leader key (a reopened watch tells one too): wakes both agents. */
const poke = (l: ReturnType<typeof landscape>) => l.coordination.changed('ha1', 'leader');

describe('a wake supersedes the cycle whose probe is in flight', () => {
  it('B aborts the probe in flight at the release, at every phase of its 1.9-s probe, and takes over within 100 ms on its last complete one', async () => {
    let midProbe = 0;
    for (const offset of [0, 300, 700, 1100, 1500, 1800]) {
      const l = landscape(100, 1900);
      await l.a.start();
      await l.clock.advanceBy(1000 + offset);
      await l.b.start();
      await l.clock.advanceBy(10_000);
      expect((await l.coordination.read('ha1')).leader?.site).toBe('A');
      l.hanaA.health = stoppedPrimaryHealth();
      await until(l.clock, () => l.hanaB.health.srRole === 'primary', 30_000);
      expect(l.hanaB.health.srRole).toBe('primary');
      const released = actionOf(l.events, 'A', 'step-down')!.t;
      // B was probing when the key went (in most phases): that probe was aborted at the release.
      if (l.hanaB.abortedAt.some((t) => t >= released && t <= released + 10)) {
        midProbe++;
        expect(l.events).toContainEqual(
          expect.objectContaining({ site: 'B', event: 'cycle-superseded', reason: 'cycle_superseded' }),
        );
      }
      // The woken cycle decided on B's last complete probe, which ended within the interval
      // (test/agent/probe-reuse.test.ts has the cases that probe afresh instead).
      const reused = l.events.filter(
        (e) => e.site === 'B' && e.reason === 'probe_reused' && e.t >= released && e.t <= released + 100,
      );
      expect(reused, `offset ${offset}: released ${released}`).toHaveLength(1);
      expect(actionOf(l.events, 'B', 'takeover')!.t - released).toBeLessThanOrEqual(100);
      expect(l.hanaB.maxInFlight).toBe(1);
      l.a.kill();
      l.b.kill();
    }
    expect(midProbe).toBeGreaterThanOrEqual(4);
  });

  it('an aborted probe that answers "failed" (as the adapter does) is not counted: a healthy primary poked at every phase stays', async () => {
    const l = landscape(1500, 1500);
    l.hanaA.abortedAnswer = stoppedPrimaryHealth();
    l.hanaB.abortedAnswer = stoppedPrimaryHealth();
    await l.a.start();
    await l.clock.advanceBy(1000);
    await l.b.start();
    await l.clock.advanceBy(10_000);
    for (let phase = 0; phase < 40; phase++) {
      poke(l);
      await l.clock.advanceBy(phase % 2 === 0 ? 4100 : 2300);
    }
    expect(l.hanaA.abortedAt.length).toBeGreaterThan(5);
    expect(
      l.events.filter((e) => e.site === 'A' && e.reason === 'primary_probe_failed_below_threshold'),
    ).toEqual([]);
    expect(l.events.filter((e) => e.action === 'step-down' || e.action === 'takeover')).toEqual([]);
    expect((await l.coordination.read('ha1')).leader?.site).toBe('A');
    expect(l.hanaA.maxInFlight).toBe(1);
    l.a.kill();
    l.b.kill();
  });

  it('an aborted probe that answers "healthy" does not reset the count: a crashed primary poked often still steps down', async () => {
    const l = landscape(1500, 1500);
    l.hanaA.abortedAnswer = primaryHealth([link('B')]);
    await l.a.start();
    await l.clock.advanceBy(1000);
    await l.b.start();
    await l.clock.advanceBy(10_300);
    const crashed = l.clock.now();
    l.hanaA.health = stoppedPrimaryHealth();
    let stepDown: AgentEvent | undefined;
    for (let i = 0; i < 60 && stepDown === undefined; i++) {
      // Mid-probe of a cycle on the interval (a woken one is not superseded again).
      await l.clock.advanceBy(i === 0 ? 1200 - ((crashed - 1000) % INTERVAL) : INTERVAL);
      poke(l);
      await l.clock.advanceBy(1);
      stepDown = actionOf(l.events, 'A', 'step-down');
    }
    expect(l.hanaA.abortedAt.length).toBeGreaterThan(0);
    expect(stepDown).toBeDefined();
    // Woken cycles run back to back but count a failure only an interval after the last one.
    expect(stepDown!.t - crashed).toBeLessThanOrEqual(THRESHOLD * (INTERVAL + 1500));
    expect(l.hanaA.maxInFlight).toBe(1);
    l.a.kill();
    l.b.kill();
  });

  it('wakes more often than a probe lasts do not starve the loop: a crashed primary still steps down', async () => {
    const l = landscape(1500, 1500);
    await l.a.start();
    await l.clock.advanceBy(1000);
    await l.b.start();
    await l.clock.advanceBy(10_300);
    const crashed = l.clock.now();
    l.hanaA.health = stoppedPrimaryHealth();
    let stepDown: AgentEvent | undefined;
    for (let i = 0; i < 60 && stepDown === undefined; i++) {
      poke(l);
      await l.clock.advanceBy(700);
      stepDown = actionOf(l.events, 'A', 'step-down');
    }
    expect(stepDown).toBeDefined();
    expect(stepDown!.t - crashed).toBeLessThanOrEqual(THRESHOLD * (INTERVAL + 1500));
    expect(l.hanaA.maxInFlight).toBe(1);
    l.a.kill();
    l.b.kill();
  });

  for (const probeMs of [100, 1500, 2900]) {
    it(`blips shorter than (threshold - 1) x interval never hand the key on, with wakes at every phase (probes of ${probeMs} ms, aborted ones "failed")`, async () => {
      const l = landscape(probeMs, probeMs);
      l.hanaA.abortedAnswer = stoppedPrimaryHealth();
      await l.a.start();
      await l.clock.advanceBy(1000);
      await l.b.start();
      await l.clock.advanceBy(10_000);
      expect((await l.coordination.read('ha1')).leader?.site).toBe('A');
      const healthy = l.hanaA.health;
      const blip = (THRESHOLD - 1) * INTERVAL - 1;
      for (let phase = 0; phase < 4000; phase += 250) {
        await l.clock.advanceBy(phase % INTERVAL === 0 ? 7 : 250);
        l.hanaA.health = stoppedPrimaryHealth();
        // Wakes during the blip, at a phase of their own.
        for (let t = 0; t < blip; t += 900) {
          const step = Math.min(900, blip - t);
          await l.clock.advanceBy(Math.floor(step / 2));
          poke(l);
          await l.clock.advanceBy(step - Math.floor(step / 2));
        }
        l.hanaA.health = healthy;
        await l.clock.advanceBy(2 * INTERVAL + 2 * probeMs);
      }
      expect(l.events.filter((e) => e.action === 'step-down' || e.action === 'takeover')).toEqual([]);
      expect((await l.coordination.read('ha1')).leader?.site).toBe('A');
      expect(l.hanaA.maxInFlight).toBe(1);
      l.a.kill();
      l.b.kill();
    });
  }
});
