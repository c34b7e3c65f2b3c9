import { describe, it, expect } from 'vitest';
import { SimCommandError } from '../../../src/standins/hana-sim/snapshot.js';
import { eventsOf, landscape, link } from './helpers.js';

const registerOptions = {
  remoteHost: 'hana-b',
  remoteInstance: '00',
  replicationMode: 'sync',
  operationMode: 'logreplay',
  name: 'A',
  online: false,
} as const;

describe('takeover without handshake', () => {
  it('loses exactly the acknowledged async writes that were not shipped', async () => {
    const { clock, sim } = landscape({ mode: 'async' });
    await clock.advanceBy(10_000);
    sim.blockReplication('B');
    const atCut = link(sim, 'A', 'B');
    expect(atCut.shippedLogPosition).toBe(atCut.lastLogPosition); // nothing in flight at the cut
    const ackedAtCut = sim.stats('A').acknowledgedWrites;
    expect(sim.acceptsWrites('A')).toBe(true); // async does not wait
    await clock.advanceBy(10_000);
    sim.crashInstance('A');
    const ackedAtCrash = sim.stats('A').acknowledgedWrites;
    expect(ackedAtCrash - ackedAtCut).toBeGreaterThan(150);

    sim.site('B').takeover({ handshake: false });
    expect(sim.site('B').snapshot()).toMatchObject({ srMode: 'primary', takeoverActive: true });
    expect(sim.acceptsWrites('B')).toBe(false);
    await clock.advanceBy(1600);
    expect(sim.site('B').snapshot().takeoverActive).toBe(false);
    expect(sim.writableSites()).toEqual(['B']);
    await clock.advanceBy(5000);

    const stats = sim.stats('B');
    expect(stats.lostCommittedWrites).toBe(ackedAtCrash - ackedAtCut);
    expect(stats.acknowledgedWrites).toBeGreaterThan(ackedAtCrash);
    expect(sim.stats('A').lostCommittedWrites).toBeGreaterThan(0); // A lacks B's new writes
    expect(eventsOf(sim, 'takeover')).toEqual([expect.objectContaining({ t: 20, site: 'B' })]);
    sim.dispose();
  });

  it('leaves the old primary untouched: a sync primary still running becomes a second writer', async () => {
    const { clock, sim } = landscape({ mode: 'sync', logShippingTimeoutSeconds: 5 });
    await clock.advanceBy(5000);
    sim.site('B').takeover({ handshake: false });
    await clock.advanceBy(2000);
    expect(sim.site('A').snapshot().srMode).toBe('primary');
    expect(link(sim, 'A', 'B').status).toBe('ERROR');
    expect(sim.writableSites()).toEqual(['B']); // A waits for its lost sync secondary...
    await clock.advanceBy(4000);
    expect(sim.writableSites()).toEqual(['A', 'B']); // ...then commits alone: dual primary
    expect(sim.stats('B').maxConcurrentWritable).toBe(2);
    sim.dispose();
  });

  it('holds commits back for the configured log replay, and not at all with [0, 0]', async () => {
    const fixed = landscape({ takeoverReplayMs: [300, 300] });
    await fixed.clock.advanceBy(2000);
    fixed.sim.crashInstance('A');
    fixed.sim.site('B').takeover({ handshake: false });
    expect(fixed.sim.acceptsWrites('B')).toBe(false);
    await fixed.clock.advanceBy(290);
    expect(fixed.sim.site('B').snapshot().takeoverActive).toBe(true);
    await fixed.clock.advanceBy(20);
    expect(fixed.sim.site('B').snapshot().takeoverActive).toBe(false);
    expect(fixed.sim.writableSites()).toEqual(['B']);
    fixed.sim.dispose();

    const none = landscape({ takeoverReplayMs: [0, 0] });
    await none.clock.advanceBy(2000);
    none.sim.crashInstance('A');
    none.sim.site('B').takeover({ handshake: false });
    expect(none.sim.site('B').snapshot().takeoverActive).toBe(false);
    expect(none.sim.writableSites()).toEqual(['B']);
    expect(eventsOf(none.sim, 'takeover-complete')).toEqual([expect.objectContaining({ site: 'B' })]);
    none.sim.dispose();

    expect(() => landscape({ takeoverReplayMs: [500, 100] })).toThrow(RangeError);
  });

  it('is refused on a site that is already primary', () => {
    const { sim } = landscape();
    expect(() => sim.site('A').takeover({ handshake: false })).toThrow(SimCommandError);
    sim.dispose();
  });
});

describe('takeover with handshake (--suspendPrimary)', () => {
  it('suspends the old primary, ships the remaining log, loses nothing', async () => {
    const { clock, sim } = landscape({ mode: 'async' });
    sim.setLinkSlowdown('B', 2500);
    await clock.advanceBy(30_000);
    expect(link(sim, 'A', 'B').backlogSize).toBeGreaterThan(100_000);
    expect(sim.stats('B').lostCommittedWrites).toBeGreaterThan(100);

    sim.site('B').takeover({ handshake: true });
    expect(sim.site('A').snapshot().suspended).toBe(true);
    expect(sim.acceptsWrites('A')).toBe(false);
    await clock.advanceBy(30_000);
    expect(sim.writableSites()).toEqual(['B']);
    const stats = sim.stats('B');
    expect(stats.lostCommittedWrites).toBe(0);
    expect(stats.maxConcurrentWritable).toBe(1);
    expect(eventsOf(sim, 'suspend')).toEqual([expect.objectContaining({ site: 'A', t: 30 })]);
    sim.dispose();
  });

  it('fails with HANA-like text when the old primary is unreachable, and changes nothing', async () => {
    const { clock, sim } = landscape();
    await clock.advanceBy(5000);
    sim.isolateSite('A');
    let error: unknown;
    try {
      sim.site('B').takeover({ handshake: true });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SimCommandError);
    expect((error as SimCommandError).message).toMatch(
      /suspendPrimary.*unable to contact primary site host hana-a/,
    );
    expect((error as SimCommandError).exitCode).not.toBe(0);
    expect(sim.site('B').snapshot().srMode).toBe('sync');
    expect(eventsOf(sim, 'takeover')).toEqual([]);
    sim.dispose();
  });
});

describe('dual primary and registration', () => {
  it('a started former primary accepts writes until it is registered as secondary', async () => {
    const { clock, sim } = landscape({ mode: 'sync', startSeconds: 30 });
    await clock.advanceBy(10_000);
    sim.crashInstance('A');
    sim.site('B').takeover({ handshake: false });
    await clock.advanceBy(5000);
    expect(sim.site('A').snapshot()).toMatchObject({ running: false, srMode: 'primary' });

    sim.site('A').start();
    await clock.advanceBy(40_000);
    expect(eventsOf(sim, 'started')).toEqual([
      expect.objectContaining({ site: 'A', reason: expect.stringContaining('dual primary') }),
    ]);
    expect(sim.writableSites()).toEqual(['A', 'B']);
    expect(sim.stats('B').maxConcurrentWritable).toBe(2);
    const lostToA = sim.stats('B').lostCommittedWrites;
    expect(lostToA).toBeGreaterThan(100); // what clients wrote on A is not on B

    expect(() => sim.site('A').register(registerOptions)).toThrow(/running/);
    sim.site('A').stop(false);
    sim.site('A').register(registerOptions);
    expect(eventsOf(sim, 'register')).toEqual([
      expect.objectContaining({ site: 'A', reason: expect.stringMatching(/writes not on B discarded/) }),
    ]);
    sim.site('A').start();
    await clock.advanceBy(40_000);
    expect(sim.writableSites()).toEqual(['B']);
    expect(link(sim, 'B', 'A')).toMatchObject({ status: 'ACTIVE', fullySynced: true });
    expect(sim.site('A').snapshot().source).toEqual({ site: 'B', siteId: 2, host: 'hana-b' });
    expect(sim.stats('B').lostCommittedWrites).toBe(lostToA); // B never had them; A discarded them
    expect(sim.stats('A').lostCommittedWrites).toBe(lostToA);
    sim.dispose();
  });

  it('resyncs by delta when the new primary still holds the log since the common point', async () => {
    const { clock, sim } = landscape({ mode: 'sync', logRetentionSeconds: 600 });
    await clock.advanceBy(10_000);
    sim.crashInstance('A');
    sim.site('B').takeover({ handshake: false });
    await clock.advanceBy(60_000);
    sim.site('A').register(registerOptions);
    sim.site('A').start();
    await clock.advanceBy(40_000);
    expect(eventsOf(sim, 'resync-delta').map((e) => e.site)).toEqual(['A']);
    expect(eventsOf(sim, 'resync-full')).toEqual([]);
    expect(link(sim, 'B', 'A')).toMatchObject({ status: 'ACTIVE', fullySynced: true });
    expect(sim.overallReplicationStatus('B')).toBe('ACTIVE');
    sim.dispose();
  });

  it('falls back to full data shipping (INITIALIZING with progress) when the log is gone', async () => {
    const { clock, sim } = landscape({
      mode: 'sync',
      logRetentionSeconds: 60,
      dataSizeBytes: 2e9, // 20 s at the default 100 MB/s
      startSeconds: 10,
    });
    await clock.advanceBy(10_000);
    sim.crashInstance('A');
    sim.site('B').takeover({ handshake: false });
    await clock.advanceBy(120_000);
    sim.site('A').register(registerOptions);
    sim.site('A').start();
    await clock.advanceBy(12_000);
    expect(eventsOf(sim, 'resync-full').map((e) => e.site)).toEqual(['A']);
    const initializing = link(sim, 'B', 'A');
    expect(initializing.status).toBe('INITIALIZING');
    expect(initializing.statusDetails).toMatch(/^Full Replica: \d+ % \(\d+\/1907 MB\)$/);
    expect(sim.overallReplicationStatus('B')).toBe('INITIALIZING');
    expect(() => sim.site('A').takeover({ handshake: false })).toThrow(SimCommandError);
    await clock.advanceBy(25_000);
    expect(link(sim, 'B', 'A')).toMatchObject({ status: 'ACTIVE', fullySynced: true });
    expect(sim.stats('A').lostCommittedWrites).toBe(0);
    sim.dispose();
  });

  it('refuses registration to an unreachable primary', async () => {
    const { clock, sim } = landscape();
    await clock.advanceBy(1000);
    sim.crashInstance('A');
    sim.site('B').takeover({ handshake: false });
    sim.isolateSite('B');
    expect(() => sim.site('A').register(registerOptions)).toThrow(
      /unable to contact primary site host hana-b/,
    );
    sim.dispose();
  });
});
