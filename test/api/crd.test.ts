import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { parse, parseAllDocuments } from 'yaml';
import {
  CRD_FILE,
  buildCrd,
  patternMaxLength,
  printerColumns,
  renderCrdYaml,
  specValidations,
  toStructural,
  StructuralSchemaError,
} from '../../src/api/crd.js';
import { hanaSystemReplicationSpecSchema, parseSpec } from '../../src/api/spec.js';
import { isMultiRegion, linkReplicationMode } from '../../src/domain/region.js';
import { Ajv } from 'ajv';

const committed = readFileSync(new URL(`../../${CRD_FILE}`, import.meta.url), 'utf8');

type Node = Record<string, unknown>;
const crd = buildCrd() as {
  metadata: { name: string; annotations: Record<string, string> };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; shortNames: string[] };
    versions: {
      name: string;
      subresources: { status: object };
      additionalPrinterColumns: { name: string; jsonPath: string }[];
      schema: { openAPIV3Schema: Node };
    }[];
  };
};
const version = crd.spec.versions[0]!;
const root = version.schema.openAPIV3Schema;

/**
 * The CRD's schema checked by ajv (strict: a keyword it does not know fails the compile), with
 * the OpenAPI/Kubernetes extras declared: nullable is ajv's own; x-kubernetes-* are annotations
 * here (CEL rules are checked by the API server, and by parseSpec's superRefine); int64 and
 * date-time as the API server reads them.
 */
function crdValidator() {
  const ajv = new Ajv({ strict: true, allErrors: true });
  ajv.addKeyword('x-kubernetes-validations');
  ajv.addKeyword('x-kubernetes-preserve-unknown-fields');
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
  return ajv.compile(root);
}

/** The instance paths ajv reports (`/spec/sid`), sorted. */
function invalidPaths(value: unknown): string[] {
  const check = crdValidator();
  if (check(value)) return [];
  return [...new Set((check.errors ?? []).map((e) => e.instancePath))].sort();
}

/** Walks every schema node with its path. */
function walk(node: Node, path: string, visit: (node: Node, path: string) => void): void {
  visit(node, path);
  const props = node.properties as Record<string, Node> | undefined;
  for (const [key, child] of Object.entries(props ?? {})) walk(child, `${path}.${key}`, visit);
  if (node.items) walk(node.items as Node, `${path}[]`, visit);
  if (node.additionalProperties && typeof node.additionalProperties === 'object') {
    walk(node.additionalProperties as Node, `${path}.*`, visit);
  }
}

describe('generated CRD', () => {
  it('matches the committed YAML (run npx tsx scripts/gen-crd.ts after changing the schemas)', () => {
    expect(committed, 'CRD drifted from the zod schemas: run npx tsx scripts/gen-crd.ts').toBe(
      renderCrdYaml(),
    );
    expect(parseAllDocuments(committed)).toHaveLength(1);
    expect(parse(committed)).toEqual(buildCrd());
  });

  it('reads the same to a YAML 1.1 reader (Helm, kubectl): on, off, yes, no stay strings', () => {
    // An unquoted `off` in an enum is the boolean false to Go's YAML 1.1 parser.
    expect(parse(committed, { version: '1.1' })).toEqual(buildCrd());
  });

  it('names the resource as the API expects', () => {
    expect(crd.metadata.name).toBe('hanasystemreplications.hanasr.io');
    expect(crd.spec.group).toBe('hanasr.io');
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names.kind).toBe('HanaSystemReplication');
    expect(crd.spec.names.shortNames).toEqual(['hsr']);
    expect(version.name).toBe('v1alpha1');
    expect(version.subresources.status).toEqual({});
    expect(crd.metadata.annotations['helm.sh/resource-policy']).toBe('keep');
  });

  it('is structural: a type on every node, no $ref/anyOf/const, no additionalProperties: false', () => {
    const problems: string[] = [];
    walk(root, '', (node, path) => {
      if (typeof node.type !== 'string') problems.push(`${path}: no type`);
      for (const bad of ['$ref', '$schema', 'anyOf', 'oneOf', 'allOf', 'not', 'const', 'propertyNames']) {
        if (bad in node) problems.push(`${path}: ${bad}`);
      }
      if (node.additionalProperties === false) problems.push(`${path}: additionalProperties false`);
      if (node.properties && node.additionalProperties)
        problems.push(`${path}: both properties and additionalProperties`);
      if (typeof node.pattern === 'string' && /\(\?[=!<]/.test(node.pattern))
        problems.push(`${path}: look-around`);
      if (node.type === 'string' && node.pattern && node.maxLength === undefined)
        problems.push(`${path}: unbounded`);
    });
    expect(problems).toEqual([]);
  });

  it('carries defaults, enums, bounds and required fields from zod', () => {
    const spec = (root.properties as Record<string, Node>).spec!;
    const props = spec.properties as Record<string, Node>;
    expect(spec.required).toEqual(['sid', 'instanceNumber', 'sites']);
    const replication = props.replication!.properties as Record<string, Node>;
    expect(replication.mode).toMatchObject({
      type: 'string',
      default: 'sync',
      enum: ['sync', 'syncmem', 'async'],
    });
    expect(props.sites).toMatchObject({ type: 'array', minItems: 2, maxItems: 8 });
    const lease = props.lease!.properties as Record<string, Node>;
    expect(lease.ttlSeconds).toMatchObject({ type: 'integer', minimum: 1, maximum: 3600, default: 10 });
    expect(props.replication!.default).toEqual({});
    expect(typeof props.sid!.description).toBe('string');
  });

  it('describes every field from the zod schemas (what kubectl explain prints)', () => {
    const undocumented: string[] = [];
    walk(root, '', (node, path) => {
      if (typeof node.description !== 'string' || node.description.length < 10)
        undocumented.push(path || '(root)');
    });
    expect(undocumented).toEqual([]);
    const spec = (root.properties as Record<string, Node>).spec!;
    const takeover = (spec.properties as Record<string, Node>).takeover!;
    expect((takeover.properties as Record<string, Node>).automatedRegister!.description).toBe(
      hanaSystemReplicationSpecSchema.shape.takeover.unwrap().shape.automatedRegister.description,
    );
  });

  it('turns the cross-field rules into CEL validations', () => {
    const spec = (root.properties as Record<string, Node>).spec!;
    const rules = (spec['x-kubernetes-validations'] as { rule: string }[]).map((r) => r.rule);
    expect(rules).toEqual(specValidations.map((v) => v.rule));
    expect(rules.join(' ')).toContain('exists_one');
    const alerts = (spec.properties as Record<string, Node>).alerts!;
    expect(JSON.stringify(alerts['x-kubernetes-validations'])).toContain(
      'lagCriticalSeconds >= self.lagWarningSeconds',
    );
  });

  it('has the printer columns kubectl shows', () => {
    expect(version.additionalPrinterColumns.map((c) => c.name)).toEqual([
      'Primary',
      'Secondary',
      'Replication',
      'Lag',
      'Ready',
      'Age',
    ]);
    expect(printerColumns[0].jsonPath).toBe('.status.currentPrimary');
    expect(version.additionalPrinterColumns.find((c) => c.name === 'Ready')!.jsonPath).toBe(
      '.status.conditions[?(@.type=="Ready")].status',
    );
  });

  it('accepts examples/hsr.yaml, which parseSpec accepts too', () => {
    const example = parse(readFileSync(new URL('../../examples/hsr.yaml', import.meta.url), 'utf8'));
    expect(invalidPaths(example)).toEqual([]);
    const spec = parseSpec(example.spec);
    expect(spec.sites.map((s) => s.name)).toEqual(['A', 'B']);
    expect(spec.replication).toMatchObject({ mode: 'sync', operationMode: 'logreplay' });
    // The example spells out every default, except automatedRegister, which it turns on on purpose,
    // and spec.backup (absent by default), which `npm start` runs at once.
    expect(spec.takeover.automatedRegister).toBe(true);
    expect(spec.backup).toMatchObject({
      schedule: '0 0 * * *',
      startingDeadlineSeconds: 86400,
      scope: 'site',
    });
    const defaults = parseSpec({ sid: 'HA1', instanceNumber: '00', sites: example.spec.sites });
    expect(defaults.takeover.automatedRegister).toBe(false);
    expect(defaults.backup).toBeUndefined();
    const { backup: _backup, ...rest } = spec;
    expect({ ...rest, takeover: { ...spec.takeover, automatedRegister: false } }).toEqual(defaults);
  });

  it('accepts examples/hsr-dr.yaml: three sites, two regions, the DR site multitarget from the primary', () => {
    const example = parse(readFileSync(new URL('../../examples/hsr-dr.yaml', import.meta.url), 'utf8'));
    expect(invalidPaths(example)).toEqual([]);
    const spec = parseSpec(example.spec);
    expect(spec.sites.map((s) => [s.name, s.region, s.source ?? null])).toEqual([
      ['A', 'eu-west', null],
      ['B', 'eu-west', null],
      ['C', 'eu-north', null],
    ]);
    // Inside the region sync; the link into eu-north is async whatever the mode says.
    expect(linkReplicationMode(spec, 'B', 'A')).toBe('sync');
    expect(linkReplicationMode(spec, 'C', 'A')).toBe('async');
    expect(isMultiRegion(spec)).toBe(true);
    // docs/dr.md points at it.
    expect(readFileSync(new URL('../../docs/dr.md', import.meta.url), 'utf8')).toContain(
      'examples/hsr-dr.yaml',
    );
  });

  it('rejects, like zod, the values the schema bounds', () => {
    const example = parse(readFileSync(new URL('../../examples/hsr.yaml', import.meta.url), 'utf8'));
    const bad = structuredClone(example);
    bad.spec.sid = 'ha1';
    bad.spec.replication.mode = 'semisync';
    bad.spec.sites[1].host = 'x'.repeat(254);
    expect(invalidPaths(bad)).toEqual(['/spec/replication/mode', '/spec/sid', '/spec/sites/1/host']);
    expect(() => parseSpec(bad.spec)).toThrow(/sid/);
  });
});

describe('toStructural', () => {
  it('refuses unions and types it cannot express', () => {
    expect(() => toStructural({ anyOf: [{ type: 'string' }, { type: 'number' }] })).toThrow(
      StructuralSchemaError,
    );
    expect(() => toStructural({ type: ['string', 'number'] })).toThrow(/ambiguous/);
    expect(() => toStructural({ type: 'string', pattern: '^(?!x)y$' })).toThrow(/RE2/);
  });

  it('maps nullable, const, records and loose objects', () => {
    expect(toStructural({ type: ['number', 'null'] })).toEqual({ type: 'number', nullable: true });
    expect(toStructural({ type: 'string', const: 'x' })).toEqual({ type: 'string', enum: ['x'] });
    expect(
      toStructural({
        type: 'object',
        propertyNames: { type: 'string' },
        additionalProperties: { type: 'string' },
      }),
    ).toEqual({ type: 'object', additionalProperties: { type: 'string' } });
    expect(toStructural({ type: 'object', properties: {}, additionalProperties: {} })).toEqual({
      type: 'object',
      properties: {},
      'x-kubernetes-preserve-unknown-fields': true,
    });
  });

  it('bounds the length of simple patterns', () => {
    expect(patternMaxLength('^[A-Z][A-Z0-9]{2}$')).toBe(3);
    expect(patternMaxLength('^[A-Za-z][A-Za-z0-9_-]{0,63}$')).toBe(64);
    expect(patternMaxLength('^a(b|c)$')).toBeUndefined();
  });
});
