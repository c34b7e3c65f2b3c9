// Why this file is long: the OpenAPI v3 documents kubectl reads (discovery, hashes, every built-in and custom schema), one concern of the stand-in API server.
/**
 * OpenAPI v3, as kube-apiserver publishes it and kubectl reads it: `/openapi/v3` lists one
 * document per group/version (`serverRelativeURL` with a content hash), and each document has
 * the paths of the resources it serves (operations tagged with `x-kubernetes-group-version-kind`,
 * PATCH listing `fieldValidation` so kubectl leaves validation to the server) and the schemas of
 * their kinds (a CRD's own schema; a reduced one for the built-in kinds: their top-level fields,
 * with the nested ones kept as they come). `kubectl apply` checks the first, `kubectl explain`
 * prints the second's descriptions.
 */
import { createHash } from 'node:crypto';
import { apiVersionOf, type ResourceType } from './resources.js';
import type { JSONSchemaProps } from './schema.js';

export const OBJECT_META_REF = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
const LIST_META_REF = 'io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta';
const STATUS_REF = 'io.k8s.apimachinery.pkg.apis.meta.v1.Status';

const str = (description: string): JSONSchemaProps => ({ type: 'string', description });
const int = (description: string): JSONSchemaProps => ({ type: 'integer', format: 'int64', description });
const time = (description: string): JSONSchemaProps => ({ type: 'string', format: 'date-time', description });
const stringMap = (description: string): JSONSchemaProps => ({
  type: 'object',
  additionalProperties: { type: 'string' },
  description,
});
/** A nested object whose fields this server keeps as they come. */
const opaque = (description: string): JSONSchemaProps => ({
  type: 'object',
  'x-kubernetes-preserve-unknown-fields': true,
  description,
});

/** metadata of every object (metav1.ObjectMeta): the fields clients may send and the server sets. */
export const objectMetaSchema: JSONSchemaProps = {
  type: 'object',
  description:
    'Metadata every persisted object has: name, namespace, labels, annotations, and what the server records.',
  properties: {
    name: str('Name, unique within a namespace (or the cluster for cluster-scoped kinds).'),
    generateName: str('Prefix of a name the server generates when name is empty.'),
    namespace: str('The namespace of a namespaced object.'),
    selfLink: str('Deprecated; never set.'),
    uid: str('Unique identifier the server assigns at creation.'),
    resourceVersion: str('Opaque version of this object, for optimistic concurrency and watches.'),
    generation: int('Sequence number of changes to the desired state, set by the server.'),
    creationTimestamp: time('When the server created the object.'),
    deletionTimestamp: time('When deletion was requested; the object goes once its finalizers are removed.'),
    deletionGracePeriodSeconds: int('Seconds allowed for graceful termination before deletion.'),
    labels: stringMap('Key/value pairs to organise and select objects.'),
    annotations: stringMap('Key/value pairs for tools and people; not used for selection.'),
    ownerReferences: {
      type: 'array',
      description: 'Objects this one depends on.',
      items: opaque('An owner: apiVersion, kind, name, uid, controller, blockOwnerDeletion.'),
    },
    finalizers: {
      type: 'array',
      description: 'Must be empty before the object is deleted from storage.',
      items: { type: 'string' },
    },
    managedFields: {
      type: 'array',
      description: 'Which manager set which fields, and how (server-side apply bookkeeping).',
      items: {
        type: 'object',
        description: 'The fields one manager owns through one kind of operation.',
        properties: {
          manager: str('Name of the manager (the fieldManager of its requests).'),
          operation: str('Apply or Update.'),
          apiVersion: str('The version of the fields below.'),
          time: time('When the manager last changed its set of fields.'),
          fieldsType: str('FieldsV1.'),
          fieldsV1: opaque('The owned fields, as a tree of f:<name>, k:<keys>, v:<value> and "." entries.'),
          subresource: str('The subresource the writes went to (status), or empty.'),
        },
      },
    },
  },
};

const listMetaSchema: JSONSchemaProps = {
  type: 'object',
  description: 'Metadata of a list: its resourceVersion and continue token.',
  properties: {
    resourceVersion: str('The version of the collection, to watch from.'),
    continue: str('Token for the next chunk of a paged list.'),
    remainingItemCount: int('Items after this chunk, when known.'),
  },
};

/** The top-level fields of the built-in kinds this server serves (nested ones are kept as they come). */
const BUILTIN_FIELDS: Readonly<Record<string, Record<string, JSONSchemaProps>>> = {
  '/Namespace': {
    spec: opaque('Finalizers of the namespace.'),
    status: opaque('Phase of the namespace: Active or Terminating.'),
  },
  '/Service': {
    spec: opaque('Selector, ports and type of the service.'),
    status: opaque('Load balancer state.'),
  },
  '/Endpoints': {
    subsets: {
      type: 'array',
      description: 'Addresses and ports.',
      items: opaque('One set of addresses and ports.'),
    },
  },
  '/Pod': {
    spec: opaque('Containers, volumes and scheduling of the pod.'),
    status: opaque('Observed state.'),
  },
  '/Event': {
    action: str('What was done, or failed to be done.'),
    count: { type: 'integer', format: 'int32', description: 'How many times this event occurred.' },
    eventTime: {
      type: 'string',
      format: 'date-time',
      description: 'When the event was first observed (MicroTime).',
    },
    firstTimestamp: time('When the event was first recorded.'),
    lastTimestamp: time('When the event was last recorded.'),
    involvedObject: opaque('The object this event is about (apiVersion, kind, namespace, name, uid).'),
    message: str('What happened, for humans.'),
    reason: str('Why, in CamelCase (machine-readable).'),
    related: opaque('A second object involved, if any.'),
    reportingComponent: str('The controller that emitted the event.'),
    reportingInstance: str('The instance of that controller.'),
    series: opaque('Data about the series this event belongs to.'),
    source: opaque('The component and host that reported the event.'),
    type: str('Normal or Warning.'),
  },
  'events.k8s.io/Event': {
    action: str('What was done, or failed to be done.'),
    deprecatedCount: { type: 'integer', format: 'int32', description: 'core/v1 count.' },
    deprecatedFirstTimestamp: time('core/v1 firstTimestamp.'),
    deprecatedLastTimestamp: time('core/v1 lastTimestamp.'),
    deprecatedSource: opaque('core/v1 source.'),
    eventTime: {
      type: 'string',
      format: 'date-time',
      description: 'When the event was first observed (MicroTime).',
    },
    note: str('What happened, for humans.'),
    reason: str('Why, in CamelCase (machine-readable).'),
    regarding: opaque('The object this event is about.'),
    related: opaque('A second object involved, if any.'),
    reportingController: str('The controller that emitted the event.'),
    reportingInstance: str('The instance of that controller.'),
    series: opaque('Data about the series this event belongs to.'),
    type: str('Normal or Warning.'),
  },
  '/ConfigMap': {
    data: stringMap('UTF-8 data.'),
    binaryData: stringMap('Binary data, base64-encoded.'),
    immutable: { type: 'boolean', description: 'The data cannot be changed.' },
  },
  '/Secret': {
    data: stringMap('Secret data, base64-encoded.'),
    stringData: stringMap('Write-only convenience: merged into data.'),
    type: str('Type of the secret.'),
    immutable: { type: 'boolean', description: 'The data cannot be changed.' },
  },
  'coordination.k8s.io/Lease': { spec: opaque('Holder identity, duration and renewals of the lease.') },
  'apiextensions.k8s.io/CustomResourceDefinition': {
    spec: opaque('Group, names, scope and versions (with schemas) of the custom resource.'),
    status: opaque('Accepted names, conditions and stored versions.'),
  },
};

const envelope = (type: ResourceType): Record<string, JSONSchemaProps> => ({
  apiVersion: str(`The schema version of this object: ${apiVersionOf(type)}.`),
  kind: str(`The kind of this object: ${type.kind}.`),
});

/**
 * The schema of a kind as the server checks it: a CRD's own (the API server adds nothing but
 * metadata), or the reduced built-in one. metadata is ObjectMeta's schema, inline.
 */
export function kindSchema(type: ResourceType): JSONSchemaProps {
  if (type.custom) {
    const own: JSONSchemaProps = structuredClone(type.schema ?? { type: 'object' });
    own.properties = { ...own.properties, ...envelope(type), metadata: objectMetaSchema };
    return own;
  }
  const fields = BUILTIN_FIELDS[`${type.group}/${type.kind}`] ?? {};
  return {
    type: 'object',
    description: `${type.kind} (the fields this API server keeps; nested ones as they come).`,
    properties: { ...envelope(type), metadata: objectMetaSchema, ...fields },
  };
}

/** `io.hanasr.v1alpha1.HanaSystemReplication`, `io.k8s.api.core.v1.Pod`, as kube-openapi names them. */
export function definitionName(type: ResourceType, kind = type.kind): string {
  if (type.custom) return [...type.group.split('.').reverse(), type.version, kind].join('.');
  if (type.group === 'apiextensions.k8s.io') {
    return `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.${type.version}.${kind}`;
  }
  const group = type.group === '' ? 'core' : type.group.replace(/\.k8s\.io$/, '');
  return `io.k8s.api.${group}.${type.version}.${kind}`;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** The schema as published: metadata and list items by $ref, as kube-openapi writes them. */
function published(type: ResourceType): Record<string, unknown> {
  const schema = kindSchema(type) as Record<string, unknown>;
  const properties = { ...(schema['properties'] as Record<string, unknown>) };
  properties['metadata'] = {
    allOf: [ref(OBJECT_META_REF)],
    description: "Standard object's metadata.",
  };
  return {
    ...schema,
    properties,
    'x-kubernetes-group-version-kind': [{ group: type.group, kind: type.kind, version: type.version }],
  };
}

function listSchema(type: ResourceType): Record<string, unknown> {
  return {
    type: 'object',
    description: `A list of ${type.kind} objects.`,
    required: ['items'],
    properties: {
      ...envelope({ ...type, kind: type.listKind }),
      items: { type: 'array', description: `The ${type.plural}.`, items: ref(definitionName(type)) },
      metadata: { allOf: [ref(LIST_META_REF)], description: "Standard list's metadata." },
    },
    'x-kubernetes-group-version-kind': [{ group: type.group, kind: type.listKind, version: type.version }],
  };
}

type Param = { name: string; in: 'query' | 'path'; description: string; schema: { type: string } };
const q = (name: string, description: string, type = 'string'): Param => ({
  name,
  in: 'query',
  description,
  schema: { type },
});
const WRITE_PARAMS = [
  q('dryRun', 'All: validate and answer, store nothing.'),
  q('fieldManager', 'Name of the actor making the change (managedFields).'),
  q('fieldValidation', 'Ignore, Warn (default) or Strict: what to do with unknown fields.'),
];
const LIST_PARAMS = [
  q('labelSelector', 'Only objects whose labels match.'),
  q('fieldSelector', 'Only objects whose fields match.'),
  q('resourceVersion', 'List or watch from this version.'),
  q('resourceVersionMatch', 'How resourceVersion applies to a list.'),
  q('limit', 'Most objects to return (this server returns them all).', 'integer'),
  q('continue', 'Token of the next chunk.'),
  q('timeoutSeconds', 'Ends the watch after this many seconds.', 'integer'),
  q('watch', 'Watch changes instead of listing.', 'boolean'),
  q('allowWatchBookmarks', 'Send BOOKMARK events.', 'boolean'),
  q('sendInitialEvents', 'Start a watch with the current objects, then a bookmark.', 'boolean'),
];

const JSON_MEDIA = ['application/json', 'application/yaml'];

function operation(
  type: ResourceType,
  action: string,
  params: Param[],
  body: { schema: string; media: string[] } | undefined,
  response: string,
): Record<string, unknown> {
  const op: Record<string, unknown> = {
    description: `${action} ${type.kind}`,
    operationId: `${action}${type.kind}`,
    parameters: params,
    responses: {
      '200': {
        description: 'OK',
        content: Object.fromEntries(JSON_MEDIA.map((m) => [m, { schema: ref(response) }])),
      },
      '401': { description: 'Unauthorized' },
    },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: type.group, kind: type.kind, version: type.version },
  };
  if (body !== undefined) {
    op['requestBody'] = {
      required: true,
      content: Object.fromEntries(body.media.map((m) => [m, { schema: ref(body.schema) }])),
    };
  }
  return op;
}

/** The media types PATCH accepts for a type (what the server's patch handler takes). */
export function patchMediaTypes(type: ResourceType): string[] {
  return type.custom
    ? ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml']
    : [
        'application/json-patch+json',
        'application/merge-patch+json',
        'application/strategic-merge-patch+json',
        'application/apply-patch+yaml',
      ];
}

function pathsOf(type: ResourceType): Record<string, Record<string, unknown>> {
  const prefix = type.group === '' ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  const kind = definitionName(type);
  const list = definitionName(type, type.listKind);
  const pathParams: Param[] = [
    { name: 'name', in: 'path', description: 'Name of the object.', schema: { type: 'string' } },
  ];
  const nsParam: Param[] = type.namespaced
    ? [
        {
          name: 'namespace',
          in: 'path',
          description: 'Namespace of the objects.',
          schema: { type: 'string' },
        },
      ]
    : [];
  const base = type.namespaced
    ? `${prefix}/namespaces/{namespace}/${type.plural}`
    : `${prefix}/${type.plural}`;
  const item = (params: Param[]) => [...nsParam, ...pathParams, ...params];
  const paths: Record<string, Record<string, unknown>> = {
    [base]: {
      get: operation(type, 'list', [...nsParam, ...LIST_PARAMS], undefined, list),
      post: operation(type, 'post', [...nsParam, ...WRITE_PARAMS], { schema: kind, media: ['*/*'] }, kind),
      delete: operation(type, 'deletecollection', [...nsParam, ...LIST_PARAMS], undefined, STATUS_REF),
    },
    [`${base}/{name}`]: {
      get: operation(type, 'get', item([]), undefined, kind),
      put: operation(type, 'put', item(WRITE_PARAMS), { schema: kind, media: ['*/*'] }, kind),
      patch: operation(
        type,
        'patch',
        item([
          ...WRITE_PARAMS,
          q('force', 'Take the fields other managers own (server-side apply).', 'boolean'),
        ]),
        { schema: 'io.k8s.apimachinery.pkg.apis.meta.v1.Patch', media: patchMediaTypes(type) },
        kind,
      ),
      delete: operation(type, 'delete', item([q('dryRun', 'All: answer, delete nothing.')]), undefined, kind),
    },
  };
  if (type.namespaced) {
    paths[`${prefix}/${type.plural}`] = { get: operation(type, 'list', LIST_PARAMS, undefined, list) };
  }
  if (type.statusSubresource) {
    paths[`${base}/{name}/status`] = {
      get: operation(type, 'get', item([]), undefined, kind),
      put: operation(type, 'put', item(WRITE_PARAMS), { schema: kind, media: ['*/*'] }, kind),
      patch: operation(
        type,
        'patch',
        item([
          ...WRITE_PARAMS,
          q('force', 'Take the fields other managers own (server-side apply).', 'boolean'),
        ]),
        { schema: 'io.k8s.apimachinery.pkg.apis.meta.v1.Patch', media: patchMediaTypes(type) },
        kind,
      ),
    };
  }
  return paths;
}

/** The OpenAPI v3 document of one group/version. */
export function groupVersionDocument(
  types: readonly ResourceType[],
  serverVersion: string,
): Record<string, unknown> {
  const schemas: Record<string, unknown> = {
    [OBJECT_META_REF]: objectMetaSchema,
    [LIST_META_REF]: listMetaSchema,
    [STATUS_REF]: opaque('The outcome of an operation that returns no object, or a failure.'),
    'io.k8s.apimachinery.pkg.apis.meta.v1.Patch': {
      type: 'object',
      description: 'A patch: its format is the request Content-Type.',
    },
  };
  let paths: Record<string, unknown> = {};
  for (const t of types) {
    schemas[definitionName(t)] = published(t);
    schemas[definitionName(t, t.listKind)] = listSchema(t);
    paths = { ...paths, ...pathsOf(t) };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: serverVersion },
    paths,
    components: { schemas },
  };
}

/** `api/v1`, `apis/hanasr.io/v1alpha1`: the keys of /openapi/v3's paths. */
export function documentKey(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

/** The hash kube-openapi puts in serverRelativeURL: SHA-512 of the document, upper-case hex. */
export function documentHash(text: string): string {
  return createHash('sha512').update(text).digest('hex').toUpperCase();
}
