/**
 * The agent's direct look at its peer sites (not through the store), for two safety rules in
 * decide(): the failsafe (a primary cut from the store keeps running only if every peer is a
 * reachable secondary) and the takeover guard (no takeover while the former primary still
 * answers as a writable primary — its agent may be dead while its database is not).
 *
 * Two independent checks per peer, each with its own deadline:
 * - the peer's SQL port (HanaSqlProbe availability: a fresh connection, SELECT * FROM DUMMY);
 * - the peer agent's GET /status (its HANA role, source and whether it runs), authenticated
 *   both ways with the shared peer token (peer-auth.ts): an answer without a valid proof — a
 *   401, a forged or replayed proof, a server that is not the peer's agent — is 'unauthenticated'
 *   and counts as no answer at all (never a confirmed secondary).
 *
 * reachable = either answered (except an agent that answers that its own HANA is down while the
 * SQL port is silent: that site is not reachable, and never a confirmed secondary). role and
 * source come from the agent when it answered.
 * acceptsWrites comes ONLY from a SQL success on a peer that is primary-like (the agent did not
 * report it as a secondary): a secondary's SQL port is closed unless it runs with read access, so
 * a SQL answer without a word from the agent counts as writable — the safe side for the takeover
 * guard. A silent or refusing peer is never writable and never a confirmed secondary.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { anySignal, withTimeout, type Clock } from '../clock.js';
import type { PeerView } from '../domain/observation.js';
import type { HanaCredentials } from '../hana/sql/credentials.js';
import { HanaSqlProbe } from '../hana/sql/probe.js';
import type { PeerProbe } from './agent.js';
import type { PeerEndpoints } from './config.js';
import { RESPONSE_MAC_HEADER, authorizationHeader, checkResponse, newNonce } from './peer-auth.js';

/** What a peer agent's /status says about its site (the fields the probe reads). */
export interface PeerAgentStatus {
  readonly role: 'primary' | 'secondary' | 'none';
  readonly source?: string;
  readonly running: boolean;
  /** The peer agent's clock when it answered (ms), for the skew estimate. */
  readonly clock?: number;
}

export interface NetworkPeerProbeOptions {
  readonly peers: Readonly<Record<string, PeerEndpoints>>;
  /** SQL credentials (a loader, so a rotated Secret is picked up); required for SQL checks. */
  readonly credentials?: () => Promise<HanaCredentials>;
  readonly clock: Clock;
  /** Deadline of each check (read per call: the spec's probes.timeoutSeconds may change). */
  readonly timeoutMs: () => number;
  /** The shared peer token; required when a peer has a status URL. */
  readonly peerToken?: string;
}

/** Largest peer /status body read (a status is a few KiB). */
const MAX_STATUS_BYTES = 256 * 1024;

export type PeerCheckDetail = {
  /** writable: connected and SELECT * FROM DUMMY answered; silent: refused, timed out or failed. */
  readonly sql: 'writable' | 'silent' | 'not-configured';
  /** unauthenticated: it answered, but without proof that it is the peer's agent (unknown). */
  readonly agent: PeerAgentStatus | 'silent' | 'unauthenticated' | 'not-configured';
};

const ROLES = new Set(['primary', 'secondary', 'none']);

function parseAgentStatus(body: unknown): PeerAgentStatus | null {
  if (typeof body !== 'object' || body === null) return null;
  const hana = (body as { hana?: unknown }).hana;
  if (typeof hana !== 'object' || hana === null) return null;
  const h = hana as Record<string, unknown>;
  if (typeof h.role !== 'string' || !ROLES.has(h.role) || typeof h.running !== 'boolean') return null;
  const clock = (body as { clock?: unknown }).clock;
  return {
    role: h.role as PeerAgentStatus['role'],
    running: h.running,
    ...(typeof h.source === 'string' ? { source: h.source } : {}),
    ...(typeof clock === 'number' && Number.isFinite(clock) ? { clock } : {}),
  };
}

export class NetworkPeerProbe implements PeerProbe {
  private readonly sqlProbes = new Map<string, HanaSqlProbe>();

  constructor(private readonly options: NetworkPeerProbeOptions) {
    const unauthenticated = Object.entries(options.peers).filter(([, p]) => p.statusUrl !== undefined);
    if (unauthenticated.length > 0 && (options.peerToken ?? '') === '')
      throw new Error(
        `peer status checks of ${unauthenticated.map(([s]) => s).join(', ')} need the shared peer token`,
      );
  }

  async check(site: string, signal: AbortSignal): Promise<PeerView> {
    return viewOf(await this.detail(site, signal));
  }

  /** Both checks, for the status page and tests. */
  async detail(site: string, signal: AbortSignal): Promise<PeerCheckDetail> {
    const endpoints = this.options.peers[site];
    const [sql, agent] = await Promise.all([
      this.sqlCheck(site, endpoints, signal),
      this.agentCheck(endpoints, signal),
    ]);
    return { sql, agent };
  }

  private async sqlCheck(
    site: string,
    endpoints: PeerEndpoints | undefined,
    signal: AbortSignal,
  ): Promise<PeerCheckDetail['sql']> {
    const sql = endpoints?.sql;
    const credentials = this.options.credentials;
    if (!sql || !credentials) return 'not-configured';
    const timeoutMs = this.options.timeoutMs();
    let probe = this.sqlProbes.get(site);
    if (!probe) {
      probe = new HanaSqlProbe({
        host: sql.host,
        port: sql.port,
        credentials,
        timeoutMs,
        clock: this.options.clock,
      });
      this.sqlProbes.set(site, probe);
    }
    try {
      // HanaSqlProbe has its own deadline; this one also bounds a credentials loader that hangs.
      const result = await withTimeout(this.options.clock, timeoutMs, `SQL check of ${site}`, (deadline) =>
        probe.availability(anySignal([signal, deadline])),
      );
      return result.available ? 'writable' : 'silent';
    } catch {
      return 'silent';
    }
  }

  private async agentCheck(
    endpoints: PeerEndpoints | undefined,
    signal: AbortSignal,
  ): Promise<PeerCheckDetail['agent']> {
    const url = endpoints?.statusUrl;
    if (!url) return 'not-configured';
    const timeoutMs = this.options.timeoutMs();
    try {
      const token = this.options.peerToken!;
      return await withTimeout(this.options.clock, timeoutMs, 'peer agent status', async (deadline) => {
        const nonce = newNonce();
        const res = await httpGet(new URL('/status', url), anySignal([signal, deadline]), MAX_STATUS_BYTES, {
          accept: 'application/json',
          authorization: authorizationHeader(token, 'GET', '/status', nonce),
        });
        if (res.status === 401 || res.status === 403) return 'unauthenticated';
        // A redirect is followed nowhere: not the peer's answer.
        if (res.status < 200 || res.status > 299 || res.body === null) return 'silent';
        if (!checkResponse(token, nonce, res.status, res.body, res.mac)) return 'unauthenticated';
        return parseAgentStatus(JSON.parse(res.body)) ?? 'silent';
      });
    } catch {
      return 'silent';
    }
  }
}

/**
 * One GET over node:http(s), not fetch: Node's fetch loads undici and compiles its WebAssembly
 * HTTP parser on first use: +17-23 MB RSS in an idle process, 2-7 MB on top of the agent's modules
 * (bench/README.md, "Slow SQL probe and agent footprint").
 * Resolves with the status, the body (null when longer than `limit` bytes; the rest is not read)
 * and the peer's response MAC header; rejects on a socket error or when `signal` aborts.
 */
function httpGet(
  url: URL,
  signal: AbortSignal,
  limit: number,
  headers: Record<string, string>,
): Promise<{ status: number; body: string | null; mac: string | null }> {
  return new Promise((resolve, reject) => {
    const get = url.protocol === 'https:' ? httpsRequest : httpRequest;
    // A connection of its own each time (no keep-alive pool): a peer agent that restarted never
    // meets a half-dead socket from before, and a refused connect is a plain "silent".
    const req = get(url, { method: 'GET', headers, signal, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const mac = res.headers[RESPONSE_MAC_HEADER];
      const done = (body: string | null) =>
        resolve({ status: res.statusCode ?? 0, body, mac: typeof mac === 'string' ? mac : null });
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          req.destroy();
          done(null);
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => done(Buffer.concat(chunks).toString('utf8')));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The PeerView of both checks (pure; the rules of this file's header). */
export function viewOf(detail: PeerCheckDetail): PeerView {
  const agent = typeof detail.agent === 'object' ? detail.agent : null;
  const sqlAnswered = detail.sql === 'writable';
  if (!agent && !sqlAnswered) return { reachable: false, acceptsWrites: false };
  // A SQL success is writable unless the agent positively says its site is a secondary (a
  // read-access secondary answers SQL too).
  const acceptsWrites = sqlAnswered && agent?.role !== 'secondary';
  if (!agent) return { reachable: true, acceptsWrites };
  // An agent whose HANA is down answers, but its site is no running secondary: say so.
  if (!agent.running && !sqlAnswered) return { reachable: false, acceptsWrites: false };
  return {
    reachable: true,
    acceptsWrites,
    role: agent.role,
    running: agent.running,
    ...(agent.source !== undefined ? { source: agent.source } : {}),
    ...(agent.clock !== undefined ? { clock: agent.clock } : {}),
  };
}
