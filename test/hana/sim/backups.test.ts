/** Backups in the HANA simulator: time, failures, the replicated catalog and the destinations. */
import { describe, expect, it } from 'vitest';
import {
  SimBackupError,
  SimBackups,
  type BackupDestinationScope,
} from '../../../src/standins/hana-sim/backups.js';
import { T0, landscape } from './helpers.js';

function setup(scope: BackupDestinationScope = 'site') {
  const { clock, sim } = landscape({ writesPerSecond: 1 });
  const backups = new SimBackups({
    model: sim,
    clock,
    sid: 'HA1',
    startedAt: T0,
    scope,
    throughputBytesPerSecond: 100e6,
    databaseBytes: { SYSTEMDB: 1e9, HA1: 2e9 },
    logBackupIntervalSeconds: 60,
  });
  return { clock, sim, backups };
}

describe('SimBackups', () => {
  it('a data backup takes simulated time (size / throughput) and lands in the catalog, replicated', async () => {
    const { clock, sim, backups } = setup();
    let done = false;
    const p = backups.backupData('A', 'HA1', 'file', '/backup/x_HA1').then((id) => {
      done = true;
      return id;
    });
    expect(backups.catalog('A').map((e) => e.state)).toEqual(['running']);
    await clock.advanceBy(19_000);
    expect(done).toBe(false);
    await clock.advanceBy(2000);
    const id = await p;
    const entry = backups.catalog('A').find((e) => e.backupId === id)!;
    expect(entry).toMatchObject({ state: 'successful', entryType: 'complete data backup', bytes: 2e9 });
    expect(entry.endedAt! - entry.startedAt).toBeGreaterThanOrEqual(20_000);
    // The catalog is part of the database: the secondary holds the entry too.
    await clock.advanceBy(2000);
    expect(backups.catalog('B').map((e) => e.backupId)).toContain(id);
    sim.dispose();
    backups.dispose();
  });

  it('a secondary refuses BACKUP DATA', () => {
    const { sim, backups } = setup();
    expect(() => backups.backupData('B', 'HA1', 'file', 'x')).toThrow(SimBackupError);
    expect(backups.refusedOnSecondary).toBe(1);
    sim.dispose();
    backups.dispose();
  });

  it('an instance crash interrupts the backup (connection lost, no catalog entry written)', async () => {
    const { clock, sim, backups } = setup();
    const p = backups.backupData('A', 'HA1', 'file', 'x');
    const failure = p.catch((e: unknown) => e as SimBackupError);
    await clock.advanceBy(5000);
    sim.crashInstance('A');
    await clock.advanceBy(2000);
    const err = await failure;
    expect(err).toBeInstanceOf(SimBackupError);
    expect((err as SimBackupError).sqlCode).toBe(-10807);
    sim.dispose();
    backups.dispose();
  });

  it('fail-backup fails the running backup and records it failed in the catalog', async () => {
    const { clock, sim, backups } = setup();
    const failure = backups.backupData('A', 'SYSTEMDB', 'file', 'x').then(
      () => new Error('succeeded'),
      (e: unknown) => e as Error,
    );
    await clock.advanceBy(1000);
    backups.failBackups('A', true);
    expect((await failure).message).toMatch(/I\/O error/);
    expect(backups.catalog('A').map((e) => e.state)).toEqual(['failed']);
    sim.dispose();
    backups.dispose();
  });

  it('per-site destinations: a backup is readable only from the site that wrote it; shared: from every site', async () => {
    for (const scope of ['site', 'shared'] as const) {
      const { clock, sim, backups } = setup(scope);
      const p = backups.backupData('A', 'SYSTEMDB', 'file', '/b/x');
      await clock.advanceBy(11_000);
      const id = await p;
      const path = backups.catalog('A').find((e) => e.backupId === id)!.paths[0]!;
      expect(backups.checkAccess('A', path)).toBe(true);
      expect(backups.checkAccess('B', path)).toBe(scope === 'shared');
      backups.loseDestination('A', true);
      expect(backups.checkAccess('A', path)).toBe(false);
      sim.dispose();
      backups.dispose();
    }
  });

  it('log backups start after the first data backup and stop with enable_auto_log_backup = no', async () => {
    const { clock, sim, backups } = setup();
    await clock.advanceBy(130_000);
    expect(backups.catalog('A').filter((e) => e.entryType === 'log backup')).toEqual([]);
    const p = backups.backupData('A', 'SYSTEMDB', 'file', 'x');
    await clock.advanceBy(11_000);
    await p;
    await clock.advanceBy(120_000);
    const logs = () => backups.catalog('A').filter((e) => e.entryType === 'log backup').length;
    expect(logs()).toBe(2);
    backups.setLogBackup('A', false);
    await clock.advanceBy(120_000);
    expect(logs()).toBe(2);
    sim.dispose();
    backups.dispose();
  });

  it('BACKUP CATALOG DELETE removes older entries and their files, refuses an unknown id', async () => {
    const { clock, sim, backups } = setup();
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) {
      const p = backups.backupData('A', 'SYSTEMDB', 'file', `/b/x${i}`);
      await clock.advanceBy(11_000);
      ids.push(await p);
    }
    const oldPath = backups.catalog('A').find((e) => e.backupId === ids[0])!.paths[0]!;
    expect(() => backups.deleteBefore('A', 'SYSTEMDB', 42, true)).toThrow(/not found/);
    expect(backups.deleteBefore('A', 'SYSTEMDB', ids[2]!, true)).toBe(2);
    expect(backups.catalog('A').map((e) => e.backupId)).toEqual([ids[2]]);
    expect(backups.checkAccess('A', oldPath)).toBe(false);
    sim.dispose();
    backups.dispose();
  });
});
