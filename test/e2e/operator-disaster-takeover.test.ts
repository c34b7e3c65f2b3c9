/**
 * Disaster takeover by annotation (docs/dr.md), end to end: the fake Kubernetes API over HTTP,
 * the DR region's operator on the DR region's store, two regions each with its own store, one
 * real Agent per site on the real clock with its RegionLink. While the active region answers the
 * request is refused (a switchover is lossless); once eu-west is lost (its nodes down, its store
 * unreachable) a request without the typed confirmation is refused, and one with it is carried out:
 * the Event reports the expected data loss, the region record moves to generation 2 and C is
 * promoted; nothing in eu-west runs as primary.
 */
import { readFileSync } from 'node:fs';
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { RegionLink } from '../../src/agent/region-link.js';
import { parseSpec } from '../../src/api/spec.js';
import { realClock } from '../../src/clock.js';
import { MemoryCoordination } from '../../src/coordination/memory.js';
import { CoordinationUnavailableError, type ClusterState } from '../../src/coordination/port.js';
import { SimDirectPort } from '../../src/standins/hana-sim/direct-port.js';
import { SimLandscape } from '../../src/standins/hana-sim/model.js';
import { startFakeApiServer, type FakeApiServer } from '../../src/standins/kube-api/index.js';
import { startOperator, type OperatorHandle } from '../../src/operator/run.js';
import { crdModel } from '../kube/fakeapi/support.js';
import { simPeerView } from '../../rigs/sim-bridge.js';
import { CLUSTER, merge, NAME, NAMESPACE, ref, until, type Obj } from './operator-harness.js';

const CRD_PATH = new URL('../../charts/hanasr/crds/hanasr.io_hanasystemreplications.yaml', import.meta.url);
const WEST = 'eu-west';
const NORTH = 'eu-north';
const specInput = {
  sid: 'HA1',
  instanceNumber: '00',
  sites: [
    { name: 'A', host: 'hana-a', region: WEST },
    { name: 'B', host: 'hana-b', region: WEST },
    { name: 'C', host: 'hana-c', region: NORTH },
  ],
  probes: { intervalSeconds: 0.2, timeoutSeconds: 0.5 },
  lease: { ttlSeconds: 2 },
  takeover: { automatedRegister: true },
};
const spec = parseSpec(specInput);

let server: FakeApiServer;
let custom: CustomObjectsApi;
let core: CoreV1Api;
let operator: OperatorHandle;
let model: SimLandscape;
const stores: Record<string, MemoryCoordination> = {
  [WEST]: new MemoryCoordination(realClock),
  [NORTH]: new MemoryCoordination(realClock),
};
let westReachable = true;
const agents = new Map<string, Agent>();

/** A region's store as the other region reaches it: fails while eu-west is lost. */
const remote = (region: string) => ({
  read: async (cluster: string): Promise<ClusterState> => {
    if (!westReachable) throw new CoordinationUnavailableError(`region ${region} unreachable`);
    return stores[region]!.read(cluster);
  },
});

beforeAll(async () => {
  server = await startFakeApiServer();
  const kc = server.kubeConfig();
  custom = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
  await kc
    .makeApiClient(ApiextensionsV1Api)
    .createCustomResourceDefinition({ body: crdModel(parse(readFileSync(CRD_PATH, 'utf8'))) });
  model = new SimLandscape({
    sid: spec.sid,
    instanceNumber: spec.instanceNumber,
    sites: [
      { name: 'A', host: 'hana-a' },
      { name: 'B', host: 'hana-b' },
      { name: 'C', host: 'hana-c', mode: 'async' },
    ],
    initialPrimary: 'A',
    mode: 'sync',
    operationMode: 'logreplay',
    logShippingTimeoutSeconds: 30,
    clock: realClock,
    seed: 7,
    writesPerSecond: 20,
  });
  for (const site of spec.sites) {
    const region = site.region!;
    const other = region === WEST ? NORTH : WEST;
    const agent = new Agent({
      cluster: CLUSTER,
      site: site.name,
      spec: () => spec,
      hana: new SimDirectPort(model.site(site.name)),
      coordination: stores[region]!,
      region: new RegionLink({
        cluster: CLUSTER,
        own: stores[region]!,
        peers: [{ region: other, store: remote(other) }],
        timeoutMs: 300,
        setTimer: (ms, fn) => realClock.setTimer(ms, fn),
      }),
      clock: realClock,
      peers: { check: (peer, signal) => simPeerView(model, site.name, peer, signal) },
      storeTimeoutMs: 500,
      actionTimeoutMs: 5000,
    });
    agents.set(site.name, agent);
  }
  for (const agent of agents.values()) await agent.start();
  // The DR region's operator: its own store, eu-west's read-only.
  operator = await startOperator(
    {
      coordination: 'memory',
      bindAddress: '127.0.0.1',
      healthPort: 0,
      metricsPort: 0,
      resyncIntervalSeconds: 0.2,
      kubeTimeoutSeconds: 2,
      watchNamespace: NAMESPACE,
      podName: 'operator-north-0',
    },
    {
      kubeConfig: kc,
      coordination: stores[NORTH]!,
      regionPeers: [{ region: WEST, store: remote(WEST) }],
      log: () => {},
    },
  );
  await custom.createNamespacedCustomObject({
    ...ref,
    namespace: NAMESPACE,
    body: {
      apiVersion: 'hanasr.io/v1alpha1',
      kind: 'HanaSystemReplication',
      metadata: { name: NAME, namespace: NAMESPACE },
      spec: specInput,
    },
  });
}, 30_000);

afterAll(async () => {
  await operator?.stop();
  for (const a of agents.values()) await a.stop().catch(() => {});
  model?.dispose();
  await stores[WEST]!.close();
  await stores[NORTH]!.close();
  await server?.close();
});

const get = async () =>
  (await custom.getNamespacedCustomObject({ ...ref, namespace: NAMESPACE, name: NAME })) as Obj;
const events = async () =>
  (await core.listNamespacedEvent({ namespace: NAMESPACE })).items
    .filter((e) => e.involvedObject.name === NAME)
    .sort((a, b) => Number(a.metadata?.resourceVersion) - Number(b.metadata?.resourceVersion));
const annotate = (annotations: Record<string, string>) =>
  custom.patchNamespacedCustomObject(
    { ...ref, namespace: NAMESPACE, name: NAME, body: { metadata: { annotations } } },
    merge,
  );

describe('operator e2e: disaster takeover to the DR region', () => {
  it('refuses while eu-west answers, then promotes C once it is lost, with the expected loss reported', async () => {
    // Steady state: eu-west active at generation 1, adopted by eu-north with C's last link report.
    await until(
      'eu-north adopted generation 1 and mirrored C',
      () => stores[NORTH]!.read(CLUSTER),
      (st) => st.region?.generation === 1 && st.region.active === WEST && st.regionSync?.['C'] !== undefined,
      15_000,
    );

    // Status shows this region's record and what a disaster takeover to C would lose.
    const before = await until(
      'status.region',
      get,
      (x) => x['status']?.['region']?.['expectedLoss'] !== undefined,
    );
    expect(before['status']['region']).toMatchObject({ generation: 1, active: WEST, by: 'adopted' });
    expect(before['status']['region']['expectedLoss'][0]).toMatchObject({ site: 'C' });

    await annotate({ 'hanasr.io/disaster-takeover': 'C', 'hanasr.io/disaster-confirm': NAME });
    await until('refused', events, (es) => es.some((e) => e.reason === 'IntentRefused'));
    const refused = (await events()).find((e) => e.reason === 'IntentRefused')!;
    expect(refused.message).toMatch(/active region eu-west answers: use a planned region switchover/);
    expect((await stores[NORTH]!.read(CLUSTER)).region?.generation).toBe(1);

    // eu-west is lost: its nodes go down, its store cannot be reached.
    westReachable = false;
    for (const s of ['A', 'B']) {
      agents.get(s)!.kill();
      model.crashNode(s);
    }
    // Nothing automatic: C stays a secondary.
    await new Promise((r) => setTimeout(r, 1500));
    expect(model.acceptsWrites('C')).toBe(false);

    // Without the typed confirmation: refused, with the expected loss in the message.
    await annotate({ 'hanasr.io/disaster-takeover': 'C' });
    await until('refused unconfirmed', events, (es) =>
      es.some((e) => e.reason === 'IntentRefused' && /typed confirmation/.test(e.message ?? '')),
    );
    const unconfirmed = (await events()).find((e) => /typed confirmation/.test(e.message ?? ''))!;
    expect(unconfirmed.message).toMatch(
      /expected data loss: C was .* behind at the last report, [\d.]+-[\d.]+ s ago \(clock skew bound 1 s\)/,
    );

    await annotate({ 'hanasr.io/disaster-takeover': 'C', 'hanasr.io/disaster-confirm': NAME });
    await until('requested', events, (es) => es.some((e) => e.reason === 'DisasterTakeoverRequested'));
    const requested = (await events()).find((e) => e.reason === 'DisasterTakeoverRequested')!;
    expect(requested.type).toBe('Warning');
    expect(requested.message).toMatch(/region eu-north is active at generation 2.*expected data loss: C was/);

    await until(
      'C writable',
      async () => model.acceptsWrites('C'),
      (w) => w === true,
      15_000,
    );
    const st = await stores[NORTH]!.read(CLUSTER);
    expect(st.region).toMatchObject({ generation: 2, active: NORTH, by: 'disaster' });
    expect(st.region?.loss?.site).toBe('C');
    expect(st.leader?.site).toBe('C');
    expect(st.intents).toEqual([]);
    const o = await until('status names C', get, (x) => x['status']?.['currentPrimary'] === 'C', 15_000);
    expect(o['metadata']['annotations']?.['hanasr.io/disaster-takeover']).toBeUndefined();
    expect(o['metadata']['annotations']?.['hanasr.io/disaster-confirm']).toBeUndefined();
    expect(model.writableSites()).toEqual(['C']);
    // Status and history record it.
    const done = await until(
      'history',
      get,
      (x) => x['status']?.['lastTakeover']?.['reason'] === 'DisasterTakeover',
      15_000,
    );
    expect(done['status']['region']).toMatchObject({ generation: 2, active: NORTH, by: 'disaster' });
    expect(done['status']['region']['lossMessage']).toMatch(/C was .* behind at the last report/);
    expect(done['status']['takeoverHistory'][0]).toMatchObject({
      to: 'C',
      reason: 'DisasterTakeover',
      outcome: 'succeeded',
    });
    await until('succeeded event', events, (es) => es.some((e) => e.reason === 'DisasterTakeoverSucceeded'));
  }, 90_000);
});
