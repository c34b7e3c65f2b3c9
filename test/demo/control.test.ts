/**
 * The demo's control endpoint and state directory against a hostile local user or web page:
 * - POST /fault needs the token from demo.json (mode 0600) and a JSON body: a cross-origin
 *   text/plain or form POST (what any web page can send without a preflight) is refused and the
 *   primary keeps running;
 * - the state directory is created fresh with mode 0700 and symbolic links are never followed:
 *   a planted symlink in place of the directory or inside an old one is refused or removed, and
 *   its target is untouched.
 * Hostile requests are fuzzed (bounded); the endpoint keeps answering.
 */
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRunningDemo, startControl, type DemoFile } from '../../src/demo/control.js';
import { prepareStateDir, startDemo, type Demo } from '../../src/demo/landscape.js';

const MANIFEST = {
  apiVersion: 'hanasr.io/v1alpha1',
  kind: 'HanaSystemReplication',
  metadata: { name: 'ha1', namespace: 'hana' },
  spec: {
    sid: 'HA1',
    instanceNumber: '00',
    sites: [
      { name: 'A', host: 'hana-a' },
      { name: 'B', host: 'hana-b' },
    ],
  },
};

const root = mkdtempSync(path.join(tmpdir(), 'hanasr-demo-control-'));
let demo: Demo;
let stopControl: () => Promise<void>;
let file: DemoFile;
const stateDir = path.join(root, 'state');

beforeAll(async () => {
  demo = await startDemo({ manifest: MANIFEST, stateDir, coordination: 'memory', startSeconds: 1 });
  stopControl = await startControl(demo, stateDir);
  file = JSON.parse(readFileSync(path.join(stateDir, 'demo.json'), 'utf8')) as DemoFile;
}, 60_000);

afterAll(async () => {
  await stopControl?.();
  await demo?.stop();
  rmSync(root, { recursive: true, force: true });
}, 60_000);

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** A raw HTTP request with exactly these headers (no client adds its own content type). */
function send(
  method: string,
  p: string,
  headers: Record<string, string>,
  body?: string | Buffer,
  timeoutMs = 5000,
): Promise<Answer> {
  const url = new URL(file.controlUrl);
  return new Promise((resolve, reject) => {
    const options = {
      host: url.hostname,
      port: url.port,
      path: p,
      method,
      headers,
      timeout: timeoutMs,
      agent: false,
    };
    const req = request(options, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

const auth = () => ({ authorization: `Bearer ${file.token}` });
const crash = JSON.stringify({ atSeconds: 0, action: 'crash-instance', site: 'A' });

describe('demo control endpoint', () => {
  it('writes demo.json with mode 0600 and a token', () => {
    const info = statSync(path.join(stateDir, 'demo.json'));
    expect(info.mode & 0o777).toBe(0o600);
    expect(file.token).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
  });

  it('refuses what a web page can send: text/plain, forms, no token, a foreign Origin; the primary keeps running', async () => {
    const attempts: [Record<string, string>, number][] = [
      [{ 'content-type': 'text/plain' }, 401],
      [{ 'content-type': 'text/plain', ...auth() }, 415],
      [{ 'content-type': 'application/x-www-form-urlencoded', ...auth() }, 415],
      [{ 'content-type': 'multipart/form-data; boundary=x', ...auth() }, 415],
      [{ 'content-type': 'application/json' }, 401],
      [{ 'content-type': 'application/json', authorization: 'Bearer 00' }, 401],
      [{ 'content-type': 'application/json', origin: 'https://evil.example', ...auth() }, 403],
      [{ 'content-type': 'application/json', host: 'evil.example', ...auth() }, 403],
    ];
    for (const [headers, status] of attempts) {
      const r = await send('POST', '/fault', headers, crash);
      expect(r.status, JSON.stringify(headers)).toBe(status);
    }
    expect((await send('OPTIONS', '/fault', { origin: 'https://evil.example' })).status).toBe(403);
    expect((await send('GET', '/state', {})).status).toBe(401);
    expect(demo.model.writableSites()).toEqual(['A']);
  });

  it('refuses bodies over the limit and bad JSON with 4xx, and stays up', async () => {
    const big = Buffer.alloc(64 * 1024, 0x20);
    const r = await send('POST', '/fault', { 'content-type': 'application/json', ...auth() }, big);
    expect(r.status).toBe(413);
    const bad = await send('POST', '/fault', { 'content-type': 'application/json', ...auth() }, '{"at');
    expect(bad.status).toBe(400);
    expect((await send('GET', '/state', auth())).status).toBe(200);
  });

  it('fuzz: hostile requests never apply a fault and never take the endpoint down (bounded)', async () => {
    const header = fc.constantFrom(
      {},
      { 'content-type': 'text/plain' },
      { 'content-type': 'application/json' },
      { 'content-type': 'application/json; charset=utf-8' },
      { 'content-type': 'application/jsonx' },
      { origin: 'null' },
      { authorization: 'Bearer ' },
      { authorization: 'Basic Zm9vOmJhcg==' },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'),
        fc.constantFrom('/fault', '/state', '/', '/fault?x=1', '/../etc/passwd', '//fault'),
        header,
        fc.oneof(fc.string({ maxLength: 300 }), fc.constant(crash)),
        async (method, p, headers, body) => {
          const r = await send(method, p, headers, method === 'GET' ? undefined : body);
          // Nothing in this space carries the token: every answer is a refusal.
          expect([400, 401, 403, 404, 405, 413, 415]).toContain(r.status);
        },
      ),
      { numRuns: 80, interruptAfterTimeLimit: 15_000, seed: 18 },
    );
    expect(demo.model.writableSites()).toEqual(['A']);
    expect((await send('GET', '/state', auth())).status).toBe(200);
  }, 30_000);

  it('with the token and a JSON body the fault is applied', async () => {
    const r = await send(
      'POST',
      '/fault',
      { 'content-type': 'application/json; charset=utf-8', ...auth() },
      JSON.stringify({ atSeconds: 0, action: 'slow-replication', site: 'B', factor: 2 }),
    );
    expect(r).toMatchObject({ status: 200 });
    expect(await findRunningDemo(stateDir)).toMatchObject({ controlUrl: file.controlUrl, token: file.token });
  });
});

describe('demo state directory', () => {
  it('refuses a planted symbolic link in place of the state directory and leaves its target alone', () => {
    const victim = mkdtempSync(path.join(root, 'victim-'));
    writeFileSync(path.join(victim, 'kubeconfig'), 'precious\n');
    const planted = path.join(root, 'planted');
    symlinkSync(victim, planted);
    expect(() => prepareStateDir(planted)).toThrow(/symbolic link/);
    expect(readFileSync(path.join(victim, 'kubeconfig'), 'utf8')).toBe('precious\n');
    expect(lstatSync(planted).isSymbolicLink()).toBe(true);
  });

  it('refuses a directory it did not make, and one with open permissions', () => {
    const foreign = path.join(root, 'foreign');
    mkdirSync(foreign, { mode: 0o700 });
    writeFileSync(path.join(foreign, 'notes.txt'), 'mine\n');
    expect(() => prepareStateDir(foreign)).toThrow(/not made by hanasr demo/);
    expect(readFileSync(path.join(foreign, 'notes.txt'), 'utf8')).toBe('mine\n');
    const open = path.join(root, 'open');
    mkdirSync(open, { mode: 0o755 });
    chmodSync(open, 0o755);
    expect(() => prepareStateDir(open)).toThrow(/open to group or others/);
  });

  it('makes an old demo directory fresh: a symlink planted inside is removed, never followed', () => {
    const dir = path.join(root, 'old-demo');
    prepareStateDir(dir);
    const victim = path.join(root, 'victim-file');
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, path.join(dir, 'operator.log'));
    prepareStateDir(dir);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(() => lstatSync(path.join(dir, 'operator.log'))).toThrow();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('does not trust a demo.json that is a symlink or readable by others', async () => {
    const dir = path.join(root, 'fake-running');
    prepareStateDir(dir);
    const fake = path.join(root, 'fake-demo.json');
    writeFileSync(fake, JSON.stringify(file), { mode: 0o644 });
    symlinkSync(fake, path.join(dir, 'demo.json'));
    expect(await findRunningDemo(dir)).toBeNull();
  });
});
