import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiextensionsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { startFakeApiServer, type FakeApiServer } from '../../../src/standins/kube-api/index.js';
import { GROUP, PLURAL, VERSION, crdModel, failure, widget, widgetCrd } from './support.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let server: FakeApiServer;
let core: CoreV1Api;
let custom: CustomObjectsApi;
const ns = 'default';
const ref = { group: GROUP, version: VERSION, namespace: ns, plural: PLURAL };
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

beforeAll(async () => {
  server = await startFakeApiServer();
  const kc = server.kubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  await kc.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({ body: crdModel(widgetCrd) });
});

afterAll(async () => {
  await server.close();
});

describe('discovery', () => {
  it('serves /version, /healthz and the groups with resources, short names and status subresources', async () => {
    const version = (await (
      await fetch(`${server.url}/version`, { signal: AbortSignal.timeout(2000) })
    ).json()) as Obj;
    expect(version['major']).toBe('1');
    expect(await (await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(2000) })).text()).toBe(
      'ok',
    );
    const groups = (await (
      await fetch(`${server.url}/apis`, { signal: AbortSignal.timeout(2000) })
    ).json()) as Obj;
    const names = (groups['groups'] as Obj[]).map((g) => g['name']);
    expect(names).toEqual(
      expect.arrayContaining(['coordination.k8s.io', 'events.k8s.io', 'apiextensions.k8s.io', GROUP]),
    );
    const list = (await (
      await fetch(`${server.url}/apis/${GROUP}/${VERSION}`, { signal: AbortSignal.timeout(2000) })
    ).json()) as Obj;
    expect(list['resources']).toEqual([
      {
        name: 'widgets',
        singularName: 'widget',
        namespaced: true,
        kind: 'Widget',
        verbs: expect.any(Array),
        shortNames: ['wdg'],
      },
      {
        name: 'widgets/status',
        singularName: '',
        namespaced: true,
        kind: 'Widget',
        verbs: ['get', 'patch', 'update'],
      },
    ]);
    const coreList = (await (
      await fetch(`${server.url}/api/v1`, { signal: AbortSignal.timeout(2000) })
    ).json()) as Obj;
    expect((coreList['resources'] as Obj[]).map((r) => r['name'])).toEqual(
      expect.arrayContaining([
        'namespaces',
        'pods',
        'pods/status',
        'services',
        'endpoints',
        'events',
        'configmaps',
        'secrets',
      ]),
    );
    const missing = await fetch(`${server.url}/apis/nope.io/v1`, { signal: AbortSignal.timeout(2000) });
    expect(missing.status).toBe(404);
  });
});

describe('core CRUD', () => {
  it('creates, reads, updates and deletes a ConfigMap with uid, timestamps and resourceVersions', async () => {
    const created = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'cm1' }, data: { a: '1' } },
    });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(created.metadata?.namespace).toBe(ns);
    const rv1 = Number(created.metadata?.resourceVersion);
    const read = await core.readNamespacedConfigMap({ name: 'cm1', namespace: ns });
    expect(read.data).toEqual({ a: '1' });
    read.data = { a: '2' };
    const updated = await core.replaceNamespacedConfigMap({ name: 'cm1', namespace: ns, body: read });
    expect(Number(updated.metadata?.resourceVersion)).toBeGreaterThan(rv1);
    expect(updated.metadata?.uid).toBe(created.metadata?.uid);
    await core.deleteNamespacedConfigMap({ name: 'cm1', namespace: ns });
    const gone = await failure(core.readNamespacedConfigMap({ name: 'cm1', namespace: ns }));
    expect(gone.code).toBe(404);
    expect(gone.body).toMatchObject({
      kind: 'Status',
      reason: 'NotFound',
      message: 'configmaps "cm1" not found',
    });
  });

  it('answers 409 AlreadyExists and 409 Conflict on a stale resourceVersion', async () => {
    const cm = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'cm2' } } });
    const dup = await failure(
      core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'cm2' } } }),
    );
    expect(dup.code).toBe(409);
    expect(dup.body).toMatchObject({ reason: 'AlreadyExists', message: 'configmaps "cm2" already exists' });
    await core.replaceNamespacedConfigMap({ name: 'cm2', namespace: ns, body: { ...cm, data: { x: '1' } } });
    const stale = await failure(
      core.replaceNamespacedConfigMap({ name: 'cm2', namespace: ns, body: { ...cm, data: { x: '2' } } }),
    );
    expect(stale.code).toBe(409);
    expect(stale.body['reason']).toBe('Conflict');
    expect(stale.body['message']).toContain('the object has been modified');
  });

  it('generates names from generateName and requires a namespace that exists', async () => {
    const cm = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { generateName: 'gen-' } },
    });
    expect(cm.metadata?.name).toMatch(/^gen-[a-z0-9]{5}$/);
    const noNs = await failure(
      core.createNamespacedConfigMap({ namespace: 'nope', body: { metadata: { name: 'x' } } }),
    );
    expect(noNs.code).toBe(404);
    expect(noNs.body['message']).toBe('namespaces "nope" not found');
    const bad = await failure(
      core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'Bad_Name' } } }),
    );
    expect(bad.code).toBe(422);
    expect(bad.body['message']).toMatch(
      /^ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/,
    );
  });

  it('lists with label selectors, field selectors and across namespaces', async () => {
    await core.createNamespace({ body: { metadata: { name: 'other' } } });
    const mk = (namespace: string, name: string, labels: Record<string, string>) =>
      core.createNamespacedPod({
        namespace,
        body: { metadata: { name, labels }, spec: { containers: [{ name: 'c', image: 'i' }] } },
      });
    await mk(ns, 'p1', { app: 'hana', role: 'primary' });
    await mk(ns, 'p2', { app: 'hana', role: 'secondary' });
    await mk(ns, 'p3', { app: 'other' });
    await mk('other', 'p4', { app: 'hana', role: 'secondary' });
    const names = (items: { metadata?: { name?: string } }[]) => items.map((i) => i.metadata?.name);
    expect(names((await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=hana' })).items)).toEqual(
      ['p1', 'p2'],
    );
    expect(
      names((await core.listNamespacedPod({ namespace: ns, labelSelector: 'role!=primary' })).items),
    ).toEqual(['p2', 'p3']);
    expect(
      names((await core.listNamespacedPod({ namespace: ns, labelSelector: 'role in (primary,x)' })).items),
    ).toEqual(['p1']);
    expect(names((await core.listNamespacedPod({ namespace: ns, labelSelector: '!role' })).items)).toEqual([
      'p3',
    ]);
    expect(names((await core.listPodForAllNamespaces({ labelSelector: 'role=secondary' })).items)).toEqual([
      'p2',
      'p4',
    ]);
    expect(
      names((await core.listPodForAllNamespaces({ fieldSelector: 'metadata.namespace=other' })).items),
    ).toEqual(['p4']);
    const list = await core.listNamespacedPod({ namespace: ns, fieldSelector: 'metadata.name=p2' });
    expect(names(list.items)).toEqual(['p2']);
    expect(Number(list.metadata?.resourceVersion)).toBeGreaterThan(0);
    expect(
      (await failure(core.listNamespacedPod({ namespace: ns, fieldSelector: 'spec.nodeName=x' }))).code,
    ).toBe(400);
  });

  it('keeps pod status out of main-resource updates and lets /status change only status', async () => {
    const pod = await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'sp' },
        spec: { containers: [{ name: 'c', image: 'i' }] },
        status: { phase: 'Running' },
      },
    });
    expect(pod.status).toBeUndefined();
    const patched = await core.patchNamespacedPodStatus(
      { name: 'sp', namespace: ns, body: { status: { phase: 'Running' } } },
      merge,
    );
    expect(patched.status?.phase).toBe('Running');
    const main = await core.patchNamespacedPod(
      { name: 'sp', namespace: ns, body: { status: { phase: 'Failed' }, metadata: { labels: { a: 'b' } } } },
      merge,
    );
    expect(main.status?.phase).toBe('Running');
    expect(main.metadata?.labels).toEqual({ a: 'b' });
  });

  it('treats strategic merge patch on core types as a merge patch', async () => {
    await core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: 'svc-rw' }, spec: { selector: { role: 'a' }, ports: [{ port: 30015 }] } },
    });
    const svc = await core.patchNamespacedService(
      { name: 'svc-rw', namespace: ns, body: { spec: { selector: { role: 'b' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    expect(svc.spec?.selector).toEqual({ role: 'b' });
    expect(svc.spec?.ports?.[0]?.port).toBe(30015);
  });

  it('serves leases with optimistic concurrency', async () => {
    const coord = server.kubeConfig().makeApiClient(CoordinationV1Api);
    const lease = await coord.createNamespacedLease({
      namespace: ns,
      body: { metadata: { name: 'op' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 10 } },
    });
    await coord.replaceNamespacedLease({
      name: 'op',
      namespace: ns,
      body: { ...lease, spec: { holderIdentity: 'b' } },
    });
    const stale = await failure(
      coord.replaceNamespacedLease({
        name: 'op',
        namespace: ns,
        body: { ...lease, spec: { holderIdentity: 'c' } },
      }),
    );
    expect(stale.code).toBe(409);
    expect(stale.body['message']).toContain('leases.coordination.k8s.io "op"');
  });

  it('shows events.k8s.io/v1 events through core/v1 as well', async () => {
    const events = server.kubeConfig().makeApiClient(EventsV1Api);
    await events.createNamespacedEvent({
      namespace: ns,
      body: {
        metadata: { name: 'ev1' },
        eventTime: new Date('2025-01-01T00:00:00Z'),
        reason: 'TakeoverStarted',
        note: 'takeover to site B',
        type: 'Normal',
        action: 'Takeover',
        reportingController: 'hanasr.io/operator',
        reportingInstance: 'op-0',
        regarding: { kind: 'HanaSystemReplication', name: 'hsr', namespace: ns },
      },
    });
    const coreEvent = await core.readNamespacedEvent({ name: 'ev1', namespace: ns });
    expect(coreEvent.message).toBe('takeover to site B');
    expect(coreEvent.involvedObject.name).toBe('hsr');
    expect(coreEvent.reportingComponent).toBe('hanasr.io/operator');
    const back = await events.readNamespacedEvent({ name: 'ev1', namespace: ns });
    expect(back.note).toBe('takeover to site B');
  });

  it('deletes a namespace with its content', async () => {
    await core.createNamespace({ body: { metadata: { name: 'doomed' } } });
    await core.createNamespacedSecret({
      namespace: 'doomed',
      body: { metadata: { name: 's' }, stringData: { a: 'b' } },
    });
    await core.deleteNamespace({ name: 'doomed' });
    expect((await failure(core.readNamespace({ name: 'doomed' }))).code).toBe(404);
    expect((await failure(core.readNamespacedSecret({ name: 's', namespace: 'doomed' }))).code).toBe(404);
  });
});

describe('custom resources', () => {
  it('validates against the CRD schema and names the failing fields', async () => {
    const res = await failure(
      custom.createNamespacedCustomObject({
        ...ref,
        body: widget('bad', { size: 0, color: 'blue', parts: [{ name: 'Ok' }] }),
      }),
    );
    expect(res.code).toBe(422);
    expect(res.body['reason']).toBe('Invalid');
    expect(res.body['message']).toBe(
      `Widget.${GROUP} "bad" is invalid: [spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1, ` +
        `spec.color: Unsupported value: "blue": supported values: "red", "green", ` +
        `spec.parts[0].name: Invalid value: "Ok": spec.parts[0].name in body should match '^[a-z]+$']`,
    );
    const causes = (res.body['details'] as Obj)['causes'] as Obj[];
    expect(causes.map((c) => c['field'])).toEqual(['spec.size', 'spec.color', 'spec.parts[0].name']);
    expect(causes.map((c) => c['reason'])).toEqual([
      'FieldValueInvalid',
      'FieldValueNotSupported',
      'FieldValueInvalid',
    ]);
    const missing = await failure(custom.createNamespacedCustomObject({ ...ref, body: widget('bad', {}) }));
    expect(missing.body['message']).toBe(`Widget.${GROUP} "bad" is invalid: spec.size: Required value`);
  });

  it('defaults and prunes on create', async () => {
    const w = (await custom.createNamespacedCustomObject({
      ...ref,
      body: widget('pruned', { size: 2, unknown: 1, extra: { kept: true } }),
    })) as Obj;
    expect(w['spec']).toEqual({ size: 2, color: 'red', extra: { kept: true } });
    expect(w['metadata']['generation']).toBe(1);
  });

  it('bumps generation on spec changes only, and separates spec from status', async () => {
    const w = (await custom.createNamespacedCustomObject({
      ...ref,
      body: { ...widget('gen'), status: { phase: 'Ignored' } },
    })) as Obj;
    expect(w['status']).toBeUndefined();
    const s1 = (await custom.patchNamespacedCustomObjectStatus(
      { ...ref, name: 'gen', body: { status: { phase: 'Ready', observedGeneration: 1 }, spec: { size: 9 } } },
      merge,
    )) as Obj;
    expect(s1['status']).toEqual({ phase: 'Ready', observedGeneration: 1 });
    expect(s1['spec']['size']).toBe(1);
    expect(s1['metadata']['generation']).toBe(1);
    const m1 = (await custom.patchNamespacedCustomObject(
      { ...ref, name: 'gen', body: { metadata: { labels: { a: 'b' } } } },
      merge,
    )) as Obj;
    expect(m1['metadata']['generation']).toBe(1);
    const m2 = (await custom.patchNamespacedCustomObject(
      { ...ref, name: 'gen', body: { spec: { size: 3 }, status: { phase: 'X' } } },
      merge,
    )) as Obj;
    expect(m2['metadata']['generation']).toBe(2);
    expect(m2['status']['phase']).toBe('Ready');
    m2['spec']['size'] = 4;
    const u = (await custom.replaceNamespacedCustomObject({ ...ref, name: 'gen', body: m2 })) as Obj;
    expect(u['metadata']['generation']).toBe(3);
    const noop = (await custom.replaceNamespacedCustomObject({ ...ref, name: 'gen', body: u })) as Obj;
    expect(noop['metadata']['resourceVersion']).toBe(u['metadata']['resourceVersion']);
    const stale = await failure(custom.replaceNamespacedCustomObject({ ...ref, name: 'gen', body: m2 }));
    expect(stale.code).toBe(409);
    const noRv = await failure(
      custom.replaceNamespacedCustomObject({ ...ref, name: 'gen', body: widget('gen', { size: 5 }) }),
    );
    expect(noRv.code).toBe(422);
    expect(noRv.body['message']).toContain(
      'metadata.resourceVersion: Invalid value: 0: must be specified for an update',
    );
  });

  it('applies JSON patch by default (test op included) and refuses strategic merge with 415', async () => {
    const w = (await custom.createNamespacedCustomObject({ ...ref, body: widget('jp', { size: 1 }) })) as Obj;
    const rv = w['metadata']['resourceVersion'] as string;
    const patched = (await custom.patchNamespacedCustomObject({
      ...ref,
      name: 'jp',
      body: [
        { op: 'test', path: '/metadata/resourceVersion', value: rv },
        { op: 'replace', path: '/spec/size', value: 6 },
      ],
    })) as Obj;
    expect(patched['spec']['size']).toBe(6);
    const failed = await failure(
      custom.patchNamespacedCustomObject({
        ...ref,
        name: 'jp',
        body: [{ op: 'test', path: '/metadata/resourceVersion', value: rv }],
      }),
    );
    expect(failed.code).toBe(422);
    const status = (await custom.patchNamespacedCustomObjectStatus({
      ...ref,
      name: 'jp',
      body: [{ op: 'add', path: '/status', value: { phase: 'Ready' } }],
    })) as Obj;
    expect(status['status']).toEqual({ phase: 'Ready' });
    const smp = await failure(
      custom.patchNamespacedCustomObject(
        { ...ref, name: 'jp', body: { spec: { size: 2 } } },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      ),
    );
    expect(smp.code).toBe(415);
    const invalidPatch = await failure(
      custom.patchNamespacedCustomObject({ ...ref, name: 'jp', body: { spec: { size: 99 } } }, merge),
    );
    expect(invalidPatch.code).toBe(422);
    expect(invalidPatch.body['message']).toContain('spec.size: Invalid value: 99');
    const stale = await failure(
      custom.patchNamespacedCustomObject(
        { ...ref, name: 'jp', body: { metadata: { resourceVersion: rv }, spec: { size: 2 } } },
        merge,
      ),
    );
    expect(stale.code).toBe(409);
  });

  it('keeps an object with finalizers until they are removed', async () => {
    await custom.createNamespacedCustomObject({
      ...ref,
      body: widget('fin', { size: 1 }, { finalizers: ['hanasr.io/cleanup'] }),
    });
    const deleting = (await custom.deleteNamespacedCustomObject({ ...ref, name: 'fin' })) as Obj;
    expect(deleting['metadata']['deletionTimestamp']).toEqual(expect.any(String));
    expect(deleting['metadata']['generation']).toBe(2);
    const still = (await custom.getNamespacedCustomObject({ ...ref, name: 'fin' })) as Obj;
    expect(still['metadata']['deletionTimestamp']).toBe(deleting['metadata']['deletionTimestamp']);
    const again = (await custom.deleteNamespacedCustomObject({ ...ref, name: 'fin' })) as Obj;
    expect(again['metadata']['resourceVersion']).toBe(still['metadata']['resourceVersion']);
    const addMore = await failure(
      custom.patchNamespacedCustomObject(
        { ...ref, name: 'fin', body: { metadata: { finalizers: ['hanasr.io/cleanup', 'x/y'] } } },
        merge,
      ),
    );
    expect(addMore.code).toBe(422);
    await custom.patchNamespacedCustomObject(
      { ...ref, name: 'fin', body: { metadata: { finalizers: null } } },
      merge,
    );
    expect((await failure(custom.getNamespacedCustomObject({ ...ref, name: 'fin' }))).code).toBe(404);
  });

  it('answers 404 as a Status for a missing custom object and lists across namespaces', async () => {
    const res = await failure(custom.getNamespacedCustomObject({ ...ref, name: 'nobody' }));
    expect(res.body).toMatchObject({
      code: 404,
      reason: 'NotFound',
      message: `widgets.${GROUP} "nobody" not found`,
    });
    const all = (await custom.listClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
    })) as Obj;
    expect(all['kind']).toBe('WidgetList');
    expect((all['items'] as Obj[]).every((i) => i['kind'] === 'Widget')).toBe(true);
  });

  it('stops serving a kind when its CRD is deleted', async () => {
    const ext = server.kubeConfig().makeApiClient(ApiextensionsV1Api);
    const other = structuredClone(widgetCrd) as Obj;
    other['metadata']['name'] = `gadgets.${GROUP}`;
    other['spec']['names'] = { plural: 'gadgets', kind: 'Gadget' };
    await ext.createCustomResourceDefinition({ body: crdModel(other) });
    const crd = await ext.readCustomResourceDefinition({ name: `gadgets.${GROUP}` });
    expect(crd.status?.conditions?.find((c) => c.type === 'Established')?.status).toBe('True');
    await custom.createNamespacedCustomObject({
      ...ref,
      plural: 'gadgets',
      body: { ...widget('g'), kind: 'Gadget' },
    });
    await ext.deleteCustomResourceDefinition({ name: `gadgets.${GROUP}` });
    expect((await failure(custom.listNamespacedCustomObject({ ...ref, plural: 'gadgets' }))).code).toBe(404);
    const badCrd = await failure(
      ext.createCustomResourceDefinition({
        body: crdModel({ ...other, spec: { ...other['spec'], scope: 'Galaxy' } }),
      }),
    );
    expect(badCrd.code).toBe(422);
    expect(badCrd.body['message']).toContain('spec.scope: Unsupported value: "Galaxy"');
  });
});
