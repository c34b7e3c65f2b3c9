// Why this file is long: a stand-in: the embedded Kubernetes API (routing, discovery, CRUD rules, patch types, watches, server-side apply) that kubectl and client-node drive.
/**
 * The HTTP front of the fake Kubernetes API: routing, discovery, OpenAPI v3, CRUD with the API
 * server's rules (resourceVersion, generation, status subresource, finalizers), patch and
 * server-side apply with field ownership (managedFields), fieldValidation and dryRun, list and
 * watch (as Tables too, for kubectl get and get -w).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ApiError,
  STALE_OBJECT,
  alreadyExists,
  invalidOptions,
  badRequest,
  conflict,
  expired,
  fieldErrors,
  internalError,
  invalid,
  methodNotAllowed,
  notFound,
  unsupportedMediaType,
  type FieldError,
} from './errors.js';
import { coreToEventsV1, eventsV1ToCore } from './events.js';
import { Faults, type RequestInfo, type Verb } from './faults.js';
import { documentHash, documentKey, groupVersionDocument, kindSchema, patchMediaTypes } from './openapi.js';
import { jsonPatch, mergePatch } from './patch.js';
import {
  CRD_GROUP,
  Registry,
  apiVersionOf,
  builtinTypes,
  groupVersion,
  typesFromCrd,
  type ResourceType,
} from './resources.js';
import {
  ApplyConflicts,
  afterUpdate,
  apply as applyConfig,
  conflictCauses,
  conflictMessage,
  entriesOf,
  managerOf,
  type ManagedFieldsEntry,
  type Writer,
} from './managed.js';
import { admitCustomResource, isPlainObject, prune } from './schema.js';
import {
  EVENT_FIELDS,
  METADATA_FIELDS,
  fieldsMatch,
  labelMatcher,
  parseFieldSelector,
  type Matcher,
  type FieldRequirement,
} from './selectors.js';
import { Store, meta, nameOf, namespaceOf, type Change, type Obj } from './store.js';
import { includeObjectOf, toTable, wantsTable, type IncludeObject } from './table.js';
import { parse as parseYaml } from 'yaml';

export interface FakeApiOptions {
  port?: number;
  host?: string;
  /** Interval of BOOKMARK events on watches that allow them (default 60 s, as kube-apiserver). */
  bookmarkIntervalMs?: number;
  /** Changes kept for watch replay before the oldest are compacted away (default 10 000). */
  historyLimit?: number;
  /** Largest accepted request body (default 3 MiB, as kube-apiserver). */
  maxBodyBytes?: number;
}

const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-hanasr-fakeapi',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};
const NOT_FOUND_PATH = new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
const DEFAULT_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const GENERATE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function nameErrors(type: ResourceType, name: string, field = 'metadata.name'): FieldError[] {
  if (type.plural === 'namespaces') {
    if (name.length > 63 || !LABEL.test(name)) {
      return [
        fieldErrors.invalid(
          field,
          name,
          "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
        ),
      ];
    }
    return [];
  }
  if (type.plural === 'services' && type.group === '') {
    if (name.length > 63 || !DNS1035.test(name)) {
      return [
        fieldErrors.invalid(
          field,
          name,
          "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
        ),
      ];
    }
    return [];
  }
  if (name.length > 253 || !SUBDOMAIN.test(name)) {
    return [
      fieldErrors.invalid(
        field,
        name,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      ),
    ];
  }
  return [];
}

/** The field labels a kind can be selected by (Events: involvedObject.*, reason, type...). */
function fieldLabels(type: ResourceType): ReadonlySet<string> {
  return type.kind === 'Event' && (type.group === '' || type.group === 'events.k8s.io')
    ? EVENT_FIELDS
    : METADATA_FIELDS;
}

function canonicalJson(v: unknown): string {
  const sort = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(sort);
    if (isPlainObject(x)) {
      return Object.fromEntries(
        Object.keys(x)
          .sort()
          .map((k) => [k, sort(x[k])]),
      );
    }
    return x;
  };
  return JSON.stringify(sort(v));
}

function without(obj: Obj, keys: readonly string[]): Obj {
  const copy = { ...obj };
  for (const k of keys) delete copy[k];
  return copy;
}

function finalizersOf(obj: Obj): string[] {
  const f = meta(obj)['finalizers'];
  return Array.isArray(f) ? f.filter((x): x is string => typeof x === 'string') : [];
}

function labelsOf(obj: Obj): Record<string, string> {
  const l = meta(obj)['labels'];
  if (!isPlainObject(l)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(l)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** How one write request is to be carried out. */
interface WriteContext {
  /** The request named its fieldManager (server-side apply requires it). */
  explicitManager: boolean;
  validation: 'Ignore' | 'Warn' | 'Strict';
  dryRun: boolean;
  force: boolean;
  subresource: '' | 'status';
  /** Warning headers for the response (unknown fields under fieldValidation=Warn). */
  warnings: string[];
  writer(type?: ResourceType): Writer;
}

/** Reads, and the writes the server makes itself (namespace deletion deleting what is in it). */
const NO_OPTIONS: WriteContext = {
  explicitManager: false,
  validation: 'Ignore',
  dryRun: false,
  force: false,
  subresource: '',
  warnings: [],
  writer: (type) => ({
    manager: '',
    subresource: '',
    statusSubresource: type?.statusSubresource ?? false,
    apiVersion: type === undefined ? '' : apiVersionOf(type),
    time: now(),
  }),
};

interface Route {
  type: ResourceType;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
}

interface Watcher {
  type: ResourceType;
  namespace: string | undefined;
  labels: Matcher;
  fields: FieldRequirement[];
  /** Events carry one-row Tables (kubectl get -w); columns only in the first. */
  table: { includeObject: IncludeObject; columnsSent: boolean } | undefined;
  res: ServerResponse;
  timers: NodeJS.Timeout[];
  close(graceful: boolean): void;
}

export class FakeApi {
  readonly registry = new Registry(builtinTypes());
  readonly store: Store;
  readonly faults: Faults;
  /** Requests received (a watch counts once), for the scale bench. */
  requests = 0;
  private readonly watchers = new Set<Watcher>();
  private readonly server: Server;
  private readonly options: FakeApiOptions;
  private address: AddressInfo | undefined;

  constructor(options: FakeApiOptions = {}) {
    this.options = options;
    this.store = new Store(options.historyLimit ?? 10_000);
    this.faults = new Faults({
      dropWatches: (graceful) => this.dropWatches(graceful),
      compact: () => this.store.compact(),
      watchCount: () => this.watchers.size,
    });
    this.store.subscribe((change) => this.broadcast(change));
    for (const ns of DEFAULT_NAMESPACES) {
      this.store.write('/namespaces', 'ADDED', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: {
          name: ns,
          uid: randomUUID(),
          creationTimestamp: now(),
          labels: { 'kubernetes.io/metadata.name': ns },
        },
        spec: { finalizers: ['kubernetes'] },
        status: { phase: 'Active' },
      });
    }
    this.server = createServer((req, res) => {
      this.requests++;
      this.handle(req, res).catch((err: unknown) => {
        const apiErr =
          err instanceof ApiError ? err : internalError(err instanceof Error ? err.message : String(err));
        this.sendStatus(res, apiErr);
      });
    });
    // Bounds on how long a client may take to send its request (responses, such as watches, are not bounded).
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 30_000;
    this.server.keepAliveTimeout = 5_000;
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => {
        this.server.off('error', reject);
        this.address = this.server.address() as AddressInfo;
        resolve(this.address);
      });
    });
  }

  async close(): Promise<void> {
    this.dropWatches(false);
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // ---------------------------------------------------------------- HTTP plumbing

  private send(res: ServerResponse, code: number, body: unknown): void {
    if (res.headersSent || res.destroyed) return;
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  private sendStatus(res: ServerResponse, err: ApiError): void {
    this.send(res, err.code, err.toStatus());
  }

  private readBody(req: IncomingMessage): Promise<string> {
    const limit = this.options.maxBodyBytes ?? 3 * 1024 * 1024;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          reject(new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'));
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  }

  private async readJson(req: IncomingMessage): Promise<unknown> {
    const text = await this.readBody(req);
    if (text.trim() === '') throw badRequest('the request body is empty');
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw badRequest(`error decoding request body: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fakeapi.invalid');
    const method = (req.method ?? 'GET').toUpperCase();
    const segments = url.pathname
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
    const route = this.route(segments);
    const verb = this.verbOf(method, route, url);
    const info: RequestInfo = { verb, method, path: url.pathname };
    const fault = this.faults.take(info);
    if (fault.latencyMs > 0) await new Promise((r) => setTimeout(r, fault.latencyMs));
    if (fault.failure !== undefined) {
      const { code, message } = fault.failure;
      if (code === 410 && verb === 'watch') {
        this.startStream(res);
        res.end(JSON.stringify({ type: 'ERROR', object: expired(message).toStatus() }) + '\n');
        return;
      }
      const reason =
        code === 410
          ? 'Expired'
          : code === 429
            ? 'TooManyRequests'
            : code === 503
              ? 'ServiceUnavailable'
              : 'InternalError';
      this.sendStatus(res, new ApiError(code, reason, message));
      return;
    }
    if (route === undefined) {
      this.sendStatus(res, NOT_FOUND_PATH);
      return;
    }
    if (route === 'discovery') {
      this.discovery(segments, res);
      return;
    }
    if (route === 'openapi') {
      this.openapi(segments, url, res);
      return;
    }
    await this.resource(route, verb, req, res, url);
  }

  private verbOf(method: string, route: Route | 'discovery' | 'openapi' | undefined, url: URL): Verb {
    const named = typeof route === 'object' && route.name !== undefined;
    switch (method) {
      case 'POST':
        return 'create';
      case 'PUT':
        return 'update';
      case 'PATCH':
        return 'patch';
      case 'DELETE':
        return named ? 'delete' : 'deletecollection';
      default: {
        if (named) return 'get';
        const w = url.searchParams.get('watch');
        return w === 'true' || w === '1' ? 'watch' : typeof route === 'object' ? 'list' : 'get';
      }
    }
  }

  private route(segments: string[]): Route | 'discovery' | 'openapi' | undefined {
    const [first, ...rest] = segments;
    let group: string;
    let version: string;
    let tail: string[];
    if (first === 'api') {
      if (rest.length <= 1) return 'discovery';
      group = '';
      version = rest[0] ?? '';
      tail = rest.slice(1);
    } else if (first === 'apis') {
      if (rest.length <= 2) return 'discovery';
      group = rest[0] ?? '';
      version = rest[1] ?? '';
      tail = rest.slice(2);
    } else if (first === 'openapi') {
      return 'openapi';
    } else {
      return first === undefined || ['version', 'healthz', 'readyz', 'livez'].includes(first)
        ? 'discovery'
        : undefined;
    }
    if (tail[0] === 'namespaces' && tail.length >= 3) {
      const type = this.registry.find(group, version, tail[2] ?? '');
      if (type !== undefined && type.namespaced && tail.length <= 5) {
        return { type, namespace: tail[1], name: tail[3], subresource: tail[4] };
      }
    }
    const type = this.registry.find(group, version, tail[0] ?? '');
    if (type === undefined || tail.length > 3) return undefined;
    if (type.namespaced && tail.length > 1) return undefined;
    return { type, namespace: undefined, name: tail[1], subresource: tail[2] };
  }

  // ---------------------------------------------------------------- OpenAPI v3

  /** Every served group/version with its document's text. */
  private openapiDocuments(): Map<string, string> {
    const docs = new Map<string, string>();
    const add = (group: string, version: string) => {
      const types = this.registry.typesIn(group, version);
      if (types.length > 0) {
        docs.set(
          documentKey(group, version),
          JSON.stringify(groupVersionDocument(types, SERVER_VERSION.gitVersion)),
        );
      }
    };
    add('', 'v1');
    for (const [group, versions] of this.registry.groups()) for (const v of versions) add(group, v);
    return docs;
  }

  private openapi(segments: string[], url: URL, res: ServerResponse): void {
    if (segments[1] !== 'v3') return this.sendStatus(res, NOT_FOUND_PATH);
    const docs = this.openapiDocuments();
    if (segments.length === 2) {
      const paths: Record<string, { serverRelativeURL: string }> = {};
      for (const [key, text] of docs) {
        paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${documentHash(text)}` };
      }
      this.send(res, 200, { paths });
      return;
    }
    const key = segments.slice(2).join('/');
    const text = docs.get(key);
    if (text === undefined) return this.sendStatus(res, NOT_FOUND_PATH);
    const hash = documentHash(text);
    const asked = url.searchParams.get('hash');
    if (asked !== null && asked !== hash) {
      // A client holding an older hash is sent to the current document, as kube-openapi does.
      res.writeHead(301, { Location: `/openapi/v3/${key}?hash=${hash}` });
      res.end();
      return;
    }
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
      Etag: `"${hash}"`,
    };
    if (asked !== null) headers['Cache-Control'] = 'public, immutable';
    res.writeHead(200, headers);
    res.end(text);
  }

  // ---------------------------------------------------------------- discovery

  private discovery(segments: string[], res: ServerResponse): void {
    const [first, second, third] = segments;
    const host = this.address === undefined ? '127.0.0.1:0' : `${this.address.address}:${this.address.port}`;
    if (first === undefined) {
      const paths = ['/api', '/api/v1', '/apis', '/healthz', '/livez', '/readyz', '/version'];
      for (const [group, versions] of this.registry.groups()) {
        paths.push(`/apis/${group}`, ...versions.map((v) => `/apis/${group}/${v}`));
      }
      this.send(res, 200, { paths: paths.sort() });
      return;
    }
    if (first === 'healthz' || first === 'readyz' || first === 'livez') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('ok');
      return;
    }
    if (first === 'version') {
      this.send(res, 200, SERVER_VERSION);
      return;
    }
    if (first === 'api') {
      if (second === undefined) {
        this.send(res, 200, {
          kind: 'APIVersions',
          versions: ['v1'],
          serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: host }],
        });
        return;
      }
      if (second !== 'v1') return this.sendStatus(res, NOT_FOUND_PATH);
      this.send(res, 200, this.resourceList('', 'v1'));
      return;
    }
    const groups = this.registry.groups();
    const groupEntry = (name: string, versions: string[]) => ({
      name,
      versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
      preferredVersion: { groupVersion: `${name}/${versions[0] ?? ''}`, version: versions[0] ?? '' },
    });
    if (second === undefined) {
      this.send(res, 200, {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: [...groups].map(([name, versions]) => groupEntry(name, versions)),
      });
      return;
    }
    const versions = groups.get(second);
    if (versions === undefined) return this.sendStatus(res, NOT_FOUND_PATH);
    if (third === undefined) {
      this.send(res, 200, { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(second, versions) });
      return;
    }
    if (!versions.includes(third)) return this.sendStatus(res, NOT_FOUND_PATH);
    this.send(res, 200, this.resourceList(second, third));
  }

  private resourceList(group: string, version: string): unknown {
    const resources: unknown[] = [];
    for (const t of this.registry.typesIn(group, version)) {
      const entry: Record<string, unknown> = {
        name: t.plural,
        singularName: t.singular,
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: t.verbs,
      };
      if (t.shortNames.length > 0) entry['shortNames'] = t.shortNames;
      if (t.categories.length > 0) entry['categories'] = t.categories;
      resources.push(entry);
      if (t.statusSubresource) {
        resources.push({
          name: `${t.plural}/status`,
          singularName: '',
          namespaced: t.namespaced,
          kind: t.kind,
          verbs: ['get', 'patch', 'update'],
        });
      }
    }
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: groupVersion(group, version),
      resources,
    };
  }

  // ---------------------------------------------------------------- object conversion

  /** The object as the client sees it at this type's group/version. */
  private present(type: ResourceType, stored: Obj): Obj {
    const obj = type.group === 'events.k8s.io' ? coreToEventsV1(stored) : structuredClone(stored);
    obj['apiVersion'] = apiVersionOf(type);
    obj['kind'] = type.kind;
    return obj;
  }

  /** A request body into the stored shape. */
  private intake(type: ResourceType, body: Obj): Obj {
    const obj = type.group === 'events.k8s.io' ? eventsV1ToCore(body) : structuredClone(body);
    obj['apiVersion'] = type.group === 'events.k8s.io' ? 'v1' : apiVersionOf(type);
    obj['kind'] = type.kind;
    return obj;
  }

  private checkBody(type: ResourceType, body: unknown): Obj {
    if (!isPlainObject(body)) throw badRequest('the body of the request must be a JSON object');
    const kind = body['kind'];
    const apiVersion = body['apiVersion'];
    if (typeof kind === 'string' && kind !== '' && kind !== type.kind) {
      throw badRequest(
        `the API version in the data (${String(apiVersion)}) does not match the expected API version (${apiVersionOf(type)})`,
      );
    }
    if (typeof apiVersion === 'string' && apiVersion !== '' && apiVersion !== apiVersionOf(type)) {
      throw badRequest(
        `the API version in the data (${apiVersion}) does not match the expected API version (${apiVersionOf(type)})`,
      );
    }
    if (type.custom && (typeof kind !== 'string' || kind === '')) {
      throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(body)}'`);
    }
    if (body['metadata'] !== undefined && !isPlainObject(body['metadata'])) {
      throw badRequest('json: cannot unmarshal metadata into Go struct field of type v1.ObjectMeta');
    }
    return body;
  }

  /** The options of a write (fieldManager, fieldValidation, dryRun, force), checked as the server does. */
  private writeContext(
    verb: Verb,
    req: IncomingMessage,
    url: URL,
    subresource: '' | 'status',
    type: ResourceType,
  ): WriteContext {
    const p = url.searchParams;
    const validation = p.get('fieldValidation') ?? 'Warn';
    const options = verb === 'patch' ? 'PatchOptions' : verb === 'create' ? 'CreateOptions' : 'UpdateOptions';
    if (!['Ignore', 'Warn', 'Strict'].includes(validation)) {
      throw invalidOptions(options, [
        fieldErrors.notSupported('fieldValidation', validation, ['Ignore', 'Warn', 'Strict']),
      ]);
    }
    const dryRun = p.getAll('dryRun');
    if (dryRun.some((d) => d !== 'All')) {
      throw invalidOptions(options, [fieldErrors.notSupported('dryRun', dryRun.join(','), ['All'])]);
    }
    const fieldManager = p.get('fieldManager');
    if (fieldManager !== null && fieldManager.length > 128) {
      throw invalidOptions(options, [fieldErrors.tooLong('fieldManager', 128)]);
    }
    const force = p.get('force');
    return {
      explicitManager: fieldManager !== null && fieldManager !== '',
      validation: validation as WriteContext['validation'],
      dryRun: dryRun.length > 0,
      force: force === 'true' || force === '1',
      subresource,
      warnings: [],
      writer: (t = type) => ({
        manager: managerOf(fieldManager, req.headers['user-agent']),
        subresource,
        statusSubresource: t.statusSubresource,
        apiVersion: apiVersionOf(t),
        time: now(),
      }),
    };
  }

  /**
   * Drops the fields the kind does not know (its schema; for built-in kinds, their top-level
   * fields and metadata): 400 with fieldValidation=Strict, a warning with Warn (the default).
   */
  private checkFields(type: ResourceType, body: Obj, ctx: WriteContext): Obj {
    const unknown: string[] = [];
    prune(body, kindSchema(type), false, unknown);
    if (unknown.length === 0 || ctx.validation === 'Ignore') return body;
    const texts = unknown.map((f) => `unknown field "${f}"`);
    if (ctx.validation === 'Strict') {
      throw badRequest(
        `${type.kind} in version "${type.version}" cannot be handled as a ${type.kind}: strict decoding error: ${texts.join(', ')}`,
      );
    }
    ctx.warnings.push(...texts);
    return body;
  }

  private async readYaml(req: IncomingMessage): Promise<unknown> {
    const text = await this.readBody(req);
    if (text.trim() === '') throw badRequest('the request body is empty');
    try {
      return parseYaml(text) as unknown;
    } catch (err) {
      throw badRequest(`error decoding YAML: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Stores an object, or with dryRun only says what would be stored. */
  private persist(type: ResourceType, change: 'ADDED' | 'MODIFIED', obj: Obj, ctx: WriteContext): Obj {
    if (!ctx.dryRun) return this.store.write(type.storageKey, change, obj);
    const copy = structuredClone(obj);
    if (change === 'ADDED') delete meta(copy)['resourceVersion'];
    return copy;
  }

  /** Prunes, defaults and validates a custom resource (or a CRD); throws 422 naming the fields. */
  private admit(type: ResourceType, obj: Obj, name: string): void {
    const errors: FieldError[] = [];
    if (type.custom) errors.push(...admitCustomResource(obj, type.schema));
    const finalizers = meta(obj)['finalizers'];
    if (finalizers !== undefined && !Array.isArray(finalizers)) {
      errors.push(fieldErrors.invalid('metadata.finalizers', finalizers, 'must be a list of strings'));
    }
    if (errors.length > 0) throw invalid(type.group, type.kind, name, errors);
    if (type.group === CRD_GROUP && type.plural === 'customresourcedefinitions') typesFromCrd(obj);
  }

  // ---------------------------------------------------------------- resources

  private async resource(
    route: Route,
    verb: Verb,
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
  ): Promise<void> {
    const { type, namespace, name, subresource } = route;
    if (subresource !== undefined && (subresource !== 'status' || !type.statusSubresource)) {
      throw NOT_FOUND_PATH;
    }
    if (subresource !== undefined && !['get', 'update', 'patch'].includes(verb)) {
      throw methodNotAllowed(`the server does not allow this method on the requested resource`);
    }
    const writes = ['create', 'update', 'patch', 'delete', 'deletecollection'].includes(verb);
    const ctx = writes
      ? this.writeContext(verb, req, url, subresource === 'status' ? 'status' : '', type)
      : NO_OPTIONS;
    // Warnings are collected while the request runs; the header goes out with the response.
    const respond = (code: number, object: Obj): void => {
      if (ctx.warnings.length > 0) {
        res.setHeader(
          'Warning',
          ctx.warnings.map((w) => `299 - ${JSON.stringify(w)}`),
        );
      }
      this.respondObject(req, res, code, type, object);
    };
    switch (verb) {
      case 'get': {
        const stored = this.mustGet(type, namespace ?? '', name ?? '');
        this.respondObject(req, res, 200, type, stored);
        return;
      }
      case 'list':
        this.list(type, namespace, req, res, url);
        return;
      case 'watch':
        this.watch(type, namespace, req, res, url);
        return;
      case 'create': {
        if (name !== undefined) throw methodNotAllowed('POST is not allowed on a named resource');
        const body = this.checkFields(type, this.checkBody(type, await this.readJson(req)), ctx);
        const created = this.create(type, namespace, body, ctx);
        respond(201, created);
        return;
      }
      case 'update': {
        const body = this.checkFields(type, this.checkBody(type, await this.readJson(req)), ctx);
        const { code, object } = this.update(type, namespace ?? '', name ?? '', body, ctx);
        respond(code, object);
        return;
      }
      case 'patch': {
        const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
        if (contentType === 'application/apply-patch+yaml' && patchMediaTypes(type).includes(contentType)) {
          const config = await this.readYaml(req);
          const { code, object } = this.apply(type, namespace ?? '', name ?? '', config, ctx);
          respond(code, object);
          return;
        }
        if (ctx.force) {
          throw invalidOptions('PatchOptions', [
            fieldErrors.forbidden('force', 'may not be specified for non-apply patch'),
          ]);
        }
        const patch = await this.readJson(req);
        const object = this.patch(type, namespace ?? '', name ?? '', contentType, patch, ctx);
        respond(200, object);
        return;
      }
      case 'delete': {
        const text = await this.readBody(req);
        let options: unknown = {};
        try {
          if (text.trim() !== '') options = JSON.parse(text) as unknown;
        } catch {
          throw badRequest('error decoding DeleteOptions: the body is not JSON');
        }
        const object = this.delete(
          type,
          namespace ?? '',
          name ?? '',
          isPlainObject(options) ? options : {},
          ctx,
        );
        this.respondObject(req, res, 200, type, object);
        return;
      }
      case 'deletecollection': {
        const items = this.select(type, namespace, url).map((o) =>
          this.present(type, this.delete(type, namespaceOf(o), nameOf(o), {}, ctx)),
        );
        this.send(res, 200, {
          apiVersion: apiVersionOf(type),
          kind: type.listKind,
          metadata: { resourceVersion: String(this.store.resourceVersion) },
          items,
        });
        return;
      }
    }
  }

  private respondObject(
    req: IncomingMessage,
    res: ServerResponse,
    code: number,
    type: ResourceType,
    stored: Obj,
  ): void {
    const obj = this.present(type, stored);
    if (wantsTable(req.headers.accept)) {
      const url = new URL(req.url ?? '/', 'http://fakeapi.invalid');
      const options = { includeObject: includeObjectOf(url) };
      this.send(res, code, toTable(type, [obj], String(this.store.resourceVersion), options));
      return;
    }
    this.send(res, code, obj);
  }

  private mustGet(type: ResourceType, namespace: string, name: string): Obj {
    const stored = this.store.get(type.storageKey, type.namespaced ? namespace : '', name);
    if (stored === undefined) throw notFound(type.group, type.plural, name);
    return stored;
  }

  private select(type: ResourceType, namespace: string | undefined, url: URL): Obj[] {
    const labels = labelMatcher(url.searchParams.get('labelSelector') ?? undefined);
    const fields = parseFieldSelector(url.searchParams.get('fieldSelector') ?? undefined, fieldLabels(type));
    return this.store
      .list(type.storageKey, type.namespaced ? namespace : undefined)
      .filter((o) => labels(labelsOf(o)) && fieldsMatch(fields, o));
  }

  private list(
    type: ResourceType,
    namespace: string | undefined,
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
  ): void {
    const items = this.select(type, namespace, url).map((o) => this.present(type, o));
    const rv = String(this.store.resourceVersion);
    if (wantsTable(req.headers.accept)) {
      this.send(res, 200, toTable(type, items, rv, { includeObject: includeObjectOf(url) }));
      return;
    }
    // kube-apiserver leaves kind and apiVersion out of the items of built-in lists.
    const shown = type.custom ? items : items.map((o) => without(o, ['kind', 'apiVersion']));
    this.send(res, 200, {
      apiVersion: apiVersionOf(type),
      kind: type.listKind,
      metadata: { resourceVersion: rv },
      items: shown,
    });
  }

  private requireNamespace(type: ResourceType, namespace: string | undefined, name: string): string {
    if (!type.namespaced) return '';
    if (namespace === undefined || namespace === '') throw NOT_FOUND_PATH;
    const ns = this.store.get('/namespaces', '', namespace);
    if (ns === undefined) throw notFound('', 'namespaces', namespace);
    if (meta(ns)['deletionTimestamp'] !== undefined) {
      throw new ApiError(
        403,
        'Forbidden',
        `${type.plural} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
      );
    }
    return namespace;
  }

  private create(
    type: ResourceType,
    namespace: string | undefined,
    body: Obj,
    ctx: WriteContext,
    applied?: ManagedFieldsEntry[],
  ): Obj {
    const obj = this.intake(type, body);
    const m = meta(obj);
    const bodyNs = m['namespace'];
    if (type.namespaced && typeof bodyNs === 'string' && bodyNs !== '' && bodyNs !== namespace) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    let name = typeof m['name'] === 'string' ? m['name'] : '';
    const generateName = typeof m['generateName'] === 'string' ? m['generateName'] : '';
    if (name === '' && generateName !== '') {
      let suffix = '';
      for (let i = 0; i < 5; i++)
        suffix += GENERATE_ALPHABET[Math.floor(Math.random() * GENERATE_ALPHABET.length)];
      name = `${generateName}${suffix}`;
    }
    if (name === '') {
      throw invalid(type.group, type.kind, '', [
        fieldErrors.required('metadata.name', 'name or generateName is required'),
      ]);
    }
    const errors = nameErrors(type, name);
    if (errors.length > 0) throw invalid(type.group, type.kind, name, errors);
    const ns = this.requireNamespace(type, namespace, name);
    if (this.store.get(type.storageKey, ns, name) !== undefined)
      throw alreadyExists(type.group, type.plural, name);
    m['name'] = name;
    if (type.namespaced) m['namespace'] = ns;
    else delete m['namespace'];
    m['uid'] = randomUUID();
    m['creationTimestamp'] = now();
    delete m['resourceVersion'];
    delete m['deletionTimestamp'];
    delete m['deletionGracePeriodSeconds'];
    if (type.custom || type.group === CRD_GROUP) m['generation'] = 1;
    if (type.statusSubresource) delete obj['status'];
    if (type.plural === 'namespaces' && type.group === '') {
      obj['spec'] = { finalizers: ['kubernetes'] };
      obj['status'] = { phase: 'Active' };
      m['labels'] = { ...labelsOf(obj), 'kubernetes.io/metadata.name': name };
    }
    this.admit(type, obj, name);
    const entries = applied ?? afterUpdate(undefined, obj, ctx.writer(type));
    if (entries.length > 0) m['managedFields'] = entries;
    else delete m['managedFields'];
    if (type.group === CRD_GROUP && type.plural === 'customresourcedefinitions') {
      return this.persist(type, 'ADDED', this.establishCrd(obj, undefined, ctx.dryRun), ctx);
    }
    return this.persist(type, 'ADDED', obj, ctx);
  }

  /** Computes the object an update would store, applying the API server's field rules. */
  private update(
    type: ResourceType,
    namespace: string,
    name: string,
    body: Obj,
    ctx: WriteContext,
  ): { code: number; object: Obj } {
    const statusOnly = ctx.subresource === 'status';
    const bodyMeta = isPlainObject(body['metadata']) ? body['metadata'] : {};
    if (bodyMeta['name'] !== undefined && bodyMeta['name'] !== name) {
      throw badRequest(
        `the name of the object (${String(bodyMeta['name'])}) does not match the name on the URL (${name})`,
      );
    }
    const ns = type.namespaced ? namespace : '';
    if (
      type.namespaced &&
      typeof bodyMeta['namespace'] === 'string' &&
      bodyMeta['namespace'] !== '' &&
      bodyMeta['namespace'] !== ns
    ) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    const existing = this.store.get(type.storageKey, ns, name);
    if (existing === undefined) {
      if (type.allowCreateOnUpdate && !statusOnly) {
        const created = this.create(type, namespace, { ...body, metadata: { ...bodyMeta, name } }, ctx);
        return { code: 201, object: created };
      }
      throw notFound(type.group, type.plural, name);
    }
    const rv = bodyMeta['resourceVersion'];
    if (rv === undefined || rv === '') {
      if (type.custom) {
        throw invalid(type.group, type.kind, name, [
          fieldErrors.invalid('metadata.resourceVersion', 0, 'must be specified for an update'),
        ]);
      }
    } else if (rv !== meta(existing)['resourceVersion']) {
      throw conflict(type.group, type.plural, name, STALE_OBJECT);
    }
    return { code: 200, object: this.commitUpdate(type, existing, this.intake(type, body), ctx) };
  }

  private commitUpdate(
    type: ResourceType,
    existing: Obj,
    incoming: Obj,
    ctx: WriteContext,
    applied?: ManagedFieldsEntry[],
  ): Obj {
    const statusOnly = ctx.subresource === 'status';
    const oldMeta = meta(existing);
    let next: Obj;
    if (statusOnly) {
      next = structuredClone(existing);
      if (incoming['status'] === undefined) delete next['status'];
      else next['status'] = incoming['status'];
    } else {
      next = incoming;
      const m = meta(next);
      for (const k of [
        'uid',
        'creationTimestamp',
        'deletionTimestamp',
        'deletionGracePeriodSeconds',
        'generation',
        'namespace',
        'name',
      ]) {
        if (oldMeta[k] === undefined) delete m[k];
        else m[k] = oldMeta[k];
      }
      if (type.statusSubresource) {
        if (existing['status'] === undefined) delete next['status'];
        else next['status'] = existing['status'];
      }
      if (oldMeta['deletionTimestamp'] !== undefined) {
        const before = new Set(finalizersOf(existing));
        const added = finalizersOf(next).filter((f) => !before.has(f));
        if (added.length > 0) {
          throw invalid(type.group, type.kind, nameOf(existing), [
            fieldErrors.forbidden(
              'metadata.finalizers',
              `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
            ),
          ]);
        }
      }
    }
    this.admit(type, next, nameOf(existing));
    if (type.plural === 'namespaces' && type.group === '') {
      meta(next)['labels'] = { ...labelsOf(next), 'kubernetes.io/metadata.name': nameOf(existing) };
    }
    const ignored = type.statusSubresource ? ['metadata', 'status'] : ['metadata'];
    const specChanged = canonicalJson(without(next, ignored)) !== canonicalJson(without(existing, ignored));
    if (specChanged && typeof oldMeta['generation'] === 'number')
      meta(next)['generation'] = oldMeta['generation'] + 1;
    meta(next)['resourceVersion'] = oldMeta['resourceVersion'];
    this.manageFields(type, existing, next, incoming, ctx, applied);
    if (canonicalJson(next) === canonicalJson(existing)) return existing;
    if (type.group === CRD_GROUP && type.plural === 'customresourcedefinitions' && !statusOnly) {
      next = this.establishCrd(next, existing, ctx.dryRun);
    }
    if (oldMeta['deletionTimestamp'] !== undefined && finalizersOf(next).length === 0) {
      return ctx.dryRun ? next : this.finalize(type, next);
    }
    return this.persist(type, 'MODIFIED', next, ctx);
  }

  /**
   * Sets next's managedFields: those the request brought when it changed them (kubectl does so to
   * hand client-side-apply fields over to server-side apply; `[]` clears them), those of an Apply,
   * or the existing ones with this Update recorded.
   */
  private manageFields(
    type: ResourceType,
    existing: Obj,
    next: Obj,
    incoming: Obj,
    ctx: WriteContext,
    applied: ManagedFieldsEntry[] | undefined,
  ): void {
    const m = meta(next);
    const sent = meta(incoming)['managedFields'];
    const had = meta(existing)['managedFields'];
    let entries: unknown;
    if (applied !== undefined) entries = applied;
    else if (
      ctx.subresource === '' &&
      sent !== undefined &&
      canonicalJson(sent) !== canonicalJson(had ?? [])
    ) {
      entries = Array.isArray(sent) ? entriesOf({ metadata: { managedFields: sent } }) : [];
    } else {
      m['managedFields'] = had;
      if (had === undefined) delete m['managedFields'];
      entries = afterUpdate(existing, next, ctx.writer(type));
    }
    if (Array.isArray(entries) && entries.length > 0) m['managedFields'] = entries;
    else delete m['managedFields'];
  }

  private patch(
    type: ResourceType,
    namespace: string,
    name: string,
    contentType: string,
    patch: unknown,
    ctx: WriteContext,
  ): Obj {
    const ns = type.namespaced ? namespace : '';
    const existing = this.store.get(type.storageKey, ns, name);
    const supported = patchMediaTypes(type);
    if (!supported.includes(contentType)) throw unsupportedMediaType(contentType, supported);
    if (existing === undefined) throw notFound(type.group, type.plural, name);
    const current = this.present(type, existing);
    let patched: unknown;
    if (contentType === 'application/json-patch+json') {
      patched = jsonPatch(current, patch);
    } else {
      if (!isPlainObject(patch)) throw badRequest('a merge patch must be a JSON object');
      patched = mergePatch(current, patch);
    }
    if (!isPlainObject(patched)) throw badRequest('the patched object is not a JSON object');
    const patchedMeta = meta(patched);
    if (patchedMeta['name'] !== name) {
      throw badRequest(
        `the name of the object (${String(patchedMeta['name'])}) does not match the name on the URL (${name})`,
      );
    }
    const rv = patchedMeta['resourceVersion'];
    if (rv !== undefined && rv !== meta(existing)['resourceVersion']) {
      throw conflict(type.group, type.plural, name, STALE_OBJECT);
    }
    patchedMeta['resourceVersion'] = meta(existing)['resourceVersion'];
    const checked = this.checkFields(type, this.checkBody(type, patched), ctx);
    return this.commitUpdate(type, existing, this.intake(type, checked), ctx);
  }

  /**
   * Server-side apply (`application/apply-patch+yaml`): the configuration of one manager, merged
   * with the fields others own; creates the object when it does not exist. 409 on conflicts
   * unless force.
   */
  private apply(
    type: ResourceType,
    namespace: string,
    name: string,
    config: unknown,
    ctx: WriteContext,
  ): { code: number; object: Obj } {
    if (!ctx.explicitManager) {
      throw invalidOptions('PatchOptions', [
        fieldErrors.required('fieldManager', 'is required for apply patch'),
      ]);
    }
    const body = this.checkFields(type, this.checkBody(type, config), ctx);
    if (type.custom || typeof body['apiVersion'] === 'string') {
      if (typeof body['apiVersion'] !== 'string' || body['apiVersion'] === '') {
        throw badRequest(`apiVersion must be set to ${apiVersionOf(type)} in an apply patch`);
      }
    }
    const bodyMeta = meta(body);
    if (bodyMeta['name'] !== undefined && bodyMeta['name'] !== name) {
      throw badRequest(
        `the name of the object (${String(bodyMeta['name'])}) does not match the name on the URL (${name})`,
      );
    }
    const ns = type.namespaced ? namespace : '';
    const stored = this.store.get(type.storageKey, ns, name);
    const live = stored === undefined ? undefined : this.present(type, stored);
    let merged: Obj;
    try {
      merged = applyConfig(live, body, ctx.writer(type), ctx.force);
    } catch (err) {
      if (err instanceof ApplyConflicts) {
        throw new ApiError(409, 'Conflict', conflictMessage(err.conflicts), {
          name,
          group: type.group,
          kind: type.plural,
          causes: conflictCauses(err.conflicts),
        });
      }
      throw err;
    }
    const entries = entriesOf(merged);
    if (stored === undefined) {
      if (ctx.subresource === 'status') throw notFound(type.group, type.plural, name);
      meta(merged)['name'] = name;
      return { code: 201, object: this.create(type, namespace, merged, ctx, entries) };
    }
    const rv = bodyMeta['resourceVersion'];
    if (rv !== undefined && rv !== meta(stored)['resourceVersion']) {
      throw conflict(type.group, type.plural, name, STALE_OBJECT);
    }
    meta(merged)['resourceVersion'] = meta(stored)['resourceVersion'];
    return { code: 200, object: this.commitUpdate(type, stored, this.intake(type, merged), ctx, entries) };
  }

  private delete(
    type: ResourceType,
    namespace: string,
    name: string,
    options: Record<string, unknown>,
    ctx: WriteContext,
  ): Obj {
    const ns = type.namespaced ? namespace : '';
    const existing = this.mustGet(type, ns, name);
    const m = meta(existing);
    const pre = isPlainObject(options['preconditions']) ? options['preconditions'] : {};
    if (pre['uid'] !== undefined && pre['uid'] !== m['uid']) {
      throw conflict(
        type.group,
        type.plural,
        name,
        `Precondition failed: UID in precondition: ${String(pre['uid'])}, UID in object meta: ${String(m['uid'])}`,
      );
    }
    if (pre['resourceVersion'] !== undefined && pre['resourceVersion'] !== m['resourceVersion']) {
      throw conflict(
        type.group,
        type.plural,
        name,
        `Precondition failed: ResourceVersion in precondition: ${String(pre['resourceVersion'])}, ResourceVersion in object meta: ${String(m['resourceVersion'])}`,
      );
    }
    const dryRun = ctx.dryRun || (Array.isArray(options['dryRun']) && options['dryRun'].includes('All'));
    if (type.plural === 'namespaces' && type.group === '') {
      if (!dryRun) return this.deleteNamespace(existing);
      m['deletionTimestamp'] ??= now();
      existing['status'] = { phase: 'Terminating' };
      return existing;
    }
    if (finalizersOf(existing).length > 0) {
      if (m['deletionTimestamp'] !== undefined) return existing;
      m['deletionTimestamp'] = now();
      m['deletionGracePeriodSeconds'] = 0;
      if (typeof m['generation'] === 'number') m['generation'] = m['generation'] + 1;
      return dryRun ? existing : this.store.write(type.storageKey, 'MODIFIED', existing);
    }
    return dryRun ? existing : this.finalize(type, existing);
  }

  /** Removes the object for good (DELETED event) and its dependants. */
  private finalize(type: ResourceType, last: Obj): Obj {
    const removed = this.store.remove(type.storageKey, last);
    if (type.group === CRD_GROUP && type.plural === 'customresourcedefinitions') this.retireCrd(last);
    const ns = namespaceOf(last);
    if (type.namespaced && ns !== '') this.reapNamespace(ns);
    return removed;
  }

  private deleteNamespace(existing: Obj): Obj {
    const name = nameOf(existing);
    let ns = existing;
    if (meta(ns)['deletionTimestamp'] === undefined) {
      meta(ns)['deletionTimestamp'] = now();
      ns['status'] = { phase: 'Terminating' };
      ns = this.store.write('/namespaces', 'MODIFIED', ns);
    }
    const byKey = new Map<string, ResourceType>();
    for (const t of this.allTypes()) if (t.namespaced && !byKey.has(t.storageKey)) byKey.set(t.storageKey, t);
    for (const [key, type] of byKey) {
      for (const obj of this.store.list(key, name)) {
        try {
          this.delete(type, name, nameOf(obj), {}, NO_OPTIONS);
        } catch (err) {
          if (!(err instanceof ApiError && err.code === 404)) throw err;
        }
      }
    }
    return this.reapNamespace(name) ?? this.store.get('/namespaces', '', name) ?? ns;
  }

  /** Removes a terminating namespace once nothing is left in it. */
  private reapNamespace(name: string): Obj | undefined {
    const ns = this.store.get('/namespaces', '', name);
    if (ns === undefined || meta(ns)['deletionTimestamp'] === undefined) return undefined;
    const keys = new Set(
      this.allTypes()
        .filter((t) => t.namespaced)
        .map((t) => t.storageKey),
    );
    for (const key of keys) if (this.store.list(key, name).length > 0) return undefined;
    return this.store.remove('/namespaces', ns);
  }

  private allTypes(): ResourceType[] {
    const types = [...this.registry.typesIn('', 'v1')];
    for (const [group, versions] of this.registry.groups()) {
      for (const v of versions) types.push(...this.registry.typesIn(group, v));
    }
    return types;
  }

  // ---------------------------------------------------------------- CRDs

  private establishCrd(crd: Obj, previous?: Obj, dryRun = false): Obj {
    const types = typesFromCrd(crd);
    const spec = crd['spec'] as Record<string, unknown>;
    const names = { ...(spec['names'] as Record<string, unknown>) };
    const first = types[0];
    if (first !== undefined) {
      names['singular'] = first.singular;
      names['listKind'] = first.listKind;
    }
    if (!dryRun) {
      if (previous !== undefined) this.retireCrd(previous, false);
      for (const t of types) this.registry.add(t);
    }
    const versions = Array.isArray(spec['versions']) ? spec['versions'].filter(isPlainObject) : [];
    const storage = versions.find((v) => v['storage'] === true)?.['name'];
    const transition = now();
    crd['status'] = {
      acceptedNames: names,
      conditions: [
        {
          type: 'NamesAccepted',
          status: 'True',
          reason: 'NoConflicts',
          message: 'no conflicts found',
          lastTransitionTime: transition,
        },
        {
          type: 'Established',
          status: 'True',
          reason: 'InitialNamesAccepted',
          message: 'the initial names have been accepted',
          lastTransitionTime: transition,
        },
      ],
      storedVersions: [storage],
    };
    return crd;
  }

  /** Stops serving a CRD's resources; `dropObjects` also deletes every object of it. */
  private retireCrd(crd: Obj, dropObjects = true): void {
    const spec = isPlainObject(crd['spec']) ? crd['spec'] : {};
    const names = isPlainObject(spec['names']) ? spec['names'] : {};
    const group = typeof spec['group'] === 'string' ? spec['group'] : '';
    const plural = typeof names['plural'] === 'string' ? names['plural'] : '';
    this.registry.removeResource(group, plural);
    if (dropObjects) {
      for (const obj of this.store.list(`${group}/${plural}`)) this.store.remove(`${group}/${plural}`, obj);
    }
  }

  // ---------------------------------------------------------------- watch

  private startStream(res: ServerResponse): void {
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Transfer-Encoding': 'chunked',
      'Cache-Control': 'no-cache',
    });
    res.flushHeaders();
  }

  private watch(
    type: ResourceType,
    namespace: string | undefined,
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
  ): void {
    const labels = labelMatcher(url.searchParams.get('labelSelector') ?? undefined);
    const fields = parseFieldSelector(url.searchParams.get('fieldSelector') ?? undefined, fieldLabels(type));
    const rvParam = url.searchParams.get('resourceVersion') ?? '';
    const bookmarks = url.searchParams.get('allowWatchBookmarks') === 'true';
    const sendInitial = url.searchParams.get('sendInitialEvents') === 'true';
    const timeoutSeconds = Number(url.searchParams.get('timeoutSeconds') ?? '0');
    let backlog: Change[] | undefined = [];
    if (rvParam !== '' && rvParam !== '0') {
      const rv = Number(rvParam);
      if (!Number.isInteger(rv) || rv < 0) throw badRequest(`invalid resource version: ${rvParam}`);
      backlog = this.store.changesSince(rv);
      if (backlog === undefined) {
        this.startStream(res);
        const status = expired(
          `too old resource version: ${rvParam} (${this.store.oldestResourceVersion})`,
        ).toStatus();
        res.end(JSON.stringify({ type: 'ERROR', object: status }) + '\n');
        return;
      }
    }
    this.startStream(res);
    const watcher: Watcher = {
      type,
      namespace: type.namespaced ? namespace : undefined,
      labels,
      fields,
      table: wantsTable(req.headers.accept)
        ? { includeObject: includeObjectOf(url), columnsSent: false }
        : undefined,
      res,
      timers: [],
      close: (graceful) => {
        for (const t of watcher.timers) clearTimeout(t);
        this.watchers.delete(watcher);
        if (graceful) res.end();
        else res.destroy();
      },
    };
    this.watchers.add(watcher);
    req.on('close', () => {
      for (const t of watcher.timers) clearTimeout(t);
      this.watchers.delete(watcher);
    });
    if (rvParam === '' || rvParam === '0' || sendInitial) {
      for (const obj of this.store.list(type.storageKey, watcher.namespace)) {
        if (this.visible(watcher, obj)) this.emit(watcher, 'ADDED', obj);
      }
      if (sendInitial && bookmarks) {
        this.emitBookmark(watcher, { 'k8s.io/initial-events-end': 'true' });
      }
    }
    for (const change of backlog) this.deliver(watcher, change);
    if (bookmarks) {
      const interval = this.options.bookmarkIntervalMs ?? 60_000;
      const tick = (): void => {
        this.emitBookmark(watcher);
        watcher.timers[0] = setTimeout(tick, interval);
      };
      watcher.timers[0] = setTimeout(tick, interval);
    }
    if (timeoutSeconds > 0) watcher.timers.push(setTimeout(() => watcher.close(true), timeoutSeconds * 1000));
  }

  private visible(watcher: Watcher, obj: Obj): boolean {
    if (watcher.namespace !== undefined && namespaceOf(obj) !== watcher.namespace) return false;
    return watcher.labels(labelsOf(obj)) && fieldsMatch(watcher.fields, obj);
  }

  private emit(watcher: Watcher, type: string, stored: Obj): void {
    if (watcher.res.destroyed || watcher.res.writableEnded) return;
    let object: unknown = this.present(watcher.type, stored);
    if (watcher.table !== undefined) {
      const rv = String(meta(stored)['resourceVersion'] ?? this.store.resourceVersion);
      object = toTable(watcher.type, [object as Obj], rv, {
        includeObject: watcher.table.includeObject,
        columns: !watcher.table.columnsSent,
      });
      watcher.table.columnsSent = true;
    }
    watcher.res.write(JSON.stringify({ type, object }) + '\n');
  }

  private emitBookmark(watcher: Watcher, annotations?: Record<string, string>): void {
    if (watcher.res.destroyed || watcher.res.writableEnded) return;
    const metadata: Record<string, unknown> = { resourceVersion: String(this.store.resourceVersion) };
    if (annotations !== undefined) metadata['annotations'] = annotations;
    const object = { kind: watcher.type.kind, apiVersion: apiVersionOf(watcher.type), metadata };
    watcher.res.write(JSON.stringify({ type: 'BOOKMARK', object }) + '\n');
  }

  /** Sends a change to one watcher, turning selector transitions into ADDED/DELETED like the real cacher. */
  private deliver(watcher: Watcher, change: Change): void {
    if (change.storageKey !== watcher.type.storageKey) return;
    const now = this.visible(watcher, change.object);
    const before = change.previous !== undefined && this.visible(watcher, change.previous);
    if (change.type === 'ADDED') {
      if (now) this.emit(watcher, 'ADDED', change.object);
    } else if (change.type === 'MODIFIED') {
      if (now && before) this.emit(watcher, 'MODIFIED', change.object);
      else if (now) this.emit(watcher, 'ADDED', change.object);
      else if (before) this.emit(watcher, 'DELETED', change.object);
    } else if (now || before) {
      this.emit(watcher, 'DELETED', change.object);
    }
  }

  private broadcast(change: Change): void {
    for (const watcher of [...this.watchers]) this.deliver(watcher, change);
  }

  private dropWatches(graceful: boolean): number {
    const all = [...this.watchers];
    for (const w of all) w.close(graceful);
    return all.length;
  }
}

export { Store };
