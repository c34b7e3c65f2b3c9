/**
 * `hanasr validate` through the built CLI, offline: examples/hsr.yaml is valid; broken manifests
 * name the file, the line and the field; multi-document files; exit codes 0, 1, 2.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli } from './support.js';

let dir: string;

const GOOD = `apiVersion: hanasr.io/v1alpha1
kind: HanaSystemReplication
metadata:
  name: ha1
spec:
  sid: HA1
  instanceNumber: '00'
  sites:
    - name: A
      host: hana-a
    - name: B
      host: hana-b
`;

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'hanasr-validate-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('hanasr validate', () => {
  it('accepts examples/hsr.yaml (exit 0)', async () => {
    const r = await runCli(['validate', 'examples/hsr.yaml']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('examples/hsr.yaml: HanaSystemReplication ha1 is valid\n');
  });

  it('accepts examples/hsr-dr.yaml, the three-site two-region manifest of docs/dr.md (exit 0)', async () => {
    const r = await runCli(['validate', 'examples/hsr-dr.yaml']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('examples/hsr-dr.yaml: HanaSystemReplication ha1 is valid\n');
  });

  it('names the file, line and field of a cross-field rule (exit 1)', async () => {
    const path = file(
      'hsr.yaml',
      GOOD + `  replication:\n    logShippingTimeoutSeconds: 30\n  lease:\n    ttlSeconds: 40\n`,
    );
    const r = await runCli(['validate', path]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `${path}:16: spec.lease.ttlSeconds: must be shorter than replication.logShippingTimeoutSeconds, ` +
        'so a cut-off primary fences itself before it can commit alone\n',
    );
  });

  it('refuses settings that leave a secondary no time to take over after a step-down, naming the numbers (exit 1)', async () => {
    // sim:fuzz schedule 20261302: the primary stepped down after 12 x 1 s and its secondary
    // waited for ever (the skew bound of 18 s left no trust window in the log-shipping timeout).
    // (Its lease of 6 s is 5 s here: 6 + 3 x 1.5 + 18 >= 28 breaks the node-loss rule as well.)
    const path = file(
      'step-down.yaml',
      GOOD +
        [
          '  replication:',
          '    mode: syncmem',
          '    logShippingTimeoutSeconds: 28',
          '  takeover:',
          '    failureThreshold: 12',
          '  probes:',
          '    intervalSeconds: 1',
          '    timeoutSeconds: 0.5',
          '  lease:',
          '    ttlSeconds: 5',
          '  clock:',
          '    maxSkewSeconds: 18',
          '',
        ].join('\n'),
    );
    const r = await runCli(['validate', path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `${path}:15: spec.replication.logShippingTimeoutSeconds: with clock.maxSkewSeconds (18 s) above a probe cycle ` +
        '(probes.intervalSeconds + probes.timeoutSeconds = 1.5 s), takeover.failureThreshold x probes.intervalSeconds ' +
        '(12 x 1 s) + clock.maxSkewSeconds + a probe cycle = 31.5 s must be shorter than ' +
        'replication.logShippingTimeoutSeconds (28 s), or once a failed primary steps down its secondary is never ' +
        'trusted in time to take over (raise logShippingTimeoutSeconds, or lower failureThreshold, intervalSeconds or maxSkewSeconds)\n',
    );
    // With room for it (32 s > 31.5 s), or a skew bound within a cycle, the same settings are valid.
    const fixed = file('step-down-ok.yaml', readFileSync(path, 'utf8').replace('Seconds: 28', 'Seconds: 32'));
    expect((await runCli(['validate', fixed])).code).toBe(0);
    const small = file(
      'step-down-skew.yaml',
      readFileSync(path, 'utf8').replace('maxSkewSeconds: 18', 'maxSkewSeconds: 1.5'),
    );
    expect((await runCli(['validate', small])).code).toBe(0);
  });

  it('reports every problem, each on its own line, with array indexes', async () => {
    const path = file(
      'bad.yaml',
      GOOD.replace('sid: HA1', 'sid: ha1')
        .replace('name: B', 'name: 2B')
        .replace('name: ha1\n', 'name: ha1\n  labels: {a: 1}\n'),
    );
    const r = await runCli(['validate', path]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toContain(`${path}:5: metadata.labels.a: Invalid input: expected string, received number`);
    expect(lines).toContain(
      `${path}:7: spec.sid: must be three characters, an upper-case letter first (e.g. HA1)`,
    );
    expect(lines).toContain(
      `${path}:12: spec.sites[1].name: must start with a letter and use only letters, digits, _ and -`,
    );
    expect(lines).toHaveLength(3);
  });

  it('a missing field points at its parent', async () => {
    const path = file('nosid.yaml', GOOD.replace("  instanceNumber: '00'\n", ''));
    const r = await runCli(['validate', path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^${path.replace(/[.]/g, '\\.')}:6: spec\\.instanceNumber: `));
  });

  it('checks apiVersion and kind of hanasr.io documents', async () => {
    const path = file(
      'kind.yaml',
      GOOD.replace('v1alpha1', 'v1').replace('kind: HanaSystemReplication', 'kind: HanaSystemReplicaton'),
    );
    const r = await runCli(['validate', path]);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      `${path}:1: apiVersion: must be hanasr.io/v1alpha1 (got "hanasr.io/v1")`,
      `${path}:2: kind: must be HanaSystemReplication (got "HanaSystemReplicaton")`,
    ]);
  });

  it('multi-document files: lines count from the top of the file, other kinds are skipped', async () => {
    const ns = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: hana\n';
    const path = file(
      'multi.yaml',
      `${ns}---\n${GOOD}---\n${GOOD.replace('host: hana-b', 'host: hana-b\n      priority: 5000')}`,
    );
    const r = await runCli(['validate', path]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      `${path} (document 1): skipped: Namespace (v1) is not a HanaSystemReplication\n` +
        `${path} (document 2): HanaSystemReplication ha1 is valid\n`,
    );
    // document 3 starts on line 19: its sites[1].priority is line 19 + 12 = 31
    expect(r.stderr).toBe(`${path}:31: spec.sites[1].priority: Too big: expected number to be <=1000\n`);
  });

  it('reports a YAML syntax error with its line', async () => {
    const path = file('syntax.yaml', GOOD.replace('  sid: HA1\n', '  sid: [HA1\n'));
    const r = await runCli(['validate', path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^${path.replace(/[.]/g, '\\.')}:\\d+: invalid YAML: `));
  });

  it('several files: exit 1 when one is invalid, each file reported', async () => {
    const good = file('good.yaml', GOOD);
    const bad = file('bad2.yaml', GOOD.replace("'00'", "'0'"));
    const r = await runCli(['validate', good, bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`${good}: HanaSystemReplication ha1 is valid\n`);
    expect(r.stderr).toBe(`${bad}:7: spec.instanceNumber: must be two digits (e.g. "00")\n`);
  });

  it('reads stdin for "-"', async () => {
    const r = await runCli(['validate', '-'], { input: GOOD });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('(stdin): HanaSystemReplication ha1 is valid\n');
  });

  it('an endless or huge file is refused after 1 MiB, an empty one has no manifest: both name the file (exit 1)', async () => {
    const endless = await runCli(['validate', '/dev/zero']);
    expect(endless.code).toBe(1);
    expect(endless.stderr).toBe('/dev/zero: larger than 1 MiB: not read\n');
    const empty = file('empty.yaml', '# to do\n---\n');
    const r = await runCli(['validate', empty]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `${empty}: no manifest: the file holds no YAML document (it is empty, or only comments, --- or null)\n`,
    );
  });

  it('usage errors exit 2: no file, an unreadable file, an unknown flag', async () => {
    const none = await runCli(['validate']);
    expect(none.code).toBe(2);
    expect(none.stderr.split('\n')[0]).toBe('hanasr: validate: missing FILE');
    const missing = await runCli(['validate', join(dir, 'absent.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`hanasr: validate: cannot read ${join(dir, 'absent.yaml')}: ENOENT\n`);
    const flag = await runCli(['validate', '--strict', 'examples/hsr.yaml']);
    expect(flag.code).toBe(2);
  });
});
