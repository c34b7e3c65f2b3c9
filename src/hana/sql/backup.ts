/**
 * The backup port over SQL (@sap/hana-client), connected to the SYSTEMDB of the agent's own site
 * as a user with BACKUP ADMIN, BACKUP OPERATOR, CATALOG READ and INIFILE ADMIN (or read access to
 * M_INIFILE_CONTENTS). It reads the catalog, the log settings and the log waiting for backup
 * (SYS_DATABASES.M_LOG_SEGMENTS). Every call opens a fresh connection with its own deadline (see
 * HanaSqlProbe.session): a short one for reads, the backup timeout for BACKUP DATA, which HANA
 * answers only when the backup ended.
 *
 * Names reach SQL text only through sqlIdentifier/sqlPathLiteral (src/quote.ts), which refuse
 * anything but plain names and paths. Error messages are redacted of the password by the session.
 */
import type { Clock } from '../../clock.js';
import {
  LOG_STATES_WAITING_FOR_BACKUP,
  logBacklogOf,
  type BackupCatalogEntry,
  type LogSegmentRow,
} from '../../domain/backup.js';
import { sqlIdentifier, sqlPathLiteral } from '../../quote.js';
import {
  BackupInterruptedError,
  type BackupCatalogReading,
  type BackupDestinationType,
  type BackupPort,
} from '../backup-port.js';
import type { HanaCredentials } from './credentials.js';
import { HanaSqlProbe, SqlProbeError } from './probe.js';

export interface HanaSqlBackupOptions {
  readonly host: string;
  readonly port: number;
  readonly credentials: HanaCredentials | (() => Promise<HanaCredentials>);
  readonly clock: Clock;
  /** Deadline of a read, check, cancel or delete (ms). */
  readonly timeoutMs: number;
  /** Deadline of one BACKUP DATA (ms): spec.backup.timeoutSeconds. */
  readonly backupTimeoutMs: number;
  /** Most data backup entries read per call (newest first). */
  readonly maxEntries?: number;
}

type Row = Record<string, unknown>;

const DATA_QUERY = (limit: number) =>
  'SELECT C.DATABASE_NAME, C.BACKUP_ID, C.ENTRY_TYPE_NAME, C.STATE_NAME, C.UTC_START_TIME, C.UTC_END_TIME,' +
  ' F.DESTINATION_TYPE_NAME, F.DESTINATION_PATH, F.BACKUP_SIZE' +
  ' FROM SYS_DATABASES.M_BACKUP_CATALOG C LEFT JOIN SYS_DATABASES.M_BACKUP_CATALOG_FILES F' +
  ' ON C.DATABASE_NAME = F.DATABASE_NAME AND C.BACKUP_ID = F.BACKUP_ID' +
  " WHERE C.ENTRY_TYPE_NAME <> 'log backup' ORDER BY C.UTC_START_TIME DESC" +
  ` LIMIT ${limit}`;
const LOG_QUERY =
  'SELECT DATABASE_NAME, BACKUP_ID, ENTRY_TYPE_NAME, STATE_NAME, UTC_START_TIME, UTC_END_TIME' +
  " FROM SYS_DATABASES.M_BACKUP_CATALOG WHERE ENTRY_TYPE_NAME = 'log backup' AND STATE_NAME = 'successful'" +
  ' ORDER BY UTC_END_TIME DESC LIMIT 200';
/**
 * Log waiting for a log backup (M_LOG_SEGMENTS: Closed or Truncated, SAP's SQL reference), with
 * HANA's own current time beside LAST_COMMIT_TIME, so the age is taken on HANA's clock only.
 */
export const LOG_SEGMENTS_QUERY =
  'SELECT DATABASE_NAME, STATE, USED_SIZE, LAST_COMMIT_TIME, CURRENT_TIMESTAMP AS HANA_NOW' +
  ` FROM SYS_DATABASES.M_LOG_SEGMENTS WHERE STATE IN (${LOG_STATES_WAITING_FOR_BACKUP.map((st) => `'${st}'`).join(', ')})`;
const DATABASES_QUERY = "SELECT DATABASE_NAME FROM SYS.M_DATABASES WHERE ACTIVE_STATUS = 'YES'";
const INI_QUERY =
  'SELECT LAYER_NAME, KEY, VALUE FROM SYS.M_INIFILE_CONTENTS' +
  " WHERE FILE_NAME = 'global.ini' AND SECTION = 'persistence'";
const PROGRESS_QUERY =
  "SELECT DATABASE_NAME, BACKUP_ID FROM SYS_DATABASES.M_BACKUP_PROGRESS WHERE STATE_NAME = 'running'";

/** Error codes that mean HANA refused the backup itself (not the connection): 447, 448. */
const BACKUP_ERRORS = new Set([447, 448]);

/** HANA TIMESTAMP text or Date, read as UTC (the UTC_* columns). */
export function timestampMillis(value: unknown): number | null {
  if (value instanceof Date) return value.getTime();
  if (typeof value !== 'string') return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?/.exec(value.trim());
  if (!m) return null;
  const frac = (m[7] ?? '').padEnd(3, '0').slice(0, 3);
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +frac);
}

const text = (v: unknown): string =>
  typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v);
const id = (v: unknown): string => (typeof v === 'bigint' || typeof v === 'number' ? String(v) : text(v));
const size = (v: unknown): number => {
  const n =
    typeof v === 'bigint' ? Number(v) : typeof v === 'string' ? Number(v) : typeof v === 'number' ? v : 0;
  return Number.isFinite(n) && n >= 0 ? n : 0;
};

/** Catalog rows (one per file) into entries (one per backup), newest last. Unreadable rows are skipped. */
export function foldCatalogRows(rows: readonly Row[]): BackupCatalogEntry[] {
  const byKey = new Map<string, { entry: BackupCatalogEntry; paths: string[]; bytes: number }>();
  for (const r of rows) {
    const database = text(r.DATABASE_NAME);
    const backupId = id(r.BACKUP_ID);
    const startedAt = timestampMillis(r.UTC_START_TIME);
    if (database === '' || !/^[0-9]{1,20}$/.test(backupId) || startedAt === null) continue;
    const key = `${database}/${backupId}`;
    let e = byKey.get(key);
    if (e === undefined) {
      e = {
        entry: {
          backupId,
          database,
          entryType: text(r.ENTRY_TYPE_NAME),
          state: text(r.STATE_NAME),
          startedAt,
          endedAt: timestampMillis(r.UTC_END_TIME),
          bytes: 0,
          destinationType: text(r.DESTINATION_TYPE_NAME) || 'file',
          paths: [],
        },
        paths: [],
        bytes: 0,
      };
      byKey.set(key, e);
    }
    const path = text(r.DESTINATION_PATH);
    if (path !== '') e.paths.push(path);
    e.bytes += size(r.BACKUP_SIZE);
  }
  return [...byKey.values()]
    .map((e) => ({ ...e.entry, paths: e.paths, bytes: e.bytes }))
    .sort((a, b) => a.startedAt - b.startedAt);
}

/**
 * M_LOG_SEGMENTS rows into segment rows: the age is CURRENT_TIMESTAMP minus LAST_COMMIT_TIME of
 * the same row (both HANA's local time, so the zone cancels out); unreadable times give no age.
 */
export function logSegmentRows(rows: readonly Row[]): LogSegmentRow[] {
  return rows
    .map((r) => {
      const last = timestampMillis(r.LAST_COMMIT_TIME);
      const current = timestampMillis(r.HANA_NOW);
      return {
        database: text(r.DATABASE_NAME),
        state: text(r.STATE),
        usedBytes: size(r.USED_SIZE),
        ageSeconds: last === null || current === null ? null : Math.max(0, (current - last) / 1000),
      };
    })
    .filter((r) => r.database !== '');
}

/** log_mode and enable_auto_log_backup from M_INIFILE_CONTENTS rows: the most specific layer wins. */
export function persistenceSettings(rows: readonly Row[]): {
  logMode: string | null;
  autoLogBackup: boolean | null;
} {
  const rank = (layer: string) => (layer === 'DEFAULT' ? 0 : layer === 'SYSTEM' ? 1 : 2);
  const pick = (key: string): string | null => {
    let best: { r: number; v: string } | null = null;
    for (const row of rows) {
      if (text(row.KEY) !== key) continue;
      const r = rank(text(row.LAYER_NAME));
      if (best === null || r >= best.r) best = { r, v: text(row.VALUE).trim().toLowerCase() };
    }
    return best?.v ?? null;
  };
  const auto = pick('enable_auto_log_backup');
  return {
    logMode: pick('log_mode'),
    autoLogBackup:
      auto === null
        ? null
        : auto === 'yes' || auto === 'true'
          ? true
          : auto === 'no' || auto === 'false'
            ? false
            : null,
  };
}

const forDb = (db: string) => (db === 'SYSTEMDB' ? '' : ` FOR ${sqlIdentifier(db)}`);
const using = (type: BackupDestinationType) => (type === 'backint' ? 'BACKINT' : 'FILE');

export class HanaSqlBackupPort implements BackupPort {
  private readonly short: HanaSqlProbe;
  private readonly long: HanaSqlProbe;

  constructor(private readonly options: HanaSqlBackupOptions) {
    const base = {
      host: options.host,
      port: options.port,
      credentials: options.credentials,
      clock: options.clock,
    };
    this.short = new HanaSqlProbe({ ...base, timeoutMs: options.timeoutMs });
    this.long = new HanaSqlProbe({ ...base, timeoutMs: options.backupTimeoutMs });
  }

  async read(signal?: AbortSignal): Promise<BackupCatalogReading> {
    return this.short.session('backup catalog read', signal, async (run) => {
      const dbs = (await run(DATABASES_QUERY)) as Row[];
      const data = (await run(DATA_QUERY(this.options.maxEntries ?? 500))) as Row[];
      const logs = (await run(LOG_QUERY)) as Row[];
      const ini = (await run(INI_QUERY)) as Row[];
      const segments = (await run(LOG_SEGMENTS_QUERY)) as Row[];
      const settings = persistenceSettings(ini);
      const databases = dbs.map((r) => text(r.DATABASE_NAME)).filter((d) => d !== '');
      return {
        databases,
        catalog: foldCatalogRows([...data, ...logs]),
        logMode: settings.logMode,
        autoLogBackup: settings.autoLogBackup,
        logBacklog: logBacklogOf(logSegmentRows(segments), databases),
      };
    });
  }

  async backupData(
    database: string,
    type: BackupDestinationType,
    prefix: string,
    signal?: AbortSignal,
  ): Promise<void> {
    const sql = `BACKUP DATA${forDb(database)} USING ${using(type)} (${sqlPathLiteral(prefix)})`;
    await this.long
      .session(`BACKUP DATA of ${database}`, signal, (run) => run(sql))
      .catch((err: unknown) => {
        // HANA refused or failed the backup: a failure. Anything else (the connection went, the
        // deadline passed) says nothing about the backup itself: interrupted.
        if (
          err instanceof SqlProbeError &&
          err.code === 'SQL' &&
          err.sqlCode !== undefined &&
          BACKUP_ERRORS.has(err.sqlCode)
        )
          throw err;
        if (err instanceof SqlProbeError && (err.code === 'TIMEOUT' || err.code === 'CONNECT'))
          throw new BackupInterruptedError(err.message);
        throw err;
      });
  }

  async running(signal?: AbortSignal): Promise<readonly { backupId: string; database: string }[]> {
    return this.short.session('backup progress', signal, async (run) =>
      ((await run(PROGRESS_QUERY)) as Row[]).map((r) => ({
        backupId: id(r.BACKUP_ID),
        database: text(r.DATABASE_NAME),
      })),
    );
  }

  async cancel(database: string, backupId: string, signal?: AbortSignal): Promise<void> {
    if (!/^[0-9]{1,20}$/.test(backupId)) throw new Error('not a backup id');
    await this.short.session('backup cancel', signal, (run) =>
      run(`BACKUP CANCEL${forDb(database)} ${backupId}`),
    );
  }

  async checkAccess(
    database: string,
    type: BackupDestinationType,
    path: string,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const sql = `BACKUP CHECK ACCESS${forDb(database)} USING ${using(type)} (${sqlPathLiteral(path)})`;
    try {
      await this.short.session('backup check access', signal, (run) => run(sql));
      return true;
    } catch (err) {
      if (err instanceof SqlProbeError && err.code === 'SQL' && err.sqlCode === 447) return false;
      throw err;
    }
  }

  async deleteBefore(
    database: string,
    backupId: string,
    type: BackupDestinationType,
    signal?: AbortSignal,
  ): Promise<void> {
    if (!/^[0-9]{1,20}$/.test(backupId)) throw new Error('not a backup id');
    const sql = `BACKUP CATALOG DELETE${forDb(database)} ALL BEFORE BACKUP_ID ${backupId} WITH ${using(type)}`;
    await this.short.session('backup catalog delete', signal, (run) => run(sql));
  }
}
