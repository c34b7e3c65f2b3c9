import { describe, it, expect } from 'vitest';
import { eventsOf, lagBytes, lagSeconds, landscape, link } from './helpers.js';

describe('sync replication and connection loss', () => {
  it('waits for the secondary, then commits alone after logshipping_timeout (SFAIL), then resyncs', async () => {
    const { clock, sim } = landscape({ mode: 'sync', logShippingTimeoutSeconds: 30 });
    await clock.advanceBy(10_000);
    expect(link(sim, 'A', 'B')).toMatchObject({ status: 'ACTIVE', fullySynced: true });
    const ackedBefore = sim.stats('A').acknowledgedWrites;
    expect(ackedBefore).toBeGreaterThan(150);

    sim.blockReplication('B');
    const cut = link(sim, 'A', 'B');
    expect(cut.status).toBe('ERROR');
    expect(cut.statusDetails).toBe('Communication channel closed');
    expect(cut.fullySynced).toBe(false);
    expect(sim.acceptsWrites('A')).toBe(false);

    await clock.advanceBy(29_900);
    expect(sim.acceptsWrites('A')).toBe(false);
    expect(sim.stats('A').acknowledgedWrites).toBe(ackedBefore);
    expect(eventsOf(sim, 'commit-alone')).toEqual([]);

    await clock.advanceBy(200);
    expect(sim.acceptsWrites('A')).toBe(true);
    expect(eventsOf(sim, 'commit-alone')).toEqual([
      expect.objectContaining({
        t: 40,
        site: 'A',
        reason: expect.stringContaining('logshipping_timeout (30 s)'),
      }),
    ]);
    expect(eventsOf(sim, 'sfail')).toEqual([expect.objectContaining({ t: 40, site: 'B' })]);
    await clock.advanceBy(10_000);
    expect(sim.stats('A').acknowledgedWrites).toBeGreaterThan(ackedBefore + 150);
    expect(sim.overallReplicationStatus('A')).toBe('ERROR');
    // B misses what A committed alone: a takeover now would lose data.
    expect(sim.stats('B').lostCommittedWrites).toBeGreaterThan(150);
    expect(sim.stats('A').writeUnavailableSeconds).toBeCloseTo(30, 5);

    sim.unblockReplication('B');
    expect(link(sim, 'A', 'B')).toMatchObject({ status: 'SYNCING', fullySynced: false });
    await clock.advanceBy(1000);
    expect(link(sim, 'A', 'B')).toMatchObject({ status: 'ACTIVE', fullySynced: true, statusDetails: '' });
    const sok = eventsOf(sim, 'sok');
    expect(sok).toHaveLength(1);
    expect(sok[0]!.t).toBeGreaterThanOrEqual(50);
    expect(sok[0]!.t).toBeLessThanOrEqual(50.2);
    await clock.advanceBy(1000);
    expect(sim.stats('B').lostCommittedWrites).toBe(0);
    sim.dispose();
  });

  it('blocking every link cuts all secondaries, and unblocking restores them', async () => {
    const { clock, sim } = landscape({
      sites: [
        { name: 'A', host: 'hana-a' },
        { name: 'B', host: 'hana-b' },
        { name: 'C', host: 'hana-c' },
      ],
    });
    await clock.advanceBy(5000);
    sim.blockReplication();
    expect(sim.overallReplicationStatus('A')).toBe('ERROR');
    expect(link(sim, 'A', 'C').status).toBe('ERROR');
    expect(sim.canReach('A', 'B')).toBe(true);
    sim.unblockReplication();
    await clock.advanceBy(1000);
    expect(sim.overallReplicationStatus('A')).toBe('ACTIVE');
    sim.dispose();
  });

  it('a slow sync link slows commits down until the primary gives up on it', async () => {
    const fast = landscape({ mode: 'sync' });
    const slow = landscape({ mode: 'sync' });
    // ~82 KB/s of log against 100 MB/s / 2500 = 40 KB/s of link.
    slow.sim.setLinkSlowdown('B', 2500);
    await fast.clock.advanceBy(20_000);
    await slow.clock.advanceBy(20_000);
    const fastAcked = fast.sim.stats('A').acknowledgedWrites;
    const slowAcked = slow.sim.stats('A').acknowledgedWrites;
    expect(slowAcked).toBeLessThan(fastAcked * 0.7);
    expect(eventsOf(slow.sim, 'commit-alone')).toEqual([]);
    await slow.clock.advanceBy(60_000);
    expect(eventsOf(slow.sim, 'commit-alone')).toHaveLength(1);
    expect(link(slow.sim, 'A', 'B')).toMatchObject({ status: 'SYNCING', fullySynced: false });
    fast.sim.dispose();
    slow.sim.dispose();
  });
});

describe('async replication lag', () => {
  it('stays near zero on a normal link', async () => {
    const { clock, sim } = landscape({ mode: 'async' });
    await clock.advanceBy(30_000);
    const l = link(sim, 'A', 'B');
    expect(l.status).toBe('ACTIVE');
    expect(lagSeconds(l)).toBeLessThan(0.2);
    expect(l.backlogSize).toBeLessThan(64 * 200);
    sim.dispose();
  });

  it('grows on a slow link and is reported in bytes and seconds', async () => {
    const { clock, sim } = landscape({ mode: 'async' });
    await clock.advanceBy(5000);
    sim.setLinkSlowdown('B', 2500);
    await clock.advanceBy(30_000);
    const at30 = link(sim, 'A', 'B');
    await clock.advanceBy(30_000);
    const at60 = link(sim, 'A', 'B');

    expect(at60.status).toBe('ACTIVE');
    expect(sim.acceptsWrites('A')).toBe(true);
    expect(at60.backlogSize).toBe(lagBytes(at60));
    expect(at60.backlogTimeMicros).toBe(lagSeconds(at60) * 1e6);
    expect(lagBytes(at60)).toBeGreaterThan(lagBytes(at30));
    expect(lagSeconds(at60)).toBeGreaterThan(lagSeconds(at30));
    // half the needed bandwidth for 55 s: roughly 27 s behind, more than a MB of log
    expect(lagSeconds(at60)).toBeGreaterThan(15);
    expect(lagBytes(at60)).toBeGreaterThan(1_000_000);
    expect(at60.shippedLogBuffersCount).toBeGreaterThan(0);

    sim.setLinkSlowdown('B', 1);
    await clock.advanceBy(2000);
    expect(lagSeconds(link(sim, 'A', 'B'))).toBeLessThan(0.2);
    sim.dispose();
  });

  it('rejects a non-positive slowdown factor', () => {
    const { sim } = landscape();
    expect(() => sim.setLinkSlowdown('B', 0)).toThrow(RangeError);
    sim.dispose();
  });
});

describe('multitier', () => {
  it('ships A -> B -> C, and C keeps following B when B takes over', async () => {
    const { clock, sim } = landscape({
      sites: [
        { name: 'A', host: 'hana-a' },
        { name: 'B', host: 'hana-b' },
        { name: 'C', host: 'hana-c', source: 'B' },
      ],
    });
    await clock.advanceBy(10_000);
    expect(
      sim
        .site('A')
        .snapshot()
        .links.map((l) => l.secondarySite),
    ).toEqual(['B']);
    expect(link(sim, 'B', 'C').status).toBe('ACTIVE');
    expect(sim.site('C').snapshot().source).toEqual({ site: 'B', siteId: 2, host: 'hana-b' });
    expect(sim.stats('C').lostCommittedWrites).toBe(0);
    sim.crashInstance('A');
    sim.site('B').takeover({ handshake: false });
    await clock.advanceBy(10_000);
    expect(sim.writableSites()).toEqual(['B']);
    expect(sim.stats('C').lostCommittedWrites).toBe(0);
    expect(sim.overallReplicationStatus('B')).toBe('ACTIVE');
    sim.dispose();
  });
});
