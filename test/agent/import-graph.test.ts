/**
 * What `hanasr agent` loads (issue 14, agent memory): the agent runs on every HANA host, so its
 * module graph stays small. Loading the agent command's module must not pull in the Kubernetes
 * client (about 30 MB of heap once loaded), the YAML parser (only a spec file needs it, loaded
 * then), the operator, the simulator, the stand-ins or the demo. A child process records every module it
 * resolves (a resolve hook) while importing src/cli/commands/agent.ts through tsx.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function modulesLoadedBy(entry: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'hanasr-graph-'));
  const out = join(dir, 'modules.txt');
  try {
    const hook = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(${JSON.stringify(out)}, r.url + '\\n');
  return r;
}`;
    const script = `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));
await import(${JSON.stringify(pathToFileURL(join(ROOT, entry)).href)});`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    return readFileSync(out, 'utf8').split('\n').filter(Boolean);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the agent command module graph', () => {
  it('loads the agent, the store client and the rules, and no YAML parser, Kubernetes client, operator or simulator', () => {
    const urls = modulesLoadedBy('src/cli/commands/agent.ts');
    const ours = urls.filter((u) => u.includes('/src/')).map((u) => u.slice(u.indexOf('/src/') + 1));
    const packages = new Set(
      urls
        .filter((u) => u.includes('/node_modules/'))
        .map((u) => {
          const rest = u.slice(u.lastIndexOf('/node_modules/') + '/node_modules/'.length).split('/');
          return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
        }),
    );
    // It did load what an agent needs (the check sees the graph at all).
    expect(ours).toContain('src/agent/runtime.ts');
    expect(ours).toContain('src/domain/decide.ts');
    expect(packages).toContain('etcd3');
    // And nothing it does not.
    expect(
      [...packages].filter((p) => ['yaml', '@kubernetes/client-node', '@sap/hana-client'].includes(p)),
    ).toEqual([]);
    expect(
      ours.filter(
        (f) => /^src\/(operator|sim\/(?!site-clock)|standins|demo|kube)\b/.test(f) || f === 'src/index.ts',
      ),
    ).toEqual([]);
  }, 90_000);
});

describe('what a running agent loads', () => {
  it("checks a peer agent's /status without Node's fetch (undici and its WebAssembly parser: +2-7 MB RSS in the agent)", () => {
    const token = 'import-graph-peer-token-5566';
    // Node 24's node:http loads undici itself (Node 20's does not), so the modules the agent's code
    // and its check add are counted from after node:http was loaded (dynamic imports: a static one
    // would be loaded before the count), and fetch is watched as well: on Node 24 a fetch loads no
    // new module.
    const script = `import 'node:http';
const before = process.moduleLoadList.length;
let fetched = 0;
const realFetch = globalThis.fetch;
globalThis.fetch = (...args) => {
  fetched++;
  return realFetch(...args);
};
const { startStatusServer } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'src/agent/status-server.ts')).href)});
const { NetworkPeerProbe } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'src/agent/peer-probe.ts')).href)});
const { realClock } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'src/clock.ts')).href)});
const server = await startStatusServer({
  host: '127.0.0.1',
  port: 0,
  status: () => ({ hana: { role: 'secondary', source: 'A', running: true } }),
  healthz: () => ({ ok: true, message: 'ok' }),
  readyz: () => ({ ok: true, message: 'ok' }),
  peerToken: ${JSON.stringify(token)},
});
const probe = new NetworkPeerProbe({
  peers: { B: { statusUrl: server.url } },
  clock: realClock,
  timeoutMs: () => 5000,
  peerToken: ${JSON.stringify(token)},
});
const view = await probe.check('B', new AbortController().signal);
await server.close();
console.log(JSON.stringify({ view, fetched, undici: process.moduleLoadList.slice(before).filter((m) => m.includes('undici')) }));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      view: unknown;
      fetched: number;
      undici: string[];
    };
    // The check did reach the peer agent (a confirmed secondary), and Node's fetch stayed unloaded.
    expect(out.view).toMatchObject({ reachable: true, role: 'secondary', source: 'A' });
    expect(out.fetched).toBe(0);
    expect(out.undici).toEqual([]);
  }, 90_000);
});
