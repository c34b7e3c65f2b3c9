/** status.backup, BackupHealthy, the Backup* Events and the hanasr_backup_* metrics. */
import { describe, expect, it } from 'vitest';
import { findCondition, parseStatus } from '../../src/api/resource.js';
import type { ClusterState } from '../../src/coordination/port.js';
import type { BackupCatalogEntry, BackupFacts, BackupRun, BackupState } from '../../src/domain/backup.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { exportBackupMetrics } from '../../src/operator/backup-status.js';
import { formatBackup } from '../../src/cli/commands/backup.js';
import { describeBackups } from '../../src/cli/commands/status.js';
import { buildStatus } from '../../src/operator/status.js';
import { healthy, spec } from './fixtures.js';

const T0 = 1_700_000_001_000;
const H = 3_600_000;
const backupSpec = spec({ backup: { schedule: '0 0 * * *', logBackup: { required: false } } });

const entry = (
  database: string,
  startedAt: number,
  over: Partial<BackupCatalogEntry> = {},
): BackupCatalogEntry => ({
  backupId: String(startedAt),
  database,
  entryType: 'complete data backup',
  state: 'successful',
  startedAt,
  endedAt: startedAt + 60_000,
  bytes: 1e9,
  destinationType: 'file',
  paths: [`/b/${database}_${startedAt}`],
  ...over,
});

const facts = (over: Partial<BackupFacts> = {}): BackupFacts => ({
  site: 'A',
  observedAt: T0 - 5000,
  databases: ['SYSTEMDB', 'HA1'],
  catalog: [entry('SYSTEMDB', T0 - 2 * H), entry('HA1', T0 - 2 * H)],
  logMode: 'normal',
  autoLogBackup: true,
  readable: { SYSTEMDB: true, HA1: true },
  ...over,
});

const run = (over: Partial<BackupRun>): BackupRun => ({
  id: 's-1',
  kind: 'scheduled',
  slot: 1,
  attempt: 1,
  site: 'A',
  epoch: 1,
  state: 'running',
  startedAt: T0 - 3 * H,
  message: 'scheduled backup',
  ...over,
});

function build(backup: BackupState | undefined, previous?: ReturnType<typeof buildStatus>['status']) {
  const state: ClusterState = { ...healthy(), ...(backup !== undefined ? { backup } : {}) };
  const result = buildStatus({ spec: backupSpec, generation: 1, state, previous, now: T0 });
  parseStatus(result.status);
  return result;
}

describe('backup status', () => {
  it('no spec.backup: no backup status, no BackupHealthy condition', () => {
    const r = buildStatus({ spec: spec(), generation: 1, state: healthy(), previous: undefined, now: T0 });
    expect(r.status.backup).toBeUndefined();
    expect(findCondition(r.status, 'BackupHealthy')).toBeUndefined();
  });

  it('nothing reported yet is Unknown, never healthy', () => {
    const r = build(undefined);
    expect(findCondition(r.status, 'BackupHealthy')).toMatchObject({
      status: 'Unknown',
      reason: 'BackupStateUnknown',
    });
    expect(r.status.backup?.healthy).toBe(false);
  });

  it('fresh, readable backups of every database: True, with per-database times and sizes', () => {
    const r = build({ runs: [], facts: facts() });
    expect(findCondition(r.status, 'BackupHealthy')).toMatchObject({ status: 'True', reason: 'BackupsOk' });
    expect(r.status.backup?.databases).toEqual([
      expect.objectContaining({ name: 'SYSTEMDB', ageSeconds: 7200, readable: 'True', sizeBytes: 1e9 }),
      expect.objectContaining({ name: 'HA1', ageSeconds: 7200, readable: 'True' }),
    ]);
  });

  it('the newest backup not readable from the primary is False (BackupNotReadable), not assumed', () => {
    const r = build({ runs: [], facts: facts({ readable: { SYSTEMDB: true, HA1: false } }) });
    expect(findCondition(r.status, 'BackupHealthy')).toMatchObject({
      status: 'False',
      reason: 'BackupNotReadable',
    });
    expect(r.status.backup?.notReadable).toBe(true);
  });

  it('a backup older than the last scheduled time plus the margin is False (BackupTooOld)', () => {
    const old = facts({ catalog: [entry('SYSTEMDB', T0 - 30 * H), entry('HA1', T0 - 2 * H)] });
    const r = build({ runs: [], facts: old });
    expect(findCondition(r.status, 'BackupHealthy')).toMatchObject({
      status: 'False',
      reason: 'BackupTooOld',
    });
    expect(r.status.backup?.tooOld).toBe(true);
  });

  it('Events: BackupStarted, then BackupSucceeded or BackupFailed (interrupted is a failure, retried)', () => {
    const first = build({ runs: [], facts: facts() });
    expect(first.events.filter((e) => e.reason.startsWith('Backup'))).toEqual([]);
    const started = build({ runs: [run({})], facts: facts() }, first.status);
    expect(started.events.map((e) => [e.type, e.reason])).toEqual([['Normal', 'BackupStarted']]);
    const interrupted = build(
      {
        runs: [run({ state: 'interrupted', endedAt: T0 - H, message: 'A lost the leader key' })],
        facts: facts(),
      },
      started.status,
    );
    expect(interrupted.events.map((e) => [e.type, e.reason])).toEqual([['Warning', 'BackupFailed']]);
    expect(interrupted.events[0]?.message).toMatch(/interrupted/);
    const done: BackupState = {
      runs: [
        run({ state: 'interrupted', endedAt: T0 - H }),
        run({ attempt: 2, site: 'B', epoch: 2, state: 'succeeded', startedAt: T0 - H, endedAt: T0 - 1000 }),
      ],
      facts: facts(),
    };
    const retried = build(done, interrupted.status);
    expect(retried.events.map((e) => e.reason)).toEqual(['BackupSucceeded']);
    expect(retried.status.backup?.runs?.[0]).toMatchObject({ attempt: 2, site: 'B', state: 'succeeded' });
    // The same record again: no Event twice.
    expect(build(done, retried.status).events.filter((e) => e.reason.startsWith('Backup'))).toEqual([]);
  });

  it('hanasr_backup_* metrics follow the status', async () => {
    const metrics = createMetrics();
    const labels = { namespace: 'hana', cluster: 'ha1' };
    exportBackupMetrics(
      metrics,
      labels,
      build({ runs: [], facts: facts({ readable: { SYSTEMDB: true, HA1: false } }) }).status.backup,
    );
    const text = await metrics.registry.metrics();
    expect(text).toContain('hanasr_backup_healthy{namespace="hana",cluster="ha1"} 0');
    expect(text).toContain('hanasr_backup_not_readable{namespace="hana",cluster="ha1"} 1');
    expect(text).toContain('hanasr_backup_readable{namespace="hana",cluster="ha1",database="HA1"} 0');
    expect(text).toContain(
      `hanasr_backup_last_success_timestamp_seconds{namespace="hana",cluster="ha1",database="SYSTEMDB"} ${Math.floor((T0 - 2 * H) / 1000)}`,
    );
  });
  it('log waiting for a log backup (M_LOG_SEGMENTS): in status.backup, the metrics, hanasr status and hanasr backup', async () => {
    // Read 5 s before now on HANA's clock: the oldest segment had waited 600 s then.
    const backlog = {
      SYSTEMDB: { waitingSegments: 0, waitingBytes: 0, oldestWaitingAgeSeconds: null },
      HA1: { waitingSegments: 3, waitingBytes: 3 * 64 * 2 ** 20, oldestWaitingAgeSeconds: 600 },
    };
    const r = build({ runs: [], facts: facts({ logBacklog: backlog }) });
    expect(r.status.backup?.databases).toEqual([
      expect.objectContaining({ name: 'SYSTEMDB', logSegmentsWaiting: 0, logBytesWaiting: 0 }),
      expect.objectContaining({
        name: 'HA1',
        logSegmentsWaiting: 3,
        logBytesWaiting: 3 * 64 * 2 ** 20,
        logOldestWaitingSeconds: 605,
      }),
    ]);
    expect(r.status.backup?.databases?.[0]).not.toHaveProperty('logOldestWaitingSeconds');
    // Not read (an older agent, or the view did not answer): no field, never a 0 that looks healthy.
    expect(build({ runs: [], facts: facts() }).status.backup?.databases?.[1]).not.toHaveProperty(
      'logSegmentsWaiting',
    );

    const metrics = createMetrics();
    exportBackupMetrics(metrics, { namespace: 'hana', cluster: 'ha1' }, r.status.backup);
    const text = await metrics.registry.metrics();
    expect(text).toContain(
      'hanasr_backup_log_segments_waiting{namespace="hana",cluster="ha1",database="HA1"} 3',
    );
    expect(text).toContain(
      `hanasr_backup_log_waiting_bytes{namespace="hana",cluster="ha1",database="HA1"} ${3 * 64 * 2 ** 20}`,
    );
    expect(text).toContain(
      'hanasr_backup_log_segments_waiting{namespace="hana",cluster="ha1",database="SYSTEMDB"} 0',
    );

    expect(describeBackups(r.status.backup!)).toContain('log waiting for backup 3 segments (192MiB)');
    const table = formatBackup(r.status.backup, 'True BackupsOk', T0);
    expect(table).toContain('LOG WAITING FOR BACKUP');
    expect(table).toMatch(/HA1 .*3 segments, 192MiB, oldest 10m/);
    expect(table).toMatch(/SYSTEMDB .* none/);
  });
});
