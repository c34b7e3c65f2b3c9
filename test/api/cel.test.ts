/**
 * The CRD's CEL rules run by a real CEL evaluator (@bufbuild/cel, with RE2 for matches()) against
 * the same specs the zod schema judges: they agree on valid specs, on the rules CEL mirrors, and
 * the one rule CEL can only approximate (source cycles longer than three sites) is shown as such.
 */
import { readFileSync } from 'node:fs';
import { run, type CelInput } from '@bufbuild/cel';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { alertsValidations, rootValidations, specOpenApiSchema, specValidations } from '../../src/api/crd.js';
import { parseSpec, type HanaSystemReplicationSpecInput } from '../../src/api/spec.js';

type Schema = { type?: string; properties?: Record<string, Schema>; items?: Schema };

/** A JSON value as the API server hands it to CEL: maps, lists, int (bigint) or double by the schema. */
function toCel(value: unknown, schema: Schema | undefined): CelInput {
  if (Array.isArray(value)) return value.map((v) => toCel(v, schema?.items)) as CelInput;
  if (value !== null && typeof value === 'object')
    return new Map(
      Object.entries(value).map(([k, v]) => [k, toCel(v, schema?.properties?.[k])]),
    ) as unknown as CelInput;
  if (typeof value === 'number' && schema?.type === 'integer') return BigInt(value);
  return value as CelInput;
}

const specSchema = specOpenApiSchema() as Schema;
const example = parse(readFileSync(new URL('../../examples/hsr.yaml', import.meta.url), 'utf8')) as {
  spec: HanaSystemReplicationSpecInput;
};

/** The rules that fail for a spec, as the API server would evaluate them (defaults applied). */
function celFailures(input: HanaSystemReplicationSpecInput, name = 'ha1'): string[] {
  // The API server fills defaults before it runs the rules; parseSpec fills the same ones.
  let spec: unknown;
  try {
    spec = parseSpec(input);
  } catch {
    spec = input;
  }
  const self = toCel(spec, specSchema);
  const failed: string[] = [];
  for (const v of specValidations) if (run(v.rule, { self }) !== true) failed.push(v.message);
  const alerts = (self as unknown as Map<string, CelInput>).get('alerts')!;
  for (const v of alertsValidations) if (run(v.rule, { self: alerts }) !== true) failed.push(v.message);
  const root = new Map<string, unknown>([
    ['metadata', new Map([['name', name]])],
    ['spec', self],
  ]) as unknown as CelInput;
  for (const v of rootValidations) if (run(v.rule, { self: root }) !== true) failed.push(v.message);
  return failed;
}

const zodAccepts = (input: HanaSystemReplicationSpecInput) => {
  try {
    parseSpec(input);
    return true;
  } catch {
    return false;
  }
};

const withSites = (...sites: { name: string; source?: string }[]): HanaSystemReplicationSpecInput => ({
  ...example.spec,
  sites: sites.map((s, i) => ({ host: `hana-${i}`, ...s })),
});

describe('CEL rules of the CRD, evaluated', () => {
  it('accept the example and a multitier chain, as zod does', () => {
    expect(celFailures(example.spec)).toEqual([]);
    const chain = withSites({ name: 'A' }, { name: 'B', source: 'A' }, { name: 'C', source: 'B' });
    expect(zodAccepts(chain)).toBe(true);
    expect(celFailures(chain)).toEqual([]);
  });

  it('refuse replication source cycles of two and three sites, as zod does', () => {
    for (const cycle of [
      withSites({ name: 'A', source: 'B' }, { name: 'B', source: 'A' }),
      withSites(
        { name: 'P' },
        { name: 'A', source: 'C' },
        { name: 'B', source: 'A' },
        { name: 'C', source: 'B' },
      ),
    ]) {
      expect(zodAccepts(cycle)).toBe(false);
      expect(celFailures(cycle)).toContain(
        'sites[].source must not form a cycle (a cycle has no primary tier)',
      );
    }
  });

  it('longer cycles are beyond CEL (no loops; eight nested lookups exceed the cost limit): only zod refuses them', () => {
    const four = withSites(
      { name: 'A', source: 'D' },
      { name: 'B', source: 'A' },
      { name: 'C', source: 'B' },
      { name: 'D', source: 'C' },
    );
    expect(zodAccepts(four)).toBe(false);
    expect(celFailures(four)).toEqual([]);
  });

  it('metadata.name: a DNS label of at most 60 characters, as validate requires', () => {
    for (const bad of ['HA1', 'ha_1', 'ha.1', '1ha', 'a'.repeat(61)])
      expect(celFailures(example.spec, bad), bad).toHaveLength(1);
    for (const good of ['ha1', 'a'.repeat(60), 'ha-1'])
      expect(celFailures(example.spec, good), good).toEqual([]);
  });

  it('the timing rules fail in CEL exactly where zod fails', () => {
    const cases: HanaSystemReplicationSpecInput[] = [
      { ...example.spec, lease: { ttlSeconds: 40 } },
      { ...example.spec, probes: { intervalSeconds: 12, timeoutSeconds: 3 }, lease: { ttlSeconds: 10 } },
      { ...example.spec, lease: { ttlSeconds: 20 }, replication: { logShippingTimeoutSeconds: 30 } },
      { ...example.spec, alerts: { lagWarningSeconds: 60, lagCriticalSeconds: 30 } },
      // sim:fuzz 20261302: 12 x 1 s + 18 s + 1.5 s >= 28 s, with the skew bound above a cycle.
      stepDown(28, 18),
      // Right at the edge: 12 x 1 + 18.5 + 1.5 = 32.
      stepDown(32, 18.5),
      // Node loss: ttl + 3 cycles + the skew bound (10 + 3 x 5 + 1 = 26; 2 + 3 x 1.5 + 1.5 = 8).
      { ...example.spec, replication: { logShippingTimeoutSeconds: 26 }, lease: { ttlSeconds: 10 } },
      nodeLoss(8, 1.5),
    ];
    for (const c of cases) {
      expect(zodAccepts(c), JSON.stringify(c)).toBe(false);
      expect(celFailures(c), JSON.stringify(c)).not.toEqual([]);
    }
    // Just above the edge, or a skew bound within a cycle (a fresh report is trusted then): valid.
    for (const c of [
      stepDown(33, 18.5),
      stepDown(32, 18),
      stepDown(28, 1.5),
      stepDown(20, 1),
      nodeLoss(8, 1.4),
      { ...example.spec, replication: { logShippingTimeoutSeconds: 27 }, lease: { ttlSeconds: 10 } },
    ]) {
      expect(zodAccepts(c), JSON.stringify(c)).toBe(true);
      expect(celFailures(c), JSON.stringify(c)).toEqual([]);
    }
  });

  it('the step-down rule names its numbers', () => {
    expect(() => parseSpec(stepDown(28, 18))).toThrow(
      /takeover.failureThreshold x probes.intervalSeconds \(12 x 1 s\) \+ clock.maxSkewSeconds \+ a probe cycle = 31.5 s must be shorter than replication.logShippingTimeoutSeconds \(28 s\)/,
    );
  });
});

/** The settings of sim:fuzz schedule 20261302 with another log-shipping timeout and skew bound. */
function stepDown(logShippingTimeoutSeconds: number, maxSkewSeconds: number): HanaSystemReplicationSpecInput {
  return {
    ...example.spec,
    replication: { mode: 'syncmem', logShippingTimeoutSeconds },
    takeover: { failureThreshold: 12 },
    probes: { intervalSeconds: 1, timeoutSeconds: 0.5 },
    lease: { ttlSeconds: 6 },
    clock: { maxSkewSeconds },
  };
}

/** Node loss at a fractional edge: interval 1 s, timeout 0.5 s, ttl 2 s. */
function nodeLoss(logShippingTimeoutSeconds: number, maxSkewSeconds: number): HanaSystemReplicationSpecInput {
  return {
    ...example.spec,
    replication: { mode: 'sync', logShippingTimeoutSeconds },
    probes: { intervalSeconds: 1, timeoutSeconds: 0.5 },
    lease: { ttlSeconds: 2 },
    clock: { maxSkewSeconds },
  };
}
