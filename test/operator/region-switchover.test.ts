/**
 * The region switchover's steps with the stores (src/operator/region-switchover.ts), on in-process
 * stores: every store call has a deadline (a store that never answers is unreachable, never
 * "fine"), a handover waits for the old primary's token and a running target, and an abort never
 * runs beside a handover that may already be in the target region's store.
 */
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/api/spec.js';
import { realClock } from '../../src/clock.js';
import { MemoryCoordination } from '../../src/coordination/memory.js';
import type { RegionRecord } from '../../src/domain/region.js';
import {
  requestRegionSwitchover,
  stepRegionSwitchover,
  type SwitchoverStore,
  type SwitchoverStores,
} from '../../src/operator/region-switchover.js';
import { link, primaryHealth, report, secondaryHealth } from '../support/observations.js';

const WEST = 'eu-west';
const NORTH = 'eu-north';
const CLUSTER = 'hana.ha1';
const spec = parseSpec({
  sid: 'HA1',
  instanceNumber: '00',
  sites: [
    { name: 'A', host: 'hana-a', region: WEST },
    { name: 'B', host: 'hana-b', region: WEST },
    { name: 'C', host: 'hana-c', region: NORTH },
  ],
});
const DEADLINE = 60_000;

/** A store that never answers (a partition that drops packets). */
const silent: SwitchoverStore = {
  read: () => new Promise(() => {}),
  writeRegion: () => new Promise(() => {}),
  addIntent: () => new Promise(() => {}),
};

async function landscape(
  over: { token?: Partial<NonNullable<RegionRecord['token']>>; cRunning?: boolean } = {},
) {
  const west = new MemoryCoordination(realClock);
  const north = new MemoryCoordination(realClock);
  const now = Date.now();
  await west.writeRegion(CLUSTER, { generation: 1, active: WEST, since: now, by: 'bootstrap' }, null);
  await north.writeRegion(CLUSTER, { generation: 1, active: WEST, since: now, by: 'adopted' }, null);
  const a = west.session(CLUSTER, 'A', 10);
  await a.start();
  await a.acquireLeader(0, now);
  await a.publishReport(
    report('A', primaryHealth([link('B'), link('C', { mode: 'async' })]), { epoch: 1, leader: true }),
  );
  const c = north.session(CLUSTER, 'C', 10);
  await c.start();
  await c.publishReport(
    report('C', over.cRunning === false ? secondaryHealth('A', { running: false }) : secondaryHealth('A')),
  );
  return { west, north, now };
}

const stores = (
  west: MemoryCoordination,
  target: SwitchoverStore | null,
  timeoutMs = 200,
): SwitchoverStores => ({
  cluster: CLUSTER,
  active: west,
  target,
  timeoutMs,
});

/** The draining record as the request writes it, with the token the old primary's agent recorded. */
async function draining(
  west: MemoryCoordination,
  north: MemoryCoordination,
  since: number,
  position?: number,
) {
  const answer = await requestRegionSwitchover(
    spec,
    'C',
    stores(west, north),
    { generation: 1, epoch: 1 },
    since,
  );
  expect(answer).toMatchObject({ ok: true });
  const drain = (await west.read(CLUSTER)).region!;
  if (position !== undefined)
    await west.writeRegion(
      CLUSTER,
      { ...drain, token: { ...drain.token!, logPosition: position } },
      drain.generation,
    );
  return drain;
}

describe('region switchover with the stores', () => {
  it('a target store that never answers is unreachable within the deadline: refused, nothing written', async () => {
    const { west, now } = await landscape();
    const started = Date.now();
    const answer = await requestRegionSwitchover(
      spec,
      'C',
      stores(west, silent, 150),
      { generation: 1, epoch: 1 },
      now,
    );
    expect(answer).toMatchObject({ ok: false, reason: 'target_region_unreachable' });
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await west.read(CLUSTER)).region?.generation).toBe(1);
  });

  it('refused without a writable store of the target region (the operator has no peer)', async () => {
    const { west, now } = await landscape();
    const answer = await requestRegionSwitchover(
      spec,
      'C',
      stores(west, null),
      { generation: 1, epoch: 1 },
      now,
    );
    expect(answer).toMatchObject({ ok: false, reason: 'target_region_unknown' });
  });

  it('withdraws first, then writes the draining record naming the target', async () => {
    const { west, north, now } = await landscape();
    const order: string[] = [];
    const answer = await requestRegionSwitchover(
      spec,
      'C',
      stores(west, north),
      { generation: 1, epoch: 1 },
      now,
      async () => {
        order.push(`withdraw at generation ${(await west.read(CLUSTER)).region?.generation}`);
      },
    );
    expect(answer.ok).toBe(true);
    expect(order).toEqual(['withdraw at generation 1']);
    expect((await west.read(CLUSTER)).region).toMatchObject({
      generation: 2,
      active: NORTH,
      draining: true,
      token: { fromSite: 'A', epoch: 1, generation: 1, toSite: 'C' },
    });
  });

  it('waits without a token, hands over once the token is recorded and C runs as a secondary', async () => {
    const { west, north, now } = await landscape();
    await draining(west, north, now);
    expect((await stepRegionSwitchover(spec, stores(west, north), DEADLINE, now + 1000, 'sw')).kind).toBe(
      'wait',
    );
    const drain = (await west.read(CLUSTER)).region!;
    await west.writeRegion(CLUSTER, { ...drain, token: { ...drain.token!, logPosition: 900 } }, 2);
    const step = await stepRegionSwitchover(spec, stores(west, north), DEADLINE, now + 2000, 'sw');
    expect(step).toMatchObject({ kind: 'handover', target: 'C' });
    const n = await north.read(CLUSTER);
    expect(n.region).toMatchObject({
      generation: 3,
      active: NORTH,
      by: 'switchover',
      token: { logPosition: 900 },
    });
    expect(n.intents).toEqual([
      expect.objectContaining({ kind: 'disaster-takeover', target: 'C', generation: 3 }),
    ]);
    expect((await west.read(CLUSTER)).region).toMatchObject({ generation: 3, active: NORTH, by: 'adopted' });
  });

  it('no handover to a target that does not report itself running as a secondary', async () => {
    const { west, north, now } = await landscape({ cRunning: false });
    await draining(west, north, now, 900);
    expect((await stepRegionSwitchover(spec, stores(west, north), DEADLINE, now + 1000, 'sw')).kind).toBe(
      'wait',
    );
    expect((await north.read(CLUSTER)).intents).toEqual([]);
  });

  it('aborts at the deadline without a token even when the target store is unreachable', async () => {
    const { west, north, now } = await landscape();
    await draining(west, north, now);
    const step = await stepRegionSwitchover(spec, stores(west, silent, 150), DEADLINE, now + DEADLINE, 'sw');
    expect(step).toMatchObject({ kind: 'abort', target: 'C' });
    expect((await west.read(CLUSTER)).region).toMatchObject({ generation: 3, active: WEST });
  });

  it('an abort an agent adopted into the active store before the operator wrote it there is still an abort (its Event is not lost)', async () => {
    const { west, north, now } = await landscape();
    await draining(west, north, now);
    // eu-north's store, with an agent of eu-west whose region link copies the newer generation
    // into eu-west's store the moment it lands (the race a CI run under load lost the Event to).
    const adopting: SwitchoverStore = {
      read: (c) => north.read(c),
      addIntent: (c, i) => north.addIntent(c, i),
      writeRegion: async (c, record, expected) => {
        const ok = await north.writeRegion(c, record, expected);
        if (ok) await west.writeRegion(c, { ...record, by: 'adopted' }, 2);
        return ok;
      },
    };
    const step = await stepRegionSwitchover(spec, stores(west, adopting), DEADLINE, now + DEADLINE, 'sw');
    expect(step).toMatchObject({ kind: 'abort', target: 'C' });
    expect((await west.read(CLUSTER)).region).toMatchObject({ generation: 3, active: WEST });
    expect((await west.read(CLUSTER)).region?.draining).toBeUndefined();
  });

  it('break it: after the token, an unreachable target store means stuck, never an abort beside a possible handover', async () => {
    const { west, north, now } = await landscape();
    await draining(west, north, now, 900);
    // A handover reached eu-north (a step that ended before adopting it), then the link failed.
    await north.writeRegion(CLUSTER, { generation: 3, active: NORTH, since: now, by: 'switchover' }, 1);
    const step = await stepRegionSwitchover(spec, stores(west, silent, 150), DEADLINE, now + DEADLINE, 'sw');
    expect(step).toMatchObject({ kind: 'stuck', reason: 'target_region_unreachable' });
    expect((await west.read(CLUSTER)).region).toMatchObject({ generation: 2, draining: true });
    // Once eu-north answers again, its handover is adopted: never two generations 3.
    const again = await stepRegionSwitchover(spec, stores(west, north), DEADLINE, now + DEADLINE, 'sw');
    expect(again.kind).toBe('wait');
    expect((await west.read(CLUSTER)).region).toMatchObject({ generation: 3, active: NORTH, by: 'adopted' });
  });
});
