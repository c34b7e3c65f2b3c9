/**
 * Writes as kube-apiserver carries them out: field ownership (managedFields), server-side apply
 * with conflicts and force, fieldValidation, dryRun.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiextensionsV1Api } from '@kubernetes/client-node';
import { startFakeApiServer, type FakeApiServer } from '../../../src/standins/kube-api/index.js';
import { GROUP, VERSION, crdModel, widget, widgetCrd } from './support.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let server: FakeApiServer;
const base = `/apis/${GROUP}/${VERSION}/namespaces/default/widgets`;

beforeAll(async () => {
  server = await startFakeApiServer();
  await server
    .kubeConfig()
    .makeApiClient(ApiextensionsV1Api)
    .createCustomResourceDefinition({ body: crdModel(widgetCrd) });
});

afterAll(async () => {
  await server.close();
});

interface Answer {
  status: number;
  body: Obj;
  warnings: string[];
}

async function call(
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
  userAgent = 'tests/1.0',
): Promise<Answer> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { 'Content-Type': contentType, 'User-Agent': userAgent },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    signal: AbortSignal.timeout(5000),
  });
  const warning = res.headers.get('warning');
  return {
    status: res.status,
    body: (await res.json()) as Obj,
    warnings: warning === null ? [] : warning.split(/,\s*(?=299 )/),
  };
}

const applyAs = (manager: string, name: string, config: unknown, force = false) =>
  call(
    'PATCH',
    `${base}/${name}?fieldManager=${manager}${force ? '&force=true' : ''}`,
    config,
    'application/apply-patch+yaml',
  );

function managers(obj: Obj): Record<string, Obj> {
  const out: Record<string, Obj> = {};
  for (const e of obj['metadata']['managedFields'] as Obj[]) {
    out[`${e['manager']}/${e['operation']}${e['subresource'] ? `/${e['subresource']}` : ''}`] = e['fieldsV1'];
  }
  return out;
}

describe('managedFields', () => {
  it('records who set which fields on create, update and /status, and hands changed fields over', async () => {
    const created = await call(
      'POST',
      `${base}?fieldManager=creator`,
      widget('m1', { size: 2, color: 'green' }),
    );
    expect(created.status).toBe(201);
    expect(managers(created.body)).toEqual({
      'creator/Update': { 'f:spec': { '.': {}, 'f:size': {}, 'f:color': {} } },
    });
    expect(created.body['metadata']['managedFields'][0]).toMatchObject({
      apiVersion: `${GROUP}/${VERSION}`,
      fieldsType: 'FieldsV1',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
    // Without fieldManager the manager is the User-Agent's product.
    const patched = await call(
      'PATCH',
      `${base}/m1`,
      { metadata: { labels: { team: 'basis' } }, spec: { size: 3 } },
      'application/merge-patch+json',
      'hanasr-cli/0.1 (linux)',
    );
    expect(managers(patched.body)).toEqual({
      'creator/Update': { 'f:spec': { '.': {}, 'f:color': {} } },
      'hanasr-cli/Update': {
        'f:metadata': { 'f:labels': { '.': {}, 'f:team': {} } },
        'f:spec': { 'f:size': {} },
      },
    });
    const status = await call(
      'PATCH',
      `${base}/m1/status?fieldManager=operator`,
      { status: { phase: 'Ready' } },
      'application/merge-patch+json',
    );
    expect(managers(status.body)['operator/Update/status']).toEqual({
      'f:status': { '.': {}, 'f:phase': {} },
    });
    // A write that changes nothing changes nothing: no new resourceVersion, no new entry.
    const again = await call(
      'PATCH',
      `${base}/m1?fieldManager=other`,
      { spec: { size: 3 } },
      'application/merge-patch+json',
    );
    expect(again.body['metadata']['resourceVersion']).toBe(status.body['metadata']['resourceVersion']);
    expect(Object.keys(managers(again.body))).not.toContain('other/Update');
  });

  it('takes managedFields a request changes (kubectl moving client-side apply to server-side), [] clears them', async () => {
    const created = await call(
      'POST',
      `${base}?fieldManager=kubectl-client-side-apply`,
      widget('m2', { size: 1 }),
    );
    const entries = created.body['metadata']['managedFields'] as Obj[];
    const moved = [{ ...entries[0], manager: 'kubectl', operation: 'Apply' }];
    const patched = await call(
      'PATCH',
      `${base}/m2`,
      [
        { op: 'test', path: '/metadata/resourceVersion', value: created.body['metadata']['resourceVersion'] },
        { op: 'replace', path: '/metadata/managedFields', value: moved },
      ],
      'application/json-patch+json',
    );
    expect(Object.keys(managers(patched.body))).toEqual(['kubectl/Apply']);
    const cleared = await call(
      'PATCH',
      `${base}/m2`,
      { metadata: { managedFields: [] } },
      'application/merge-patch+json',
    );
    expect(cleared.body['metadata']['managedFields']).toBeUndefined();
  });
});

describe('server-side apply', () => {
  it('creates, then changes only what the configuration changes; an identical apply is a no-op', async () => {
    const first = await applyAs('gitops', 's1', widget('s1', { size: 2, parts: [{ name: 'a' }] }));
    expect(first.status).toBe(201);
    expect(first.body['spec']).toEqual({ size: 2, parts: [{ name: 'a' }], color: 'red' });
    expect(managers(first.body)).toEqual({
      'gitops/Apply': { 'f:spec': { '.': {}, 'f:size': {}, 'f:parts': {} } },
    });
    const same = await applyAs('gitops', 's1', widget('s1', { size: 2, parts: [{ name: 'a' }] }));
    expect(same.status).toBe(200);
    expect(same.body['metadata']['resourceVersion']).toBe(first.body['metadata']['resourceVersion']);
    // Dropping a field from the configuration removes it (nobody else owns it); color keeps its default.
    const second = await applyAs('gitops', 's1', widget('s1', { size: 4 }));
    expect(second.body['spec']).toEqual({ size: 4, color: 'red' });
    expect(second.body['metadata']['generation']).toBe(2);
  });

  it('refuses with 409 and FieldManagerConflict causes what another manager owns, unless forced', async () => {
    await applyAs('gitops', 's2', widget('s2', { size: 2, color: 'red' }));
    await call(
      'PATCH',
      `${base}/s2?fieldManager=dba`,
      { spec: { color: 'green' } },
      'application/merge-patch+json',
    );
    const refused = await applyAs('gitops', 's2', widget('s2', { size: 5, color: 'red' }));
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({
      kind: 'Status',
      reason: 'Conflict',
      message: `Apply failed with 1 conflict: conflict with "dba" using ${GROUP}/${VERSION}: .spec.color`,
      details: {
        name: 's2',
        group: GROUP,
        kind: 'widgets',
        causes: [
          {
            reason: 'FieldManagerConflict',
            message: `conflict with "dba" using ${GROUP}/${VERSION}`,
            field: '.spec.color',
          },
        ],
      },
    });
    // Setting the same value is no conflict: both own it.
    const shared = await applyAs('other', 's2', widget('s2', { color: 'green' }));
    expect(shared.status).toBe(200);
    const forced = await applyAs('gitops', 's2', widget('s2', { size: 5, color: 'red' }), true);
    expect(forced.status).toBe(200);
    expect(forced.body['spec']).toEqual({ size: 5, color: 'red' });
    expect(managers(forced.body)['dba/Update']).toBeUndefined();
    expect(JSON.stringify(managers(forced.body)['other/Apply'])).not.toContain('f:color');
    expect(managers(forced.body)['gitops/Apply']).toEqual({
      'f:spec': { '.': {}, 'f:size': {}, 'f:color': {} },
    });
  });

  it('keeps a field another manager still owns when the applier drops it', async () => {
    await applyAs('a', 's3', widget('s3', { size: 1, note: 'x' }));
    await applyAs('b', 's3', widget('s3', { note: 'x' }));
    const dropped = await applyAs('a', 's3', widget('s3', { size: 1 }));
    expect(dropped.body['spec']['note']).toBe('x');
  });

  it('needs a fieldManager, accepts YAML, and refuses force on other patches', async () => {
    const noManager = await call('PATCH', `${base}/s4`, widget('s4'), 'application/apply-patch+yaml');
    expect(noManager.status).toBe(422);
    expect(noManager.body['message']).toBe(
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );
    const yaml = `apiVersion: ${GROUP}/${VERSION}\nkind: Widget\nmetadata:\n  name: s4\nspec:\n  size: 3\n`;
    const created = await call('PATCH', `${base}/s4?fieldManager=yaml`, yaml, 'application/apply-patch+yaml');
    expect(created.status).toBe(201);
    expect(created.body['spec']['size']).toBe(3);
    const forced = await call(
      'PATCH',
      `${base}/s4?force=true`,
      { spec: { size: 4 } },
      'application/merge-patch+json',
    );
    expect(forced.status).toBe(422);
    expect(forced.body['message']).toContain('force: Forbidden: may not be specified for non-apply patch');
  });

  it('keeps status out of an apply to the main resource', async () => {
    const applied = await applyAs('gitops', 's5', {
      ...widget('s5', { size: 1 }),
      status: { phase: 'Fake' },
    });
    expect(applied.body['status']).toBeUndefined();
    expect(managers(applied.body)['gitops/Apply']).toEqual({ 'f:spec': { '.': {}, 'f:size': {} } });
  });
});

describe('fieldValidation', () => {
  const config = {
    ...widget('v1', { size: 1, colour: 'blue' }),
    metadata: { name: 'v1', labelz: { a: 'b' } },
  };

  it('Strict refuses unknown fields with 400, naming each', async () => {
    const res = await call('POST', `${base}?fieldValidation=Strict`, config);
    expect(res.status).toBe(400);
    expect(res.body['message']).toBe(
      'Widget in version "v1" cannot be handled as a Widget: strict decoding error: unknown field "metadata.labelz", unknown field "spec.colour"',
    );
    const patch = await call(
      'PATCH',
      `${base}/v1?fieldValidation=Strict&fieldManager=x`,
      config,
      'application/apply-patch+yaml',
    );
    expect(patch.status).toBe(400);
  });

  it('Warn (the default) drops them with a Warning header; Ignore drops them silently', async () => {
    const warned = await call('POST', base, config);
    expect(warned.status).toBe(201);
    expect(warned.warnings).toEqual([
      '299 - "unknown field \\"metadata.labelz\\""',
      '299 - "unknown field \\"spec.colour\\""',
    ]);
    expect(warned.body['spec']).toEqual({ size: 1, color: 'red' });
    const ignored = await call('POST', `${base}?fieldValidation=Ignore`, {
      ...config,
      metadata: { name: 'v2' },
    });
    expect(ignored.status).toBe(201);
    expect(ignored.warnings).toEqual([]);
  });

  it('checks the top-level fields of built-in kinds too', async () => {
    const res = await call('POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Strict', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c1' },
      data: { a: 'b' },
      dat: { c: 'd' },
    });
    expect(res.status).toBe(400);
    expect(res.body['message']).toContain('strict decoding error: unknown field "dat"');
    const bad = await call('POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Sometimes', {});
    expect(bad.status).toBe(422);
  });
});

describe('dryRun=All', () => {
  it('answers what a create, apply, patch or delete would do and stores nothing', async () => {
    const rv = server.resourceVersion();
    const created = await call('POST', `${base}?dryRun=All`, widget('d1', { size: 2 }));
    expect(created.status).toBe(201);
    expect(created.body['spec']).toEqual({ size: 2, color: 'red' });
    expect(created.body['metadata']['resourceVersion']).toBeUndefined();
    expect((await call('GET', `${base}/d1`)).status).toBe(404);
    const applied = await call(
      'PATCH',
      `${base}/d1?dryRun=All&fieldManager=x`,
      widget('d1'),
      'application/apply-patch+yaml',
    );
    expect(applied.status).toBe(201);
    expect(server.resourceVersion()).toBe(rv);

    await call('POST', base, widget('d2', { size: 2 }));
    const rv2 = server.resourceVersion();
    const patched = await call(
      'PATCH',
      `${base}/d2?dryRun=All`,
      { spec: { size: 9 } },
      'application/merge-patch+json',
    );
    expect(patched.body['spec']['size']).toBe(9);
    const deleted = await call('DELETE', `${base}/d2?dryRun=All`);
    expect(deleted.status).toBe(200);
    expect(server.resourceVersion()).toBe(rv2);
    expect((await call('GET', `${base}/d2`)).body['spec']['size']).toBe(2);
    expect((await call('POST', `${base}?dryRun=Some`, widget('d3'))).status).toBe(422);
  });
});
