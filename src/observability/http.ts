/**
 * The small HTTP server of both runtimes (agent and operator): `/metrics` (Prometheus text),
 * `/healthz` (the loop is alive) and `/readyz` (caches synced, store reachable). Plain node:http,
 * a deadline on every request (a slow handler answers 503, a slow client is cut off), and GET/HEAD
 * only.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HttpResponse {
  readonly status: number;
  readonly body: string;
  readonly contentType?: string;
}

export type RouteHandler = (req: IncomingMessage) => HttpResponse | Promise<HttpResponse>;

export interface HttpServerOptions {
  /** Bind address (default 127.0.0.1; 0.0.0.0 in a pod). */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Exact paths (query strings ignored). */
  readonly routes: Readonly<Record<string, RouteHandler>>;
  /** Deadline of one request, handler included (default 5000 ms). */
  readonly requestTimeoutMs?: number;
}

export interface RunningHttpServer {
  readonly server: Server;
  readonly host: string;
  readonly port: number;
  /** http://host:port */
  readonly url: string;
  close(): Promise<void>;
}

export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const timeoutMs = options.requestTimeoutMs ?? 5000;
  const server = createServer((req, res) => void handle(req, res));
  server.requestTimeout = timeoutMs;
  server.headersTimeout = Math.min(timeoutMs, 60_000);
  server.keepAliveTimeout = 5000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const handler = options.routes[path];
    if (handler === undefined) return send(res, { status: 404, body: 'not found\n' });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, { status: 405, body: 'method not allowed\n' });
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<HttpResponse>((resolve) => {
      timer = setTimeout(
        () => resolve({ status: 503, body: `handler did not answer within ${timeoutMs} ms\n` }),
        timeoutMs,
      );
    });
    try {
      const answer = await Promise.race([Promise.resolve().then(() => handler(req)), deadline]);
      send(res, answer, req.method === 'HEAD');
    } catch (err) {
      send(res, { status: 500, body: `${err instanceof Error ? err.name : 'Error'}\n` });
    } finally {
      clearTimeout(timer);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    host,
    port: address.port,
    url: `http://${shown}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(res: ServerResponse, answer: HttpResponse, headOnly = false): void {
  if (res.headersSent) return;
  res.statusCode = answer.status;
  res.setHeader('Content-Type', answer.contentType ?? 'text/plain; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(headOnly ? undefined : answer.body);
}

/** `/metrics`: the registry in Prometheus' text format. */
export function metricsRoute(registry: Registry): RouteHandler {
  return async () => ({ status: 200, body: await registry.metrics(), contentType: registry.contentType });
}

/** A health check: ok, and why not. */
export interface HealthCheck {
  readonly ok: boolean;
  readonly message: string;
}

/** `/healthz` or `/readyz`: 200 "ok" while `check` holds, 503 with the reason otherwise. */
export function healthRoute(check: () => HealthCheck | Promise<HealthCheck>): RouteHandler {
  return async () => {
    const r = await check();
    return { status: r.ok ? 200 : 503, body: `${r.ok ? 'ok' : 'not ok'}: ${r.message}\n` };
  };
}

/**
 * A liveness check on a loop heartbeat: healthy while the loop's last iteration ended less than
 * `maxAgeMs` ago (`lastBeat()` in ms, null before the first).
 */
export function heartbeatCheck(
  lastBeat: () => number | null,
  maxAgeMs: number,
  now: () => number,
): () => HealthCheck {
  return () => {
    const at = lastBeat();
    if (at === null) return { ok: false, message: 'loop has not completed a cycle yet' };
    const age = now() - at;
    return age <= maxAgeMs
      ? { ok: true, message: `last cycle ${Math.round(age)} ms ago` }
      : { ok: false, message: `last cycle ${Math.round(age)} ms ago (limit ${maxAgeMs} ms)` };
  };
}
