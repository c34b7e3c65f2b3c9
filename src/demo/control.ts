/**
 * The running demo's control endpoint (127.0.0.1 only), so `hanasr demo --scenario` in another
 * terminal plays its faults against the landscape that `npm start` runs. Its address and a fresh
 * random token are written to `<stateDir>/demo.json` (mode 0600, never through a symlink) while
 * the demo runs.
 *
 * Every request needs `Authorization: Bearer <token>`; a request with an Origin header (only
 * browsers send one) or a Host other than the loopback address is refused, and POST /fault takes
 * only `application/json` bodies of at most 16 KiB: a web page can neither read the state nor
 * crash the demo's primary with a cross-origin text/plain or form POST.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { safeEqual } from '../agent/peer-auth.js';
import { applyFault, resolveFault, rolesOf, type Roles } from '../sim/faults.js';
import { faultSchema, isSiteRole, type Fault } from '../sim/scenario.js';
import { HttpError, pathOf, readJson, sendJson, startHttpServer } from '../net/http-server.js';
import { checkPrivateDir, type Demo } from './landscape.js';

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
  /** Sent as `Authorization: Bearer <token>` on every control request. */
  readonly token: string;
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
const MAX_BODY_BYTES = 16 * 1024;

/** Creates `path` with `text` and mode 0600; fails if anything (a symlink too) is there already. */
export function writeNewPrivateFile(path: string, text: string): void {
  const fd = openSync(
    path,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

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

/** The media type of a Content-Type header, lower case, without parameters. */
function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Serves GET /state and POST /fault; writes demo.json; returns a stop function. */
export async function startControl(demo: Demo, stateDir: string): Promise<() => Promise<void>> {
  const token = randomBytes(32).toString('hex');
  let port = 0;
  // Only a local client that knows the token: never a browser (Origin), never a rebound name.
  const authorize = (req: IncomingMessage): HttpError | null => {
    if (req.headers.origin !== undefined) return new HttpError(403, 'cross-origin requests are refused');
    const host = (req.headers.host ?? '').toLowerCase();
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`)
      return new HttpError(403, 'unexpected Host');
    const authorization = req.headers.authorization ?? '';
    if (!authorization.startsWith('Bearer ') || !safeEqual(authorization.slice(7), token))
      return new HttpError(401, 'the token from demo.json is required');
    return null;
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = pathOf(req);
    if (path === '/state') {
      if (req.method !== 'GET') throw new HttpError(405, 'GET /state');
      return sendJson(res, 200, await demoState(demo));
    }
    if (path === '/store') {
      // What the agents published (the demo's own cluster only), for `hanasr explain`.
      if (req.method !== 'GET') throw new HttpError(405, 'GET /store');
      const asked = new URL(req.url ?? '/', 'http://x').searchParams.get('cluster');
      if (asked !== null && asked !== demo.clusterKey)
        throw new HttpError(404, `no cluster "${asked}" in this demo (it runs ${demo.clusterKey})`);
      const state = await demo.state();
      if (state === null) throw new HttpError(503, 'the coordination store does not answer');
      return sendJson(res, 200, state);
    }
    if (path !== '/fault') throw new HttpError(404, 'GET /state, GET /store or POST /fault');
    if (req.method !== 'POST') throw new HttpError(405, 'POST /fault');
    if (mediaType(req.headers['content-type']) !== 'application/json')
      throw new HttpError(415, 'POST /fault takes application/json only');
    const body = await readJson(req, MAX_BODY_BYTES);
    const parsed = faultSchema.safeParse(body);
    if (!parsed.success) throw new HttpError(400, parsed.error.issues[0]?.message ?? 'invalid fault');
    const asked: Fault = parsed.data;
    if (asked.site !== undefined && !isSiteRole(asked.site) && !demo.model.siteNames().includes(asked.site)) {
      throw new HttpError(400, `unknown site "${asked.site}"`);
    }
    if (asked.source !== undefined && !demo.model.siteNames().includes(asked.source)) {
      throw new HttpError(400, `unknown site "${asked.source}"`);
    }
    let fault: Fault;
    try {
      fault = await resolveFault(demo.target, asked);
    } catch (err) {
      throw new HttpError(409, err instanceof Error ? err.message : String(err));
    }
    const role = fault.site !== asked.site ? ` (the ${asked.site})` : '';
    demo.note(
      `fault ${fault.action}${fault.site ? ` on ${fault.site}${role}` : ''} (from hanasr demo --scenario)`,
      fault.site ?? '*',
    );
    await applyFault(demo.target, fault);
    return sendJson(res, 200, { applied: fault.action, ...(fault.site ? { site: fault.site } : {}) });
  };
  const server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    authorize,
    handle,
    requestTimeoutMs: 10_000,
    headersTimeoutMs: 5_000,
  });
  port = server.port;
  const file: DemoFile = {
    controlUrl: `http://127.0.0.1:${port}`,
    token,
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
  writeNewPrivateFile(path, JSON.stringify(file, null, 2) + '\n');
  return async () => {
    rmSync(path, { force: true });
    await server.close();
  };
}

/** One JSON request to the control endpoint, with a deadline. */
export function controlCall<T>(
  url: string,
  token: string,
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
        headers: {
          authorization: `Bearer ${token}`,
          ...(payload
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
            : {}),
        },
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

/**
 * The running demo of this state directory, when there is one that answers. Trusted only from a
 * private directory of ours and a regular demo.json of ours with mode 0600 (never a symlink).
 */
export async function findRunningDemo(stateDir: string): Promise<DemoFile | null> {
  try {
    checkPrivateDir(stateDir);
    const fd = openSync(join(stateDir, STATE_FILE), constants.O_RDONLY | constants.O_NOFOLLOW);
    let text: string;
    try {
      const info = fstatSync(fd);
      if (!info.isFile() || info.uid !== process.getuid?.() || (info.mode & 0o077) !== 0) return null;
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
    const file = JSON.parse(text) as DemoFile;
    if (typeof file.token !== 'string' || typeof file.controlUrl !== 'string') return null;
    await controlCall<DemoState>(`${file.controlUrl}/state`, file.token, 'GET', undefined, 1500);
    return file;
  } catch {
    return null;
  }
}
