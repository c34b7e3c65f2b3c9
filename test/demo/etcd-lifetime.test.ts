/**
 * The demo's local etcd lives exactly as long as the demo: killed with SIGKILL (no handler runs),
 * the demo leaves no etcd behind and no data directory. The real built CLI, the real etcd.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findEtcd, startLocalEtcd } from '../../src/demo/etcd.js';

const root = join(import.meta.dirname, '../..');
const cli = join(root, 'dist/cli/main.js');
const work = mkdtempSync(join(tmpdir(), 'hanasr-etcd-life-'));
const started: ChildProcess[] = [];
/** etcd members this test saw: a failing run must not leave them behind. */
const members: number[] = [];

beforeAll(() => {
  expect(findEtcd(), 'etcd on PATH (Debian: etcd-server)').not.toBeNull();
  // `npm test` builds first; a direct vitest run on a fresh clone builds here.
  if (existsSync(cli)) return;
  const built = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' });
  expect(built.status, built.stdout + built.stderr).toBe(0);
}, 120_000);

afterAll(() => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const pid of members) if (alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

/** PIDs of processes whose command line mentions `text` (other than pgrep itself). */
function pidsMentioning(text: string): number[] {
  const r = spawnSync('pgrep', ['-f', '--', text], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(Number);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, ms: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the demo etcd', () => {
  it('does not outlive a demo killed with SIGKILL', async () => {
    const stateDir = join(work, 'state');
    const dataDir = join(stateDir, 'etcd');
    const child = spawn(
      process.execPath,
      [
        cli,
        'demo',
        '--plain',
        '--coordination',
        'etcd',
        '--state-dir',
        stateDir,
        '--manifest',
        'examples/hsr.yaml',
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    started.push(child);
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await until('the demo reports its etcd', 60_000, () => /^coordination etcd/m.test(output));

    // The etcd member itself: its command line names the data directory.
    const etcd = pidsMentioning(`--data-dir=${dataDir}`).filter((pid) => pid !== child.pid);
    members.push(...etcd);
    expect(etcd.length, output).toBeGreaterThan(0);
    expect(existsSync(dataDir)).toBe(true);

    child.kill('SIGKILL');
    await until('the demo is gone', 10_000, () => child.exitCode !== null || child.signalCode !== null);
    await until('etcd is gone', 10_000, () => etcd.every((pid) => !alive(pid)));
    await until('the data directory is removed', 10_000, () => !existsSync(dataDir));
    expect(pidsMentioning(dataDir)).toEqual([]);
  }, 120_000);

  it('pauses, resumes and stops through its supervisor; stop removes the data directory', async () => {
    const dataDir = join(work, 'direct');
    const etcd = await startLocalEtcd(findEtcd()!, dataDir);
    members.push(etcd.pid);
    const health = async () => {
      try {
        const r = await fetch(`${etcd.endpoint}/health`, { signal: AbortSignal.timeout(500) });
        return r.ok;
      } catch {
        return false;
      }
    };
    expect(await health()).toBe(true);
    etcd.pause();
    expect(await health()).toBe(false);
    etcd.resume();
    for (let i = 0; i < 50 && !(await health()); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await health()).toBe(true);
    await etcd.stop();
    expect(alive(etcd.pid)).toBe(false);
    expect(existsSync(dataDir)).toBe(false);
  }, 60_000);
});
