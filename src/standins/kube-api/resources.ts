/**
 * The resource types the fake API server serves: the built-in ones the operator touches and
 * those a CustomResourceDefinition adds. Discovery, routing and storage all read this registry.
 */
import { ApiError, fieldErrors, invalid, type FieldError } from './errors.js';
import { isPlainObject, type JSONSchemaProps } from './schema.js';

export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  format?: string;
  priority?: number;
}

export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** Has a `/status` subresource: the main resource ignores status, `/status` ignores the rest. */
  statusSubresource: boolean;
  /** Custom resource: JSON and merge patch only, resourceVersion required on update. */
  custom: boolean;
  /** PUT to a missing object creates it (events, endpoints, leases). */
  allowCreateOnUpdate: boolean;
  schema: JSONSchemaProps | undefined;
  printerColumns: PrinterColumn[];
  /** Objects of every version of one group/resource share this storage key. */
  storageKey: string;
}

export const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function groupVersion(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

export function apiVersionOf(t: ResourceType): string {
  return groupVersion(t.group, t.version);
}

interface BuiltinInit {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced?: boolean;
  shortNames?: string[];
  categories?: string[];
  status?: boolean;
  createOnUpdate?: boolean;
  storageKey?: string;
}

function builtin(init: BuiltinInit): ResourceType {
  return {
    group: init.group,
    version: init.version,
    plural: init.plural,
    singular: init.kind.toLowerCase(),
    kind: init.kind,
    listKind: `${init.kind}List`,
    namespaced: init.namespaced ?? true,
    shortNames: init.shortNames ?? [],
    categories: init.categories ?? [],
    verbs: ALL_VERBS,
    statusSubresource: init.status ?? false,
    custom: false,
    allowCreateOnUpdate: init.createOnUpdate ?? false,
    schema: undefined,
    printerColumns: [],
    storageKey: init.storageKey ?? `${init.group}/${init.plural}`,
  };
}

export const CRD_GROUP = 'apiextensions.k8s.io';

export function builtinTypes(): ResourceType[] {
  return [
    builtin({
      group: '',
      version: 'v1',
      plural: 'namespaces',
      kind: 'Namespace',
      namespaced: false,
      shortNames: ['ns'],
      status: true,
    }),
    builtin({
      group: '',
      version: 'v1',
      plural: 'services',
      kind: 'Service',
      shortNames: ['svc'],
      categories: ['all'],
      status: true,
    }),
    builtin({
      group: '',
      version: 'v1',
      plural: 'endpoints',
      kind: 'Endpoints',
      shortNames: ['ep'],
      createOnUpdate: true,
    }),
    builtin({
      group: '',
      version: 'v1',
      plural: 'pods',
      kind: 'Pod',
      shortNames: ['po'],
      categories: ['all'],
      status: true,
    }),
    builtin({
      group: '',
      version: 'v1',
      plural: 'events',
      kind: 'Event',
      shortNames: ['ev'],
      createOnUpdate: true,
    }),
    builtin({ group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', shortNames: ['cm'] }),
    builtin({ group: '', version: 'v1', plural: 'secrets', kind: 'Secret' }),
    builtin({
      group: 'events.k8s.io',
      version: 'v1',
      plural: 'events',
      kind: 'Event',
      shortNames: ['ev'],
      createOnUpdate: true,
      storageKey: '/events',
    }),
    builtin({
      group: 'coordination.k8s.io',
      version: 'v1',
      plural: 'leases',
      kind: 'Lease',
      createOnUpdate: true,
    }),
    builtin({
      group: CRD_GROUP,
      version: 'v1',
      plural: 'customresourcedefinitions',
      kind: 'CustomResourceDefinition',
      namespaced: false,
      shortNames: ['crd', 'crds'],
      categories: ['api-extensions'],
      status: true,
    }),
  ];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Checks a CustomResourceDefinition and returns the resource types it serves (one per served
 * version). Throws a 422 naming the field, as the real server does for a bad CRD.
 */
export function typesFromCrd(crd: Record<string, unknown>): ResourceType[] {
  const name = str(isPlainObject(crd['metadata']) ? crd['metadata']['name'] : undefined) ?? '';
  const spec = isPlainObject(crd['spec']) ? crd['spec'] : {};
  const names = isPlainObject(spec['names']) ? spec['names'] : {};
  const errors: FieldError[] = [];
  const group = str(spec['group']) ?? '';
  const plural = str(names['plural']) ?? '';
  const kind = str(names['kind']) ?? '';
  const scope = str(spec['scope']) ?? '';
  if (group === '') errors.push(fieldErrors.required('spec.group'));
  else if (!group.includes('.'))
    errors.push(fieldErrors.invalid('spec.group', group, 'should be a domain with at least one dot'));
  if (plural === '') errors.push(fieldErrors.required('spec.names.plural'));
  else if (!DNS_LABEL.test(plural))
    errors.push(fieldErrors.invalid('spec.names.plural', plural, 'a lowercase RFC 1123 label'));
  if (kind === '') errors.push(fieldErrors.required('spec.names.kind'));
  if (scope !== 'Namespaced' && scope !== 'Cluster') {
    errors.push(fieldErrors.notSupported('spec.scope', scope, ['Cluster', 'Namespaced']));
  }
  if (plural !== '' && group !== '' && name !== `${plural}.${group}`) {
    errors.push(fieldErrors.invalid('metadata.name', name, 'must be spec.names.plural+"."+spec.group'));
  }
  const versions = Array.isArray(spec['versions']) ? spec['versions'].filter(isPlainObject) : [];
  if (versions.length === 0)
    errors.push(
      fieldErrors.invalid(
        'spec.versions',
        versions,
        'must have exactly one version marked as storage version',
      ),
    );
  else if (versions.filter((v) => v['storage'] === true).length !== 1) {
    errors.push(
      fieldErrors.invalid(
        'spec.versions',
        versions.length,
        'must have exactly one version marked as storage version',
      ),
    );
  }
  const types: ResourceType[] = [];
  versions.forEach((v, i) => {
    const version = str(v['name']) ?? '';
    if (version === '') errors.push(fieldErrors.required(`spec.versions[${i}].name`));
    const schemaHolder = isPlainObject(v['schema']) ? v['schema'] : {};
    const schema = isPlainObject(schemaHolder['openAPIV3Schema'])
      ? (schemaHolder['openAPIV3Schema'] as JSONSchemaProps)
      : undefined;
    if (schema === undefined)
      errors.push(fieldErrors.required(`spec.versions[${i}].schema.openAPIV3Schema`, 'schemas are required'));
    else if (schema.type !== 'object') {
      errors.push(
        fieldErrors.notSupported(`spec.versions[${i}].schema.openAPIV3Schema.type`, schema.type ?? '', [
          'object',
        ]),
      );
    }
    if (v['served'] !== true) return;
    const subresources = isPlainObject(v['subresources']) ? v['subresources'] : {};
    const columns = Array.isArray(v['additionalPrinterColumns'])
      ? v['additionalPrinterColumns'].filter(isPlainObject).map((c) => {
          const column: PrinterColumn = {
            name: str(c['name']) ?? '',
            type: str(c['type']) ?? 'string',
            jsonPath: str(c['jsonPath']) ?? '',
          };
          const description = str(c['description']);
          if (description !== undefined) column.description = description;
          const format = str(c['format']);
          if (format !== undefined) column.format = format;
          if (typeof c['priority'] === 'number') column.priority = c['priority'];
          return column;
        })
      : [];
    types.push({
      group,
      version,
      plural,
      singular: str(names['singular']) ?? kind.toLowerCase(),
      kind,
      listKind: str(names['listKind']) ?? `${kind}List`,
      namespaced: scope === 'Namespaced',
      shortNames: strings(names['shortNames']),
      categories: strings(names['categories']),
      verbs: ALL_VERBS,
      statusSubresource: isPlainObject(subresources['status']),
      custom: true,
      allowCreateOnUpdate: false,
      schema,
      printerColumns: columns,
      storageKey: `${group}/${plural}`,
    });
  });
  if (errors.length > 0) throw invalid(CRD_GROUP, 'CustomResourceDefinition', name, errors);
  return types;
}

/** The registry: which group/version/plural is served by which type. */
export class Registry {
  private readonly byGv = new Map<string, Map<string, ResourceType>>();

  constructor(types: readonly ResourceType[]) {
    for (const t of types) this.add(t);
  }

  add(t: ResourceType): void {
    const gv = groupVersion(t.group, t.version);
    let plurals = this.byGv.get(gv);
    if (plurals === undefined) {
      plurals = new Map();
      this.byGv.set(gv, plurals);
    }
    for (const other of plurals.values()) {
      if (other.plural !== t.plural && other.kind === t.kind) {
        throw new ApiError(409, 'Conflict', `kind ${t.kind} is already served by ${other.plural}`);
      }
    }
    plurals.set(t.plural, t);
  }

  /** Removes every version of group/plural. */
  removeResource(group: string, plural: string): void {
    for (const [gv, plurals] of this.byGv) {
      const t = plurals.get(plural);
      if (t !== undefined && t.group === group) plurals.delete(plural);
      if (plurals.size === 0) this.byGv.delete(gv);
    }
  }

  find(group: string, version: string, plural: string): ResourceType | undefined {
    return this.byGv.get(groupVersion(group, version))?.get(plural);
  }

  typesIn(group: string, version: string): ResourceType[] {
    return [...(this.byGv.get(groupVersion(group, version))?.values() ?? [])];
  }

  /** Served non-core groups with their versions, in registration order. */
  groups(): Map<string, string[]> {
    const groups = new Map<string, string[]>();
    for (const [gv, plurals] of this.byGv) {
      const first = plurals.values().next().value;
      if (first === undefined || first.group === '') continue;
      const versions = groups.get(first.group) ?? [];
      versions.push(first.version);
      groups.set(first.group, versions);
      void gv;
    }
    return groups;
  }
}
