/**
 * How the DBA commands reach Kubernetes: the kubeconfig (--kubeconfig, then KUBECONFIG, then
 * ~/.kube/config, then the in-cluster service account), --context, --namespace/-n, and a
 * deadline on every call (--request-timeout). API failures become CliErrors with the exit code
 * the docs promise: 4 not found, 5 unreachable or timed out, 1 any other refusal by the API.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ApiException, KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../kube/client.js';
import { KIND } from '../api/resource.js';
import { CliError, EXIT, parseDuration, stringFlag, UsageError, type ParsedArgs } from './args.js';
import { COMMON_OPTIONS, optionsHelp, type OptionTable } from '../config/options.js';

export const KUBE_FLAGS: OptionTable = {
  kubeconfig: {
    value: 'PATH',
    help: 'kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)',
  },
  context: { value: 'NAME', help: 'kubeconfig context to use (default: the current context)' },
  namespace: {
    short: 'n',
    value: 'NS',
    help: 'namespace (default: the context\'s namespace, in-cluster namespace, or "default")',
  },
  'request-timeout': { value: 'DUR', help: 'deadline of each API call, e.g. 10s, 500ms (default 10s)' },
};

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

export const KUBE_FLAGS_HELP = `Kubernetes options:
${optionsHelp({ ...KUBE_FLAGS, debug: COMMON_OPTIONS.debug })}

Environment:
  KUBECONFIG               kubeconfig path(s), colon-separated, when --kubeconfig is not given
  KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT
                           set inside a pod: the in-cluster service account is used when no
                           kubeconfig is found`;

const SA_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export interface Kube {
  readonly client: KubeClient;
  readonly namespace: string;
  /** The API server URL (for messages). */
  readonly server: string;
  readonly timeoutMs: number;
}

/** Builds the client from the flags and the environment. */
export function connect(args: ParsedArgs): Kube {
  const timeoutText = stringFlag(args, 'request-timeout');
  const timeoutMs =
    timeoutText === undefined ? DEFAULT_REQUEST_TIMEOUT_MS : parseDuration(timeoutText, '--request-timeout');
  const kc = new KubeConfig();
  const explicit = stringFlag(args, 'kubeconfig');
  let inCluster = false;
  try {
    if (explicit !== undefined) {
      if (!existsSync(explicit)) throw new UsageError(`--kubeconfig ${explicit}: no such file`);
      kc.loadFromFile(explicit);
    } else if (process.env['KUBECONFIG'] !== undefined && process.env['KUBECONFIG'] !== '') {
      kc.loadFromDefault();
    } else if (existsSync(join(homedir(), '.kube', 'config'))) {
      kc.loadFromFile(join(homedir(), '.kube', 'config'));
    } else if (process.env['KUBERNETES_SERVICE_HOST'] !== undefined) {
      kc.loadFromCluster();
      inCluster = true;
    } else {
      throw new CliError(
        EXIT.unavailable,
        'no kubeconfig: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config, or run inside a pod',
      );
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(EXIT.usage, `cannot load the kubeconfig: ${(err as Error).message}`);
  }
  const context = stringFlag(args, 'context');
  if (context !== undefined) {
    if (kc.getContextObject(context) === null) {
      throw new UsageError(`--context ${context}: no such context in the kubeconfig`);
    }
    kc.setCurrentContext(context);
  }
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new UsageError('the kubeconfig has no cluster for the current context');
  let namespace = stringFlag(args, 'namespace') ?? kc.getContextObject(kc.getCurrentContext())?.namespace;
  if (namespace === undefined && inCluster && existsSync(SA_NAMESPACE)) {
    namespace = readFileSync(SA_NAMESPACE, 'utf8').trim();
  }
  return {
    client: new KubeClient(kc, { timeoutMs, component: 'hanasr-cli', instance: 'hanasr-cli' }),
    namespace: namespace ?? 'default',
    server: cluster.server,
    timeoutMs,
  };
}

/** The message the API server put in its Status body, if any. */
function apiMessage(err: ApiException<unknown>): string {
  const raw: unknown = err.body;
  try {
    const body = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { message?: unknown } | null;
    if (body !== null && typeof body === 'object' && typeof body.message === 'string') return body.message;
  } catch {
    // not JSON: fall through
  }
  return `HTTP ${err.code}`;
}

/** True when `err` is a transport failure or deadline rather than an answer from the API. */
function isTimeout(err: unknown): boolean {
  const e = err as { name?: unknown; type?: unknown; code?: unknown; cause?: unknown } | null;
  if (e === null || typeof e !== 'object') return false;
  if (e.name === 'AbortError' || e.name === 'TimeoutError' || e.type === 'aborted') return true;
  return e.cause !== undefined && e.cause !== err ? isTimeout(e.cause) : false;
}

/** Turns a failed API call into a CliError with the documented exit code. */
export function apiError(kube: Kube, err: unknown, what: string): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof ApiException) {
    if (err.code === 404) return new CliError(EXIT.notFound, `${what}: not found`);
    if (err.code === 504 || err.code === 503)
      return new CliError(EXIT.unavailable, `${what}: ${apiMessage(err)}`);
    return new CliError(EXIT.failed, `${what}: ${apiMessage(err)}`);
  }
  if (isTimeout(err)) {
    return new CliError(
      EXIT.unavailable,
      `${what}: the Kubernetes API at ${kube.server} did not answer within ${kube.timeoutMs / 1000}s`,
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return new CliError(
    EXIT.unavailable,
    `${what}: cannot reach the Kubernetes API at ${kube.server}: ${message}`,
  );
}

export type Obj = Record<string, unknown>;

/** The HanaSystemReplication `name`, or a CliError (4 when it does not exist). */
export async function getCluster(kube: Kube, name: string): Promise<Obj> {
  let obj: Obj | null;
  try {
    obj = await kube.client.getHsr(kube.namespace, name);
  } catch (err) {
    throw apiError(kube, err, `get ${KIND} ${kube.namespace}/${name}`);
  }
  if (obj === null) {
    throw new CliError(EXIT.notFound, `${KIND} "${name}" not found in namespace "${kube.namespace}"`);
  }
  return obj;
}

/** Merge-patches the main resource; 404 becomes exit 4. */
export async function patchCluster(kube: Kube, name: string, body: Obj): Promise<Obj> {
  try {
    return await kube.client.patchHsr(kube.namespace, name, body);
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) {
      throw new CliError(EXIT.notFound, `${KIND} "${name}" not found in namespace "${kube.namespace}"`);
    }
    throw apiError(kube, err, `patch ${KIND} ${kube.namespace}/${name}`);
  }
}

/** Sets one annotation (merge patch on metadata.annotations). */
export async function annotate(kube: Kube, name: string, key: string, value: string): Promise<Obj> {
  return patchCluster(kube, name, { metadata: { annotations: { [key]: value } } });
}

export function record(v: unknown): Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {};
}

export function records(v: unknown): Obj[] {
  return Array.isArray(v) ? v.map(record) : [];
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** Site names from spec.sites. */
export function specSites(obj: Obj): string[] {
  return records(record(obj['spec'])['sites'])
    .map((s) => str(s['name']))
    .filter((s): s is string => s !== undefined);
}

/**
 * fence / register: checks SITE is a site of NAME and not the current primary (the operator
 * refuses both for the primary; `primaryAllowed` for a fence release), then sets
 * `annotation`=SITE for the operator to act on.
 */
export async function requestSiteAction(
  kube: Kube,
  name: string,
  site: string,
  annotation: string,
  action: string,
  options: { readonly primaryAllowed?: boolean } = {},
): Promise<void> {
  const obj = await getCluster(kube, name);
  const sites = specSites(obj);
  if (!sites.includes(site)) {
    throw new CliError(EXIT.refused, `refused: unknown site "${site}" (sites: ${sites.join(', ')})`);
  }
  const primary = str(record(obj['status'])['currentPrimary']);
  if (primary === site && options.primaryAllowed !== true) {
    throw new CliError(
      EXIT.refused,
      `refused: ${site} is the current primary; ${action === 'fence' ? 'run a planned takeover first (`hanasr takeover`)' : 'only a former primary or a secondary can be registered'}`,
    );
  }
  await annotate(kube, name, annotation, site);
  process.stdout.write(
    `${annotation}=${site} set on ${KIND} ${kube.namespace}/${name}: the operator will ${action} ${site} ` +
      `and acknowledge with an Event (kubectl describe ${'hsr'} ${name} -n ${kube.namespace})\n`,
  );
}
