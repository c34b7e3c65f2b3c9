/**
 * Regions (docs/dr.md, src/domain/region.ts): only the active region leads, terms of two regions
 * are ordered by the region generation, and a returning old region never runs a second primary.
 * Three sites: A and B in eu-west (sync, automatic takeover), C in eu-north (DR, async).
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/domain/decide.js';
import {
  drainCheck,
  estimateDataLoss,
  linkReplicationMode,
  planRegionSwitchover,
  regionRecordToWrite,
  regionSwitchoverNext,
  regionVerdict,
  type PeerRegionView,
  type RegionRecord,
  type RegionView,
} from '../../src/domain/region.js';
import type { PeerView } from '../../src/domain/observation.js';
import type { Intent } from '../../src/domain/types.js';
import {
  EPOCH,
  T,
  aLeaderFailed,
  aLeaderHealthy,
  bAfterPrimaryLoss,
  free,
  held,
  link,
  local,
  observation,
  peerSecondary,
  peerStoppedPrimary,
  peerWritablePrimary,
  primaryHealth,
  report,
  secondaryHealth,
  spec,
  stoppedPrimaryHealth,
  syncRecord,
  unreachable,
} from '../support/observations.js';

const WEST = 'eu-west';
const NORTH = 'eu-north';

const twoRegions = (
  over: { automatedRegister?: boolean; multitier?: boolean; sourceOfC?: string; fence?: boolean } = {},
) =>
  spec({
    sites: [
      { name: 'A', host: 'hana-a', region: WEST },
      { name: 'B', host: 'hana-b', region: WEST },
      {
        name: 'C',
        host: 'hana-c',
        region: NORTH,
        ...(over.multitier ? { source: 'B' } : over.sourceOfC ? { source: over.sourceOfC } : {}),
      },
    ],
    takeover: { automatedRegister: over.automatedRegister ?? true },
    ...(over.fence ? { fencing: { agent: { command: 'fence_dummy' } } } : {}),
  });

const rec = (generation: number, active: string, by: RegionRecord['by'] = 'bootstrap'): RegionRecord => ({
  generation,
  active,
  since: T - 3_600_000,
  by,
});
const peer = (
  region: string,
  record: RegionRecord | null,
  over: Partial<PeerRegionView> = {},
): PeerRegionView => ({
  region,
  reachable: true,
  record,
  leader: null,
  ...over,
});
/** The view of an agent in `region` whose own store holds `own`. */
const view = (
  region: string,
  own: RegionRecord | null,
  peers: PeerRegionView[],
  confirmed = true,
): RegionView => ({ region, own, peers, confirmed });

/** A west agent's view in the steady state: west active at generation 1, north agrees. */
const westActive = () => view(WEST, rec(1, WEST), [peer(NORTH, rec(1, WEST, 'adopted'))]);
/** After a disaster takeover to C: north holds generation 2. */
const northTookOver = (leader: string | null = 'C') => peer(NORTH, rec(2, NORTH, 'disaster'), { leader });

describe('schema', () => {
  it('accepts two regions and refuses a site without one, or a third region', () => {
    expect(twoRegions().sites.map((s) => s.region)).toEqual([WEST, WEST, NORTH]);
    expect(() =>
      spec({
        sites: [
          { name: 'A', host: 'hana-a', region: WEST },
          { name: 'B', host: 'hana-b' },
        ],
      }),
    ).toThrow(/sites\[1\]\.region: every site names its region/);
    expect(() =>
      spec({
        sites: [
          { name: 'A', host: 'hana-a', region: 'r1' },
          { name: 'B', host: 'hana-b', region: 'r2' },
          { name: 'C', host: 'hana-c', region: 'r3' },
        ],
      }),
    ).toThrow(/at most two regions/);
  });

  it('links across regions are async, inside a region the spec mode', () => {
    const s = twoRegions();
    expect(linkReplicationMode(s, 'B', 'A')).toBe('sync');
    expect(linkReplicationMode(s, 'C', 'A')).toBe('async');
    expect(linkReplicationMode(s, 'A', 'C')).toBe('async');
    expect(linkReplicationMode(spec(), 'B', 'A')).toBe('sync');
  });
});

describe('regionVerdict: who may start a term', () => {
  const s = twoRegions();
  const cases: {
    name: string;
    self: string;
    view: RegionView | undefined;
    mayLead: boolean;
    reason: string;
  }[] = [
    {
      name: 'active region, read the other',
      self: 'A',
      view: westActive(),
      mayLead: true,
      reason: 'region_active',
    },
    {
      name: 'no region view at all',
      self: 'A',
      view: undefined,
      mayLead: false,
      reason: 'region_view_missing',
    },
    {
      name: 'fresh agent that has not read the other region',
      self: 'A',
      view: view(WEST, rec(1, WEST), [peer(NORTH, null, { reachable: false })], false),
      mayLead: false,
      reason: 'region_unconfirmed',
    },
    {
      name: 'other region holds a higher generation not yet adopted',
      self: 'A',
      view: view(WEST, rec(1, WEST), [northTookOver()]),
      mayLead: false,
      reason: 'region_generation_behind',
    },
    {
      name: 'adopted: the own store names the other region',
      self: 'A',
      view: view(WEST, rec(2, NORTH, 'adopted'), [northTookOver()]),
      mayLead: false,
      reason: 'region_not_active',
    },
    {
      name: 'DR site in steady state',
      self: 'C',
      view: view(NORTH, rec(1, WEST, 'adopted'), [peer(WEST, rec(1, WEST))]),
      mayLead: false,
      reason: 'region_not_active',
    },
    {
      name: 'DR region after a disaster takeover, old region unreachable, agent restarted since',
      self: 'C',
      view: view(NORTH, rec(2, NORTH, 'disaster'), [peer(WEST, null, { reachable: false })], false),
      mayLead: true,
      reason: 'region_active',
    },
    {
      name: 'two disaster takeovers at the same generation (partition): nobody',
      self: 'C',
      view: view(NORTH, rec(2, NORTH, 'disaster'), [peer(WEST, rec(2, WEST, 'disaster'))]),
      mayLead: false,
      reason: 'region_generation_conflict',
    },
    {
      name: 'no record anywhere yet',
      self: 'A',
      view: view(WEST, null, [peer(NORTH, null)]),
      mayLead: false,
      reason: 'region_uninitialised',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const v = regionVerdict(s, c.self, c.view);
      expect(v.mayLead).toBe(c.mayLead);
      expect(v.reason).toBe(c.reason);
      expect(v.message.length).toBeGreaterThan(10);
    });
  }
  it('one region: no rule', () => {
    expect(regionVerdict(spec(), 'A', undefined).mayLead).toBe(true);
  });
});

describe('regionRecordToWrite: adopt a higher generation, bootstrap the first', () => {
  const s = twoRegions();
  it('adopts the other region’s higher generation before anything else', () => {
    const w = regionRecordToWrite(
      s,
      'A',
      view(WEST, rec(1, WEST), [northTookOver()]),
      stoppedPrimaryHealth(),
      T,
    );
    expect(w).toMatchObject({ generation: 2, active: NORTH, by: 'adopted' });
  });
  it('bootstraps generation 1 from a running primary once the other region was read and holds none', () => {
    const w = regionRecordToWrite(s, 'A', view(WEST, null, [peer(NORTH, null)]), primaryHealth(), T);
    expect(w).toEqual({ generation: 1, active: WEST, since: T, by: 'bootstrap' });
  });
  it('never bootstraps blind: other region unread, or not a running primary', () => {
    expect(
      regionRecordToWrite(
        s,
        'A',
        view(WEST, null, [peer(NORTH, null, { reachable: false })], false),
        primaryHealth(),
        T,
      ),
    ).toBeNull();
    expect(
      regionRecordToWrite(s, 'B', view(WEST, null, [peer(NORTH, null)]), secondaryHealth(), T),
    ).toBeNull();
    expect(regionRecordToWrite(s, 'A', westActive(), primaryHealth(), T)).toBeNull();
  });
});

describe('inside the active region: automatic takeover as before', () => {
  it('B takes over from a lost A (C in the other region is no candidate)', () => {
    const d = decide(bAfterPrimaryLoss({ region: westActive() }), twoRegions(), T);
    expect(d.action.kind).toBe('takeover');
  });
  it('the failed leader A steps down for B', () => {
    const d = decide(aLeaderFailed({ region: westActive() }), twoRegions(), T);
    expect(d.action).toMatchObject({ kind: 'step-down', fence: 'stop' });
  });
  it('a healthy leader keeps leading', () => {
    expect(decide(aLeaderHealthy({ region: westActive() }), twoRegions(), T).reason).toBe('leader_healthy');
  });
  it('the same takeover is refused without a region view (unknown is never healthy)', () => {
    const d = decide(bAfterPrimaryLoss(), twoRegions(), T);
    expect(d.action.kind).toBe('none');
    expect(d.reason).toBe('region_view_missing');
  });
  it('a fresh agent keeps a running leading primary, but does not take over', () => {
    const fresh = view(WEST, rec(1, WEST), [peer(NORTH, rec(1, WEST), { reachable: false })], false);
    expect(decide(aLeaderHealthy({ region: fresh }), twoRegions(), T).reason).toBe('leader_healthy');
    const d = decide(bAfterPrimaryLoss({ region: fresh }), twoRegions(), T);
    expect(d.action.kind).toBe('none');
    expect(d.reason).toBe('region_unconfirmed');
  });
});

describe('the DR site (C in the other region)', () => {
  const cView = () => view(NORTH, rec(1, WEST, 'adopted'), [peer(WEST, rec(1, WEST), { leader: 'B' })]);

  it('is never promoted, even in sync with the key free in its own store', () => {
    const d = decide(
      observation({
        self: 'C',
        local: local(secondaryHealth('A', { srMode: 'async' })),
        leader: free(0, null),
        sync: { C: syncRecord('C') },
        region: cView(),
      }),
      twoRegions(),
      T,
    );
    expect(d.action.kind).toBe('none');
  });

  /** C, a running async secondary of `source`, decides with these direct checks of A and B. */
  const cDecides = (
    source: string,
    peers: Record<string, PeerView>,
    over: Parameters<typeof twoRegions>[0] = {},
  ) =>
    decide(
      observation({
        self: 'C',
        local: local(secondaryHealth(source, { srMode: 'async' })),
        leader: free(0, null),
        peers,
        region: cView(),
      }),
      twoRegions(over),
      T,
    );
  const aGoneBWrites = { A: unreachable, B: peerWritablePrimary };
  const aFollowsB = { A: peerSecondary('B'), B: peerWritablePrimary };

  it('multitarget: re-registers online to the new in-region primary when its source (the old primary) is gone', () => {
    const d = cDecides('A', aGoneBWrites);
    expect(d.action).toMatchObject({ kind: 'register', primary: 'B', online: true });
    expect(d.reason).toBe('dr_reregister_to_new_source');
  });

  it('multitarget: moves to the new primary when the old source is back as its secondary before C saw it stop', () => {
    // The CI race: A stopped, B took over, and A ran again as B's secondary before C's agent saw
    // A stopped. C would stay a tier-3 of A, a chain the spec does not describe.
    const d = cDecides('A', aFollowsB);
    expect(d.action).toMatchObject({ kind: 'register', primary: 'B', online: true });
    expect(d.reason).toBe('dr_reregister_to_new_source');
    expect(d.message).toMatch(/replicates from A, now a secondary itself: registering it with B/);
    const off = cDecides('A', aFollowsB, { automatedRegister: false });
    expect(off.action.kind).toBe('none');
    expect(off.reason).toBe('dr_secondary_of_old_source');
  });

  it.each([
    [
      'multitier with source A configured: stays on A when A became the secondary of B',
      'A',
      aFollowsB,
      { sourceOfC: 'A' },
      'region_secondary',
    ],
    [
      'multitier A->B->C: stays with B when B became the primary',
      'B',
      aGoneBWrites,
      { multitier: true },
      'region_secondary',
    ],
    [
      'waits for the DBA when automatedRegister is off',
      'A',
      aGoneBWrites,
      { automatedRegister: false },
      'dr_secondary_of_old_source',
    ],
    [
      'does not move while its source still runs (DR link loss is no reason to act)',
      'A',
      { A: peerWritablePrimary, B: peerSecondary('A') },
      {},
      'region_secondary',
    ],
    [
      'does not move while the primary is not seen writable (its old source a secondary, the new primary unknown)',
      'A',
      { A: peerSecondary('B'), B: { reachable: false, acceptsWrites: false } },
      {},
      'region_secondary',
    ],
  ] as const)('%s', (_name, source, peers, over, reason) => {
    const d = cDecides(source, peers, over);
    expect(d.action.kind).toBe('none');
    expect(d.reason).toBe(reason);
  });
});

describe('disaster takeover to C', () => {
  const disaster = (generation = 2): Intent => ({
    kind: 'disaster-takeover',
    id: 'dr-1',
    target: 'C',
    generation,
    epoch: 0,
  });
  const northActive = (over: Partial<RegionView> = {}): RegionView => ({
    ...view(NORTH, rec(2, NORTH, 'disaster'), [peer(WEST, rec(1, WEST), { reachable: false })]),
    ...over,
  });
  const cObs = (over: Parameters<typeof observation>[0] extends infer I ? Partial<I> : never = {}) =>
    observation({
      self: 'C',
      local: local(secondaryHealth('A', { srMode: 'async' })),
      leader: free(0, null),
      peers: { A: unreachable, B: unreachable },
      intents: [disaster()],
      region: northActive(),
      ...over,
    });

  it('promotes C without handshake once its region is active at the intent’s generation', () => {
    const d = decide(cObs(), twoRegions(), T);
    expect(d.action).toMatchObject({
      kind: 'takeover',
      handshake: false,
      expectedLastEpoch: 0,
      intentId: 'dr-1',
    });
    expect(d.reason).toBe('disaster_takeover');
  });
  it('fences the old region’s sites first where a fence agent is configured, each once', () => {
    const s = twoRegions({ fence: true });
    const first = decide(cObs(), s, T);
    expect(first.action).toMatchObject({ kind: 'fence-node', site: 'A' });
    const afterA = decide(
      cObs({
        fences: {
          A: {
            site: 'A',
            by: 'C',
            epoch: 0,
            action: 'off',
            result: 'timed-out',
            startedAt: T - 2000,
            endedAt: T - 1000,
            calls: 3,
            message: 'no answer',
          },
        },
      }),
      s,
      T,
    );
    expect(afterA.action).toMatchObject({ kind: 'fence-node', site: 'B' });
  });
  it('refuses an intent of another generation', () => {
    const d = decide(cObs({ intents: [disaster(3)] }), twoRegions(), T);
    expect(d.action).toMatchObject({ kind: 'refuse-intent', intentId: 'dr-1' });
    expect(d.reason).toBe('stale_generation');
  });
  it('does nothing while the region record does not name C’s region (the intent alone is not enough)', () => {
    const d = decide(
      cObs({
        region: view(NORTH, rec(1, WEST, 'adopted'), [peer(WEST, rec(1, WEST), { reachable: false })]),
      }),
      twoRegions(),
      T,
    );
    expect(d.action.kind).not.toBe('takeover');
  });
});

describe('the old region returns after a disaster takeover: never a second primary', () => {
  // A's node comes back: its store still says west is active at generation 1 and A holds a key
  // whose lease looks valid; its HANA is a stopped primary (Autostart=0).
  const returning = (region: RegionView, over: { running?: boolean; automatedRegister?: boolean } = {}) =>
    decide(
      observation({
        self: 'A',
        local: local(over.running ? primaryHealth([link('B')]) : stoppedPrimaryHealth()),
        leader: held('A', true, EPOCH),
        reports: { B: report('B', secondaryHealth('A')) },
        peers: { B: peerSecondary('A'), C: peerWritablePrimary },
        // B not in sync: without the region rules A would restart its primary locally.
        sync: { B: syncRecord('B', 'SFAIL') },
        region,
      }),
      twoRegions({ automatedRegister: over.automatedRegister ?? true }),
      T,
    );

  const forbidden = ['start-local', 'acquire-leader', 'takeover', 'promote'];

  it('fresh agent, other region not read yet: does not start its primary despite the valid-looking key', () => {
    const d = returning(view(WEST, rec(1, WEST), [peer(NORTH, null, { reachable: false })], false));
    expect(forbidden).not.toContain(d.action.kind);
  });
  it('other region read: generation 2 is newer, the key is given up without starting', () => {
    const d = returning(view(WEST, rec(1, WEST), [northTookOver()]));
    expect(forbidden).not.toContain(d.action.kind);
    expect(d.action.kind).toBe('step-down');
  });
  it('after adopting: registers as secondary of the new primary C (automatedRegister)', () => {
    const d = decide(
      observation({
        self: 'A',
        local: local(stoppedPrimaryHealth()),
        leader: free(EPOCH, 'A'),
        peers: { B: peerStoppedPrimary, C: peerWritablePrimary },
        region: view(WEST, rec(2, NORTH, 'adopted'), [northTookOver()]),
      }),
      twoRegions(),
      T,
    );
    expect(d.action).toMatchObject({ kind: 'register', primary: 'C' });
    expect(d.reason).toBe('region_returned_register');
  });
  it('or waits for the DBA without automatedRegister', () => {
    const d = decide(
      observation({
        self: 'A',
        local: local(stoppedPrimaryHealth()),
        leader: free(EPOCH, 'A'),
        peers: { C: peerWritablePrimary },
        region: view(WEST, rec(2, NORTH, 'adopted'), [northTookOver()]),
      }),
      twoRegions({ automatedRegister: false }),
      T,
    );
    expect(d.action.kind).toBe('none');
    expect(d.reason).toBe('region_returned_waiting_for_registration');
  });
  it('a primary that kept running through a partition stops as soon as the newer generation is read', () => {
    const d = returning(view(WEST, rec(1, WEST), [northTookOver()]), { running: true });
    expect(d.action).toMatchObject({ kind: 'fence', mode: 'stop' });
    expect(d.reason).toBe('region_not_active_stop_primary');
  });
  it('B, free key in the old store, never takes over', () => {
    const d = decide(
      bAfterPrimaryLoss({ region: view(WEST, rec(2, NORTH, 'adopted'), [northTookOver()]) }),
      twoRegions(),
      T,
    );
    expect(forbidden).not.toContain(d.action.kind);
  });
  it('every observation of a non-active region: no decision starts a term (exhaustive over local states and keys)', () => {
    const healths = [
      primaryHealth([link('B')]),
      stoppedPrimaryHealth(),
      secondaryHealth('A'),
      secondaryHealth('C'),
    ];
    const leaders = [held('A', true), held('B', false), free(EPOCH, 'A'), free(EPOCH, 'B'), free(0, null)];
    const views = [
      view(WEST, rec(1, WEST), [northTookOver()]),
      view(WEST, rec(2, NORTH, 'adopted'), [northTookOver()]),
      view(WEST, rec(1, WEST), [peer(NORTH, null, { reachable: false })], false),
      view(WEST, rec(2, WEST, 'disaster'), [northTookOver()]),
    ];
    let n = 0;
    for (const self of ['A', 'B'])
      for (const h of healths)
        for (const leader of leaders)
          for (const region of views) {
            const d = decide(
              observation({
                self,
                local: local(h),
                leader,
                reports: {},
                peers: { C: peerWritablePrimary },
                sync: { A: syncRecord('A'), B: syncRecord('B') },
                region,
              }),
              twoRegions(),
              T,
            );
            expect(
              forbidden,
              `${self} ${h.srRole} ${JSON.stringify(leader)} ${region.own?.generation}`,
            ).not.toContain(
              d.action.kind === 'start-local' && h.srRole === 'secondary' ? 'ok' : d.action.kind,
            );
            n++;
          }
    expect(n).toBe(2 * 4 * 5 * 4);
  });
});

describe('estimateDataLoss', () => {
  it('reports the lag at the last report, its age with the skew bound', () => {
    const e = estimateDataLoss(
      twoRegions(),
      'C',
      syncRecord('C', 'SFAIL', { mode: 'async', lagSeconds: 4, lagBytes: 65536, confirmedAt: T - 30_000 }),
      T,
    );
    expect(e).toMatchObject({
      lagSeconds: 4,
      lagBytes: 65536,
      reportedAt: T - 30_000,
      reportAgeSeconds: { min: 29, max: 31 },
    });
    expect(e.message).toMatch(/4 s \(65536 bytes\) behind.*29-31 s ago.*skew bound 1 s/);
  });
  it('says the loss is unknown without a report', () => {
    const e = estimateDataLoss(twoRegions(), 'C', undefined, T);
    expect(e.lagSeconds).toBeNull();
    expect(e.message).toMatch(/unknown/);
  });
});

describe('planned region switchover (docs/dr.md)', () => {
  const active = (
    over: Partial<{ region: RegionRecord; leader: { site: string; epoch: number } | null }> = {},
  ) => ({
    region: over.region ?? rec(1, WEST),
    leader: over.leader === undefined ? { site: 'A', epoch: 4 } : over.leader,
    lastEpoch: 4,
  });
  const input = (over: Partial<Parameters<typeof planRegionSwitchover>[2]> = {}) => ({
    active: active(),
    targetRegionReachable: true,
    linkActive: true,
    now: T,
    ...over,
  });
  it('writes a draining record one generation up, carrying the term the old region gives up', () => {
    const plan = planRegionSwitchover(twoRegions(), 'C', input({ expectedGeneration: 1, expectedEpoch: 4 }));
    expect(plan).toMatchObject({
      ok: true,
      expectedGeneration: 1,
      fromSite: 'A',
      drain: {
        generation: 2,
        active: NORTH,
        by: 'switchover',
        draining: true,
        token: { fromSite: 'A', epoch: 4, generation: 1 },
      },
    });
  });
  it.each([
    ['stale generation', 'C', input({ expectedGeneration: 0 }), 'stale_generation'],
    ['stale epoch', 'C', input({ expectedEpoch: 3 }), 'stale_epoch'],
    ['DR link not ACTIVE', 'C', input({ linkActive: false }), 'dr_link_not_active'],
    ['active region unreachable', 'C', input({ active: null }), 'active_region_unreachable'],
    ['target region unreachable', 'C', input({ targetRegionReachable: false }), 'target_region_unreachable'],
    ['no primary', 'C', input({ active: active({ leader: null }) }), 'no_primary'],
    ['a site of the active region', 'B', input(), 'region_already_active'],
    [
      'a switchover already draining',
      'C',
      input({ active: active({ region: { ...rec(2, NORTH, 'switchover'), draining: true } }) }),
      'switchover_in_progress',
    ],
  ])('refused: %s', (_n, target, i, reason) => {
    const plan = planRegionSwitchover(twoRegions(), target, i);
    expect(plan.ok).toBe(false);
    if (!plan.ok) {
      expect(plan.reason).toBe(reason);
      expect(plan.message.length).toBeGreaterThan(0);
    }
  });
  it('refused in maintenance', () => {
    const s = { ...twoRegions(), maintenance: true };
    expect(planRegionSwitchover(s, 'C', input())).toMatchObject({ ok: false, reason: 'maintenance' });
  });

  const drain: RegionRecord = {
    ...rec(2, NORTH, 'switchover'),
    draining: true,
    token: { fromSite: 'A', epoch: 4, generation: 1 },
  };
  const next = (over: Partial<Parameters<typeof regionSwitchoverNext>[3]>) =>
    regionSwitchoverNext(twoRegions(), drain, 'C', {
      finalPosition: 100,
      targetPosition: 100,
      deadlinePassed: false,
      targetLastEpoch: 0,
      now: T,
      id: 'sw',
      ...over,
    });
  it("hands over only when the target holds exactly the stopped primary's last position", () => {
    expect(next({})).toMatchObject({
      kind: 'handover',
      record: { generation: 3, active: NORTH, by: 'switchover', token: { logPosition: 100 } },
      intent: { kind: 'disaster-takeover', target: 'C', generation: 3, epoch: 0 },
    });
    expect(next({ targetPosition: 99 }).kind).toBe('wait');
    expect(next({ finalPosition: null }).kind).toBe('wait');
    expect(next({ targetPosition: null }).kind).toBe('wait');
  });
  it('aborts at the deadline when the target is behind: the old region is active again, nobody promoted', () => {
    const r = next({ targetPosition: 97, deadlinePassed: true });
    expect(r).toMatchObject({ kind: 'abort', record: { generation: 3, active: WEST } });
    expect(r.kind === 'abort' && r.record.draining).toBeFalsy();
  });
  it('while draining nobody leads: the old region stops its primary, the new one waits', () => {
    const west = regionVerdict(twoRegions(), 'A', view(WEST, drain, [peer(NORTH, rec(1, WEST))]));
    expect(west).toMatchObject({ mayLead: false, reason: 'region_not_active', notActive: true });
    const north = regionVerdict(
      twoRegions(),
      'C',
      view(NORTH, { ...drain, by: 'adopted' }, [peer(WEST, drain)]),
    );
    expect(north).toMatchObject({ mayLead: false, reason: 'region_switchover_draining', notActive: false });
  });
});

describe('the demotion token: the old primary drains, stops, then records its last log position', () => {
  const token = { fromSite: 'A', epoch: EPOCH, generation: 1, toSite: 'C' };
  const drain: RegionRecord = { ...rec(2, NORTH, 'switchover'), draining: true, token };
  const pos = (last: number, shipped = last, volume = 'indexserver/3') => ({ volume, last, shipped });
  const at = (...positions: ReturnType<typeof pos>[]) =>
    primaryHealth([link('B'), link('C', { mode: 'async', positions })]);
  const decideA = (own: RegionRecord, health = at(pos(100))) =>
    decide(
      observation({
        self: 'A',
        local: local(health),
        leader: held('A', true),
        region: view(WEST, own, [peer(NORTH, rec(1, WEST, 'adopted'))]),
      }),
      twoRegions(),
      T,
    );
  it('under the draining record the primary demotes (drain, stop, record) instead of stopping at once', () => {
    const d = decideA(drain);
    expect(d.action).toEqual({ kind: 'demote-region', epoch: EPOCH, generation: 2, target: 'C' });
    expect(d.reason).toBe('region_switchover_demote');
  });
  it('once the token holds a position (it stopped), or for a record of another site, the old rules apply', () => {
    const recorded = { ...drain, token: { ...token, logPosition: 100 } };
    expect(decideA(recorded).action.kind).not.toBe('demote-region');
    expect(decideA({ ...drain, token: { ...token, fromSite: 'B' } }).action.kind).toBe('fence');
    // A draining record written before the target was recorded in it: no demotion without a target.
    const { toSite: _t, ...noTarget } = token;
    expect(decideA({ ...drain, token: noTarget }).action.kind).toBe('fence');
  });
  it('drained only when the log stood still between two probes and is shipped on every volume', () => {
    const ok = drainCheck(
      at(pos(100), pos(7, 7, 'nameserver/1')),
      at(pos(100), pos(7, 7, 'nameserver/1')),
      'C',
    );
    expect(ok).toMatchObject({
      drained: true,
      position: 100,
      positions: { 'indexserver/3': 100, 'nameserver/1': 7 },
    });
  });
  it.each([
    ['the log moved', at(pos(100)), at(pos(101)), 'log_moving'],
    ['not shipped', at(pos(100, 90)), at(pos(100, 99)), 'not_shipped'],
    ['positions unknown', primaryHealth([link('C')]), primaryHealth([link('C')]), 'positions_unknown'],
    ['no volumes', at(), at(), 'positions_unknown'],
    ['a volume appeared', at(pos(100)), at(pos(100), pos(5, 5, 'nameserver/1')), 'positions_unknown'],
    ['a volume renamed', at(pos(100)), at(pos(100, 100, 'indexserver/4')), 'positions_unknown'],
    ['a volume twice', at(pos(100)), at(pos(100), pos(100)), 'positions_unknown'],
    ['a position not a safe integer', at(pos(2 ** 60)), at(pos(2 ** 60)), 'positions_unknown'],
    ['a negative position', at(pos(-1)), at(pos(-1)), 'positions_unknown'],
    [
      'the link not ACTIVE',
      at(pos(100)),
      primaryHealth([link('C', { status: 'ERROR', positions: [pos(100)] })]),
      'dr_link_not_active',
    ],
    ['no link into C', at(pos(100)), primaryHealth([link('B')]), 'dr_link_not_active'],
    [
      'the second probe failed',
      at(pos(100)),
      { ...at(pos(100)), probeOk: false, probeError: 'timeout' },
      'probe_failed',
    ],
    ['not a running primary', at(pos(100)), { ...at(pos(100)), running: false }, 'not_running_primary'],
  ])('not drained: %s', (_n, first, second, reason) => {
    const r = drainCheck(first, second, 'C');
    expect(r.drained).toBe(false);
    if (!r.drained) expect(r.reason).toBe(reason);
  });
});
