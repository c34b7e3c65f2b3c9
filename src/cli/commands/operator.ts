/** `hanasr operator`: run the Kubernetes operator (one active replica among several). */
import { optionsHelp, parseOptions, stringOption } from '../../config/options.js';
import { splitEndpoints } from '../../coordination/config.js';
import {
  OPERATOR_OPTIONS,
  OperatorConfigError,
  WEBHOOK_OPTIONS,
  startOperator,
  type OperatorConfigInput,
} from '../../operator/run.js';
import { WebhookConfigError } from '../../notify/webhook.js';

/** Every option of the command (parser, --help and docs/cli.md); the webhook's are environment only. */
export const options = { ...OPERATOR_OPTIONS, ...WEBHOOK_OPTIONS };

export const help = `Usage: hanasr operator [options]

Reconciles HanaSystemReplication resources: publishes each validated spec for the agents, turns
agent reports into status, conditions, Events and metrics, moves the <name>-rw Service to the
active site, labels site pods by role, and turns annotations into intents. Several replicas may
run; one is active through an etcd election, the others wait as standbys.

Options (a flag wins over its environment variable):
${optionsHelp(OPERATOR_OPTIONS)}

Lag alert webhook (docs/alerts.md), environment only:
${optionsHelp(WEBHOOK_OPTIONS)}

Endpoints: /healthz (loop heartbeat fresh), /readyz (informer synced, store reachable),
/metrics (Prometheus). SIGTERM or SIGINT: stop reconciling, finish in-flight work, resign the
election, close the store, exit 0.

Exit codes: 0 stopped by a signal, 2 invalid configuration, 1 any other failure.
`;

/** Config paths whose value is a number (a string that is not one is left for zod to name). */
const NUMBERS = new Set([
  'etcd.callTimeoutMs',
  'otherRegion.etcd.callTimeoutMs',
  'electionTtlSeconds',
  'metricsPort',
  'healthPort',
  'resyncIntervalSeconds',
  'maxConcurrentReconciles',
  'takeoverTimeoutSeconds',
  'regionSwitchoverTimeoutSeconds',
  'kubeTimeoutSeconds',
  'heartbeatTimeoutSeconds',
]);

/** Builds the config input from the flags over the environment (OPERATOR_OPTIONS). Throws on a usage problem. */
export function configFromArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): OperatorConfigInput {
  const parsed = parseOptions(argv, options, { env });
  const problems = [
    ...parsed.problems,
    ...parsed.positionals.map(
      (_, i) => `unexpected argument at position ${parsed.positionalIndexes[i]! + 1}`,
    ),
  ];
  if (problems.length > 0) throw new OperatorConfigError(problems);
  const input: Record<string, unknown> = {};
  const etcd: Record<string, unknown> = {};
  const otherEtcd: Record<string, unknown> = {};
  let otherName: unknown;
  for (const path of Object.keys(OPERATOR_OPTIONS)) {
    const raw = stringOption(parsed.values, path);
    if (raw === undefined) continue;
    const value =
      path === 'etcd.endpoints' || path === 'otherRegion.etcd.endpoints'
        ? splitEndpoints(raw)
        : NUMBERS.has(path) && raw.trim() !== '' && !Number.isNaN(Number(raw))
          ? Number(raw)
          : raw;
    if (path.startsWith('etcd.')) etcd[path.slice('etcd.'.length)] = value;
    else if (path.startsWith('otherRegion.etcd.')) otherEtcd[path.slice('otherRegion.etcd.'.length)] = value;
    else if (path === 'otherRegion.name') otherName = value;
    else input[path] = value;
  }
  if (Object.keys(etcd).length > 0) input.etcd = etcd;
  // The other region (docs/dr.md): a name or any of its store's settings makes the section (the
  // schema then asks for what is missing).
  if (otherName !== undefined || Object.keys(otherEtcd).length > 0)
    input.otherRegion = { ...(otherName !== undefined ? { name: otherName } : {}), etcd: otherEtcd };
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
