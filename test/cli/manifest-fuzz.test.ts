/**
 * Fuzzing of the two YAML readers users feed (bounded: a few hundred generated files, each small):
 * `hanasr validate` (validateText) and `hanasr simulate` (parseScenario) on hostile YAML and JSON.
 * They answer with findings or a ScenarioError, never crash, stay fast, never echo a control
 * character, and validate agrees with the operator's own parse of the same manifest.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseHanaSystemReplication } from '../../src/api/resource.js';
import { validateText } from '../../src/cli/commands/validate.js';
import { parseScenario, ScenarioError } from '../../src/sim/scenario.js';

const manifest = readFileSync(new URL('../../examples/hsr.yaml', import.meta.url), 'utf8');
const scenario = readFileSync(
  new URL('../../examples/scenarios/isolate-primary.yaml', import.meta.url),
  'utf8',
);
// eslint-disable-next-line no-control-regex -- the characters the messages must not hold
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

const tokens = [
  '[',
  ']',
  '{',
  '}',
  ': ',
  '- ',
  '? ',
  ', ',
  '&a ',
  '*a',
  '&b ',
  '*b',
  '<<: *a\n',
  '---\n',
  '...\n',
  '%YAML 1.2\n',
  '%TAG ! tag:x,2000:\n',
  '!!str ',
  '!!binary ',
  '!x ',
  '|\n',
  '>-\n',
  '# c\n',
  '"',
  "'",
  '\\',
  '\n',
  '  ',
  '\t',
  '\u0000',
  '\u001b[31m',
  '\u009b',
  '\u202e',
  '\u2028',
  '\ufeff',
  'null',
  '~',
  '1e309',
  '0x1F',
  'true',
  'A',
  'apiVersion: hanasr.io/v1alpha1\n',
  'kind: HanaSystemReplication\n',
  'metadata:\n  name: ',
  'spec:\n',
  '  sites:\n',
  '    - { name: A, host: a, source: B }\n',
  '    - { name: B, host: b, source: A }\n',
  ...manifest.split('\n').map((l) => `${l}\n`),
  ...scenario.split('\n').map((l) => `${l}\n`),
];

const chunk = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(...tokens),
      fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 80 })),
    )
    .map(([t, n]) => t.repeat(n)),
  fc.string({ unit: 'binary', maxLength: 20 }),
);

/** Hostile text, or a real file with hostile chunks put in at random lines. */
const hostileYaml = (base: string) =>
  fc.oneof(
    fc.array(chunk, { minLength: 0, maxLength: 12 }).map((parts) => parts.join('')),
    fc.array(fc.tuple(fc.nat(), chunk), { minLength: 1, maxLength: 5 }).map((inserts) => {
      const lines = base.split('\n');
      for (const [at, piece] of inserts) lines.splice(at % (lines.length + 1), 0, piece);
      return lines.join('\n');
    }),
  );

/** The example manifest as data with one field replaced by any JSON value (or a key added). */
const mutatedManifest = fc
  .tuple(
    fc.constantFrom(
      ['metadata', 'name'],
      ['metadata', 'namespace'],
      ['spec', 'sid'],
      ['spec', 'sites'],
      ['spec', 'sites', 0, 'source'],
      ['spec', 'sites', 1, 'source'],
      ['spec', 'sites', 0, 'name'],
      ['spec', 'lease', 'ttlSeconds'],
      ['spec', 'extra'],
      ['extra'],
      ['apiVersion'],
    ) as fc.Arbitrary<(string | number)[]>,
    fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.string({ unit: 'binary' }),
      fc.constantFrom('A', 'B', 'ha1', 'x'.repeat(61)),
    ),
  )
  .map(([path, value]) => {
    const doc = parse(manifest) as Record<string, unknown>;
    let node = doc as Record<string | number, unknown>;
    for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
    node[path[path.length - 1]!] = value;
    return doc;
  });

function noControlCharacters(text: string): void {
  for (const line of text.split('\n')) expect(line, JSON.stringify(line)).not.toMatch(CONTROL);
}

function cpuMs<T>(f: () => T): { value: T; ms: number } {
  const start = process.cpuUsage();
  const value = f();
  const used = process.cpuUsage(start);
  return { value, ms: (used.user + used.system) / 1000 };
}

describe('hostile YAML and JSON', () => {
  it('validate answers with findings, fast, without control characters', () => {
    fc.assert(
      fc.property(hostileYaml(manifest), (text) => {
        const { value: results, ms } = cpuMs(() => validateText(text));
        expect(ms).toBeLessThan(1000);
        for (const r of results) {
          if (r.skipped !== undefined) noControlCharacters(r.skipped);
          for (const f of r.findings) {
            noControlCharacters(f.path);
            noControlCharacters(f.message);
          }
        }
      }),
      { numRuns: 150, seed: 14 },
    );
  });

  it('simulate answers with a scenario or a ScenarioError, fast, without control characters', () => {
    fc.assert(
      fc.property(hostileYaml(scenario), fc.string({ unit: 'binary', maxLength: 12 }), (text, name) => {
        const { value: outcome, ms } = cpuMs(() => {
          try {
            parseScenario(text, name);
            return undefined;
          } catch (err) {
            return err;
          }
        });
        expect(ms).toBeLessThan(1000);
        if (outcome !== undefined) {
          expect(outcome).toBeInstanceOf(ScenarioError);
          noControlCharacters((outcome as Error).message);
        }
      }),
      { numRuns: 150, seed: 14 },
    );
  });

  it('validate and the operator agree on any JSON manifest', () => {
    fc.assert(
      fc.property(mutatedManifest, (doc) => {
        const results = validateText(JSON.stringify(doc));
        let operatorError: unknown;
        try {
          parseHanaSystemReplication(doc);
        } catch (err) {
          operatorError = err;
        }
        const findings = results.flatMap((r) => r.findings);
        const skipped = results.some((r) => r.skipped !== undefined);
        if (!skipped)
          expect(findings.length === 0, JSON.stringify(findings)).toBe(operatorError === undefined);
        for (const f of findings) noControlCharacters(`${f.path} ${f.message}`);
      }),
      { numRuns: 150, seed: 14 },
    );
  });
});
