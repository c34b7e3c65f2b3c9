/**
 * The HanaSystemReplication CRD, generated from the zod schemas (spec.ts, resource.ts).
 *
 * zod's JSON Schema (draft 2020-12) is turned into a Kubernetes *structural* OpenAPI v3 schema:
 * a `type` on every node, no $ref/anyOf/oneOf/allOf/$schema/const, no `additionalProperties: false`
 * (apiextensions v1 forbids it: unknown fields are pruned instead), patterns in RE2 syntax (no
 * look-ahead). The cross-field rules of the spec's superRefine become CEL x-kubernetes-validations.
 * scripts/gen-crd.ts writes the result to the chart; a test fails when the committed file drifts.
 */
import { z } from 'zod';
import { stringify } from 'yaml';
import { hanaSystemReplicationSpecSchema } from './spec.js';
import {
  API_VERSION,
  CRD_NAME,
  GROUP,
  KIND,
  LIST_KIND,
  PLURAL,
  SHORT_NAME,
  SINGULAR,
  VERSION,
  hanaSystemReplicationStatusSchema,
  RESOURCE_NAME_MAX,
  RESOURCE_NAME_PATTERN,
} from './resource.js';

export const CRD_FILE = 'charts/hanasr/crds/hanasr.io_hanasystemreplications.yaml';

export type JsonSchema = { [key: string]: unknown };

/** CEL rules on spec, mirroring the superRefine checks of spec.ts. */
export const specValidations = [
  {
    rule: 'self.sites.all(s, self.sites.exists_one(t, t.name == s.name))',
    message: 'site names must be unique',
    fieldPath: '.sites',
  },
  {
    rule: 'self.sites.all(s, !has(s.source) || (s.source != s.name && self.sites.exists(t, t.name == s.source)))',
    message: 'sites[].source must name another site of this resource',
    fieldPath: '.sites',
  },
  {
    // The schema rejects a cycle of any length; CEL has no loop, and following sources eight
    // levels deep (8^8 steps) is over the API server's cost limit, so only the cycles of two and
    // three sites (A->B->A, A->B->C->A) are caught here. hanasr validate and the operator catch all.
    rule: 'self.sites.all(a, !has(a.source) || !self.sites.exists(b, b.name == a.source && has(b.source) && (b.source == a.name || self.sites.exists(c, c.name == b.source && has(c.source) && c.source == a.name))))',
    message: 'sites[].source must not form a cycle (a cycle has no primary tier)',
    fieldPath: '.sites',
  },
  {
    rule: '!has(self.probes) || !has(self.lease) || !has(self.probes.intervalSeconds) || !has(self.lease.ttlSeconds) || self.probes.intervalSeconds < double(self.lease.ttlSeconds)',
    message: 'probes.intervalSeconds must be shorter than lease.ttlSeconds',
    fieldPath: '.probes.intervalSeconds',
  },
  {
    rule: '!has(self.lease) || !has(self.replication) || !has(self.lease.ttlSeconds) || !has(self.replication.logShippingTimeoutSeconds) || self.lease.ttlSeconds < self.replication.logShippingTimeoutSeconds',
    message:
      'lease.ttlSeconds must be shorter than replication.logShippingTimeoutSeconds, so a cut-off primary fences itself before it can commit alone',
    fieldPath: '.lease.ttlSeconds',
  },
  {
    rule: '!has(self.lease) || !has(self.replication) || !has(self.probes) || !has(self.lease.ttlSeconds) || !has(self.replication.logShippingTimeoutSeconds) || !has(self.probes.intervalSeconds) || !has(self.probes.timeoutSeconds) || double(self.lease.ttlSeconds) + 3.0 * (self.probes.intervalSeconds + self.probes.timeoutSeconds) + (has(self.clock) && has(self.clock.maxSkewSeconds) ? double(self.clock.maxSkewSeconds) : 1.0) < double(self.replication.logShippingTimeoutSeconds)',
    message:
      'lease.ttlSeconds + 3 x (probes.intervalSeconds + probes.timeoutSeconds) + clock.maxSkewSeconds must be shorter than replication.logShippingTimeoutSeconds, or a secondary is never trusted in time to take over after a node loss',
    fieldPath: '.lease.ttlSeconds',
  },
  {
    // zod's rule, in the same order of operations (the same doubles at the edge).
    rule: '!has(self.replication) || !has(self.probes) || !has(self.takeover) || !has(self.clock) || !has(self.replication.logShippingTimeoutSeconds) || !has(self.probes.intervalSeconds) || !has(self.probes.timeoutSeconds) || !has(self.takeover.failureThreshold) || !has(self.clock.maxSkewSeconds) || double(self.clock.maxSkewSeconds) <= self.probes.intervalSeconds + self.probes.timeoutSeconds || double(self.takeover.failureThreshold) * self.probes.intervalSeconds + double(self.clock.maxSkewSeconds) + (self.probes.intervalSeconds + self.probes.timeoutSeconds) < double(self.replication.logShippingTimeoutSeconds)',
    message:
      'with clock.maxSkewSeconds above a probe cycle (probes.intervalSeconds + probes.timeoutSeconds), takeover.failureThreshold x probes.intervalSeconds + clock.maxSkewSeconds + a probe cycle must be shorter than replication.logShippingTimeoutSeconds, or once a failed primary steps down its secondary is never trusted in time to take over',
    fieldPath: '.replication.logShippingTimeoutSeconds',
  },
  {
    rule: "!has(self.fencing) || !has(self.fencing.watchdog) || !has(self.fencing.watchdog.mode) || self.fencing.watchdog.mode != 'required' || !has(self.fencing.watchdog.safetyMarginSeconds) || double(has(self.lease) && has(self.lease.ttlSeconds) ? self.lease.ttlSeconds : 10) - self.fencing.watchdog.safetyMarginSeconds >= 1.0",
    message:
      'fencing.watchdog.safetyMarginSeconds must leave at least 1 s of lease.ttlSeconds when the watchdog is required: its timeout may be at most lease.ttlSeconds - safetyMarginSeconds',
    fieldPath: '.fencing.watchdog.safetyMarginSeconds',
  },
  {
    rule: '!has(self.fencing) || !has(self.fencing.agent) || !has(self.fencing.agent.callTimeoutSeconds) || !has(self.fencing.agent.timeoutSeconds) || self.fencing.agent.callTimeoutSeconds <= self.fencing.agent.timeoutSeconds',
    message: 'fencing.agent.callTimeoutSeconds must be at most fencing.agent.timeoutSeconds',
    fieldPath: '.fencing.agent.callTimeoutSeconds',
  },
] as const;

/** CEL rules on the whole object: metadata.name is the one metadata field a rule may read. */
export const rootValidations = [
  {
    rule: `self.metadata.name.size() <= ${RESOURCE_NAME_MAX} && self.metadata.name.matches('${RESOURCE_NAME_PATTERN.source}')`,
    message: `metadata.name must be a DNS label of at most ${RESOURCE_NAME_MAX} characters (lower-case letters, digits and '-', a letter first): it names the Services <name>-rw and <name>-ro`,
  },
] as const;

export const alertsValidations = [
  {
    rule: '!has(self.lagWarningSeconds) || !has(self.lagCriticalSeconds) || self.lagCriticalSeconds >= self.lagWarningSeconds',
    message: 'lagCriticalSeconds must be at least lagWarningSeconds',
    fieldPath: '.lagCriticalSeconds',
  },
  {
    rule: '!has(self.lagWarningBytes) || !has(self.lagCriticalBytes) || self.lagCriticalBytes >= self.lagWarningBytes',
    message: 'lagCriticalBytes must be at least lagWarningBytes',
    fieldPath: '.lagCriticalBytes',
  },
] as const;

export const printerColumns = [
  { name: 'Primary', type: 'string', jsonPath: '.status.currentPrimary' },
  {
    name: 'Secondary',
    type: 'string',
    description: 'The first secondary site',
    jsonPath: '.status.sites[?(@.role=="secondary")].name',
  },
  {
    name: 'Replication',
    type: 'string',
    description: 'Replication status of the first secondary',
    jsonPath: '.status.sites[?(@.role=="secondary")].replicationStatus',
  },
  {
    name: 'Lag',
    type: 'number',
    description: 'Replication lag of the first secondary, in seconds',
    jsonPath: '.status.sites[?(@.role=="secondary")].lagSeconds',
  },
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
] as const;

const LOOKAHEAD_LENGTH = /^\^\(\?=\.\{(\d+),(\d+)\}\$\)/;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * The longest string a simple anchored pattern (`^` atoms `$`, atoms being a character class or a
 * plain character with an optional `{n}`, `{m,n}` or `?`) can match; undefined for anything else.
 */
export function patternMaxLength(pattern: string): number | undefined {
  const m = /^\^(.*)\$$/.exec(pattern);
  if (!m || m[1] === undefined) return undefined;
  const atom = /(\[(?:\\.|[^\]\\])+\]|\\.|[^\\[\](){}?*+|^$.])(\{(\d+)(?:,(\d+))?\}|\?)?/y;
  const body = m[1];
  let total = 0;
  atom.lastIndex = 0;
  while (atom.lastIndex < body.length) {
    const start = atom.lastIndex;
    const a = atom.exec(body);
    if (!a || a.index !== start) return undefined;
    if (a[2] === undefined || a[2] === '?') total += 1;
    else total += Number(a[4] ?? a[3]);
  }
  return total;
}

/** Why a JSON Schema node cannot become a structural schema. */
export class StructuralSchemaError extends Error {
  readonly code = 'NOT_STRUCTURAL' as const;
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path || '(root)'}: ${message}`);
    this.name = 'StructuralSchemaError';
  }
}

/** Converts one zod JSON Schema node (and its children) into a structural OpenAPI v3 schema. */
export function toStructural(node: JsonSchema, path = ''): JsonSchema {
  for (const forbidden of ['$ref', 'anyOf', 'oneOf', 'allOf', 'not', 'if', 'prefixItems']) {
    if (forbidden in node)
      throw new StructuralSchemaError(path, `${forbidden} cannot be expressed structurally`);
  }
  const out: JsonSchema = {};
  let type = node.type;
  if (Array.isArray(type)) {
    const nonNull = type.filter((t) => t !== 'null');
    if (nonNull.length !== 1) throw new StructuralSchemaError(path, `ambiguous type ${JSON.stringify(type)}`);
    type = nonNull[0];
    out.nullable = true;
  }
  if (typeof type !== 'string') throw new StructuralSchemaError(path, 'a type is required on every node');
  out.type = type;
  // The zod schemas' .describe() texts: kubectl explain prints them.
  if (typeof node.description === 'string') out.description = node.description;
  if ('default' in node) out.default = node.default;

  if ('const' in node) out.enum = [node.const];
  if (Array.isArray(node.enum)) out.enum = node.enum;

  if (type === 'string') {
    let pattern = typeof node.pattern === 'string' ? node.pattern : undefined;
    if (pattern !== undefined) {
      // RE2 (the API server's regexp engine) has no look-ahead: turn the length guard into bounds.
      const m = LOOKAHEAD_LENGTH.exec(pattern);
      if (m) {
        out.minLength = Number(m[1]);
        out.maxLength = Number(m[2]);
        pattern = `^${pattern.slice(m[0].length)}`;
      }
      if (/\(\?[=!<]/.test(pattern)) throw new StructuralSchemaError(path, 'look-around is not RE2');
    }
    if (pattern !== undefined && typeof node.maxLength !== 'number' && out.maxLength === undefined) {
      // CEL cost estimation needs bounded strings: derive the bound of simple anchored patterns.
      const bound = patternMaxLength(pattern);
      if (bound !== undefined) out.maxLength = bound;
    }
    if (node.format === 'date-time') {
      out.format = 'date-time'; // the format check replaces zod's long date pattern
    } else if (pattern !== undefined) {
      out.pattern = pattern;
    }
    if (typeof node.minLength === 'number') out.minLength = node.minLength;
    if (typeof node.maxLength === 'number') out.maxLength = node.maxLength;
  }
  if (type === 'integer' || type === 'number') {
    if (typeof node.minimum === 'number' && node.minimum > -MAX_SAFE) out.minimum = node.minimum;
    if (typeof node.maximum === 'number' && node.maximum < MAX_SAFE) out.maximum = node.maximum;
    if (typeof node.exclusiveMinimum === 'number') {
      out.minimum = node.exclusiveMinimum;
      out.exclusiveMinimum = true;
    }
    if (typeof node.exclusiveMaximum === 'number') {
      out.maximum = node.exclusiveMaximum;
      out.exclusiveMaximum = true;
    }
    if (type === 'integer') out.format = 'int64';
  }
  if (type === 'array') {
    const items = node.items;
    if (items === null || typeof items !== 'object' || Array.isArray(items)) {
      throw new StructuralSchemaError(path, 'arrays need one items schema');
    }
    out.items = toStructural(items as JsonSchema, `${path}[]`);
    if (typeof node.minItems === 'number') out.minItems = node.minItems;
    if (typeof node.maxItems === 'number') out.maxItems = node.maxItems;
  }
  if (type === 'object') {
    const props = node.properties as Record<string, JsonSchema> | undefined;
    if (props !== undefined) {
      const converted: Record<string, JsonSchema> = {};
      for (const [key, value] of Object.entries(props)) {
        converted[key] = toStructural(value, path === '' ? key : `${path}.${key}`);
      }
      out.properties = converted;
      if (Array.isArray(node.required) && node.required.length > 0) out.required = node.required;
    }
    const extra = node.additionalProperties;
    if (extra !== undefined && extra !== false) {
      if (typeof extra === 'object' && extra !== null && Object.keys(extra).length > 0) {
        if (props !== undefined)
          throw new StructuralSchemaError(path, 'properties and additionalProperties together');
        out.additionalProperties = toStructural(extra as JsonSchema, `${path}.*`);
      } else {
        out['x-kubernetes-preserve-unknown-fields'] = true;
      }
    }
  }
  return out;
}

function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'throw' }) as JsonSchema;
  delete json.$schema;
  return json;
}

/** The structural schema of spec (defaults filled by the API server, CEL rules attached). */
export function specOpenApiSchema(): JsonSchema {
  const spec = toStructural(jsonSchemaOf(hanaSystemReplicationSpecSchema, 'input'), 'spec');
  spec['x-kubernetes-validations'] = specValidations.map((v) => ({ ...v }));
  const props = spec.properties as Record<string, JsonSchema>;
  const alerts = props.alerts;
  if (alerts === undefined) throw new StructuralSchemaError('spec.alerts', 'missing');
  alerts['x-kubernetes-validations'] = alertsValidations.map((v) => ({ ...v }));
  return spec;
}

export function statusOpenApiSchema(): JsonSchema {
  return toStructural(jsonSchemaOf(hanaSystemReplicationStatusSchema, 'output'), 'status');
}

/** The CustomResourceDefinition object (apiextensions.k8s.io/v1). */
export function buildCrd(): object {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: CRD_NAME,
      annotations: { 'helm.sh/resource-policy': 'keep' },
      labels: { 'app.kubernetes.io/name': 'hanasr', 'app.kubernetes.io/part-of': 'hanasr' },
    },
    spec: {
      group: GROUP,
      names: {
        kind: KIND,
        listKind: LIST_KIND,
        plural: PLURAL,
        singular: SINGULAR,
        shortNames: [SHORT_NAME],
        categories: ['hanasr'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: printerColumns.map((c) => ({ ...c })),
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: 'A SAP HANA System Replication landscape managed by hanasr.',
              properties: {
                apiVersion: {
                  type: 'string',
                  description: `The schema version of this object: ${API_VERSION}.`,
                },
                kind: { type: 'string', description: `The kind of this object: ${KIND}.` },
                metadata: {
                  type: 'object',
                  description: 'Name, namespace, labels and annotations of the object.',
                },
                spec: specOpenApiSchema(),
                status: statusOpenApiSchema(),
              },
              required: ['spec'],
              'x-kubernetes-validations': rootValidations.map((v) => ({ ...v })),
            },
          },
        },
      ],
    },
  };
}

/** The CRD as the YAML committed in the chart (deterministic). */
export function renderCrdYaml(): string {
  const header =
    '# Generated by scripts/gen-crd.ts from src/api/spec.ts and src/api/resource.ts. Do not edit:\n' +
    '# change the zod schemas and run `npx tsx scripts/gen-crd.ts`.\n';
  return header + stringify(buildCrd(), { lineWidth: 0, indentSeq: false, version: '1.1' });
}
