/**
 * Peer checks are authenticated (docs/agent.md, "Peer authentication"): a peer agent's /status
 * counts only when it proves it knows the shared peer token. A forged answer — a server that is
 * not the peer's agent, speaking for it — is an unknown peer, never a confirmed secondary:
 *
 * - the failsafe: a primary cut off from the store, whose only peer is "seen" as a running
 *   secondary through a forged /status, fences itself instead of staying up;
 * - the takeover guard: a secondary whose former primary still serves SQL does not promote when a
 *   forged /status says that primary is now a secondary.
 *
 * Both run the real Agent (decide, act) on the real clock with the real NetworkPeerProbe over
 * HTTP and, for SQL, the wire-protocol server through @sap/hana-client.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, type AgentEvent, type PeerProbe } from '../../src/agent/agent.js';
import { NetworkPeerProbe } from '../../src/agent/peer-probe.js';
import { startStatusServer, type AgentStatus } from '../../src/agent/status-server.js';
import { parseSpec } from '../../src/api/spec.js';
import { realClock } from '../../src/clock.js';
import { MemoryCoordination } from '../../src/coordination/memory.js';
import { SimDirectPort } from '../../src/standins/hana-sim/direct-port.js';
import { SimLandscape } from '../../src/standins/hana-sim/model.js';
import { startHanaWireServer } from '../../src/standins/hana-wire/server.js';
import { simPeerView } from '../../rigs/sim-bridge.js';
import { PASSWORD, USER } from '../hana/wire/helpers.js';

const TOKEN = 'peer-token-5b0c1f0e9d2a4c7f8e6b3a1d';
const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function until<T>(what: string, fn: () => T | undefined, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function agentStatus(site: string, role: 'primary' | 'secondary', source?: string): AgentStatus {
  return {
    cluster: 'hana.ha1',
    site,
    startedAt: new Date(0).toISOString(),
    hana: {
      role,
      ...(source !== undefined ? { source } : {}),
      running: true,
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

/** A server that is not the peer's agent but answers its /status: "a running secondary". */
async function forgedStatus(
  site: string,
  answer: (req: IncomingMessage, res: ServerResponse, body: string) => void = (_q, res, body) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(body),
): Promise<string> {
  const body = JSON.stringify(agentStatus(site, 'secondary', 'A'));
  const server: Server = createServer((req, res) => answer(req, res, body));
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

const signal = () => new AbortController().signal;

describe('the peer probe believes only authenticated answers', () => {
  it('the real agent with the same token: a confirmed secondary', async () => {
    const server = await startStatusServer({
      host: '127.0.0.1',
      port: 0,
      status: () => agentStatus('B', 'secondary', 'A'),
      healthz: () => ({ ok: true, message: 'ok' }),
      readyz: () => ({ ok: true, message: 'ok' }),
      peerToken: TOKEN,
    });
    closers.push(() => server.close());
    const probe = new NetworkPeerProbe({
      peers: { B: { statusUrl: server.url } },
      peerToken: TOKEN,
      clock: realClock,
      timeoutMs: () => 2000,
    });
    expect(await probe.check('B', signal())).toEqual({
      reachable: true,
      acceptsWrites: false,
      role: 'secondary',
      running: true,
      source: 'A',
    });
  });

  it.each([
    ['plain HTTP answer without a proof', undefined],
    [
      'an answer with a made-up proof',
      (_q: IncomingMessage, res: ServerResponse, body: string) =>
        res.writeHead(200, { 'content-type': 'application/json', 'x-hanasr-mac': 'ab'.repeat(32) }).end(body),
    ],
    [
      'an answer that replays the proof header it was sent',
      (q: IncomingMessage, res: ServerResponse, body: string) =>
        res
          .writeHead(200, {
            'content-type': 'application/json',
            'x-hanasr-mac': String(q.headers.authorization),
          })
          .end(body),
    ],
  ])('a forged /status (%s) is an unauthenticated, unknown peer', async (_name, answer) => {
    const url = await forgedStatus('B', answer);
    const probe = new NetworkPeerProbe({
      peers: { B: { statusUrl: url } },
      peerToken: TOKEN,
      clock: realClock,
      timeoutMs: () => 2000,
    });
    expect(await probe.detail('B', signal())).toEqual({ sql: 'not-configured', agent: 'unauthenticated' });
    expect(await probe.check('B', signal())).toEqual({ reachable: false, acceptsWrites: false });
  });

  it('a real agent with another token answers 401: unauthenticated, unknown', async () => {
    const server = await startStatusServer({
      host: '127.0.0.1',
      port: 0,
      status: () => agentStatus('B', 'secondary', 'A'),
      healthz: () => ({ ok: true, message: 'ok' }),
      readyz: () => ({ ok: true, message: 'ok' }),
      peerToken: 'another-token-of-another-cluster-1',
    });
    closers.push(() => server.close());
    const probe = new NetworkPeerProbe({
      peers: { B: { statusUrl: server.url } },
      peerToken: TOKEN,
      clock: realClock,
      timeoutMs: () => 2000,
    });
    expect(await probe.detail('B', signal())).toEqual({ sql: 'not-configured', agent: 'unauthenticated' });
  });

  it('a peer status URL without a token is a configuration error, not an open door', () => {
    expect(
      () =>
        new NetworkPeerProbe({
          peers: { B: { statusUrl: 'http://127.0.0.1:1' } },
          clock: realClock,
          timeoutMs: () => 2000,
        }),
    ).toThrow(/peer token/);
  });
});

const SPEC = parseSpec({
  sid: 'HA1',
  instanceNumber: '00',
  sites: [
    { name: 'A', host: 'hana-a' },
    { name: 'B', host: 'hana-b' },
  ],
  probes: { intervalSeconds: 0.2, timeoutSeconds: 0.5 },
  lease: { ttlSeconds: 2 },
});

function landscape(): SimLandscape {
  const model = new SimLandscape({
    sid: 'HA1',
    instanceNumber: '00',
    sites: SPEC.sites.map((s) => ({ name: s.name, host: s.host })),
    initialPrimary: 'A',
    mode: 'sync',
    operationMode: 'logreplay',
    logShippingTimeoutSeconds: SPEC.replication.logShippingTimeoutSeconds,
    clock: realClock,
    seed: 5,
    writesPerSecond: 20,
  });
  closers.push(() => model.dispose());
  return model;
}

function agent(
  model: SimLandscape,
  store: MemoryCoordination,
  site: string,
  peers: PeerProbe,
  events: AgentEvent[],
): Agent {
  const a = new Agent({
    cluster: 'hana.ha1',
    site,
    spec: () => SPEC,
    hana: new SimDirectPort(model.site(site)),
    coordination: store,
    clock: realClock,
    peers,
    onEvent: (e) => events.push(e),
    storeTimeoutMs: 500,
    actionTimeoutMs: 5000,
  });
  closers.push(() => a.stop());
  return a;
}

describe('a forged peer answer moves no safety rule', () => {
  it('failsafe: a primary cut from the store whose peer only a forged /status vouches for fences itself', async () => {
    const model = landscape();
    const store = new MemoryCoordination(realClock);
    closers.push(() => store.close());
    const forged = await forgedStatus('B');
    const probe = new NetworkPeerProbe({
      peers: { B: { statusUrl: forged } },
      peerToken: TOKEN,
      clock: realClock,
      timeoutMs: () => 500,
    });
    const events: AgentEvent[] = [];
    const a = agent(model, store, 'A', { check: (site, s) => probe.check(site, s) }, events);
    await a.start();
    await until('A to lead', () => events.find((e) => e.reason === 'leader_healthy'));
    store.cut('A', true);
    const fenced = await until('A to fence itself', () =>
      events.find((e) => e.event === 'action' && e.action === 'fence'),
    );
    expect(fenced.site).toBe('A');
    expect(events.some((e) => e.reason === 'failsafe_peers_healthy')).toBe(false);
    expect(model.writableSites()).toEqual([]);
  });

  it('takeover guard: a secondary does not promote while its former primary serves SQL and a forged /status calls it a secondary', async () => {
    const model = landscape();
    const store = new MemoryCoordination(realClock);
    closers.push(() => store.close());
    const sqlA = await startHanaWireServer({
      port: 0,
      user: USER,
      password: PASSWORD,
      snapshot: () => model.site('A').snapshot(),
    });
    closers.push(() => sqlA.close());
    const forged = await forgedStatus('A');
    const probeOfA = new NetworkPeerProbe({
      peers: { A: { sql: { host: '127.0.0.1', port: sqlA.port }, statusUrl: forged } },
      credentials: async () => ({ user: USER, password: PASSWORD }),
      peerToken: TOKEN,
      clock: realClock,
      timeoutMs: () => 500,
    });
    const events: AgentEvent[] = [];
    const a = agent(model, store, 'A', { check: (peer, s) => simPeerView(model, 'A', peer, s) }, events);
    const b = agent(model, store, 'B', { check: (peer, s) => probeOfA.check(peer, s) }, events);
    await a.start();
    await b.start();
    await until('A to lead with B in sync', () =>
      events.find((e) => e.site === 'A' && e.reason === 'leader_healthy'),
    );
    await new Promise((r) => setTimeout(r, 1000)); // a few SOK records
    // A's agent dies; its database does not. The lease runs out after the TTL (2 s).
    a.kill();
    const refused = await until(
      'B to refuse the takeover',
      () => events.find((e) => e.site === 'B' && e.reason === 'former_primary_still_serving'),
      10_000,
    );
    expect(refused.action).toBe('none');
    await new Promise((r) => setTimeout(r, 1500));
    expect(events.filter((e) => e.site === 'B' && e.action === 'takeover')).toEqual([]);
    expect(model.writableSites()).toEqual(['A']);
  });
});
