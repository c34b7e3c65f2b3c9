/**
 * A cluster that does not change costs the API server no write: once status, Service and pod
 * labels match what compute wants (src/operator/compute.ts), further reconciles only read. Every
 * write is armed to fail through the fake API's fault hooks, which count what they answered (the
 * API server treats an identical patch as no change, so its resourceVersion would not tell).
 */
import { readFileSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { realClock } from '../../src/clock.js';
import { MemoryCoordination } from '../../src/coordination/memory.js';
import { HsrController } from '../../src/operator/controller.js';
import { startFakeApiServer } from '../../src/standins/kube-api/index.js';
import { crdModel, eventually } from '../kube/fakeapi/support.js';
import { link, primaryHealth, report, secondaryHealth, syncRecord } from './fixtures.js';

const CRD_PATH = new URL('../../charts/hanasr/crds/hanasr.io_hanasystemreplications.yaml', import.meta.url);
const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f();
});

it('sends no write while nothing changes, and writes again when the store does', async () => {
  const server = await startFakeApiServer();
  cleanup.push(() => server.close());
  const kc = server.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'hana' } } });
  await kc
    .makeApiClient(ApiextensionsV1Api)
    .createCustomResourceDefinition({ body: crdModel(parse(readFileSync(CRD_PATH, 'utf8'))) });
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

  const controller = new HsrController({
    kubeConfig: kc,
    coordination: store,
    clock: realClock,
    namespace: 'hana',
    resyncIntervalMs: 40,
    kubeTimeoutMs: 2000,
  });
  cleanup.push(() => controller.stop());
  await controller.start();
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: 'hanasr.io',
    version: 'v1alpha1',
    plural: 'hanasystemreplications',
    namespace: 'hana',
    body: {
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
    },
  });

  // Settled: the pod is labelled (the last write of a reconcile), then a few more reconciles.
  const podRole = async () =>
    (await core.readNamespacedPod({ namespace: 'hana', name: 'hana-b-0' })).metadata?.labels?.[
      'hanasr.io/role'
    ];
  const deadline = Date.now() + 8000;
  while ((await podRole()) !== 'secondary' && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  expect(await podRole()).toBe('secondary');
  let from = controller.reconciles;
  await eventually(() => controller.reconciles >= from + 3, 8000);

  const writes = ['POST', 'PUT', 'PATCH', 'DELETE'];
  for (const method of writes) server.faults.failNext(1000, { method });
  from = controller.reconciles;
  await eventually(() => controller.reconciles >= from + 10, 8000);
  expect(server.faults.injected).toBe(0);

  // A change in the store is written at the next reconcile.
  server.faults.clear();
  const status = async () =>
    JSON.stringify(
      (
        (await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
          group: 'hanasr.io',
          version: 'v1alpha1',
          plural: 'hanasystemreplications',
          namespace: 'hana',
          name: 'ha1',
        })) as { status?: unknown }
      ).status,
    );
  const settled = await status();
  // (A report time alone is a heartbeat, written only when 60 s behind: a real change here.)
  await b.publishReport(report('B', secondaryHealth('A'), { observedAt: Date.now() + 1000, fenced: true }));
  const changed = Date.now() + 8000;
  while ((await status()) === settled && Date.now() < changed) await new Promise((r) => setTimeout(r, 20));
  expect(await status()).not.toBe(settled);
});
