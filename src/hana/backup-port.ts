/**
 * What the primary's agent needs from its HANA for backups (src/agent/backup.ts). Adapters: SQL
 * over @sap/hana-client for real HANA and the wire-protocol simulator (src/hana/sql/backup.ts),
 * and the simulator directly (src/hana/sim/backup-port.ts).
 *
 * Every method settles within its own deadline or honours `signal`; callers wrap them as well.
 */
import type { BackupCatalogEntry, LogBacklog } from '../domain/backup.js';

export type BackupDestinationType = 'file' | 'backint';

/**
 * BACKUP DATA did not fail on its own: the connection to HANA went (the instance stopped, the
 * node was lost) while it ran. The run is recorded interrupted, and retried at once.
 */
export class BackupInterruptedError extends Error {
  readonly code = 'backup_interrupted';
  constructor(message: string) {
    super(message);
    this.name = 'BackupInterruptedError';
  }
}

export interface BackupCatalogReading {
  /** SYSTEMDB and the tenants (M_DATABASES). */
  readonly databases: readonly string[];
  /** The newest catalog entries per database (data backups, log backups), newest last. */
  readonly catalog: readonly BackupCatalogEntry[];
  /** global.ini [persistence] log_mode; null when not readable. */
  readonly logMode: string | null;
  /** global.ini [persistence] enable_auto_log_backup; null when not readable. */
  readonly autoLogBackup: boolean | null;
  /** Per database: the log waiting for a log backup (M_LOG_SEGMENTS). */
  readonly logBacklog?: Readonly<Record<string, LogBacklog>>;
}

export interface BackupPort {
  /** Reads the catalog, the databases and the log backup settings. */
  read(signal?: AbortSignal): Promise<BackupCatalogReading>;
  /**
   * `BACKUP DATA [FOR <db>] USING FILE|BACKINT ('<prefix>')`: resolves when HANA reports the
   * backup done, rejects when it failed, was cancelled or the connection went.
   */
  backupData(
    database: string,
    type: BackupDestinationType,
    prefix: string,
    signal?: AbortSignal,
  ): Promise<void>;
  /** The data backups running now (M_BACKUP_PROGRESS): backup id per database. */
  running(signal?: AbortSignal): Promise<readonly { readonly backupId: string; readonly database: string }[]>;
  /** `BACKUP CANCEL [FOR <db>] <id>`. */
  cancel(database: string, backupId: string, signal?: AbortSignal): Promise<void>;
  /** `BACKUP CHECK ACCESS USING FILE|BACKINT ('<path>')`: true when readable, false when not. */
  checkAccess(
    database: string,
    type: BackupDestinationType,
    path: string,
    signal?: AbortSignal,
  ): Promise<boolean>;
  /** `BACKUP CATALOG DELETE FOR <db> ALL BEFORE BACKUP_ID <id> WITH FILE|BACKINT`. */
  deleteBefore(
    database: string,
    backupId: string,
    type: BackupDestinationType,
    signal?: AbortSignal,
  ): Promise<void>;
}
