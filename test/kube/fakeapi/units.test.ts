import { describe, it, expect } from 'vitest';
import { invalid } from '../../../src/standins/kube-api/errors.js';
import { jsonPatch, mergePatch } from '../../../src/standins/kube-api/patch.js';
import { admitCustomResource, type JSONSchemaProps } from '../../../src/standins/kube-api/schema.js';
import {
  EVENT_FIELDS,
  fieldsMatch,
  labelMatcher,
  parseFieldSelector,
} from '../../../src/standins/kube-api/selectors.js';
import { evalJsonPath, humanDuration } from '../../../src/standins/kube-api/table.js';
import { ApiError } from '../../../src/standins/kube-api/errors.js';

const schema: JSONSchemaProps = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      required: ['sid', 'sites'],
      properties: {
        sid: { type: 'string', pattern: '^[A-Z][A-Z0-9]{2}$' },
        mode: { type: 'string', enum: ['sync', 'async'], default: 'sync' },
        replication: {
          type: 'object',
          default: {},
          properties: { timeout: { type: 'integer', default: 30, minimum: 1 }, junk: { type: 'string' } },
        },
        sites: {
          type: 'array',
          minItems: 2,
          maxItems: 3,
          items: {
            type: 'object',
            required: ['name'],
            properties: {
              name: { type: 'string', minLength: 1, maxLength: 5 },
              priority: { type: 'integer', default: 100 },
            },
          },
        },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        nothing: { type: 'object' },
        maybe: { type: 'string', nullable: true },
        notNull: { type: 'string', default: 'x' },
      },
    },
  },
};

function admit(spec: unknown): { obj: Record<string, unknown>; errors: string[] } {
  const obj: Record<string, unknown> = {
    apiVersion: 'a/v1',
    kind: 'K',
    metadata: { name: 'n', labels: { a: 'b' } },
    spec,
  };
  const errors = admitCustomResource(obj, schema).map((e) => `${e.field}: ${e.message}`);
  return { obj, errors };
}

describe('structural schema', () => {
  it('applies defaults top-down, including inside a defaulted object and in array items', () => {
    const { obj, errors } = admit({ sid: 'HA1', sites: [{ name: 'a' }, { name: 'b', priority: 5 }] });
    expect(errors).toEqual([]);
    expect(obj['spec']).toEqual({
      sid: 'HA1',
      mode: 'sync',
      replication: { timeout: 30 },
      sites: [
        { name: 'a', priority: 100 },
        { name: 'b', priority: 5 },
      ],
      notNull: 'x',
    });
  });

  it('prunes unknown fields but keeps preserved ones, metadata and map values', () => {
    const { obj } = admit({
      sid: 'HA1',
      sites: [{ name: 'a', bogus: 1 }, { name: 'b' }],
      unknown: true,
      labels: { x: 'y' },
      free: { anything: { goes: 1 } },
      nothing: { dropped: 1 },
    });
    const spec = obj['spec'] as Record<string, unknown>;
    expect(spec['unknown']).toBeUndefined();
    expect((spec['sites'] as unknown[])[0]).toEqual({ name: 'a', priority: 100 });
    expect(spec['labels']).toEqual({ x: 'y' });
    expect(spec['free']).toEqual({ anything: { goes: 1 } });
    expect(spec['nothing']).toEqual({});
    expect(obj['metadata']).toEqual({ name: 'n', labels: { a: 'b' } });
  });

  it('keeps null where nullable, and drops then defaults it where not', () => {
    const { obj, errors } = admit({
      sid: 'HA1',
      sites: [{ name: 'a' }, { name: 'b' }],
      maybe: null,
      notNull: null,
    });
    expect(errors).toEqual([]);
    expect((obj['spec'] as Record<string, unknown>)['maybe']).toBeNull();
    expect((obj['spec'] as Record<string, unknown>)['notNull']).toBe('x');
  });

  it('names each failing field with kube-apiserver wording', () => {
    const { errors } = admit({
      sid: 'ha1',
      mode: 'semi',
      replication: { timeout: 0 },
      sites: [{ name: '' }, { name: 'toolong' }, {}, { name: 'd' }],
      labels: { k: 3 },
    });
    expect(errors).toEqual([
      `spec.sid: Invalid value: "ha1": spec.sid in body should match '^[A-Z][A-Z0-9]{2}$'`,
      'spec.mode: Unsupported value: "semi": supported values: "sync", "async"',
      'spec.replication.timeout: Invalid value: 0: spec.replication.timeout in body should be greater than or equal to 1',
      'spec.sites: Too many: 4: must have at most 3 items',
      'spec.sites[0].name: Invalid value: "": spec.sites[0].name in body should be at least 1 chars long',
      'spec.sites[1].name: Too long: may not be more than 5 bytes',
      'spec.sites[2].name: Required value',
      'spec.labels.k: Invalid value: "integer": spec.labels.k in body must be of type string: "integer"',
    ]);
  });

  it('reports missing required fields and too few items', () => {
    expect(admit({ sites: [{ name: 'a' }] }).errors).toEqual([
      'spec.sid: Required value',
      'spec.sites: Invalid value: 1: spec.sites in body should have at least 2 items',
    ]);
    expect(admit('text').errors).toEqual([
      'spec: Invalid value: "string": spec in body must be of type object: "string"',
    ]);
  });

  it('builds the 422 Status message like kube-apiserver', () => {
    const err = invalid('hanasr.io', 'HanaSystemReplication', 'x', [
      { type: 'FieldValueRequired', field: 'spec.sid', message: 'Required value' },
    ]);
    expect(err.code).toBe(422);
    expect(err.message).toBe('HanaSystemReplication.hanasr.io "x" is invalid: spec.sid: Required value');
    expect(err.toStatus().details?.causes).toEqual([
      { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.sid' },
    ]);
  });
});

describe('patches', () => {
  it('merge patch merges objects, replaces arrays and deletes on null', () => {
    expect(
      mergePatch({ a: { b: 1, c: 2 }, l: [1, 2], d: 1 }, { a: { b: 3 }, l: [3], d: null, e: 'new' }),
    ).toEqual({
      a: { b: 3, c: 2 },
      l: [3],
      e: 'new',
    });
  });

  it('json patch supports add, remove, replace, move, copy, test and escaped pointers', () => {
    const doc = { a: [1, 2], 'x/y': { '~k': 1 }, m: 'v' };
    const out = jsonPatch(doc, [
      { op: 'test', path: '/x~1y/~0k', value: 1 },
      { op: 'add', path: '/a/-', value: 3 },
      { op: 'add', path: '/a/0', value: 0 },
      { op: 'replace', path: '/m', value: 'w' },
      { op: 'copy', from: '/m', path: '/n' },
      { op: 'move', from: '/n', path: '/o' },
      { op: 'remove', path: '/x~1y' },
    ]);
    expect(out).toEqual({ a: [0, 1, 2, 3], m: 'w', o: 'w' });
    expect(doc.a).toEqual([1, 2]);
  });

  it('a failed test or a missing path is a 422', () => {
    const check = (ops: unknown): number => {
      try {
        jsonPatch({ a: 1 }, ops);
      } catch (err) {
        return err instanceof ApiError ? err.code : -1;
      }
      return 0;
    };
    expect(check([{ op: 'test', path: '/a', value: 2 }])).toBe(422);
    expect(check([{ op: 'replace', path: '/b', value: 2 }])).toBe(422);
    expect(check([{ op: 'remove', path: '/b/c' }])).toBe(422);
    expect(check({ op: 'add' })).toBe(400);
  });
});

describe('selectors', () => {
  const labels = { app: 'hana', role: 'primary', tier: 'db' };
  const cases: Array<[string, boolean]> = [
    ['app=hana', true],
    ['app==hana', true],
    ['app!=hana', false],
    ['missing!=x', true],
    ['role in (primary, secondary)', true],
    ['role notin (primary)', false],
    ['missing notin (a)', true],
    ['tier', true],
    ['!tier', false],
    ['!missing', true],
    ['app=hana,role in (secondary)', false],
    ['app=hana, tier, !missing', true],
    ['', true],
  ];
  it.each(cases)('%s -> %s', (selector, expected) => {
    expect(labelMatcher(selector)(labels)).toBe(expected);
  });

  it('rejects malformed selectors with 400', () => {
    expect(() => labelMatcher('a in b')).toThrow(ApiError);
    expect(() => labelMatcher('=x')).toThrow(/unable to parse requirement/);
  });

  it('field selectors support metadata.name and metadata.namespace only', () => {
    const reqs = parseFieldSelector('metadata.name=a,metadata.namespace!=kube-system');
    const obj = (name: string, namespace: string) => ({ metadata: { name, namespace } });
    expect(fieldsMatch(reqs, obj('a', 'default'))).toBe(true);
    expect(fieldsMatch(reqs, obj('a', 'kube-system'))).toBe(false);
    expect(fieldsMatch(reqs, obj('b', 'default'))).toBe(false);
    expect(() => parseFieldSelector('spec.nodeName=x')).toThrow('field label not supported: spec.nodeName');
  });

  it('selects Events by the object they are about, reason, type and source', () => {
    const event = {
      metadata: { name: 'ha1.1', namespace: 'hana' },
      involvedObject: { kind: 'HanaSystemReplication', name: 'ha1', namespace: 'hana', uid: 'u1' },
      reason: 'TakeoverStarted',
      type: 'Normal',
      source: { component: 'hanasr-operator' },
    };
    const select = (s: string) => fieldsMatch(parseFieldSelector(s, EVENT_FIELDS), event);
    expect(
      select('involvedObject.name=ha1,involvedObject.kind=HanaSystemReplication,involvedObject.uid=u1'),
    ).toBe(true);
    expect(select('involvedObject.name=ha2')).toBe(false);
    expect(select('type!=Warning,reason=TakeoverStarted,source=hanasr-operator')).toBe(true);
    expect(select('involvedObject.fieldPath=')).toBe(true);
    expect(() => parseFieldSelector('involvedObject.name=ha1')).toThrow('field label not supported');
  });
});

describe('ages', () => {
  it('formats like kubectl', () => {
    expect(humanDuration(5_000)).toBe('5s');
    expect(humanDuration(150_000)).toBe('2m30s');
    expect(humanDuration(3 * 3600_000)).toBe('3h');
    expect(humanDuration(50 * 3600_000)).toBe('2d2h');
  });
});

describe('printer column JSONPath', () => {
  const obj = {
    status: {
      currentPrimary: 'A',
      sites: [
        { name: 'A', role: 'primary' },
        { name: 'B', role: 'secondary', lagSeconds: 0 },
        { name: 'C', role: 'secondary' },
      ],
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  };
  it.each([
    ['.status.currentPrimary', 'A'],
    ['.status.sites[1].name', 'B'],
    ['.status.sites[*].name', 'A'],
    ['.status.sites[?(@.role=="secondary")].name', 'B'],
    ['.status.sites[?(@.role=="secondary")].lagSeconds', 0],
    ['{.status.conditions[?(@.type=="Ready")].status}', 'True'],
    ['.status.missing', undefined],
    ['.status.sites[?(@.role=="none")].name', undefined],
  ])('%s', (path, expected) => {
    expect(evalJsonPath(obj, path)).toBe(expected);
  });
});
