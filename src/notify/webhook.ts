/**
 * Direct alert delivery for teams without Prometheus: an Alertmanager-compatible webhook (the
 * payload Alertmanager's webhook_config sends, version "4"), so existing receivers (PagerDuty or
 * Opsgenie bridges, chat relays, alertmanager-webhook-logger...) understand it.
 *
 * - One POST per alert transition (firing or resolved), one alert in each; the group is the
 *   alert's own labels (alertname, severity, namespace, cluster, site).
 * - Deduplication: an alert state (fingerprint + status + startsAt) is delivered once.
 * - Every POST has a timeout; timeouts, network errors, 429 and 5xx are retried with exponential
 *   backoff, a bounded number of times; other 4xx are not retried (the receiver refuses it).
 * - Deliveries run one after the other, so a resolved never overtakes its firing.
 * - Configured by the operator's environment: HANASR_ALERT_WEBHOOK_URL, optionally
 *   HANASR_ALERT_WEBHOOK_TOKEN (sent as a bearer token, registered as a secret: never logged).
 */
import { createHash } from 'node:crypto';
import type { LagAlertTransition, LagSeverity } from '../operator/alerts.js';
import { LAG_ALERT_NAMES } from '../operator/alerts.js';
import { MIN_SECRET_LENGTH, silentLogger, type Logger } from '../observability/log.js';

/** Alertmanager's zero time, the endsAt of an alert that still fires. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';
export const RUNBOOK_BASE = 'https://github.com/hanasr/hanasr/blob/main/docs/runbook.md';

export interface WebhookConfig {
  readonly url: string;
  readonly token?: string;
  /** Deadline of one POST (default 5000 ms). */
  readonly timeoutMs?: number;
  /** Attempts per notification, the first included (default 5). */
  readonly maxAttempts?: number;
  /** Backoff before the second attempt, doubled each time up to maxDelayMs (defaults 500 / 10000). */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** The payload's receiver name (default "hanasr"). */
  readonly receiver?: string;
  /** The payload's externalURL (default ""). */
  readonly externalURL?: string;
}

export class WebhookConfigError extends Error {
  readonly code = 'INVALID_WEBHOOK_CONFIG' as const;
  constructor(message: string) {
    super(message);
    this.name = 'WebhookConfigError';
  }
}

/** Reads the webhook configuration from the operator's environment; null when not configured. */
export function webhookConfigFromEnv(env: NodeJS.ProcessEnv = process.env): WebhookConfig | null {
  const url = env['HANASR_ALERT_WEBHOOK_URL']?.trim();
  if (url === undefined || url === '') return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new WebhookConfigError('HANASR_ALERT_WEBHOOK_URL: not a valid URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new WebhookConfigError('HANASR_ALERT_WEBHOOK_URL: must be an http or https URL');
  }
  const token = env['HANASR_ALERT_WEBHOOK_TOKEN']?.trim();
  if (token !== undefined && token !== '' && token.length < MIN_SECRET_LENGTH) {
    throw new WebhookConfigError(
      `HANASR_ALERT_WEBHOOK_TOKEN: shorter than ${MIN_SECRET_LENGTH} characters: refused`,
    );
  }
  const timeout = env['HANASR_ALERT_WEBHOOK_TIMEOUT_MS'];
  const timeoutMs = timeout !== undefined && timeout !== '' ? Number(timeout) : undefined;
  if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0)) {
    throw new WebhookConfigError('HANASR_ALERT_WEBHOOK_TIMEOUT_MS: must be a positive integer');
  }
  return {
    url,
    ...(token !== undefined && token !== '' ? { token } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  };
}

export interface WebhookAlert {
  readonly status: 'firing' | 'resolved';
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL: string;
  readonly fingerprint: string;
}

/** Alertmanager's webhook payload, version 4. */
export interface WebhookPayload {
  readonly version: '4';
  readonly groupKey: string;
  readonly truncatedAlerts: number;
  readonly status: 'firing' | 'resolved';
  readonly receiver: string;
  readonly groupLabels: Readonly<Record<string, string>>;
  readonly commonLabels: Readonly<Record<string, string>>;
  readonly commonAnnotations: Readonly<Record<string, string>>;
  readonly externalURL: string;
  readonly alerts: readonly WebhookAlert[];
}

/** Alertmanager-style fingerprint: a hash of the sorted label set (16 hex digits). */
export function fingerprint(labels: Readonly<Record<string, string>>): string {
  const text = Object.keys(labels)
    .sort()
    .map((k) => `${k}\u00ff${labels[k] ?? ''}`)
    .join('\u00ff');
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

const round = (n: number): number => Math.round(n * 10) / 10;

/** The webhook alert for one lag alert transition of `namespace`/`cluster`. */
export function lagAlert(
  cluster: { readonly namespace: string; readonly cluster: string },
  tr: LagAlertTransition,
  thresholdSeconds?: number,
): WebhookAlert {
  const labels: Record<string, string> = {
    alertname: LAG_ALERT_NAMES[tr.severity],
    severity: tr.severity,
    namespace: cluster.namespace,
    cluster: cluster.cluster,
    site: tr.site,
  };
  const lag =
    tr.lagSeconds !== undefined
      ? `${round(tr.lagSeconds)} s${tr.lagBytes !== undefined ? ` (${Math.round(tr.lagBytes)} bytes unshipped)` : ''}`
      : 'unknown';
  const word: Record<LagSeverity, string> = { warning: 'warning', critical: 'critical' };
  return {
    status: tr.to,
    labels,
    annotations: {
      summary: `HANA secondary ${tr.site} of ${cluster.namespace}/${cluster.cluster} ${tr.to === 'firing' ? 'lags beyond' : 'is back under'} the ${word[tr.severity]} threshold`,
      description: `Replication lag of ${tr.site}: ${lag}${thresholdSeconds !== undefined ? `; ${word[tr.severity]} threshold ${thresholdSeconds} s` : ''}.`,
      runbook_url: `${RUNBOOK_BASE}#${LAG_ALERT_NAMES[tr.severity].toLowerCase()}`,
    },
    startsAt: iso(tr.activeAt),
    endsAt: tr.to === 'resolved' ? iso(tr.resolvedAt ?? tr.activeAt) : ZERO_TIME,
    generatorURL: '',
    fingerprint: fingerprint(labels),
  };
}

/** The payload for one alert (its own group). */
export function payloadFor(alert: WebhookAlert, receiver = 'hanasr', externalURL = ''): WebhookPayload {
  const groupKey = `{}:{${Object.keys(alert.labels)
    .sort()
    .map((k) => `${k}="${alert.labels[k] ?? ''}"`)
    .join(', ')}}`;
  return {
    version: '4',
    groupKey,
    truncatedAlerts: 0,
    status: alert.status,
    receiver,
    groupLabels: alert.labels,
    commonLabels: alert.labels,
    commonAnnotations: alert.annotations,
    externalURL,
    alerts: [alert],
  };
}

export type DeliveryOutcome = 'delivered' | 'duplicate' | 'rejected' | 'gave-up';

export interface DeliveryResult {
  readonly fingerprint: string;
  readonly status: 'firing' | 'resolved';
  readonly outcome: DeliveryOutcome;
  readonly attempts: number;
  /** Why the last attempt failed. */
  readonly error?: string;
}

export interface WebhookNotifierOptions {
  readonly logger?: Logger;
  /** Waits between attempts (default setTimeout); tests may shorten it. */
  readonly sleep?: (ms: number) => Promise<void>;
}

class RetryableError extends Error {}

export class WebhookNotifier {
  private readonly logger: Logger;
  private readonly sleep: (ms: number) => Promise<void>;
  /** fingerprint -> the last delivered (or in-flight) state "status|startsAt". */
  private readonly sent = new Map<string, string>();
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly config: WebhookConfig,
    options: WebhookNotifierOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger;
    if (config.token !== undefined) this.logger.addSecret(config.token);
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** Sends the lag alert transitions of one cluster (in order); resolves when all are settled. */
  notifyLag(
    cluster: { readonly namespace: string; readonly cluster: string },
    transitions: readonly LagAlertTransition[],
    thresholds?: Readonly<Partial<Record<LagSeverity, number>>>,
  ): Promise<DeliveryResult[]> {
    return this.send(transitions.map((tr) => lagAlert(cluster, tr, thresholds?.[tr.severity])));
  }

  /** Sends each alert in its own payload, one after the other. */
  send(alerts: readonly WebhookAlert[]): Promise<DeliveryResult[]> {
    const run = this.chain.then(async () => {
      const results: DeliveryResult[] = [];
      for (const alert of alerts) results.push(await this.deliver(alert));
      return results;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async deliver(alert: WebhookAlert): Promise<DeliveryResult> {
    const state = `${alert.status}|${alert.startsAt}`;
    const base = { fingerprint: alert.fingerprint, status: alert.status };
    if (this.sent.get(alert.fingerprint) === state) return { ...base, outcome: 'duplicate', attempts: 0 };
    const previous = this.sent.get(alert.fingerprint);
    this.sent.set(alert.fingerprint, state);
    const body = JSON.stringify(payloadFor(alert, this.config.receiver, this.config.externalURL));
    const maxAttempts = Math.max(1, this.config.maxAttempts ?? 5);
    let delay = this.config.baseDelayMs ?? 500;
    let lastError = '';
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      try {
        await this.post(body);
        this.logger.info('alert notification delivered', {
          alertname: alert.labels['alertname'],
          site: alert.labels['site'],
          cluster: alert.labels['cluster'],
          status: alert.status,
          attempts: attempt,
        });
        return { ...base, outcome: 'delivered', attempts: attempt };
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
        if (!(err instanceof RetryableError)) {
          this.forget(alert.fingerprint, previous);
          this.logger.error('alert notification rejected', {
            alertname: alert.labels['alertname'],
            site: alert.labels['site'],
            status: alert.status,
            error: lastError,
          });
          return { ...base, outcome: 'rejected', attempts: attempt, error: lastError };
        }
        this.logger.warn('alert notification failed, retrying', {
          alertname: alert.labels['alertname'],
          site: alert.labels['site'],
          status: alert.status,
          attempt,
          error: lastError,
        });
        if (attempt < maxAttempts) {
          await this.sleep(delay);
          delay = Math.min(delay * 2, this.config.maxDelayMs ?? 10_000);
        }
      }
    }
    this.forget(alert.fingerprint, previous);
    this.logger.error('alert notification given up', {
      alertname: alert.labels['alertname'],
      site: alert.labels['site'],
      status: alert.status,
      attempts: maxAttempts,
      error: lastError,
    });
    return { ...base, outcome: 'gave-up', attempts: maxAttempts, error: lastError };
  }

  /** An undelivered state may be sent again later. */
  private forget(fp: string, previous: string | undefined): void {
    if (previous === undefined) this.sent.delete(fp);
    else this.sent.set(fp, previous);
  }

  private async post(body: string): Promise<void> {
    const timeoutMs = this.config.timeoutMs ?? 5000;
    let res: Response;
    try {
      res = await fetch(this.config.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'hanasr',
          ...(this.config.token !== undefined ? { Authorization: `Bearer ${this.config.token}` } : {}),
        },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const name = err instanceof Error ? err.name : '';
      const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
      throw new RetryableError(
        name === 'TimeoutError' || name === 'AbortError'
          ? `no answer within ${timeoutMs} ms`
          : `request failed${cause || (err instanceof Error ? `: ${err.message}` : '')}`,
      );
    }
    await res.arrayBuffer().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return;
    if (res.status >= 500 || res.status === 429 || res.status === 408) {
      throw new RetryableError(`receiver answered ${res.status}`);
    }
    throw new Error(`receiver answered ${res.status}`);
  }
}
