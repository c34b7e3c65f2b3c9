/**
 * A TCP proxy on 127.0.0.1 between one client and one upstream (an etcd member) that a test or
 * the demo landscape can cut, to partition one agent from the store while the others still
 * reach it.
 *
 * Modes:
 * - `pass`: forwards bytes both ways.
 * - `cut`: drops every open connection and refuses new ones (the listener closes).
 * - `blackhole`: keeps connections open and accepts new ones but forwards nothing, either way
 *   (a silent network: the client learns nothing until its own deadlines fire).
 * - `slow`: forwards every chunk, either way, after a delay (a slow link); bytes keep their order,
 *   also while the delay changes or the link heals.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

const HOST = '127.0.0.1';

export type ProxyMode = 'pass' | 'cut' | 'blackhole' | 'slow';

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
}

export class TcpProxy {
  private server: Server | null = null;
  private readonly pairs = new Set<Pair>();
  private current: ProxyMode = 'pass';
  private boundPort = 0;
  private delayMs = 0;
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly upstreamHost: string,
    private readonly upstreamPort: number,
  ) {}

  /** Starts a proxy to `upstream` (`http://127.0.0.1:2379` or `127.0.0.1:2379`). */
  static async start(upstream: string): Promise<TcpProxy> {
    const url = new URL(upstream.includes('://') ? upstream : `tcp://${upstream}`);
    const proxy = new TcpProxy(url.hostname, Number(url.port));
    await proxy.listen(0);
    return proxy;
  }

  get port(): number {
    return this.boundPort;
  }

  /** The endpoint a client should use instead of the upstream's. */
  get endpoint(): string {
    return `http://${HOST}:${this.boundPort}`;
  }

  get mode(): ProxyMode {
    return this.current;
  }

  get openConnections(): number {
    return this.pairs.size;
  }

  /** Drops all connections and refuses new ones until `heal()`. */
  async cut(): Promise<void> {
    this.current = 'cut';
    for (const pair of this.pairs) this.drop(pair);
    await this.closeListener();
  }

  /** Accepts and holds connections but forwards nothing until `heal()`. */
  blackhole(): void {
    this.current = 'blackhole';
  }

  /** Forwards every chunk `delayMs` late, each way, until `heal()` (or another mode). */
  slow(delayMs: number): void {
    if (!Number.isFinite(delayMs) || delayMs < 0) throw new RangeError(`delay must be >= 0, got ${delayMs}`);
    this.current = 'slow';
    this.delayMs = delayMs;
  }

  /** Forwards again (re-listens on the same port after a cut). */
  async heal(): Promise<void> {
    const wasCut = this.current === 'cut';
    this.current = 'pass';
    this.delayMs = 0;
    if (wasCut || !this.server) await this.listen(this.boundPort);
  }

  async close(): Promise<void> {
    this.current = 'cut';
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const pair of this.pairs) this.drop(pair);
    await this.closeListener();
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = createServer((client) => this.accept(client));
      server.once('error', reject);
      server.listen(port, HOST, () => {
        server.off('error', reject);
        const address = server.address();
        if (address && typeof address === 'object') this.boundPort = address.port;
        this.server = server;
        resolve();
      });
    });
  }

  private closeListener(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.current === 'cut') {
      client.destroy();
      return;
    }
    const upstream = connect(this.upstreamPort, this.upstreamHost);
    const pair: Pair = { client, upstream };
    this.pairs.add(pair);
    const forward = (to: Socket) => {
      // When the last delayed chunk of this direction goes out: later chunks never overtake it.
      let lastDue = 0;
      return (chunk: Buffer) => {
        if (this.current === 'blackhole' || this.current === 'cut') return; // the bytes vanish
        const now = Date.now();
        const due = Math.max(now + (this.current === 'slow' ? this.delayMs : 0), lastDue);
        if (due <= now) {
          if (!to.destroyed) to.write(chunk);
          return;
        }
        lastDue = due;
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          if (!to.destroyed && this.current !== 'cut') to.write(chunk);
        }, due - now);
        this.timers.add(timer);
      };
    };
    client.on('data', forward(upstream));
    upstream.on('data', forward(client));
    const end = () => this.drop(pair);
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  }

  private drop(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    pair.client.destroy();
    pair.upstream.destroy();
  }
}
