/**
 * Contract tests: the real @sap/hana-client (2.30.27, native) and the pure-JS hdb driver against
 * our wire-protocol simulator.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  startHanaWireServer,
  type HanaWireServer,
  type HanaWireServerOptions,
} from '../../../src/standins/hana-wire/server.js';
import {
  PASSWORD,
  USER,
  caught,
  connectHanaClient,
  connectHdb,
  drivers,
  hana,
  primarySnapshot,
  secondarySnapshot,
  type Client,
} from './helpers.js';

const servers: HanaWireServer[] = [];
const clients: Client[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(options: Partial<HanaWireServerOptions> = {}): Promise<HanaWireServer> {
  const s = await startHanaWireServer({
    port: 0,
    user: USER,
    password: PASSWORD,
    snapshot: () => primarySnapshot(),
    ...options,
  });
  servers.push(s);
  return s;
}

function keep(c: Client): Client {
  clients.push(c);
  return c;
}

it('pins the @sap/hana-client version the contract is tested with', async () => {
  const { createRequire } = await import('node:module');
  const pkg = createRequire(import.meta.url)('@sap/hana-client/package.json') as { version: string };
  expect(pkg.version).toBe('2.30.27');
});

describe.each(drivers)('$name against the simulator', ({ connect }) => {
  it.each(['SCRAMSHA256', 'SCRAMPBKDF2SHA256'] as const)(
    'authenticates with %s and answers SELECT * FROM DUMMY',
    async (method) => {
      const s = await server({ authMethods: [method] });
      const c = keep(await connect(s.port));
      expect(await c.exec('SELECT * FROM DUMMY')).toEqual([{ DUMMY: 'X' }]);
    },
  );

  it.each(['SCRAMSHA256', 'SCRAMPBKDF2SHA256'] as const)(
    'rejects a wrong password with error 10 (%s)',
    async (method) => {
      const s = await server({ authMethods: [method] });
      const err = await caught(() => connect(s.port, { pwd: 'wrong-password', password: 'wrong-password' }));
      expect(err.code).toBe(10);
      expect(err.message).toContain('authentication failed');
      expect(err.message).not.toContain('wrong-password');
    },
  );

  it('rejects an unknown user like a wrong password', async () => {
    const s = await server();
    const err = await caught(() => connect(s.port, { uid: 'NOBODY', user: 'NOBODY' }));
    expect(err.code).toBe(10);
  });

  it('runs direct and prepared statements and reads every column type with NULLs', async () => {
    const s = await server();
    const c = keep(await connect(s.port));
    await c.exec(
      'CREATE COLUMN TABLE T_TYPES (ID INTEGER PRIMARY KEY, S NVARCHAR(20), B BIGINT, D DECIMAL(12,3), TS TIMESTAMP, F BOOLEAN)',
    );
    expect(
      await c.prepared('INSERT INTO T_TYPES VALUES (?, ?, ?, ?, ?, ?)', [
        1,
        'grüße',
        9007199254740991,
        '12345.678',
        '2024-01-01 12:00:05.250',
        true,
      ]),
    ).toBe(1);
    expect(await c.prepared('INSERT INTO T_TYPES (ID) VALUES (?)', [2])).toBe(1);
    expect(
      await c.exec("INSERT INTO T_TYPES VALUES (3, 'direct', -5, -0.5, '1999-12-31 23:59:59', FALSE)"),
    ).toBe(1);
    const rows = (await c.exec('SELECT * FROM T_TYPES ORDER BY ID')) as Record<string, unknown>[];
    expect(rows).toHaveLength(3);
    const [full, nulls, direct] = rows;
    expect(full?.ID).toBe(1);
    expect(full?.S).toBe('grüße');
    expect(String(full?.B)).toBe('9007199254740991');
    expect(Number(full?.D)).toBeCloseTo(12345.678, 3);
    expect(String(full?.TS)).toMatch(/^2024-01-01[ T]12:00:05\.25/);
    expect([true, 1]).toContain(full?.F);
    expect(nulls).toEqual({ ID: 2, S: null, B: null, D: null, TS: null, F: null });
    expect(direct?.S).toBe('direct');
    expect(Number(direct?.D)).toBe(-0.5);
    expect([false, 0]).toContain(direct?.F);
    const one = (await c.prepared('SELECT S FROM T_TYPES WHERE ID = ?', [3])) as Record<string, unknown>[];
    expect(one).toEqual([{ S: 'direct' }]);
  });

  it('fetches a large result (20000 rows) over several FETCHNEXT round trips', async () => {
    const s = await server();
    const c = keep(await connect(s.port));
    const rows = (await c.exec(
      'SELECT GENERATED_PERIOD_START AS N, ELEMENT_NUMBER FROM SERIES_GENERATE_INTEGER(1, 0, 20000)',
    )) as Record<string, unknown>[];
    expect(rows).toHaveLength(20000);
    expect(rows[0]).toMatchObject({ N: 0 });
    expect(rows[19999]).toMatchObject({ N: 19999 });
    expect(rows.every((r, i) => r.N === i)).toBe(true);
  });

  it('commits and rolls back', async () => {
    const s = await server();
    const c = keep(await connect(s.port));
    const other = keep(await connect(s.port));
    await c.exec('CREATE TABLE T_TX (K NVARCHAR(10) PRIMARY KEY, V INTEGER)');
    c.setAutoCommit(false);
    await c.exec("INSERT INTO T_TX VALUES ('a', 1)");
    expect(await other.exec('SELECT * FROM T_TX')).toEqual([]);
    await c.rollback();
    expect(await c.exec('SELECT * FROM T_TX')).toEqual([]);
    await c.exec("INSERT INTO T_TX VALUES ('b', 2)");
    await c.commit();
    expect(await other.exec('SELECT * FROM T_TX')).toEqual([{ K: 'b', V: 2 }]);
  });

  it('answers errors with HANA error codes', async () => {
    const s = await server();
    const c = keep(await connect(s.port));
    const noTable = await caught(() => c.exec('SELECT * FROM NO_SUCH_TABLE'));
    expect(noTable.code).toBe(259);
    expect(noTable.message).toContain('invalid table name');
    const syntax = await caught(() => c.exec('SELEKT 1 FROM DUMMY'));
    expect(syntax.code).toBe(257);
    const unsupported = await caught(() => c.exec('GRANT SELECT ON T TO PUBLIC'));
    expect(unsupported.code).toBe(257);
    // the connection still works after errors
    expect(await c.exec('SELECT * FROM DUMMY')).toEqual([{ DUMMY: 'X' }]);
  });

  it('reads live replication lag from the monitoring views', async () => {
    let shipped = 1000;
    const s = await server({
      snapshot: () => {
        const base = primarySnapshot();
        const l = base.links[0]!;
        return {
          ...base,
          links: [
            {
              ...l,
              lastLogPosition: 1500,
              shippedLogPosition: shipped,
              shippedLogPositionTime: l.lastLogPositionTime - 3000,
            },
          ],
        };
      },
    });
    const c = keep(await connect(s.port));
    const sql =
      'SELECT R.SECONDARY_SITE_NAME, R.LAST_LOG_POSITION, R.SHIPPED_LOG_POSITION, S.REPLICATION_MODE FROM SYS.M_SERVICE_REPLICATION R ' +
      'JOIN SYS.M_SYSTEM_REPLICATION S ON R.SITE_ID = S.SITE_ID AND R.SECONDARY_SITE_ID = S.SECONDARY_SITE_ID';
    const first = (await c.exec(sql)) as Record<string, unknown>[];
    expect(first).toHaveLength(2);
    expect(first[0]).toMatchObject({ SECONDARY_SITE_NAME: 'B', REPLICATION_MODE: 'SYNC' });
    expect(String(first[0]?.SHIPPED_LOG_POSITION)).toBe('1000');
    shipped = 1400;
    const second = (await c.exec(sql)) as Record<string, unknown>[];
    expect(String(second[0]?.SHIPPED_LOG_POSITION)).toBe('1400');
  });
});

describe('faults and site state, seen by @sap/hana-client', () => {
  it('connectTimeout fires on a server that never answers the handshake', async () => {
    const s = await server({ faults: { hang: 'connect' } });
    const err = await caught(() => connectHanaClient(s.port, { connectTimeout: 300 }));
    expect(err.code).toBe(-10709);
  });

  it('communicationTimeout fails a hung query with -10807', async () => {
    const s = await server();
    const c = keep(await connectHanaClient(s.port, { communicationTimeout: 300 }));
    s.setFault({ hang: 'queries' });
    const err = await caught(() => c.exec('SELECT * FROM DUMMY'));
    expect(err.code).toBe(-10807);
  });

  it('a refused port fails at once with -10709', async () => {
    const s = await server({ faults: { refuse: true } });
    const err = await caught(() => connectHanaClient(s.port, { connectTimeout: 5000 }));
    expect(err.code).toBe(-10709);
  });

  it('a reset connection fails the next call', async () => {
    const s = await server();
    const c = keep(await connectHanaClient(s.port, { communicationTimeout: 2000 }));
    s.setFault({ reset: true });
    const err = await caught(() => c.exec('SELECT * FROM DUMMY'));
    expect(typeof err.code).toBe('number');
    expect(err.code).not.toBe(0);
  });

  it('a stopped site and a secondary without read access refuse connections; read access answers', async () => {
    let snap = primarySnapshot({ running: false });
    const s = await server({ snapshot: () => snap });
    expect((await caught(() => connectHanaClient(s.port))).code).toBe(-10709);
    snap = secondarySnapshot();
    expect((await caught(() => connectHanaClient(s.port))).code).toBe(-10709);
    snap = secondarySnapshot({ operationMode: 'logreplay_readaccess' });
    await waitListening(s.port);
    const c = keep(await connectHanaClient(s.port));
    expect(await c.exec('SELECT * FROM DUMMY')).toEqual([{ DUMMY: 'X' }]);
    await c.exec('SELECT * FROM SYS.M_DATABASE');
    const write = await caught(() => c.exec('CREATE TABLE X (A INTEGER)'));
    expect(write.code).toBe(7);
  });

  it('a frozen site accepts the TCP connection but never answers', async () => {
    const s = await server({ snapshot: () => primarySnapshot({ frozen: true }) });
    const err = await caught(() => connectHanaClient(s.port, { connectTimeout: 300 }));
    expect(err.code).toBe(-10709);
  });

  it('a delayed server still answers', async () => {
    const s = await server({ faults: { delayMs: 50 } });
    const c = keep(await connectHanaClient(s.port));
    expect(await c.exec('SELECT * FROM DUMMY')).toEqual([{ DUMMY: 'X' }]);
  });
});

describe('faults seen by hdb', () => {
  it('hdb times out the handshake on a hung server and gets ECONNREFUSED on a refused port', async () => {
    const hung = await server({ faults: { hang: 'connect' } });
    const err = await caught(() => connectHdb(hung.port, { initializationTimeout: 300 }));
    expect(err.message).toContain('No initialization reply received');
    const refused = await server({ faults: { refuse: true } });
    expect((await caught(() => connectHdb(refused.port))).message).toContain('ECONNREFUSED');
  });
});

it('close() drops client connections and frees the port', async () => {
  const s = await startHanaWireServer({
    port: 0,
    user: USER,
    password: PASSWORD,
    snapshot: () => primarySnapshot(),
  });
  const c = await connectHanaClient(s.port);
  expect(s.connectionCount()).toBe(1);
  await s.close();
  await c.close().catch(() => undefined);
  expect(await canConnect(s.port)).toBe(false);
  void hana;
});

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

async function waitListening(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await canConnect(port)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`port ${port} never opened`);
}
