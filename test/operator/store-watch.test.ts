/**
 * The operator reconciles on the coordination store's watch (src/operator/store-watch.ts), not
 * only on its resync: with a resync of one hour, a new leader moves the `-rw` Service and a
 * changed report reaches the status. Against the fake Kubernetes API over HTTP (real client-node)
 * and the in-memory store with watches; a store without watches is the control case. A broken
 * watch is logged and reopened.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { realClock } from '../../src/clock.js';
import { MemoryCoordination } from '../../src/coordination/memory.js';
import type { CoordinationSession } from '../../src/coordination/port.js';
import { startFakeApiServer, type FakeApiServer } from '../../src/standins/kube-api/index.js';
import { HsrController } from '../../src/operator/controller.js';
import { reportDigest } from '../../src/operator/store-watch.js';
import { crdModel } from '../kube/fakeapi/support.js';
import { link, primaryHealth, report, secondaryHealth, syncRecord } from './fixtures.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const CRD_PATH = new URL('../../charts/hanasr/crds/hanasr.io_hanasystemreplications.yaml', import.meta.url);
const HOUR = 3_600_000;

let server: FakeApiServer;
let custom: CustomObjectsApi;
let core: CoreV1Api;
const cleanup: (() => Promise<void>)[] = [];
const logs: { level: string; message: string }[] = [];

async function serviceSite(namespace: string, name: string): Promise<string | undefined> {
  try {
    const svc = await core.readNamespacedService({ namespace, name: `${name}-rw` });
    return svc.spec?.selector?.['hanasr.io/site'];
  } catch {
    return undefined;
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 8000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`not reached in time: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function landscape(namespace: string, watches: boolean) {
  const store = new MemoryCoordination(realClock, { watches });
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const cluster = `${namespace}.ha1`;
  const a = store.session(cluster, 'A', 30);
  const b = store.session(cluster, 'B', 30);
  await a.start();
  await b.start();
  await a.publishReport(
    report('A', primaryHealth([link('B')]), { observedAt: Date.now(), leader: true, epoch: 1 }),
  );
  await b.publishReport(report('B', secondaryHealth('A'), { observedAt: Date.now(), epoch: 1 }));
  await a.acquireLeader(0, Date.now());
  await a.writeSync(1, [syncRecord('B', 1)]);
  const controller = new HsrController({
    kubeConfig: server.kubeConfig(),
    coordination: store,
    clock: realClock,
    namespace,
    resyncIntervalMs: HOUR,
    kubeTimeoutMs: 2000,
    retryBaseDelayMs: 20,
    retryMaxDelayMs: 200,
    log: (level, message) => logs.push({ level, message }),
  });
  await controller.start();
  cleanup.push(async () => {
    await controller.stop();
    await store.close();
  });
  await custom.createNamespacedCustomObject({
    group: 'hanasr.io',
    version: 'v1alpha1',
    plural: 'hanasystemreplications',
    namespace,
    body: {
      apiVersion: 'hanasr.io/v1alpha1',
      kind: 'HanaSystemReplication',
      metadata: { name: 'ha1', namespace },
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
  await waitFor('the Service on A', async () =>
    (await serviceSite(namespace, 'ha1')) === 'A' ? true : undefined,
  );
  return { store, a, b, controller };
}

/** Waits until no reconcile ran for 300 ms and nothing is queued; returns the reconcile count. */
async function quiet(controller: HsrController): Promise<number> {
  let reconciles = -1;
  return waitFor('the reconciles to settle', async () => {
    const settled = controller.reconciles === reconciles && controller.queue.size === 0;
    reconciles = controller.reconciles;
    await new Promise((r) => setTimeout(r, 300));
    return settled ? reconciles : undefined;
  });
}

async function getHsr(namespace: string): Promise<Obj> {
  return (await custom.getNamespacedCustomObject({
    group: 'hanasr.io',
    version: 'v1alpha1',
    plural: 'hanasystemreplications',
    namespace,
    name: 'ha1',
  })) as Obj;
}

/** B takes the key from A as a takeover would: A hands it back, B acquires it and reports as primary. */
async function takeover(a: CoordinationSession, b: CoordinationSession): Promise<void> {
  await a.releaseLeader(1);
  await b.acquireLeader(1, Date.now());
}

beforeAll(async () => {
  server = await startFakeApiServer();
  const kc = server.kubeConfig();
  custom = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
  await kc
    .makeApiClient(ApiextensionsV1Api)
    .createCustomResourceDefinition({ body: crdModel(parse(readFileSync(CRD_PATH, 'utf8'))) });
});

afterAll(async () => {
  for (const c of cleanup) await c();
  await server?.close();
});

describe('reconcile on the store watch', () => {
  it('moves the -rw Service to the new leader with a resync of one hour', async () => {
    const { a, b, controller } = await landscape('sw-rw', true);
    expect(controller.storeTrigger.open).toBe(true);
    await takeover(a, b);
    await waitFor('the Service on B', async () =>
      (await serviceSite('sw-rw', 'ha1')) === 'B' ? true : undefined,
    );
  });

  it('brings a changed report into the status, and ignores a report whose only change is its timestamps', async () => {
    const { b, controller } = await landscape('sw-report', true);
    await b.publishReport(report('B', secondaryHealth('A'), { observedAt: Date.now(), epoch: 1 }));
    await new Promise((r) => setTimeout(r, 100));
    const queued = controller.storeTrigger.queued;
    await b.publishReport(report('B', secondaryHealth('A'), { observedAt: Date.now() + 1, epoch: 1 }));
    await b.publishReport(report('B', secondaryHealth('A'), { observedAt: Date.now() + 2, epoch: 1 }));
    await new Promise((r) => setTimeout(r, 100));
    expect(controller.storeTrigger.queued).toBe(queued);
    await b.publishReport(
      report('B', secondaryHealth('A', { running: false, probeOk: false }), {
        observedAt: Date.now(),
        epoch: 1,
        failedProbes: 1,
      }),
    );
    await waitFor('B not running in the status', async () => {
      const o = (await custom.getNamespacedCustomObject({
        group: 'hanasr.io',
        version: 'v1alpha1',
        plural: 'hanasystemreplications',
        namespace: 'sw-report',
        name: 'ha1',
      })) as Obj;
      const sites = (o['status']?.['sites'] ?? []) as Obj[];
      const site = sites.find((s) => s['name'] === 'B');
      return site !== undefined && site['hanaStatus'] !== 'running' ? true : undefined;
    });
    expect(controller.storeTrigger.queued).toBeGreaterThan(queued);
  });

  it('without a store watch the Service waits for the resync (the control case)', async () => {
    const { a, b, controller } = await landscape('sw-none', false);
    expect(controller.storeTrigger.supported).toBe(false);
    expect(controller.resyncPeriodMs).toBe(HOUR);
    // Let the reconciles of the creation (and of the operator's own writes) run out first.
    let reconciles = -1;
    await waitFor('the reconciles to settle', async () => {
      const settled = controller.reconciles === reconciles && controller.queue.size === 0;
      reconciles = controller.reconciles;
      await new Promise((r) => setTimeout(r, 300));
      return settled ? true : undefined;
    });
    await takeover(a, b);
    await new Promise((r) => setTimeout(r, 500));
    expect(await serviceSite('sw-none', 'ha1')).toBe('A');
    expect(controller.reconciles).toBe(reconciles);
  });

  it('its own status write does not come back as a reconcile; an annotation or spec change does', async () => {
    const { b, controller } = await landscape('sw-own', true);
    const r0 = await quiet(controller);
    const ignored = controller.ownStatusWritesIgnored;
    // One report change: one reconcile, which writes the status; the informer's event for that
    // write carries nothing new and must not queue a second one.
    await b.publishReport(
      report('B', secondaryHealth('A', { running: false, probeOk: false }), {
        observedAt: Date.now(),
        epoch: 1,
        failedProbes: 1,
      }),
    );
    await waitFor('B not running in the status', async () => {
      const sites = ((await getHsr('sw-own'))['status']?.['sites'] ?? []) as Obj[];
      const site = sites.find((s) => s['name'] === 'B');
      return site !== undefined && site['hanaStatus'] !== 'running' ? true : undefined;
    });
    const r1 = await quiet(controller);
    expect(r1).toBe(r0 + 1);
    expect(controller.ownStatusWritesIgnored).toBe(ignored + 1);
    // Someone else's change to the object (an annotation, then the spec) is reconciled.
    const edit = async (change: (o: Obj) => void) => {
      const o = await getHsr('sw-own');
      change(o);
      delete o['status'];
      await custom.replaceNamespacedCustomObject({
        group: 'hanasr.io',
        version: 'v1alpha1',
        plural: 'hanasystemreplications',
        namespace: 'sw-own',
        name: 'ha1',
        body: o,
      });
    };
    await edit((o) => (o['metadata']['annotations'] = { 'example.com/note': 'hello' }));
    await waitFor('a reconcile of the annotation', async () =>
      controller.reconciles > r1 ? true : undefined,
    );
    const r2 = await quiet(controller);
    await edit((o) => (o['spec']['sites'][1]['host'] = 'hana-b2'));
    await waitFor('a reconcile of the spec', async () => (controller.reconciles > r2 ? true : undefined));
  });

  it('a broken store watch is logged and reopened, and then moves the Service again', async () => {
    const { store, a, b, controller } = await landscape('sw-broken', true);
    // The resync runs three times less often while the watch is open, at its base period when not.
    expect(controller.resyncPeriodMs).toBe(3 * HOUR);
    store.setAvailable(false);
    await waitFor('the watch down', async () => (controller.storeTrigger.open ? undefined : true));
    expect(controller.resyncPeriodMs).toBe(HOUR);
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: 'coordination watch down, reconciling on the resync until it is back',
      }),
    );
    store.setAvailable(true);
    await waitFor('the watch open', async () => (controller.storeTrigger.open ? true : undefined));
    await takeover(a, b);
    await waitFor('the Service on B', async () =>
      (await serviceSite('sw-broken', 'ha1')) === 'B' ? true : undefined,
    );
  });
});

describe('reportDigest', () => {
  it('changes with what the status shows, not with timestamps', () => {
    const r = report('B', secondaryHealth('A'), { observedAt: 1 });
    expect(reportDigest({ ...r, observedAt: 2, leaseRenewedAt: 5, lastWritableAt: 9 })).toBe(reportDigest(r));
    expect(reportDigest({ ...r, leader: true })).not.toBe(reportDigest(r));
    expect(reportDigest(report('B', secondaryHealth('A', { srRole: 'primary' })))).not.toBe(reportDigest(r));
    expect(reportDigest(report('A', primaryHealth([link('B', { status: 'ERROR' })])))).not.toBe(
      reportDigest(report('A', primaryHealth([link('B')]))),
    );
    expect(reportDigest(null)).toBe('none');
  });
});
