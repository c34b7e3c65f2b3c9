/**
 * What kubectl get, get -w and describe ask for: server-side Tables (kube-apiserver's event
 * columns included), Tables in watch events, and Events selected by the object they are about.
 * Event times lie minutes and hours back, so the printed ages cannot roll over during a test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiextensionsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { startFakeApiServer, type FakeApiServer } from '../../../src/standins/kube-api/index.js';
import { GROUP, VERSION, crdModel, widget, widgetCrd } from './support.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';
let server: FakeApiServer;
let core: CoreV1Api;

const ago = (seconds: number) =>
  new Date(Date.now() - seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

function event(name: string, involved: string, extra: Obj = {}): Obj {
  return {
    metadata: { name, namespace: 'default' },
    involvedObject: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'Widget',
      name: involved,
      namespace: 'default',
      uid: `uid-${involved}`,
    },
    type: 'Normal',
    reason: 'Resized',
    message: `${involved} resized  `,
    firstTimestamp: ago(20 * 3600),
    lastTimestamp: ago(15 * 60),
    count: 3,
    source: { component: 'widget-operator', host: 'node-1' },
    ...extra,
  };
}

beforeAll(async () => {
  server = await startFakeApiServer();
  const kc = server.kubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  await kc.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({ body: crdModel(widgetCrd) });
  await core.createNamespacedEvent({ namespace: 'default', body: event('w1.a', 'w1') as never });
  await core.createNamespacedEvent({
    namespace: 'default',
    body: event('w2.a', 'w2', { type: 'Warning', reason: 'Failed', source: { component: 'other' } }) as never,
  });
});

afterAll(async () => {
  await server.close();
});

async function get(path: string, accept = 'application/json'): Promise<{ status: number; body: Obj }> {
  const res = await fetch(`${server.url}${path}`, {
    headers: { Accept: accept },
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.status, body: (await res.json()) as Obj };
}

describe('the event table', () => {
  it('has the columns of kube-apiserver: LAST SEEN, TYPE, REASON, OBJECT, MESSAGE, then the wide ones', async () => {
    const { body } = await get('/api/v1/namespaces/default/events', TABLE);
    expect((body['columnDefinitions'] as Obj[]).map((c) => [c['name'], c['priority']])).toEqual([
      ['Last Seen', 0],
      ['Type', 0],
      ['Reason', 0],
      ['Object', 0],
      ['Subobject', 1],
      ['Source', 1],
      ['Message', 0],
      ['First Seen', 1],
      ['Count', 1],
      ['Name', 1],
    ]);
    expect(body['rows'][0]['cells']).toEqual([
      '15m',
      'Normal',
      'Resized',
      'widget/w1',
      '',
      'widget-operator, node-1',
      'w1 resized',
      '20h',
      3,
      'w1.a',
    ]);
    expect(body['rows'][0]['object']).toMatchObject({
      kind: 'PartialObjectMetadata',
      metadata: { name: 'w1.a' },
    });
    expect(body['rows'][1]['cells'][5]).toBe('other');
  });

  it('prints events.k8s.io/v1 events the same way, and a series by its last observation', async () => {
    const { body } = await get('/apis/events.k8s.io/v1/namespaces/default/events', TABLE);
    expect(body['rows'][0]['cells'].slice(0, 4)).toEqual(['15m', 'Normal', 'Resized', 'widget/w1']);
    await core.createNamespacedEvent({
      namespace: 'default',
      body: event('w3.a', 'w3', { series: { count: 7, lastObservedTime: ago(25 * 60) } }) as never,
    });
    const again = await get('/api/v1/namespaces/default/events/w3.a', TABLE);
    expect(again.body['rows'][0]['cells'][0]).toBe('25m');
    expect(again.body['rows'][0]['cells'][8]).toBe(7);
  });
});

describe('event field selectors', () => {
  it('selects by involvedObject (as kubectl describe does), type and reason; refuses unknown fields', async () => {
    const q = (s: string) => get(`/api/v1/namespaces/default/events?fieldSelector=${encodeURIComponent(s)}`);
    const names = async (s: string) =>
      ((await q(s)).body['items'] as Obj[]).map((e) => e['metadata']['name']);
    expect(
      await names(
        'involvedObject.name=w1,involvedObject.namespace=default,involvedObject.kind=Widget,involvedObject.uid=uid-w1',
      ),
    ).toEqual(['w1.a']);
    expect(await names('type=Warning')).toEqual(['w2.a']);
    expect(await names('reason!=Failed,source=widget-operator')).toEqual(['w1.a', 'w3.a']);
    expect(await names('involvedObject.name=nobody')).toEqual([]);
    const refused = await q('spec.nodeName=x');
    expect(refused.status).toBe(400);
    expect((await get(`/api/v1/namespaces?fieldSelector=involvedObject.name%3Dx`)).status).toBe(400);
  });
});

describe('watch as Table', () => {
  it('sends one-row Tables, column definitions in the first event only', async () => {
    const base = `/apis/${GROUP}/${VERSION}/namespaces/default/widgets`;
    const controller = new AbortController();
    const res = await fetch(`${server.url}${base}?watch=true&fieldSelector=metadata.name%3Dt1`, {
      headers: { Accept: TABLE },
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    const post = (body: unknown) =>
      fetch(`${server.url}${base}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(5000),
      });
    await post(widget('t1', { size: 2 }));
    await post(widget('t2', { size: 3 }));
    await fetch(`${server.url}${base}/t1`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: JSON.stringify({ spec: { size: 4 } }),
      signal: AbortSignal.timeout(5000),
    });
    let text = '';
    const deadline = Date.now() + 5000;
    while (text.split('\n').filter((l) => l !== '').length < 2 && Date.now() < deadline) {
      const { value } = await reader.read();
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    const events = text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Obj);
    expect(events.map((e) => e['type'])).toEqual(['ADDED', 'MODIFIED']);
    expect(events[0]!['object']).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1' });
    expect((events[0]!['object']['columnDefinitions'] as Obj[]).map((c) => c['name'])).toEqual([
      'Name',
      'Size',
      'Age',
    ]);
    expect(events[0]!['object']['rows'][0]['cells'].slice(0, 2)).toEqual(['t1', 2]);
    expect(events[1]!['object']['columnDefinitions']).toBeNull();
    expect(events[1]!['object']['rows'][0]['cells'].slice(0, 2)).toEqual(['t1', 4]);
  });
});
