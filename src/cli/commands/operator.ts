/** `hanasr operator`: run the Kubernetes operator (one active replica among several). */
import {
  CONFIG_SOURCES,
  OperatorConfigError,
  startOperator,
  type OperatorConfigInput,
} from '../../operator/run.js';
import { WebhookConfigError } from '../../notify/webhook.js';

export const help = `Usage: hanasr operator [options]

Reconciles HanaSystemReplication resources: publishes each validated spec for the agents, turns
agent reports into status, conditions, Events and metrics, moves the <name>-rw Service to the
active site, labels site pods by role, and turns annotations into intents. Several replicas may
run; one is active through an etcd election, the others wait as standbys.

Options (a flag wins over its environment variable):
  --coordination etcd|memory        store (default etcd; memory: in-process, demo and tests)
  --etcd-endpoints URL[,URL...]     HANASR_ETCD_ENDPOINTS   etcd client URLs (required with etcd)
  --etcd-prefix /PATH               HANASR_ETCD_PREFIX      key prefix (default /hanasr)
  --etcd-ca-file FILE               HANASR_ETCD_CA_FILE     CA bundle of the etcd servers (PEM)
  --etcd-cert-file FILE             HANASR_ETCD_CERT_FILE   client certificate (PEM, with key)
  --etcd-key-file FILE              HANASR_ETCD_KEY_FILE    client private key (PEM)
  --etcd-call-timeout-ms MS         deadline of one etcd call (default 1000)
  --election-ttl-seconds S          lease TTL of the operator election (default 10)
  --watch-namespace NS              HANASR_WATCH_NAMESPACE  watch one namespace (default all)
  --kubeconfig FILE                 KUBECONFIG              kubeconfig (default in-cluster)
  --pod-name NAME                   POD_NAME                this replica's identity (default hostname)
  --pod-namespace NS                POD_NAMESPACE           the operator's namespace
  --log-level error|warn|info|debug HANASR_LOG_LEVEL        (default info)
  --metrics-port PORT               HANASR_METRICS_PORT     /metrics (default 9090)
  --health-port PORT                HANASR_HEALTH_PORT      /healthz and /readyz (default 8081)
  --bind-address ADDR               address of both servers (default 0.0.0.0: every interface,
                                    as the kubelet's probes and Prometheus need in a pod)
  --resync-interval-seconds S       every resource reconciled at least this often (default 10),
                                    each at its own phase of the period; 3 x S while the store
                                    watch is open (it queues leader and report changes at once)
  --max-concurrent-reconciles N     reconciles running at once, the rest wait first come first
                                    served (default 8)
  --takeover-timeout-seconds S      a takeover still running after S is reported failed (default 120)
  --kube-timeout-seconds S          deadline of one Kubernetes call (default 5)
  --heartbeat-timeout-seconds S     /healthz fails when the loop is silent this long (default 60)

Lag alert webhook (docs/alerts.md), environment only:
  HANASR_ALERT_WEBHOOK_URL          http(s) URL receiving Alertmanager-format notifications
  HANASR_ALERT_WEBHOOK_TOKEN        sent as a bearer token; never logged, never in status or Events
  HANASR_ALERT_WEBHOOK_TIMEOUT_MS   deadline of one POST (default 5000)

Endpoints: /healthz (loop heartbeat fresh), /readyz (informer synced, store reachable),
/metrics (Prometheus). SIGTERM or SIGINT: stop reconciling, finish in-flight work, resign the
election, close the store, exit 0.

Exit codes: 0 stopped by a signal, 2 invalid configuration, 1 any other failure.
`;

const NUMBERS = new Set([
  'etcd.callTimeoutMs',
  'electionTtlSeconds',
  'metricsPort',
  'healthPort',
  'resyncIntervalSeconds',
  'maxConcurrentReconciles',
  'takeoverTimeoutSeconds',
  'kubeTimeoutSeconds',
  'heartbeatTimeoutSeconds',
]);

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const [head, tail] = path.split('.') as [string, string | undefined];
  if (tail === undefined) {
    target[head] = value;
    return;
  }
  const inner = (target[head] ?? {}) as Record<string, unknown>;
  inner[tail] = value;
  target[head] = inner;
}

function convert(path: string, raw: string): unknown {
  if (path === 'etcd.endpoints') {
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }
  if (NUMBERS.has(path)) {
    const n = Number(raw);
    return raw.trim() === '' || Number.isNaN(n) ? raw : n;
  }
  return raw;
}

/** Builds the config input from the environment, then the flags. Throws on an unknown flag. */
export function configFromArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): OperatorConfigInput {
  const input: Record<string, unknown> = {};
  for (const [path, source] of Object.entries(CONFIG_SOURCES)) {
    const value = source.env !== undefined ? env[source.env] : undefined;
    if (value !== undefined && value !== '') setPath(input, path, convert(path, value));
  }
  const byFlag = new Map(Object.entries(CONFIG_SOURCES).map(([path, s]) => [s.flag, path]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--debug') continue;
    const eq = arg.indexOf('=');
    const flag = eq >= 0 ? arg.slice(0, eq) : arg;
    const path = byFlag.get(flag);
    if (path === undefined) throw new OperatorConfigError([`unknown option ${flag}`]);
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new OperatorConfigError([`${flag} needs a value`]);
    setPath(input, path, convert(path, value));
  }
  return input as OperatorConfigInput;
}

export async function run(argv: string[]): Promise<number> {
  let handle;
  try {
    handle = await startOperator(configFromArgs(argv, process.env));
  } catch (err) {
    if (err instanceof OperatorConfigError || err instanceof WebhookConfigError) {
      process.stderr.write(`hanasr operator: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  process.stderr.write(`hanasr operator: ${signal}, stopping\n`);
  await handle.stop();
  return 0;
}
