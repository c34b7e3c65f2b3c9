/**
 * A writer that survives a HANA takeover: it connects through the read-write endpoint (the
 * `<name>-rw` Service on Kubernetes, or a host list on VMs), writes each order in its own
 * transaction with a key the client chose, and after a connection loss tells a committed order
 * from one that is not by looking the key up on the (new) primary. See docs/apps.md.
 */
import hana from '@sap/hana-client';

/**
 * The client settings that matter in a takeover (all documented @sap/hana-client connection
 * properties):
 * - connectTimeout: a host that does not answer is given up after 3 s, so the next host of the
 *   list, or the next attempt, comes quickly (the driver's default is much longer);
 * - communicationTimeout: a statement or commit without an answer fails after 10 s (a frozen
 *   primary) instead of hanging; longer than the commits you accept to wait for;
 * - reconnect: off. The driver's own reconnect cannot know whether a commit in flight happened;
 *   the application reconnects and decides, below.
 */
export const CONNECTION_SETTINGS = Object.freeze({
  connectTimeout: 3000,
  communicationTimeout: 10_000,
  reconnect: false,
});

export const CREATE_TABLE =
  'CREATE TABLE ORDERS (ID NVARCHAR(64) PRIMARY KEY, AMOUNT INTEGER, CREATED_AT TIMESTAMP)';
const INSERT = 'INSERT INTO ORDERS (ID, AMOUNT, CREATED_AT) VALUES (?, ?, CURRENT_TIMESTAMP)';
const LOOKUP = 'SELECT ID FROM ORDERS WHERE ID = ?';

/** Driver errors with a negative code are the client's: the connection is gone or never came. */
export function isConnectionError(err) {
  return typeof err?.code === 'number' && err.code < 0;
}
const UNIQUE_VIOLATED = 301;
const DUPLICATE_TABLE = 288;

const call = (fn) =>
  new Promise((resolve, reject) => fn((err, result) => (err ? reject(err) : resolve(result))));

/** One connection; its prepared statements die with it and are prepared again on the next. */
async function open(settings) {
  const conn = hana.createConnection();
  try {
    await call((cb) => conn.connect(settings, cb));
  } catch (err) {
    conn.disconnect(() => {});
    throw err;
  }
  conn.setAutoCommit(false);
  const prepared = new Map();
  return {
    conn,
    async statement(sql) {
      if (!prepared.has(sql)) prepared.set(sql, await call((cb) => conn.prepare(sql, cb)));
      return prepared.get(sql);
    },
  };
}

/**
 * @param {object} config
 * @param {string} config.serverNode  host:port[,host:port...]
 * @param {string} config.user
 * @param {string} config.password
 * @param {(event: object) => void} [config.onEvent]  every error and reconnect, for the record
 */
export function createOrderWriter(config) {
  const settings = {
    serverNode: config.serverNode,
    uid: config.user,
    pwd: config.password,
    ...CONNECTION_SETTINGS,
  };
  const emit = (event) => config.onEvent?.({ at: Date.now(), ...event });
  let session = null;
  let closed = false;

  const drop = () => {
    if (session) session.conn.disconnect(() => {});
    session = null;
  };

  /** A live session, reconnecting with exponential backoff (100 ms doubling to 2 s, jittered). */
  async function connected() {
    let delay = 100;
    while (!session) {
      if (closed) throw new Error('writer closed');
      try {
        session = await open(settings);
        emit({ event: 'connected' });
      } catch (err) {
        emit({ event: 'error', phase: 'connect', code: err.code, message: err.message });
        await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random())));
        delay = Math.min(delay * 2, 2000);
      }
    }
    return session;
  }

  /** Is the order there? Asked on a fresh session after a commit's outcome was lost. */
  async function committed(id) {
    for (;;) {
      const s = await connected();
      try {
        const lookup = await s.statement(LOOKUP);
        const rows = await call((cb) => lookup.exec([id], cb));
        await call((cb) => s.conn.rollback(cb));
        return rows.length > 0;
      } catch (err) {
        emit({ event: 'error', phase: 'lookup', code: err.code, message: err.message });
        drop();
      }
    }
  }

  return {
    /** Creates the table unless it exists. */
    async init() {
      for (;;) {
        const s = await connected();
        try {
          await call((cb) => s.conn.exec(CREATE_TABLE, cb));
          return;
        } catch (err) {
          if (err.code === DUPLICATE_TABLE) return;
          emit({ event: 'error', phase: 'init', code: err.code, message: err.message });
          drop();
        }
      }
    },

    /**
     * Writes one order until it is committed. Resolves with how: 'acknowledged' (the commit
     * returned) or 'confirmed' (the commit's answer was lost; the order was found afterwards),
     * and how many attempts and uncertain commits it took.
     */
    async write(id, amount) {
      let attempts = 0;
      let uncertain = 0;
      for (;;) {
        attempts++;
        const s = await connected();
        let phase = 'insert';
        try {
          const insert = await s.statement(INSERT);
          await call((cb) => insert.exec([id, amount], cb));
          phase = 'commit';
          await call((cb) => s.conn.commit(cb));
          return { outcome: 'acknowledged', attempts, uncertain };
        } catch (err) {
          emit({ event: 'error', phase, code: err.code, message: err.message, id });
          if (err.code === UNIQUE_VIOLATED) {
            // Only a retry of ours can collide with our own key: an earlier attempt committed.
            await call((cb) => s.conn.rollback(cb)).catch(() => {});
            return { outcome: 'confirmed', attempts, uncertain };
          }
          drop();
          if (phase === 'commit' && isConnectionError(err)) {
            // The commit was sent and no answer came: committed or not, only the database knows.
            uncertain++;
            if (await committed(id)) return { outcome: 'confirmed', attempts, uncertain };
          }
          // Not committed (the open transaction died with its connection): write it again.
        }
      }
    },

    /** The orders the current primary holds, by id (for the checker). */
    async ids(prefix) {
      for (;;) {
        const s = await connected();
        try {
          const rows = await call((cb) => s.conn.exec('SELECT ID FROM ORDERS', cb));
          await call((cb) => s.conn.rollback(cb));
          return new Set(rows.map((r) => r.ID).filter((id) => id.startsWith(prefix)));
        } catch (err) {
          emit({ event: 'error', phase: 'read', code: err.code, message: err.message });
          drop();
        }
      }
    },

    close() {
      closed = true;
      drop();
    },
  };
}
