/**
 * Read-only views the simulator answers: DUMMY, the table function SERIES_GENERATE_INTEGER and
 * the monitoring views SYS.M_DATABASE, SYS.M_SYSTEM_REPLICATION and SYS.M_SERVICE_REPLICATION,
 * computed from a live SimSiteSnapshot so that lag moves as the model runs.
 */
import type { SimSiteSnapshot } from '../hana-sim/snapshot.js';
import { HanaSqlError, SqlErrorCode, type Relation, type TableRef } from './sql.js';
import type { Column, SqlType, SqlValue } from './values.js';

const col = (name: string, type: SqlType, extra: Partial<Column> = {}): Column => ({
  name,
  type,
  nullable: true,
  ...extra,
});

const dummy: Relation = { columns: [col('DUMMY', 'NVARCHAR', { length: 1 })], rows: [['X']] };

/** HANA ports: 3<nr>01 nameserver, 3<nr>03 indexserver (single-container system DB layout). */
function servicesOf(snapshot: SimSiteSnapshot): { service: string; port: number; volumeId: number }[] {
  const nr = snapshot.instanceNumber.padStart(2, '0');
  return [
    { service: 'nameserver', port: Number(`3${nr}01`), volumeId: 1 },
    { service: 'indexserver', port: Number(`3${nr}03`), volumeId: 3 },
  ];
}

const upper = (s: string): string => s.toUpperCase();

const systemReplicationColumns: Column[] = [
  col('SITE_ID', 'INTEGER'),
  col('SITE_NAME', 'NVARCHAR', { length: 256 }),
  col('SECONDARY_SITE_ID', 'INTEGER'),
  col('SECONDARY_SITE_NAME', 'NVARCHAR', { length: 256 }),
  col('SOURCE_SITE_ID', 'INTEGER'),
  col('SOURCE_SITE_NAME', 'NVARCHAR', { length: 256 }),
  col('REPLICATION_MODE', 'VARCHAR', { length: 32 }),
  col('OPERATION_MODE', 'VARCHAR', { length: 32 }),
  col('TIER', 'INTEGER'),
  col('REPLICATION_STATUS', 'VARCHAR', { length: 32 }),
  col('REPLICATION_STATUS_DETAILS', 'NVARCHAR', { length: 1024 }),
  col('SECONDARY_READ_ACCESS_STATUS', 'VARCHAR', { length: 32 }),
];

const serviceReplicationColumns: Column[] = [
  col('HOST', 'VARCHAR', { length: 64 }),
  col('PORT', 'INTEGER'),
  col('VOLUME_ID', 'INTEGER'),
  col('SERVICE_NAME', 'VARCHAR', { length: 32 }),
  col('SITE_ID', 'INTEGER'),
  col('SITE_NAME', 'NVARCHAR', { length: 256 }),
  col('SECONDARY_HOST', 'VARCHAR', { length: 64 }),
  col('SECONDARY_PORT', 'INTEGER'),
  col('SECONDARY_SITE_ID', 'INTEGER'),
  col('SECONDARY_SITE_NAME', 'NVARCHAR', { length: 256 }),
  col('SECONDARY_ACTIVE_STATUS', 'VARCHAR', { length: 16 }),
  col('REPLICATION_MODE', 'VARCHAR', { length: 32 }),
  col('OPERATION_MODE', 'VARCHAR', { length: 32 }),
  col('REPLICATION_STATUS', 'VARCHAR', { length: 32 }),
  col('REPLICATION_STATUS_DETAILS', 'NVARCHAR', { length: 1024 }),
  col('FULL_SYNC', 'VARCHAR', { length: 16 }),
  col('SECONDARY_FULLY_RECOVERABLE', 'VARCHAR', { length: 8 }),
  col('LAST_LOG_POSITION', 'BIGINT'),
  col('LAST_LOG_POSITION_TIME', 'TIMESTAMP'),
  col('SHIPPED_LOG_POSITION', 'BIGINT'),
  col('SHIPPED_LOG_POSITION_TIME', 'TIMESTAMP'),
  col('REPLAYED_LOG_POSITION', 'BIGINT'),
  col('REPLAYED_LOG_POSITION_TIME', 'TIMESTAMP'),
  col('SHIPPED_LOG_BUFFERS_COUNT', 'BIGINT'),
  col('SHIPPED_LOG_BUFFERS_SIZE', 'BIGINT'),
  col('SHIPPED_LOG_BUFFERS_DURATION', 'BIGINT'),
  col('BACKLOG_SIZE', 'BIGINT'),
  col('BACKLOG_TIME', 'BIGINT'),
];

const databaseColumns: Column[] = [
  col('SYSTEM_ID', 'VARCHAR', { length: 3 }),
  col('DATABASE_NAME', 'NVARCHAR', { length: 256 }),
  col('HOST', 'VARCHAR', { length: 64 }),
  col('START_TIME', 'TIMESTAMP'),
  col('VERSION', 'VARCHAR', { length: 32 }),
  col('USAGE', 'VARCHAR', { length: 32 }),
  col('ACTIVE_STATUS', 'VARCHAR', { length: 16 }),
];

export const SIMULATED_HANA_VERSION = '2.00.079.00.1718008700';

function siteIdOf(snapshot: SimSiteSnapshot, name: string | undefined): number | null {
  if (name === undefined) return null;
  return snapshot.topology.find((t) => t.name === name)?.siteId ?? null;
}

function systemReplication(s: SimSiteSnapshot): Relation {
  const rows: SqlValue[][] = s.links.map((l) => [
    s.siteId,
    s.site,
    l.secondarySiteId,
    l.secondarySite,
    s.siteId,
    s.site,
    upper(l.mode),
    upper(l.operationMode),
    s.source ? 3 : 2,
    l.status,
    l.statusDetails,
    l.operationMode === 'logreplay_readaccess' ? (l.secondaryActive ? 'ACTIVE' : 'INACTIVE') : 'DISABLED',
  ]);
  return { columns: systemReplicationColumns, rows };
}

function serviceReplication(s: SimSiteSnapshot): Relation {
  const rows: SqlValue[][] = [];
  for (const l of s.links) {
    for (const svc of servicesOf(s)) {
      rows.push([
        s.host,
        svc.port,
        svc.volumeId,
        svc.service,
        s.siteId,
        s.site,
        l.secondaryHost,
        svc.port,
        l.secondarySiteId,
        l.secondarySite,
        l.secondaryActive ? 'YES' : 'NO',
        upper(l.mode),
        upper(l.operationMode),
        l.status,
        l.statusDetails,
        'DISABLED',
        l.fullySynced ? 'TRUE' : 'FALSE',
        BigInt(l.lastLogPosition),
        new Date(l.lastLogPositionTime),
        BigInt(l.shippedLogPosition),
        new Date(l.shippedLogPositionTime),
        BigInt(l.replayedLogPosition),
        new Date(l.replayedLogPositionTime),
        BigInt(l.shippedLogBuffersCount),
        BigInt(l.shippedLogBuffersSize),
        BigInt(l.shippedLogBuffersDurationMicros),
        BigInt(l.backlogSize),
        BigInt(l.backlogTimeMicros),
      ]);
    }
  }
  return { columns: serviceReplicationColumns, rows };
}

function database(s: SimSiteSnapshot): Relation {
  return {
    columns: databaseColumns,
    rows: [
      [
        s.sid,
        s.sid,
        s.host,
        new Date(s.now - 86400000),
        SIMULATED_HANA_VERSION,
        'CUSTOM',
        s.running ? 'YES' : 'NO',
      ],
    ],
  };
}

function series(args: SqlValue[]): Relation {
  const [inc, min, max] = args.map((a) => Number(a));
  if (
    inc === undefined ||
    min === undefined ||
    max === undefined ||
    !(inc > 0) ||
    !Number.isFinite(min) ||
    !Number.isFinite(max)
  )
    throw new HanaSqlError(
      SqlErrorCode.FEATURE_NOT_SUPPORTED,
      'invalid argument: SERIES_GENERATE_INTEGER(increment, min, max)',
    );
  const count = Math.max(0, Math.ceil((max - min) / inc));
  if (count > 5_000_000)
    throw new HanaSqlError(4, 'cannot allocate enough memory: series too long for the simulator');
  const rows: SqlValue[][] = new Array<SqlValue[]>(count);
  for (let i = 0; i < count; i++) {
    const start = min + i * inc;
    rows[i] = [start, Math.min(start + inc, max), BigInt(i + 1), (start - min) / (max - min)];
  }
  return {
    columns: [
      col('GENERATED_PERIOD_START', 'INTEGER'),
      col('GENERATED_PERIOD_END', 'INTEGER'),
      col('ELEMENT_NUMBER', 'BIGINT'),
      col('FRACTION_OF_MIN_MAX_RANGE', 'DOUBLE'),
    ],
    rows,
  };
}

/** The view for a table reference, or undefined when it names no view. */
export function systemView(ref: TableRef, args: SqlValue[], snapshot: SimSiteSnapshot): Relation | undefined {
  const schema = ref.schema;
  const name = ref.name;
  if (name === 'DUMMY' && (schema === undefined || schema === 'SYS')) return dummy;
  if (name === 'SERIES_GENERATE_INTEGER' && ref.args && (schema === undefined || schema === 'SYS'))
    return series(args);
  if (schema !== undefined && schema !== 'SYS') return undefined;
  switch (name) {
    case 'M_DATABASE':
      return database(snapshot);
    case 'M_SYSTEM_REPLICATION':
      return systemReplication(snapshot);
    case 'M_SERVICE_REPLICATION':
      return serviceReplication(snapshot);
    default:
      return undefined;
  }
}

export { siteIdOf };
