/**
 * hang-probe-tools: hdbnsutil and the HDBSettings.sh scripts hang while the database itself still
 * commits (and commits alone after logshipping_timeout) and sapcontrol still answers: the agent's
 * probe times out on both ports, a hard stop completes. What the protocol model's
 * finding-unknown-probe needs and hang-instance cannot give (a hung instance commits nothing).
 */
import { describe, expect, it } from 'vitest';
import { TimeoutError, withTimeout } from '../../../src/clock.js';
import { HanaCommandAdapter } from '../../../src/hana/commands/adapter.js';
import { SimCommandRunner } from '../../../src/standins/hana-sim/commands.js';
import { SimDirectPort } from '../../../src/standins/hana-sim/direct-port.js';
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

async function after<T>(clock: ReturnType<typeof landscape>['clock'], ms: number, p: Promise<T>) {
  let out: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  p.then(
    (value) => (out = { ok: true, value }),
    (error: unknown) => (out = { ok: false, error }),
  );
  await clock.advanceBy(ms);
  return out;
}

describe('the probe tools hang', () => {
  it('the database still takes writes and commits alone past logshipping_timeout', async () => {
    const { clock, sim } = landscape();
    await clock.advanceBy(5_000);
    sim.hangProbeTools('A');
    expect(sim.acceptsWrites('A')).toBe(true);
    sim.blockReplication('B');
    const acknowledged = sim.stats('A').acknowledgedWrites;
    await clock.advanceBy(60_000);
    expect(eventsOf(sim, 'commit-alone').length).toBeGreaterThan(0);
    expect(sim.stats('A').acknowledgedWrites).toBeGreaterThan(acknowledged);
    expect(sim.site('A').snapshot().probeToolsHung).toBe(true);
    sim.fixProbeTools('A');
    expect(sim.site('A').snapshot().probeToolsHung).toBeUndefined();
    sim.dispose();
  });

  it.each(['command', 'direct'] as const)(
    'the %s port: the probe times out, a hard stop completes, the probe answers again once fixed',
    async (kind) => {
      const { clock, sim } = landscape();
      const port = kind === 'command' ? adapter(sim, clock) : new SimDirectPort(sim.site('A'), clock);
      await clock.advanceBy(5_000);
      sim.hangProbeTools('A');
      const probe = await after(
        clock,
        4_000,
        withTimeout(clock, 3_000, 'HANA probe', (s) => port.probe(s)),
      );
      expect(probe).toMatchObject({ ok: false });
      if (probe?.ok === false) expect(probe.error).toBeInstanceOf(TimeoutError);
      expect(sim.acceptsWrites('A')).toBe(true);

      const stop = await after(clock, 25_000, port.stop({ hard: true }));
      expect(stop).toMatchObject({ ok: true });
      expect(sim.acceptsWrites('A')).toBe(false);

      sim.fixProbeTools('A');
      const again = await after(
        clock,
        4_000,
        withTimeout(clock, 3_000, 'HANA probe', (s) => port.probe(s)),
      );
      expect(again).toMatchObject({ ok: true, value: { probeOk: true, running: false } });
      sim.dispose();
    },
  );
});
