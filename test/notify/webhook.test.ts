/**
 * Webhook delivery against local HTTP receivers on 127.0.0.1: the Alertmanager payload, a
 * receiver that fails twice then accepts, one that hangs (per-POST timeout, bounded retries), one
 * that refuses (no retry), deduplication, and the token never logged.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LineCollector, createLogger } from '../../src/observability/log.js';
import type { LagAlertTransition } from '../../src/operator/alerts.js';
import {
  WebhookConfigError,
  WebhookNotifier,
  ZERO_TIME,
  fingerprint,
  webhookConfigFromEnv,
  type WebhookPayload,
} from '../../src/notify/webhook.js';

interface Receiver {
  url: string;
  requests: { headers: IncomingMessage['headers']; body: WebhookPayload }[];
  server: Server;
}

const receivers: Receiver[] = [];
afterEach(async () => {
  for (const r of receivers.splice(0)) {
    r.server.closeAllConnections();
    await new Promise((res) => r.server.close(res));
  }
});

/** A receiver whose n-th request (1-based) is answered by `answer` (true: handled, false: hang). */
async function receiver(
  answer: (n: number, res: ServerResponse) => boolean = (_n, res) => (res.end('ok'), true),
) {
  const requests: Receiver['requests'] = [];
  const server = createServer((req, res) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (data += c));
    req.on('end', () => {
      requests.push({ headers: req.headers, body: JSON.parse(data) as WebhookPayload });
      answer(requests.length, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const rec: Receiver = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`,
    requests,
    server,
  };
  receivers.push(rec);
  return rec;
}

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);
const CLUSTER = { namespace: 'hana', cluster: 'ha1' };
const firing: LagAlertTransition = {
  site: 'B',
  severity: 'warning',
  to: 'firing',
  activeAt: T0,
  lagSeconds: 12.34,
  lagBytes: 6400,
};
const resolved: LagAlertTransition = { ...firing, to: 'resolved', resolvedAt: T0 + 60_000, lagSeconds: 0.5 };
const fast = { baseDelayMs: 5, maxDelayMs: 20 };

describe('webhook notifier', () => {
  it('posts an Alertmanager v4 payload for firing, then resolved; the same state only once', async () => {
    const r = await receiver();
    const n = new WebhookNotifier({ url: r.url, token: 'tok-abcdef-123', ...fast });
    expect(await n.notifyLag(CLUSTER, [firing], { warning: 10 })).toMatchObject([
      { outcome: 'delivered', attempts: 1 },
    ]);
    expect(await n.notifyLag(CLUSTER, [firing])).toMatchObject([{ outcome: 'duplicate', attempts: 0 }]);
    expect(await n.notifyLag(CLUSTER, [resolved])).toMatchObject([{ outcome: 'delivered' }]);
    expect(await n.notifyLag(CLUSTER, [resolved])).toMatchObject([{ outcome: 'duplicate' }]);
    expect(r.requests).toHaveLength(2);
    const [first, second] = r.requests;
    expect(first?.headers['authorization']).toBe('Bearer tok-abcdef-123');
    expect(first?.headers['content-type']).toBe('application/json');
    const labels = {
      alertname: 'HanaSRReplicationLagWarning',
      severity: 'warning',
      namespace: 'hana',
      cluster: 'ha1',
      site: 'B',
    };
    expect(first?.body).toMatchObject({
      version: '4',
      status: 'firing',
      receiver: 'hanasr',
      groupLabels: labels,
      commonLabels: labels,
      truncatedAlerts: 0,
      alerts: [
        {
          status: 'firing',
          labels,
          startsAt: '2026-01-05T08:00:00.000Z',
          endsAt: ZERO_TIME,
          fingerprint: fingerprint(labels),
        },
      ],
    });
    expect(first?.body.groupKey).toBe(
      '{}:{alertname="HanaSRReplicationLagWarning", cluster="ha1", namespace="hana", severity="warning", site="B"}',
    );
    expect(first?.body.alerts[0]?.annotations['description']).toBe(
      'Replication lag of B: 12.3 s (6400 bytes unshipped); warning threshold 10 s.',
    );
    expect(first?.body.alerts[0]?.annotations['runbook_url']).toMatch(
      /runbook\.md#hanasrreplicationlagwarning$/,
    );
    expect(second?.body).toMatchObject({
      status: 'resolved',
      alerts: [
        { status: 'resolved', startsAt: '2026-01-05T08:00:00.000Z', endsAt: '2026-01-05T08:01:00.000Z' },
      ],
    });
    // A new episode (new startsAt) is a new state: sent again.
    expect(await n.notifyLag(CLUSTER, [{ ...firing, activeAt: T0 + 120_000 }])).toMatchObject([
      { outcome: 'delivered' },
    ]);
  });

  it('retries a receiver that fails twice, then accepts: delivered once on the third attempt', async () => {
    const r = await receiver((n, res) => {
      res.statusCode = n <= 2 ? 503 : 200;
      res.end();
      return true;
    });
    const n = new WebhookNotifier({ url: r.url, ...fast });
    expect(await n.notifyLag(CLUSTER, [firing])).toMatchObject([{ outcome: 'delivered', attempts: 3 }]);
    expect(r.requests).toHaveLength(3);
    expect(new Set(r.requests.map((q) => JSON.stringify(q.body))).size).toBe(1);
  });

  it('cuts a hanging receiver at the POST timeout and gives up after the bounded attempts', async () => {
    const r = await receiver(() => false);
    const out = new LineCollector();
    const n = new WebhookNotifier(
      { url: r.url, timeoutMs: 100, maxAttempts: 3, ...fast },
      { logger: createLogger({ stream: out }) },
    );
    const [result] = await n.notifyLag(CLUSTER, [firing]);
    expect(result).toMatchObject({ outcome: 'gave-up', attempts: 3, error: 'no answer within 100 ms' });
    expect(r.requests).toHaveLength(3);
    // Not delivered: the same state may be tried again later.
    expect((await n.notifyLag(CLUSTER, [firing]))[0]?.outcome).toBe('gave-up');
    await new Promise((res) => setImmediate(res));
    expect(out.objects().map((o) => o['message'])).toContain('alert notification given up');
  });

  it('does not retry a receiver that refuses the payload (4xx)', async () => {
    const r = await receiver((_n, res) => {
      res.statusCode = 400;
      res.end('bad');
      return true;
    });
    const n = new WebhookNotifier({ url: r.url, ...fast });
    expect(await n.notifyLag(CLUSTER, [firing])).toMatchObject([{ outcome: 'rejected', attempts: 1 }]);
    expect(r.requests).toHaveLength(1);
  });

  it('keeps order (a resolved never overtakes its firing) and never logs the token', async () => {
    const r = await receiver((n, res) => {
      res.statusCode = n === 1 ? 500 : 200;
      res.end();
      return true;
    });
    const out = new LineCollector();
    const logger = createLogger({ stream: out, level: 'debug' });
    const n = new WebhookNotifier({ url: r.url, token: 'super-secret-token-9', ...fast }, { logger });
    const [a, b] = await Promise.all([n.notifyLag(CLUSTER, [firing]), n.notifyLag(CLUSTER, [resolved])]);
    expect([a?.[0]?.outcome, b?.[0]?.outcome]).toEqual(['delivered', 'delivered']);
    expect(r.requests.map((q) => q.body.status)).toEqual(['firing', 'firing', 'resolved']);
    logger.info('config', { url: r.url, header: 'Bearer super-secret-token-9' });
    await new Promise((res) => setImmediate(res));
    expect(out.lines.length).toBeGreaterThan(0);
    expect(out.lines.join('\n')).not.toContain('super-secret-token-9');
  });

  it('reads its configuration from the operator environment', () => {
    expect(webhookConfigFromEnv({})).toBeNull();
    expect(
      webhookConfigFromEnv({
        HANASR_ALERT_WEBHOOK_URL: 'http://127.0.0.1:9/x',
        HANASR_ALERT_WEBHOOK_TOKEN: 't0ken-long-enough',
      }),
    ).toEqual({
      url: 'http://127.0.0.1:9/x',
      token: 't0ken-long-enough',
    });
    // Shorter than 8 characters: refused (every secret is redacted at any length), never echoed.
    expect(() =>
      webhookConfigFromEnv({ HANASR_ALERT_WEBHOOK_URL: 'http://x', HANASR_ALERT_WEBHOOK_TOKEN: 't0k' }),
    ).toThrow(/^HANASR_ALERT_WEBHOOK_TOKEN: shorter than 8 characters: refused$/);
    expect(() => webhookConfigFromEnv({ HANASR_ALERT_WEBHOOK_URL: 'ftp://x' })).toThrow(WebhookConfigError);
    expect(() =>
      webhookConfigFromEnv({ HANASR_ALERT_WEBHOOK_URL: 'http://x', HANASR_ALERT_WEBHOOK_TIMEOUT_MS: '-1' }),
    ).toThrow(/TIMEOUT_MS/);
  });
});
