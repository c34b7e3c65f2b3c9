/**
 * Different seeds must give different schedules: a run's count means nothing otherwise. The seed
 * fold of the simulator's Prng once multiplied in doubles, and above 2^53 the product's low bits
 * were gone: consecutive sim:fuzz seeds near 7 x 10^8 fell on at most 2,048 states, and five seeds
 * of one 18,000-schedule run played the very same schedule.
 */
import { describe, expect, it } from 'vitest';
import { randomCase } from '../../src/sim/fuzz/generate.js';
import { foldSeed, Prng } from '../../src/standins/hana-sim/prng.js';

const schedule = (seed: number) => {
  const { name: _name, seed: _seed, ...rest } = randomCase(seed).input as Record<string, unknown>;
  return JSON.stringify(rest);
};

describe('seeds', () => {
  it('small seeds keep the fold every scenario file replays with', () => {
    for (const seed of [0, 1, 5, 17, 42, 4242, 3_000_000])
      expect(foldSeed(seed)).toBe(Math.floor(seed * 2654435761) >>> 0);
    expect(new Prng(5).next()).toBe(new Prng(5).next());
  });

  it('large seeds, as sim:fuzz and its CI run draw them, give different states and streams', () => {
    for (const base of [731_000_000, 120_000_000, 4_000_000_000 * 7919]) {
      const states = new Set<number>();
      const firsts = new Set<number>();
      for (let i = 0; i < 4000; i++) {
        states.add(foldSeed((base + i) * 7919 + 17));
        firsts.add(new Prng((base + i) * 7919 + 17).next());
      }
      expect(states.size).toBe(4000);
      expect(firsts.size).toBeGreaterThan(3990);
    }
  });

  it('the seeds of the run that found five copies of one schedule give five schedules', () => {
    const seeds = [731003044, 731006724, 731007837, 731012630, 731017423];
    expect(new Set(seeds.map(schedule)).size).toBe(5);
  });

  it('300 consecutive seeds of a fresh run give 300 different schedules', () => {
    const base = 987_654_321;
    const all = new Set<string>();
    for (let i = 0; i < 300; i++) all.add(schedule(base + i));
    expect(all.size).toBe(300);
  });
});
