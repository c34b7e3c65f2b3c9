/**
 * The operator process: configuration (zod, errors name the field with its flag and environment
 * variable), the coordination store (etcd, or in-memory for the demo and tests), the Kubernetes
 * config, the election among replicas (only the leader reconciles; a standby starts when it
 * wins), `/healthz` and `/readyz` on the health port, `/metrics` on the metrics port, and a
 * graceful stop (queue drained, in-flight reconcile finished, election resigned, store closed).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import { realClock, withTimeout, type Clock } from '../clock.js';
import { OperatorElection } from '../coordination/election.js';
import { EtcdCoordination, createEtcdCoordination } from '../coordination/etcd.js';
import { MemoryCoordination } from '../coordination/memory.js';
import type { Coordination } from '../coordination/port.js';
import { WebhookNotifier, webhookConfigFromEnv } from '../notify/webhook.js';
import { Redactor, createLogger, logFn } from '../observability/log.js';
import { createMetrics, type HanasrMetrics } from '../observability/metrics.js';
import { HsrController, type LogFn } from './controller.js';

const logLevels = ['error', 'warn', 'info', 'debug'] as const;
const port = z.number().int('must be a whole number').min(0).max(65535);

export const operatorConfigSchema = z
  .object({
    /** etcd in production; memory runs a store inside the process (demo, tests). */
    coordination: z.enum(['etcd', 'memory']).default('etcd'),
    etcd: z
      .object({
        endpoints: z.array(z.string()).default([]),
        prefix: z.string().default('/hanasr'),
        caFile: z.string().min(1).optional(),
        certFile: z.string().min(1).optional(),
        keyFile: z.string().min(1).optional(),
        /** Deadline of one etcd call (ms). */
        callTimeoutMs: z.number().int().min(50).max(60_000).default(1000),
      })
      .strict()
      .prefault({}),
    /** Lease TTL of this replica's election key. */
    electionTtlSeconds: z.number().int().min(1).max(300).default(10),
    /** Watch one namespace; all when absent. */
    watchNamespace: z.string().min(1).optional(),
    /** A kubeconfig file; absent: in-cluster, else $KUBECONFIG / ~/.kube/config. */
    kubeconfig: z.string().min(1).optional(),
    /** This replica's identity (the pod name). */
    podName: z.string().min(1).default(hostname()),
    podNamespace: z.string().min(1).optional(),
    logLevel: z.enum(logLevels).default('info'),
    metricsPort: port.default(9090),
    healthPort: port.default(8081),
    /** Address of every HTTP server (127.0.0.1 in tests). */
    bindAddress: z.string().min(1).default('0.0.0.0'),
    resyncIntervalSeconds: z.number().min(0.05).max(3600).default(10),
    /** Most reconciles running at once; the others wait in line, first come first served. */
    maxConcurrentReconciles: z.number().int().min(1).max(256).default(8),
    /** A takeover still in progress after this long is reported as failed. */
    takeoverTimeoutSeconds: z.number().min(1).max(86_400).default(120),
    /** Deadline of every Kubernetes call. */
    kubeTimeoutSeconds: z.number().min(0.1).max(300).default(5),
    /** /healthz fails when the loop has not beaten for this long. */
    heartbeatTimeoutSeconds: z.number().min(1).max(3600).default(60),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.coordination === 'etcd' && c.etcd.endpoints.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['etcd', 'endpoints'],
        message: 'needs at least one etcd endpoint with --coordination etcd',
      });
    }
    if ((c.etcd.certFile === undefined) !== (c.etcd.keyFile === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['etcd', 'certFile'],
        message: 'certFile and keyFile go together',
      });
    }
  });

export type OperatorConfigInput = z.input<typeof operatorConfigSchema>;
export type OperatorConfig = z.output<typeof operatorConfigSchema>;

/** How each config field is set: flag and environment variable (for error messages and help). */
export const CONFIG_SOURCES: Record<string, { flag: string; env?: string }> = {
  coordination: { flag: '--coordination' },
  'etcd.endpoints': { flag: '--etcd-endpoints', env: 'HANASR_ETCD_ENDPOINTS' },
  'etcd.prefix': { flag: '--etcd-prefix', env: 'HANASR_ETCD_PREFIX' },
  'etcd.caFile': { flag: '--etcd-ca-file', env: 'HANASR_ETCD_CA_FILE' },
  'etcd.certFile': { flag: '--etcd-cert-file', env: 'HANASR_ETCD_CERT_FILE' },
  'etcd.keyFile': { flag: '--etcd-key-file', env: 'HANASR_ETCD_KEY_FILE' },
  'etcd.callTimeoutMs': { flag: '--etcd-call-timeout-ms' },
  electionTtlSeconds: { flag: '--election-ttl-seconds' },
  watchNamespace: { flag: '--watch-namespace', env: 'HANASR_WATCH_NAMESPACE' },
  kubeconfig: { flag: '--kubeconfig', env: 'KUBECONFIG' },
  podName: { flag: '--pod-name', env: 'POD_NAME' },
  podNamespace: { flag: '--pod-namespace', env: 'POD_NAMESPACE' },
  logLevel: { flag: '--log-level', env: 'HANASR_LOG_LEVEL' },
  metricsPort: { flag: '--metrics-port', env: 'HANASR_METRICS_PORT' },
  healthPort: { flag: '--health-port', env: 'HANASR_HEALTH_PORT' },
  bindAddress: { flag: '--bind-address' },
  resyncIntervalSeconds: { flag: '--resync-interval-seconds' },
  maxConcurrentReconciles: { flag: '--max-concurrent-reconciles' },
  takeoverTimeoutSeconds: { flag: '--takeover-timeout-seconds' },
  kubeTimeoutSeconds: { flag: '--kube-timeout-seconds' },
  heartbeatTimeoutSeconds: { flag: '--heartbeat-timeout-seconds' },
};

export class OperatorConfigError extends Error {
  readonly code = 'OPERATOR_CONFIG_INVALID' as const;
  constructor(readonly problems: readonly string[]) {
    super(`invalid operator configuration: ${problems.join('; ')}`);
    this.name = 'OperatorConfigError';
  }
}

/** Validates and fills defaults; the errors name the field, its flag and variable, never a value. */
export function parseOperatorConfig(input: unknown): OperatorConfig {
  const result = operatorConfigSchema.safeParse(input);
  if (result.success) return result.data;
  throw new OperatorConfigError(
    result.error.issues.map((issue) => {
      const path = issue.path.filter((p) => typeof p !== 'number').join('.');
      const source = CONFIG_SOURCES[path];
      const where = source ? ` (${source.flag}${source.env ? ` / ${source.env}` : ''})` : '';
      const message =
        issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : issue.message;
      return `${path || '(config)'}${where}: ${message}`;
    }),
  );
}

export interface OperatorDeps {
  /** Overrides the Kubernetes config (tests: the fake API server's). */
  readonly kubeConfig?: KubeConfig;
  /** Overrides the store (tests and the demo share one with their agents); not closed by stop(). */
  readonly coordination?: Coordination;
  readonly clock?: Clock;
  /** Replaces the JSON log lines with a function (tests); secrets are not redacted then. */
  readonly log?: LogFn;
  /** Where the JSON log lines go (default stdout). */
  readonly logStream?: NodeJS.WritableStream;
  /** The environment of the alert webhook (HANASR_ALERT_WEBHOOK_*; default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  readonly metrics?: HanasrMetrics;
}

export interface OperatorHandle {
  /** `http://HOST:PORT` of /healthz and /readyz. */
  readonly healthUrl: string;
  /** `http://HOST:PORT/metrics`. */
  readonly metricsUrl: string;
  readonly metrics: HanasrMetrics;
  /** True while this replica is the active one (it reconciles). */
  isLeader(): boolean;
  /** The running controller of the active replica, or null on a standby. */
  controller(): HsrController | null;
  /** Stops reconciling (in-flight work finishes), resigns, closes the store and the servers. */
  stop(): Promise<void>;
}

function loadKubeConfig(config: OperatorConfig): KubeConfig {
  const kc = new KubeConfig();
  if (config.kubeconfig !== undefined) kc.loadFromFile(config.kubeconfig);
  else if (process.env['KUBERNETES_SERVICE_HOST'] !== undefined) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

/** Listens; resolves the address really bound (`0.0.0.0:8081`) and a URL to reach it from here. */
function listen(server: Server, host: string, portNumber: number): Promise<{ address: string; url: string }> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(portNumber, host, () => {
      const a = server.address() as AddressInfo;
      const h = a.family === 'IPv6' ? `[${a.address}]` : a.address;
      const local = h === '0.0.0.0' ? '127.0.0.1' : h === '[::]' ? '[::1]' : h;
      resolve({ address: `${h}:${a.port}`, url: `http://${local}:${a.port}` });
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function answer(res: ServerResponse, code: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(code, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Starts the operator in this process. */
export async function startOperator(
  input: OperatorConfigInput,
  deps: OperatorDeps = {},
): Promise<OperatorHandle> {
  const config = parseOperatorConfig(input);
  const clock = deps.clock ?? realClock;
  // JSON lines through winston (constant messages, data in fields, registered secrets redacted).
  const logger = createLogger({
    level: config.logLevel,
    ...(deps.logStream !== undefined ? { stream: deps.logStream } : {}),
    fields: { component: 'operator', pod: config.podName },
  });
  const log = deps.log ?? logFn(logger);
  // The alert webhook (docs/alerts.md): its token is a secret of the logs, the status and Events.
  // An invalid configuration throws here, before anything starts (WebhookConfigError).
  const webhook = webhookConfigFromEnv(deps.env ?? process.env);
  const redactor = new Redactor();
  if (webhook?.token !== undefined) {
    logger.addSecret(webhook.token);
    redactor.add(webhook.token);
  }
  const lagNotifier = webhook !== null ? new WebhookNotifier(webhook, { logger }) : undefined;
  const metrics = deps.metrics ?? createMetrics();
  const kubeConfig = deps.kubeConfig ?? loadKubeConfig(config);

  let coordination: Coordination;
  let owned = false;
  if (deps.coordination !== undefined) coordination = deps.coordination;
  else if (config.coordination === 'memory') {
    coordination = new MemoryCoordination(clock, { watches: true });
    owned = true;
  } else {
    coordination = createEtcdCoordination(
      {
        endpoints: config.etcd.endpoints,
        keyPrefix: config.etcd.prefix,
        leaseTtlSeconds: config.electionTtlSeconds,
        callTimeoutMs: config.etcd.callTimeoutMs,
        ...(config.etcd.caFile !== undefined
          ? {
              tls: {
                caFile: config.etcd.caFile,
                ...(config.etcd.certFile !== undefined ? { certFile: config.etcd.certFile } : {}),
                ...(config.etcd.keyFile !== undefined ? { keyFile: config.etcd.keyFile } : {}),
              },
            }
          : {}),
      },
      { clock },
    );
    owned = true;
  }

  let controller: HsrController | null = null;
  let stopped = false;
  let transitions: Promise<void> = Promise.resolve();
  const setLeading = (leading: boolean): void => {
    transitions = transitions.then(async () => {
      if (leading && !stopped && controller === null) {
        log('info', 'leading: reconciling starts', { pod: config.podName });
        const c = new HsrController({
          kubeConfig,
          coordination,
          clock,
          ...(config.watchNamespace !== undefined ? { namespace: config.watchNamespace } : {}),
          resyncIntervalMs: config.resyncIntervalSeconds * 1000,
          maxConcurrentReconciles: config.maxConcurrentReconciles,
          kubeTimeoutMs: config.kubeTimeoutSeconds * 1000,
          takeoverTimeoutMs: config.takeoverTimeoutSeconds * 1000,
          metrics,
          log,
          instance: config.podName,
          redactor,
          ...(lagNotifier !== undefined ? { lagNotifier } : {}),
        });
        controller = c;
        await c.start();
      } else if (!leading && controller !== null) {
        log('warn', 'no longer leading: reconciling stops', { pod: config.podName });
        const c = controller;
        controller = null;
        await c.stop();
      }
    });
  };

  // The heartbeat: the event loop and (when leading) the reconcile loop are alive.
  let lastBeat = clock.now();
  const beatMs = 1000;
  let cancelBeat: () => void = () => undefined;
  const beat = (): void => {
    lastBeat = clock.now();
    if (!stopped) cancelBeat = clock.setTimer(beatMs, beat);
  };
  beat();

  const heartbeatTimeoutMs = config.heartbeatTimeoutSeconds * 1000;
  const healthy = (): { ok: boolean; why: string } => {
    const now = clock.now();
    if (now - lastBeat > heartbeatTimeoutMs) return { ok: false, why: 'heartbeat stale' };
    const c = controller;
    if (c !== null) {
      const loopAt = c.lastResyncAt ?? 0;
      const bound = Math.max(heartbeatTimeoutMs, 3 * config.resyncIntervalSeconds * 1000);
      if (now - loopAt > bound) return { ok: false, why: 'reconcile loop stale' };
    }
    return { ok: true, why: 'ok' };
  };
  const ready = async (): Promise<{ ok: boolean; why: string }> => {
    const c = controller;
    if (c !== null && !c.informer.synced) return { ok: false, why: 'informer not synced' };
    try {
      await withTimeout(clock, 1000, 'coordination read', () => coordination.read('hanasr-operator.readyz'));
    } catch {
      return { ok: false, why: 'coordination store unreachable' };
    }
    return { ok: true, why: c !== null ? 'ok (leading)' : 'ok (standby)' };
  };

  const health = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      const h = healthy();
      answer(res, h.ok ? 200 : 503, `${h.why}\n`);
    } else if (path === '/readyz') {
      void ready().then(
        (r) => answer(res, r.ok ? 200 : 503, `${r.why}\n`),
        () => answer(res, 503, 'readiness check failed\n'),
      );
    } else answer(res, 404, 'not found\n');
  });
  health.requestTimeout = 5000;
  const metricsServer = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') return answer(res, 404, 'not found\n');
    metrics.registry.metrics().then(
      (text) => answer(res, 200, text, metrics.registry.contentType),
      () => answer(res, 500, 'metrics unavailable\n'),
    );
  });
  metricsServer.requestTimeout = 5000;

  let healthUrl: string;
  let metricsBase: string;
  let healthAddress: string;
  let metricsAddress: string;
  try {
    ({ url: healthUrl, address: healthAddress } = await listen(
      health,
      config.bindAddress,
      config.healthPort,
    ));
    ({ url: metricsBase, address: metricsAddress } = await listen(
      metricsServer,
      config.bindAddress,
      config.metricsPort,
    ));
  } catch (err) {
    stopped = true;
    cancelBeat();
    await Promise.all([close(health), close(metricsServer)]);
    if (owned) await coordination.close();
    throw err;
  }

  let election: OperatorElection | null = null;
  if (coordination instanceof EtcdCoordination) {
    const e = new OperatorElection(coordination, {
      candidate: config.podName,
      ttlSeconds: config.electionTtlSeconds,
      onChange: (leading) => setLeading(leading),
    });
    election = e;
    // Joining retries until the store answers: a replica that starts during an etcd outage waits.
    const join = async (): Promise<void> => {
      while (!stopped) {
        try {
          await e.campaign();
          log('info', 'joined the operator election', { pod: config.podName });
          return;
        } catch (err) {
          log('warn', 'operator election not joined, retrying', { error: String(err) });
          await clock.sleep(1000);
        }
      }
    };
    void join();
  } else {
    setLeading(true);
  }
  log('info', 'operator started', {
    pod: config.podName,
    coordination: config.coordination,
    // The addresses really bound (0.0.0.0: every interface), as the kubelet and Prometheus see them.
    healthAddress,
    metricsAddress,
    watchNamespace: config.watchNamespace ?? '(all)',
    alertWebhook: webhook !== null ? new URL(webhook.url).origin : '(none)',
  });

  return {
    healthUrl,
    metricsUrl: `${metricsBase}/metrics`,
    metrics,
    isLeader: () => controller !== null,
    controller: () => controller,
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      cancelBeat();
      setLeading(false);
      await transitions;
      await election?.resign().catch((err: unknown) => log('warn', 'resign failed', { error: String(err) }));
      if (owned) await coordination.close().catch(() => undefined);
      await Promise.all([close(health), close(metricsServer)]);
      log('info', 'operator stopped', { pod: config.podName });
      // winston writes on a later tick: let the last lines out before the caller goes on.
      await new Promise<void>((resolve) => setImmediate(resolve));
    },
  };
}
