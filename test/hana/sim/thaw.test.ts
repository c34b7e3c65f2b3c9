/** A command that waits on a frozen site runs when the site thaws (a queued kill takes effect then). */
import { describe, expect, it } from 'vitest';
import { TimeoutError } from '../../../src/clock.js';
import { SimCommandRunner } from '../../../src/standins/hana-sim/commands.js';
import { SimDirectPort } from '../../../src/standins/hana-sim/direct-port.js';
import { landscape } from './helpers.js';

describe('commands on a frozen site', () => {
  it('the command path: a hard stop sent while frozen stops the site at the thaw', async () => {
    const { clock, sim } = landscape();
    const runner = new SimCommandRunner(sim.site('A'), clock);
    await clock.advanceBy(5_000);
    sim.freezeSite('A');
    let settled: { exitCode: number } | Error | undefined;
    runner
      .run(['sapcontrol', '-nr', '00', '-function', 'StopSystem', 'HDB', '0'], { timeoutMs: 60_000 })
      .then(
        (r) => (settled = r),
        (e: Error) => (settled = e),
      );
    await clock.advanceBy(10_000);
    expect(settled).toBeUndefined(); // still frozen: no answer
    expect(sim.acceptsWrites('A')).toBe(false);
    sim.thawSite('A');
    await clock.advanceBy(1_000);
    expect(settled).toMatchObject({ exitCode: 0 });
    await clock.advanceBy(5_000);
    expect(sim.site('A').snapshot().running).toBe(false);
    expect(sim.acceptsWrites('A')).toBe(false);
    sim.dispose();
  });

  it('the command path: without a thaw the caller deadline ends the call', async () => {
    const { clock, sim } = landscape();
    const runner = new SimCommandRunner(sim.site('A'), clock);
    sim.freezeSite('A');
    let settled: unknown;
    runner.run(['hdbnsutil', '-sr_state'], { timeoutMs: 3_000 }).then(
      (r) => (settled = r),
      (e: unknown) => (settled = e),
    );
    await clock.advanceBy(3_100);
    expect(settled).toBeInstanceOf(TimeoutError);
    sim.dispose();
  });

  it('the direct port: a stop waiting on a frozen site happens at the thaw; an abort ends the wait', async () => {
    const { clock, sim } = landscape();
    const port = new SimDirectPort(sim.site('A'), clock);
    sim.freezeSite('A');
    let stopped = false;
    void port.stop({ hard: true }).then(() => (stopped = true));
    await clock.advanceBy(10_000);
    expect(stopped).toBe(false);
    sim.thawSite('A');
    await clock.advanceBy(1_000);
    expect(stopped).toBe(true);
    expect(sim.site('A').snapshot().running).toBe(false);

    sim.freezeSite('B');
    const controller = new AbortController();
    const probe = new SimDirectPort(sim.site('B'), clock).probe(controller.signal);
    controller.abort(new Error('deadline'));
    await expect(probe).rejects.toThrow('deadline');
    sim.dispose();
  });
});

describe('a hard stop sent while frozen', () => {
  it('kills the processes at the thaw, before they take a single write', async () => {
    const { clock, sim } = landscape();
    await clock.advanceBy(5_000);
    sim.freezeSite('A');
    sim.site('A').killAtThaw?.();
    await clock.advanceBy(10_000);
    sim.thawSite('A');
    expect(sim.acceptsWrites('A')).toBe(false);
    expect(sim.site('A').snapshot().running).toBe(false);
    expect(sim.writableSites()).toEqual([]);
    expect(sim.stats('A').maxConcurrentWritable).toBeLessThanOrEqual(1);
    sim.dispose();
  });
});

describe('a frozen sync primary', () => {
  it('commits nothing alone while frozen, even past the log-shipping timeout', async () => {
    const { clock, sim } = landscape();
    await clock.advanceBy(5_000);
    sim.fillLogArea('B'); // the secondary stops acknowledging: commits wait
    await clock.advanceBy(1_000);
    sim.freezeSite('A');
    const acknowledged = sim.stats('A').acknowledgedWrites;
    await clock.advanceBy(60_000); // well past logshipping_timeout (30 s)
    expect(sim.stats('A').acknowledgedWrites).toBe(acknowledged);
    expect(sim.events().some((e) => e.event === 'commit-alone' && e.t > 6)).toBe(false);
    sim.dispose();
  });
});

describe('a start on a frozen site', () => {
  it('makes no progress while frozen: the instance comes up only the start time after the thaw', async () => {
    const { clock, sim } = landscape({ startSeconds: 30 });
    sim.crashInstance('A');
    sim.freezeSite('A');
    sim.restartInstance('A'); // an administrator starts it while it hangs
    await clock.advanceBy(120_000); // four times the start time
    expect(sim.site('A').snapshot().running).toBe(false);
    expect(sim.acceptsWrites('A')).toBe(false);
    sim.thawSite('A');
    await clock.advanceBy(20_000); // less than the shortest start (0.8 x 30 s)
    expect(sim.site('A').snapshot().running).toBe(false);
    await clock.advanceBy(20_000);
    expect(sim.site('A').snapshot().running).toBe(true);
    sim.dispose();
  });

  it('frozen in the middle of a start: the frozen time is added', async () => {
    const { clock, sim } = landscape({ startSeconds: 30 });
    sim.crashInstance('A');
    sim.restartInstance('A');
    await clock.advanceBy(10_000);
    sim.freezeSite('A');
    await clock.advanceBy(100_000);
    sim.thawSite('A');
    await clock.advanceBy(10_000); // 20 s of start time so far: less than 0.8 x 30 s
    expect(sim.site('A').snapshot().running).toBe(false);
    await clock.advanceBy(20_000);
    expect(sim.site('A').snapshot().running).toBe(true);
    sim.dispose();
  });
});
