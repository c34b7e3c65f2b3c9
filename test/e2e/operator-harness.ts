/**
 * The end-to-end rig of the operator tests: the fake Kubernetes API over HTTP (real client-node),
 * the CRD from the chart, the operator started in-process with startOperator, and a HANA
 * landscape simulated on the real clock with one real Agent per site (SimDirectPort) on a
 * shared coordination store. The agents read their spec from the store, as the operator
 * published it, so spec changes (maintenance) reach them only through the operator.
 */
import { readFileSync } from 'node:fs';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { parse } from 'yaml';
import { Agent, type AgentEvent } from '../../src/agent/agent.js';
import { findCondition, type HanaSystemReplicationStatus } from '../../src/api/resource.js';
import { parseSpec, type HanaSystemReplicationSpec } from '../../src/api/spec.js';
import { realClock } from '../../src/clock.js';
import { MemoryCoordination } from '../../src/coordination/memory.js';
import type { Coordination } from '../../src/coordination/port.js';
import { SimDirectPort } from '../../src/standins/hana-sim/direct-port.js';
import { SimLandscape } from '../../src/standins/hana-sim/model.js';
import { startFakeApiServer, type FakeApiServer } from '../../src/standins/kube-api/index.js';
import {
  startOperator,
  type OperatorConfigInput,
  type OperatorDeps,
  type OperatorHandle,
} from '../../src/operator/run.js';
import { crdModel } from '../kube/fakeapi/support.js';
import { simPeerView } from '../../rigs/sim-bridge.js';

export type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const CRD_PATH = new URL('../../charts/hanasr/crds/hanasr.io_hanasystemreplications.yaml', import.meta.url);
export const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
export const NAMESPACE = 'hana';
export const NAME = 'ha1';
export const CLUSTER = `${NAMESPACE}.${NAME}`;

/** The HA spec of the tests: probes every 0.2 s, lease TTL 2 s. */
export function specInput(extra: Obj = {}): Obj {
  return {
    sid: 'HA1',
    instanceNumber: '00',
    sites: [
      { name: 'A', host: 'hana-a' },
      { name: 'B', host: 'hana-b' },
    ],
    probes: { intervalSeconds: 0.2, timeoutSeconds: 0.5 },
    lease: { ttlSeconds: 2 },
    ...extra,
  };
}

export function manifest(extra: Obj = {}, name = NAME): Obj {
  return {
    apiVersion: 'hanasr.io/v1alpha1',
    kind: 'HanaSystemReplication',
    metadata: { name, namespace: NAMESPACE },
    spec: specInput(extra),
  };
}

/** Polls `read` until `check` holds (a deadline, not a timing assertion). */
export async function until<T>(
  what: string,
  read: () => Promise<T>,
  check: (value: T) => boolean,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T | undefined;
  let error: unknown;
  for (;;) {
    try {
      last = await read();
      error = undefined;
      if (check(last)) return last;
    } catch (err) {
      error = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${what}: not reached in time; last: ${error !== undefined ? String(error) : JSON.stringify(last)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function cond(o: Obj | undefined, type: string): [string, string] | undefined {
  const c = findCondition(o?.['status'] as HanaSystemReplicationStatus | undefined, type as 'Ready');
  return c === undefined ? undefined : [c.status, c.reason];
}

export interface Landscape {
  readonly model: SimLandscape;
  readonly agents: Map<string, Agent>;
  readonly events: AgentEvent[];
  /** The spec the agents follow right now (from the store). */
  spec(): HanaSystemReplicationSpec;
  stop(): Promise<void>;
}

/** A simulated landscape with A primary, one real Agent per site on the real clock. */
export async function startLandscape(
  coordination: Coordination,
  cluster = CLUSTER,
  extra: Obj = {},
  /** Seconds a simulated StartSystem takes (the simulator's default: 30, on the real clock here). */
  startSeconds?: number,
): Promise<Landscape> {
  let spec = parseSpec(specInput(extra));
  const model = new SimLandscape({
    sid: spec.sid,
    instanceNumber: spec.instanceNumber,
    sites: spec.sites.map((s) => ({ name: s.name, host: s.host })),
    initialPrimary: 'A',
    mode: spec.replication.mode,
    operationMode: spec.replication.operationMode,
    logShippingTimeoutSeconds: spec.replication.logShippingTimeoutSeconds,
    clock: realClock,
    seed: 7,
    writesPerSecond: 20,
    ...(startSeconds !== undefined ? { startSeconds } : {}),
  });
  // The agents follow the spec the operator publishes.
  let polling = true;
  const poll = async (): Promise<void> => {
    while (polling) {
      try {
        const state = await coordination.read(cluster);
        if (state.spec !== undefined) spec = parseSpec(state.spec);
      } catch {
        // the store is unreachable: keep the last spec, as an agent does
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const polled = poll();
  const events: AgentEvent[] = [];
  const agents = new Map<string, Agent>();
  for (const site of spec.sites) {
    const agent = new Agent({
      cluster,
      site: site.name,
      spec: () => spec,
      hana: new SimDirectPort(model.site(site.name)),
      coordination,
      clock: realClock,
      peers: {
        check: (peer, signal) => simPeerView(model, site.name, peer, signal),
      },
      onEvent: (e) => events.push(e),
      storeTimeoutMs: 500,
      actionTimeoutMs: 5000,
    });
    agents.set(site.name, agent);
  }
  for (const agent of agents.values()) await agent.start();
  return {
    model,
    agents,
    events,
    spec: () => spec,
    async stop() {
      polling = false;
      await polled;
      for (const agent of agents.values()) await agent.stop();
      model.dispose();
    },
  };
}

export interface Rig {
  readonly server: FakeApiServer;
  readonly custom: CustomObjectsApi;
  readonly core: CoreV1Api;
  readonly store: MemoryCoordination;
  readonly landscape: Landscape;
  readonly operator: OperatorHandle;
  readonly logs: { level: string; message: string; fields: Record<string, unknown> }[];
  get(name?: string): Promise<Obj>;
  /** Waits until the resource satisfies `check`; returns it. */
  waitFor(check: (o: Obj) => boolean, ms?: number, name?: string): Promise<Obj>;
  eventReasons(name?: string): Promise<string[]>;
  events(name?: string): Promise<Obj[]>;
  serviceSelector(svc: string): Promise<Record<string, string> | undefined>;
  podRoles(): Promise<Record<string, string | undefined>>;
  stop(): Promise<void>;
}

export const ref = { group: 'hanasr.io', version: 'v1alpha1', plural: 'hanasystemreplications' };

/** Starts the fake API server (CRD, namespace, site pods), a landscape and the operator. */
export async function startRig(
  options: {
    config?: Partial<OperatorConfigInput>;
    apply?: Obj | null;
    /** Spec fields over specInput() for the simulated landscape (apply a manifest with the same). */
    spec?: Obj;
    /** The operator's environment and log stream (then `logs` stays empty: the lines go there). */
    deps?: Pick<OperatorDeps, 'env' | 'logStream'>;
    /** Seconds a simulated StartSystem takes (default 30). */
    startSeconds?: number;
    /** The API URL the operator uses instead of the server's (e.g. a proxy in front of it). */
    operatorApi?: (serverUrl: string) => Promise<string>;
  } = {},
): Promise<Rig> {
  const server = await startFakeApiServer();
  const kc = server.kubeConfig();
  let operatorKc = kc;
  if (options.operatorApi !== undefined) {
    const url = await options.operatorApi(server.url);
    operatorKc = new KubeConfig();
    operatorKc.loadFromOptions({
      clusters: [{ name: 'operator', server: url, skipTLSVerify: true }],
      users: [{ name: 'operator', token: 'operator-token' }],
      contexts: [{ name: 'operator', cluster: 'operator', user: 'operator', namespace: 'default' }],
      currentContext: 'operator',
    });
  }
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
  await kc
    .makeApiClient(ApiextensionsV1Api)
    .createCustomResourceDefinition({ body: crdModel(parse(readFileSync(CRD_PATH, 'utf8'))) });
  for (const site of ['A', 'B']) {
    await core.createNamespacedPod({
      namespace: NAMESPACE,
      body: {
        metadata: {
          name: `${NAME}-${site.toLowerCase()}`,
          labels: { 'hanasr.io/cluster': NAME, 'hanasr.io/site': site },
        },
        spec: { containers: [{ name: 'hana', image: 'hana:test' }] },
      },
    });
  }
  const store = new MemoryCoordination(realClock);
  const landscape = await startLandscape(store, CLUSTER, options.spec, options.startSeconds);
  const logs: Rig['logs'] = [];
  const operator = await startOperator(
    {
      coordination: 'memory',
      bindAddress: '127.0.0.1',
      healthPort: 0,
      metricsPort: 0,
      resyncIntervalSeconds: 0.2,
      kubeTimeoutSeconds: 2,
      watchNamespace: NAMESPACE,
      podName: 'operator-0',
      ...options.config,
    },
    {
      kubeConfig: operatorKc,
      coordination: store,
      ...options.deps,
      ...(options.deps?.logStream === undefined
        ? { log: (level, message, fields) => logs.push({ level, message, fields }) }
        : {}),
    },
  );
  if (options.apply !== null) {
    await custom.createNamespacedCustomObject({
      ...ref,
      namespace: NAMESPACE,
      body: options.apply ?? manifest(),
    });
  }
  const get = async (name = NAME) =>
    (await custom.getNamespacedCustomObject({ ...ref, namespace: NAMESPACE, name })) as Obj;
  const events = async (name = NAME) =>
    // In the order they were recorded (resourceVersion grows with every write).
    (await core.listNamespacedEvent({ namespace: NAMESPACE })).items
      .filter((e) => e.involvedObject.name === name)
      .sort(
        (a, b) => Number(a.metadata?.resourceVersion) - Number(b.metadata?.resourceVersion),
      ) as unknown as Obj[];
  return {
    server,
    custom,
    core,
    store,
    landscape,
    operator,
    logs,
    get,
    waitFor: (check, ms, name) => until(`resource ${name ?? NAME}`, () => get(name), check, ms),
    events,
    eventReasons: async (name) => (await events(name)).map((e) => String(e['reason'])),
    async serviceSelector(svc) {
      try {
        return (await core.readNamespacedService({ namespace: NAMESPACE, name: svc })).spec?.selector;
      } catch {
        return undefined;
      }
    },
    async podRoles() {
      const pods = await core.listNamespacedPod({ namespace: NAMESPACE });
      return Object.fromEntries(
        pods.items.map((p) => [
          p.metadata?.labels?.['hanasr.io/site'] ?? '',
          p.metadata?.labels?.['hanasr.io/role'],
        ]),
      );
    },
    async stop() {
      await operator.stop();
      await landscape.stop();
      await store.close();
      await server.close();
    },
  };
}
