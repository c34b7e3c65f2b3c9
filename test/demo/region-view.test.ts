/**
 * The two-region demo while a planned region switchover drains (docs/dr.md "In the demo"): the
 * draining record lives only in the store of the region that gives up, so that region stays the
 * one the demo reads (before, the draining record's `active`, the target region, was taken as
 * active: the screen then read the target's store and showed its older record), and the screen
 * says that a switchover drains. Real in-memory stores, the demo's own DemoRegions and screen.
 */
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/api/spec.js';
import { realClock } from '../../src/clock.js';
import { MemoryCoordination } from '../../src/coordination/memory.js';
import type { RegionRecord } from '../../src/domain/region.js';
import type { Demo } from '../../src/demo/landscape.js';
import { DemoRegions, type RegionPlumbing } from '../../src/demo/regions.js';
import { screen } from '../../src/demo/view.js';
import type { SimLandscape } from '../../src/standins/hana-sim/model.js';

const CLUSTER = 'hana/ha1';
const spec = parseSpec({
  sid: 'HA1',
  instanceNumber: '00',
  sites: [
    { name: 'A', host: 'hana-a', region: 'eu-west' },
    { name: 'B', host: 'hana-b', region: 'eu-west' },
    { name: 'C', host: 'hana-c', region: 'eu-north' },
  ],
});

describe('the demo while a region switchover drains', () => {
  it('reads the region that gives up, and its screen says the switchover drains', async () => {
    const west = new MemoryCoordination(realClock);
    const north = new MemoryCoordination(realClock);
    const g2: RegionRecord = { generation: 2, active: 'eu-west', since: 1, by: 'adopted' };
    expect(await west.writeRegion(CLUSTER, g2, null)).toBe(true);
    expect(await north.writeRegion(CLUSTER, g2, null)).toBe(true);
    const drain: RegionRecord = {
      generation: 3,
      active: 'eu-north',
      since: 2,
      by: 'switchover',
      draining: true,
      token: { fromSite: 'A', epoch: 1, generation: 2, toSite: 'C' },
    };
    expect(await west.writeRegion(CLUSTER, drain, 2)).toBe(true);
    // refresh() reads only each region's store (the demo's plumbing holds more: API, proxies).
    const plumbing = new Map([
      ['eu-west', { region: 'eu-west', store: west } as unknown as RegionPlumbing],
      ['eu-north', { region: 'eu-north', store: north } as unknown as RegionPlumbing],
    ]);
    const regions = new DemoRegions(
      spec,
      plumbing,
      undefined as unknown as SimLandscape,
      CLUSTER,
      'ha1',
      'A',
    );
    expect(await regions.refresh()).toBe('eu-west');

    // The handover written into both stores: eu-north is active.
    const g4: RegionRecord = { generation: 4, active: 'eu-north', since: 3, by: 'switchover' };
    expect(await north.writeRegion(CLUSTER, g4, 2)).toBe(true);
    expect(await regions.refresh()).toBe('eu-north');
    expect(await west.writeRegion(CLUSTER, { ...g4, by: 'adopted' }, 3)).toBe(true);
    expect(await regions.refresh()).toBe('eu-north');

    const demo = {
      namespace: 'hana',
      name: 'ha1',
      kubeconfigPath: '/tmp/kubeconfig-eu-west',
      regions: [],
      activeRegion: () => 'eu-west',
      sql: { rw: '127.0.0.1:30015', user: 'SYSTEM', passwordFile: '/tmp/pw' },
      rows: () => [],
      timeline: [],
    } as unknown as Demo;
    const base = await west.read(CLUSTER);
    const header = (region: RegionRecord) => screen(demo, { ...base, region }, 400)[0];
    expect(header(drain)).toContain(
      'leader none, region switchover A -> C (to eu-north) draining at generation 3',
    );
    expect(header(g4)).toContain('region eu-north active at generation 4');
  });
});
