/** OpenAPI v3 as kube-apiserver publishes it: the discovery document and one document per group/version. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiextensionsV1Api } from '@kubernetes/client-node';
import { startFakeApiServer, type FakeApiServer } from '../../../src/standins/kube-api/index.js';
import { GROUP, VERSION, crdModel, widgetCrd } from './support.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let server: FakeApiServer;

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

async function get(path: string): Promise<Response> {
  return fetch(`${server.url}${path}`, { redirect: 'manual', signal: AbortSignal.timeout(5000) });
}

async function discovery(): Promise<Record<string, { serverRelativeURL: string }>> {
  return ((await (await get('/openapi/v3')).json()) as Obj)['paths'];
}

describe('/openapi/v3', () => {
  it('lists one document per served group/version, each with a content hash', async () => {
    const paths = await discovery();
    expect(Object.keys(paths).sort()).toEqual([
      'api/v1',
      'apis/apiextensions.k8s.io/v1',
      'apis/coordination.k8s.io/v1',
      'apis/events.k8s.io/v1',
      `apis/${GROUP}/${VERSION}`,
    ]);
    expect(paths[`apis/${GROUP}/${VERSION}`]!.serverRelativeURL).toMatch(
      new RegExp(`^/openapi/v3/apis/${GROUP}/${VERSION}\\?hash=[0-9A-F]{128}$`),
    );
  });

  it('serves the document at its hash and redirects an outdated hash to the current one', async () => {
    const url = (await discovery())[`apis/${GROUP}/${VERSION}`]!.serverRelativeURL;
    const current = await get(url);
    expect(current.status).toBe(200);
    expect(current.headers.get('cache-control')).toBe('public, immutable');
    const stale = await get(`/openapi/v3/apis/${GROUP}/${VERSION}?hash=0123`);
    expect(stale.status).toBe(301);
    expect(stale.headers.get('location')).toBe(url);
    expect((await get('/openapi/v3/apis/nothing.example/v1')).status).toBe(404);
  });

  it("describes a CRD's kind with its schema, the group-version-kind, and PATCH with fieldValidation", async () => {
    const doc = (await (await get(`/openapi/v3/apis/${GROUP}/${VERSION}`)).json()) as Obj;
    const schemas = doc['components']['schemas'] as Obj;
    const widget = schemas['io.hanasr.example.v1.Widget'];
    expect(widget['x-kubernetes-group-version-kind']).toEqual([
      { group: GROUP, kind: 'Widget', version: VERSION },
    ]);
    expect(widget['properties']['spec']).toEqual(
      widgetCrd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec,
    );
    expect(widget['properties']['metadata']['allOf']).toEqual([
      { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' },
    ]);
    expect(schemas['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta']['properties']['labels']).toMatchObject({
      type: 'object',
      additionalProperties: { type: 'string' },
    });
    expect(schemas['io.hanasr.example.v1.WidgetList']['x-kubernetes-group-version-kind']).toEqual([
      { group: GROUP, kind: 'WidgetList', version: VERSION },
    ]);
    const item = doc['paths'][`/apis/${GROUP}/${VERSION}/namespaces/{namespace}/widgets/{name}`];
    expect(item['patch']['x-kubernetes-group-version-kind']).toEqual({
      group: GROUP,
      kind: 'Widget',
      version: VERSION,
    });
    expect((item['patch']['parameters'] as Obj[]).map((p) => p['name'])).toEqual(
      expect.arrayContaining(['fieldValidation', 'fieldManager', 'force', 'dryRun']),
    );
    expect(Object.keys(item['patch']['requestBody']['content'])).toEqual([
      'application/json-patch+json',
      'application/merge-patch+json',
      'application/apply-patch+yaml',
    ]);
    expect(
      doc['paths'][`/apis/${GROUP}/${VERSION}/namespaces/{namespace}/widgets/{name}/status`],
    ).toBeDefined();
    expect(doc['paths'][`/apis/${GROUP}/${VERSION}/widgets`]['get']['x-kubernetes-action']).toBe('list');
  });

  it('describes the built-in kinds it serves by their top-level fields', async () => {
    const doc = (await (await get('/openapi/v3/api/v1')).json()) as Obj;
    const event = doc['components']['schemas']['io.k8s.api.core.v1.Event'];
    expect(Object.keys(event['properties'])).toEqual(
      expect.arrayContaining(['involvedObject', 'reason', 'message', 'type', 'count', 'metadata']),
    );
    expect(event['x-kubernetes-group-version-kind']).toEqual([{ group: '', kind: 'Event', version: 'v1' }]);
    expect(doc['paths']['/api/v1/namespaces/{name}']['patch']['requestBody']['content']).toHaveProperty(
      'application/strategic-merge-patch+json',
    );
  });

  it('follows the CRDs: a deleted CRD leaves the discovery', async () => {
    const api = server.kubeConfig().makeApiClient(ApiextensionsV1Api);
    const other = structuredClone(widgetCrd);
    other.metadata.name = `gadgets.${GROUP}`;
    other.spec.names = { plural: 'gadgets', singular: 'gadget', kind: 'Gadget', shortNames: [] };
    other.spec.versions[0]!.name = 'v2';
    await api.createCustomResourceDefinition({ body: crdModel(other) });
    expect(Object.keys(await discovery())).toContain(`apis/${GROUP}/v2`);
    await api.deleteCustomResourceDefinition({ name: `gadgets.${GROUP}` });
    expect(Object.keys(await discovery())).not.toContain(`apis/${GROUP}/v2`);
  });
});
