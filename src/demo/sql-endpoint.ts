/**
 * The demo's SQL endpoints: one HANA wire-protocol server per simulated site (each site's tables
 * in its log, so they replicate and follow takeovers), and a read-write endpoint that forwards
 * each new connection to the site the `<name>-rw` Service selects — what kube-proxy does for an
 * application that connects through the Service. While the Service selects no site, the endpoint
 * refuses connections (a Service without endpoints). Open connections stay where they went, as
 * with kube-proxy: the old primary's server closes them when that site stops or turns secondary.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, openSync, rmSync, writeSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { SimLandscape } from '../standins/hana-sim/model.js';
import { simSiteDatabase } from '../standins/hana-wire/database.js';
import { startHanaWireServer, type HanaWireServer } from '../standins/hana-wire/server.js';

const HOST = '127.0.0.1';

export interface SqlEndpoints {
  /** host:port of the read-write endpoint (the -rw Service). */
  readonly rw: string;
  /** host:port per site (what a host list names on VMs). */
  readonly sites: Readonly<Record<string, string>>;
  readonly user: string;
  /** File holding the password (mode 0600), never printed. */
  readonly passwordFile: string;
  /** The site the read-write endpoint forwards new connections to now. */
  target(): string | null;
  close(): Promise<void>;
}

/** Forwards each new connection to the port `target()` names; refuses while it names none. */
class Router {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private port = 0;
  private closed = false;
  private poll: NodeJS.Timeout | null = null;
  private transition: Promise<void> = Promise.resolve();

  constructor(private readonly target: () => number | null) {}

  async start(pollMs: number): Promise<number> {
    await this.listen();
    await this.reconcile();
    this.poll = setInterval(() => {
      this.transition = this.transition.then(() => this.reconcile()).catch(() => undefined);
    }, pollMs);
    this.poll.unref();
    return this.port;
  }

  private listen(): Promise<void> {
    const server = createServer((client) => this.forward(client));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: HOST, port: this.port, exclusive: true }, () => {
        server.off('error', reject);
        const address = server.address();
        if (address && typeof address === 'object') this.port = address.port;
        this.server = server;
        resolve();
      });
    });
  }

  private async reconcile(): Promise<void> {
    if (this.closed) return;
    const want = this.target() !== null;
    if (want && this.server === null) await this.listen();
    else if (!want && this.server !== null) {
      const server = this.server;
      this.server = null;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  private forward(client: Socket): void {
    const port = this.target();
    if (port === null || this.closed) {
      client.destroy();
      return;
    }
    const upstream = connect({ host: HOST, port });
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.setNoDelay(true);
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      s.on('close', () => {
        this.sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.poll) clearInterval(this.poll);
    await this.transition;
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export async function startSqlEndpoints(options: {
  readonly model: SimLandscape;
  /** The site the -rw Service selects now (null: none). */
  readonly rwSite: () => string | null;
  readonly passwordFile: string;
  readonly user?: string;
  readonly pollMs?: number;
}): Promise<SqlEndpoints> {
  const { model } = options;
  const user = options.user ?? 'APPUSER';
  const password = randomBytes(18).toString('base64url');
  // A new file of mode 0600 in the private state directory; never through a symlink.
  const fd = openSync(
    options.passwordFile,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    writeSync(fd, password + '\n');
  } finally {
    closeSync(fd);
  }
  const servers = new Map<string, HanaWireServer>();
  const cleanup = async () => {
    await Promise.all([...servers.values()].map((s) => s.close()));
    rmSync(options.passwordFile, { force: true });
  };
  try {
    for (const site of model.siteNames()) {
      servers.set(
        site,
        await startHanaWireServer({
          host: HOST,
          port: 0,
          user,
          password,
          snapshot: () => model.site(site).snapshot(),
          database: simSiteDatabase(model, site),
        }),
      );
    }
    const target = () => {
      const site = options.rwSite();
      return site === null ? null : (servers.get(site)?.port ?? null);
    };
    const router = new Router(target);
    const rwPort = await router.start(options.pollMs ?? 200);
    return {
      rw: `${HOST}:${rwPort}`,
      sites: Object.fromEntries([...servers].map(([site, s]) => [site, `${HOST}:${s.port}`])),
      user,
      passwordFile: options.passwordFile,
      target: () => options.rwSite(),
      close: async () => {
        await router.close();
        await cleanup();
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
