/**
 * The peer probe against a real SQL wire server (through @sap/hana-client) and a peer agent's
 * status server: which PeerView each combination of answers gives, and that both checks have a
 * deadline on the injected clock.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NetworkPeerProbe, viewOf, type PeerAgentStatus } from '../../src/agent/peer-probe.js';
import { startStatusServer, type AgentStatus, type StatusServer } from '../../src/agent/status-server.js';
import { realClock, VirtualClock, type Clock } from '../../src/clock.js';
import type { SimSiteSnapshot } from '../../src/standins/hana-sim/snapshot.js';
import {
  startHanaWireServer,
  type HanaWireServer,
  type WireFaults,
} from '../../src/standins/hana-wire/server.js';
import { freePort } from '../../rigs/etcd.js';
import { PASSWORD, USER, primarySnapshot, secondarySnapshot } from '../hana/wire/helpers.js';

const TOKEN = 'peer-probe-test-token-11223344';
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

async function sqlPeer(snapshot: () => SimSiteSnapshot, faults: WireFaults = {}): Promise<HanaWireServer> {
  const server = await startHanaWireServer({ port: 0, user: USER, password: PASSWORD, snapshot, faults });
  closers.push(() => server.close());
  return server;
}

function agentStatus(hana: PeerAgentStatus): AgentStatus {
  return {
    cluster: 'hana.ha1',
    site: 'B',
    startedAt: new Date(0).toISOString(),
    hana: {
      ...hana,
      acceptsWrites: false,
      suspended: false,
      probeOk: true,
      landscapeStatus: 4,
      overallReplicationStatus: 'NONE',
      replication: [],
    },
    failedProbes: 0,
    epoch: 1,
    leader: false,
    fenced: false,
    lastDecision: null,
    lastCycleAt: null,
    store: { reachable: true, lastOkAt: null },
    spec: { source: 'file', maintenance: false },
    peers: {},
  };
}

async function agentPeer(hana: PeerAgentStatus, clock?: number): Promise<StatusServer> {
  const server = await startStatusServer({
    host: '127.0.0.1',
    port: 0,
    status: () => ({ ...agentStatus(hana), ...(clock !== undefined ? { clock } : {}) }),
    healthz: () => ({ ok: true, message: 'ok' }),
    readyz: () => ({ ok: true, message: 'ok' }),
    peerToken: TOKEN,
  });
  closers.push(() => server.close());
  return server;
}

/** An HTTP server that accepts requests and never answers. */
async function silentHttp(): Promise<string> {
  const server: Server = createServer(() => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  closers.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function probe(
  peers: ConstructorParameters<typeof NetworkPeerProbe>[0]['peers'],
  clock: Clock = realClock,
  timeoutMs = 2000,
  password = PASSWORD,
) {
  return new NetworkPeerProbe({
    peers,
    credentials: async () => ({ user: USER, password }),
    clock,
    timeoutMs: () => timeoutMs,
    peerToken: TOKEN,
  });
}

const signal = () => new AbortController().signal;

describe('NetworkPeerProbe', () => {
  it('a primary that answers SQL and whose agent says primary: reachable and writable', async () => {
    const sql = await sqlPeer(() => primarySnapshot());
    const agent = await agentPeer({ role: 'primary', running: true });
    const view = await probe({
      A: { sql: { host: '127.0.0.1', port: sql.port }, statusUrl: agent.url },
    }).check('A', signal());
    expect(view).toEqual({ reachable: true, acceptsWrites: true, role: 'primary', running: true });
  });

  it("carries the peer agent's clock reading for the skew estimate", async () => {
    const agent = await agentPeer({ role: 'secondary', source: 'A', running: true }, 1_700_000_123_456);
    const view = await probe({ B: { statusUrl: agent.url } }).check('B', signal());
    expect(view).toMatchObject({ reachable: true, role: 'secondary', clock: 1_700_000_123_456 });
  });

  it('a secondary (SQL port closed) seen through its agent: a reachable secondary, not writable', async () => {
    const sql = await sqlPeer(() => secondarySnapshot());
    const agent = await agentPeer({ role: 'secondary', source: 'A', running: true });
    const p = probe({ B: { sql: { host: '127.0.0.1', port: sql.port }, statusUrl: agent.url } });
    expect(await p.detail('B', signal())).toMatchObject({ sql: 'silent' });
    expect(await p.check('B', signal())).toEqual({
      reachable: true,
      acceptsWrites: false,
      role: 'secondary',
      running: true,
      source: 'A',
    });
  });

  it('agent dead, database alive: reachable and writable (a takeover must wait)', async () => {
    const sql = await sqlPeer(() => primarySnapshot());
    const deadAgent = `http://127.0.0.1:${await freePort()}`;
    const view = await probe({
      A: { sql: { host: '127.0.0.1', port: sql.port }, statusUrl: deadAgent },
    }).check('A', signal());
    expect(view).toEqual({ reachable: true, acceptsWrites: true });
  });

  it('both silent (SQL refused, agent gone): unreachable, never writable, never a secondary', async () => {
    const sql = await sqlPeer(() => primarySnapshot(), { refuse: true });
    const deadAgent = `http://127.0.0.1:${await freePort()}`;
    const view = await probe({
      A: { sql: { host: '127.0.0.1', port: sql.port }, statusUrl: deadAgent },
    }).check('A', signal());
    expect(view).toEqual({ reachable: false, acceptsWrites: false });
  });

  it('a wrong SQL password is a silent SQL port, and the password is nowhere in the answer', async () => {
    const sql = await sqlPeer(() => primarySnapshot());
    const wrong = 'Wrong-Pass-77';
    const p = probe({ A: { sql: { host: '127.0.0.1', port: sql.port } } }, realClock, 2000, wrong);
    const detail = await p.detail('A', signal());
    expect(detail).toEqual({ sql: 'silent', agent: 'not-configured' });
    expect(viewOf(detail)).toEqual({ reachable: false, acceptsWrites: false });
    expect(JSON.stringify(detail)).not.toContain(wrong);
  });

  it('both checks hang: each is cut at its deadline on the injected clock -> unreachable', async () => {
    const sql = await sqlPeer(() => primarySnapshot(), { hang: 'connect' });
    const url = await silentHttp();
    const clock = new VirtualClock(0);
    const pending = probe(
      { A: { sql: { host: '127.0.0.1', port: sql.port }, statusUrl: url } },
      clock,
      60_000,
    ).check('A', signal());
    let settled = false;
    void pending.finally(() => (settled = true));
    await clock.advanceBy(59_000);
    expect(settled).toBe(false);
    await clock.advanceBy(1_000);
    expect(await pending).toEqual({ reachable: false, acceptsWrites: false });
  });

  it('the caller aborting ends both checks', async () => {
    const sql = await sqlPeer(() => primarySnapshot(), { hang: 'queries' });
    const url = await silentHttp();
    const controller = new AbortController();
    const pending = probe(
      { A: { sql: { host: '127.0.0.1', port: sql.port }, statusUrl: url } },
      realClock,
      60_000,
    ).check('A', controller.signal);
    setTimeout(() => controller.abort(), 50);
    expect(await pending).toEqual({ reachable: false, acceptsWrites: false });
  });

  it('an authenticated peer status that is not an agent status counts as silent', async () => {
    const server = await startStatusServer({
      host: '127.0.0.1',
      port: 0,
      status: () => ({ hello: 'world' }) as unknown as AgentStatus,
      healthz: () => ({ ok: true, message: 'ok' }),
      readyz: () => ({ ok: true, message: 'ok' }),
      peerToken: TOKEN,
    });
    closers.push(() => server.close());
    expect(await probe({ B: { statusUrl: server.url } }).detail('B', signal())).toEqual({
      sql: 'not-configured',
      agent: 'silent',
    });
  });
});

describe("NetworkPeerProbe: the peer agent's HTTP answer (node:http, no fetch)", () => {
  async function httpPeer(handler: Parameters<typeof createServer>[1]): Promise<string> {
    const server: Server = createServer(handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    closers.push(
      () =>
        new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
    );
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('a body over 256 KiB is not read to its end and counts as silent', async () => {
    const url = await httpPeer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"pad":"${'x'.repeat(300 * 1024)}"}`);
    });
    expect((await probe({ B: { statusUrl: url } }).detail('B', signal())).agent).toBe('silent');
  });

  it('a redirect is followed nowhere: silent', async () => {
    const target = await agentPeer({ role: 'secondary', source: 'A', running: true });
    const url = await httpPeer((_req, res) => {
      res.writeHead(302, { location: `${target.url}/status` });
      res.end();
    });
    expect((await probe({ B: { statusUrl: url } }).detail('B', signal())).agent).toBe('silent');
  });

  it('headers, then a body that never ends: cut at the deadline', async () => {
    const url = await httpPeer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"hana":');
    });
    const started = Date.now();
    expect((await probe({ B: { statusUrl: url } }, realClock, 300).detail('B', signal())).agent).toBe(
      'silent',
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a 401 is unauthenticated', async () => {
    const url = await httpPeer((_req, res) => {
      res.writeHead(401);
      res.end('no');
    });
    expect((await probe({ B: { statusUrl: url } }).detail('B', signal())).agent).toBe('unauthenticated');
  });
});

describe('viewOf: the rules in one table', () => {
  const primary: PeerAgentStatus = { role: 'primary', running: true };
  const secondary: PeerAgentStatus = { role: 'secondary', source: 'A', running: true };
  const down: PeerAgentStatus = { role: 'primary', running: false };
  it.each([
    ['SQL only', { sql: 'writable', agent: 'silent' }, { reachable: true, acceptsWrites: true }],
    [
      'agent only, primary',
      { sql: 'silent', agent: primary },
      { reachable: true, acceptsWrites: false, role: 'primary', running: true },
    ],
    [
      'read-access secondary: SQL answers, agent says secondary',
      { sql: 'writable', agent: secondary },
      { reachable: true, acceptsWrites: false, role: 'secondary', running: true, source: 'A' },
    ],
    [
      'agent says its HANA is down, SQL silent',
      { sql: 'silent', agent: down },
      { reachable: false, acceptsWrites: false },
    ],
    [
      'nothing configured',
      { sql: 'not-configured', agent: 'not-configured' },
      { reachable: false, acceptsWrites: false },
    ],
  ] as const)('%s', (_name, detail, view) => {
    expect(viewOf(detail)).toEqual(view);
  });
});
