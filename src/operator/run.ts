// Why this file is long: the operator option table and config schema sit beside the process wiring they configure; split them to operator/config.ts when the wiring grows.
/**
 * The operator process: configuration (zod, errors name the field with its flag and environment
 * variable), the coordination store (etcd, or in-memory for the demo and tests), the Kubernetes
 * config, the election among replicas (only the leader reconciles; a standby starts when it
 * wins), `/healthz` and `/readyz` on the health port, `/metrics` on the metrics port, and a
 * graceful stop (queue drained, in-flight reconcile finished, election resigned, store closed).
 */
import type { SwitchoverPeer } from './region-switchover.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import { realClock, withTimeout, type Clock } from '../clock.js';
import { OperatorElection } from '../coordination/election.js';
import {
  etcdConfigOf,
  OTHER_REGION_OPTIONS,
  STORE_OPTIONS,
  storeConnectionSchema,
  StoreConnectionError,
} from '../coordination/config.js';
import { EtcdCoordination } from '../coordination/etcd.js';
import { flagOf, type OptionTable } from '../config/options.js';
import { readSecretLine } from '../config/secret-file.js';
import { MemoryCoordination } from '../coordination/memory.js';
import type { Coordination } from '../coordination/port.js';
import {
  metricsHandler,
  pathOf,
  sendText,
  startHttpServer,
  type RunningHttpServer,
} from '../net/http-server.js';
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
    /** The store connection (coordination/config.ts: the same for agent, operator, CLI and demo). */
    etcd: storeConnectionSchema.prefault({}),
    /**
     * Two regions (docs/dr.md): the other region's name and store (a disaster takeover is refused
     * while the active region's store answers; status.region shows both records; a planned region
     * switchover writes its handover there).
     */
    otherRegion: z
      .object({
        name: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,62}$/, 'must be a region name'),
        etcd: storeConnectionSchema.prefault({}),
      })
      .strict()
      .optional(),
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
    /** A planned region switchover not handed over after this long is aborted (docs/dr.md). */
    regionSwitchoverTimeoutSeconds: z.number().min(1).max(86_400).default(120),
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
    if (c.otherRegion !== undefined && c.otherRegion.etcd.endpoints.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['otherRegion', 'etcd', 'endpoints'],
        message: "needs the other region's etcd endpoints with --other-region",
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

/**
 * Every option of `hanasr operator`, by config path, declared once: flag, environment variable
 * and help (the store's from STORE_OPTIONS); the parser, --help, docs/cli.md and the field names
 * in errors all come from it.
 */
export const OPERATOR_OPTIONS = {
  coordination: {
    choices: ['etcd', 'memory'],
    value: 'etcd|memory',
    help: 'store (default etcd; memory: in-process, demo and tests)',
  },
  'etcd.endpoints': { ...STORE_OPTIONS.endpoints, help: 'etcd client URLs (required with etcd)' },
  'etcd.prefix': STORE_OPTIONS.prefix,
  'etcd.caFile': STORE_OPTIONS.caFile,
  'etcd.certFile': STORE_OPTIONS.certFile,
  'etcd.keyFile': STORE_OPTIONS.keyFile,
  'etcd.username': STORE_OPTIONS.username,
  'etcd.passwordFile': STORE_OPTIONS.passwordFile,
  'etcd.callTimeoutMs': STORE_OPTIONS.callTimeoutMs,
  'otherRegion.name': OTHER_REGION_OPTIONS.name,
  'otherRegion.etcd.endpoints': OTHER_REGION_OPTIONS.endpoints,
  'otherRegion.etcd.prefix': OTHER_REGION_OPTIONS.prefix,
  'otherRegion.etcd.caFile': OTHER_REGION_OPTIONS.caFile,
  'otherRegion.etcd.certFile': OTHER_REGION_OPTIONS.certFile,
  'otherRegion.etcd.keyFile': OTHER_REGION_OPTIONS.keyFile,
  'otherRegion.etcd.username': OTHER_REGION_OPTIONS.username,
  'otherRegion.etcd.passwordFile': OTHER_REGION_OPTIONS.passwordFile,
  'otherRegion.etcd.callTimeoutMs': OTHER_REGION_OPTIONS.callTimeoutMs,
  electionTtlSeconds: {
    flag: 'election-ttl-seconds',
    value: 'S',
    help: 'lease TTL of the operator election (default 10)',
  },
  watchNamespace: {
    flag: 'watch-namespace',
    env: 'HANASR_WATCH_NAMESPACE',
    value: 'NS',
    help: 'watch one namespace (default all)',
  },
  kubeconfig: { env: 'KUBECONFIG', value: 'FILE', help: 'kubeconfig (default in-cluster)' },
  podName: {
    flag: 'pod-name',
    env: 'POD_NAME',
    value: 'NAME',
    help: "this replica's identity (default hostname)",
  },
  podNamespace: {
    flag: 'pod-namespace',
    env: 'POD_NAMESPACE',
    value: 'NS',
    help: "the operator's namespace",
  },
  logLevel: {
    flag: 'log-level',
    env: 'HANASR_LOG_LEVEL',
    value: 'error|warn|info|debug',
    help: 'log level (default info)',
  },
  metricsPort: {
    flag: 'metrics-port',
    env: 'HANASR_METRICS_PORT',
    value: 'PORT',
    help: '/metrics (default 9090)',
  },
  healthPort: {
    flag: 'health-port',
    env: 'HANASR_HEALTH_PORT',
    value: 'PORT',
    help: '/healthz and /readyz (default 8081)',
  },
  bindAddress: {
    flag: 'bind-address',
    value: 'ADDR',
    help: "address of both servers (default 0.0.0.0: every interface, as the kubelet's probes and Prometheus need in a pod)",
  },
  resyncIntervalSeconds: {
    flag: 'resync-interval-seconds',
    value: 'S',
    help: 'every resource reconciled at least this often (default 10), each at its own phase of the period; 3 x S while the store watch is open (it queues leader and report changes at once)',
  },
  maxConcurrentReconciles: {
    flag: 'max-concurrent-reconciles',
    value: 'N',
    help: 'reconciles running at once, the rest wait first come first served (default 8)',
  },
  takeoverTimeoutSeconds: {
    flag: 'takeover-timeout-seconds',
    value: 'S',
    help: 'a takeover still running after S is reported failed (default 120)',
  },
  regionSwitchoverTimeoutSeconds: {
    flag: 'region-switchover-timeout-seconds',
    value: 'S',
    help: 'a planned region switchover not handed over after S is aborted, the old region active again (default 120)',
  },
  kubeTimeoutSeconds: {
    flag: 'kube-timeout-seconds',
    value: 'S',
    help: 'deadline of one Kubernetes call (default 5)',
  },
  heartbeatTimeoutSeconds: {
    flag: 'heartbeat-timeout-seconds',
    value: 'S',
    help: '/healthz fails when the loop is silent this long (default 60)',
  },
} as const satisfies OptionTable;

/** The lag alert webhook's variables (docs/alerts.md): read by webhookConfigFromEnv, listed here for --help and docs. */
export const WEBHOOK_OPTIONS = {
  alertWebhookUrl: {
    env: 'HANASR_ALERT_WEBHOOK_URL',
    envOnly: true,
    help: 'http(s) URL receiving Alertmanager-format notifications',
  },
  alertWebhookToken: {
    env: 'HANASR_ALERT_WEBHOOK_TOKEN',
    envOnly: true,
    help: 'sent as a bearer token; never logged, never in status or Events',
  },
  alertWebhookTimeoutMs: {
    env: 'HANASR_ALERT_WEBHOOK_TIMEOUT_MS',
    envOnly: true,
    help: 'deadline of one POST (default 5000)',
  },
} as const satisfies OptionTable;

/** How each config field is set: flag and environment variable (for error messages). */
export const CONFIG_SOURCES: Record<string, { flag: string; env?: string }> = Object.fromEntries(
  Object.entries(OPERATOR_OPTIONS as OptionTable).map(([path, spec]) => [
    path,
    { flag: `--${flagOf(path, spec)}`, ...(spec.env !== undefined ? { env: spec.env } : {}) },
  ]),
);

export class OperatorConfigError extends Error {
  readonly code = 'OPERATOR_CONFIG_INVALID' as const;
  constructor(readonly problems: readonly string[]) {
    super(`invalid operator configuration: ${problems.join('; ')}`);
    this.name = 'OperatorConfigError';
  }
}

/** "metricsPort (--metrics-port / HANASR_METRICS_PORT)": how an error names a config path. */
function fieldName(path: string): string {
  const source = CONFIG_SOURCES[path];
  const where = source ? ` (${source.flag}${source.env ? ` / ${source.env}` : ''})` : '';
  return `${path || '(config)'}${where}`;
}

/** Validates and fills defaults; the errors name the field, its flag and variable, never a value. */
export function parseOperatorConfig(input: unknown): OperatorConfig {
  const result = operatorConfigSchema.safeParse(input);
  if (result.success) return result.data;
  throw new OperatorConfigError(
    result.error.issues.map((issue) => {
      const path = issue.path.filter((p) => typeof p !== 'number').join('.');
      const message =
        issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : issue.message;
      return `${fieldName(path)}: ${message}`;
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
  /** The other regions' stores (docs/dr.md: the disaster takeover reads, the switchover writes). */
  readonly regionPeers?: readonly SwitchoverPeer[];
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
    try {
      const etcd = etcdConfigOf(config.etcd, {
        leaseTtlSeconds: config.electionTtlSeconds,
        readPassword: (file) => readSecretLine(file),
      });
      coordination = new EtcdCoordination(etcd, { clock });
    } catch (err) {
      if (err instanceof StoreConnectionError)
        throw new OperatorConfigError(
          err.problems.map((p) => {
            return `${fieldName(p.field !== null ? `etcd.${p.field}` : 'etcd')}: ${p.message}`;
          }),
        );
      throw err;
    }
    owned = true;
  }

  // The other region's store (docs/dr.md); injected peers (tests, the simulator) win.
  let regionPeers = deps.regionPeers;
  let otherRegionStore: EtcdCoordination | null = null;
  if (regionPeers === undefined && config.otherRegion !== undefined) {
    const other = config.otherRegion;
    try {
      otherRegionStore = new EtcdCoordination(
        etcdConfigOf(other.etcd, { readPassword: (file) => readSecretLine(file) }),
        { clock },
      );
    } catch (err) {
      if (err instanceof StoreConnectionError)
        throw new OperatorConfigError(
          err.problems.map(
            (p) =>
              `${fieldName(p.field !== null ? `otherRegion.etcd.${p.field}` : 'otherRegion.etcd')}: ${p.message}`,
          ),
        );
      throw err;
    }
    regionPeers = [{ region: other.name, store: otherRegionStore }];
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
          regionSwitchoverTimeoutMs: config.regionSwitchoverTimeoutSeconds * 1000,
          metrics,
          log,
          instance: config.podName,
          redactor,
          ...(lagNotifier !== undefined ? { lagNotifier } : {}),
          ...(regionPeers !== undefined ? { regionPeers } : {}),
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

  const health = (req: IncomingMessage, res: ServerResponse): void => {
    const path = pathOf(req);
    if (path === '/healthz') {
      const h = healthy();
      sendText(res, h.ok ? 200 : 503, `${h.why}\n`);
    } else if (path === '/readyz') {
      void ready().then(
        (r) => sendText(res, r.ok ? 200 : 503, `${r.why}\n`),
        () => sendText(res, 503, 'readiness check failed\n'),
      );
    } else sendText(res, 404, 'not found\n');
  };
  const servers: RunningHttpServer[] = [];
  try {
    for (const [port, handle] of [
      [config.healthPort, health],
      [config.metricsPort, metricsHandler(metrics.registry)],
    ] as const)
      servers.push(await startHttpServer({ host: config.bindAddress, port, handle }));
  } catch (err) {
    stopped = true;
    cancelBeat();
    await Promise.all(servers.map((server) => server.close()));
    if (owned) await coordination.close();
    await otherRegionStore?.close().catch(() => undefined);
    throw err;
  }
  const [healthServer, metricsServer] = servers as [RunningHttpServer, RunningHttpServer];

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
    healthAddress: healthServer.address,
    metricsAddress: metricsServer.address,
    watchNamespace: config.watchNamespace ?? '(all)',
    alertWebhook: webhook !== null ? new URL(webhook.url).origin : '(none)',
  });

  return {
    healthUrl: healthServer.url,
    metricsUrl: `${metricsServer.url}/metrics`,
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
      await otherRegionStore?.close().catch(() => undefined);
      await Promise.all(servers.map((server) => server.close()));
      log('info', 'operator stopped', { pod: config.podName });
      // winston writes on a later tick: let the last lines out before the caller goes on.
      await new Promise<void>((resolve) => setImmediate(resolve));
    },
  };
}
