/**
 * The simulator's command endpoint for the fake executables in ./bin: POST /run with
 * {"site": "...", "argv": ["hdbnsutil", "-sr_state"]} answers {"exitCode", "stdout", "stderr"}.
 * Loopback only. A frozen site never answers: the request stays open until the client gives up.
 */
import { HttpError, readJson, sendJson, startHttpServer } from '../../net/http-server.js';
import { executeSimCommand } from './commands.js';
import type { SimSiteControl } from './snapshot.js';

export interface SimControlServer {
  readonly url: string;
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;

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
  const server = await startHttpServer({
    host: '127.0.0.1',
    port: options.port ?? 0,
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 0, // a frozen site's request may stay open; close() ends it
    handle: async (req, res) => {
      if (req.method !== 'POST' || req.url !== '/run') throw new HttpError(404, 'POST /run only');
      const body = await readJson(req, MAX_BODY);
      const { site, argv } = (body ?? {}) as { site?: unknown; argv?: unknown };
      if (
        typeof site !== 'string' ||
        !Array.isArray(argv) ||
        argv.length === 0 ||
        !argv.every((a) => typeof a === 'string')
      ) {
        throw new HttpError(400, 'expected {"site": string, "argv": string[]}');
      }
      const control = controls.get(site);
      if (!control) throw new HttpError(404, `unknown site ${JSON.stringify(site)}`);
      await options.beforeRun?.(site, argv as string[]);
      const execution = executeSimCommand(control, argv as string[]);
      if (execution.kind === 'hang') return; // the client's deadline ends it; close() cuts it
      sendJson(res, 200, execution.result);
    },
  });
  return { url: server.url, close: () => server.close() };
}
