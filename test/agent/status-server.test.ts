/**
 * The status server on its own (routes, codes, redaction) and through a whole in-process runtime
 * (memory coordination, a simulated site behind the HanaPort): /status shows the agent's report,
 * /healthz and /readyz follow the loop and the store, the published spec wins over the file, and
 * no credential appears in /status or the log.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadAgentConfig } from '../../src/agent/config.js';
import { startAgentRuntime, type AgentRuntime } from '../../src/agent/runtime.js';
import { startStatusServer, type AgentStatus } from '../../src/agent/status-server.js';
import {
  RESPONSE_MAC_HEADER,
  authorizationHeader,
  checkResponse,
  newNonce,
} from '../../src/agent/peer-auth.js';
import { Registry } from 'prom-client';
import fc from 'fast-check';
import { request as httpRequest } from 'node:http';
import { realClock } from '../../src/clock.js';
import { MemoryCoordination } from '../../src/coordination/memory.js';
import { SimDirectPort } from '../../src/standins/hana-sim/direct-port.js';
import { SimLandscape } from '../../src/standins/hana-sim/model.js';
import { startHanaWireServer } from '../../src/standins/hana-wire/server.js';
import { PASSWORD, USER } from '../hana/wire/helpers.js';

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const TOKEN = 'status-test-token-0f3e2d1c';

async function get(
  url: string,
  token: string | null = TOKEN,
): Promise<{ status: number; body: unknown; text: string }> {
  const res = await fetch(url, {
    signal: AbortSignal.timeout(5000),
    ...(token !== null ? { headers: { authorization: `Bearer ${token}` } } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, text };
}

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  ms = 20_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('status server', () => {
  it('serves /status, /healthz and /readyz with their codes; 404 and 405 otherwise', async () => {
    let healthy = true;
    const server = await startStatusServer({
      host: '127.0.0.1',
      port: 0,
      status: () => ({ site: 'A' }) as unknown as AgentStatus,
      healthz: () => ({ ok: healthy, message: healthy ? 'fine' : 'stale' }),
      readyz: () => ({ ok: false, message: 'no spec yet' }),
      peerToken: TOKEN,
    });
    closers.push(() => server.close());
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await get(`${server.url}/status`)).toMatchObject({ status: 200, body: { site: 'A' } });
    expect(await get(`${server.url}/healthz`)).toMatchObject({ status: 200, body: { ok: true } });
    healthy = false;
    expect(await get(`${server.url}/healthz`)).toMatchObject({
      status: 503,
      body: { ok: false, message: 'stale' },
    });
    expect(await get(`${server.url}/readyz`)).toMatchObject({
      status: 503,
      body: { message: 'no spec yet' },
    });
    expect((await get(`${server.url}/nope`)).status).toBe(404);
    const post = await fetch(`${server.url}/status`, { method: 'POST', signal: AbortSignal.timeout(5000) });
    expect(post.status).toBe(405);
  });

  it('never sends a secret, wherever it hides in the report', async () => {
    const secret = 'Leaky-Secret-123';
    const server = await startStatusServer({
      host: '127.0.0.1',
      port: 0,
      status: () =>
        ({ site: 'A', lastDecision: { message: `connect with ${secret} failed` } }) as unknown as AgentStatus,
      healthz: () => ({ ok: true, message: secret }),
      readyz: () => ({ ok: true, message: 'ok' }),
      secrets: () => [secret],
      peerToken: TOKEN,
    });
    closers.push(() => server.close());
    for (const p of ['/status', '/healthz']) {
      const { text } = await get(`${server.url}${p}`);
      expect(text).toContain('***');
      expect(text).not.toContain(secret);
    }
  });
});

describe('status server authentication', () => {
  async function server(peerToken?: string) {
    const s = await startStatusServer({
      host: '127.0.0.1',
      port: 0,
      status: () => ({ site: 'A', hana: { role: 'secondary', running: true } }) as unknown as AgentStatus,
      healthz: () => ({ ok: true, message: 'fine' }),
      readyz: () => ({ ok: true, message: 'ready' }),
      metrics: new Registry(),
      ...(peerToken !== undefined ? { peerToken } : {}),
    });
    closers.push(() => s.close());
    return s;
  }

  it('/status needs the peer token; /healthz, /readyz and /metrics stay open', async () => {
    const s = await server(TOKEN);
    for (const token of [null, 'wrong-token-of-the-same-length', `${TOKEN}x`, TOKEN.slice(0, -1)]) {
      const r = await get(`${s.url}/status`, token);
      expect(r.status).toBe(401);
      expect(r.text).not.toContain('secondary');
    }
    expect(await get(`${s.url}/status`, TOKEN)).toMatchObject({ status: 200, body: { site: 'A' } });
    for (const p of ['/healthz', '/readyz']) expect((await get(`${s.url}${p}`, null)).status).toBe(200);
    const metrics = await fetch(`${s.url}/metrics`, { signal: AbortSignal.timeout(5000) });
    expect(metrics.status).toBe(200);
  });

  it('answers a HanasrHmac request with the proof of the body, and never sends the token', async () => {
    const s = await server(TOKEN);
    const nonce = newNonce();
    const res = await fetch(`${s.url}/status`, {
      signal: AbortSignal.timeout(5000),
      headers: { authorization: authorizationHeader(TOKEN, 'GET', '/status', nonce) },
    });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(checkResponse(TOKEN, nonce, 200, text, res.headers.get(RESPONSE_MAC_HEADER))).toBe(true);
    expect(checkResponse(TOKEN, newNonce(), 200, text, res.headers.get(RESPONSE_MAC_HEADER))).toBe(false);
    expect(JSON.stringify([...res.headers]) + text).not.toContain(TOKEN);
    // A proof made with another token, or for another path, is refused.
    for (const header of [
      authorizationHeader('another-token-0123456789', 'GET', '/status', nonce),
      authorizationHeader(TOKEN, 'GET', '/metrics', nonce),
    ]) {
      const r = await fetch(`${s.url}/status`, {
        signal: AbortSignal.timeout(5000),
        headers: { authorization: header },
      });
      expect(r.status).toBe(401);
      await r.text();
    }
  });

  it('without a peer token /status is closed to everyone', async () => {
    const s = await server();
    expect((await get(`${s.url}/status`, TOKEN)).status).toBe(401);
    expect((await get(`${s.url}/healthz`, null)).status).toBe(200);
  });

  it('fuzz: hostile requests never get /status without the token, and the server stays up (bounded)', async () => {
    const s = await server(TOKEN);
    const url = new URL(s.url);
    const raw = (method: string, p: string, headers: Record<string, string>, body: string) =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          { host: url.hostname, port: url.port, path: p, method, headers, timeout: 3000, agent: false },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', reject);
        req.end(method === 'GET' || method === 'HEAD' ? undefined : body);
      });
    const hex = (min: number, max: number) =>
      fc
        .array(fc.constantFrom(...'0123456789abcdef'), { minLength: min, maxLength: max })
        .map((cs) => cs.join(''));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'),
        fc.constantFrom('/status', '/status?x=1', '/healthz', '/metrics', '/', '/%2e%2e/status', '//status'),
        fc.oneof(
          fc.constant({}),
          fc
            .string({ maxLength: 80 })
            .map((v) => ({ authorization: `Bearer ${v.replace(/[^\x20-\x7e]/g, '')}` })),
          fc
            .tuple(hex(32, 40), hex(64, 64))
            .map(([n, m]) => ({ authorization: `HanasrHmac nonce="${n}", mac="${m}"` })),
        ),
        fc.string({ maxLength: 2000 }),
        async (method, p, headers, body) => {
          const status = await raw(method, p, headers, body);
          if (p.startsWith('/status')) expect([401, 405]).toContain(status);
          else expect([200, 404, 405]).toContain(status);
        },
      ),
      { numRuns: 80, interruptAfterTimeLimit: 15_000, seed: 15 },
    );
    expect((await get(`${s.url}/status`, TOKEN)).status).toBe(200);
  }, 30_000);

  it('reports the address it really bound', async () => {
    const s = await startStatusServer({
      host: '0.0.0.0',
      port: 0,
      status: () => ({}) as AgentStatus,
      healthz: () => ({ ok: true, message: 'fine' }),
      readyz: () => ({ ok: true, message: 'ready' }),
    });
    closers.push(() => s.close());
    expect(s.address).toMatch(/^0\.0\.0\.0:\d+$/);
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe('agent runtime in one process', () => {
  const SPEC = {
    sid: 'HA1',
    instanceNumber: '00',
    sites: [
      { name: 'A', host: 'hana-a' },
      { name: 'B', host: 'hana-b' },
    ],
    probes: { intervalSeconds: 0.2, timeoutSeconds: 1 },
    lease: { ttlSeconds: 2 },
  };

  async function rig() {
    const dir = mkdtempSync(path.join(tmpdir(), 'hanasr-agent-rt-'));
    const specFile = path.join(dir, 'spec.json');
    writeFileSync(specFile, JSON.stringify(SPEC));
    const tokenFile = path.join(dir, 'peer-token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const landscape = new SimLandscape({
      sid: 'HA1',
      instanceNumber: '00',
      sites: SPEC.sites,
      initialPrimary: 'A',
      mode: 'sync',
      operationMode: 'logreplay',
      logShippingTimeoutSeconds: 30,
      clock: realClock,
      seed: 5,
      writesPerSecond: 20,
    });
    closers.push(() => landscape.dispose());
    // B's SQL port (closed: B is a secondary) and a dead B agent: the runtime's peer probe runs for real.
    const sqlB = await startHanaWireServer({
      port: 0,
      user: USER,
      password: PASSWORD,
      snapshot: () => landscape.site('B').snapshot(),
    });
    closers.push(() => sqlB.close());
    const coordination = new MemoryCoordination(realClock);
    const lines: string[] = [];
    const config = loadAgentConfig(
      [
        '--cluster',
        'test.rt',
        '--site',
        'A',
        '--spec-file',
        specFile,
        '--spec-refresh-seconds',
        '1',
        '--coordination',
        'memory',
        '--status-host',
        '127.0.0.1',
        '--status-port',
        '0',
        '--peer-sql',
        `B=127.0.0.1:${sqlB.port}`,
        '--peer-token-file',
        tokenFile,
        '--log-level',
        'debug',
      ],
      { HANASR_SQL_USER: USER, HANASR_SQL_PASSWORD: PASSWORD },
    );
    const runtime: AgentRuntime = await startAgentRuntime(config, {
      coordination,
      env: { HANASR_SQL_USER: USER, HANASR_SQL_PASSWORD: PASSWORD },
      hana: () => new SimDirectPort(landscape.site('A')),
      write: (l) => lines.push(l),
    });
    closers.push(() => runtime.stop());
    return { runtime, coordination, lines, landscape };
  }

  it('shows the leader report on /status, is healthy and ready, and releases the key on stop', async () => {
    const { runtime, coordination, lines } = await rig();
    await runtime.started;
    const status = await until('A to lead', async () => {
      const s = (await get(`${runtime.statusUrl}/status`)).body as AgentStatus;
      return s.leader && s.hana?.role === 'primary' ? s : undefined;
    });
    expect(status).toMatchObject({
      cluster: 'test.rt',
      site: 'A',
      epoch: 1,
      leader: true,
      fenced: false,
      hana: { role: 'primary', running: true, acceptsWrites: true },
      spec: { source: 'file', maintenance: false },
      store: { reachable: true },
    });
    expect(status.lastDecision).not.toBeNull();
    // B's SQL port is closed and no agent URL is configured: B is not reachable.
    expect(status.peers.B).toEqual({ reachable: false, acceptsWrites: false });
    expect((await get(`${runtime.statusUrl}/healthz`)).status).toBe(200);
    expect((await get(`${runtime.statusUrl}/readyz`)).status).toBe(200);
    expect((await coordination.read('test.rt')).leader).toMatchObject({ site: 'A', epoch: 1 });

    await runtime.stop();
    // The lease was revoked: the leader key went with it.
    expect((await coordination.read('test.rt')).leader).toBeNull();
    await expect(
      fetch(`${runtime.statusUrl}/status`, { signal: AbortSignal.timeout(2000) }),
    ).rejects.toThrow();
    const log = lines.join('');
    expect(log).toContain('"message":"agent stopped"');
    expect(log).toContain('"decision":"acquire-leader"');
    expect(log).not.toContain(PASSWORD);
    expect(log).not.toContain(TOKEN);
    expect(log).toMatch(/"address":"127\.0\.0\.1:\d+"/);
    expect(JSON.stringify(status)).not.toContain(PASSWORD);
  });

  it('follows the published spec when it is valid, and falls back to the file when it is not', async () => {
    const { runtime, coordination, lines } = await rig();
    await runtime.started;
    await coordination.publishSpec('test.rt', { ...SPEC, maintenance: true });
    await until('the published spec', async () => {
      const s = (await get(`${runtime.statusUrl}/status`)).body as AgentStatus;
      return s.spec.source === 'store' && s.spec.maintenance === true ? s : undefined;
    });
    await until('a maintenance decision', () =>
      runtime.agent()?.lastDecision?.message.startsWith('maintenance mode') ? true : undefined,
    );
    // The report names the maintenance generation of the published spec it acts on (issue 12).
    const reported = async () => Object.values((await coordination.read('test.rt')).reports)[0];
    await until('a report of the published spec', async () => {
      const r = await reported();
      return r?.maintenance === true && r.maintenanceGeneration === 0 ? r : undefined;
    });
    await coordination.publishSpec('test.rt', { ...SPEC, lease: { ttlSeconds: 0 } });
    await until('the file spec again', async () => {
      const s = (await get(`${runtime.statusUrl}/status`)).body as AgentStatus;
      return s.spec.source === 'file' && s.spec.maintenance === false ? s : undefined;
    });
    // On its spec file it names no generation.
    await until('a report of the file spec', async () => {
      const r = await reported();
      return r?.maintenance === false && r.maintenanceGeneration === undefined ? r : undefined;
    });
    expect(lines.join('')).toContain('"message":"published spec ignored: invalid"');
    expect(lines.join('')).toContain('spec.lease.ttlSeconds');
  });
});
