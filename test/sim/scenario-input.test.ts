/**
 * Scenario files for `hanasr simulate` that must not pass or mislead: errors name the file and
 * the line (YAML syntax errors too), a run that would not fit in memory is refused, YAML too large,
 * nested too deep or with alias bombs fails fast with the file name, control characters are
 * escaped, and replication source cycles are refused as in manifests.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MAX_SIMULATED_WRITES, parseScenario, ScenarioError } from '../../src/sim/scenario.js';

const example = readFileSync(
  new URL('../../examples/scenarios/isolate-primary.yaml', import.meta.url),
  'utf8',
);

function error(text: string, source = 'my.yaml'): string {
  try {
    parseScenario(text, source);
  } catch (err) {
    expect(err).toBeInstanceOf(ScenarioError);
    return (err as Error).message;
  }
  return expect.fail('parsed');
}

describe('scenario files', () => {
  it('a YAML syntax error carries the file and its line', () => {
    const lines = example.split('\n');
    const at = lines.findIndex((l) => l.startsWith('durationSeconds'));
    lines.splice(at + 1, 0, 'durationSeconds: 60');
    expect(error(lines.join('\n'))).toBe(`my.yaml:${at + 2}: invalid YAML: Map keys must be unique`);
  });

  it(`bounds memory: durationSeconds x writesPerSecond at most ${MAX_SIMULATED_WRITES}`, () => {
    const big = example
      .replace('durationSeconds: 600', 'durationSeconds: 604800')
      .replace('writesPerSecond: 20', 'writesPerSecond: 10000');
    const line = big.split('\n').findIndex((l) => l.startsWith('workload')) + 1;
    expect(error(big)).toBe(
      `my.yaml:${line}: workload.writesPerSecond: durationSeconds x writesPerSecond is 6048000000 writes, more than the 2000000 the simulator keeps in memory (about 200 bytes each): shorten the scenario or lower the rate`,
    );
    // At the bound exactly it parses.
    expect(
      parseScenario(
        example
          .replace('durationSeconds: 600', 'durationSeconds: 400')
          .replace('writesPerSecond: 20', 'writesPerSecond: 5000'),
      ).durationSeconds,
    ).toBe(400);
  });

  it('a file without a scenario', () => {
    for (const text of ['', '# nothing yet\n', '---\n', 'null\n'])
      expect(error(text), JSON.stringify(text)).toBe(
        'my.yaml: no scenario: the file holds no YAML document (it is empty, or only comments, --- or null)',
      );
  });

  it('YAML too large, too deep or with an alias bomb fails fast, naming the file', () => {
    const start = process.cpuUsage();
    expect(error(`${example}# ${'x'.repeat(1024 * 1024)}\n`)).toBe('my.yaml: larger than 1 MiB: not read');
    expect(error(`${example}x: ${'{'.repeat(100_000)}\n`)).toMatch(
      /^my\.yaml:\d+: more than 64 nested \[ or \{ : not read$/,
    );
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++)
      bomb.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(', ')}]`,
      );
    expect(error(`${bomb.join('\n')}\n${example}`)).toBe(
      'my.yaml: aliases expand to more than 100 nodes (an alias bomb?): not read',
    );
    const used = process.cpuUsage(start);
    expect((used.user + used.system) / 1000).toBeLessThan(3000);
  });

  it('control characters from the file (and its name) are escaped', () => {
    const message = error(
      example
        .replace('initialPrimary: A', 'initialPrimary: "A\\e[2J"')
        .replace('seed: 11', '"see\\u202Ed": 11'),
      'evil\u001b.yaml',
    );
    for (const line of message.split('\n'))
      // eslint-disable-next-line no-control-regex -- the characters the messages must not hold
      expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u);
    expect(message).toContain('evil\\u001b.yaml');
    expect(message).toContain('unknown site "A\\u001b[2J"');
    expect(message).toContain('see\\u202ed');
  });

  it('replication source cycles are refused', () => {
    const cyclic = example.replace(
      '    - { name: A, host: hana-a }\n    - { name: B, host: hana-b }',
      '    - { name: A, host: hana-a, source: B }\n    - { name: B, host: hana-b, source: A }',
    );
    expect(error(cyclic)).toMatch(
      /cluster\.sites\[0\]\.source: replication sources form a cycle: "A" -> "B" -> "A"/,
    );
  });
});
