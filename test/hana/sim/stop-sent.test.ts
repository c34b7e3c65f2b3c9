/**
 * When a hard stop counts as sent (HanaPort StopOptions.onSent, the report's `stopSent`): it
 * reached the node's tools and lands before any write. Through the command adapter over the
 * simulator's tools (the path of `hanasr simulate`) and through the direct port (sim:fuzz).
 */
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../../src/api/spec.js';
import { STOP_SENT_SETTLE_MS } from '../../../src/hana/port.js';
import { simCommandPort } from '../../../src/standins/hana-sim/command-port.js';
import { SimDirectPort } from '../../../src/standins/hana-sim/direct-port.js';
import { landscape } from './helpers.js';

const spec = parseSpec({
  sid: 'HA1',
  instanceNumber: '00',
  sites: [
    { name: 'A', host: 'hana-a' },
    { name: 'B', host: 'hana-b' },
  ],
});

describe('a hard stop is told sent', () => {
  it('the command path, frozen: once sapcontrol has run without an answer for the settle time; it lands at the thaw', async () => {
    const { clock, sim } = landscape();
    const port = simCommandPort(spec, 'A', sim.site('A'), clock);
    await clock.advanceBy(5_000);
    sim.freezeSite('A');
    let sentAt: number | null = null;
    let outcome: string | undefined;
    const t0 = clock.now();
    port.stop({ hard: true, onSent: () => (sentAt = clock.now()) }).then(
      () => (outcome = 'stopped'),
      (e: Error) => (outcome = e.message),
    );
    await clock.advanceBy(STOP_SENT_SETTLE_MS - 100);
    expect(sentAt).toBeNull();
    await clock.advanceBy(200);
    expect(sentAt).toBe(t0 + STOP_SENT_SETTLE_MS);
    expect(outcome).toBeUndefined();
    expect(sim.site('A').snapshot().running).toBe(true);
    sim.thawSite('A');
    await clock.advanceBy(5_000);
    expect(sim.site('A').snapshot().running).toBe(false);
    expect(sim.acceptsWrites('A')).toBe(false);
    sim.dispose();
  });

  it('the command path, hung: at once (sapstartsrv takes it), though the processes do not stop', async () => {
    const { clock, sim } = landscape();
    const port = simCommandPort(spec, 'A', sim.site('A'), clock);
    await clock.advanceBy(5_000);
    sim.hangInstance('A');
    let sentAt: number | null = null;
    const t0 = clock.now();
    port.stop({ hard: true, onSent: () => (sentAt = clock.now()) }).catch(() => {});
    await clock.advanceBy(10);
    expect(sentAt).toBe(t0);
    sim.dispose();
  });

  it('the command path, node down: sapcontrol refuses at once, never told sent', async () => {
    const { clock, sim } = landscape();
    const port = simCommandPort(spec, 'A', sim.site('A'), clock);
    await clock.advanceBy(5_000);
    sim.crashNode('A');
    let sent = false;
    let failed: unknown;
    await port.stop({ hard: true, onSent: () => (sent = true) }).catch((e: unknown) => (failed = e));
    await port.kill(undefined, { onSent: () => (sent = true) }).catch((e: unknown) => (failed ??= e));
    await clock.advanceBy(5_000);
    expect(failed).toBeDefined();
    expect(sent).toBe(false);
    sim.dispose();
  });

  it('the direct port, frozen: at once (the kill is queued for the thaw)', async () => {
    const { clock, sim } = landscape();
    const port = new SimDirectPort(sim.site('A'), clock);
    await clock.advanceBy(5_000);
    sim.freezeSite('A');
    let sent = 0;
    void port.stop({ hard: true, onSent: () => sent++ }).catch(() => {});
    expect(sent).toBe(1);
    sim.thawSite('A');
    await clock.advanceBy(2_000);
    expect(sim.site('A').snapshot().running).toBe(false);
    expect(sent).toBe(1);
    sim.dispose();
  });
});
