/**
 * A tiny HTTP bridge between an agent in a child process and a SimLandscape hosted by the test
 * process (loopback only):
 *
 * - `POST /hana` `{site, op, args}` runs one HanaPort call (SimDirectPort) on that site and answers
 *   `{ok: true, value}` or `{ok: false, code, message}` (a HanaActionError on the client side).
 * - `POST /peer` `{from, site}` answers the PeerView `from` gets from a direct check of `site`,
 *   the same rule as the scenario runner's peer probe (src/sim/runner.ts).
 *
 * A frozen site never answers; the request stays open until the client's deadline aborts it.
 * The client side (HttpHanaPort, HttpPeerProbe) is what the child's Agent is wired with.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PeerProbe } from '../src/agent/agent.js';
import type { PeerView } from '../src/domain/observation.js';
import type { HanaHealth } from '../src/domain/types.js';
import {
  HanaActionError,
  whenSent,
  type HanaPort,
  type KillOptions,
  type RegisterOptions,
  type StopOptions,
} from '../src/hana/port.js';
import { realClock } from '../src/clock.js';
import { SimDirectPort } from '../src/standins/hana-sim/direct-port.js';
import type { SimLandscape } from '../src/standins/hana-sim/model.js';

export type HanaOp = 'probe' | 'takeover' | 'register' | 'start' | 'stop' | 'kill' | 'suspend';

export interface BridgeCall {
  readonly t: number;
  readonly site: string;
  readonly op: HanaOp;
}

export interface SimBridge {
  readonly url: string;
  /** Every HANA call served, in arrival order (probes included). */
  readonly calls: readonly BridgeCall[];
  close(): Promise<void>;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.writableEnded || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
    req.on('error', reject);
  });
}

function hang(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) =>
    signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
  );
}

/** The PeerView `from` gets by checking `site` directly (as in the scenario runner). */
export async function simPeerView(
  landscape: SimLandscape,
  from: string,
  site: string,
  signal: AbortSignal,
): Promise<PeerView> {
  const s = landscape.site(site).snapshot();
  if (!landscape.canReach(from, site) || !s.nodeUp || !s.running)
    return { reachable: false, acceptsWrites: false };
  if (s.frozen) return hang(signal);
  const role = s.srMode === 'primary' ? 'primary' : s.srMode === 'none' ? 'none' : 'secondary';
  return {
    reachable: true,
    acceptsWrites: landscape.acceptsWrites(site),
    role,
    running: s.running,
    ...(s.source ? { source: s.source.site } : {}),
  };
}

export async function startSimBridge(landscape: SimLandscape): Promise<SimBridge> {
  const ports = new Map<string, SimDirectPort>();
  const port = (site: string) => {
    let p = ports.get(site);
    if (!p) {
      p = new SimDirectPort(landscape.site(site));
      ports.set(site, p);
    }
    return p;
  };
  const calls: BridgeCall[] = [];

  const hanaCall = async (body: Record<string, unknown>, signal: AbortSignal): Promise<unknown> => {
    const site = String(body.site);
    const op = body.op as HanaOp;
    const args = (body.args ?? {}) as Record<string, unknown>;
    calls.push({ t: Date.now(), site, op });
    const p = port(site);
    switch (op) {
      case 'probe':
        return p.probe(signal);
      case 'takeover':
        return p.takeover({ handshake: args.handshake === true }, signal);
      case 'register':
        return p.register(args as unknown as RegisterOptions, signal);
      case 'start':
        return p.start(signal);
      case 'stop':
        return p.stop({ hard: args.hard === true }, signal);
      case 'kill':
        return p.kill(signal);
      case 'suspend':
        return p.suspend(signal);
      default:
        throw new HanaActionError('REFUSED', `unknown op ${JSON.stringify(op)}`);
    }
  };

  const server = createServer((req, res) => {
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    readBody(req)
      .then(async (raw) => {
        const body = (raw ?? {}) as Record<string, unknown>;
        if (req.method === 'POST' && req.url === '/hana') {
          const value = await hanaCall(body, controller.signal);
          return reply(res, 200, { ok: true, value: value ?? null });
        }
        if (req.method === 'POST' && req.url === '/peer') {
          const view = await simPeerView(landscape, String(body.from), String(body.site), controller.signal);
          return reply(res, 200, { ok: true, value: view });
        }
        return reply(res, 404, { ok: false, code: 'REFUSED', message: 'POST /hana or /peer only' });
      })
      .catch((err: unknown) => {
        const code = err instanceof HanaActionError ? err.code : 'COMMAND_FAILED';
        reply(res, 200, { ok: false, code, message: err instanceof Error ? err.message : String(err) });
      });
  });
  server.requestTimeout = 0; // a frozen site's request stays open; close() ends it
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port: tcpPort } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${tcpPort}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// --- client side ------------------------------------------------------------------------------

type Answer<T> =
  | { ok: true; value: T }
  | { ok: false; code: ConstructorParameters<typeof HanaActionError>[0]; message: string };

async function post<T>(url: string, body: unknown, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    throw new HanaActionError(
      'UNAVAILABLE',
      `bridge unreachable: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const answer = (await res.json()) as Answer<T>;
  if (!answer.ok) throw new HanaActionError(answer.code, answer.message);
  return answer.value;
}

/** A HanaPort of one simulated site, reached through the bridge. */
export class HttpHanaPort implements HanaPort {
  constructor(
    private readonly url: string,
    private readonly site: string,
  ) {}

  private call<T>(op: HanaOp, args: unknown, signal?: AbortSignal): Promise<T> {
    return post<T>(`${this.url}/hana`, { site: this.site, op, args }, signal);
  }

  probe(signal?: AbortSignal): Promise<HanaHealth> {
    return this.call('probe', {}, signal);
  }
  async takeover(options: { readonly handshake: boolean }, signal?: AbortSignal): Promise<void> {
    await this.call('takeover', options, signal);
  }
  async register(options: RegisterOptions, signal?: AbortSignal): Promise<void> {
    await this.call('register', options, signal);
  }
  async start(signal?: AbortSignal): Promise<void> {
    await this.call('start', {}, signal);
  }
  async stop(options: StopOptions, signal?: AbortSignal): Promise<void> {
    const call = () => this.call('stop', { hard: options.hard }, signal);
    await (options.hard ? whenSent(realClock, options.onSent, call) : call());
  }
  async kill(signal?: AbortSignal, options: KillOptions = {}): Promise<void> {
    await whenSent(realClock, options.onSent, () => this.call('kill', {}, signal));
  }
  async suspend(signal?: AbortSignal): Promise<void> {
    await this.call('suspend', {}, signal);
  }
}

/** The peer probe of site `from`, answered by the bridge. */
export class HttpPeerProbe implements PeerProbe {
  constructor(
    private readonly url: string,
    private readonly from: string,
  ) {}

  check(site: string, signal: AbortSignal): Promise<PeerView> {
    return post<PeerView>(`${this.url}/peer`, { from: this.from, site }, signal);
  }
}
