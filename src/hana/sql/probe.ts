/**
 * SQL probes over @sap/hana-client: availability (SELECT * FROM DUMMY, optionally a write) and
 * replication lag from SYS.M_SERVICE_REPLICATION joined with SYS.M_SYSTEM_REPLICATION.
 *
 * By default every probe opens a FRESH connection and always disconnects. With keepConnection (the
 * agent's own lag probe) the connection of a successful probe is kept for the next one, so a probe
 * is one round trip; any failure, timeout or abort closes it, and the driver never reconnects on
 * its own (reconnect: false: after a -10807 communication timeout it would silently reconnect on
 * the next call and hide the failure). Every probe sets connectTimeout and communicationTimeout
 * from the probe timeout and races the whole call against the injected clock. A probe that times
 * out or fails is a failure, never "healthy".
 */
import { createRequire } from 'node:module';
import { withTimeout, type Clock } from '../../clock.js';
import {
  replicationStatuses,
  type LogPosition,
  type ReplicationMode,
  type ReplicationStatus,
} from '../../domain/types.js';
import { redact, type HanaCredentials } from './credentials.js';

type HanaClientModule = typeof import('@sap/hana-client');
type HanaConnection = import('@sap/hana-client').Connection;

let hanaClient: HanaClientModule | undefined;
function loadHanaClient(): HanaClientModule {
  hanaClient ??= createRequire(import.meta.url)('@sap/hana-client') as HanaClientModule;
  return hanaClient;
}

export type SqlProbeErrorCode = 'TIMEOUT' | 'CONNECT' | 'AUTH' | 'SQL' | 'ABORTED' | 'UNEXPECTED';

/** A failed SQL probe. The message never contains the password. */
export class SqlProbeError extends Error {
  constructor(
    readonly code: SqlProbeErrorCode,
    message: string,
    /** HANA's or the driver's numeric error code, when there is one. */
    readonly sqlCode?: number,
  ) {
    super(message);
    this.name = 'SqlProbeError';
  }
}

export interface LinkLag {
  readonly lagSeconds: number;
  readonly lagBytes: number;
  /** Worst REPLICATION_STATUS over the secondary's services (unknown words count as UNKNOWN). */
  readonly status: ReplicationStatus;
  readonly mode: ReplicationMode | 'unknown';
  readonly details: string;
  readonly backlogSize?: number;
  readonly backlogTimeSeconds?: number;
  /**
   * LAST_LOG_POSITION / SHIPPED_LOG_POSITION per service volume (SERVICE_NAME/VOLUME_ID); absent
   * when a row's positions or volume could not be read, or two rows name the same volume.
   */
  readonly positions?: readonly LogPosition[];
}

export type Availability =
  | { readonly available: true; readonly latencyMs: number; readonly writeOk?: boolean }
  | { readonly available: false; readonly latencyMs: number; readonly error: SqlProbeError };

export interface HanaSqlProbeOptions {
  readonly host: string;
  readonly port: number;
  /** Credentials, or a loader called before each probe (so a rotated Secret is picked up). */
  readonly credentials: HanaCredentials | (() => Promise<HanaCredentials>);
  /** Deadline of one whole probe (connect + statements + disconnect). */
  readonly timeoutMs: number;
  /**
   * Keep the connection open after a successful probe and run the next probe on it: one round
   * trip per probe instead of the handshake, login and statement (a slow but answering server
   * then still answers within the timeout). Closed on any failure, timeout or abort, and by
   * close(). Default false: a fresh connection per probe.
   */
  readonly keepConnection?: boolean;
  readonly clock: Clock;
  /** Also write to this table in availability() (created when missing): proves the site takes commits. */
  readonly writeProbeTable?: string;
  /** Name this agent writes into the write-probe table (default the host). */
  readonly writerId?: string;
}

const LAG_QUERY_COLUMNS = [
  'R.SECONDARY_SITE_NAME',
  'R.SERVICE_NAME',
  'R.VOLUME_ID',
  'R.REPLICATION_MODE',
  'R.REPLICATION_STATUS',
  'R.REPLICATION_STATUS_DETAILS',
  'R.LAST_LOG_POSITION',
  'R.LAST_LOG_POSITION_TIME',
  'R.SHIPPED_LOG_POSITION',
  'R.SHIPPED_LOG_POSITION_TIME',
];
const BACKLOG_COLUMNS = ['R.BACKLOG_SIZE', 'R.BACKLOG_TIME'];
const LAG_FROM =
  ' FROM SYS.M_SERVICE_REPLICATION R JOIN SYS.M_SYSTEM_REPLICATION S' +
  ' ON R.SITE_ID = S.SITE_ID AND R.SECONDARY_SITE_ID = S.SECONDARY_SITE_ID';
export const LAG_QUERY = `SELECT ${[...LAG_QUERY_COLUMNS, ...BACKLOG_COLUMNS].join(', ')}${LAG_FROM}`;
/** For releases without BACKLOG_* columns (error 260 on the full query). */
export const LAG_QUERY_WITHOUT_BACKLOG = `SELECT ${LAG_QUERY_COLUMNS.join(', ')}${LAG_FROM}`;

/** SAP's systemReplicationStatus.py skips these rows. */
const SKIPPED_STATUSES = new Set(['STOPPED', 'TENANTCOPY']);
const INVALID_COLUMN = 260;

type Row = Record<string, unknown>;

function toBigInt(value: unknown): bigint | null {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return BigInt(Math.trunc(value));
  if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return BigInt(value.trim());
  return null;
}

/** HANA TIMESTAMP text ("2024-01-01 12:00:05.250000000"), read as UTC: only differences matter. */
function toMillis(value: unknown): number | null {
  if (value instanceof Date) return value.getTime();
  if (typeof value !== 'string') return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?/.exec(value.trim());
  if (!m) return null;
  const frac = (m[7] ?? '').padEnd(3, '0').slice(0, 3);
  return Date.UTC(
    Number(m[1]),
    Number(m[2]) - 1,
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6]),
    Number(frac),
  );
}

function toStatus(value: unknown): ReplicationStatus {
  const s = String(value ?? '').toUpperCase();
  return (replicationStatuses as readonly string[]).includes(s) ? (s as ReplicationStatus) : 'UNKNOWN';
}

function toMode(value: unknown): ReplicationMode | 'unknown' {
  const m = String(value ?? '').toLowerCase();
  return m === 'sync' || m === 'syncmem' || m === 'async' ? m : 'unknown';
}

const statusRank = (s: ReplicationStatus): number => replicationStatuses.indexOf(s);

/**
 * Folds M_SERVICE_REPLICATION rows into one entry per secondary: the worst service wins.
 * Unreadable positions or times make the lag unknown, which is reported as infinite lag with
 * status UNKNOWN (never as "in sync").
 */
export function foldReplicationRows(rows: readonly Row[]): Map<string, LinkLag> {
  const out = new Map<string, LinkLag>();
  for (const row of rows) {
    const rawStatus = String(row.REPLICATION_STATUS ?? '').toUpperCase();
    if (SKIPPED_STATUSES.has(rawStatus)) continue;
    const site = String(row.SECONDARY_SITE_NAME ?? '');
    if (site === '') continue;
    let status = toStatus(rawStatus);
    const last = toBigInt(row.LAST_LOG_POSITION);
    const shipped = toBigInt(row.SHIPPED_LOG_POSITION);
    const lastTime = toMillis(row.LAST_LOG_POSITION_TIME);
    const shippedTime = toMillis(row.SHIPPED_LOG_POSITION_TIME);
    let lagBytes = Number.POSITIVE_INFINITY;
    let lagSeconds = Number.POSITIVE_INFINITY;
    if (last !== null && shipped !== null) lagBytes = Number(last > shipped ? (last - shipped) * 64n : 0n);
    if (lastTime !== null && shippedTime !== null) lagSeconds = Math.max(0, lastTime - shippedTime) / 1000;
    if (!Number.isFinite(lagBytes) || !Number.isFinite(lagSeconds)) status = 'UNKNOWN';
    const volumeId = toBigInt(row.VOLUME_ID);
    const position: LogPosition | null =
      last !== null &&
      shipped !== null &&
      volumeId !== null &&
      last <= BigInt(Number.MAX_SAFE_INTEGER) &&
      shipped <= BigInt(Number.MAX_SAFE_INTEGER) &&
      last >= 0n &&
      shipped >= 0n
        ? {
            volume: `${String(row.SERVICE_NAME ?? '')}/${volumeId}`,
            last: Number(last),
            shipped: Number(shipped),
          }
        : null;
    const backlogSize = toBigInt(row.BACKLOG_SIZE);
    const backlogTime = toBigInt(row.BACKLOG_TIME);
    const entry: { -readonly [K in keyof LinkLag]: LinkLag[K] } = {
      lagSeconds,
      lagBytes,
      status,
      mode: toMode(row.REPLICATION_MODE),
      details: String(row.REPLICATION_STATUS_DETAILS ?? ''),
    };
    if (backlogSize !== null) entry.backlogSize = Number(backlogSize);
    if (backlogTime !== null) entry.backlogTimeSeconds = Number(backlogTime) / 1e6;
    if (position !== null) entry.positions = [position];
    const prev = out.get(site);
    if (!prev) {
      out.set(site, entry);
      continue;
    }
    const worse = statusRank(entry.status) < statusRank(prev.status);
    const merged: { -readonly [K in keyof LinkLag]: LinkLag[K] } = {
      lagSeconds: Math.max(prev.lagSeconds, entry.lagSeconds),
      lagBytes: Math.max(prev.lagBytes, entry.lagBytes),
      status: worse ? entry.status : prev.status,
      mode: prev.mode === entry.mode ? prev.mode : 'unknown',
      details: worse || prev.details === '' ? entry.details || prev.details : prev.details,
    };
    const bs = Math.max(prev.backlogSize ?? -1, entry.backlogSize ?? -1);
    const bt = Math.max(prev.backlogTimeSeconds ?? -1, entry.backlogTimeSeconds ?? -1);
    if (bs >= 0) merged.backlogSize = bs;
    if (bt >= 0) merged.backlogTimeSeconds = bt;
    // Positions are known for the link only when every row's are, each volume once.
    if (
      prev.positions !== undefined &&
      position !== null &&
      !prev.positions.some((p) => p.volume === position.volume)
    )
      merged.positions = [...prev.positions, position];
    out.set(site, merged);
  }
  return out;
}

interface DriverError {
  code?: unknown;
  message?: unknown;
}

/** A login for the kept connection may take this many probe timeouts (see loginAhead). */
export const LOGIN_DEADLINE_FACTOR = 2;

/** Disconnects (a round trip to the server when it is alive); errors mean it is closed already. */
function disconnectQuietly(c: HanaConnection): void {
  try {
    c.disconnect(() => undefined);
  } catch {
    // already closed
  }
}

/**
 * Closes a connection at once: abort() cuts the socket even while a statement waits for its
 * answer (disconnect() alone waits for it, up to the driver's communication timeout), then
 * disconnect() frees the handle. Resolves when both are done.
 */
function dropConnection(c: HanaConnection): Promise<void> {
  return new Promise<void>((resolve) => {
    try {
      c.abort(() => {
        try {
          c.disconnect(() => resolve());
        } catch {
          resolve();
        }
      });
    } catch {
      disconnectQuietly(c);
      resolve();
    }
  });
}

export class HanaSqlProbe {
  /** The connection kept between probes (keepConnection), with the credentials it logged in with. */
  private kept: { conn: HanaConnection; user: string; password: string } | undefined;
  /** A login for the kept connection under way (loginAhead), with the credentials it uses. */
  private pending: { user: string; password: string; done: Promise<SqlProbeError | undefined> } | undefined;
  private closed = false;

  constructor(private readonly options: HanaSqlProbeOptions) {}

  /** SELECT * FROM DUMMY (and the write probe when configured). Never throws: failures are returned. */
  async availability(signal?: AbortSignal): Promise<Availability> {
    const started = this.options.clock.now();
    try {
      const writeOk = await this.session('SQL availability probe', signal, async (run) => {
        const rows = await run('SELECT * FROM DUMMY');
        if (!Array.isArray(rows) || rows.length !== 1)
          throw new SqlProbeError('UNEXPECTED', 'SELECT * FROM DUMMY did not return one row');
        const table = this.options.writeProbeTable;
        if (table === undefined) return undefined;
        if (!/^[A-Z_][A-Z0-9_]*(\.[A-Z_][A-Z0-9_]*)?$/i.test(table))
          throw new SqlProbeError('UNEXPECTED', 'invalid write probe table name');
        try {
          await run(
            `UPSERT ${table} (WRITER, WRITTEN_AT) VALUES (?, CURRENT_UTCTIMESTAMP) WITH PRIMARY KEY`,
            [this.writerId()],
          );
        } catch (err) {
          if (!(err instanceof SqlProbeError) || err.sqlCode !== 259) throw err;
          await run(`CREATE COLUMN TABLE ${table} (WRITER NVARCHAR(256) PRIMARY KEY, WRITTEN_AT TIMESTAMP)`);
          await run(
            `UPSERT ${table} (WRITER, WRITTEN_AT) VALUES (?, CURRENT_UTCTIMESTAMP) WITH PRIMARY KEY`,
            [this.writerId()],
          );
        }
        return true;
      });
      const latencyMs = this.options.clock.now() - started;
      return writeOk === undefined ? { available: true, latencyMs } : { available: true, latencyMs, writeOk };
    } catch (err) {
      return {
        available: false,
        latencyMs: this.options.clock.now() - started,
        error: this.asProbeError(err),
      };
    }
  }

  /** Lag per secondary site. Throws SqlProbeError when the views cannot be read in time. */
  async replicationLag(signal?: AbortSignal): Promise<Map<string, LinkLag>> {
    try {
      return await this.session('SQL replication lag probe', signal, async (run) => {
        let rows: unknown;
        try {
          rows = await run(LAG_QUERY);
        } catch (err) {
          if (!(err instanceof SqlProbeError) || err.sqlCode !== INVALID_COLUMN) throw err;
          rows = await run(LAG_QUERY_WITHOUT_BACKLOG);
        }
        if (!Array.isArray(rows))
          throw new SqlProbeError('UNEXPECTED', 'replication views returned no result set');
        return foldReplicationRows(rows as Row[]);
      });
    } catch (err) {
      throw this.asProbeError(err);
    }
  }

  private writerId(): string {
    return this.options.writerId ?? this.options.host;
  }

  private async credentials(): Promise<HanaCredentials> {
    const c = this.options.credentials;
    return typeof c === 'function' ? c() : c;
  }

  /**
   * Closes the kept connection (keepConnection) and keeps none from now on; later probes still
   * work, each on a connection of its own. For the agent's shutdown.
   */
  async close(): Promise<void> {
    this.closed = true;
    const kept = this.kept;
    this.kept = undefined;
    if (kept) await dropConnection(kept.conn);
  }

  /**
   * Runs fn on a connection and settles within the probe timeout (the backup port uses it too).
   * Without keepConnection: a fresh connection, always disconnected. With it: the kept one when
   * there is one for the same credentials, kept again only after a success; any failure, timeout
   * or abort closes it. A kept connection that turns out to be dead (a driver-side error before
   * any answer, e.g. the instance restarted and closed it) costs one fresh connection within the
   * same deadline, never a reused answer.
   */
  async session<T>(
    what: string,
    outer: AbortSignal | undefined,
    fn: (run: (sql: string, params?: unknown[]) => Promise<unknown>) => Promise<T>,
  ): Promise<T> {
    if (outer?.aborted) throw new SqlProbeError('ABORTED', `${what} aborted`);
    const credentials = await this.credentials();
    const secrets = [credentials.password];
    const timeoutMs = this.options.timeoutMs;
    const keep = this.options.keepConnection === true && !this.closed;
    let reuse: HanaConnection | undefined;
    if (this.kept) {
      const kept = this.kept;
      this.kept = undefined;
      // A rotated password (or user) logs in again: the old session proves nothing about it.
      if (keep && kept.user === credentials.user && kept.password === credentials.password) reuse = kept.conn;
      else void dropConnection(kept.conn);
    }
    let conn: HanaConnection | undefined;
    let finished = false;
    const translate = (err: unknown, stage: 'connect' | 'sql'): SqlProbeError => {
      const e = (err ?? {}) as DriverError;
      const sqlCode = typeof e.code === 'number' ? e.code : undefined;
      const message = redact(typeof e.message === 'string' ? e.message : String(err), secrets);
      if (sqlCode === 10) return new SqlProbeError('AUTH', `${what}: authentication failed`, sqlCode);
      if (sqlCode === -10807 || sqlCode === -10808)
        return new SqlProbeError('TIMEOUT', `${what}: ${message}`, sqlCode);
      return new SqlProbeError(stage === 'connect' ? 'CONNECT' : 'SQL', `${what}: ${message}`, sqlCode);
    };
    let aborter: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      aborter = () => reject(new SqlProbeError('ABORTED', `${what} aborted`));
      outer?.addEventListener('abort', aborter, { once: true });
    });
    aborted.catch(() => undefined);
    const connect = async (): Promise<HanaConnection> => {
      const hana = loadHanaClient();
      const c = hana.createConnection();
      conn = c;
      // The driver's own timeouts, so its native side gives up too (ms).
      const driverTimeout = Math.max(1, Math.ceil(timeoutMs));
      await new Promise<void>((resolve, reject) => {
        c.connect(
          {
            serverNode: `${this.options.host}:${this.options.port}`,
            uid: credentials.user,
            pwd: credentials.password,
            connectTimeout: driverTimeout,
            communicationTimeout: driverTimeout,
            // Never a silent reconnect: a lost session is a failure, and the next probe logs in anew.
            reconnect: false,
          },
          (err) => (err ? reject(translate(err, 'connect')) : resolve()),
        );
      });
      if (conn !== c || finished) {
        // Aborted or timed out while connecting: the cleanup ran before this connection was up.
        void dropConnection(c);
        throw new SqlProbeError('ABORTED', `${what} aborted`);
      }
      return c;
    };
    const runOn = (c: HanaConnection): Promise<T> => {
      const run = (sql: string, params: unknown[] = []): Promise<unknown> =>
        new Promise((resolve, reject) => {
          if (conn !== c || finished) return reject(new SqlProbeError('ABORTED', `${what} aborted`));
          c.exec(sql, params as never, (err: Error, result?: unknown) =>
            err ? reject(translate(err, 'sql')) : resolve(result),
          );
        });
      return fn(run);
    };
    // keepConnection: the kept connection, else the one a login under way (loginAhead) parks.
    const acquire = async (): Promise<HanaConnection> => {
      // Overlapping probes share a login; one that finds its connection taken logs in again.
      for (let logins = 0; !finished && !this.closed; logins++) {
        const k = this.kept;
        if (k && k.user === credentials.user && k.password === credentials.password) {
          this.kept = undefined;
          conn = k.conn;
          return k.conn;
        }
        if (logins === 4) break;
        const failure = await this.loginAhead(credentials, what, translate);
        if (failure) throw failure;
      }
      // The probe gave up (the login's connection stays kept for the next one), or the probe closed.
      throw new SqlProbeError('ABORTED', `${what} aborted`);
    };
    const connectAndRun = async (): Promise<T> => {
      if (reuse) {
        const c = reuse;
        conn = c;
        try {
          return await runOn(c);
        } catch (err) {
          // Only the driver's own failure (no answer from HANA: a negative or no code) is a dead
          // connection worth one fresh try; HANA's answers and errors stand as they are.
          const dead =
            err instanceof SqlProbeError &&
            (err.code === 'SQL' || err.code === 'TIMEOUT') &&
            (err.sqlCode === undefined || err.sqlCode < 0);
          conn = undefined;
          void dropConnection(c);
          if (!dead || finished) throw err;
        }
      }
      return runOn(await (keep ? acquire() : connect()));
    };
    let ok = false;
    try {
      // The abort ends the wait at any stage, the connect included (a silent peer's handshake).
      const result = await withTimeout(this.options.clock, timeoutMs, what, () => {
        const body = connectAndRun();
        body.catch(() => undefined); // after an abort nobody waits for it (cleanup disconnects)
        return Promise.race([body, aborted]);
      }).catch((err: unknown) => {
        if (err instanceof SqlProbeError) throw err;
        if (err instanceof Error && (err as { code?: unknown }).code === 'TIMEOUT')
          throw new SqlProbeError('TIMEOUT', err.message);
        throw translate(err, 'sql');
      });
      ok = true;
      return result;
    } finally {
      finished = true;
      if (aborter) outer?.removeEventListener('abort', aborter);
      const c = conn;
      conn = undefined;
      if (c) {
        if (ok && keep && !this.closed && this.kept === undefined)
          this.kept = { conn: c, user: credentials.user, password: credentials.password };
        else if (ok) disconnectQuietly(c);
        // A failure, timeout or abort: the statement may still be in flight; cut it.
        else void dropConnection(c);
      }
    }
  }

  /**
   * A login for the kept connection, unless one with these credentials is under way. It has its
   * own deadline, LOGIN_DEADLINE_FACTOR x the probe timeout (a login is three round trips, a
   * probe on a kept connection one), and goes on when the probe that started it gives up: its
   * connection is then kept for the next probe. The probe itself still fails (unknown is never
   * healthy). Resolves with the login's failure, or undefined once the connection is kept (or
   * dropped, when the probe was closed or another connection was kept meanwhile).
   */
  private loginAhead(
    credentials: HanaCredentials,
    what: string,
    translate: (err: unknown, stage: 'connect' | 'sql') => SqlProbeError,
  ): Promise<SqlProbeError | undefined> {
    const under = this.pending;
    if (under && under.user === credentials.user && under.password === credentials.password)
      return under.done;
    const loginMs = Math.max(1, Math.ceil(this.options.timeoutMs * LOGIN_DEADLINE_FACTOR));
    const c = loadHanaClient().createConnection();
    const entry: { user: string; password: string; done: Promise<SqlProbeError | undefined> } = {
      user: credentials.user,
      password: credentials.password,
      done: Promise.resolve(undefined),
    };
    entry.done = new Promise<SqlProbeError | undefined>((resolve) => {
      let settled = false;
      const cancel = this.options.clock.setTimer(loginMs, () => {
        if (settled) return;
        settled = true;
        void dropConnection(c);
        resolve(new SqlProbeError('TIMEOUT', `${what}: login timed out after ${loginMs} ms`));
      });
      c.connect(
        {
          serverNode: `${this.options.host}:${this.options.port}`,
          uid: credentials.user,
          pwd: credentials.password,
          // The login's deadline for the driver too (a handshake's answer may take that long);
          // a statement on the kept connection is cut by the probe's own deadline (dropConnection).
          connectTimeout: loginMs,
          communicationTimeout: loginMs,
          // Never a silent reconnect: a lost session is a failure, and the next probe logs in anew.
          reconnect: false,
        },
        (err) => {
          if (settled) {
            if (!err) void dropConnection(c);
            return;
          }
          settled = true;
          cancel();
          if (err) {
            disconnectQuietly(c);
            resolve(translate(err, 'connect'));
          } else if (this.closed || this.kept !== undefined || this.pending !== entry) {
            void dropConnection(c);
            resolve(undefined);
          } else {
            this.kept = { conn: c, user: credentials.user, password: credentials.password };
            resolve(undefined);
          }
        },
      );
    }).finally(() => {
      if (this.pending === entry) this.pending = undefined;
    });
    this.pending = entry;
    return entry.done;
  }

  private asProbeError(err: unknown): SqlProbeError {
    if (err instanceof SqlProbeError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new SqlProbeError('UNEXPECTED', message);
  }
}
