import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TimeoutError } from '../../../src/clock.js';
import { CommandOutputLimitError, SpawnCommandRunner, spawnArgv } from '../../../src/hana/commands/runner.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntilGone(pids: number[], limitMs: number): Promise<boolean> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (pids.every((p) => !alive(p))) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return pids.every((p) => !alive(p));
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('SpawnCommandRunner', () => {
  it('runs an argument array without a shell and returns exit code and output', async () => {
    const runner = new SpawnCommandRunner();
    const r = await runner.run(
      [
        process.execPath,
        '-e',
        'process.stdout.write(process.argv[1]); process.stderr.write("e"); process.exit(13)',
        '$(touch /tmp/x); `id`',
      ],
      {
        timeoutMs: 10_000,
      },
    );
    expect(r).toEqual({ exitCode: 13, stdout: '$(touch /tmp/x); `id`', stderr: 'e' });
  });

  it('passes extra environment variables', async () => {
    const r = await new SpawnCommandRunner().run(
      [process.execPath, '-e', 'process.stdout.write(process.env.HANASR_T ?? "")'],
      {
        timeoutMs: 10_000,
        env: { HANASR_T: 'yes' },
      },
    );
    expect(r.stdout).toBe('yes');
  });

  it("spawns tools with a minimal environment: never the agent's secrets, only PATH, HOME, locale and SAP variables", async () => {
    const environment = {
      PATH: '/usr/sap/HA1/HDB00/exe:/usr/bin:/bin',
      HOME: '/home/ha1adm',
      LANG: 'en_US.UTF-8',
      LC_TIME: 'C',
      SAPSYSTEMNAME: 'HA1',
      DIR_INSTANCE: '/usr/sap/HA1/HDB00',
      LD_LIBRARY_PATH: '/usr/sap/HA1/HDB00/exe',
      HANASR_SQL_PASSWORD: 'Planted-Sql-Secret-1',
      HANASR_ETCD_PASSWORD: 'Planted-Etcd-Secret-2',
      HANASR_ALERT_WEBHOOK_TOKEN: 'Planted-Token-3',
      AWS_SECRET_ACCESS_KEY: 'Planted-Cloud-Key-4',
      KUBERNETES_SERVICE_HOST: '10.0.0.1',
    };
    const r = await new SpawnCommandRunner({ environment }).run(
      [process.execPath, '-e', 'process.stdout.write(JSON.stringify(process.env))'],
      { timeoutMs: 10_000 },
    );
    const seen = JSON.parse(r.stdout) as Record<string, string>;
    for (const planted of [
      'Planted-Sql-Secret-1',
      'Planted-Etcd-Secret-2',
      'Planted-Token-3',
      'Planted-Cloud-Key-4',
    ])
      expect(r.stdout).not.toContain(planted);
    expect(seen).toMatchObject({
      PATH: environment.PATH,
      HOME: environment.HOME,
      LANG: 'en_US.UTF-8',
      LC_TIME: 'C',
      SAPSYSTEMNAME: 'HA1',
      DIR_INSTANCE: '/usr/sap/HA1/HDB00',
      LD_LIBRARY_PATH: '/usr/sap/HA1/HDB00/exe',
    });
    expect(seen.KUBERNETES_SERVICE_HOST).toBeUndefined();
  });

  it('by default passes the process environment through the same filter', async () => {
    process.env.HANASR_TEST_PLANTED_PASSWORD = 'Planted-Default-Secret';
    try {
      const r = await new SpawnCommandRunner().run(
        [process.execPath, '-e', 'process.stdout.write(JSON.stringify(process.env))'],
        { timeoutMs: 10_000 },
      );
      expect(r.stdout).not.toContain('Planted-Default-Secret');
      expect((JSON.parse(r.stdout) as Record<string, string>).PATH).toBe(process.env.PATH);
    } finally {
      delete process.env.HANASR_TEST_PLANTED_PASSWORD;
    }
  });

  it("picks the tools' environment once, at the first run, and keeps it; a run's own env still adds to it", async () => {
    const environment: NodeJS.ProcessEnv = { PATH: process.env.PATH, LANG: 'C' };
    const runner = new SpawnCommandRunner({ environment });
    const printEnv = [process.execPath, '-e', 'process.stdout.write(JSON.stringify(process.env))'];
    const first = JSON.parse((await runner.run(printEnv, { timeoutMs: 10_000 })).stdout) as Record<
      string,
      string
    >;
    expect(first.LANG).toBe('C');
    environment.LANG = 'de_DE.UTF-8';
    environment.TZ = 'UTC';
    const second = JSON.parse(
      (await runner.run(printEnv, { timeoutMs: 10_000, env: { HANASR_SIM_SITE: 'A' } })).stdout,
    ) as Record<string, string>;
    expect(second.LANG).toBe('C');
    expect(second.TZ).toBeUndefined();
    expect(second.HANASR_SIM_SITE).toBe('A');
    // A new runner picks the environment as it is then.
    const fresh = JSON.parse(
      (await new SpawnCommandRunner({ environment }).run(printEnv, { timeoutMs: 10_000 })).stdout,
    ) as Record<string, string>;
    expect(fresh).toMatchObject({ LANG: 'de_DE.UTF-8', TZ: 'UTC' });
  });

  it('rejects with TimeoutError and kills the whole process group of a hanging child (SIGTERM ignored -> SIGKILL)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hanasr-runner-'));
    dirs.push(dir);
    const pidFile = join(dir, 'pids');
    const script = `
      const { spawn } = require('node:child_process');
      const fs = require('node:fs');
      process.on('SIGTERM', () => {});
      const g = spawn(process.execPath, ['-e', 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      fs.writeFileSync(${JSON.stringify(pidFile)}, process.pid + ' ' + g.pid);
      setInterval(() => {}, 1000);`;
    const runner = new SpawnCommandRunner({ killGraceMs: 200 });
    // 3 s leaves the child ample time to write its pid file before the deadline.
    const started = runner.run([process.execPath, '-e', script], { timeoutMs: 3000 });
    await expect(started).rejects.toBeInstanceOf(TimeoutError);
    expect(existsSync(pidFile)).toBe(true);
    const pids = readFileSync(pidFile, 'utf8').split(' ').map(Number);
    expect(await waitUntilGone(pids, 10_000)).toBe(true);
  });

  it('rejects with the abort reason when the caller aborts, and kills the child', async () => {
    const controller = new AbortController();
    const runner = new SpawnCommandRunner({ killGraceMs: 100 });
    const p = runner.run([process.execPath, '-e', 'console.log(process.pid); setInterval(() => {}, 1000)'], {
      timeoutMs: 60_000,
      signal: controller.signal,
    });
    const reason = new Error('probe cancelled');
    setTimeout(() => controller.abort(reason), 300);
    await expect(p).rejects.toBe(reason);
  });

  it('bounds the output: a tool that prints too much is not trusted', async () => {
    const runner = new SpawnCommandRunner({ maxOutputBytes: 1024, killGraceMs: 100 });
    await expect(
      runner.run([process.execPath, '-e', 'setInterval(() => process.stdout.write("x".repeat(4096)), 1)'], {
        timeoutMs: 10_000,
      }),
    ).rejects.toBeInstanceOf(CommandOutputLimitError);
  });

  it('rejects when the executable does not exist', async () => {
    await expect(
      new SpawnCommandRunner().run(['/nonexistent/hdbnsutil', '-sr_state'], { timeoutMs: 5000 }),
    ).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('runs as <sid>adm through runuser -u <user> --, and refuses unsafe user names', () => {
    expect(spawnArgv(['/usr/sap/HA1/HDB00/exe/hdbnsutil', '-sr_state'], 'ha1adm')).toEqual([
      'runuser',
      '-u',
      'ha1adm',
      '--',
      '/usr/sap/HA1/HDB00/exe/hdbnsutil',
      '-sr_state',
    ]);
    expect(spawnArgv(['/bin/true'])).toEqual(['/bin/true']);
    expect(() => spawnArgv(['/bin/true'], 'ha1adm; rm -rf /')).toThrow(/invalid user/);
    expect(() => new SpawnCommandRunner({ runAs: '-u root' })).toThrow(/invalid user/);
    expect(() => spawnArgv([])).toThrow(/empty/);
  });
});
