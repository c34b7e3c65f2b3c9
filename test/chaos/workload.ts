/**
 * The chaos suite's client workload: a few clients, each writing one row per transaction with a
 * key of its own through the read-write endpoint (the `-rw` Service's current target, as
 * examples/app writes), with @sap/hana-client. Each operation is one attempt, recorded in the
 * history when invoked and when it completes (test/chaos/history.ts):
 * - no connection, or the INSERT failed: `fail` (the open transaction dies with its connection);
 * - the COMMIT returned: `ok`; the database answered the COMMIT with an error: `fail`;
 * - the COMMIT was sent and the connection broke or timed out (a negative driver code): `info`.
 * A failed attempt drops the connection; the next operation connects again (to wherever the
 * Service points then).
 */
import { createRequire } from 'node:module';
import type { History } from './history.js';

type HanaClientModule = typeof import('@sap/hana-client');
type Connection = import('@sap/hana-client').Connection;
const hana = createRequire(import.meta.url)('@sap/hana-client') as HanaClientModule;

export const TABLE = 'CHAOS_WRITES';
const DUPLICATE_TABLE = 288;

interface DriverError {
  readonly code?: number;
  readonly message?: string;
}

const call = <T>(fn: (cb: (err: DriverError | null | undefined, result?: T) => void) => void) =>
  new Promise<T>((resolve, reject) => fn((err, result) => (err ? reject(err) : resolve(result as T))));

export interface WorkloadOptions {
  readonly serverNode: string;
  readonly user: string;
  readonly password: string;
  readonly history: History;
  readonly clients: number;
  /** The site the -rw Service selects now (recorded with each completion). */
  readonly target: () => string | null;
  /** Pause between two operations of one client (ms). */
  readonly pauseMs?: number;
}

export interface Workload {
  /** Creates the table (through the -rw endpoint, retried until it exists). */
  init(timeoutMs: number): Promise<void>;
  start(): void;
  /** Stops the clients after their current operation. */
  stop(): Promise<void>;
}

interface Session {
  readonly conn: Connection;
  readonly site: string | null;
}

export function createWorkload(options: WorkloadOptions): Workload {
  const settings = {
    serverNode: options.serverNode,
    uid: options.user,
    pwd: options.password,
    connectTimeout: 2000,
    communicationTimeout: 5000,
    reconnect: false,
  };
  const pause = options.pauseMs ?? 50;
  let running = false;
  const loops: Promise<void>[] = [];

  const open = async (): Promise<Session> => {
    const conn = hana.createConnection();
    const site = options.target();
    try {
      await call((cb) => conn.connect(settings, cb));
    } catch (err) {
      conn.disconnect(() => {});
      throw err;
    }
    conn.setAutoCommit(false);
    return { conn, site };
  };
  const drop = (s: Session | null) => {
    s?.conn.disconnect(() => {});
  };
  const describe = (err: unknown) => {
    const e = err as DriverError;
    return `${e?.code ?? ''} ${e?.message ?? String(err)}`.trim().slice(0, 200);
  };

  const client = async (id: number) => {
    let session: Session | null = null;
    let n = 0;
    while (running) {
      const value = `c${id}-${++n}`;
      options.history.invoke(id, value);
      if (!session) {
        try {
          session = await open();
        } catch (err) {
          options.history.complete(id, value, 'fail', { site: null, error: `connect: ${describe(err)}` });
          await new Promise((r) => setTimeout(r, 200));
          continue;
        }
      }
      const s: Session = session;
      try {
        await call((cb) => s.conn.exec(`INSERT INTO ${TABLE} (ID, CLIENT) VALUES (?, ?)`, [value, id], cb));
      } catch (err) {
        options.history.complete(id, value, 'fail', { site: s.site, error: `insert: ${describe(err)}` });
        drop(s);
        session = null;
        continue;
      }
      try {
        await call((cb) => s.conn.commit(cb));
        options.history.complete(id, value, 'ok', { site: s.site });
      } catch (err) {
        const code = (err as DriverError).code;
        // A negative code is the driver's own: the answer never came.
        const type = typeof code === 'number' && code < 0 ? 'info' : 'fail';
        options.history.complete(id, value, type, { site: s.site, error: `commit: ${describe(err)}` });
        drop(s);
        session = null;
      }
      await new Promise((r) => setTimeout(r, pause));
    }
    drop(session);
  };

  return {
    async init(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        let s: Session | null = null;
        try {
          s = await open();
          const conn = s.conn;
          await call((cb) =>
            conn.exec(`CREATE TABLE ${TABLE} (ID NVARCHAR(64) PRIMARY KEY, CLIENT INTEGER)`, cb),
          );
          await call((cb) => conn.commit(cb));
          drop(s);
          return;
        } catch (err) {
          drop(s);
          if ((err as DriverError).code === DUPLICATE_TABLE) return; // an earlier attempt made it
          if (Date.now() > deadline) throw new Error(`could not create ${TABLE}: ${describe(err)}`);
          await new Promise((r) => setTimeout(r, 300));
        }
      }
    },
    start() {
      running = true;
      for (let i = 1; i <= options.clients; i++) loops.push(client(i));
    },
    async stop() {
      running = false;
      await Promise.all(loops.splice(0));
    },
  };
}
