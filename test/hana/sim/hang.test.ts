/**
 * hang-instance: the processes stay but answer nothing. SQL, hdbnsutil and the python scripts
 * hang, sapstartsrv still answers; a stop is accepted and never completes, `HDB kill-9` works.
 */
import { describe, expect, it } from 'vitest';
import { TimeoutError, withTimeout } from '../../../src/clock.js';
import { HanaCommandAdapter } from '../../../src/hana/commands/adapter.js';
import { SimCommandRunner } from '../../../src/standins/hana-sim/commands.js';
import { SimDirectPort } from '../../../src/standins/hana-sim/direct-port.js';
import { simPeerProbe } from '../../../src/standins/hana-sim/peer-probe.js';
import { eventsOf, landscape } from './helpers.js';

function adapter(sim: ReturnType<typeof landscape>['sim'], clock: ReturnType<typeof landscape>['clock']) {
  return new HanaCommandAdapter({
    sid: 'HA1',
    instanceNumber: '00',
    siteName: 'A',
    commandTimeoutMs: 3000,
    actionTimeoutMs: 30_000,
    stopWaitMs: 20_000,
    pollIntervalMs: 1000,
    runner: new SimCommandRunner(sim.site('A'), clock),
    clock,
  });
}

/** Settles `p` into a value or the error it rejected with, after advancing the clock by `ms`. */
async function after<T>(clock: ReturnType<typeof landscape>['clock'], ms: number, p: Promise<T>) {
  let out: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  p.then(
    (value) => (out = { ok: true, value }),
    (error: unknown) => (out = { ok: false, error }),
  );
  await clock.advanceBy(ms);
  return out;
}

describe('a hung instance', () => {
  it('takes no writes, commits nothing alone and ships nothing, but keeps its processes', async () => {
    const { clock, sim } = landscape();
    await clock.advanceBy(5_000);
    sim.hangInstance('A');
    const acknowledged = sim.stats('A').acknowledgedWrites;
    expect(sim.acceptsWrites('A')).toBe(false);
    await clock.advanceBy(60_000); // past logshipping_timeout: still no commit
    expect(sim.stats('A').acknowledgedWrites).toBe(acknowledged);
    expect(eventsOf(sim, 'commit-alone')).toEqual([]);
    const snap = sim.site('A').snapshot();
    expect(snap.hung).toBe(true);
    expect(snap.running).toBe(true);
    expect(snap.processes.every((p) => p.dispstatus === 'GREEN')).toBe(true);
    sim.unhangInstance('A');
    expect(sim.acceptsWrites('A')).toBe(true);
    sim.dispose();
  });

  it('the command path: the probe times out, a hard stop does not complete, HDB kill-9 stops it', async () => {
    const { clock, sim } = landscape();
    const port = adapter(sim, clock);
    await clock.advanceBy(5_000);
    sim.hangInstance('A');

    const probe = await after(
      clock,
      4_000,
      withTimeout(clock, 3_000, 'HANA probe', (s) => port.probe(s)),
    );
    expect(probe).toMatchObject({ ok: false });
    if (probe?.ok === false) expect(probe.error).toBeInstanceOf(TimeoutError);

    // sapcontrol answers OK to StopSystem, then the processes never reach GRAY.
    const stop = await after(clock, 25_000, port.stop({ hard: true }));
    expect(stop).toMatchObject({ ok: false });
    if (stop?.ok === false) expect(String(stop.error)).toMatch(/all processes stopped not reached/);
    expect(sim.site('A').snapshot().running).toBe(true);
    expect(
      sim
        .site('A')
        .snapshot()
        .processes.some((p) => p.textstatus === 'Stopping'),
    ).toBe(true);

    const kill = await after(clock, 3_000, port.kill());
    expect(kill).toEqual({ ok: true, value: undefined });
    const snap = sim.site('A').snapshot();
    expect(snap.running).toBe(false);
    expect(snap.hung).toBe(false);
    expect(eventsOf(sim, 'kill')).toHaveLength(1);
    sim.dispose();
  });

  it('the direct port: a stop waits and the deadline ends it; kill works; start on a hung instance changes nothing', async () => {
    const { clock, sim } = landscape();
    const port = new SimDirectPort(sim.site('A'), clock);
    await clock.advanceBy(5_000);
    sim.hangInstance('A');
    expect(await after(clock, 1_000, port.start())).toEqual({ ok: true, value: undefined });
    expect(sim.site('A').snapshot().hung).toBe(true);
    const stop = await after(
      clock,
      31_000,
      withTimeout(clock, 30_000, 'stop', (s) => port.stop({ hard: true }, s)),
    );
    expect(stop).toMatchObject({ ok: false });
    expect(sim.site('A').snapshot().running).toBe(true);
    expect(await after(clock, 100, port.kill())).toEqual({ ok: true, value: undefined });
    expect(sim.site('A').snapshot().running).toBe(false);
    sim.dispose();
  });

  it('a stop requested while hung is finished if the processes answer again', async () => {
    const { clock, sim } = landscape();
    await clock.advanceBy(5_000);
    sim.hangInstance('A');
    sim.site('A').stop(true);
    expect(sim.site('A').snapshot().running).toBe(true);
    sim.unhangInstance('A');
    expect(sim.site('A').snapshot().running).toBe(false);
    expect(sim.acceptsWrites('A')).toBe(false);
    sim.dispose();
  });

  it('a peer check of a hung instance never answers (the caller decides by its deadline)', async () => {
    const { clock, sim } = landscape();
    sim.hangInstance('A');
    const check = await after(
      clock,
      3_100,
      withTimeout(clock, 3_000, 'peer check', (s) => simPeerProbe(sim, 'B').check('A', s)),
    );
    expect(check).toMatchObject({ ok: false });
    sim.dispose();
  });

  it('a kill on a frozen site is delivered: the processes die at the thaw', async () => {
    const { clock, sim } = landscape();
    const port = adapter(sim, clock);
    await clock.advanceBy(5_000);
    sim.freezeSite('A');
    const kill = await after(clock, 5_000, port.kill());
    expect(kill).toBeUndefined(); // no answer while frozen
    sim.thawSite('A');
    expect(sim.acceptsWrites('A')).toBe(false);
    expect(sim.site('A').snapshot().running).toBe(false);
    sim.dispose();
  });
});
