import { VirtualClock } from '../../../src/clock.js';
import { SimLandscape, type SimLandscapeOptions } from '../../../src/standins/hana-sim/model.js';
import type { SimLink } from '../../../src/standins/hana-sim/snapshot.js';

export const T0 = Date.UTC(2026, 0, 15, 8, 0, 0);

export function landscape(overrides: Partial<Omit<SimLandscapeOptions, 'clock'>> = {}): {
  clock: VirtualClock;
  sim: SimLandscape;
} {
  const clock = new VirtualClock(T0);
  const sim = new SimLandscape({
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
    seed: 7,
    writesPerSecond: 20,
    ...overrides,
    clock,
  });
  return { clock, sim };
}

export function link(sim: SimLandscape, source: string, secondary: string): SimLink {
  const found = sim
    .site(source)
    .snapshot()
    .links.find((l) => l.secondarySite === secondary);
  if (!found) throw new Error(`no link ${source} -> ${secondary}`);
  return found;
}

export function lagSeconds(l: SimLink): number {
  return (l.lastLogPositionTime - l.shippedLogPositionTime) / 1000;
}

export function lagBytes(l: SimLink): number {
  return (l.lastLogPosition - l.shippedLogPosition) * 64;
}

export function eventsOf(sim: SimLandscape, event: string): { t: number; site: string; reason: string }[] {
  return sim.events().filter((e) => e.event === event);
}
