/**
 * The off-then-confirm procedure over the simulated fence device, under random device failures,
 * hangs, restores and a concurrent power-on, in virtual time. Properties:
 * - a confirmed fence means the node was really off at that instant (never "unknown = success");
 * - a device that never works never yields a confirmation;
 * - the procedure ends by its deadline (plus at most one status interval of rounding: none).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock.js';
import { SimNodeDevices } from '../../src/standins/hana-sim/devices.js';
import { SimLandscape } from '../../src/standins/hana-sim/model.js';
import { fenceOff } from '../../src/fencing/procedure.js';
import type { FenceOutcome } from '../../src/fencing/port.js';

const runs = Number(process.env.HANASR_PROPERTY_RUNS ?? 25) * 4;
const seed0 = Number(process.env.HANASR_PROPERTY_SEED ?? 42);

type DeviceEvent = { at: number; kind: 'fails' | 'hangs' | 'works' | 'power-on' };

const eventArb = fc.record({
  at: fc.integer({ min: 0, max: 40_000 }),
  kind: fc.constantFrom('fails' as const, 'hangs' as const, 'works' as const, 'power-on' as const),
});

describe('fenceOff under random device behaviour', () => {
  it('confirms only a node that is off, never through a device that never works, and ends by its deadline', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('works' as const, 'fails' as const, 'hangs' as const),
        fc.array(eventArb, { maxLength: 6 }),
        fc.integer({ min: 1000, max: 30_000 }),
        fc.integer({ min: 200, max: 10_000 }),
        fc.integer({ min: 100, max: 3000 }),
        async (initial, events: DeviceEvent[], timeoutMs, callTimeoutMs, statusIntervalMs) => {
          const clock = new VirtualClock(Date.UTC(2026, 0, 1));
          const model = new SimLandscape({
            sid: 'HA1',
            instanceNumber: '00',
            sites: [
              { name: 'A', host: 'hana-a' },
              { name: 'B', host: 'hana-b' },
            ],
            initialPrimary: 'A',
            mode: 'sync',
            operationMode: 'logreplay',
            logShippingTimeoutSeconds: 30,
            clock,
            seed: 1,
            writesPerSecond: 0,
          });
          const devices = new SimNodeDevices({ model, clock, watchdogTimeoutSeconds: 7, bootSeconds: 5 });
          if (initial !== 'works') devices.failFencing('A', initial === 'hangs');
          let everWorked = initial === 'works';
          for (const e of events) {
            clock.setTimer(e.at, () => {
              if (e.kind === 'works') {
                everWorked = true;
                devices.restoreFencing('A');
              } else if (e.kind === 'power-on') {
                // Someone else powers the node on (through a working device only).
                void devices.fenceAgent('B').call('A', 'on', { timeoutMs: 5000 });
              } else {
                devices.failFencing('A', e.kind === 'hangs');
              }
            });
          }
          let powerAtEnd: string | undefined;
          const outcome: Promise<FenceOutcome> = fenceOff(devices.fenceAgent('B'), 'A', {
            clock,
            timeoutMs,
            callTimeoutMs: Math.min(callTimeoutMs, timeoutMs),
            statusIntervalMs,
          }).then((o) => {
            powerAtEnd = devices.state('A').power;
            return o;
          });
          await clock.advanceBy(timeoutMs + 1000);
          const o = await outcome;
          if (o.result === 'confirmed') {
            expect(powerAtEnd).toBe('off');
            expect(everWorked).toBe(true);
          }
          if (!everWorked) expect(o.result).not.toBe('confirmed');
          expect(o.endedAt - o.startedAt).toBeLessThanOrEqual(timeoutMs);
          devices.dispose();
          model.dispose();
        },
      ),
      { numRuns: runs, seed: seed0 },
    );
  }, 120_000);
});
