/**
 * `hanasr demo examples/hsr-dr.yaml`: the three-site example across two regions (docs/dr.md),
 * through the built CLI. One etcd and one Kubernetes API per region, the operator of each region
 * on its own store reading the other's, agents on their region's store. The DR link (A -> C,
 * async) shows in status and on the screen; the primary site A is lost and C follows the new
 * in-region primary B; then the whole region eu-west is lost: nothing is promoted in eu-north
 * until `hanasr takeover ha1 --to C --disaster --confirm ha1` against eu-north's API, which
 * reports the expected loss and promotes C at generation 2.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlCall, type DemoFile, type DemoState } from '../../src/demo/control.js';
import { ensureBuilt, MAIN, ROOT, runCli } from '../cli/support.js';

const dir = mkdtempSync(join(tmpdir(), 'hanasr-demo-regions-'));
const stateDir = join(dir, 'state');
let demo: ChildProcess | undefined;
let output = '';
const kubeOf: Record<string, string[]> = {};
let control: DemoFile;

type Obj = { status?: Record<string, unknown> & { region?: Record<string, unknown> } };

const state = () => controlCall<DemoState>(`${control.controlUrl}/state`, control.token, 'GET');
const fault = (action: string, site: string) =>
  controlCall(`${control.controlUrl}/fault`, control.token, 'POST', { atSeconds: 0, action, site });
const resource = async (region: string): Promise<Obj> => {
  const r = await runCli(['status', 'ha1', '-o', 'json', ...kubeOf[region]!]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Obj;
};

/** Polls until `ok` holds (a bound against a hang, not a timing goal). */
async function until<T>(
  what: string,
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  ms = 40_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read().catch(() => null);
    if (v !== null && ok(v)) return v;
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${ms / 1000}s; last ${JSON.stringify(v)}\n${output.slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

beforeAll(async () => {
  ensureBuilt();
  demo = spawn(process.execPath, [MAIN, 'demo', 'examples/hsr-dr.yaml', '--plain', '--state-dir', stateDir], {
    cwd: ROOT,
    env: { ...process.env, TMPDIR: dir },
  });
  demo.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  demo.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 60_000;
  while (!/A +action: acquired the leader key at epoch 1/.test(output)) {
    if (Date.now() > deadline || demo.exitCode !== null)
      throw new Error(`the demo did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  for (const m of output.matchAll(/^region (\S+): Kubernetes API \S+, kubeconfig (\S+), coordination etcd/gm))
    kubeOf[m[1]!] = ['--kubeconfig', m[2]!, '-n', 'hana'];
  control = JSON.parse(readFileSync(join(stateDir, 'demo.json'), 'utf8')) as DemoFile;
}, 120_000);

afterAll(async () => {
  if (demo && demo.exitCode === null) {
    const exited = new Promise((r) => demo!.once('exit', r));
    demo.kill('SIGINT');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    if (demo.exitCode === null) demo.kill('SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('hanasr demo examples/hsr-dr.yaml (two regions)', () => {
  it('runs a Kubernetes API and an etcd per region; the DR link and its lag show in both', async () => {
    expect(Object.keys(kubeOf).sort()).toEqual(['eu-north', 'eu-west']);
    const etcds = [...output.matchAll(/^region \S+: .*coordination etcd (127\.0\.0\.1:\d+)/gm)].map(
      (m) => m[1],
    );
    expect(new Set(etcds).size).toBe(2);
    // The screen's table: C replicates async from A (the DR link) with its lag.
    await until(
      'the summary shows C async',
      async () => output,
      (o) => /\| C +secondary +running +async\/ACTIVE +\S+ +\d+\.\ds/.test(o),
    );
    // eu-north's operator reports the region record it adopted and what a disaster takeover would lose.
    const north = await until(
      "eu-north's status.region with the expected loss for C",
      () => resource('eu-north'),
      (o) => (o.status?.region?.['expectedLoss'] as unknown[] | undefined)?.length === 1,
    );
    expect(north.status!.region).toMatchObject({ generation: 1, active: 'eu-west' });
    const west = await resource('eu-west');
    expect(west.status?.['currentPrimary']).toBe('A');
  }, 60_000);

  it('loss of the primary site A: B takes over in eu-west, C follows B, nothing in eu-north promoted', async () => {
    await until('settled', state, (s) => s.settled);
    await fault('crash-node', 'A');
    const s = await until('B leads and writes', state, (x) => x.leader === 'B' && x.writable.includes('B'));
    expect(s.writable).toEqual(['B']);
    await until(
      'C registered with B',
      async () => output,
      (o) => /C +action: registered C as secondary of B/.test(o),
    );
    expect((await state()).writable).toEqual(['B']);
  }, 60_000);

  it('loss of eu-west: no automatic promotion; the disaster takeover reports the loss and promotes C', async () => {
    await fault('region-down', 'B');
    // Nothing automatic: C stays a secondary while nobody asks.
    await new Promise((r) => setTimeout(r, 2000));
    const before = await state().catch(() => null);
    expect(before?.writable ?? []).not.toContain('C');
    const t = await runCli([
      'takeover',
      'ha1',
      '--to',
      'C',
      '--disaster',
      '--confirm',
      'ha1',
      ...kubeOf['eu-north']!,
    ]);
    expect(t.code, t.stdout + t.stderr).toBe(0);
    expect(t.stderr).toMatch(/expected data loss/);
    const after = await until(
      'C leads and writes',
      state,
      (x) => x.leader === 'C' && x.writable.includes('C'),
    );
    expect(after.writable).toEqual(['C']);
    const north = await resource('eu-north');
    expect(north.status!.region).toMatchObject({ generation: 2, active: 'eu-north', by: 'disaster' });
    expect(output).toMatch(/\[eu-north\] Event \S+ DisasterTakeover/);
    // The screen's summary (every 10 s) names eu-north the active region.
    await until(
      'the screen shows eu-north active',
      async () => output,
      (o) => /region eu-north \(active\)/.test(o),
      15_000,
    );
  }, 60_000);
});
