/**
 * The simulated nodes' watchdogs and fence devices, in virtual time: resets, boots, power-off,
 * frozen nodes, broken and hanging fence devices, and the off-then-confirm procedure over them.
 */
import { describe, expect, it } from 'vitest';
import type { VirtualClock } from '../../../src/clock.js';
import { SimNodeDevices } from '../../../src/standins/hana-sim/devices.js';
import type { SimLandscape } from '../../../src/standins/hana-sim/model.js';
import { WatchdogError } from '../../../src/fencing/port.js';
import { fenceOff, fenceOn } from '../../../src/fencing/procedure.js';
import { applyFault, type FaultTarget } from '../../../src/sim/faults.js';
import { landscape, T0 } from './helpers.js';

function rig(options: { bootSeconds?: number; timeout?: number } = {}) {
  const { clock, sim } = landscape();
  const down: string[] = [];
  const up: string[] = [];
  const devices = new SimNodeDevices({
    model: sim,
    clock,
    watchdogTimeoutSeconds: options.timeout ?? 7,
    bootSeconds: options.bootSeconds ?? 60,
    onNodeDown: (site, cause) => down.push(`${site}:${cause}`),
    onNodeUp: (site) => {
      up.push(site);
    },
  });
  return { clock, sim, devices, down, up };
}

/** A signal aborted by the virtual clock after ms. */
function deadline(clock: VirtualClock, ms: number): AbortSignal {
  const c = new AbortController();
  clock.setTimer(ms, () => c.abort());
  return c.signal;
}

/** A landscape without agents or a store: only the model and the devices take faults. */
function faultTarget(model: SimLandscape, devices: SimNodeDevices): FaultTarget {
  return {
    model,
    devices,
    cutCoordination: () => {},
    setCoordinationAvailable: () => {},
    startAgent: async () => {},
    killAgent: () => {},
    setMaintenance: () => {},
    plannedTakeover: async () => {},
  };
}

const t = (clock: VirtualClock) => (clock.now() - T0) / 1000;
const snap = (sim: SimLandscape, site: string) => sim.site(site).snapshot();

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    expect(err).toBeInstanceOf(WatchdogError);
    return (err as WatchdogError).code;
  }
}

describe('simulated watchdog', () => {
  it('resets a node whose armed watchdog is not fed: HANA down, boot after 60 s, HANA stays stopped', async () => {
    const { clock, sim, devices, down, up } = rig();
    const wd = devices.watchdog('A');
    expect(await wd.probe(deadline(clock, 1000))).toMatchObject({ present: true, timeoutSeconds: 7 });
    await wd.arm(deadline(clock, 1000));
    for (let i = 0; i < 10; i++) {
      await clock.advanceBy(5000);
      await wd.feed(deadline(clock, 1000));
    }
    expect(down).toEqual([]);
    expect(sim.acceptsWrites('A')).toBe(true);
    const lastFeed = t(clock);
    await clock.advanceBy(6900);
    expect(down).toEqual([]);
    await clock.advanceBy(200);
    expect(down).toEqual(['A:watchdog-reset']);
    expect(snap(sim, 'A')).toMatchObject({ nodeUp: false, running: false });
    expect(sim.acceptsWrites('A')).toBe(false);
    expect(devices.events().find((e) => e.event === 'watchdog-reset')?.t).toBe(lastFeed + 7);
    expect(wd.state()).toBe('disarmed');
    await clock.advanceBy(59_000);
    expect(up).toEqual([]);
    await clock.advanceBy(1000);
    expect(up).toEqual(['A']);
    expect(snap(sim, 'A')).toMatchObject({ nodeUp: true, running: false }); // Autostart=0
    expect(devices.state('A').watchdog).toEqual({ present: true, armed: false, timeoutSeconds: 7 });
  });

  it('per node: another timeout (what probe reports), or no device at all', async () => {
    const { clock, sim } = landscape();
    const devices = new SimNodeDevices({
      model: sim,
      clock,
      watchdogTimeoutSeconds: 7,
      sites: { A: { watchdogTimeoutSeconds: 60 }, B: { watchdog: false } },
    });
    expect(await devices.watchdog('A').probe(deadline(clock, 1000))).toMatchObject({
      present: true,
      timeoutSeconds: 60,
    });
    expect(await devices.watchdog('B').probe(deadline(clock, 1000))).toMatchObject({ present: false });
    expect(await code(devices.watchdog('B').arm(deadline(clock, 1000)))).toBe('ABSENT');
  });

  it('a magic close disarms it: no reset however long nobody feeds', async () => {
    const { clock, devices, down } = rig();
    const wd = devices.watchdog('A');
    await wd.arm(deadline(clock, 1000));
    await clock.advanceBy(3000);
    await wd.disarm(deadline(clock, 1000));
    await clock.advanceBy(600_000);
    expect(down).toEqual([]);
    expect(await code(wd.feed(deadline(clock, 1000)))).toBe('NOT_ARMED');
  });

  it('a frozen node cannot feed: the write hangs to its deadline and the node resets', async () => {
    const { clock, sim, devices, down } = rig();
    const wd = devices.watchdog('A');
    await wd.arm(deadline(clock, 1000));
    await clock.advanceBy(2000);
    sim.freezeSite('A');
    const feed = code(wd.feed(deadline(clock, 1000)));
    await clock.advanceBy(1000);
    expect(await feed).toBe('TIMEOUT');
    expect(wd.state()).toBe('failed');
    await clock.advanceBy(4100);
    expect(down).toEqual(['A:watchdog-reset']);
    expect(snap(sim, 'A')).toMatchObject({ nodeUp: false, frozen: false });
  });

  it('a node whose agent the scenario stopped boots without it', async () => {
    const { clock, devices, down, up } = rig({ bootSeconds: 10 });
    const wd = devices.watchdog('B');
    await wd.arm(deadline(clock, 1000));
    devices.agentStopped('B', true); // stop-agent: nobody feeds
    await clock.advanceBy(20_000);
    expect(down).toEqual(['B:watchdog-reset']);
    expect(up).toEqual([]);
    expect(devices.events().map((e) => e.event)).toEqual(['watchdog-armed', 'watchdog-reset', 'node-booted']);
    expect(devices.events()[2]!.reason).toMatch(/agent stays stopped/);
  });

  it('an agent that fails to start at boot is on the timeline, not an unhandled rejection', async () => {
    const { clock, sim } = landscape();
    const devices = new SimNodeDevices({
      model: sim,
      clock,
      watchdogTimeoutSeconds: 7,
      bootSeconds: 5,
      onNodeUp: async () => {
        throw new Error('store unreachable');
      },
    });
    await devices.watchdog('A').arm(deadline(clock, 1000));
    await clock.advanceBy(20_000);
    expect(devices.events().map((e) => `${e.event}: ${e.reason}`)).toContain(
      'agent-start-failed: store unreachable',
    );
  });

  it('remove-watchdog: an armed watchdog never fires any more, feeds and arms fail', async () => {
    const { clock, devices, down } = rig();
    const wd = devices.watchdog('A');
    await wd.arm(deadline(clock, 1000));
    devices.removeWatchdog('A');
    expect(await code(wd.feed(deadline(clock, 1000)))).toBe('ABSENT');
    expect(wd.state()).toBe('failed');
    await clock.advanceBy(600_000);
    expect(down).toEqual([]);
    expect(await wd.probe(deadline(clock, 1000))).toMatchObject({ present: false });
    const other = devices.watchdog('A');
    expect(await code(other.arm(deadline(clock, 1000)))).toBe('ABSENT');
    devices.restoreWatchdog('A');
    await other.arm(deadline(clock, 1000));
    expect(other.state()).toBe('armed');
  });

  it('crash-node takes the armed watchdog down with the node (no reset after a restore)', async () => {
    const { clock, sim, devices, down } = rig();
    const target = faultTarget(sim, devices);
    await devices.watchdog('A').arm(deadline(clock, 1000));
    await applyFault(target, { atSeconds: 0, action: 'crash-node', site: 'A' });
    await clock.advanceBy(1000);
    await applyFault(target, { atSeconds: 0, action: 'restore-node', site: 'A' });
    await clock.advanceBy(60_000);
    expect(down).toEqual([]);
    expect(snap(sim, 'A').nodeUp).toBe(true);
  });
});

describe('simulated fence device', () => {
  const timing = (clock: VirtualClock) => ({
    clock,
    timeoutMs: 20_000,
    callTimeoutMs: 5000,
    statusIntervalMs: 1000,
  });

  it('powers a node off (confirmed by status), keeps it down, and powers it on to boot', async () => {
    const { clock, sim, devices, down, up } = rig({ bootSeconds: 30 });
    const fence = devices.fenceAgent('B');
    const started = t(clock);
    const off = fenceOff(fence, 'A', timing(clock));
    await clock.advanceBy(3000);
    expect(await off).toMatchObject({ result: 'confirmed', calls: 2, site: 'A', action: 'off' });
    expect(t(clock) - started).toBe(3);
    expect(down).toEqual(['A:fenced-off']);
    expect(snap(sim, 'A')).toMatchObject({ nodeUp: false, running: false });
    expect(devices.poweredOff('A')).toBe(true);
    // It stays off: nothing but `on` brings it back.
    await clock.advanceBy(600_000);
    expect(up).toEqual([]);
    const target = faultTarget(sim, devices);
    await expect(applyFault(target, { atSeconds: 0, action: 'restore-node', site: 'A' })).rejects.toThrow(
      /powered off by its fence device/,
    );
    const on = fenceOn(fence, 'A', timing(clock));
    await clock.advanceBy(3000);
    expect(await on).toMatchObject({ result: 'confirmed', action: 'on' });
    await clock.advanceBy(30_000);
    expect(up).toEqual(['A']);
    expect(snap(sim, 'A')).toMatchObject({ nodeUp: true, running: false });
    expect(devices.events().map((e) => `${e.site}:${e.event}`)).toEqual([
      'A:fenced-off',
      'A:fenced-on',
      'A:node-booted',
    ]);
    expect(devices.events()[0]!.reason).toBe('powered off by the fence agent of B');
  });

  it('fenced off, a frozen node stops at once and its watchdog with it', async () => {
    const { clock, sim, devices, down } = rig();
    await devices.watchdog('A').arm(deadline(clock, 1000));
    sim.freezeSite('A');
    const off = fenceOff(devices.fenceAgent('B'), 'A', timing(clock));
    await clock.advanceBy(3000);
    expect((await off).result).toBe('confirmed');
    await clock.advanceBy(60_000);
    expect(down).toEqual(['A:fenced-off']); // no second "reset" of a node that is off
  });

  it('fail-fencing: every call fails; the fence is not confirmed and the node keeps running', async () => {
    const { clock, sim, devices, down } = rig();
    devices.failFencing('A');
    const fence = devices.fenceAgent('B');
    const status = fence.call('A', 'status', { timeoutMs: 5000 });
    await clock.advanceBy(1000);
    expect(await status).toMatchObject({ ok: false, code: 'FAILED' });
    const off = fenceOff(fence, 'A', timing(clock));
    await clock.advanceBy(21_000);
    const outcome = await off;
    expect(outcome).toMatchObject({ result: 'failed', code: 'FAILED' });
    expect(outcome.endedAt - outcome.startedAt).toBeLessThanOrEqual(20_000);
    expect(down).toEqual([]);
    expect(sim.acceptsWrites('A')).toBe(true);
  });

  it('fail-fencing with hang: every call times out at its deadline; the whole fence at its own', async () => {
    const { clock, devices, down } = rig();
    devices.failFencing('A', true);
    const fence = devices.fenceAgent('B');
    const off = fenceOff(fence, 'A', { ...timing(clock), timeoutMs: 12_000 });
    await clock.advanceBy(13_000);
    const outcome = await off;
    expect(outcome).toMatchObject({ result: 'timed-out', code: 'TIMEOUT' });
    expect(outcome.endedAt - outcome.startedAt).toBe(12_000);
    expect(down).toEqual([]);
    const aborted = new AbortController();
    const call = fence.call('A', 'status', { timeoutMs: 5000, signal: aborted.signal });
    await clock.advanceBy(100);
    aborted.abort();
    expect(await call).toMatchObject({ ok: false, code: 'ABORTED' });
  });

  it('a fence device restored during the fence: the off is sent again and confirmed', async () => {
    const { clock, devices, down } = rig();
    devices.failFencing('A');
    clock.setTimer(4000, () => devices.restoreFencing('A'));
    const off = fenceOff(devices.fenceAgent('B'), 'A', timing(clock));
    await clock.advanceBy(20_000);
    const outcome = await off;
    expect(outcome.result).toBe('confirmed');
    expect(outcome.calls).toBeGreaterThan(2);
    expect(down).toEqual(['A:fenced-off']);
  });
});
