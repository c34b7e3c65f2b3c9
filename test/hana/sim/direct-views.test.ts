/**
 * The direct port's light reads (state, probeView) carry exactly the fields of the snapshot they
 * stand for: checked at every read of random fuzz schedules (faults of every kind), against the
 * full snapshot read at the same instant, and the health the agent gets is the same either way.
 */
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { randomCase } from '../../../src/sim/fuzz/generate.js';
import { runScenario, type PortFactory } from '../../../src/sim/runner.js';
import { healthFromSnapshot, SimDirectPort } from '../../../src/standins/hana-sim/direct-port.js';
import type { SimSiteControl } from '../../../src/standins/hana-sim/snapshot.js';

describe('the direct port reads', () => {
  it('state() and probeView() equal the snapshot fields they stand for, at every read', async () => {
    let states = 0;
    let views = 0;
    const mismatches: unknown[] = [];
    const same = (light: unknown, full: unknown) => {
      if (!isDeepStrictEqual(light, full) && mismatches.length < 3) mismatches.push({ light, full });
    };
    const checked = (control: SimSiteControl): SimSiteControl => ({
      ...control,
      state: () => {
        const light = control.state!();
        const s = control.snapshot();
        same(light, {
          host: s.host,
          nodeUp: s.nodeUp,
          running: s.running,
          frozen: s.frozen,
          hung: s.hung,
          ...(s.probeToolsHung !== undefined ? { probeToolsHung: s.probeToolsHung } : {}),
        });
        states++;
        return light;
      },
      probeView: () => {
        const light = control.probeView!();
        const s = control.snapshot();
        same(light, {
          running: s.running,
          processes: s.processes.map((p) => ({ name: p.name, dispstatus: p.dispstatus, pid: p.pid })),
          landscapeStatus: s.landscapeStatus,
          srMode: s.srMode,
          suspended: s.suspended,
          links: s.links,
          ...(s.source ? { source: { site: s.source.site } } : {}),
          ...(s.sqlProbeBroken !== undefined ? { sqlProbeBroken: s.sqlProbeBroken } : {}),
        });
        same(healthFromSnapshot(light), healthFromSnapshot(s));
        views++;
        return light;
      },
    });
    const factory: PortFactory = (_site, control, clock) => new SimDirectPort(checked(control), clock);
    // Schedules that freeze, hang (instance and probe tools), crash nodes and instances, cut sites
    // off, break the SQL probe, fill the log area, slow replication and take over by hand (two and
    // three sites), each under 500 simulated seconds.
    for (const seed of [424243, 424250, 424256, 424262, 424283]) {
      const c = randomCase(seed, { durationSeconds: 240 });
      await runScenario(c.scenario, { portFactory: factory, decisions: false });
    }
    expect(mismatches).toEqual([]);
    expect(states).toBeGreaterThan(500);
    expect(views).toBeGreaterThan(500);
  });
});
