/**
 * The backup statements and views of the wire-protocol simulator, answered from the simulator's
 * backups (src/hana/sim/backups.ts) for one site, as the SYSTEMDB of that site answers them:
 *
 *   BACKUP DATA [FOR <db>] USING FILE|BACKINT ('<prefix>')         (returns when the backup ended)
 *   BACKUP CANCEL [FOR <db>] <backup id>
 *   BACKUP CHECK ACCESS [FOR <db>] USING FILE|BACKINT ('<path>')   (error 447 when not readable)
 *   BACKUP CATALOG DELETE [FOR <db>] ALL BEFORE BACKUP_ID <id> [WITH FILE | WITH BACKINT | COMPLETE]
 *
 *   SYS.M_BACKUP_CATALOG, SYS.M_BACKUP_CATALOG_FILES, SYS.M_BACKUP_PROGRESS (SYSTEMDB's own), the
 *   same in SYS_DATABASES with a DATABASE_NAME column (every database), SYS.M_DATABASES, and the
 *   [persistence] rows of SYS.M_INIFILE_CONTENTS (log_mode, enable_auto_log_backup), and
 *   SYS.M_LOG_SEGMENTS / SYS_DATABASES.M_LOG_SEGMENTS with the columns and types of SAP's
 *   reference (HOST ... ENCRYPTION_KEY_HASH).
 *
 * Without FOR a statement is about the database connected to: SYSTEMDB here.
 */
import {
  SimBackupError,
  type SimBackups,
  type SimCatalogEntry,
  type SimLogSegment,
} from '../hana-sim/backups.js';
import { HanaSqlError, SqlErrorCode, type Relation, type TableRef } from './sql.js';
import type { Column, SqlType, SqlValue } from './values.js';

/** What the wire server asks an extension: statements its SQL subset does not parse, extra views. */
export interface WireExtension {
  /** Carries out `sql` and resolves true, or resolves false when the statement is not its own. */
  statement(sql: string): Promise<boolean>;
  view(ref: TableRef): Relation | undefined;
}

const col = (name: string, type: SqlType, length?: number): Column => ({
  name,
  type,
  nullable: true,
  ...(length !== undefined ? { length } : {}),
});

const IDENT = String.raw`(?:"([A-Za-z0-9_]{1,64})"|([A-Za-z][A-Za-z0-9_]{0,63}))`;
const FOR = String.raw`(?:\s+FOR\s+${IDENT})?`;
const DEST = String.raw`\s+USING\s+(FILE|BACKINT)\s*\(\s*'([^']{1,512})'\s*\)`;
const BACKUP_DATA = new RegExp(String.raw`^\s*BACKUP\s+DATA${FOR}${DEST}\s*;?\s*$`, 'i');
const BACKUP_CANCEL = new RegExp(String.raw`^\s*BACKUP\s+CANCEL${FOR}\s+([0-9]{1,20})\s*;?\s*$`, 'i');
const BACKUP_CHECK = new RegExp(String.raw`^\s*BACKUP\s+CHECK\s+ACCESS${FOR}${DEST}\s*;?\s*$`, 'i');
const CATALOG_DELETE = new RegExp(
  String.raw`^\s*BACKUP\s+CATALOG\s+DELETE${FOR}\s+ALL\s+BEFORE\s+BACKUP_ID\s+([0-9]{1,20})(?:\s+(WITH\s+FILE|WITH\s+BACKINT|COMPLETE))?\s*;?\s*$`,
  'i',
);

const dbOf = (quoted: string | undefined, plain: string | undefined): string =>
  quoted ?? plain?.toUpperCase() ?? 'SYSTEMDB';

function sqlError(err: unknown): HanaSqlError {
  if (err instanceof SimBackupError) return new HanaSqlError(err.sqlCode, err.message);
  return new HanaSqlError(447, `backup could not be completed: ${(err as Error).message}`);
}

const catalogColumns = [
  col('ENTRY_ID', 'BIGINT'),
  col('ENTRY_TYPE_NAME', 'VARCHAR', 32),
  col('BACKUP_ID', 'BIGINT'),
  col('SYS_START_TIME', 'TIMESTAMP'),
  col('UTC_START_TIME', 'TIMESTAMP'),
  col('SYS_END_TIME', 'TIMESTAMP'),
  col('UTC_END_TIME', 'TIMESTAMP'),
  col('STATE_NAME', 'VARCHAR', 16),
  col('COMMENT', 'NVARCHAR', 256),
  col('MESSAGE', 'NVARCHAR', 1024),
  col('SYSTEM_ID', 'VARCHAR', 3),
];
const fileColumns = [
  col('ENTRY_ID', 'BIGINT'),
  col('BACKUP_ID', 'BIGINT'),
  col('SOURCE_TYPE_NAME', 'VARCHAR', 32),
  col('SERVICE_TYPE_NAME', 'VARCHAR', 32),
  col('HOST', 'VARCHAR', 64),
  col('DESTINATION_TYPE_NAME', 'VARCHAR', 16),
  col('DESTINATION_PATH', 'NVARCHAR', 512),
  col('BACKUP_SIZE', 'BIGINT'),
];
const progressColumns = [
  col('BACKUP_ID', 'BIGINT'),
  col('ENTRY_TYPE_NAME', 'VARCHAR', 32),
  col('STATE_NAME', 'VARCHAR', 16),
  col('SYS_START_TIME', 'TIMESTAMP'),
  col('UTC_START_TIME', 'TIMESTAMP'),
  col('TRANSFERRED_SIZE', 'BIGINT'),
  col('TOTAL_SIZE', 'BIGINT'),
];
/** M_LOG_SEGMENTS as SAP's SQL reference lists it (names, order and types). */
const logSegmentColumns = [
  col('HOST', 'NVARCHAR', 64),
  col('PORT', 'INTEGER'),
  col('VOLUME_ID', 'INTEGER'),
  col('PARTITION_ID', 'BIGINT'),
  col('SEGMENT_ID', 'BIGINT'),
  col('FILE_NAME', 'NVARCHAR', 512),
  col('FILE_OFFSET', 'BIGINT'),
  col('STATE', 'NVARCHAR', 16),
  col('MIN_POSITION', 'BIGINT'),
  col('MAX_POSITION', 'BIGINT'),
  col('HOLE_POSITION', 'BIGINT'),
  col('USED_SIZE', 'BIGINT'),
  col('TOTAL_SIZE', 'BIGINT'),
  col('IN_BACKUP', 'NVARCHAR', 5),
  col('LAST_COMMIT_TIME', 'TIMESTAMP'),
  col('ENCRYPTION_KEY_HASH', 'NVARCHAR', 64),
];
const withDatabase = (cols: Column[]): Column[] => [col('DATABASE_NAME', 'NVARCHAR', 256), ...cols];

const at = (t: number | null): Date | null => (t === null ? null : new Date(t));

/** One M_BACKUP_CATALOG_FILES row per file; the size is split over the files. */
function fileRows(e: SimCatalogEntry, host: string, entryId: number): SqlValue[][] {
  const n = Math.max(1, e.paths.length);
  return e.paths.map((p, i) => [
    BigInt(entryId + i),
    BigInt(e.backupId),
    e.entryType === 'log backup' ? 'volume' : i === 0 ? 'topology' : 'volume',
    i === 0 ? 'nameserver' : 'indexserver',
    host,
    e.destinationType,
    p,
    BigInt(Math.round(e.bytes / n)),
  ]);
}

/** The extension for site `site` of the simulated landscape. */
export function simBackupExtension(
  backups: SimBackups,
  site: string,
  options: { readonly sid: string; readonly host: string; readonly now: () => number },
): WireExtension {
  const catalog = () => backups.catalog(site);
  const entryIds = (entries: readonly SimCatalogEntry[]) => {
    const ids = new Map<SimCatalogEntry, number>();
    let next = 1;
    for (const e of entries) {
      ids.set(e, next);
      next += Math.max(1, e.paths.length);
    }
    return ids;
  };
  const catalogRelation = (all: boolean): Relation => {
    const entries = catalog().filter((e) => all || e.database === 'SYSTEMDB');
    const ids = entryIds(entries);
    return {
      columns: all ? withDatabase(catalogColumns) : catalogColumns,
      rows: entries.map((e) => {
        const row: SqlValue[] = [
          BigInt(ids.get(e)!),
          e.entryType,
          BigInt(e.backupId),
          at(e.startedAt),
          at(e.startedAt),
          at(e.endedAt),
          at(e.endedAt),
          e.state,
          null,
          e.message,
          options.sid,
        ];
        return all ? [e.database, ...row] : row;
      }),
    };
  };
  const filesRelation = (all: boolean): Relation => {
    const entries = catalog().filter((e) => all || e.database === 'SYSTEMDB');
    const ids = entryIds(entries);
    const rows: SqlValue[][] = [];
    for (const e of entries)
      for (const r of fileRows(e, options.host, ids.get(e)!)) rows.push(all ? [e.database, ...r] : r);
    return { columns: all ? withDatabase(fileColumns) : fileColumns, rows };
  };
  const progressRelation = (all: boolean): Relation => {
    const now = options.now();
    const rows = backups
      .runningOn(site)
      .filter((e) => all || e.database === 'SYSTEMDB')
      .map((e) => {
        const row: SqlValue[] = [
          BigInt(e.backupId),
          e.entryType,
          e.state,
          at(e.startedAt),
          at(e.startedAt),
          BigInt(
            Math.min(e.bytes, Math.round(backups.throughputBytesPerSecond * ((now - e.startedAt) / 1000))),
          ),
          BigInt(e.bytes),
        ];
        return all ? [e.database, ...row] : row;
      });
    return { columns: all ? withDatabase(progressColumns) : progressColumns, rows };
  };
  const logSegmentsRelation = (all: boolean): Relation => {
    const dbs = backups.databases();
    const rows = backups
      .logSegments(site)
      .filter((g) => all || g.database === 'SYSTEMDB')
      .map((g: SimLogSegment) => {
        // SYSTEMDB's log is the nameserver's (3<NN>01, volume 1); a tenant's its indexserver's.
        const volume = 1 + dbs.indexOf(g.database) * 2;
        const port = g.database === 'SYSTEMDB' ? 30001 : 30003 + 40 * (dbs.indexOf(g.database) - 1);
        const dir = `/hana/log/${options.sid}/mnt00001/hdb${String(volume).padStart(5, '0')}`;
        const row: SqlValue[] = [
          options.host,
          port,
          volume,
          0n,
          BigInt(g.segmentId),
          `${dir}/logsegment_000_${String(g.segmentId).padStart(8, '0')}.dat`,
          0n,
          g.state,
          BigInt(g.minPosition),
          g.maxPosition === null ? null : BigInt(g.maxPosition),
          BigInt(g.minPosition),
          BigInt(g.usedBytes),
          BigInt(g.totalBytes),
          'FALSE',
          at(g.lastCommitAt),
          null,
        ];
        return all ? [g.database, ...row] : row;
      });
    return { columns: all ? withDatabase(logSegmentColumns) : logSegmentColumns, rows };
  };
  const databases = (): Relation => ({
    columns: [
      col('DATABASE_NAME', 'NVARCHAR', 256),
      col('DESCRIPTION', 'NVARCHAR', 256),
      col('ACTIVE_STATUS', 'VARCHAR', 16),
    ],
    rows: backups
      .databases()
      .map((d) => [d, d === 'SYSTEMDB' ? 'SystemDB-HA1-00' : `tenant ${d}`, 'YES'] as SqlValue[]),
  });
  const inifile = (): Relation => {
    const rows: SqlValue[][] = [
      ['global.ini', 'DEFAULT', '', '', 'persistence', 'log_mode', 'normal'],
      ['global.ini', 'DEFAULT', '', '', 'persistence', 'enable_auto_log_backup', 'yes'],
      ['global.ini', 'DEFAULT', '', '', 'persistence', 'log_backup_timeout_s', '900'],
    ];
    if (!backups.logBackupEnabled(site))
      rows.push(['global.ini', 'SYSTEM', '', '', 'persistence', 'enable_auto_log_backup', 'no']);
    return {
      columns: [
        col('FILE_NAME', 'VARCHAR', 256),
        col('LAYER_NAME', 'VARCHAR', 16),
        col('TENANT_NAME', 'VARCHAR', 256),
        col('HOST', 'VARCHAR', 64),
        col('SECTION', 'VARCHAR', 128),
        col('KEY', 'VARCHAR', 128),
        col('VALUE', 'NVARCHAR', 5000),
      ],
      rows,
    };
  };

  return {
    view(ref) {
      const s = ref.schema ?? 'SYS';
      if (s !== 'SYS' && s !== 'SYS_DATABASES') return undefined;
      const all = s === 'SYS_DATABASES';
      switch (ref.name) {
        case 'M_BACKUP_CATALOG':
          return catalogRelation(all);
        case 'M_BACKUP_CATALOG_FILES':
          return filesRelation(all);
        case 'M_BACKUP_PROGRESS':
          return progressRelation(all);
        case 'M_LOG_SEGMENTS':
          return logSegmentsRelation(all);
        case 'M_DATABASES':
          return all ? undefined : databases();
        case 'M_INIFILE_CONTENTS':
          return all ? undefined : inifile();
        default:
          return undefined;
      }
    },
    async statement(sql) {
      if (!/^\s*BACKUP\s/i.test(sql)) return false;
      let m = BACKUP_DATA.exec(sql);
      if (m) {
        const type = m[3]!.toLowerCase() as 'file' | 'backint';
        try {
          await backups.backupData(site, dbOf(m[1], m[2]), type, m[4]!);
        } catch (err) {
          throw sqlError(err);
        }
        return true;
      }
      m = BACKUP_CANCEL.exec(sql);
      if (m) {
        try {
          backups.cancel(site, Number(m[3]));
        } catch (err) {
          throw sqlError(err);
        }
        return true;
      }
      m = BACKUP_CHECK.exec(sql);
      if (m) {
        let readable: boolean;
        try {
          readable = backups.checkAccess(site, m[4]!);
        } catch (err) {
          throw sqlError(err);
        }
        if (!readable)
          throw new HanaSqlError(
            447,
            `backup could not be completed: cannot access backup file ${m[4]!} (${dbOf(m[1], m[2])})`,
          );
        return true;
      }
      m = CATALOG_DELETE.exec(sql);
      if (m) {
        const how = (m[4] ?? '').toUpperCase().replace(/\s+/g, ' ');
        try {
          backups.deleteBefore(site, dbOf(m[1], m[2]), Number(m[3]), how !== '');
        } catch (err) {
          throw sqlError(err);
        }
        return true;
      }
      throw new HanaSqlError(SqlErrorCode.SYNTAX_ERROR, `sql syntax error: incorrect syntax near "BACKUP"`);
    },
  };
}
