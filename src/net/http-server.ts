/**
 * The one small HTTP server of hanasr's own endpoints (agent status, operator health and metrics,
 * demo control, simulator control): plain node:http with deadlines on every request, a bounded
 * body (413 before or while reading), 400 for a body that is not JSON, optional authorization
 * before any route runs, errors answered as JSON without a stack, and the address really bound
 * (for the log line that says where it listens). The embedded Kubernetes API keeps its own server:
 * its errors are Kubernetes Status objects and its watches stream for minutes.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** An error that answers with its status and `{"error": message}` (the message is never a secret). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface HttpServerOptions {
  /** Bind address: 127.0.0.1 keeps it on this host, 0.0.0.0 every interface (a pod). */
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Answers one request; a thrown HttpError answers its status, anything else 500. */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
  /**
   * Runs before `handle`: null lets the request through, an HttpError refuses it (401, 403...).
   * The refused request's body is drained, so the client reads the answer, not a reset.
   */
  readonly authorize?: (req: IncomingMessage) => HttpError | null;
  /** Deadline of a whole request (default 5000 ms; 0: none, for requests a test holds open). */
  readonly requestTimeoutMs?: number;
  /** Deadline of the request headers (default 5000 ms). */
  readonly headersTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open (default 5000 ms). */
  readonly keepAliveTimeoutMs?: number;
}

export interface RunningHttpServer {
  readonly server: Server;
  readonly port: number;
  /** The address and port really bound, e.g. `0.0.0.0:8082` or `[::]:8082` (log it). */
  readonly address: string;
  /** A URL that reaches the server from this host (127.0.0.1 when bound to every interface). */
  readonly url: string;
  /** Stops listening and cuts open connections. */
  close(): Promise<void>;
}

export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const headersTimeout = options.headersTimeoutMs ?? 5000;
  // Node checks both deadlines on an interval (30 s by default): check often enough to keep them.
  const server = createServer({ connectionsCheckingInterval: Math.min(1000, headersTimeout) }, (req, res) => {
    const refused = options.authorize?.(req) ?? null;
    if (refused !== null) return answerError(req, res, refused);
    // Called at once, not on a later tick: an answer written synchronously goes out before the
    // parser reports trailing garbage on the same connection.
    try {
      const pending = options.handle(req, res);
      if (pending instanceof Promise) pending.catch((err: unknown) => answerError(req, res, err));
    } catch (err) {
      answerError(req, res, err);
    }
  });
  server.requestTimeout = options.requestTimeoutMs ?? 5000;
  server.headersTimeout = headersTimeout;
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  const local = host === '0.0.0.0' ? '127.0.0.1' : host === '[::]' ? '[::1]' : host;
  return {
    server,
    port: a.port,
    address: `${host}:${a.port}`,
    url: `http://${local}:${a.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function answerError(req: IncomingMessage, res: ServerResponse, err: unknown): void {
  // A refused request's body is read and dropped, so the client gets its answer, not a reset.
  if (!req.complete && req.readableFlowing === null) req.resume();
  if (err instanceof HttpError) {
    if (err.status === 413) res.setHeader('connection', 'close');
    return sendJson(res, err.status, { error: err.message });
  }
  sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) });
}

/** Sends `body` as JSON (nothing when an answer is already on its way). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  options: { readonly headers?: Readonly<Record<string, string>>; readonly head?: boolean } = {},
): void {
  sendText(res, status, JSON.stringify(body), 'application/json', options);
}

/** Sends a text body of the given type, uncached (nothing when an answer is already on its way). */
export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  type = 'text/plain; charset=utf-8',
  options: { readonly headers?: Readonly<Record<string, string>>; readonly head?: boolean } = {},
): void {
  if (res.headersSent) return;
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...options.headers,
  });
  res.end(options.head === true ? undefined : text);
}

/** The request body as text, at most `limit` bytes: HttpError 413 when it says or turns out larger. */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.reject(new HttpError(413, 'request body too large'));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new HttpError(413, 'request body too large'));
        req.pause();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The request body parsed as JSON: HttpError 413 when too large, 400 when it is not JSON. */
export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const text = await readBody(req, limit);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, 'the body is not JSON');
  }
}

/** The path of a request, without the query string. */
export function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0] ?? '/';
}

/** Resolves `work`, or rejects after `ms` (a collector or check that hangs never holds a request). */
export async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Answers with the registry in Prometheus' text format (500 when it cannot be collected within
 * 4 s: the registry answers from memory, the deadline only guards against a collector that hangs).
 */
export async function sendMetrics(
  res: ServerResponse,
  registry: Registry,
  options: { readonly head?: boolean; readonly filter?: (text: string) => string } = {},
): Promise<void> {
  let text: string;
  try {
    text = await within(4000, 'metrics', registry.metrics());
  } catch {
    return sendText(res, 500, 'metrics unavailable\n', undefined, options);
  }
  sendText(res, 200, options.filter?.(text) ?? text, registry.contentType, options);
}

/** A server's handler that serves only GET /metrics. */
export function metricsHandler(registry: Registry): HttpServerOptions['handle'] {
  return (req, res) =>
    pathOf(req) === '/metrics' ? sendMetrics(res, registry) : sendText(res, 404, 'not found\n');
}
