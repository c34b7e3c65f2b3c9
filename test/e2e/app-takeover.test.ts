/**
 * The resilient example app measured in `hanasr demo`, as docs/apps.md shows it: the built demo
 * in its own process (real etcd, the operator, the agents, the wire-protocol simulator), the app
 * with the real @sap/hana-client, examples/app/measure.mjs driving a planned takeover through a
 * host list (the README test plays the unplanned one through the -rw Service against npm start).
 * Correctness is asserted: no order the app was told is committed is missing on the final
 * primary, and the app writes again; times only against generous bounds (figures: docs/apps.md).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const cli = join(root, 'dist/cli/main.js');
const work = mkdtempSync(join(tmpdir(), 'hanasr-app-e2e-'));
const stateDir = join(work, 'state');
let demo: ChildProcess | null = null;
let output = '';

interface Measurement {
  primaryBefore: string;
  primaryAfter: string;
  orders: number;
  acknowledged: number;
  confirmedAfterLostAnswer: number;
  uncertainCommits: number;
  errorsAfterFault: Record<string, number>;
  noticedAfterMs: number | null;
  firstWriteAfterFaultMs: number;
  longestWithoutWriteMs: number;
  missingOnFinalPrimary: number;
  lostCommittedWritesOfTheWorkload: number;
}

function measure(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['examples/app/measure.mjs', '--state-dir', stateDir, ...args], {
      cwd: root,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 400_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  if (!existsSync(cli)) {
    const built = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' });
    expect(built.status, built.stdout + built.stderr).toBe(0);
  }
  demo = spawn(process.execPath, [cli, 'demo', '--plain', '--state-dir', stateDir], { cwd: root });
  demo.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  demo.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 90_000;
  while (!/acquired the leader key at epoch 1/.test(output)) {
    if (Date.now() > deadline || demo.exitCode !== null)
      throw new Error(`the demo did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(output).toMatch(/^sql 127\.0\.0\.1:\d+ \(read-write, follows the ha1-rw Service; per site A /m);
}, 150_000);

afterAll(async () => {
  if (demo && demo.exitCode === null) {
    demo.kill('SIGINT');
    await new Promise((r) => demo!.once('exit', r));
  }
  rmSync(work, { recursive: true, force: true });
});

describe('the example app through takeovers in hanasr demo', () => {
  it('planned (hanasr takeover to the secondary), through a host list: nothing acknowledged is lost', async () => {
    const r = await measure('--fault', 'planned', '--via', 'hosts', '--json');
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const m = JSON.parse(r.stdout) as Measurement;
    expect(m.primaryBefore).toBe('A');
    expect(m.primaryAfter).toBe('B');
    expect(m.acknowledged + m.confirmedAfterLostAnswer).toBeGreaterThan(20);
    expect(m.missingOnFinalPrimary).toBe(0);
    expect(m.lostCommittedWritesOfTheWorkload).toBe(0);
    expect(m.firstWriteAfterFaultMs).toBeLessThan(90_000);
    expect(m.longestWithoutWriteMs).toBeLessThan(60_000);
  }, 420_000);

  it('the demo stops cleanly with the app’s endpoints', async () => {
    demo!.kill('SIGINT');
    await new Promise((r) => demo!.once('exit', r));
    expect(output).toMatch(/stopped; nothing left running/);
    expect(existsSync(join(stateDir, 'sql-password'))).toBe(false);
  }, 60_000);
});
