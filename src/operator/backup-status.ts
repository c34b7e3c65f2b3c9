/**
 * What the operator reports about backups: status.backup, the BackupHealthy condition, the Events
 * BackupStarted / BackupSucceeded / BackupFailed, and the hanasr_backup_* metrics. Pure over the
 * store's backup record (runs and the primary's last catalog reading); the rules themselves are
 * src/domain/backup.ts (backupHealth).
 */
import {
  BACKUP_RUNS_LIMIT,
  type BackupRunStatus,
  type BackupStatus,
  type ConditionStatus,
  type HanaSystemReplicationStatus,
} from '../api/resource.js';
import type { HanaSystemReplicationSpec } from '../api/spec.js';
import type { ClusterState } from '../coordination/port.js';
import { backupHealth, type BackupRun } from '../domain/backup.js';
import type { HanasrMetrics } from '../observability/metrics.js';

export interface BackupConditionDraft {
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
}

export interface BackupEventDraft {
  readonly type: 'Normal' | 'Warning';
  readonly reason: 'BackupStarted' | 'BackupSucceeded' | 'BackupFailed';
  readonly message: string;
}

export interface BackupReport {
  readonly status: BackupStatus;
  readonly condition: BackupConditionDraft;
  readonly events: readonly BackupEventDraft[];
}

const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Facts older than this (ms) are not current: the primary's agent reads them every ~10 s. */
export const BACKUP_FACTS_STALE_MS = 120_000;

function runStatus(r: BackupRun): BackupRunStatus {
  return {
    id: r.id,
    kind: r.kind,
    attempt: r.attempt,
    site: r.site,
    epoch: r.epoch,
    state: r.state,
    startTime: rfc3339(r.startedAt),
    ...(r.endedAt !== undefined ? { endTime: rfc3339(r.endedAt) } : {}),
    message: r.message.slice(0, 1024),
  };
}

const runKey = (r: { id: string; attempt: number; state: string }) => `${r.id}#${r.attempt}#${r.state}`;

/** status.backup, BackupHealthy and the Events for a reconcile; undefined without spec.backup. */
export function backupReport(
  spec: HanaSystemReplicationSpec,
  state: ClusterState,
  previous: HanaSystemReplicationStatus | undefined,
  now: number,
): BackupReport | undefined {
  const backup = spec.backup;
  if (backup === undefined) return undefined;
  const record = state.backup;
  const health = backupHealth(backup, record, now, {
    staleAfterMs: BACKUP_FACTS_STALE_MS,
    maxSkewMs: spec.clock.maxSkewSeconds * 1000,
  });
  const runs = [...(record?.runs ?? [])].sort((a, b) => b.startedAt - a.startedAt || b.attempt - a.attempt);
  const facts = record?.facts;
  const status: BackupStatus = {
    healthy: health.healthy,
    reason: health.reason,
    tooOld: health.tooOld,
    notReadable: health.unreadable,
    logBackupStalled: health.logStalled,
    ...(facts !== undefined ? { observedTime: rfc3339(facts.observedAt), observedSite: facts.site } : {}),
    databases: health.databases.map((d) => ({
      name: d.database,
      ...(d.newestSuccessfulAt !== null ? { lastSuccessfulTime: rfc3339(d.newestSuccessfulAt) } : {}),
      ...(d.ageSeconds !== null ? { ageSeconds: d.ageSeconds } : {}),
      ...(d.newestSuccessfulId !== null ? { backupId: d.newestSuccessfulId } : {}),
      ...(d.bytes !== null ? { sizeBytes: d.bytes } : {}),
      readable: d.readable === null ? 'Unknown' : d.readable ? 'True' : 'False',
      ...(d.newestLogBackupAt !== null ? { lastLogBackupTime: rfc3339(d.newestLogBackupAt) } : {}),
      ...(d.logSegmentsWaiting !== null ? { logSegmentsWaiting: d.logSegmentsWaiting } : {}),
      ...(d.logBytesWaiting !== null ? { logBytesWaiting: d.logBytesWaiting } : {}),
      ...(d.logOldestWaitingSeconds !== null ? { logOldestWaitingSeconds: d.logOldestWaitingSeconds } : {}),
    })),
    runs: runs.slice(0, BACKUP_RUNS_LIMIT).map(runStatus),
  };
  const condition: BackupConditionDraft = {
    status: health.reason === 'BackupStateUnknown' ? 'Unknown' : health.healthy ? 'True' : 'False',
    reason: health.reason,
    message: health.message.slice(0, 4096),
  };

  // Events for what changed since the last status (nothing on the first one: no flood on start).
  const events: BackupEventDraft[] = [];
  const before = previous?.backup?.runs;
  if (before !== undefined) {
    const seen = new Set(before.map(runKey));
    for (const r of [...runs].reverse()) {
      if (seen.has(runKey(r))) continue;
      const what = `backup run ${r.id} (attempt ${r.attempt}) on ${r.site} at epoch ${r.epoch}`;
      if (r.state === 'running')
        events.push({ type: 'Normal', reason: 'BackupStarted', message: `${what} started: ${r.message}` });
      else if (r.state === 'succeeded')
        events.push({
          type: 'Normal',
          reason: 'BackupSucceeded',
          message: `${what} succeeded: ${r.message}`,
        });
      else
        events.push({
          type: 'Warning',
          reason: 'BackupFailed',
          message: `${what} ${r.state === 'interrupted' ? 'was interrupted (retried by the primary)' : 'failed'}: ${r.message}`,
        });
    }
  }
  return { status, condition, events };
}

/**
 * hanasr_backup_* for one cluster: the newest successful data backup's age and time per database,
 * the newest log backup's age, the log waiting for a log backup (segments, bytes), whether the
 * newest backup is readable, and the health (1/0).
 * Unknown values are not exported (absent series), and hanasr_backup_healthy is 0 while unknown.
 */
export function exportBackupMetrics(
  metrics: HanasrMetrics,
  labels: { readonly namespace: string; readonly cluster: string },
  status: BackupStatus | undefined,
): void {
  if (status === undefined) return;
  metrics.backupHealthy.set(labels, status.healthy ? 1 : 0);
  metrics.backupTooOld.set(labels, status.tooOld === true ? 1 : 0);
  metrics.backupNotReadable.set(labels, status.notReadable === true ? 1 : 0);
  metrics.backupLogStalled.set(labels, status.logBackupStalled === true ? 1 : 0);
  for (const d of status.databases ?? []) {
    const l = { ...labels, database: d.name };
    if (d.ageSeconds !== undefined) metrics.backupLastSuccessAgeSeconds.set(l, d.ageSeconds);
    if (d.lastSuccessfulTime !== undefined)
      metrics.backupLastSuccessTimestampSeconds.set(l, Math.floor(Date.parse(d.lastSuccessfulTime) / 1000));
    if (d.lastLogBackupTime !== undefined)
      metrics.backupLogLastSuccessTimestampSeconds.set(l, Math.floor(Date.parse(d.lastLogBackupTime) / 1000));
    metrics.backupReadable.set(l, d.readable === 'True' ? 1 : 0);
    if (d.logSegmentsWaiting !== undefined) metrics.backupLogSegmentsWaiting.set(l, d.logSegmentsWaiting);
    if (d.logBytesWaiting !== undefined) metrics.backupLogBytesWaiting.set(l, d.logBytesWaiting);
  }
}
