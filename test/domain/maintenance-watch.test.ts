/**
 * src/domain/maintenance-watch.ts: whether the last leader may still act in maintenance mode,
 * from this agent's own reads, the published maintenance generation and the leader's last report
 * it saw (issue 12, the model's finding-maintenance-single-writer).
 */
import { describe, expect, it } from 'vitest';
import {
  leaderMayBeInMaintenance,
  NO_MAINTENANCE_SEEN,
  watchMaintenance,
  type MaintenanceRead,
  type MaintenanceWatch,
} from '../../src/domain/maintenance-watch.js';
import { EPOCH, primaryHealth, report, secondaryHealth } from '../support/observations.js';

const held = { site: 'A', epoch: EPOCH, since: 0 };
const aReport = (maintenance: boolean, generation?: number) =>
  report('A', primaryHealth(), {
    leader: true,
    maintenance,
    ...(generation !== undefined ? { maintenanceGeneration: generation } : {}),
  });
const bReport = report('B', secondaryHealth('A'));

/** B's read: A holds the key (or, with `free`, its key ran out and its report went with it). */
function read(gen: number | undefined, a: ReturnType<typeof aReport> | null, free = false): MaintenanceRead {
  return {
    leader: free ? null : held,
    lastLeader: 'A',
    reports: { B: bReport, ...(a !== null ? { A: a } : {}) },
    ...(gen !== undefined ? { maintenanceGeneration: gen } : {}),
  };
}

function run(steps: readonly [boolean, MaintenanceRead | null][]): MaintenanceWatch {
  return steps.reduce((w, [spec, r]) => watchMaintenance(w, 'B', spec, r), NO_MAINTENANCE_SEEN);
}

describe('may the last leader still act in maintenance mode?', () => {
  it('maintenance on and off between two of B reads, A read it on and its report failed: yes', () => {
    const w = run([
      [false, read(0, aReport(false, 0))],
      // On (1), A reads it; off (2) before B reads again; A's report of 1 never landed.
      [false, read(2, aReport(false, 0))],
      // A's key ran out and its report went with its lease.
      [false, read(2, null, true)],
    ]);
    expect(leaderMayBeInMaintenance(w, 'B', 'A')).toBe(true);
  });

  it('the same with the key already gone at B next read (no report of A left to compare): yes', () => {
    const w = run([
      [false, read(0, aReport(false, 0))],
      [false, read(2, null, true)],
    ]);
    expect(leaderMayBeInMaintenance(w, 'B', 'A')).toBe(true);
  });

  it('A reported the current generation outside maintenance: no', () => {
    const w = run([
      [false, read(2, aReport(false, 2))],
      [false, read(2, null, true)],
    ]);
    expect(leaderMayBeInMaintenance(w, 'B', 'A')).toBe(false);
  });

  it('A reported maintenance on, at the current generation: yes (B never read it on itself)', () => {
    const w = run([
      [false, read(1, aReport(true, 1))],
      [false, read(1, null, true)],
    ]);
    expect(leaderMayBeInMaintenance(w, 'B', 'A')).toBe(true);
  });

  it('the generation moves while B cannot read the store: its next read compares with the last report it saw', () => {
    const w = run([
      [false, read(3, aReport(false, 3))],
      [false, null],
      [false, read(5, null, true)],
    ]);
    expect(leaderMayBeInMaintenance(w, 'B', 'A')).toBe(true);
  });

  it('B read maintenance on itself (the older rule): yes until a report of the holder outside maintenance', () => {
    let w = run([[true, read(undefined, aReport(true))]]);
    expect(leaderMayBeInMaintenance(w, 'B', 'A')).toBe(true);
    w = watchMaintenance(w, 'B', false, read(undefined, aReport(false)));
    expect(leaderMayBeInMaintenance(w, 'B', 'A')).toBe(false);
  });

  it('B read maintenance on, then A stepped down right after it was turned off, reporting so: no', () => {
    // sim:fuzz 970000179: A's first cycle after maintenance off stopped A and released the key;
    // B never saw a report of a key holder outside maintenance, but A's report (its agent lives)
    // carries the generation published now and says maintenance off.
    const w = run([
      [true, read(1, aReport(true, 1))],
      [false, read(2, aReport(false, 2), true)],
    ]);
    expect(w.sawOn).toBe(true);
    expect(leaderMayBeInMaintenance(w, 'B', 'A')).toBe(false);
  });

  it('B read maintenance on, and the last report of A it saw is older than the generation now: yes', () => {
    const w = run([
      [true, read(1, aReport(true, 1))],
      [false, read(2, null, true)],
    ]);
    expect(leaderMayBeInMaintenance(w, 'B', 'A')).toBe(true);
  });

  it('a leader that reports no generation (an earlier agent): the older rule alone', () => {
    const w = run([
      [false, read(0, aReport(false))],
      [false, read(2, null, true)],
    ]);
    expect(leaderMayBeInMaintenance(w, 'B', 'A')).toBe(false);
  });

  it('a store without a generation (an earlier operator): the older rule alone', () => {
    const w = run([
      [false, read(undefined, aReport(false, 0))],
      [false, read(undefined, null, true)],
    ]);
    expect(leaderMayBeInMaintenance(w, 'B', 'A')).toBe(false);
  });

  it('a new leader: the report of the old one does not speak for it', () => {
    const w = run([
      [false, read(0, aReport(true, 0))],
      [
        false,
        {
          leader: { site: 'C', epoch: EPOCH + 1, since: 0 },
          lastLeader: 'C',
          reports: {},
          maintenanceGeneration: 0,
        },
      ],
    ]);
    expect(w.leaderReport).toBeNull();
    expect(leaderMayBeInMaintenance(w, 'B', 'C')).toBe(false);
  });

  it('this agent itself was the leader: never', () => {
    const w = run([[false, read(2, aReport(false, 0))]]);
    expect(leaderMayBeInMaintenance(w, 'A', 'A')).toBe(false);
  });
});
