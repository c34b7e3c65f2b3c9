import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { parse } from 'yaml';
import { startFakeApiServer, type FakeApiServer } from '../../../src/standins/kube-api/index.js';
import { crdModel, failure } from './support.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const CRD_PATH = new URL(
  '../../../charts/hanasr/crds/hanasr.io_hanasystemreplications.yaml',
  import.meta.url,
);
const EXAMPLE_PATH = new URL('../../../examples/hsr.yaml', import.meta.url);
const ref = { group: 'hanasr.io', version: 'v1alpha1', namespace: 'hana', plural: 'hanasystemreplications' };

let server: FakeApiServer;
let custom: CustomObjectsApi;

beforeAll(async () => {
  server = await startFakeApiServer();
  const kc = server.kubeConfig();
  custom = kc.makeApiClient(CustomObjectsApi);
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: 'hana' } } });
  await kc
    .makeApiClient(ApiextensionsV1Api)
    .createCustomResourceDefinition({ body: crdModel(parse(readFileSync(CRD_PATH, 'utf8'))) });
});

afterAll(async () => {
  await server.close();
});

function example(): Obj {
  return parse(readFileSync(EXAMPLE_PATH, 'utf8')) as Obj;
}

describe('the generated HanaSystemReplication CRD', () => {
  it('is served under its short name in discovery', async () => {
    const res = await fetch(`${server.url}/apis/hanasr.io/v1alpha1`, { signal: AbortSignal.timeout(2000) });
    const list = (await res.json()) as Obj;
    expect(list['resources']).toContainEqual(
      expect.objectContaining({ name: 'hanasystemreplications', shortNames: ['hsr'] }),
    );
    expect(list['resources']).toContainEqual(
      expect.objectContaining({ name: 'hanasystemreplications/status' }),
    );
  });

  it('accepts examples/hsr.yaml unchanged', async () => {
    const body = example();
    const created = (await custom.createNamespacedCustomObject({ ...ref, body })) as Obj;
    expect(created['spec']['sid']).toBe(body['spec']['sid']);
    expect(created['spec']['sites']).toHaveLength(body['spec']['sites'].length);
    const status = (await custom.patchNamespacedCustomObjectStatus(
      { ...ref, name: created['metadata']['name'], body: { status: { observedGeneration: 1 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as Obj;
    expect(status['status']['observedGeneration']).toBe(1);
  });

  it('rejects an invalid manifest naming the fields', async () => {
    const body = example();
    body['metadata']['name'] = 'broken';
    body['spec']['sid'] = 'ha1';
    body['spec']['sites'][0]['name'] = '1bad';
    const res = await failure(custom.createNamespacedCustomObject({ ...ref, body }));
    expect(res.code).toBe(422);
    expect(res.body['message']).toMatch(/^HanaSystemReplication\.hanasr\.io "broken" is invalid: \[/);
    const fields = ((res.body['details'] as Obj)['causes'] as Obj[]).map((c) => c['field']);
    expect(fields).toEqual(expect.arrayContaining(['spec.sid', 'spec.sites[0].name']));
  });
});
