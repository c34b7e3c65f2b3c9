/**
 * An authorizing proxy in front of the fake Kubernetes API: it reads each request as the API
 * server does (API group, resource, subresource, namespace, verb), checks it against RBAC rules
 * (the chart's files/operator-rbac.yaml) the way the RBAC authorizer would, answers 403 when they
 * do not allow it, and records every request. Creating an object with an ownerReference that has
 * blockOwnerDeletion also needs `update` on the owner's `finalizers` subresource, as the API
 * server's OwnerReferencesPermissionEnforcement admission asks.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Rule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

export interface Attributes {
  readonly group: string;
  /** `resource` or `resource/subresource`. */
  readonly resource: string;
  readonly verb: string;
  readonly namespace: string | null;
}

export interface Recorded extends Attributes {
  readonly allowed: boolean;
  readonly path: string;
}

/** The request attributes of a resource path, or null for a non-resource path (discovery). */
export function attributesOf(method: string, url: URL): Attributes | null {
  const parts = url.pathname.split('/').filter((p) => p !== '');
  let group: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 2) {
    group = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1]!;
    rest = parts.slice(3);
  } else return null;
  let namespace: string | null = null;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1]!;
    rest = rest.slice(2);
  }
  if (rest.length === 0) return null;
  const [resource, name, sub] = rest;
  const watch = ['true', '1'].includes(url.searchParams.get('watch') ?? '');
  const verb = ((): string => {
    switch (method) {
      case 'GET':
      case 'HEAD':
        return watch ? 'watch' : name === undefined ? 'list' : 'get';
      case 'POST':
        return 'create';
      case 'PUT':
        return 'update';
      case 'PATCH':
        return 'patch';
      case 'DELETE':
        return name === undefined ? 'deletecollection' : 'delete';
      default:
        return method.toLowerCase();
    }
  })();
  return { group, resource: sub !== undefined ? `${resource}/${sub}` : resource!, verb, namespace };
}

export function allows(rules: readonly Rule[], a: Pick<Attributes, 'group' | 'resource' | 'verb'>): boolean {
  return rules.some(
    (r) => r.apiGroups.includes(a.group) && r.resources.includes(a.resource) && r.verbs.includes(a.verb),
  );
}

export interface RbacProxy {
  readonly url: string;
  readonly requests: readonly Recorded[];
  close(): Promise<void>;
}

/**
 * `namespace`: the rules are a Role there (requests elsewhere, and cluster-wide ones, are
 * denied); null: a ClusterRole.
 */
export async function startRbacProxy(
  target: string,
  rules: readonly Rule[],
  namespace: string | null,
): Promise<RbacProxy> {
  const requests: Recorded[] = [];
  const upstream = new URL(target);
  const inScope = (a: Attributes) => namespace === null || a.namespace === namespace;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://proxy');
      const a = attributesOf(req.method ?? 'GET', url);
      if (a !== null) {
        const checks: Attributes[] = [a];
        if (a.verb === 'create' && body.length > 0) {
          try {
            const obj = JSON.parse(body.toString('utf8')) as {
              metadata?: {
                ownerReferences?: { apiVersion?: string; kind?: string; blockOwnerDeletion?: boolean }[];
              };
            };
            for (const ref of obj.metadata?.ownerReferences ?? []) {
              if (ref.blockOwnerDeletion !== true || ref.apiVersion === undefined) continue;
              const group = ref.apiVersion.includes('/') ? ref.apiVersion.split('/')[0]! : '';
              // The owners of this operator's objects are HanaSystemReplications.
              const plural =
                ref.kind === 'HanaSystemReplication'
                  ? 'hanasystemreplications'
                  : `${ref.kind?.toLowerCase()}s`;
              checks.push({
                group,
                resource: `${plural}/finalizers`,
                verb: 'update',
                namespace: a.namespace,
              });
            }
          } catch {
            // not JSON: the API server answers it
          }
        }
        let allowed = true;
        for (const c of checks) {
          const ok = inScope(c) && allows(rules, c);
          requests.push({ ...c, allowed: ok, path: url.pathname });
          allowed &&= ok;
        }
        if (!allowed) {
          const text = JSON.stringify({
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Failure',
            reason: 'Forbidden',
            code: 403,
            message: `forbidden: ${a.verb} ${a.resource} in ${a.namespace ?? 'the cluster scope'}`,
          });
          res.writeHead(403, { 'content-type': 'application/json' });
          res.end(text);
          return;
        }
      }
      const out = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      out.on('error', () => res.destroy());
      res.on('close', () => out.destroy());
      out.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
