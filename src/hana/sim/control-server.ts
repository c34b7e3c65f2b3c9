/**
 * The simulator's command endpoint for the fake executables in ./bin: POST /run with
 * {"site": "...", "argv": ["hdbnsutil", "-sr_state"]} answers {"exitCode", "stdout", "stderr"}.
 * Loopback only. A frozen site never answers: the request stays open until the client gives up.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { executeSimCommand } from './commands.js';
import type { SimSiteControl } from './snapshot.js';

export interface SimControlServer {
  readonly url: string;
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('request too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startSimControlServer(
  controls: Map<string, SimSiteControl>,
  options: {
    port?: number;
    /**
     * Runs before a command is carried out (benches: note when a takeover was asked for, and let
     * it take as long as a real one); the command waits for it.
     */
    beforeRun?: (site: string, argv: readonly string[]) => Promise<void> | void;
  } = {},
): Promise<SimControlServer> {
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/run') return reply(res, 404, { error: 'POST /run only' });
    readBody(req).then(
      (text) => {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          return reply(res, 400, { error: 'body is not JSON' });
        }
        const { site, argv } = (body ?? {}) as { site?: unknown; argv?: unknown };
        if (
          typeof site !== 'string' ||
          !Array.isArray(argv) ||
          argv.length === 0 ||
          !argv.every((a) => typeof a === 'string')
        ) {
          return reply(res, 400, { error: 'expected {"site": string, "argv": string[]}' });
        }
        const control = controls.get(site);
        if (!control) return reply(res, 404, { error: `unknown site ${JSON.stringify(site)}` });
        const run = () => {
          try {
            const execution = executeSimCommand(control, argv as string[]);
            if (execution.kind === 'hang') return; // the client's deadline ends it; close() cuts it
            reply(res, 200, execution.result);
          } catch (err) {
            reply(res, 500, { error: err instanceof Error ? err.message : String(err) });
          }
        };
        if (options.beforeRun === undefined) return run();
        Promise.resolve(options.beforeRun(site, argv as string[])).then(run, (err: unknown) =>
          reply(res, 500, { error: err instanceof Error ? err.message : String(err) }),
        );
      },
      () => reply(res, 413, { error: 'request too large' }),
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 0; // a frozen site's request may stay open; close() ends it
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
