/**
 * The wire-protocol simulator with each site's tables kept in the simulated site's log
 * (simSiteDatabase): what a client commits on the primary is shipped to the secondary,
 * acknowledged by HANA's sync rule, and there after a takeover; a commit cut off by a crash has an
 * unknown outcome for the client. The real @sap/hana-client, real sockets, the real clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { realClock } from '../../../src/clock.js';
import { SimLandscape } from '../../../src/standins/hana-sim/model.js';
import { applyChanges, diffRows, simSiteDatabase } from '../../../src/standins/hana-wire/database.js';
import { startHanaWireServer, type HanaWireServer } from '../../../src/standins/hana-wire/server.js';
import { caught, connectHanaClient, PASSWORD, USER, type Client } from './helpers.js';

const opened: { close(): Promise<void> }[] = [];
let model: SimLandscape | null = null;

afterEach(async () => {
  for (const c of opened.splice(0).reverse()) await c.close().catch(() => {});
  model?.dispose();
  model = null;
});

async function landscape(
  options: { operationMode?: 'logreplay' | 'logreplay_readaccess'; timeout?: number } = {},
) {
  const m = new SimLandscape({
    sid: 'HA1',
    instanceNumber: '00',
    sites: [
      { name: 'A', host: 'hana-a' },
      { name: 'B', host: 'hana-b' },
    ],
    initialPrimary: 'A',
    mode: 'sync',
    operationMode: options.operationMode ?? 'logreplay',
    logShippingTimeoutSeconds: options.timeout ?? 2,
    clock: realClock,
    seed: 1,
    writesPerSecond: 0,
    startSeconds: 1,
  });
  model = m;
  const server = async (site: string): Promise<HanaWireServer> => {
    const s = await startHanaWireServer({
      port: 0,
      user: USER,
      password: PASSWORD,
      snapshot: () => m.site(site).snapshot(),
      database: simSiteDatabase(m, site),
    });
    opened.push(s);
    return s;
  };
  return { model: m, a: await server('A'), b: await server('B') };
}

async function client(port: number): Promise<Client> {
  const c = await connectHanaClient(port, { connectTimeout: 2000, communicationTimeout: 10_000 });
  opened.push(c);
  return c;
}

const ids = (rows: unknown) => (rows as { ID: number }[]).map((r) => r.ID).sort((x, y) => x - y);

describe('client data in the simulated sites', () => {
  it('what the primary committed is on the secondary and survives a takeover', async () => {
    const { model, a, b } = await landscape();
    const onA = await client(a.port);
    await onA.exec('CREATE TABLE ORDERS (ID INTEGER PRIMARY KEY, NOTE NVARCHAR(20))');
    onA.setAutoCommit(false);
    for (let i = 1; i <= 5; i++) await onA.exec(`INSERT INTO ORDERS VALUES (${i}, 'n${i}')`);
    await onA.commit();
    await onA.exec("UPSERT ORDERS VALUES (2, 'changed') WITH PRIMARY KEY");
    await onA.commit();

    model.crashInstance('A');
    model.site('B').takeover({ handshake: false });
    await new Promise((r) => setTimeout(r, 1700)); // the takeover completes (0.8-1.5 s)
    const onB = await client(b.port);
    expect(ids(await onB.exec('SELECT ID FROM ORDERS'))).toEqual([1, 2, 3, 4, 5]);
    expect(await onB.exec('SELECT NOTE FROM ORDERS WHERE ID = 2')).toEqual([{ NOTE: 'changed' }]);
    // The new primary takes writes on the same data.
    await onB.exec("INSERT INTO ORDERS VALUES (6, 'on B')");
    expect(ids(await onB.exec('SELECT ID FROM ORDERS'))).toEqual([1, 2, 3, 4, 5, 6]);
  }, 30_000);

  it('a sync commit waits for the secondary; cut off, it is acknowledged only after logshipping_timeout', async () => {
    const { model, a } = await landscape({ timeout: 2 });
    const onA = await client(a.port);
    await onA.exec('CREATE TABLE T (ID INTEGER PRIMARY KEY)');
    let started = Date.now();
    await onA.exec('INSERT INTO T VALUES (1)');
    expect(Date.now() - started).toBeLessThan(1500);

    model.blockReplication('B');
    started = Date.now();
    await onA.exec('INSERT INTO T VALUES (2)');
    // Blocked until the primary gives up on B and commits alone.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    // That commit is not on B: a takeover now loses it (the window SOK records guard).
    model.crashInstance('A');
    model.site('B').takeover({ handshake: false });
    await new Promise((r) => setTimeout(r, 1700));
    model.unblockReplication('B');
    const b = await startHanaWireServer({
      port: 0,
      user: USER,
      password: PASSWORD,
      snapshot: () => model.site('B').snapshot(),
      database: simSiteDatabase(model, 'B'),
    });
    opened.push(b);
    expect(ids(await (await client(b.port)).exec('SELECT ID FROM T'))).toEqual([1]);
  }, 30_000);

  it('a commit in flight when the primary crashes fails with a connection error (outcome unknown)', async () => {
    const { model, a } = await landscape({ timeout: 30 });
    const onA = await client(a.port);
    await onA.exec('CREATE TABLE T (ID INTEGER PRIMARY KEY)');
    model.blockReplication('B'); // the commit waits for B...
    const pending = caught(() => onA.exec('INSERT INTO T VALUES (1)'));
    await new Promise((r) => setTimeout(r, 300));
    model.crashInstance('A'); // ...and A dies before it is acknowledged
    const err = await pending;
    expect(err.code).toBe(-10807);
  }, 30_000);

  it('a crashed primary refuses a new connection at once, not after its next state poll, and never shows its data', async () => {
    const { model, a } = await landscape({ timeout: 30 });
    const onA = await client(a.port);
    await onA.exec('CREATE TABLE T (ID INTEGER PRIMARY KEY)');
    await onA.exec('INSERT INTO T VALUES (1)');
    model.crashInstance('A');
    // At once, on the open connection: no answer from the stopped instance's data (the state poll
    // drops the connection only up to 25 ms later).
    const dropped = await caught(() => onA.exec('SELECT ID FROM T'));
    expect(dropped).toBeInstanceOf(Error);
    // And a client reconnecting right away (the example writer's lookup did: the full Node 24
    // suite saw it read the stopped instance's rows) is refused.
    const err = await caught(async () => (await client(a.port)).exec('SELECT ID FROM T'));
    expect(err).toBeInstanceOf(Error);
  }, 30_000);

  it('concurrent transactions merge row by row; changing the same row conflicts', async () => {
    const { a } = await landscape();
    const one = await client(a.port);
    const two = await client(a.port);
    await one.exec('CREATE TABLE T (ID INTEGER PRIMARY KEY, V INTEGER)');
    await one.exec('INSERT INTO T VALUES (1, 0)');
    one.setAutoCommit(false);
    two.setAutoCommit(false);
    await one.exec('INSERT INTO T VALUES (2, 0)');
    await two.exec('INSERT INTO T VALUES (3, 0)');
    await one.commit();
    await two.commit();
    expect(ids(await one.exec('SELECT ID FROM T'))).toEqual([1, 2, 3]);

    await one.exec('UPSERT T VALUES (1, 1) WITH PRIMARY KEY');
    await two.exec('UPSERT T VALUES (1, 2) WITH PRIMARY KEY');
    await one.commit();
    const err = await caught(() => two.commit());
    expect(err.code).toBe(133);
    expect(await one.exec('SELECT V FROM T WHERE ID = 1')).toEqual([{ V: 1 }]);
  }, 30_000);

  it('a read-enabled secondary reads what it holds and refuses writes', async () => {
    const { a, b } = await landscape({ operationMode: 'logreplay_readaccess' });
    const onA = await client(a.port);
    await onA.exec('CREATE TABLE T (ID INTEGER PRIMARY KEY)');
    await onA.exec('INSERT INTO T VALUES (7)');
    const onB = await client(b.port);
    expect(ids(await onB.exec('SELECT ID FROM T'))).toEqual([7]);
    const err = await caught(() => onB.exec('INSERT INTO T VALUES (8)'));
    expect(err.message).toMatch(/not allowed on a read-enabled secondary/);
  }, 30_000);
});

describe('changes', () => {
  it('diffRows and applyChanges: a multiset of rows, conflicts and duplicate keys refused', () => {
    const base = [
      [1, 'a'],
      [2, 'b'],
      [2, 'b'],
    ];
    const next = [
      [2, 'b'],
      [3, 'c'],
    ];
    const d = diffRows(base, next);
    expect(d).toEqual({
      added: [[3, 'c']],
      removed: [
        [1, 'a'],
        [2, 'b'],
      ],
    });
    const table = {
      schema: 'S',
      name: 'T',
      columns: [
        { name: 'ID', type: 'INTEGER' as const },
        { name: 'V', type: 'NVARCHAR' as const },
      ],
      primaryKey: [],
      rows: base.map((r) => [...r]),
    };
    const tables = new Map([['S.T', table]]);
    applyChanges(tables, [{ kind: 'rows', key: 'S.T', ...d }]);
    expect(tables.get('S.T')!.rows).toEqual(next);
    expect(table.rows).toHaveLength(3); // the committed version is not touched
    expect(() => applyChanges(tables, [{ kind: 'rows', key: 'S.T', ...d }])).toThrow(/serialization/);
    const keyed = new Map([['S.T', { ...table, primaryKey: ['ID'], rows: [[1, 'a']] }]]);
    expect(() => applyChanges(keyed, [{ kind: 'rows', key: 'S.T', added: [[1, 'x']], removed: [] }])).toThrow(
      /unique constraint violated/,
    );
  });
});
