import { describe, it, expect } from 'vitest';
import { SimCommandError } from '../../../src/standins/hana-sim/snapshot.js';
import { eventsOf, landscape, link } from './helpers.js';

describe('instance and process faults', () => {
  it('a crashed instance stays down (Autostart=0) until someone starts it', async () => {
    const { clock, sim } = landscape({ startSeconds: 30 });
    await clock.advanceBy(5000);
    sim.crashInstance('A');
    sim.crashInstance('A'); // idempotent
    const down = sim.site('A').snapshot();
    expect(down).toMatchObject({ running: false, nodeUp: true, landscapeStatus: 1 });
    expect(down.processes).toEqual([
      expect.objectContaining({ name: 'hdbdaemon', dispstatus: 'GRAY', textstatus: 'Stopped' }),
    ]);
    expect(eventsOf(sim, 'crash-instance').map((e) => e.reason)).toEqual([
      expect.stringContaining('Autostart=0'),
      'instance already stopped',
    ]);
    await clock.advanceBy(600_000);
    expect(sim.site('A').snapshot().running).toBe(false);
    expect(sim.writableSites()).toEqual([]);
    expect(sim.stats('A').writeUnavailableSeconds).toBeCloseTo(600, 5);

    sim.restartInstance('A');
    const starting = sim.site('A').snapshot();
    expect(starting.running).toBe(false);
    expect(starting.processes.find((p) => p.name === 'hdbnameserver')?.dispstatus).toBe('YELLOW');
    await clock.advanceBy(40_000);
    const up = sim.site('A').snapshot();
    expect(up).toMatchObject({ running: true, landscapeStatus: 4, srMode: 'primary' });
    expect(up.processes.map((p) => p.name)).toEqual([
      'hdbdaemon',
      'hdbcompileserver',
      'hdbindexserver',
      'hdbnameserver',
      'hdbpreprocessor',
      'hdbwebdispatcher',
      'hdbxsengine',
    ]);
    expect(up.processes.every((p) => p.dispstatus === 'GREEN' && p.pid > 0)).toBe(true);
    expect(up.processes[0]!.starttime).toMatch(/^\d{4} \d\d \d\d \d\d:\d\d:\d\d$/);
    expect(up.processes[0]!.elapsedtime).toMatch(/^\d+:\d\d:\d\d$/);
    expect(sim.writableSites()).toEqual(['A']);
    sim.dispose();
  });

  it('a killed indexserver goes RED (landscape 1) and the daemon restarts it', async () => {
    const { clock, sim } = landscape();
    await clock.advanceBy(5000);
    sim.killIndexserver('A');
    const snap = sim.site('A').snapshot();
    expect(snap.landscapeStatus).toBe(1);
    expect(snap.processes.find((p) => p.name === 'hdbindexserver')).toMatchObject({
      dispstatus: 'RED',
      elapsedtime: '',
    });
    expect(snap.processes.find((p) => p.name === 'hdbnameserver')?.dispstatus).toBe('GREEN');
    expect(sim.acceptsWrites('A')).toBe(false);
    await clock.advanceBy(16_000);
    expect(sim.site('A').snapshot().landscapeStatus).toBe(4);
    expect(sim.acceptsWrites('A')).toBe(true);
    expect(eventsOf(sim, 'indexserver-restarted')).toHaveLength(1);
    sim.dispose();
  });
});

describe('node and network faults', () => {
  it('a crashed node is unreachable; a restored node comes back with HANA stopped', async () => {
    const { clock, sim } = landscape();
    await clock.advanceBy(5000);
    sim.crashNode('B');
    expect(sim.site('B').snapshot()).toMatchObject({ nodeUp: false, running: false, processes: [] });
    expect(sim.canReach('A', 'B')).toBe(false);
    expect(() => sim.site('B').start()).toThrow(SimCommandError);
    expect(link(sim, 'A', 'B').status).toBe('ERROR');
    sim.restoreNode('B');
    expect(sim.canReach('A', 'B')).toBe(true);
    expect(sim.site('B').snapshot()).toMatchObject({ nodeUp: true, running: false, landscapeStatus: 1 });
    sim.site('B').start();
    await clock.advanceBy(40_000);
    expect(link(sim, 'A', 'B')).toMatchObject({ status: 'ACTIVE', fullySynced: true });
    sim.dispose();
  });

  it('an isolated sync primary keeps committing after the timeout (the split-brain window)', async () => {
    const { clock, sim } = landscape({
      sites: [
        { name: 'A', host: 'hana-a' },
        { name: 'B', host: 'hana-b' },
        { name: 'C', host: 'hana-c' },
      ],
    });
    await clock.advanceBy(5000);
    sim.isolateSite('A');
    expect(sim.canReach('A', 'B')).toBe(false);
    expect(sim.canReach('B', 'C')).toBe(true);
    expect(sim.canReach('A', 'A')).toBe(true);
    expect(sim.acceptsWrites('A')).toBe(false);
    await clock.advanceBy(31_000);
    expect(sim.acceptsWrites('A')).toBe(true);
    expect(eventsOf(sim, 'commit-alone').map((e) => e.reason)).toEqual([
      expect.stringMatching(/^B /),
      expect.stringMatching(/^C /),
    ]);
    sim.reconnectSite('A');
    await clock.advanceBy(1000);
    expect(sim.overallReplicationStatus('A')).toBe('ACTIVE');
    sim.dispose();
  });
});

describe('hangs and full log', () => {
  it('a frozen primary commits nothing and says so in its snapshot; thaw resumes', async () => {
    const { clock, sim } = landscape();
    await clock.advanceBy(5000);
    sim.freezeSite('A');
    expect(sim.site('A').snapshot().frozen).toBe(true);
    expect(sim.overallReplicationStatus('A')).toBe('UNKNOWN');
    const acked = sim.stats('A').acknowledgedWrites;
    await clock.advanceBy(60_000);
    expect(sim.stats('A').acknowledgedWrites).toBe(acked);
    expect(() => sim.site('A').suspend()).toThrow(/frozen/);
    sim.thawSite('A');
    await clock.advanceBy(5000);
    expect(sim.stats('A').acknowledgedWrites).toBeGreaterThan(acked + 50);
    expect(sim.stats('A').writeUnavailableSeconds).toBeCloseTo(60, 5);
    sim.dispose();
  });

  it('a frozen sync secondary makes the primary wait, then commit alone', async () => {
    const { clock, sim } = landscape({ logShippingTimeoutSeconds: 10 });
    await clock.advanceBy(5000);
    sim.freezeSite('B');
    expect(sim.acceptsWrites('A')).toBe(false);
    await clock.advanceBy(10_100);
    expect(sim.acceptsWrites('A')).toBe(true);
    expect(eventsOf(sim, 'sfail').map((e) => e.site)).toEqual(['B']);
    sim.dispose();
  });

  it('a full log area blocks commits until freed', async () => {
    const { clock, sim } = landscape();
    await clock.advanceBy(5000);
    sim.fillLogArea('A');
    expect(sim.site('A').snapshot().logAreaFull).toBe(true);
    expect(sim.acceptsWrites('A')).toBe(false);
    const acked = sim.stats('A').acknowledgedWrites;
    await clock.advanceBy(20_000);
    expect(sim.stats('A').acknowledgedWrites).toBe(acked);
    sim.freeLogArea('A');
    expect(sim.acceptsWrites('A')).toBe(true);
    await clock.advanceBy(5000);
    expect(sim.stats('A').acknowledgedWrites).toBeGreaterThan(acked);
    expect(sim.stats('A').writeUnavailableSeconds).toBeCloseTo(20, 5);
    sim.dispose();
  });
});
