/** Shared test helpers: a hand-made site snapshot and promise wrappers over both real drivers. */
import { createRequire } from 'node:module';
import type { SimLink, SimSiteSnapshot } from '../../../src/standins/hana-sim/snapshot.js';

const require = createRequire(import.meta.url);
export const hana = require('@sap/hana-client') as typeof import('@sap/hana-client');

type HanaStatement = import('@sap/hana-client').Statement;

export const USER = 'SYSTEM';
export const PASSWORD = 'Sim-Secret-42';

export function link(overrides: Partial<SimLink> = {}): SimLink {
  return {
    secondarySite: 'B',
    secondarySiteId: 2,
    secondaryHost: 'hana-b',
    mode: 'sync',
    operationMode: 'logreplay',
    status: 'ACTIVE',
    statusDetails: '',
    secondaryActive: true,
    fullySynced: true,
    lastLogPosition: 1000,
    lastLogPositionTime: Date.UTC(2024, 0, 1, 12, 0, 0),
    shippedLogPosition: 1000,
    shippedLogPositionTime: Date.UTC(2024, 0, 1, 12, 0, 0),
    replayedLogPosition: 1000,
    replayedLogPositionTime: Date.UTC(2024, 0, 1, 12, 0, 0),
    backlogSize: 0,
    backlogTimeMicros: 0,
    shippedLogBuffersCount: 10,
    shippedLogBuffersSize: 40960,
    shippedLogBuffersDurationMicros: 1200,
    ...overrides,
  };
}

export function primarySnapshot(overrides: Partial<SimSiteSnapshot> = {}): SimSiteSnapshot {
  return {
    sid: 'HA1',
    instanceNumber: '00',
    site: 'A',
    siteId: 1,
    host: 'hana-a',
    now: Date.UTC(2024, 0, 1, 12, 0, 5),
    nodeUp: true,
    running: true,
    frozen: false,
    processes: [],
    landscapeStatus: 4,
    srMode: 'primary',
    operationMode: 'logreplay',
    suspended: false,
    takeoverActive: false,
    links: [link()],
    topology: [
      { name: 'A', siteId: 1, host: 'hana-a', mode: 'primary', operationMode: 'logreplay' },
      { name: 'B', siteId: 2, host: 'hana-b', mode: 'sync', operationMode: 'logreplay', source: 'A' },
    ],
    logAreaFull: false,
    ...overrides,
  };
}

export function secondarySnapshot(overrides: Partial<SimSiteSnapshot> = {}): SimSiteSnapshot {
  return primarySnapshot({
    site: 'B',
    siteId: 2,
    host: 'hana-b',
    srMode: 'sync',
    source: { site: 'A', siteId: 1, host: 'hana-a' },
    links: [],
    ...overrides,
  });
}

export type Row = Record<string, unknown>;

/** The smallest common surface of both drivers, as promises. */
export interface Client {
  exec(sql: string, params?: unknown[]): Promise<Row[] | number>;
  prepared(sql: string, params: unknown[]): Promise<Row[] | number>;
  setAutoCommit(on: boolean): void;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  close(): Promise<void>;
}

export interface DriverError extends Error {
  code?: number | string;
  sqlState?: string;
}

export async function connectHanaClient(
  port: number,
  options: Record<string, unknown> = {},
): Promise<Client> {
  const conn = hana.createConnection();
  await new Promise<void>((resolve, reject) =>
    conn.connect(
      {
        serverNode: `127.0.0.1:${port}`,
        uid: USER,
        pwd: PASSWORD,
        connectTimeout: 5000,
        communicationTimeout: 5000,
        ...options,
      },
      (err) => (err ? reject(err) : resolve()),
    ),
  );
  const cb =
    <T>(resolve: (v: T) => void, reject: (e: Error) => void) =>
    (err: Error, result?: T) =>
      err ? reject(err) : resolve(result as T);
  return {
    exec: (sql, params = []) =>
      new Promise((resolve, reject) => conn.exec<Row[] | number>(sql, params as never, cb(resolve, reject))),
    prepared: (sql, params) =>
      new Promise((resolve, reject) => {
        conn.prepare(sql, (err: Error, stmt?: HanaStatement) => {
          if (err || !stmt) return reject(err);
          stmt.exec<Row[] | number>(params as never, (e: Error, result?: Row[] | number) => {
            stmt.drop(() => (e ? reject(e) : resolve(result as Row[] | number)));
          });
        });
      }),
    setAutoCommit: (on) => conn.setAutoCommit(on),
    commit: () => new Promise((resolve, reject) => conn.commit((e) => (e ? reject(e) : resolve()))),
    rollback: () => new Promise((resolve, reject) => conn.rollback((e) => (e ? reject(e) : resolve()))),
    close: () => new Promise((resolve) => conn.disconnect(() => resolve())),
  };
}

interface HdbStatement {
  exec(params: unknown[], cb: (err: Error | null, result: unknown) => void): void;
  drop(cb: (err: Error | null) => void): void;
}
interface HdbClient {
  connect(cb: (err: Error | null) => void): void;
  exec(sql: string, cb: (err: Error | null, result: unknown) => void): void;
  prepare(sql: string, cb: (err: Error | null, stmt: HdbStatement) => void): void;
  setAutoCommit(on: boolean): void;
  commit(cb: (err: Error | null) => void): void;
  rollback(cb: (err: Error | null) => void): void;
  disconnect(cb: () => void): void;
  close(): void;
  on(event: string, fn: (...args: unknown[]) => void): void;
}
export const hdb = require('hdb') as { createClient(options: Record<string, unknown>): HdbClient };

export async function connectHdb(port: number, options: Record<string, unknown> = {}): Promise<Client> {
  const client = hdb.createClient({ host: '127.0.0.1', port, user: USER, password: PASSWORD, ...options });
  client.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => client.connect((err) => (err ? reject(err) : resolve())));
  const done =
    (resolve: (v: Row[] | number) => void, reject: (e: Error) => void) =>
    (err: Error | null, result: unknown) => (err ? reject(err) : resolve(result as Row[] | number));
  return {
    exec: (sql) => new Promise((resolve, reject) => client.exec(sql, done(resolve, reject))),
    prepared: (sql, params) =>
      new Promise((resolve, reject) => {
        client.prepare(sql, (err, stmt) => {
          if (err) return reject(err);
          stmt.exec(params, (e, result) =>
            stmt.drop(() => (e ? reject(e) : resolve(result as Row[] | number))),
          );
        });
      }),
    setAutoCommit: (on) => client.setAutoCommit(on),
    commit: () => new Promise((resolve, reject) => client.commit((e) => (e ? reject(e) : resolve()))),
    rollback: () => new Promise((resolve, reject) => client.rollback((e) => (e ? reject(e) : resolve()))),
    close: () =>
      new Promise((resolve) => {
        client.disconnect(() => {
          client.close();
          resolve();
        });
      }),
  };
}

export const drivers = [
  { name: '@sap/hana-client', connect: connectHanaClient },
  { name: 'hdb', connect: connectHdb },
] as const;

/** Runs fn and returns what it threw (fails the test when it does not throw). */
export async function caught(fn: () => Promise<unknown>): Promise<DriverError> {
  try {
    await fn();
  } catch (err) {
    return err as DriverError;
  }
  throw new Error('expected an error');
}
