/** `hanasr simulate` as a user runs it: the built CLI, real processes, exit codes, JSON shape. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const cli = join(root, 'dist/cli/main.js');

function hanasr(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
}

beforeAll(() => {
  // `npm test` builds first; a direct vitest run on a fresh clone builds here.
  if (existsSync(cli)) return;
  const built = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' });
  expect(built.status, built.stdout + built.stderr).toBe(0);
}, 120_000);

describe('hanasr simulate', () => {
  it('prints the documented JSON and exits 0 when expectations hold', () => {
    const r = hanasr('simulate', 'examples/scenarios/kill-primary-instance.yaml', '--json');
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(
      expect.arrayContaining(['name', 'seed', 'passed', 'final', 'metrics', 'expectations', 'timeline']),
    );
    expect(out.passed).toBe(true);
    expect(out.final.primary).toBe('B');
    expect(out.metrics).toMatchObject({ takeovers: 1, lostCommittedWrites: 0, maxConcurrentPrimaries: 1 });
    expect(out.timeline[0]).toEqual(
      expect.objectContaining({ t: expect.any(Number), site: expect.any(String) }),
    );
    expect(out.expectations.every((e: { ok: boolean }) => e.ok)).toBe(true);
  });

  it('refuses a scenario file over 1 MiB after reading 1 MiB, naming the file (exit 2)', () => {
    const r = hanasr('simulate', '/dev/zero');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('hanasr simulate: invalid scenario\n/dev/zero: larger than 1 MiB: not read\n');
  });

  it('exits 1 and says FAILED when an expectation does not hold', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hanasr-sim-'));
    const text = readFileSync(join(root, 'examples/scenarios/kill-primary-instance.yaml'), 'utf8').replace(
      'primary: B',
      'primary: A',
    );
    writeFileSync(join(dir, 's.yaml'), text);
    const r = hanasr('simulate', join(dir, 's.yaml'));
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/FAIL primary: expected "A", got "B"/);
    expect(r.stdout).toMatch(/FAILED/);
  });

  it('exits 2 and names the field and line of an invalid scenario', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hanasr-sim-'));
    const text = readFileSync(join(root, 'examples/scenarios/kill-primary-instance.yaml'), 'utf8').replace(
      'action: restart-instance, site: A',
      'action: restart-instance, site: Q',
    );
    writeFileSync(join(dir, 'bad.yaml'), text);
    const r = hanasr('simulate', join(dir, 'bad.yaml'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/bad\.yaml:\d+: faults\[1\]\.site: unknown site "Q"/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
  });

  it('exits 2 on a spec error inside the scenario, naming the spec field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hanasr-sim-'));
    const text = readFileSync(join(root, 'examples/scenarios/kill-primary-instance.yaml'), 'utf8').replace(
      'failureThreshold: 3',
      'failureThreshold: 0',
    );
    writeFileSync(join(dir, 'bad.yaml'), text);
    const r = hanasr('simulate', join(dir, 'bad.yaml'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cluster\.takeover\.failureThreshold/);
  });

  it('exits 2 for a missing file and for unknown options', () => {
    expect(hanasr('simulate', 'no/such/file.yaml').status).toBe(2);
    expect(hanasr('simulate', 'examples/scenarios/kill-primary-instance.yaml', '--bogus').status).toBe(2);
  });

  it('lists its options with --help', () => {
    const r = hanasr('simulate', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--json/);
    expect(r.stdout).toMatch(/Exit codes/);
  });
});
