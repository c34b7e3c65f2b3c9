/**
 * The running demo's control endpoint (127.0.0.1 only), so `hanasr demo --scenario` in another
 * terminal plays its faults against the landscape that `npm start` runs. Its address is written
 * to `<stateDir>/demo.json` while the demo runs.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { applyFault, resolveFault, rolesOf, type Roles } from '../sim/faults.js';
import { faultSchema, isSiteRole, type Fault } from '../sim/scenario.js';
import type { Demo } from './landscape.js';

export interface DemoState {
  readonly leader: string | null;
  readonly epoch: number;
  readonly writable: string[];
  readonly sites: string[];
  /** The overall replication status of the leader (UNKNOWN without one). */
  readonly replicationStatus: string;
  readonly lostCommittedWrites: number;
  readonly maxConcurrentWritable: number;
  readonly writeUnavailableSeconds: number;
  /** Who is primary and which site is its (in-sync) secondary, by the scenario rule. */
  readonly roles: Roles;
  /**
   * A leader that takes writes, every other site an ACTIVE secondary, and the agents agree (each
   * reports its site running; the leader's agent records its secondaries in sync): the state a
   * scenario starts from.
   */
  readonly settled: boolean;
}

export interface DemoFile {
  readonly controlUrl: string;
  readonly kubeconfig: string;
  readonly namespace: string;
  readonly name: string;
  readonly pid: number;
  /** The local etcd's client URL, when the demo runs one (`hanasr explain` reads it). */
  readonly etcd?: string;
  /** SQL endpoints (host:port) for applications: read-write and per site; the password in a file. */
  readonly sql?: {
    readonly rw: string;
    readonly sites: Readonly<Record<string, string>>;
    readonly user: string;
    readonly passwordFile: string;
  };
}

const STATE_FILE = 'demo.json';

export async function demoState(demo: Demo): Promise<DemoState> {
  const state = await demo.state();
  const leader = state?.leader?.site ?? null;
  const { model } = demo;
  const stats = model.stats(leader !== null && model.acceptsWrites(leader) ? leader : null);
  const incoming = new Map<string, string>();
  for (const site of model.siteNames())
    for (const link of model.site(site).snapshot().links) incoming.set(link.secondarySite, link.status);
  // Settled as the agents see it too: each reports a running site, and the leader's agent has
  // recorded every secondary of its own as in sync (what a takeover to it needs).
  const settled =
    leader !== null &&
    model.acceptsWrites(leader) &&
    model.siteNames().every((s) => {
      const report = state?.reports[s];
      if (!report?.health.probeOk || !report.health.running) return false;
      if (s === leader) return true;
      const fromLeader = model.site(s).snapshot().source?.site === leader;
      const record = state?.sync[s];
      const inSync = record?.state === 'SOK' && record.epoch === state?.leader?.epoch;
      return incoming.get(s) === 'ACTIVE' && (!fromLeader || inSync);
    });
  return {
    leader,
    epoch: state?.lastEpoch ?? 0,
    writable: demo.model.writableSites(),
    sites: demo.model.siteNames(),
    replicationStatus: leader !== null ? demo.model.overallReplicationStatus(leader) : 'UNKNOWN',
    lostCommittedWrites: stats.lostCommittedWrites,
    maxConcurrentWritable: stats.maxConcurrentWritable,
    writeUnavailableSeconds: Math.round(stats.writeUnavailableSeconds * 10) / 10,
    roles: rolesOf(model, leader),
    settled,
  };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage, limit = 16_384): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
      if (body.length > limit) reject(new Error('request body too large'));
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

/** Serves GET /state and POST /fault; writes demo.json; returns a stop function. */
export async function startControl(demo: Demo, stateDir: string): Promise<() => Promise<void>> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    void (async () => {
      try {
        if (path === '/state' && req.method === 'GET') return reply(res, 200, await demoState(demo));
        if (path === '/store' && req.method === 'GET') {
          // What the agents published (the demo's own cluster only), for `hanasr explain`.
          const asked = new URL(req.url ?? '/', 'http://x').searchParams.get('cluster');
          if (asked !== null && asked !== demo.clusterKey)
            return reply(res, 404, {
              error: `no cluster "${asked}" in this demo (it runs ${demo.clusterKey})`,
            });
          const state = await demo.state();
          if (state === null) return reply(res, 503, { error: 'the coordination store does not answer' });
          return reply(res, 200, state);
        }
        if (path === '/fault' && req.method === 'POST') {
          const parsed = faultSchema.safeParse(JSON.parse(await readBody(req)));
          if (!parsed.success)
            return reply(res, 400, { error: parsed.error.issues[0]?.message ?? 'invalid fault' });
          const asked: Fault = parsed.data;
          if (
            asked.site !== undefined &&
            !isSiteRole(asked.site) &&
            !demo.model.siteNames().includes(asked.site)
          ) {
            return reply(res, 400, { error: `unknown site "${asked.site}"` });
          }
          let fault: Fault;
          try {
            fault = await resolveFault(demo.target, asked);
          } catch (err) {
            return reply(res, 409, { error: err instanceof Error ? err.message : String(err) });
          }
          const role = fault.site !== asked.site ? ` (the ${asked.site})` : '';
          demo.note(
            `fault ${fault.action}${fault.site ? ` on ${fault.site}${role}` : ''} (from hanasr demo --scenario)`,
            fault.site ?? '*',
          );
          await applyFault(demo.target, fault);
          return reply(res, 200, { applied: fault.action, ...(fault.site ? { site: fault.site } : {}) });
        }
        return reply(res, 404, { error: 'GET /state, GET /store or POST /fault' });
      } catch (err) {
        return reply(res, 500, { error: err instanceof Error ? err.message : String(err) });
      }
    })();
  });
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const file: DemoFile = {
    controlUrl: `http://127.0.0.1:${port}`,
    kubeconfig: demo.kubeconfigPath,
    namespace: demo.namespace,
    name: demo.name,
    pid: process.pid,
    ...(demo.etcdEndpoint !== null ? { etcd: demo.etcdEndpoint } : {}),
    sql: {
      rw: demo.sql.rw,
      sites: demo.sql.sites,
      user: demo.sql.user,
      passwordFile: demo.sql.passwordFile,
    },
  };
  const path = join(stateDir, STATE_FILE);
  writeFileSync(path, JSON.stringify(file, null, 2) + '\n');
  return async () => {
    rmSync(path, { force: true });
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}

/** One JSON request to the control endpoint, with a deadline. */
export function controlCall<T>(
  url: string,
  method: 'GET' | 'POST',
  body?: unknown,
  timeoutMs = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      url,
      {
        method,
        timeout: timeoutMs,
        headers: payload
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
          : {},
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          try {
            const parsed = JSON.parse(text) as T & { error?: string };
            if ((res.statusCode ?? 500) >= 400) reject(new Error(parsed.error ?? `HTTP ${res.statusCode}`));
            else resolve(parsed);
          } catch {
            reject(new Error(`unreadable answer from ${url}`));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${url} did not answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** The running demo of this state directory, when there is one that answers. */
export async function findRunningDemo(stateDir: string): Promise<DemoFile | null> {
  const path = join(stateDir, STATE_FILE);
  if (!existsSync(path)) return null;
  try {
    const file = JSON.parse(readFileSync(path, 'utf8')) as DemoFile;
    await controlCall<DemoState>(`${file.controlUrl}/state`, 'GET', undefined, 1500);
    return file;
  } catch {
    return null;
  }
}
