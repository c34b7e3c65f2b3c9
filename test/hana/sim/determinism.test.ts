import { describe, it, expect } from 'vitest';
import { Prng } from '../../../src/standins/hana-sim/prng.js';
import { landscape } from './helpers.js';

async function play(seed: number) {
  const { clock, sim } = landscape({ seed, mode: 'async' });
  await clock.advanceBy(30_000);
  sim.setLinkSlowdown('B', 3000);
  await clock.advanceBy(30_000);
  sim.killIndexserver('A');
  await clock.advanceBy(20_000);
  sim.crashInstance('A');
  sim.site('B').takeover({ handshake: false });
  await clock.advanceBy(30_000);
  const result = {
    events: sim.events(),
    stats: sim.stats('B'),
    a: sim.site('A').snapshot(),
    b: sim.site('B').snapshot(),
  };
  sim.dispose();
  return result;
}

describe('determinism', () => {
  it('the same seed gives the same timeline, figures and snapshots', async () => {
    const first = await play(42);
    const second = await play(42);
    expect(second).toEqual(first);
    expect(first.stats.lostCommittedWrites).toBeGreaterThan(0);
  });

  it('another seed gives other pids, positions and event times', async () => {
    const first = await play(42);
    const other = await play(43);
    expect(other.b.processes.map((p) => p.pid)).not.toEqual(first.b.processes.map((p) => p.pid));
    expect(other.a.links).not.toEqual(first.a.links);
    expect(other.events).not.toEqual(first.events);
  });

  it('the PRNG repeats its sequence for a seed and stays in range', () => {
    const a = new Prng(5);
    const b = new Prng(5);
    const xs = Array.from({ length: 1000 }, () => a.next());
    expect(Array.from({ length: 1000 }, () => b.next())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(xs).size).toBeGreaterThan(990);
    const ints = Array.from({ length: 1000 }, () => a.int(1, 6));
    expect(Math.min(...ints)).toBe(1);
    expect(Math.max(...ints)).toBe(6);
  });
});

describe('clock use', () => {
  it('keeps one heartbeat timer on the injected clock and cancels it on dispose', async () => {
    const { clock, sim } = landscape();
    expect(clock.nextTimerAt()).toBe(clock.now() + 5000);
    await clock.advanceBy(12_000);
    expect(clock.nextTimerAt()).toBe(clock.now() + 3000);
    sim.dispose();
    expect(clock.nextTimerAt()).toBeUndefined();
  });

  it('reports snapshot times on the wall clock given by startedAt', async () => {
    const { clock, sim } = landscape({ startedAt: Date.UTC(2030, 5, 1) });
    await clock.advanceBy(2500);
    expect(sim.site('A').snapshot().now).toBe(Date.UTC(2030, 5, 1) + 2500);
    sim.dispose();
  });
});
