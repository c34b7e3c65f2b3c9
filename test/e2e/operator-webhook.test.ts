/**
 * The operator's alert webhook, configured as in production (HANASR_ALERT_WEBHOOK_URL and
 * _TOKEN in its environment) and started with startOperator: the simulator builds lag on the
 * async secondary B, the receiver gets one firing and one resolved notification carrying the
 * bearer token, and the token appears nowhere else — not in the operator's log lines, its status
 * or its Events, even when a DBA pastes it into an annotation the operator quotes back.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookPayload } from '../../src/notify/webhook.js';
import { LineCollector, REDACTED } from '../../src/observability/log.js';
import { cond, manifest, merge, ref, startRig, until, type Rig } from './operator-harness.js';

const TOKEN = 'Webhook-Token-5d1e7';
const SPEC = {
  replication: { mode: 'async', operationMode: 'logreplay', logShippingTimeoutSeconds: 30 },
  alerts: { lagWarningSeconds: 2, lagCriticalSeconds: 5, forSeconds: 1 },
};

let rig: Rig;
let receiver: Server;
const out = new LineCollector();
const received: { authorization: string | undefined; payload: WebhookPayload }[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      received.push({
        authorization: req.headers.authorization,
        payload: JSON.parse(body) as WebhookPayload,
      });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  rig = await startRig({
    spec: SPEC,
    apply: manifest(SPEC),
    deps: {
      logStream: out,
      env: {
        HANASR_ALERT_WEBHOOK_URL: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
        HANASR_ALERT_WEBHOOK_TOKEN: TOKEN,
        HANASR_ALERT_WEBHOOK_TIMEOUT_MS: '2000',
      },
    },
  });
});

afterAll(async () => {
  await rig?.stop();
  receiver?.closeAllConnections();
  await new Promise((r) => receiver?.close(r));
});

describe('operator e2e: lag alert webhook', () => {
  it('delivers one firing and one resolved notification with the bearer token, and leaks it nowhere', async () => {
    await rig.waitFor(
      (x) => cond(x, 'ReplicationLagHigh')?.[0] === 'False' && cond(x, 'Ready')?.[0] === 'True',
    );

    // A DBA pastes the token into an annotation: the refusal quotes the value back.
    await rig.custom.patchNamespacedCustomObject(
      {
        ...ref,
        namespace: 'hana',
        name: 'ha1',
        body: { metadata: { annotations: { 'hanasr.io/planned-takeover': TOKEN } } },
      },
      merge,
    );
    const refused = await rig.waitFor((x) => cond(x, 'TakeoverInProgress')?.[1] === 'TakeoverRefused');

    rig.landscape.model.setLinkSlowdown('B', 5000);
    await until(
      'the firing notification',
      async () => received,
      (r) => r.some((n) => n.payload.status === 'firing'),
      20_000,
    );
    rig.landscape.model.setLinkSlowdown('B', 1);
    await until(
      'the resolved notification',
      async () => received,
      (r) => r.some((n) => n.payload.status === 'resolved'),
      30_000,
    );
    const o = await rig.waitFor((x) => cond(x, 'ReplicationLagHigh')?.[0] === 'False', 20_000);

    expect(received.map((n) => `${n.payload.status}:${n.payload.alerts[0]?.labels['alertname']}`)).toEqual([
      'firing:HanaSRReplicationLagWarning',
      'resolved:HanaSRReplicationLagWarning',
    ]);
    expect(received[0]?.payload.alerts[0]?.labels).toMatchObject({
      namespace: 'hana',
      cluster: 'ha1',
      site: 'B',
    });
    for (const n of received) expect(n.authorization).toBe(`Bearer ${TOKEN}`);

    const reasons = await rig.eventReasons();
    expect(reasons).toEqual(
      expect.arrayContaining(['IntentRefused', 'ReplicationLagHigh', 'ReplicationRecovered']),
    );
    const events = JSON.stringify(await rig.events());
    const condition = refused['status']['conditions'].find(
      (c: { type: string }) => c.type === 'TakeoverInProgress',
    );
    expect(condition.message).toContain(`hanasr.io/planned-takeover=${REDACTED} refused`);
    expect(events).toContain(`hanasr.io/planned-takeover=${REDACTED} refused`);

    await rig.operator.stop();
    const log = out.lines.join('\n');
    expect(out.objects().map((l) => l['message'])).toEqual(
      expect.arrayContaining(['IntentRefused', 'alert notification delivered', 'operator stopped']),
    );
    expect(log).toContain(REDACTED);
    for (const text of [log, events, JSON.stringify(refused), JSON.stringify(o)]) {
      expect(text).not.toContain(TOKEN);
    }
  });
});
