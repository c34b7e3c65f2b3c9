/**
 * The fence agent runner against real fence agents: Debian's fence_dummy (file mode, with its
 * status_file in a temp dir, and its `fail` type) and small fence agents in fixtures/ that stand
 * for broken hardware (failing, hanging) or show what the runner sends (recorder).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSpec, type FencingSpec } from '../../src/api/spec.js';
import { realClock } from '../../src/clock.js';
import { CommandFenceAgent, fenceEnvironment } from '../../src/fencing/fence-agent.js';
import { loadFenceCredentials } from '../../src/fencing/credentials.js';
import { fenceOff, fenceOn } from '../../src/fencing/procedure.js';
import { createLogger, LineCollector } from '../../src/observability/log.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const FENCE_DUMMY = '/usr/sbin/fence_dummy';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'hanasr-fence-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function agentSpec(agent: Record<string, unknown>): NonNullable<FencingSpec['agent']> {
  return parseSpec({
    sid: 'HA1',
    instanceNumber: '00',
    sites: [
      { name: 'A', host: 'a' },
      { name: 'B', host: 'b' },
    ],
    fencing: { agent },
  }).fencing.agent!;
}

const call = { timeoutMs: 10_000 };

/** Whether a process runs (a killed one may stay a zombie until init reaps it: that is dead). */
async function running(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return !/^Z/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

describe('fence_dummy (Debian fence-agents)', () => {
  it('is installed (.ci/run installs fence-agents)', () => {
    expect(existsSync(FENCE_DUMMY)).toBe(true);
  });

  it('powers a node off and on, each confirmed by status (exit 2 = OFF, 0 = ON)', async () => {
    const statusA = path.join(dir, 'A.status');
    const statusB = path.join(dir, 'B.status');
    const spec = agentSpec({
      command: 'fence_dummy',
      sites: { A: { status_file: statusA }, B: { status_file: statusB } },
    });
    const agent = new CommandFenceAgent({ spec: () => spec });
    expect(await agent.call('A', 'on', call)).toMatchObject({ ok: true, action: 'on' });
    expect(await agent.call('A', 'status', call)).toMatchObject({ ok: true, power: 'on' });
    expect(await agent.call('A', 'monitor', call)).toMatchObject({ ok: true, action: 'monitor' });
    // No status file: fence_dummy says OFF. Each site has its own file.
    expect(await agent.call('B', 'status', call)).toMatchObject({ ok: true, power: 'off' });

    const timing = { clock: realClock, timeoutMs: 20_000, callTimeoutMs: 10_000, statusIntervalMs: 100 };
    const off = await fenceOff(agent, 'A', timing);
    expect(off).toMatchObject({ site: 'A', action: 'off', result: 'confirmed', calls: 2 });
    expect(await readFile(statusA, 'utf8')).toBe('off');
    expect(await agent.call('A', 'status', call)).toMatchObject({ ok: true, power: 'off' });
    // Idempotent: a second fence of a node that is off is confirmed again and changes nothing.
    expect(await fenceOff(agent, 'A', timing)).toMatchObject({ result: 'confirmed' });
    expect(await fenceOn(agent, 'A', timing)).toMatchObject({ result: 'confirmed', action: 'on' });
    expect(await readFile(statusA, 'utf8')).toBe('on');
  });

  it('a device that never powers off (type=fail) fails the fence; nothing is confirmed', async () => {
    const spec = agentSpec({
      command: 'fence_dummy',
      parameters: { type: 'fail', power_timeout: '1', power_wait: '0' },
      sites: { A: { plug: 'node-a' } },
    });
    const agent = new CommandFenceAgent({ spec: () => spec });
    const off = await agent.call('A', 'off', call);
    expect(off).toMatchObject({ ok: false, code: 'FAILED' });
    expect(off.message).toMatch(/Timed out waiting to power OFF/);
    const outcome = await fenceOff(agent, 'A', {
      clock: realClock,
      timeoutMs: 3000,
      callTimeoutMs: 3000,
      statusIntervalMs: 100,
    });
    // The last off is cut by the deadline (TIMEOUT) or has failed by then (FAILED): never confirmed.
    expect(outcome.result === 'failed' || outcome.result === 'timed-out').toBe(true);
    expect(['FAILED', 'TIMEOUT']).toContain(outcome.code);
    expect(outcome.calls).toBeGreaterThanOrEqual(2);
    expect(outcome.endedAt - outcome.startedAt).toBeLessThan(6000);
  });
});

describe('broken fence agents', () => {
  it('a failing agent fails every action, and what it echoes is redacted', async () => {
    const creds = path.join(dir, 'fence.cred');
    await writeFile(creds, 'login=fenceuser\npassword=Sup3r-secret-pw\n', { mode: 0o600 });
    const secrets: string[] = [];
    const agent = new CommandFenceAgent({
      spec: () => agentSpec({ command: 'fence_failing', sites: { A: { ip: '10.0.0.11' } } }),
      agentDir: FIXTURES,
      credentials: { kind: 'file', path: creds },
      addSecret: (s) => secrets.push(s),
    });
    for (const action of ['off', 'on', 'status', 'monitor'] as const) {
      const r = await agent.call('A', action, call);
      expect(r).toMatchObject({ ok: false, action, code: 'FAILED' });
      expect(JSON.stringify(r)).not.toContain('Sup3r-secret-pw');
    }
    expect(secrets).toContain('Sup3r-secret-pw');
    // The agent echoed the password; a logger that was given it never prints it either.
    const lines = new LineCollector();
    const log = createLogger({ stream: lines });
    const agent2 = new CommandFenceAgent({
      spec: () => agentSpec({ command: 'fence_failing' }),
      agentDir: FIXTURES,
      credentials: { kind: 'file', path: creds },
      addSecret: (s) => log.addSecret(s),
    });
    const r = await agent2.call('A', 'off', call);
    log.error('fence failed', { result: r, raw: 'password=Sup3r-secret-pw' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.lines.join('\n')).not.toContain('Sup3r-secret-pw');
    expect(lines.lines.join('\n')).toContain('[REDACTED]');
  });

  it('a hanging agent is killed with its whole process group at the call timeout', async () => {
    const pidFile = path.join(dir, 'child.pid');
    const agent = new CommandFenceAgent({
      spec: () => agentSpec({ command: 'fence_hanging', parameters: { pid_file: pidFile } }),
      agentDir: FIXTURES,
    });
    for (const action of ['off', 'status'] as const) {
      const started = Date.now();
      const r = await agent.call('A', action, { timeoutMs: 500 });
      expect(r).toMatchObject({ ok: false, code: 'TIMEOUT' });
      expect(Date.now() - started).toBeLessThan(3000);
      const pid = Number((await readFile(pidFile, 'utf8')).trim());
      let alive = true;
      for (let i = 0; i < 50 && alive; i++) {
        alive = await running(pid);
        if (alive) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(alive, `child ${pid} of the hanging agent survived`).toBe(false);
    }
    // The whole fence times out too: never confirmed.
    const outcome = await fenceOff(agent, 'A', {
      clock: realClock,
      timeoutMs: 1200,
      callTimeoutMs: 400,
      statusIntervalMs: 100,
    });
    expect(outcome).toMatchObject({ result: 'timed-out', code: 'TIMEOUT' });
    expect(outcome.endedAt - outcome.startedAt).toBeLessThan(3000);
  });

  it('an abort signal ends a call', async () => {
    const agent = new CommandFenceAgent({
      spec: () => agentSpec({ command: 'fence_hanging' }),
      agentDir: FIXTURES,
    });
    const r = await agent.call('A', 'off', { timeoutMs: 10_000, signal: AbortSignal.timeout(300) });
    expect(r).toMatchObject({ ok: false, code: 'ABORTED' });
  });

  it('exit 2 without "Status: OFF" is not OFF (python3 that cannot open its script exits 2)', async () => {
    const agent = new CommandFenceAgent({
      spec: () => agentSpec({ command: 'fence_nopython' }),
      agentDir: FIXTURES,
    });
    const r = await agent.call('A', 'status', call);
    expect(r).toMatchObject({ ok: false, code: 'UNKNOWN_STATUS' });
    expect(r.message).toMatch(/can't open file/);
  });

  it('refuses what is not configured, not installed, or not safe on a command line', async () => {
    const none = new CommandFenceAgent({ spec: () => undefined });
    expect(await none.call('A', 'off', call)).toMatchObject({ ok: false, code: 'NOT_CONFIGURED' });
    const missing = new CommandFenceAgent({
      spec: () => agentSpec({ command: 'fence_nothere' }),
      agentDir: FIXTURES,
    });
    expect(await missing.call('A', 'off', call)).toMatchObject({ ok: false, code: 'SPAWN' });
    // A spec that bypassed the schema (read from the store) is checked again before any spawn.
    const injected = {
      ...agentSpec({ command: 'fence_recorder' }),
      parameters: { password_script: 'reboot' },
    };
    const bad = new CommandFenceAgent({ spec: () => injected, agentDir: FIXTURES });
    expect(await bad.call('A', 'off', call)).toMatchObject({ ok: false, code: 'NOT_CONFIGURED' });
    const multi = { ...agentSpec({ command: 'fence_recorder' }), sites: { A: { ip: '1\naction=on' } } };
    expect(
      await new CommandFenceAgent({ spec: () => multi, agentDir: FIXTURES }).call('A', 'off', call),
    ).toMatchObject({ ok: false, code: 'NOT_CONFIGURED' });
  });
});

describe('what the runner sends', () => {
  it('spec options, then the site’s, then credentials, and action last; a minimal environment', async () => {
    const record = path.join(dir, 'stdin.txt');
    const creds = path.join(dir, 'fence.cred');
    await writeFile(
      creds,
      '# fence credentials\nlogin=fence\npassword=common-password\nB.password=password-of-B\n',
      { mode: 0o600 },
    );
    const agent = new CommandFenceAgent({
      spec: () =>
        agentSpec({
          command: 'fence_recorder',
          parameters: { lanplus: '1', record_file: record, ip: 'default' },
          sites: { B: { ip: '10.0.0.12' } },
        }),
      agentDir: FIXTURES,
      credentials: { kind: 'file', path: creds },
    });
    expect(await agent.call('B', 'status', call)).toMatchObject({ ok: true, power: 'on' });
    expect(await readFile(record, 'utf8')).toBe(
      `lanplus=1\nrecord_file=${record}\nip=10.0.0.12\nlogin=fence\npassword=password-of-B\naction=status\n`,
    );
    await agent.call('A', 'off', call);
    expect(await readFile(record, 'utf8')).toBe(
      `lanplus=1\nrecord_file=${record}\nip=default\nlogin=fence\npassword=common-password\naction=off\n`,
    );
    const env = fenceEnvironment({
      PATH: '/bin',
      HANASR_SQL_PASSWORD: 'x',
      https_proxy: 'http://p:3128',
      LC_ALL: 'C',
    });
    expect(env).toEqual({ PATH: '/bin', https_proxy: 'http://p:3128', LC_ALL: 'C' });
  });

  it('credentials: owner-only file, short secrets refused, a mounted Secret read key by key', async () => {
    const creds = path.join(dir, 'fence.cred');
    await writeFile(creds, 'password=long-enough-pw\n', { mode: 0o644 });
    await chmod(creds, 0o644);
    const agent = (credentials: Parameters<typeof loadFenceCredentials>[0]) =>
      new CommandFenceAgent({
        spec: () => agentSpec({ command: 'fence_recorder' }),
        agentDir: FIXTURES,
        credentials,
      });
    const open = await agent({ kind: 'file', path: creds }).call('A', 'off', call);
    expect(open).toMatchObject({ ok: false, code: 'CREDENTIALS' });
    expect(open.message).toMatch(/chmod 600/);
    expect(open.message).not.toContain('long-enough-pw');

    await writeFile(creds, 'password=short\n', { mode: 0o600 });
    await chmod(creds, 0o600);
    expect(await agent({ kind: 'file', path: creds }).call('A', 'off', call)).toMatchObject({
      ok: false,
      code: 'CREDENTIALS',
      message: expect.stringMatching(/shorter than 8/),
    });
    await writeFile(creds, 'action=on\n', { mode: 0o600 });
    await expect(loadFenceCredentials({ kind: 'file', path: creds }, 'A')).rejects.toThrow(
      /not an option name/,
    );
    await writeFile(creds, 'just-a-password\n', { mode: 0o600 });
    await expect(loadFenceCredentials({ kind: 'file', path: creds }, 'A')).rejects.toThrow(
      /expected a name=value line/,
    );

    // A Secret volume: keys as files through the ..data symlink farm the kubelet makes.
    const secret = path.join(dir, 'secret');
    const data = path.join(secret, '..2026_12_06_00_00_00.000000001');
    await mkdir(data, { recursive: true });
    await writeFile(path.join(data, 'login'), 'fence');
    await writeFile(path.join(data, 'password'), 'secret-from-k8s\n');
    await writeFile(path.join(data, 'A.password'), 'secret-of-site-A\n');
    await symlink(path.basename(data), path.join(secret, '..data'));
    for (const k of ['login', 'password', 'A.password'])
      await symlink(path.join('..data', k), path.join(secret, k));
    expect(await loadFenceCredentials({ kind: 'secret', dir: secret }, 'A')).toEqual({
      login: 'fence',
      password: 'secret-of-site-A',
    });
    expect(await loadFenceCredentials({ kind: 'secret', dir: secret }, 'B')).toEqual({
      login: 'fence',
      password: 'secret-from-k8s',
    });
  });
});
