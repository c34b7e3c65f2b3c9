/**
 * The agent's HTTP endpoints:
 * - GET /status: the agent's latest report as JSON (its site's HANA role and health summary,
 *   epoch, leader, fenced, last decision, peers) — what peer agents read for their direct check.
 *   Authenticated with the shared peer token (peer-auth.ts): 401 without a valid Authorization
 *   header, and always 401 when the agent has no token. The answer to a HanasrHmac request
 *   carries the proof (X-Hanasr-Mac) the peer checks before it believes a word.
 * - GET /healthz: 200 while the loop runs (it ran within 3 probe intervals), else 503.
 * - GET /readyz: 200 once the agent has a spec and has reached the coordination store recently.
 * - GET /metrics: the agent's hanasr_ metrics in Prometheus' text format (when a registry is given).
 * /healthz, /readyz and /metrics are open: kubelet probes and Prometheus scrapes carry no token,
 * and none of them decides anything for a peer.
 *
 * Never a credential: every body is checked against the known secrets before it is sent.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { redact } from '../hana/sql/credentials.js';
import { pathOf, sendMetrics, sendText, startHttpServer } from '../net/http-server.js';
import { RESPONSE_MAC_HEADER, checkRequest, responseMac } from './peer-auth.js';

export interface HanaSummary {
  readonly role: 'primary' | 'secondary' | 'none';
  readonly source?: string;
  readonly running: boolean;
  readonly acceptsWrites: boolean;
  readonly suspended: boolean;
  readonly probeOk: boolean;
  readonly probeError?: string;
  readonly landscapeStatus: number | null;
  readonly overallReplicationStatus: string;
  readonly replication: readonly {
    readonly secondary: string;
    readonly status: string;
    readonly inSync: boolean;
    readonly lagSeconds: number | null;
    readonly lagBytes: number | null;
  }[];
}

export interface AgentStatus {
  readonly cluster: string;
  readonly site: string;
  readonly startedAt: string;
  /**
   * This host's clock when the page was built (ms since the Unix epoch): peers estimate their
   * skew from it (absent from older agents: no estimate).
   */
  readonly clock?: number;
  /** The last clock skew measured to each peer (offset and uncertainty in ms). */
  readonly clockSkew?: Readonly<
    Record<string, { offsetMs: number; uncertaintyMs: number; measuredAt: number }>
  >;
  /** The local HANA as last probed; null before the first probe. */
  readonly hana: HanaSummary | null;
  readonly failedProbes: number | null;
  readonly epoch: number | null;
  readonly leader: boolean;
  readonly fenced: boolean;
  readonly lastDecision: {
    readonly action: string;
    readonly reason: string;
    readonly message: string;
  } | null;
  /** ISO time the loop last started a cycle, null before the first. */
  readonly lastCycleAt: string | null;
  readonly store: { readonly reachable: boolean; readonly lastOkAt: string | null };
  /** Where the spec in force comes from. */
  readonly spec: { readonly source: 'store' | 'file' | 'none'; readonly maintenance: boolean | null };
  readonly peers: Readonly<Record<string, { reachable: boolean; acceptsWrites: boolean; role?: string }>>;
}

export interface Check {
  readonly ok: boolean;
  readonly message: string;
}

export interface StatusServerOptions {
  readonly host: string;
  readonly port: number;
  readonly status: () => AgentStatus;
  readonly healthz: () => Check;
  readonly readyz: () => Check;
  /** Values that must never leave the process (SQL and etcd passwords). */
  readonly secrets?: () => readonly string[];
  /** Served on GET /metrics (Prometheus text format). */
  readonly metrics?: Registry;
  /** The shared peer token; without it /status answers 401 to everyone. */
  readonly peerToken?: string;
}

export interface StatusServer {
  /** A URL to reach the server from this host (127.0.0.1 when bound to every interface). */
  readonly url: string;
  /** The address and port really bound, e.g. `0.0.0.0:8082` or `[::]:8082`. */
  readonly address: string;
  close(): Promise<void>;
}

export async function startStatusServer(options: StatusServerOptions): Promise<StatusServer> {
  const redacted = (text: string) => redact(text, options.secrets?.() ?? []);
  const send = (res: ServerResponse, status: number, body: unknown, head: boolean, headers = {}) =>
    sendText(res, status, redacted(JSON.stringify(body)), 'application/json', { head, headers });
  const sendStatus = (req: IncomingMessage, res: ServerResponse, head: boolean) => {
    const token = options.peerToken;
    const unauthorized = { 'www-authenticate': 'Bearer realm="hanasr-agent"' };
    if (token === undefined)
      return send(res, 401, { error: 'no peer token configured: /status is closed' }, head, unauthorized);
    const auth = checkRequest(token, req.headers.authorization, req.method ?? 'GET', '/status');
    if (!auth.ok)
      return send(res, 401, { error: 'a valid peer token is required for /status' }, head, unauthorized);
    const text = redacted(JSON.stringify(options.status()));
    const mac: Record<string, string> =
      auth.nonce !== undefined ? { [RESPONSE_MAC_HEADER]: responseMac(token, auth.nonce, 200, text) } : {};
    sendText(res, 200, text, 'application/json', { head, headers: mac });
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) return send(res, 405, { error: 'GET only' }, head);
    const path = pathOf(req);
    try {
      switch (path) {
        case '/status':
          return sendStatus(req, res, head);
        case '/metrics':
          if (options.metrics === undefined) break;
          return await sendMetrics(res, options.metrics, { head, filter: redacted });
        case '/healthz':
        case '/readyz': {
          const check = path === '/healthz' ? options.healthz() : options.readyz();
          return send(res, check.ok ? 200 : 503, check, head);
        }
      }
      return send(res, 404, { error: 'GET /status, /healthz, /readyz or /metrics' }, head);
    } catch (err) {
      return send(res, 500, { error: err instanceof Error ? err.message : String(err) }, head);
    }
  };
  const server = await startHttpServer({
    host: options.host,
    port: options.port,
    handle,
    headersTimeoutMs: 5000,
    requestTimeoutMs: 5000,
    keepAliveTimeoutMs: 1000,
  });
  return { url: server.url, address: server.address, close: () => server.close() };
}
