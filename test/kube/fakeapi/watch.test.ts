import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  makeInformer,
  setHeaderOptions,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { startFakeApiServer, type FakeApiServer } from '../../../src/standins/kube-api/index.js';
import { GROUP, PLURAL, VERSION, crdModel, eventually, failure, widget, widgetCrd } from './support.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let server: FakeApiServer;
let custom: CustomObjectsApi;
let core: CoreV1Api;
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

beforeAll(async () => {
  server = await startFakeApiServer({ bookmarkIntervalMs: 50 });
  const kc = server.kubeConfig();
  custom = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
  await kc.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({ body: crdModel(widgetCrd) });
});

afterAll(async () => {
  await server.close();
});

/** A raw watch over fetch, collecting the newline-delimited events. */
function openWatch(query: string, path = `/apis/${GROUP}/${VERSION}/namespaces/w/${PLURAL}`) {
  const controller = new AbortController();
  const events: Obj[] = [];
  let ended = false;
  const done = (async () => {
    const res = await fetch(`${server.url}${path}?watch=true&${query}`, { signal: controller.signal });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done: finished } = await reader.read();
      if (finished) break;
      buffer += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        events.push(JSON.parse(buffer.slice(0, nl)) as Obj);
        buffer = buffer.slice(nl + 1);
      }
    }
  })()
    .catch(() => undefined)
    .finally(() => {
      ended = true;
    });
  return {
    events,
    get ended() {
      return ended;
    },
    summary: (types = ['ADDED', 'MODIFIED', 'DELETED']) =>
      events
        .filter((e) => types.includes(e['type']))
        .map((e) => `${e['type']} ${e['object']['metadata']['name']}`),
    async close() {
      controller.abort();
      await done;
    },
  };
}

const wref = { group: GROUP, version: VERSION, namespace: 'w', plural: PLURAL };

describe('watch', () => {
  beforeAll(async () => {
    await core.createNamespace({ body: { metadata: { name: 'w' } } });
  });

  it('replays changes after a resourceVersion, then streams live ones', async () => {
    const a = (await custom.createNamespacedCustomObject({ ...wref, body: widget('r1') })) as Obj;
    const from = a['metadata']['resourceVersion'] as string;
    await custom.patchNamespacedCustomObject({ ...wref, name: 'r1', body: { spec: { size: 2 } } }, merge);
    await custom.createNamespacedCustomObject({ ...wref, body: widget('r2') });
    const w = openWatch(`resourceVersion=${from}`);
    await eventually(() => w.events.length >= 2);
    await custom.deleteNamespacedCustomObject({ ...wref, name: 'r1' });
    await eventually(() => w.events.length >= 3);
    expect(w.summary()).toEqual(['MODIFIED r1', 'ADDED r2', 'DELETED r1']);
    const rvs = w.events.map((e) => Number(e['object']['metadata']['resourceVersion']));
    expect([...rvs].sort((x, y) => x - y)).toEqual(rvs);
    await w.close();
    await custom.deleteNamespacedCustomObject({ ...wref, name: 'r2' });
  });

  it('starts with ADDED for every object when no resourceVersion is given', async () => {
    await custom.createNamespacedCustomObject({ ...wref, body: widget('s1') });
    const w = openWatch('');
    await eventually(() => w.events.length >= 1);
    expect(w.summary()).toEqual(['ADDED s1']);
    await w.close();
    await custom.deleteNamespacedCustomObject({ ...wref, name: 's1' });
  });

  it('turns selector transitions into ADDED and DELETED', async () => {
    const rv = server.resourceVersion();
    const w = openWatch(`resourceVersion=${rv}&labelSelector=${encodeURIComponent('role=primary')}`);
    await custom.createNamespacedCustomObject({
      ...wref,
      body: widget('t1', { size: 1 }, { labels: { role: 'secondary' } }),
    });
    await custom.patchNamespacedCustomObject(
      { ...wref, name: 't1', body: { metadata: { labels: { role: 'primary' } } } },
      merge,
    );
    await custom.patchNamespacedCustomObject({ ...wref, name: 't1', body: { spec: { size: 2 } } }, merge);
    await custom.patchNamespacedCustomObject(
      { ...wref, name: 't1', body: { metadata: { labels: { role: 'secondary' } } } },
      merge,
    );
    await eventually(() => w.events.length >= 3);
    expect(w.summary()).toEqual(['ADDED t1', 'MODIFIED t1', 'DELETED t1']);
    await w.close();
  });

  it('sends an ERROR event with a 410 Status for a compacted resourceVersion', async () => {
    const old = server.resourceVersion();
    await custom.createNamespacedCustomObject({ ...wref, body: widget('c1') });
    const compactedAt = server.faults.compact();
    const w = openWatch(`resourceVersion=${old}`);
    await eventually(() => w.ended);
    expect(w.events).toEqual([
      {
        type: 'ERROR',
        object: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: `too old resource version: ${old} (${compactedAt})`,
          reason: 'Expired',
          code: 410,
        },
      },
    ]);
    const fresh = openWatch(`resourceVersion=${compactedAt}`);
    await custom.deleteNamespacedCustomObject({ ...wref, name: 'c1' });
    await eventually(() => fresh.events.length >= 1);
    expect(fresh.summary()).toEqual(['DELETED c1']);
    await fresh.close();
  });

  it('sends BOOKMARK events when allowed and ends the stream after timeoutSeconds', async () => {
    const w = openWatch(
      `resourceVersion=${server.resourceVersion()}&allowWatchBookmarks=true&timeoutSeconds=1`,
    );
    await eventually(() => w.events.some((e) => e['type'] === 'BOOKMARK'));
    const bookmark = w.events.find((e) => e['type'] === 'BOOKMARK')!;
    expect(bookmark['object']).toEqual({
      kind: 'Widget',
      apiVersion: `${GROUP}/${VERSION}`,
      metadata: { resourceVersion: expect.stringMatching(/^\d+$/) },
    });
    await eventually(() => w.ended, 5000);
    expect(server.faults.openWatches).toBe(0);
    await w.close();
  });
});

describe('client-node informer', () => {
  const path = `/apis/${GROUP}/${VERSION}/namespaces/inf/${PLURAL}`;
  const iref = { ...wref, namespace: 'inf' };
  let lists = 0;
  const listFn = async () => {
    lists++;
    return (await custom.listNamespacedCustomObject(iref)) as KubernetesListObject<KubernetesObject>;
  };
  const seen: string[] = [];
  const errors: unknown[] = [];

  it('sees add, update and delete; stops on a dropped watch; resumes when restarted; relists on 410', async () => {
    await core.createNamespace({ body: { metadata: { name: 'inf' } } });
    const inf = makeInformer(server.kubeConfig(), path, listFn);
    inf.on('add', (o) => seen.push(`add ${o.metadata?.name}`));
    inf.on('update', (o) => seen.push(`update ${o.metadata?.name}`));
    inf.on('delete', (o) => seen.push(`delete ${o.metadata?.name}`));
    inf.on('error', (err) => errors.push(err));
    await inf.start();
    try {
      await eventually(() => server.faults.openWatches === 1);
      await custom.createNamespacedCustomObject({ ...iref, body: widget('i1') });
      await custom.patchNamespacedCustomObject({ ...iref, name: 'i1', body: { spec: { size: 3 } } }, merge);
      await custom.deleteNamespacedCustomObject({ ...iref, name: 'i1' });
      await eventually(() => seen.length >= 3);
      expect(seen).toEqual(['add i1', 'update i1', 'delete i1']);

      // A reset connection stops client-node's informer: it reports an error and does not rewatch.
      expect(server.faults.dropWatches()).toBe(1);
      await eventually(() => errors.length === 1);
      expect(server.faults.openWatches).toBe(0);
      await custom.createNamespacedCustomObject({ ...iref, body: widget('i2') });
      expect(seen).toEqual(['add i1', 'update i1', 'delete i1']);

      // Restarted, it watches again from its last resourceVersion and catches up without a relist.
      await inf.start();
      await eventually(() => seen.length >= 4);
      expect(seen[3]).toBe('add i2');
      expect(lists).toBe(1);

      // A clean end of the stream is rewatched by the informer itself.
      await eventually(() => server.faults.openWatches === 1);
      expect(server.faults.dropWatches({ graceful: true })).toBe(1);
      await eventually(() => server.faults.openWatches === 1);
      await custom.createNamespacedCustomObject({ ...iref, body: widget('i3') });
      await eventually(() => seen.length >= 5);
      expect(seen[4]).toBe('add i3');
      expect(errors).toHaveLength(1);

      // Compaction while the watch is down: the rewatch gets 410, the informer relists.
      server.faults.dropWatches();
      await eventually(() => errors.length === 2);
      await custom.deleteNamespacedCustomObject({ ...iref, name: 'i2' });
      server.faults.compact();
      await inf.start();
      await eventually(() => lists === 2 && seen.includes('delete i2'));
      expect(inf.list().map((o) => o.metadata?.name)).toEqual(['i3']);
    } finally {
      await inf.stop();
    }
  });
});

describe('fault hooks', () => {
  it('fails the next N matching requests with the given code', async () => {
    server.faults.failNext(2, { verb: 'list', path: '/configmaps' });
    const first = await failure(core.listNamespacedConfigMap({ namespace: 'default' }));
    expect(first.code).toBe(500);
    expect(first.body['reason']).toBe('InternalError');
    await core.listNamespacedPod({ namespace: 'default' });
    expect((await failure(core.listNamespacedConfigMap({ namespace: 'default' }))).code).toBe(500);
    await core.listNamespacedConfigMap({ namespace: 'default' });
    server.faults.failNext(1, { verb: 'get', code: 410 });
    const gone = await failure(core.readNamespace({ name: 'default' }));
    expect(gone.code).toBe(410);
    expect(gone.body['reason']).toBe('Expired');
  });

  it('answers a watch with an ERROR 410 event when told to', async () => {
    server.faults.failNext(1, { verb: 'watch', code: 410 });
    const w = openWatch(`resourceVersion=${server.resourceVersion()}`);
    await eventually(() => w.ended);
    expect(w.events.map((e) => [e['type'], e['object']['code']])).toEqual([['ERROR', 410]]);
    await w.close();
  });

  it('adds latency, which a client deadline cuts short', async () => {
    const remove = server.faults.addLatency(2000, { verb: 'get', path: '/namespaces/default' });
    try {
      const slow = fetch(`${server.url}/api/v1/namespaces/default`, { signal: AbortSignal.timeout(100) });
      await expect(slow).rejects.toMatchObject({ name: 'TimeoutError' });
      const other = await fetch(`${server.url}/api/v1/namespaces/kube-system`, {
        signal: AbortSignal.timeout(2000),
      });
      expect(other.status).toBe(200);
    } finally {
      remove();
    }
    const fast = await fetch(`${server.url}/api/v1/namespaces/default`, {
      signal: AbortSignal.timeout(2000),
    });
    expect(fast.status).toBe(200);
  });
});
