/** The package's public entries resolve as a consumer imports them (after the build). */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

beforeAll(() => {
  if (existsSync(join(root, 'dist/hana/index.js'))) return;
  const built = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' });
  expect(built.status, built.stdout + built.stderr).toBe(0);
}, 120_000);

function importNames(specifier: string): string[] {
  const r = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(specifier)}); console.log(JSON.stringify(Object.keys(m)));`,
    ],
    { cwd: root, encoding: 'utf8' },
  );
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as string[];
}

describe('package exports', () => {
  it("'hanasr/hana' exports the parsers, HanaParseError, the runner, the adapter and the SQL probe", () => {
    const names = importNames('hanasr/hana');
    for (const n of [
      'parseSrState',
      'parseSystemReplicationStatus',
      'parseLandscapeHostConfiguration',
      'parseProcessList',
      'HanaParseError',
      'SpawnCommandRunner',
      'HanaCommandAdapter',
      'HanaSqlProbe',
    ]) {
      expect(names).toContain(n);
    }
  });

  it("'hanasr' exports the spec schema and the decision core", () => {
    const names = importNames('hanasr');
    for (const n of ['parseSpec', 'decide', 'Agent', 'runScenario']) expect(names).toContain(n);
  });
});
