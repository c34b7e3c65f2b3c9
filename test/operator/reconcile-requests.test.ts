/**
 * What a reconcile asks of the API server (issue 14, one operator for many clusters): a steady
 * reconcile reads its resource from the informer's cache, not with a GET, and reads the two
 * Services and the pods at the same time, not one after the other. A cached copy is not used for
 * a resource carrying a hanasr.io annotation (an intent a patch of ours may already have removed).
 */
import { afterAll, expect, it } from 'vitest';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { realClock } from '../../src/clock.js';
import { MemoryCoordination } from '../../src/coordination/memory.js';
import { HsrController } from '../../src/operator/controller.js';
import { startFakeApiServer, type FakeApiServer } from '../../src/standins/kube-api/index.js';
import { createHsr, installHsrCrd } from '../../rigs/kube.js';
import { eventually } from '../kube/fakeapi/support.js';
import { link, primaryHealth, report, secondaryHealth, syncRecord } from './fixtures.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f();
});

/** The fake API with the CRD, one pod of site B and a cluster whose store says A leads, B in sync. */
async function landscape(): Promise<{ server: FakeApiServer; store: MemoryCoordination }> {
  const server = await startFakeApiServer();
  cleanup.push(() => server.close());
  const kc = server.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'hana' } } });
  await installHsrCrd(kc);
  await core.createNamespacedPod({
    namespace: 'hana',
    body: {
      metadata: { name: 'hana-b-0', labels: { 'hanasr.io/cluster': 'ha1', 'hanasr.io/site': 'B' } },
      spec: { containers: [{ name: 'hana', image: 'hana' }] },
    },
  });
  const store = new MemoryCoordination(realClock);
  cleanup.push(() => store.close());
  const a = store.session('hana.ha1', 'A', 30);
  const b = store.session('hana.ha1', 'B', 30);
  cleanup.push(
    () => a.close(),
    () => b.close(),
  );
  await a.start();
  await b.start();
  await a.publishReport(
    report('A', primaryHealth([link('B')]), { observedAt: Date.now(), lastWritableAt: Date.now() }),
  );
  await b.publishReport(report('B', secondaryHealth('A'), { observedAt: Date.now() }));
  await a.acquireLeader(0, Date.now());
  await a.writeSync(1, [syncRecord('B', 1, { confirmedAt: Date.now() })]);
  return { server, store };
}

const SPEC = {
  sid: 'HA1',
  instanceNumber: '00',
  sites: [
    { name: 'A', host: 'hana-a' },
    { name: 'B', host: 'hana-b' },
  ],
};

function controllerOn(kc: KubeConfig, store: MemoryCoordination): HsrController {
  const controller = new HsrController({
    kubeConfig: kc,
    coordination: store,
    clock: realClock,
    namespace: 'hana',
    resyncIntervalMs: 40,
    kubeTimeoutMs: 3000,
  });
  cleanup.push(() => controller.stop());
  return controller;
}

/** Until the status shows A as the primary and a few more reconciles ran. */
async function settled(kc: KubeConfig, controller: HsrController): Promise<void> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const o = (await custom.getNamespacedCustomObject({
      group: 'hanasr.io',
      version: 'v1alpha1',
      plural: 'hanasystemreplications',
      namespace: 'hana',
      name: 'ha1',
    })) as { status?: { currentPrimary?: string } };
    if (o.status?.currentPrimary === 'A') break;
    if (Date.now() > deadline) throw new Error('the status never showed A as the primary');
    await new Promise((r) => setTimeout(r, 20));
  }
  const from = controller.reconciles;
  await eventually(() => controller.reconciles >= from + 3, 10_000);
}

it('a steady reconcile reads its resource from the cache: no GET of it', async () => {
  const { server, store } = await landscape();
  const kc = server.kubeConfig();
  const controller = controllerOn(kc, store);
  await controller.start();
  await createHsr(kc.makeApiClient(CustomObjectsApi), 'hana', 'ha1', SPEC);
  await settled(kc, controller);

  // Every GET of the resource now fails: the reconciles go on without one.
  server.faults.failNext(1000, { verb: 'get', path: '/hanasystemreplications/ha1' });
  const from = controller.reconciles;
  const cached = controller.cacheReads;
  await eventually(() => controller.reconciles >= from + 6, 10_000);
  expect(server.faults.injected).toBe(0);
  expect(controller.cacheReads).toBeGreaterThanOrEqual(cached + 5);
  expect(controller.queue.failureCount('hana/ha1')).toBe(0);
}, 30_000);

it('a resource with a hanasr.io annotation is read with a GET, not from the cache', async () => {
  const { server, store } = await landscape();
  const kc = server.kubeConfig();
  const controller = controllerOn(kc, store);
  await controller.start();
  await createHsr(kc.makeApiClient(CustomObjectsApi), 'hana', 'ha1', SPEC);
  await settled(kc, controller);
  // Held off: the annotation must not be acted on here, only the read path is looked at.
  server.faults.failNext(1000, { verb: 'get', path: '/hanasystemreplications/ha1' });
  await kc.makeApiClient(CustomObjectsApi).patchNamespacedCustomObject({
    group: 'hanasr.io',
    version: 'v1alpha1',
    plural: 'hanasystemreplications',
    namespace: 'hana',
    name: 'ha1',
    body: [{ op: 'add', path: '/metadata/annotations', value: { 'hanasr.io/backup-now': 'true' } }],
  });
  await eventually(() => server.faults.injected >= 2, 10_000);
  expect(controller.queue.failureCount('hana/ha1')).toBeGreaterThan(0);
}, 30_000);

it('reads the two Services and the pods at the same time', async () => {
  const { server, store } = await landscape();
  const kc = server.kubeConfig();
  const controller = controllerOn(kc, store);
  // Observe the real client's reads (each call goes through to the API unchanged).
  let now = 0;
  let most = 0;
  const client = controller.client as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  for (const method of ['getService', 'listPods']) {
    const real = client[method]!.bind(controller.client);
    client[method] = async (...a: unknown[]) => {
      most = Math.max(most, ++now);
      try {
        return await real(...a);
      } finally {
        now--;
      }
    };
  }
  await controller.start();
  await createHsr(kc.makeApiClient(CustomObjectsApi), 'hana', 'ha1', SPEC);
  await settled(kc, controller);
  // Each read held 300 ms, so that reads made at the same time are seen in flight together.
  const stop = server.faults.addLatency(300, { verb: 'get', path: '/services/' });
  const stopPods = server.faults.addLatency(300, { verb: 'list', path: '/pods' });
  cleanup.push(async () => {
    stop();
    stopPods();
  });
  most = 0;
  const from = controller.reconciles;
  await eventually(() => controller.reconciles >= from + 2, 15_000);
  expect(most).toBe(3);
}, 30_000);
