/**
 * The silence windows are whole milliseconds, never shorter than the settings say: 13 × 1.3 s is
 * 16900.000000000004 ms in floating point, and the agent's wake a few picoseconds ahead of now
 * never moved virtual time (sim:fuzz 1326091883 never ended).
 */
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/api/spec.js';
import { leaderSilenceWindowMs, wholeMs } from '../../src/domain/decide.js';

const spec = (failureThreshold: number, intervalSeconds: number, timeoutSeconds: number) =>
  parseSpec({
    sid: 'HA1',
    instanceNumber: '00',
    sites: [
      { name: 'A', host: 'hana-a' },
      { name: 'B', host: 'hana-b' },
    ],
    replication: { logShippingTimeoutSeconds: 42 },
    takeover: { failureThreshold },
    probes: { intervalSeconds, timeoutSeconds },
    lease: { ttlSeconds: 23 },
  });

describe('leaderSilenceWindowMs', () => {
  it('is 16900 ms for 13 × 1.3 s, not 16900.000000000004', () => {
    expect(13 * 1.3 * 1000).not.toBe(16_900);
    expect(leaderSilenceWindowMs(spec(13, 1.3, 3.8))).toBe(16_900);
  });

  it('is a whole number of milliseconds for every threshold and interval, and never shorter than the settings', () => {
    for (let threshold = 1; threshold <= 20; threshold++)
      for (const interval of [0.1, 0.2, 0.3, 0.7, 1.1, 1.3, 2, 2.9, 3.3]) {
        const w = leaderSilenceWindowMs(spec(threshold, interval, 1));
        expect(Number.isInteger(w)).toBe(true);
        expect(w).toBeGreaterThanOrEqual(Math.round(threshold * interval * 1000));
      }
  });

  it('wholeMs rounds a real fraction up and a floating-point error away', () => {
    expect([wholeMs(16_900.000000000004), wholeMs(1200.5), wholeMs(1200), wholeMs(0.2)]).toEqual([
      16_900, 1201, 1200, 1,
    ]);
  });
});
