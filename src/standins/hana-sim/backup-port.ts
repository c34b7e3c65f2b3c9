/** The backup port straight on the simulator (virtual time; the SQL path is src/hana/sql/backup.ts). */
import { logBacklogOf, type BackupCatalogEntry } from '../../domain/backup.js';
import {
  BackupInterruptedError,
  type BackupCatalogReading,
  type BackupDestinationType,
  type BackupPort,
} from '../../hana/backup-port.js';
import { SimBackupError, type SimBackups, type SimCatalogEntry } from './backups.js';
import type { SimLandscape } from './model.js';

export function catalogEntryOf(e: SimCatalogEntry): BackupCatalogEntry {
  return {
    backupId: String(e.backupId),
    database: e.database,
    entryType: e.entryType,
    state: e.state,
    startedAt: e.startedAt,
    endedAt: e.endedAt,
    bytes: e.bytes,
    destinationType: e.destinationType,
    paths: e.paths,
  };
}

/** The site must answer (not down, frozen or hung), as a SQL connection would need. */
function answering(model: SimLandscape, site: string): void {
  const snap = model.site(site).snapshot();
  if (!snap.nodeUp || !snap.running || snap.frozen || snap.hung)
    throw new Error(`SQL connection to ${site} failed: the instance does not answer`);
}

export function simBackupPort(model: SimLandscape, backups: SimBackups, site: string): BackupPort {
  return {
    read: async (): Promise<BackupCatalogReading> => {
      answering(model, site);
      const segments = backups.logSegments(site);
      return {
        databases: backups.databases(),
        catalog: backups.catalog(site).map(catalogEntryOf),
        logMode: 'normal',
        autoLogBackup: backups.logBackupEnabled(site),
        logBacklog: logBacklogOf(
          segments.map((g) => ({
            database: g.database,
            state: g.state,
            usedBytes: g.usedBytes,
            ageSeconds: g.lastCommitAt === null ? null : (backups.now() - g.lastCommitAt) / 1000,
          })),
          backups.databases(),
        ),
      };
    },
    backupData: async (database: string, type: BackupDestinationType, prefix: string) => {
      answering(model, site);
      await backups.backupData(site, database, type, prefix).catch((err: unknown) => {
        // -10807: the connection went with the instance, as the driver reports it.
        if (err instanceof SimBackupError && err.sqlCode === -10807)
          throw new BackupInterruptedError(err.message);
        throw err;
      });
    },
    running: async () => {
      answering(model, site);
      return backups.runningOn(site).map((e) => ({ backupId: String(e.backupId), database: e.database }));
    },
    cancel: async (_db: string, backupId: string) => {
      answering(model, site);
      backups.cancel(site, Number(backupId));
    },
    checkAccess: async (_db: string, _type: BackupDestinationType, path: string) => {
      answering(model, site);
      return backups.checkAccess(site, path);
    },
    deleteBefore: async (database: string, backupId: string, type: BackupDestinationType) => {
      answering(model, site);
      backups.deleteBefore(site, database, Number(backupId), type === 'file' || type === 'backint');
    },
  };
}
