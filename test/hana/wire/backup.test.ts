/**
 * Backups end to end through the real @sap/hana-client: the SQL backup port (src/hana/sql/backup.ts)
 * against the wire-protocol simulator answering BACKUP DATA, BACKUP CHECK ACCESS, BACKUP CATALOG
 * DELETE, BACKUP CANCEL and the catalog views from the simulated backups. Real sockets, real clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { realClock } from '../../../src/clock.js';
import { BackupRunner } from '../../../src/agent/backup.js';
import { MemoryCoordination } from '../../../src/coordination/memory.js';
import { BackupInterruptedError } from '../../../src/hana/backup-port.js';
import { SimBackups } from '../../../src/standins/hana-sim/backups.js';
import { SimLandscape } from '../../../src/standins/hana-sim/model.js';
import { HanaSqlBackupPort } from '../../../src/hana/sql/backup.js';
import { SqlProbeError } from '../../../src/hana/sql/probe.js';
import { simBackupExtension } from '../../../src/standins/hana-wire/backup.js';
import { simSiteDatabase } from '../../../src/standins/hana-wire/database.js';
import { startHanaWireServer } from '../../../src/standins/hana-wire/server.js';
import { primaryHealth, report, spec } from '../../support/observations.js';
import { connectHanaClient, PASSWORD, USER } from './helpers.js';

const opened: { close(): Promise<void> }[] = [];
const disposers: (() => void)[] = [];

afterEach(async () => {
  for (const c of opened.splice(0).reverse()) await c.close().catch(() => {});
  for (const d of disposers.splice(0)) d();
});

async function landscape(log: { logBytesPerSecond?: number; logSegmentBytes?: number } = {}) {
  const model = new SimLandscape({
    sid: 'HA1',
    instanceNumber: '00',
    sites: [
      { name: 'A', host: 'hana-a' },
      { name: 'B', host: 'hana-b' },
    ],
    initialPrimary: 'A',
    mode: 'sync',
    operationMode: 'logreplay',
    logShippingTimeoutSeconds: 2,
    clock: realClock,
    seed: 1,
    writesPerSecond: 0,
    startSeconds: 1,
  });
  // 0.4 s for SYSTEMDB, 0.8 s for the tenant.
  const backups = new SimBackups({
    model,
    clock: realClock,
    sid: 'HA1',
    startedAt: Date.now(),
    throughputBytesPerSecond: 10e6,
    databaseBytes: { SYSTEMDB: 4e6, HA1: 8e6 },
    ...log,
  });
  disposers.push(() => {
    backups.dispose();
    model.dispose();
  });
  const server = await startHanaWireServer({
    port: 0,
    user: USER,
    password: PASSWORD,
    snapshot: () => model.site('A').snapshot(),
    database: simSiteDatabase(model, 'A'),
    extension: simBackupExtension(backups, 'A', { sid: 'HA1', host: 'hana-a', now: () => Date.now() }),
  });
  opened.push(server);
  const port = new HanaSqlBackupPort({
    host: '127.0.0.1',
    port: server.port,
    credentials: { user: USER, password: PASSWORD },
    clock: realClock,
    timeoutMs: 5000,
    backupTimeoutMs: 10_000,
  });
  return { model, backups, server, port };
}

describe('backups over the wire with the real driver', () => {
  it('reads the databases and log settings, runs BACKUP DATA, and reads the catalog and its files', async () => {
    const { port, server } = await landscape();
    const before = await port.read();
    const nothingWaits = { waitingSegments: 0, waitingBytes: 0, oldestWaitingAgeSeconds: null };
    expect(before).toEqual({
      databases: ['SYSTEMDB', 'HA1'],
      catalog: [],
      logMode: 'normal',
      autoLogBackup: true,
      logBacklog: { SYSTEMDB: nothingWaits, HA1: nothingWaits },
    });
    const started = Date.now();
    await port.backupData('HA1', 'file', '/hana/backup/hanasr_HA1_1');
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    await port.backupData('SYSTEMDB', 'file', '/hana/backup/hanasr_SYSTEMDB_1');
    const after = await port.read();
    expect(after.catalog.map((e) => [e.database, e.entryType, e.state, e.destinationType])).toEqual([
      ['HA1', 'complete data backup', 'successful', 'file'],
      ['SYSTEMDB', 'complete data backup', 'successful', 'file'],
    ]);
    const ha1 = after.catalog[0]!;
    expect(ha1.paths).toEqual([
      '/hana/backup/hanasr_HA1_1_databackup_0_1',
      '/hana/backup/hanasr_HA1_1_databackup_1_1',
    ]);
    expect(ha1.bytes).toBe(8e6);
    expect(ha1.endedAt! - ha1.startedAt).toBeGreaterThanOrEqual(700);
    // The same views, read by a client as a DBA would.
    const client = await connectHanaClient(server.port);
    opened.push(client);
    const rows = (await client.exec(
      "SELECT DATABASE_NAME, STATE_NAME FROM SYS_DATABASES.M_BACKUP_CATALOG WHERE ENTRY_TYPE_NAME = 'complete data backup' ORDER BY DATABASE_NAME",
    )) as Record<string, unknown>[];
    expect(rows).toEqual([
      { DATABASE_NAME: 'HA1', STATE_NAME: 'successful' },
      { DATABASE_NAME: 'SYSTEMDB', STATE_NAME: 'successful' },
    ]);
  }, 30_000);

  it("M_LOG_SEGMENTS: SAP's columns and types; after the first data backup, closed segments wait for a log backup", async () => {
    // 1 MB of log a second into 1 MB segments: one segment closes every second.
    const { port, server, backups } = await landscape({ logBytesPerSecond: 1e6, logSegmentBytes: 1e6 });
    backups.setLogBackup('A', false);
    const client = await connectHanaClient(server.port);
    opened.push(client);
    const rows = (await client.exec('SELECT * FROM SYS_DATABASES.M_LOG_SEGMENTS')) as Record<
      string,
      unknown
    >[];
    expect(Object.keys(rows[0]!)).toEqual([
      'DATABASE_NAME',
      'HOST',
      'PORT',
      'VOLUME_ID',
      'PARTITION_ID',
      'SEGMENT_ID',
      'FILE_NAME',
      'FILE_OFFSET',
      'STATE',
      'MIN_POSITION',
      'MAX_POSITION',
      'HOLE_POSITION',
      'USED_SIZE',
      'TOTAL_SIZE',
      'IN_BACKUP',
      'LAST_COMMIT_TIME',
      'ENCRYPTION_KEY_HASH',
    ]);
    const writing = rows.find((r) => r.DATABASE_NAME === 'HA1' && r.STATE === 'Writing')!;
    expect(typeof writing.PORT).toBe('number');
    expect(writing.IN_BACKUP).toBe('FALSE');
    expect(String(writing.LAST_COMMIT_TIME)).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}/);
    // No data backup yet: HANA keeps no log for backups, nothing waits.
    expect((await port.read()).logBacklog?.HA1?.waitingSegments).toBe(0);
    await port.backupData('HA1', 'file', '/b/ha1');
    await new Promise((r) => setTimeout(r, 2600));
    const after = await port.read();
    const ha1 = after.logBacklog!.HA1!;
    expect(ha1.waitingSegments).toBeGreaterThanOrEqual(2);
    expect(ha1.waitingBytes).toBe(ha1.waitingSegments * 1e6);
    // The oldest closed segment's last commit, on HANA's clock: about 1 s after the backup began.
    expect(ha1.oldestWaitingAgeSeconds!).toBeGreaterThan(0.5);
    expect(ha1.oldestWaitingAgeSeconds!).toBeLessThan(3);
    // SYSTEMDB has no data backup: nothing of it waits.
    expect(after.logBacklog!.SYSTEMDB!.waitingSegments).toBe(0);
  }, 30_000);

  it('BACKUP CHECK ACCESS: the written files are readable, others and a lost destination are not', async () => {
    const { port, backups } = await landscape();
    await port.backupData('HA1', 'file', '/b/x');
    expect(await port.checkAccess('HA1', 'file', '/b/x_databackup_0_1')).toBe(true);
    expect(await port.checkAccess('HA1', 'file', '/b/never_written')).toBe(false);
    backups.loseDestination('A', true);
    expect(await port.checkAccess('HA1', 'file', '/b/x_databackup_0_1')).toBe(false);
  }, 30_000);

  it('BACKUP CATALOG DELETE ... ALL BEFORE BACKUP_ID ... WITH FILE removes older entries only', async () => {
    const { port } = await landscape();
    await port.backupData('SYSTEMDB', 'file', '/b/one');
    await port.backupData('SYSTEMDB', 'file', '/b/two');
    const ids = (await port.read()).catalog.map((e) => e.backupId);
    expect(ids).toHaveLength(2);
    await port.deleteBefore('SYSTEMDB', ids[1]!, 'file');
    expect((await port.read()).catalog.map((e) => e.backupId)).toEqual([ids[1]]);
    expect(await port.checkAccess('SYSTEMDB', 'file', '/b/one_databackup_0_1')).toBe(false);
  }, 30_000);

  it('a failing destination fails BACKUP DATA with HANA error 447; an instance crash interrupts it', async () => {
    const { port, backups, model } = await landscape();
    backups.failBackups('A', true);
    const failed = await port.backupData('HA1', 'file', '/b/f').then(
      () => null,
      (e: unknown) => e,
    );
    expect(failed).toBeInstanceOf(SqlProbeError);
    expect((failed as SqlProbeError).sqlCode).toBe(447);
    backups.failBackups('A', false);
    const running = port.backupData('HA1', 'file', '/b/g').then(
      () => null,
      (e: unknown) => e,
    );
    await new Promise((r) => setTimeout(r, 200));
    expect((await port.running()).map((r) => r.database)).toEqual(['HA1']);
    model.crashInstance('A');
    expect(await running).toBeInstanceOf(BackupInterruptedError);
  }, 30_000);

  it('a refused login fails the read without the password in the error', async () => {
    const { server } = await landscape();
    const secret = 'Wrong-Secret-99';
    const wrong = new HanaSqlBackupPort({
      host: '127.0.0.1',
      port: server.port,
      credentials: { user: USER, password: secret },
      clock: realClock,
      timeoutMs: 5000,
      backupTimeoutMs: 5000,
    });
    const err = (await wrong.read().then(
      () => null,
      (e: unknown) => e,
    )) as Error;
    expect(err).toBeInstanceOf(SqlProbeError);
    expect(`${err.message} ${err.stack ?? ''}`).not.toContain(secret);
  }, 30_000);

  it('names are checked before they reach SQL text', async () => {
    const { port } = await landscape();
    await expect(port.backupData('HA1" ; DROP TABLE X --', 'file', '/b/x')).rejects.toThrow(
      /not a valid SQL identifier/,
    );
    await expect(port.backupData('HA1', 'file', "/b/x') ; --")).rejects.toThrow(/not a valid backup path/);
  });

  it("the primary's backup runner, over the real driver: the run is recorded, carried out and recorded done", async () => {
    const { port } = await landscape();
    const store = new MemoryCoordination(realClock);
    const a = store.session('c', 'A', 30);
    await a.start();
    await a.acquireLeader(0, Date.now());
    await a.publishReport(report('A', primaryHealth()));
    // A schedule that fired at the start of this minute and not again until tomorrow: an
    // every-minute schedule started a second run when the test crossed a minute (a flake).
    if (new Date().getUTCSeconds() >= 50)
      await new Promise((r) => setTimeout(r, (61 - new Date().getUTCSeconds()) * 1000));
    const now = new Date();
    const s = spec({ backup: { schedule: `${now.getUTCMinutes()} ${now.getUTCHours()} * * *` } });
    const runner = new BackupRunner({
      cluster: 'c',
      site: 'A',
      spec: () => s,
      coordination: store,
      port,
      clock: realClock,
    });
    disposers.push(() => runner.kill());
    await runner.tick();
    expect(store.snapshot('c').backup?.runs.map((r) => r.state)).toEqual(['running']);
    const deadline = Date.now() + 10_000;
    while (store.snapshot('c').backup?.runs[0]?.state === 'running' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(store.snapshot('c').backup?.runs.map((r) => r.state)).toEqual(['succeeded']);
    await runner.tick();
    const facts = store.snapshot('c').backup?.facts;
    expect(facts?.catalog.map((e) => e.database).sort()).toEqual(['HA1', 'SYSTEMDB']);
    expect(facts?.readable).toEqual({ SYSTEMDB: true, HA1: true });
    await a.close();
  }, 30_000);
});
