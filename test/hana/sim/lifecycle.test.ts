/**
 * The process lifecycle of a simulated site (src/standins/hana-sim/site.ts) as a state machine:
 * each transition on its own, on a plain Site record, and every fault of a site is one entry of
 * SITE_FAULTS that the landscape applies by name.
 */
import { describe, expect, it } from 'vitest';
import { SITE_FAULTS } from '../../../src/standins/hana-sim/site-faults.js';
import {
  beginStart,
  crashNode,
  finishStart,
  freeze,
  hang,
  processState,
  requestStop,
  restoreNode,
  thaw,
  unhang,
  type Site,
} from '../../../src/standins/hana-sim/site.js';
import { eventsOf, landscape } from './helpers.js';

function site(): Site {
  return {
    name: 'A',
    host: 'hana-a',
    siteId: 1,
    nodeUp: true,
    instance: 'running',
    incarnation: 0,
    indexserver: 'up',
    instanceStartedAt: 0,
    indexserverStartedAt: 0,
    pids: [1, 2, 3, 4, 5, 6, 7],
    frozen: false,
    frozenSince: 0,
    frozenMs: 0,
    hung: false,
    role: 'primary',
    mode: 'sync',
    operationMode: 'logreplay',
    source: undefined,
    suspended: false,
    takeoverActive: false,
    logFull: false,
    isolated: false,
    replBlocked: false,
    slowdown: 1,
    log: [],
    links: new Map(),
    pending: [],
    nextWriteAt: 0,
  };
}

describe('the process lifecycle of a simulated site', () => {
  it('node-down -> stopped -> starting -> running, a new incarnation after each stop', () => {
    const s = site();
    expect(processState(s)).toBe('running');
    expect(crashNode(s, 1000)).toBe('node down: HANA down and the host unreachable');
    expect(processState(s)).toBe('node-down');
    expect(s.incarnation).toBe(1);
    expect(crashNode(s, 1000)).toBe('node already down');
    restoreNode(s);
    expect(processState(s)).toBe('stopped');
    const before = [...s.pids];
    expect(beginStart(s, () => [9, 9, 9, 9, 9, 9, 9])).toBe(true);
    expect(beginStart(s, () => [8, 8, 8, 8, 8, 8, 8])).toBe(false);
    expect(processState(s)).toBe('starting');
    // A start lists new processes from its beginning on (an agent tells a restart by them).
    expect(s.pids).toEqual([9, 9, 9, 9, 9, 9, 9]);
    expect(s.pids).not.toEqual(before);
    finishStart(s, 5000);
    expect(s.pids).toEqual([9, 9, 9, 9, 9, 9, 9]);
    expect(processState(s)).toBe('running');
    expect(s.instanceStartedAt).toBe(5000);
  });

  it('a stop on hung processes queues until they answer; a freeze keeps its time', () => {
    const s = site();
    hang(s);
    expect(processState(s)).toBe('hung');
    expect(requestStop(s)).toBe('queued');
    expect(requestStop(s)).toBe('still-queued');
    expect(processState(s)).toBe('hung');
    expect(unhang(s)).toBe('processes answer again only to finish the stop requested while they hung');
    expect(processState(s)).toBe('stopped');
    expect(requestStop(s)).toBe('was-stopped');

    const f = site();
    freeze(f, 1000);
    expect(processState(f)).toBe('frozen');
    f.stopAtThaw = true;
    expect(thaw(f, 4000)).toBe('processes resume only to die: the hard stop sent while frozen takes effect');
    expect(f.frozenMs).toBe(3000);
    expect(processState(f)).toBe('stopped');
  });

  it('applies a fault of a site by its name, on the timeline', () => {
    const { sim } = landscape();
    sim.fault('hang-instance', 'A');
    sim.fault('clock-skew', 'B', 5);
    expect(eventsOf(sim, 'hang-instance')).toEqual([
      expect.objectContaining({
        site: 'A',
        reason: expect.stringMatching(/^processes stay but answer nothing/),
      }),
    ]);
    expect(sim.clockOffsetMs('B')).toBe(5000);
    expect(Object.keys(SITE_FAULTS)).toContain('freeze-site');
  });
});
