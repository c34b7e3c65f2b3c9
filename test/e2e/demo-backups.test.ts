/**
 * Backups in `hanasr demo` (what `npm start` runs, with examples/hsr.yaml and its spec.backup),
 * through the built CLI against the running landscape:
 * - the primary's agent takes the day's scheduled backup at once, on the primary only;
 * - `hanasr backup --now` asks for one, which the primary's agent runs at the current epoch;
 * - a backup fault sent through the demo's control endpoint (as `hanasr demo --scenario` sends
 *   it) makes the primary's next backup fail;
 * - after `hanasr takeover --to B` the new primary takes a backup at once (afterTakeover), and
 *   status.backup, `hanasr status` and `hanasr history` follow it to B.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupStatus } from '../../src/api/resource.js';
import { controlCall, type DemoFile } from '../../src/demo/control.js';
import { ensureBuilt, MAIN, ROOT, runCli } from '../cli/support.js';

const dir = mkdtempSync(join(tmpdir(), 'hanasr-demo-backups-'));
const stateDir = join(dir, 'state');
let demo: ChildProcess | undefined;
let output = '';
let kube: string[] = [];

type Run = NonNullable<BackupStatus['runs']>[number];

async function backupStatus(): Promise<BackupStatus | null> {
  const r = await runCli(['backup', 'ha1', '-o', 'json', ...kube]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as BackupStatus | null;
}

/** Polls status.backup until `ok` holds (a bound against a hang, not a timing goal). */
async function until(what: string, ok: (b: BackupStatus) => boolean, ms = 45_000): Promise<BackupStatus> {
  const deadline = Date.now() + ms;
  let last: BackupStatus | null = null;
  for (;;) {
    last = await backupStatus();
    if (last !== null && ok(last)) return last;
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${ms / 1000}s; status.backup ${JSON.stringify(last)}\n${output}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

const runs = (b: BackupStatus): Run[] => b.runs ?? [];

beforeAll(async () => {
  ensureBuilt();
  demo = spawn(process.execPath, [MAIN, 'demo', '--plain', '--state-dir', stateDir], {
    cwd: ROOT,
    env: { ...process.env, TMPDIR: dir },
  });
  demo.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  demo.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 60_000;
  while (!/acquired the leader key at epoch 1/.test(output)) {
    if (Date.now() > deadline || demo.exitCode !== null)
      throw new Error(`the demo did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  kube = ['--kubeconfig', /^kubeconfig (\S+)$/m.exec(output)![1]!, '-n', 'hana'];
}, 150_000);

afterAll(async () => {
  if (demo && demo.exitCode === null) {
    const exited = new Promise((r) => demo!.once('exit', r));
    demo.kill('SIGINT');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    if (demo.exitCode === null) demo.kill('SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('backups in hanasr demo (npm start)', () => {
  it('runs the scheduled backup on the primary A, never on the secondary', async () => {
    const b = await until('a scheduled backup succeeded', (s) =>
      runs(s).some((r) => r.kind === 'scheduled' && r.state === 'succeeded'),
    );
    expect(runs(b).every((r) => r.site === 'A' && r.epoch === 1)).toBe(true);
    expect(b.databases?.map((d) => d.name).sort()).toEqual(['HA1', 'SYSTEMDB']);
    expect(b.observedSite).toBe('A');
    // The status can reach the API before the demo's own line reaches its output (a full suite
    // run saw that): wait for the line too, a few seconds at most.
    const line = /A +backup-succeeded: run s-\d+ \(attempt 1\): backed up SYSTEMDB, HA1/;
    for (const stop = Date.now() + 10_000; !line.test(output) && Date.now() < stop;)
      await new Promise((r) => setTimeout(r, 100));
    expect(output).toMatch(line);
  }, 60_000);

  it('hanasr backup --now: the primary runs a manual backup at its epoch', async () => {
    const r = await runCli(['backup', 'ha1', '--now', ...kube]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/backup requested \(hanasr\.io\/backup-now=/);
    const b = await until('the manual backup succeeded', (s) =>
      runs(s).some((x) => x.kind === 'manual' && x.state === 'succeeded'),
    );
    const manual = runs(b).find((x) => x.kind === 'manual')!;
    expect(manual).toMatchObject({ site: 'A', epoch: 1, attempt: 1 });
  }, 60_000);

  it('a backup fault through the control endpoint fails the next backup on the primary', async () => {
    const file = JSON.parse(readFileSync(join(stateDir, 'demo.json'), 'utf8')) as DemoFile;
    const fault = async (action: string) =>
      controlCall<{ applied: string; site?: string }>(`${file.controlUrl}/fault`, file.token, 'POST', {
        atSeconds: 0,
        action,
        site: 'primary',
      });
    expect(await fault('fail-backup')).toEqual({ applied: 'fail-backup', site: 'A' });
    // backup-now through the control endpoint goes the way of `hanasr backup --now`.
    expect(
      await controlCall(`${file.controlUrl}/fault`, file.token, 'POST', {
        atSeconds: 0,
        action: 'backup-now',
      }),
    ).toEqual({ applied: 'backup-now' });
    const b = await until('the manual backup failed', (s) =>
      runs(s).some((x) => x.kind === 'manual' && x.state === 'failed'),
    );
    expect(runs(b).find((x) => x.state === 'failed')).toMatchObject({ site: 'A', epoch: 1 });
    expect(await fault('restore-backup')).toEqual({ applied: 'restore-backup', site: 'A' });
  }, 60_000);

  it('after hanasr takeover --to B, B backs up at once and status.backup follows it', async () => {
    const t = await runCli(['takeover', 'ha1', '--to', 'B', ...kube]);
    expect(t.code, t.stdout + t.stderr).toBe(0);
    const b = await until(
      'the backup after the takeover succeeded on B',
      (s) =>
        runs(s).some((x) => x.kind === 'after-takeover' && x.site === 'B' && x.state === 'succeeded') &&
        s.observedSite === 'B',
    );
    const after = runs(b).find((x) => x.kind === 'after-takeover' && x.state === 'succeeded')!;
    expect(after.epoch).toBeGreaterThanOrEqual(2);
    expect(after.id).toBe(`t-${after.epoch}`);
    // Never on a secondary: every run of B's term ran on B, every earlier one on A.
    for (const r of runs(b)) expect(r.site).toBe(r.epoch >= after.epoch ? 'B' : 'A');

    const status = await runCli(['status', 'ha1', ...kube]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout, status.stdout).toMatch(new RegExp(`last run t-${after.epoch} succeeded on B`));
    const history = await runCli(['history', 'ha1', ...kube]);
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toMatch(/A +B +PlannedTakeover/);
    expect(history.stdout, history.stdout).toMatch(
      new RegExp(`t-${after.epoch} +after-takeover +${after.attempt} +B +${after.epoch} +succeeded`),
    );
  }, 90_000);
});
