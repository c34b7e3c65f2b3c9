/**
 * The operator against the fake Kubernetes API over HTTP (real client-node) and the in-memory
 * coordination store: status and conditions, the rw Service following the leader key, Events,
 * annotations turned into intents, maintenance, API faults and dropped watches, the finalizer.
 */
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
import { findCondition, type HanaSystemReplicationStatus } from '../../src/api/resource.js';
import { realClock } from '../../src/clock.js';
import { MemoryCoordination } from '../../src/coordination/memory.js';
import type { CoordinationSession } from '../../src/coordination/port.js';
import { startFakeApiServer, type FakeApiServer } from '../../src/standins/kube-api/index.js';
import { HsrController } from '../../src/operator/controller.js';
import { crdModel, eventually } from '../kube/fakeapi/support.js';
import { link, primaryHealth, report, secondaryHealth, syncRecord } from './fixtures.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const CRD_PATH = new URL('../../charts/hanasr/crds/hanasr.io_hanasystemreplications.yaml', import.meta.url);
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

let server: FakeApiServer;
let custom: CustomObjectsApi;
let core: CoreV1Api;
let store: MemoryCoordination;
const sessions: CoordinationSession[] = [];
const controllers: HsrController[] = [];

function manifest(namespace: string, name: string, extra: Obj = {}): Obj {
  return {
    apiVersion: 'hanasr.io/v1alpha1',
    kind: 'HanaSystemReplication',
    metadata: { name, namespace },
    spec: {
      sid: 'HA1',
      instanceNumber: '00',
      sites: [
        { name: 'A', host: 'hana-a' },
        { name: 'B', host: 'hana-b' },
      ],
      ...extra,
    },
  };
}

const ref = (namespace: string) => ({
  group: 'hanasr.io',
  version: 'v1alpha1',
  plural: 'hanasystemreplications',
  namespace,
});

async function get(namespace: string, name: string): Promise<Obj> {
  return (await custom.getNamespacedCustomObject({ ...ref(namespace), name })) as Obj;
}

/** Polls the resource until `check` holds (a deadline, not a timing assertion). */
async function until(namespace: string, name: string, check: (o: Obj) => boolean, ms = 8000): Promise<Obj> {
  let last: Obj = {};
  const deadline = Date.now() + ms;
  for (;;) {
    last = await get(namespace, name);
    if (check(last)) return last;
    if (Date.now() > deadline)
      throw new Error(`not reached in time; last status: ${JSON.stringify(last['status'])}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function cond(o: Obj, type: string): [string, string] | undefined {
  const c = findCondition(o['status'] as HanaSystemReplicationStatus | undefined, type as 'Ready');
  return c === undefined ? undefined : [c.status, c.reason];
}

async function eventReasons(namespace: string, name: string): Promise<string[]> {
  const list = await core.listNamespacedEvent({ namespace });
  return list.items.filter((e) => e.involvedObject.name === name).map((e) => e.reason ?? '');
}

async function serviceSite(namespace: string, name: string): Promise<string | undefined> {
  try {
    const svc = await core.readNamespacedService({ namespace, name: `${name}-rw` });
    return svc.spec?.selector?.['hanasr.io/site'];
  } catch {
    return undefined;
  }
}

async function startController(namespace: string, resyncIntervalMs: number): Promise<HsrController> {
  const c = new HsrController({
    kubeConfig: server.kubeConfig(),
    coordination: store,
    clock: realClock,
    namespace,
    resyncIntervalMs,
    kubeTimeoutMs: 2000,
    retryBaseDelayMs: 20,
    retryMaxDelayMs: 200,
    informerRestartDelayMs: 20,
  });
  controllers.push(c);
  await c.start();
  return c;
}

/** Agents for A (primary, epoch 1) and B (secondary, in sync) of cluster `namespace.name`. */
async function seedCluster(cluster: string): Promise<{ a: CoordinationSession; b: CoordinationSession }> {
  const a = store.session(cluster, 'A', 30);
  const b = store.session(cluster, 'B', 30);
  sessions.push(a, b);
  await a.start();
  await b.start();
  await a.publishReport(
    report('A', primaryHealth([link('B')]), { observedAt: Date.now(), lastWritableAt: Date.now() }),
  );
  await b.publishReport(report('B', secondaryHealth('A'), { observedAt: Date.now() }));
  const leader = await a.acquireLeader(0, Date.now());
  expect(leader?.epoch).toBe(1);
  await a.writeSync(1, [syncRecord('B', 1, { confirmedAt: Date.now() })]);
  return { a, b };
}

beforeAll(async () => {
  server = await startFakeApiServer();
  const kc = server.kubeConfig();
  custom = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
  for (const ns of ['hana', 'watch', 'conflict', 'force', 'async'])
    await core.createNamespace({ body: { metadata: { name: ns } } });
  await kc
    .makeApiClient(ApiextensionsV1Api)
    .createCustomResourceDefinition({ body: crdModel(parse(readFileSync(CRD_PATH, 'utf8'))) });
  store = new MemoryCoordination(realClock);
});

afterAll(async () => {
  for (const c of controllers) await c.stop();
  for (const s of sessions) await s.close();
  await store.close();
  await server.close();
});

describe('HsrController', () => {
  it('reconciles a cluster through a failover, an intent, an API outage, maintenance and deletion', async () => {
    const { a, b } = await seedCluster('hana.ha1');
    await startController('hana', 50);
    await custom.createNamespacedCustomObject({ ...ref('hana'), body: manifest('hana', 'ha1') });

    // Status and conditions appear; finalizer and rw Service are in place.
    let o = await until('hana', 'ha1', (x) => cond(x, 'Ready')?.[0] === 'True');
    expect(o['status']).toMatchObject({
      observedGeneration: 1,
      currentPrimary: 'A',
      targetPrimary: 'A',
      epoch: 1,
    });
    expect(cond(o, 'ReplicationHealthy')).toEqual(['True', 'AllSecondariesInSync']);
    expect(cond(o, 'TakeoverInProgress')).toEqual(['False', 'Stable']);
    expect(cond(o, 'MaintenanceMode')).toEqual(['False', 'MaintenanceOff']);
    expect(o['status']['sites'].map((s: Obj) => [s.name, s.role, s.inSync])).toEqual([
      ['A', 'primary', undefined],
      ['B', 'secondary', true],
    ]);
    expect(o['metadata']['finalizers']).toEqual(['hanasr.io/cleanup']);
    // The Service follows the status write in the same reconcile.
    const created = Date.now() + 5000;
    while ((await serviceSite('hana', 'ha1')) !== 'A' && Date.now() < created)
      await new Promise((r) => setTimeout(r, 20));
    expect(await serviceSite('hana', 'ha1')).toBe('A');
    const svc = await core.readNamespacedService({ namespace: 'hana', name: 'ha1-rw' });
    expect(svc.spec?.selector).toEqual({ 'hanasr.io/cluster': 'ha1', 'hanasr.io/site': 'A' });
    expect(svc.spec?.ports?.map((p) => p.port)).toEqual([30013, 30015]);
    expect(svc.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'HanaSystemReplication',
      name: 'ha1',
      controller: true,
    });

    // The leader moves to B in the store: the rw Service follows, the takeover is recorded.
    await a.releaseLeader(1);
    expect(await b.acquireLeader(1, Date.now())).toMatchObject({ site: 'B', epoch: 2 });
    await b.publishReport(
      report('B', primaryHealth([link('A')]), {
        observedAt: Date.now(),
        lastWritableAt: Date.now(),
        epoch: 2,
      }),
    );
    await a.publishReport(report('A', secondaryHealth('B'), { observedAt: Date.now(), epoch: 2 }));
    o = await until(
      'hana',
      'ha1',
      (x) => x['status']?.['currentPrimary'] === 'B' && cond(x, 'Ready')?.[0] === 'True',
    );
    expect(o['status']['lastTakeover']).toMatchObject({ from: 'A', to: 'B', epoch: 2, outcome: 'succeeded' });
    expect(o['status']['takeoverHistory']).toHaveLength(1);
    const moved = Date.now() + 5000;
    while ((await serviceSite('hana', 'ha1')) !== 'B' && Date.now() < moved)
      await new Promise((r) => setTimeout(r, 20));
    expect(await serviceSite('hana', 'ha1')).toBe('B');
    const reasons = await eventReasons('hana', 'ha1');
    expect(reasons).toContain('TakeoverSucceeded');
    expect(reasons.filter((r) => r === 'TakeoverSucceeded')).toHaveLength(1);

    // A planned-takeover annotation to an in-sync site becomes an intent at the current epoch.
    await b.writeSync(2, [syncRecord('A', 2, { confirmedAt: Date.now() })]);
    await custom.patchNamespacedCustomObject(
      {
        ...ref('hana'),
        name: 'ha1',
        body: { metadata: { annotations: { 'hanasr.io/planned-takeover': 'A' } } },
      },
      merge,
    );
    o = await until(
      'hana',
      'ha1',
      (x) => x['metadata']['annotations']?.['hanasr.io/planned-takeover'] === undefined,
    );
    expect((await store.read('hana.ha1')).intents).toMatchObject([
      { kind: 'planned-takeover', target: 'A', epoch: 2 },
    ]);
    o = await until('hana', 'ha1', (x) => cond(x, 'TakeoverInProgress')?.[0] === 'True');
    expect(cond(o, 'TakeoverInProgress')).toEqual(['True', 'PlannedTakeover']);
    expect(o['status']['targetPrimary']).toBe('A');
    expect(await eventReasons('hana', 'ha1')).toEqual(
      expect.arrayContaining(['TakeoverRequested', 'TakeoverStarted']),
    );

    // An annotation naming an unknown site is refused with a Warning, and removed.
    await custom.patchNamespacedCustomObject(
      { ...ref('hana'), name: 'ha1', body: { metadata: { annotations: { 'hanasr.io/fence': 'Z' } } } },
      merge,
    );
    await until('hana', 'ha1', (x) => x['metadata']['annotations']?.['hanasr.io/fence'] === undefined);
    const refused = (await core.listNamespacedEvent({ namespace: 'hana' })).items.find(
      (e) => e.reason === 'IntentRefused',
    );
    expect(refused?.type).toBe('Warning');
    expect(refused?.message).toContain('unknown site "Z"');

    // Status writes failing on the API server are retried.
    const injected = server.faults.injected;
    server.faults.failNext(3, { verb: 'patch', path: '/status' });
    await custom.patchNamespacedCustomObject(
      { ...ref('hana'), name: 'ha1', body: { spec: { maintenance: true } } },
      merge,
    );
    o = await until('hana', 'ha1', (x) => cond(x, 'MaintenanceMode')?.[0] === 'True');
    expect(cond(o, 'MaintenanceMode')).toEqual(['True', 'MaintenanceRequested']);
    expect(o['status']['observedGeneration']).toBe(2);
    expect(findCondition(o['status'], 'MaintenanceMode')?.observedGeneration).toBe(2);
    expect(server.faults.injected - injected).toBe(3);

    // The store is unreachable: the conditions say Unknown, the last view is kept.
    store.setAvailable(false);
    o = await until('hana', 'ha1', (x) => cond(x, 'Ready')?.[0] === 'Unknown');
    expect(cond(o, 'Ready')).toEqual(['Unknown', 'CoordinationUnavailable']);
    expect(o['status']['currentPrimary']).toBe('B');
    store.setAvailable(true);
    await until('hana', 'ha1', (x) => cond(x, 'Ready')?.[0] === 'True');

    // Deletion: the finalizer deletes the cluster's coordination keys, then the object goes.
    await custom.deleteNamespacedCustomObject({ ...ref('hana'), name: 'ha1' });
    const gone = Date.now() + 8000;
    let exists = true;
    while (exists && Date.now() < gone) {
      try {
        await get('hana', 'ha1');
        await new Promise((r) => setTimeout(r, 20));
      } catch {
        exists = false;
      }
    }
    expect(exists).toBe(false);
    const after = await store.read('hana.ha1');
    expect([after.lastEpoch, after.intents.length]).toEqual([0, 0]);
  });

  it('a planned takeover to an SFAIL site is refused, unless hanasr.io/force-takeover is "true"', async () => {
    await startController('force', 100);
    const { a } = await seedCluster('force.ha1');
    await a.writeSync(1, [syncRecord('B', 1, { state: 'SFAIL' })]);
    await custom.createNamespacedCustomObject({ ...ref('force'), body: manifest('force', 'ha1') });
    await until('force', 'ha1', (x) => x['status']?.['currentPrimary'] === 'A');
    const annotate = (annotations: Record<string, string>) =>
      custom.patchNamespacedCustomObject(
        { ...ref('force'), name: 'ha1', body: { metadata: { annotations } } },
        merge,
      );
    const noAnnotations = (x: Obj) =>
      Object.keys(x['metadata']['annotations'] ?? {}).every((k) => !k.startsWith('hanasr.io/'));

    // Without the force: refused, no intent.
    await annotate({ 'hanasr.io/planned-takeover': 'B' });
    await until('force', 'ha1', (x) => cond(x, 'TakeoverInProgress')?.[1] === 'TakeoverRefused');
    await until('force', 'ha1', noAnnotations);
    expect((await store.read('force.ha1')).intents).toEqual([]);

    // A force that is not "true" forces nothing, and is removed with the request.
    await annotate({ 'hanasr.io/planned-takeover': 'B', 'hanasr.io/force-takeover': 'yes' });
    for (const end = Date.now() + 8000; ;) {
      const refused = (await eventReasons('force', 'ha1')).filter((r) => r === 'IntentRefused');
      if (refused.length === 2) break;
      if (Date.now() > end) throw new Error('the second request was not refused in time');
      await new Promise((r) => setTimeout(r, 20));
    }
    await until('force', 'ha1', noAnnotations);
    expect((await store.read('force.ha1')).intents).toEqual([]);

    // With it: the intent carries force, both annotations go, the acceptance is a Warning.
    await annotate({ 'hanasr.io/planned-takeover': 'B', 'hanasr.io/force-takeover': 'true' });
    await until('force', 'ha1', noAnnotations);
    const intents = (await store.read('force.ha1')).intents;
    expect(intents).toMatchObject([{ kind: 'planned-takeover', target: 'B', epoch: 1, force: true }]);
    const accepted = (await core.listNamespacedEvent({ namespace: 'force' })).items.find(
      (e) => e.reason === 'TakeoverRequested',
    );
    expect(accepted?.type).toBe('Warning');
    expect(accepted?.message).toContain('hanasr.io/force-takeover');
  });

  it('refuses a planned takeover in async mode without asyncTakeoverMaxLagSeconds (the agents would)', async () => {
    await startController('async', 100);
    const { a } = await seedCluster('async.ha1');
    await a.writeSync(1, [syncRecord('B', 1, { mode: 'async' })]);
    await custom.createNamespacedCustomObject({
      ...ref('async'),
      body: manifest('async', 'ha1', { replication: { mode: 'async' } }),
    });
    await until('async', 'ha1', (x) => x['status']?.['currentPrimary'] === 'A');
    await custom.patchNamespacedCustomObject(
      {
        ...ref('async'),
        name: 'ha1',
        body: { metadata: { annotations: { 'hanasr.io/planned-takeover': 'B' } } },
      },
      merge,
    );
    await until('async', 'ha1', (x) => cond(x, 'TakeoverInProgress')?.[1] === 'TakeoverRefused');
    const refused = (await core.listNamespacedEvent({ namespace: 'async' })).items.find(
      (e) => e.reason === 'IntentRefused',
    );
    expect(refused?.message).toContain('asyncTakeoverMaxLagSeconds');
    expect((await store.read('async.ha1')).intents).toEqual([]);
  });

  it('keeps reconciling after its watch is dropped (the informer is restarted)', async () => {
    await seedCluster('watch.w1');
    // No periodic resync here: only the informer can bring the change in.
    const c = await startController('watch', 3_600_000);
    await custom.createNamespacedCustomObject({ ...ref('watch'), body: manifest('watch', 'w1') });
    await until('watch', 'w1', (x) => cond(x, 'Ready')?.[0] === 'True');
    await eventually(() => server.faults.openWatches >= 1);

    const dropped = server.faults.dropWatches();
    expect(dropped).toBeGreaterThanOrEqual(1);
    await eventually(() => c.informer.restarts >= 1);
    await custom.patchNamespacedCustomObject(
      { ...ref('watch'), name: 'w1', body: { spec: { maintenance: true } } },
      merge,
    );
    const o = await until('watch', 'w1', (x) => cond(x, 'MaintenanceMode')?.[0] === 'True');
    expect(o['status']['observedGeneration']).toBe(2);
  });

  it("rebuilds the status on a 409 from a concurrent writer and keeps that writer's change", async () => {
    await seedCluster('conflict.c1');
    const c = await startController('conflict', 50);
    // Status writes take a while: a writer that patches the object meanwhile makes them stale.
    const clearLatency = server.faults.addLatency(150, { verb: 'patch', path: '/status' });
    let writing = true;
    let writes = 0;
    const writer = (async () => {
      while (writing) {
        try {
          await custom.patchNamespacedCustomObject(
            {
              ...ref('conflict'),
              name: 'c1',
              body: { metadata: { labels: { writer: String(++writes) } } },
            },
            merge,
          );
        } catch {
          // not created yet
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    await custom.createNamespacedCustomObject({ ...ref('conflict'), body: manifest('conflict', 'c1') });
    await eventually(() => c.statusConflicts >= 1, 8000);
    writing = false;
    await writer;
    clearLatency();
    const o = await until('conflict', 'c1', (x) => cond(x, 'Ready')?.[0] === 'True');
    expect(o['metadata']['labels']['writer']).toBe(String(writes));
    expect(o['status']).toMatchObject({ currentPrimary: 'A', epoch: 1 });
    expect(o['metadata']['finalizers']).toEqual(['hanasr.io/cleanup']);
  });
});
