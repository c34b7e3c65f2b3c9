/**
 * Two operator replicas (startOperator, etcd coordination) against a real one-member etcd: one
 * reconciles, the other waits; when the active one stops (resigns), the standby wins the
 * election and reconciles — a takeover after the switch is reported by the new active replica.
 * The agents use the same etcd.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeApiServer, type FakeApiServer } from '../../src/standins/kube-api/index.js';
import { createEtcdCoordination, type EtcdCoordination } from '../../src/coordination/etcd.js';
import { startOperator, type OperatorHandle } from '../../src/operator/run.js';
import { EtcdCluster } from '../../rigs/etcd.js';
import { readFileSync } from 'node:fs';
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { crdModel } from '../kube/fakeapi/support.js';
import { cond, manifest, ref, startLandscape, until, type Landscape, type Obj } from './operator-harness.js';

let etcd: EtcdCluster;
let server: FakeApiServer;
let agentsStore: EtcdCoordination;
let landscape: Landscape;
const operators: OperatorHandle[] = [];

const PREFIX = '/hanasr-standby';

beforeAll(async () => {
  etcd = await EtcdCluster.start({ members: 1 });
  server = await startFakeApiServer();
  const kc = server.kubeConfig();
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: 'hana' } } });
  const crd = parse(
    readFileSync(
      new URL('../../charts/hanasr/crds/hanasr.io_hanasystemreplications.yaml', import.meta.url),
      'utf8',
    ),
  );
  await kc.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({ body: crdModel(crd) });
  agentsStore = createEtcdCoordination({
    endpoints: etcd.endpoints,
    keyPrefix: PREFIX,
    leaseTtlSeconds: 2,
    callTimeoutMs: 500,
  });
  landscape = await startLandscape(agentsStore);
}, 30_000);

afterAll(async () => {
  for (const op of operators) await op.stop();
  await landscape.stop();
  await agentsStore.close();
  await server.close();
  await etcd.stop();
}, 30_000);

function replica(pod: string): Promise<OperatorHandle> {
  return startOperator(
    {
      coordination: 'etcd',
      etcd: { endpoints: etcd.endpoints, prefix: PREFIX, callTimeoutMs: 500 },
      electionTtlSeconds: 2,
      bindAddress: '127.0.0.1',
      healthPort: 0,
      metricsPort: 0,
      resyncIntervalSeconds: 0.2,
      kubeTimeoutSeconds: 2,
      watchNamespace: 'hana',
      podName: pod,
    },
    { kubeConfig: server.kubeConfig(), log: () => undefined },
  );
}

describe('operator e2e: standby replica', () => {
  it('lets the standby reconcile once the active replica stops', async () => {
    const first = await replica('operator-0');
    operators.push(first);
    await until(
      'operator-0 leads',
      async () => first.isLeader(),
      (l) => l,
    );
    const second = await replica('operator-1');
    operators.push(second);
    const custom = server.kubeConfig().makeApiClient(CustomObjectsApi);
    await custom.createNamespacedCustomObject({ ...ref, namespace: 'hana', body: manifest() });
    const get = async () =>
      (await custom.getNamespacedCustomObject({ ...ref, namespace: 'hana', name: 'ha1' })) as Obj;
    await until('Ready', get, (x) => cond(x, 'Ready')?.[0] === 'True', 15_000);
    expect(second.isLeader()).toBe(false);
    expect((await fetch(`${second.healthUrl}/readyz`, { signal: AbortSignal.timeout(2000) })).status).toBe(
      200,
    );

    await first.stop();
    await until(
      'operator-1 leads',
      async () => second.isLeader(),
      (l) => l,
      15_000,
    );

    // Only the new active replica can tell this takeover's story.
    await until(
      'B in sync',
      () => agentsStore.read('hana.ha1'),
      (st) => st.sync['B']?.state === 'SOK' && st.reports['A']?.lastDecision?.reason === 'leader_healthy',
    );
    landscape.model.crashInstance('A');
    const o = await until(
      'takeover reported',
      get,
      (x) => x['status']?.['currentPrimary'] === 'B' && cond(x, 'Ready')?.[0] === 'True',
      15_000,
    );
    expect(o['status']['lastTakeover']).toMatchObject({ from: 'A', to: 'B', outcome: 'succeeded' });
    const events = (
      await server.kubeConfig().makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: 'hana' })
    ).items;
    const succeeded = events.filter((e) => e.reason === 'TakeoverSucceeded');
    expect(succeeded.map((e) => e.reportingInstance)).toEqual(['operator-1']);
  });
});
