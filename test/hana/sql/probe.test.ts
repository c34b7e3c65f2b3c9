import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock, realClock } from '../../../src/clock.js';
import type { SimSiteSnapshot } from '../../../src/standins/hana-sim/snapshot.js';
import { HanaSqlProbe, foldReplicationRows, type HanaSqlProbeOptions } from '../../../src/hana/sql/probe.js';
import {
  startHanaWireServer,
  type HanaWireServer,
  type WireFaults,
} from '../../../src/standins/hana-wire/server.js';
import { PASSWORD, USER, link, primarySnapshot, secondarySnapshot } from '../wire/helpers.js';

const servers: HanaWireServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function setup(snapshot: () => SimSiteSnapshot = () => primarySnapshot(), faults: WireFaults = {}) {
  const server = await startHanaWireServer({ port: 0, user: USER, password: PASSWORD, snapshot, faults });
  servers.push(server);
  const probe = (options: Partial<HanaSqlProbeOptions> = {}) =>
    new HanaSqlProbe({
      host: '127.0.0.1',
      port: server.port,
      credentials: { user: USER, password: PASSWORD },
      timeoutMs: 2000,
      clock: realClock,
      ...options,
    });
  return { server, probe };
}

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
}

describe('HanaSqlProbe.availability', () => {
  it('answers SELECT * FROM DUMMY and closes its connection', async () => {
    const { server, probe } = await setup();
    const result = await probe().availability();
    expect(result.available).toBe(true);
    await waitFor(() => server.connectionCount() === 0);
  });

  it('creates the write-probe table on first use, then upserts into it', async () => {
    const { probe } = await setup();
    const p = probe({ writeProbeTable: 'HANASR_PROBE', writerId: 'agent-a' });
    expect(await p.availability()).toMatchObject({ available: true, writeOk: true });
    expect(await p.availability()).toMatchObject({ available: true, writeOk: true });
  });

  it('fails when the write blocks (suspended primary) within the probe timeout', async () => {
    const { probe } = await setup(() => primarySnapshot({ suspended: true }));
    const result = await probe({ writeProbeTable: 'HANASR_PROBE', timeoutMs: 300 }).availability();
    expect(result.available).toBe(false);
    if (!result.available) expect(result.error.code).toBe('TIMEOUT');
  });

  it('reports a refused port as CONNECT', async () => {
    const { probe } = await setup(() => primarySnapshot(), { refuse: true });
    const result = await probe().availability();
    expect(result).toMatchObject({ available: false, error: { code: 'CONNECT', sqlCode: -10709 } });
  });

  it('reports a secondary without read access as unavailable', async () => {
    const { probe } = await setup(() => secondarySnapshot());
    expect((await probe().availability()).available).toBe(false);
  });

  it('times out a hung query, and the next probe uses a fresh connection that works', async () => {
    const { server, probe } = await setup();
    const p = probe({ timeoutMs: 300 });
    server.setFault({ hang: 'queries' });
    const hung = await p.availability();
    expect(hung).toMatchObject({ available: false, error: { code: 'TIMEOUT' } });
    server.setFault({});
    expect((await p.availability()).available).toBe(true);
  });

  it('races the injected clock: a virtual deadline fails the probe even though the driver would still wait', async () => {
    const { probe } = await setup(() => primarySnapshot(), { hang: 'connect' });
    const clock = new VirtualClock(0);
    const pending = probe({ clock, timeoutMs: 60_000 }).availability();
    await clock.advanceBy(60_000);
    const result = await pending;
    expect(result).toMatchObject({ available: false, error: { code: 'TIMEOUT' } });
  });

  it('never puts the password in an error message', async () => {
    const { probe } = await setup();
    const wrong = 'Not-The-Password-9';
    const result = await probe({ credentials: { user: USER, password: wrong } }).availability();
    expect(result.available).toBe(false);
    if (!result.available) {
      expect(result.error.code).toBe('AUTH');
      expect(result.error.message).not.toContain(wrong);
      expect(JSON.stringify(result)).not.toContain(wrong);
    }
  });

  it('stops at once when the caller aborts', async () => {
    const { probe } = await setup(() => primarySnapshot(), { hang: 'queries' });
    const controller = new AbortController();
    const pending = probe({ timeoutMs: 10_000 }).availability(controller.signal);
    setTimeout(() => controller.abort(), 50);
    expect(await pending).toMatchObject({ available: false, error: { code: 'ABORTED' } });
  });

  it('stops at once when the caller aborts while the connect hangs (a silent peer)', async () => {
    const { probe } = await setup(() => primarySnapshot(), { hang: 'connect' });
    const controller = new AbortController();
    const started = Date.now();
    const pending = probe({ timeoutMs: 10_000 }).availability(controller.signal);
    setTimeout(() => controller.abort(), 50);
    expect(await pending).toMatchObject({ available: false, error: { code: 'ABORTED' } });
    // Not the 10-s deadline: the abort ends the wait for the handshake.
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('HanaSqlProbe.replicationLag', () => {
  it('reads shipping delay and unshipped bytes per secondary from the live views', async () => {
    let shipped = 1000;
    const t0 = Date.UTC(2024, 0, 1, 12, 0, 0);
    const { probe } = await setup(() =>
      primarySnapshot({
        links: [
          link({
            lastLogPosition: 1500,
            shippedLogPosition: shipped,
            lastLogPositionTime: t0 + 3500,
            shippedLogPositionTime: t0,
            backlogSize: 32000,
            backlogTimeMicros: 3_500_000,
          }),
          link({
            secondarySite: 'C',
            secondarySiteId: 3,
            secondaryHost: 'hana-c',
            mode: 'async',
            status: 'SYNCING',
            statusDetails: 'catching up',
          }),
        ],
      }),
    );
    const p = probe();
    const lag = await p.replicationLag(new AbortController().signal);
    expect(lag.get('B')).toEqual({
      lagSeconds: 3.5,
      lagBytes: 32000,
      status: 'ACTIVE',
      mode: 'sync',
      details: '',
      backlogSize: 32000,
      backlogTimeSeconds: 3.5,
      // Per service volume, as M_SERVICE_REPLICATION has them (a planned region switchover's drain).
      positions: [
        { volume: 'nameserver/1', last: 1500, shipped: 1000 },
        { volume: 'indexserver/3', last: 1500, shipped: 1000 },
      ],
    });
    expect(lag.get('C')).toMatchObject({
      lagSeconds: 0,
      lagBytes: 0,
      status: 'SYNCING',
      mode: 'async',
      details: 'catching up',
    });
    shipped = 1500;
    const again = (await p.replicationLag(new AbortController().signal)).get('B');
    expect(again?.lagBytes).toBe(0);
    expect(again?.positions?.every((v) => v.shipped === v.last)).toBe(true);
  });

  it('leaves the positions unknown when a row has none or names a volume twice', async () => {
    const { foldReplicationRows } = await import('../../../src/hana/sql/probe.js');
    const row = (over: Record<string, unknown>) => ({
      SECONDARY_SITE_NAME: 'C',
      SERVICE_NAME: 'indexserver',
      VOLUME_ID: 3,
      REPLICATION_MODE: 'ASYNC',
      REPLICATION_STATUS: 'ACTIVE',
      LAST_LOG_POSITION: 900,
      SHIPPED_LOG_POSITION: 900,
      LAST_LOG_POSITION_TIME: '2024-01-01 12:00:00.000',
      SHIPPED_LOG_POSITION_TIME: '2024-01-01 12:00:00.000',
      ...over,
    });
    expect(
      foldReplicationRows([row({}), row({ SERVICE_NAME: 'nameserver', VOLUME_ID: 1 })]).get('C')?.positions,
    ).toHaveLength(2);
    expect(
      foldReplicationRows([row({}), row({ SERVICE_NAME: 'nameserver', VOLUME_ID: null })]).get('C')
        ?.positions,
    ).toBeUndefined();
    expect(
      foldReplicationRows([row({ VOLUME_ID: 'x' }), row({ SERVICE_NAME: 'nameserver', VOLUME_ID: 1 })]).get(
        'C',
      )?.positions,
    ).toBeUndefined();
    expect(foldReplicationRows([row({}), row({})]).get('C')?.positions).toBeUndefined();
    expect(foldReplicationRows([row({ LAST_LOG_POSITION: 'garbage' })]).get('C')?.positions).toBeUndefined();
  });

  it('satisfies the lagSource shape the command adapter uses', async () => {
    const { probe } = await setup();
    const lagSource: {
      replicationLag(signal: AbortSignal): Promise<Map<string, { lagSeconds: number; lagBytes: number }>>;
    } = probe();
    expect((await lagSource.replicationLag(new AbortController().signal)).get('B')).toMatchObject({
      lagSeconds: 0,
      lagBytes: 0,
    });
  });

  it('throws a TIMEOUT on a hung query instead of answering "no lag"', async () => {
    const { probe } = await setup(() => primarySnapshot(), { hang: 'queries' });
    await expect(
      probe({ timeoutMs: 300 }).replicationLag(new AbortController().signal),
    ).rejects.toMatchObject({ code: 'TIMEOUT' });
  });
});

describe('HanaSqlProbe with keepConnection (the agent’s own probe)', () => {
  it('logs in once and reuses the connection for every probe after', async () => {
    const { server, probe } = await setup();
    const p = probe({ keepConnection: true });
    for (let i = 0; i < 4; i++) expect((await p.availability()).available).toBe(true);
    await p.replicationLag();
    expect(server.connectionsAccepted()).toBe(1);
    expect(server.connectionCount()).toBe(1);
    await p.close();
    await waitFor(() => server.connectionCount() === 0);
  });

  it('answers within a 3-s timeout while the server delays every answer by 1.5 s (one round trip)', async () => {
    const { server, probe } = await setup();
    const p = probe({ keepConnection: true, timeoutMs: 3000 });
    expect((await p.replicationLag()).get('B')).toMatchObject({ status: 'ACTIVE' });
    server.setFault({ delayMs: 1500 });
    const started = Date.now();
    const lag = await p.replicationLag();
    expect(lag.get('B')).toMatchObject({ status: 'ACTIVE', lagBytes: 0 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1490);
    expect(server.connectionsAccepted()).toBe(1);
    await p.close();
  });

  it('still times out a connect that hangs (no connection to reuse yet)', async () => {
    const { server, probe } = await setup(() => primarySnapshot(), { hang: 'connect' });
    const p = probe({ keepConnection: true, timeoutMs: 300 });
    expect(await p.availability()).toMatchObject({ available: false, error: { code: 'TIMEOUT' } });
    await waitFor(() => server.connectionCount() === 0);
  });

  it('times out a hung query on the kept connection, closes it, and reconnects on the next probe', async () => {
    const { server, probe } = await setup();
    const p = probe({ keepConnection: true, timeoutMs: 300 });
    expect((await p.availability()).available).toBe(true);
    server.setFault({ hang: 'queries' });
    expect(await p.availability()).toMatchObject({ available: false, error: { code: 'TIMEOUT' } });
    // Dropped at once, never reused half-dead.
    await waitFor(() => server.connectionCount() === 0);
    server.setFault({});
    expect((await p.availability()).available).toBe(true);
    expect(server.connectionsAccepted()).toBe(2);
    await p.close();
  });

  it('closes the kept connection when the caller aborts', async () => {
    const { server, probe } = await setup();
    const p = probe({ keepConnection: true, timeoutMs: 10_000 });
    expect((await p.availability()).available).toBe(true);
    server.setFault({ hang: 'queries' });
    const controller = new AbortController();
    const pending = p.availability(controller.signal);
    setTimeout(() => controller.abort(), 50);
    expect(await pending).toMatchObject({ available: false, error: { code: 'ABORTED' } });
    await waitFor(() => server.connectionCount() === 0);
  });

  it('after a restart of the instance reads the new instance on a new connection, never the old answer', async () => {
    let running = true;
    let shipped = 1000;
    const { server, probe } = await setup(() =>
      primarySnapshot({ running, links: [link({ lastLogPosition: 1500, shippedLogPosition: shipped })] }),
    );
    const p = probe({ keepConnection: true });
    expect((await p.replicationLag()).get('B')?.lagBytes).toBe(500 * 64);
    // Stopped: its SQL port closes and drops every session.
    running = false;
    await waitFor(() => server.connectionCount() === 0);
    await expect(p.replicationLag()).rejects.toMatchObject({ code: 'CONNECT' });
    // Started again, caught up.
    shipped = 1500;
    running = true;
    await new Promise((r) => setTimeout(r, 100));
    expect((await p.replicationLag()).get('B')?.lagBytes).toBe(0);
    expect(server.connectionsAccepted()).toBe(2);
    await p.close();
  });

  it('a kept connection the server dropped while idle costs a fresh connect in the same probe, not a failure', async () => {
    let running = true;
    const { server, probe } = await setup(() => primarySnapshot({ running }));
    const p = probe({ keepConnection: true });
    expect((await p.availability()).available).toBe(true);
    // A restart between two probes: the kept socket is dead when the next probe comes.
    running = false;
    await waitFor(() => server.connectionCount() === 0);
    running = true;
    await new Promise((r) => setTimeout(r, 100));
    expect((await p.availability()).available).toBe(true);
    expect(server.connectionsAccepted()).toBe(2);
    await p.close();
  });

  it('logs in again when the credentials change, and fails on a wrong new password (the old session does not count)', async () => {
    const { server, probe } = await setup();
    let password = PASSWORD;
    const p = probe({ keepConnection: true, credentials: async () => ({ user: USER, password }) });
    expect((await p.availability()).available).toBe(true);
    password = 'Rotated-But-Wrong-7';
    const result = await p.availability();
    expect(result).toMatchObject({ available: false, error: { code: 'AUTH' } });
    expect(JSON.stringify(result)).not.toContain(password);
    await waitFor(() => server.connectionCount() === 0);
    password = PASSWORD;
    expect((await p.availability()).available).toBe(true);
    expect(server.connectionsAccepted()).toBe(3);
    await p.close();
  });

  it('overlapping probes each get an answer; only one connection is kept', async () => {
    const { server, probe } = await setup();
    const p = probe({ keepConnection: true });
    const results = await Promise.all([p.availability(), p.availability(), p.availability()]);
    expect(results.every((r) => r.available)).toBe(true);
    await waitFor(() => server.connectionCount() === 1);
    expect((await p.availability()).available).toBe(true);
    expect(server.connectionCount()).toBe(1);
    await p.close();
    await waitFor(() => server.connectionCount() === 0);
  });

  it('a login slower than the probe timeout goes on after the probe failed, within its own deadline, and the next probe uses it', async () => {
    // Every answer 0.5 s late, probe timeout 1 s: the login (handshake and two SCRAM steps, 1.5 s)
    // never fits in one probe; the statement alone (0.5 s) does.
    const { server, probe } = await setup(() => primarySnapshot(), { delayMs: 500 });
    const p = probe({ keepConnection: true, timeoutMs: 1000 });
    // The first probe still fails: unknown is never healthy.
    expect(await p.availability()).toMatchObject({ available: false, error: { code: 'TIMEOUT' } });
    await new Promise((r) => setTimeout(r, 1000));
    expect((await p.availability()).available).toBe(true);
    expect(server.connectionsAccepted()).toBe(1);
    await p.close();
  });

  it('a login that never completes is cut at its own deadline (twice the probe timeout)', async () => {
    const { server, probe } = await setup(() => primarySnapshot(), { hang: 'connect' });
    const p = probe({ keepConnection: true, timeoutMs: 300 });
    expect(await p.availability()).toMatchObject({ available: false, error: { code: 'TIMEOUT' } });
    expect(server.connectionCount()).toBe(1);
    await waitFor(() => server.connectionCount() === 0);
    await p.close();
  });

  it('keeps nothing open after close()', async () => {
    const { server, probe } = await setup();
    const p = probe({ keepConnection: true });
    expect((await p.availability()).available).toBe(true);
    await p.close();
    await waitFor(() => server.connectionCount() === 0);
    expect((await p.availability()).available).toBe(true);
    await waitFor(() => server.connectionCount() === 0);
  });
});

describe('foldReplicationRows', () => {
  const row = (o: Record<string, unknown>) => ({
    SECONDARY_SITE_NAME: 'B',
    SERVICE_NAME: 'indexserver',
    REPLICATION_MODE: 'SYNC',
    REPLICATION_STATUS: 'ACTIVE',
    REPLICATION_STATUS_DETAILS: '',
    LAST_LOG_POSITION: 100,
    LAST_LOG_POSITION_TIME: '2024-01-01 12:00:01.000000000',
    SHIPPED_LOG_POSITION: 100,
    SHIPPED_LOG_POSITION_TIME: '2024-01-01 12:00:01.000000000',
    ...o,
  });

  it('lets the worst service win per secondary', () => {
    const lag = foldReplicationRows([
      row({ SERVICE_NAME: 'nameserver' }),
      row({
        REPLICATION_STATUS: 'ERROR',
        REPLICATION_STATUS_DETAILS: 'Communication channel closed',
        SHIPPED_LOG_POSITION: 90,
        SHIPPED_LOG_POSITION_TIME: '2024-01-01 12:00:00.500000000',
      }),
    ]);
    expect(lag.get('B')).toEqual({
      lagSeconds: 0.5,
      lagBytes: 640,
      status: 'ERROR',
      mode: 'sync',
      details: 'Communication channel closed',
    });
  });

  it('skips STOPPED and TENANTCOPY rows like SAP’s script', () => {
    const lag = foldReplicationRows([
      row({ REPLICATION_STATUS: 'STOPPED' }),
      row({ SECONDARY_SITE_NAME: 'C', REPLICATION_STATUS: 'TENANTCOPY' }),
    ]);
    expect(lag.size).toBe(0);
  });

  it('turns unreadable words and positions into UNKNOWN with infinite lag, never in sync', () => {
    const lag = foldReplicationRows([
      row({ REPLICATION_STATUS: 'WEIRD', REPLICATION_MODE: 'FANCY', SHIPPED_LOG_POSITION: null }),
    ]);
    expect(lag.get('B')).toMatchObject({
      status: 'UNKNOWN',
      mode: 'unknown',
      lagBytes: Number.POSITIVE_INFINITY,
    });
  });
});
