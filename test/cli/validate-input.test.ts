/**
 * `hanasr validate` on input that must not pass or mislead: files without a manifest, names
 * Kubernetes would refuse, unknown top-level fields, replication source cycles, YAML too large,
 * nested too deep or with alias bombs, control characters. validateText is the command without
 * its file I/O; each problem is a finding with a line, a field and a message.
 */
import { describe, expect, it } from 'vitest';
import { parseHanaSystemReplication } from '../../src/api/resource.js';
import { parseSpec } from '../../src/api/spec.js';
import { validateText } from '../../src/cli/commands/validate.js';
import { MAX_YAML_CHARS } from '../../src/yaml-input.js';

const GOOD = `apiVersion: hanasr.io/v1alpha1
kind: HanaSystemReplication
metadata:
  name: ha1
  namespace: hana
spec:
  sid: HA1
  instanceNumber: '00'
  sites:
    - name: A
      host: hana-a
    - name: B
      host: hana-b
`;

const findings = (text: string) => validateText(text).flatMap((r) => r.findings);
const messages = (text: string) => findings(text).map((f) => `${f.line ?? '-'}: ${f.path}: ${f.message}`);

describe('a file without a manifest is an error', () => {
  for (const [name, text] of [
    ['empty', ''],
    ['blank lines', '\n\n   \n'],
    ['only comments', '# a manifest will go here\n# later\n'],
    ['only ---', '---\n'],
    ['only --- twice', '---\n---\n'],
    ['null', 'null\n'],
    ['~', '~\n'],
    ['--- and a comment', '--- # nothing\n'],
  ] as const) {
    it(name, () => {
      expect(messages(text)).toEqual([
        '-: : no manifest: the file holds no YAML document (it is empty, or only comments, --- or null)',
      ]);
    });
  }

  it('an empty document next to a manifest is fine', () => {
    expect(findings(`---\n${GOOD}---\n`)).toEqual([]);
  });
});

describe("metadata follows Kubernetes' DNS rules", () => {
  const named = (name: string) => GOOD.replace('name: ha1', `name: ${name}`);
  const inNamespace = (ns: string) => GOOD.replace('namespace: hana', `namespace: ${ns}`);

  it('metadata.name: a DNS label of at most 60 characters (it names the Service <name>-rw)', () => {
    for (const bad of ['HA1', 'ha_1', 'ha.1', '1ha', 'ha-', "''", 'a'.repeat(61)]) {
      expect(messages(named(bad)), bad).toEqual([
        expect.stringMatching(/^4: metadata\.name: must be (a DNS label|at most 60 characters)/),
      ]);
    }
    for (const good of ['ha1', 'h', 'ha-1-prod', 'a'.repeat(60)])
      expect(findings(named(good)), good).toEqual([]);
  });

  it('metadata.namespace: a DNS label of at most 63 characters', () => {
    for (const bad of ['Hana', 'hana_prod', 'hana.prod', '-hana', 'a'.repeat(64)]) {
      expect(messages(inNamespace(bad)), bad).toEqual([
        expect.stringMatching(/^5: metadata\.namespace: must be (a DNS label|at most 63 characters)/),
      ]);
    }
    for (const good of ['hana', '1hana', 'a'.repeat(63)])
      expect(findings(inNamespace(good)), good).toEqual([]);
  });

  it('parseHanaSystemReplication applies the same rules', () => {
    expect(() =>
      parseHanaSystemReplication({
        apiVersion: 'hanasr.io/v1alpha1',
        kind: 'HanaSystemReplication',
        metadata: { name: 'HA_1' },
        spec: parseSpec({
          sid: 'HA1',
          instanceNumber: '00',
          sites: [
            { name: 'A', host: 'a' },
            { name: 'B', host: 'b' },
          ],
        }),
      }),
    ).toThrow(/metadata\.name: must be a DNS label/);
  });
});

describe('unknown top-level fields', () => {
  it('are errors, each at its line', () => {
    expect(messages(`${GOOD}specs:\n  sid: HA2\nreplicas: 3\n`)).toEqual([
      '14: specs: unknown field (a manifest has only apiVersion, kind, metadata, spec, status)',
      '16: replicas: unknown field (a manifest has only apiVersion, kind, metadata, spec, status)',
    ]);
  });

  it('status is known (kubectl get -o yaml prints it)', () => {
    expect(findings(`${GOOD}status:\n  epoch: 3\n`)).toEqual([]);
  });

  it('parseHanaSystemReplication refuses them too', () => {
    expect(() =>
      parseHanaSystemReplication({
        apiVersion: 'hanasr.io/v1alpha1',
        kind: 'HanaSystemReplication',
        metadata: { name: 'ha1' },
        spec: {
          sid: 'HA1',
          instanceNumber: '00',
          sites: [
            { name: 'A', host: 'a' },
            { name: 'B', host: 'b' },
          ],
        },
        specs: {},
      }),
    ).toThrow(/Unrecognized key: "specs"/);
  });
});

describe('replication source cycles', () => {
  const sites = (...list: string[]) =>
    GOOD.replace(/ {2}sites:\n[\s\S]*$/, `  sites:\n${list.map((s) => `    - ${s}\n`).join('')}`);

  it('A -> B -> A', () => {
    expect(messages(sites('{ name: A, host: a, source: B }', '{ name: B, host: b, source: A }'))).toEqual([
      '10: spec.sites[0].source: replication sources form a cycle: "A" -> "B" -> "A" (each site replicates from the one before it), so no site is the primary tier',
    ]);
  });

  it('longer cycles, once each, and a site hanging off a cycle is not reported twice', () => {
    const text = sites(
      '{ name: P, host: p }',
      '{ name: A, host: a, source: C }',
      '{ name: B, host: b, source: A }',
      '{ name: C, host: c, source: B }',
      '{ name: D, host: d, source: A }',
    );
    expect(messages(text)).toEqual([
      '11: spec.sites[1].source: replication sources form a cycle: "A" -> "B" -> "C" -> "A" (each site replicates from the one before it), so no site is the primary tier',
    ]);
    const eight = sites(
      ...'ABCDEFGH'.split('').map((n, i, all) => `{ name: ${n}, host: h${i}, source: ${all[(i + 7) % 8]} }`),
    );
    expect(messages(eight)).toHaveLength(1);
  });

  it('chains without a cycle stay valid; a site that is its own source keeps its own message', () => {
    expect(
      findings(
        sites('{ name: A, host: a }', '{ name: B, host: b, source: A }', '{ name: C, host: c, source: B }'),
      ),
    ).toEqual([]);
    expect(messages(sites('{ name: A, host: a }', '{ name: B, host: b, source: B }'))).toEqual([
      '11: spec.sites[1].source: a site cannot replicate from itself',
    ]);
  });
});

describe('YAML that would exhaust the process fails fast', () => {
  const fast = (text: string) => {
    const start = process.cpuUsage();
    const result = messages(text);
    const used = process.cpuUsage(start);
    expect((used.user + used.system) / 1000).toBeLessThan(2000);
    return result;
  };

  it(`a text over ${MAX_YAML_CHARS} characters`, () => {
    expect(fast(`${GOOD}# ${'x'.repeat(MAX_YAML_CHARS)}\n`)).toEqual(['-: : larger than 1 MiB: not read']);
  });

  it('nested brackets (the yaml package runs out of memory on 50,000 of them)', () => {
    expect(fast(`${GOOD}x: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`)).toEqual([
      '14: : more than 64 nested [ or { : not read',
    ]);
  });

  it('an alias bomb', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      levels.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${prev}`).join(', ')}]`,
      );
    }
    expect(fast(`${GOOD}${levels.join('\n')}\n`)).toEqual([
      '-: : aliases expand to more than 100 nodes (an alias bomb?): not read',
    ]);
  });

  it('a few aliases are fine', () => {
    expect(
      findings(
        GOOD.replace('host: hana-a', 'host: &h hana-a').replace(
          'host: hana-b',
          'host: hana-b\n      priority: 1',
        ),
      ),
    ).toEqual([]);
  });
});

describe('control characters from the input are escaped in messages', () => {
  it('in a value, a key, a site name and a YAML error', () => {
    const all = [
      ...messages(GOOD.replace('name: ha1', 'name: "ha\\e[31m1"')),
      ...messages(`${GOOD}"evil\\u202Ekey\\nline": 1\n`),
      ...messages(GOOD.replace('name: A', 'name: "A\\x1b]0;pwned\\x07"')),
      ...messages(GOOD.replace('apiVersion: hanasr.io/v1alpha1', 'apiVersion: "hanasr.io/v1\\u009b2J"')),
      ...messages(GOOD.replace('host: hana-b', 'host: hana-b\n      source: "Z\\e[31m"')),
    ];
    expect(all.length).toBeGreaterThanOrEqual(5);
    for (const m of all) {
      // eslint-disable-next-line no-control-regex -- the characters the messages must not hold
      expect(m, m).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
    }
    expect(all.join('\n')).toContain('\\u001b[31m');
    expect(all.join('\n')).toContain('evil\\u202ekey\\nline');
  });
});
