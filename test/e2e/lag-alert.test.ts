/**
 * Lag alert end to end, on the real clock: the HANA simulator builds replication lag (a slow link
 * into the async secondary B), the primary's Agent reports it, its hanasr_replication_lag_seconds
 * rises on /metrics, the operator's reconcile (fake Kubernetes API over HTTP, real client-node)
 * sets ReplicationLagHigh and records the Event, and the webhook receiver gets exactly one firing
 * and one resolved notification once the link is back to normal.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { Agent } from '../../src/agent/agent.js';
import { AgentMetrics } from '../../src/agent/metrics.js';
import { findCondition, type HanaSystemReplicationStatus } from '../../src/api/resource.js';
import { parseSpec } from '../../src/api/spec.js';
import { realClock } from '../../src/clock.js';
import { MemoryCoordination } from '../../src/coordination/memory.js';
import { SimDirectPort } from '../../src/standins/hana-sim/direct-port.js';
import { SimLandscape } from '../../src/standins/hana-sim/model.js';
import { startFakeApiServer, type FakeApiServer } from '../../src/standins/kube-api/index.js';
import { WebhookNotifier, type WebhookPayload } from '../../src/notify/webhook.js';
import { metricsHandler, startHttpServer, type RunningHttpServer } from '../../src/net/http-server.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { HsrController, defaultClusterKey } from '../../src/operator/controller.js';
import { crdModel } from '../kube/fakeapi/support.js';

const CRD_PATH = new URL('../../charts/hanasr/crds/hanasr.io_hanasystemreplications.yaml', import.meta.url);
const NS = 'lag';
const NAME = 'ha1';
const SPEC_INPUT = {
  sid: 'HA1',
  instanceNumber: '00',
  sites: [
    { name: 'A', host: 'hana-a' },
    { name: 'B', host: 'hana-b' },
  ],
  replication: { mode: 'async', operationMode: 'logreplay', logShippingTimeoutSeconds: 30 },
  probes: { intervalSeconds: 0.2, timeoutSeconds: 0.5 },
  lease: { ttlSeconds: 3 },
  alerts: { lagWarningSeconds: 2, lagCriticalSeconds: 5, forSeconds: 1 },
};

let api: FakeApiServer;
let landscape: SimLandscape;
let store: MemoryCoordination;
let agents: Agent[] = [];
let controller: HsrController;
let metricsServer: RunningHttpServer;
let receiver: Server;
const notifications: WebhookPayload[] = [];

/** Polls until `probe` returns a value (a deadline, not a timing assertion). */
async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function scrapeLag(): Promise<number | undefined> {
  const text = await (await fetch(`${metricsServer.url}/metrics`)).text();
  const m = /^hanasr_replication_lag_seconds\{namespace="lag",cluster="ha1",site="B"\} (\S+)$/m.exec(text);
  return m?.[1] !== undefined ? Number(m[1]) : undefined;
}

async function lagCondition(): Promise<string | undefined> {
  const custom = api.kubeConfig().makeApiClient(CustomObjectsApi);
  const obj = (await custom.getNamespacedCustomObject({
    group: 'hanasr.io',
    version: 'v1alpha1',
    plural: 'hanasystemreplications',
    namespace: NS,
    name: NAME,
  })) as { status?: HanaSystemReplicationStatus };
  const c = findCondition(obj.status, 'ReplicationLagHigh');
  return c === undefined ? undefined : `${c.status}/${c.reason}`;
}

async function eventReasons(): Promise<string[]> {
  const core = api.kubeConfig().makeApiClient(CoreV1Api);
  const list = await core.listNamespacedEvent({ namespace: NS });
  return list.items
    .filter((e) => e.reason === 'ReplicationLagHigh' || e.reason === 'ReplicationRecovered')
    .map((e) => `${e.reason}x${e.count ?? 1}`)
    .sort();
}

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      notifications.push(JSON.parse(body) as WebhookPayload);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));

  api = await startFakeApiServer();
  const kc = api.kubeConfig();
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NS } } });
  await kc
    .makeApiClient(ApiextensionsV1Api)
    .createCustomResourceDefinition({ body: crdModel(parse(readFileSync(CRD_PATH, 'utf8'))) });

  landscape = new SimLandscape({
    sid: 'HA1',
    instanceNumber: '00',
    sites: SPEC_INPUT.sites,
    initialPrimary: 'A',
    mode: 'async',
    operationMode: 'logreplay',
    logShippingTimeoutSeconds: 30,
    clock: realClock,
    seed: 6,
    writesPerSecond: 20,
  });
  store = new MemoryCoordination(realClock);
  const spec = parseSpec(SPEC_INPUT);
  const metrics = createMetrics(undefined, { version: 'e2e' });
  metricsServer = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    handle: metricsHandler(metrics.registry),
  });
  const cluster = defaultClusterKey(NS, NAME);
  agents = ['A', 'B'].map(
    (site) =>
      new Agent({
        cluster,
        site,
        spec: () => spec,
        hana: new SimDirectPort(landscape.site(site)),
        coordination: store,
        clock: realClock,
        metrics: new AgentMetrics({ metrics, namespace: NS, cluster: NAME, site }),
      }),
  );
  for (const a of agents) await a.start();

  controller = new HsrController({
    kubeConfig: kc,
    coordination: store,
    clock: realClock,
    namespace: NS,
    resyncIntervalMs: 100,
    kubeTimeoutMs: 2000,
    retryBaseDelayMs: 20,
    retryMaxDelayMs: 200,
    informerRestartDelayMs: 20,
    lagNotifier: new WebhookNotifier({
      url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
      timeoutMs: 2000,
      baseDelayMs: 20,
    }),
  });
  await controller.start();
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: 'hanasr.io',
    version: 'v1alpha1',
    plural: 'hanasystemreplications',
    namespace: NS,
    body: {
      apiVersion: 'hanasr.io/v1alpha1',
      kind: 'HanaSystemReplication',
      metadata: { name: NAME },
      spec: SPEC_INPUT,
    },
  });
});

afterAll(async () => {
  await controller?.stop();
  for (const a of agents) await a.stop();
  landscape?.dispose();
  await metricsServer?.close();
  await api?.close();
  receiver?.closeAllConnections();
  await new Promise((r) => receiver?.close(r));
});

describe('replication lag alert, end to end', () => {
  it('fires once when the simulator builds lag, resolves once when the link recovers', async () => {
    await until('a healthy start', async () =>
      (await lagCondition()) === 'False/LagBelowThresholds' && (await scrapeLag()) !== undefined
        ? true
        : undefined,
    );
    expect(await scrapeLag()).toBeLessThan(2);

    landscape.setLinkSlowdown('B', 5000);
    const risen = await until('the lag metric to rise above the warning threshold', async () => {
      const lag = await scrapeLag();
      return lag !== undefined && lag >= 2 ? lag : undefined;
    });
    expect(risen).toBeGreaterThanOrEqual(2);

    await until('the firing notification', () => (notifications.length > 0 ? true : undefined));
    landscape.setLinkSlowdown('B', 1);
    expect(notifications[0]).toMatchObject({
      version: '4',
      status: 'firing',
      alerts: [
        { labels: { alertname: 'HanaSRReplicationLagWarning', namespace: NS, cluster: NAME, site: 'B' } },
      ],
    });
    await until('the condition', async () =>
      (await lagCondition())?.startsWith('True/') === true ? true : undefined,
    );

    await until('the resolved notification', () =>
      notifications.some((n) => n.status === 'resolved') ? true : undefined,
    );
    await until('the condition to clear', async () =>
      (await lagCondition()) === 'False/LagBelowThresholds' ? true : undefined,
    );
    await until('the recovery Event', async () =>
      (await eventReasons()).some((r) => r.startsWith('ReplicationRecovered')) ? true : undefined,
    );
    // Let a few more reconciles and agent cycles run: nothing new may be sent or recorded.
    const reconciles = controller.reconciles;
    await until('more reconciles', () => (controller.reconciles >= reconciles + 5 ? true : undefined));
    expect((await scrapeLag()) ?? Infinity).toBeLessThan(2);
    expect(notifications.map((n) => `${n.status}:${n.alerts[0]?.labels['alertname']}`)).toEqual([
      'firing:HanaSRReplicationLagWarning',
      'resolved:HanaSRReplicationLagWarning',
    ]);
    expect(await eventReasons()).toEqual(['ReplicationLagHighx1', 'ReplicationRecoveredx1']);
  });
});
