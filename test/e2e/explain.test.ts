/**
 * `hanasr explain` against a running demo, as a DBA runs it: the built CLI in its own process,
 * the live state read from the demo's real etcd (or, on the in-memory store, through the demo's
 * control endpoint). The replayed decisions must be the agents' own; --what-if must predict from
 * the live state (an SFAIL secondary changes the answer).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControl } from '../../src/demo/control.js';
import { startDemo, type Demo } from '../../src/demo/landscape.js';
import type { ClusterExplanation } from '../../src/cli/commands/explain.js';

const root = join(import.meta.dirname, '../..');
const cli = join(root, 'dist/cli/main.js');
const work = mkdtempSync(join(tmpdir(), 'hanasr-explain-'));
const stops: (() => Promise<void>)[] = [];

/** A short-timed landscape: a secondary goes SFAIL 12 s after its link is cut. */
const manifest = {
  apiVersion: 'hanasr.io/v1alpha1',
  kind: 'HanaSystemReplication',
  metadata: { name: 'ha1', namespace: 'hana' },
  spec: {
    sid: 'HA1',
    instanceNumber: '00',
    sites: [
      { name: 'A', host: 'hana-a' },
      { name: 'B', host: 'hana-b' },
    ],
    replication: { logShippingTimeoutSeconds: 12 },
    takeover: { automatedRegister: true, failureThreshold: 2 },
    probes: { intervalSeconds: 1, timeoutSeconds: 1 },
    lease: { ttlSeconds: 4 },
  },
};

async function landscape(dir: string, coordination: 'etcd' | 'memory'): Promise<Demo> {
  const demo = await startDemo({ manifest, stateDir: dir, coordination, startSeconds: 3 });
  const stopControl = await startControl(demo, dir);
  stops.push(async () => {
    await stopControl();
    await demo.stop();
  });
  return demo;
}

/** The built CLI, without blocking this process (the demo runs in it). */
function explain(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, 'explain', ...args], { cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

async function explainJson(...args: string[]): Promise<ClusterExplanation> {
  const r = await explain(...args, '-o', 'json');
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as ClusterExplanation;
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

beforeAll(() => {
  // `npm test` builds first; a direct vitest run on a fresh clone builds here.
  if (existsSync(cli)) return;
  const built = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' });
  expect(built.status, built.stdout + built.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  rmSync(work, { recursive: true, force: true });
});

describe('hanasr explain on a running demo (real etcd)', () => {
  const dir = join(work, 'etcd');
  let demo: Demo;

  beforeAll(async () => {
    demo = await landscape(dir, 'etcd');
  }, 60_000);

  it('replays each agent’s decision from the published state, with the inputs that mattered', async () => {
    // Both agents reported a decision, and the primary confirmed B in sync.
    const e = await until('both agents settled', 30_000, async () => {
      const x = await explainJson('ha1', '-n', 'hana', '--state-dir', dir);
      // A report carries the decision of the cycle before it: wait for the steady ones.
      const [a, b] = x.sites;
      return a?.agentDecision?.reason === 'leader_healthy' && b?.agentDecision?.reason === 'secondary_healthy'
        ? x
        : undefined;
    });
    expect(e.source).toMatch(/^etcd http:\/\/127\.0\.0\.1:\d+ \(the demo's/);
    expect(e.leader).toMatchObject({ site: 'A', epoch: 1 });
    for (const site of e.sites) {
      expect(site.reported).toBe(true);
      // The replay is the agent's own decision: same action, same reason.
      expect(site.agrees, JSON.stringify(site)).toBe(true);
    }
    const [a, b] = e.sites;
    expect(a!.inputs!.leader).toMatch(/^this site holds the leader key at epoch 1/);
    expect(a!.inputs!.sync).toEqual([
      expect.objectContaining({ site: 'B', state: 'SOK', epoch: 1, currentTerm: true, trusted: true }),
    ]);
    expect(a!.inputs!.peers).toEqual(['B: reachable, secondary of A']);
    expect(b!.inputs!.peers).toEqual(['A: reachable, primary, writable']);
    // The leader's last-primary stamp, with the epoch it was taken in.
    expect(Object.keys(a!.inputs!.lpt)).toEqual(['A']);
    expect(a!.inputs!.lpe).toEqual({ A: 1 });
    expect(e.thresholds).toMatch(/failureThreshold 2, probes every 1s \(timeout 1s\), lease TTL 4s/);

    const text = await explain('ha1', '-n', 'hana', '--state-dir', dir, '--site', 'B');
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^B — as of its last cycle/m);
    expect(text.stdout).toMatch(/decides {3}none {2}\[secondary_healthy\]/);
    expect(text.stdout).toMatch(/sync {6}B: SOK at epoch 1 \(this term\)/);
    expect(text.stdout).toMatch(/lpt {7}A \S+ \(epoch 1\)/);
    expect(text.stdout).not.toMatch(/^A — /m);
  }, 60_000);

  it('--what-if crash-instance:primary predicts the takeover to the in-sync secondary', async () => {
    const e = await explainJson(
      'ha1',
      '-n',
      'hana',
      '--state-dir',
      dir,
      '--what-if',
      'crash-instance:primary',
      '--for',
      '60s',
    );
    const w = e.whatIf!;
    expect(w.start).toMatchObject({ primary: 'A', epoch: 1, notInSync: [], down: [], agentsSilent: [] });
    expect(w.timeline[0]).toMatchObject({ t: 0, site: 'A', event: 'fault:crash-instance' });
    expect(w.timeline.some((x) => x.site === 'B' && x.event === 'action:takeover')).toBe(true);
    expect(w.final).toMatchObject({ primary: 'B', epoch: 2 });
    expect(w.takeovers).toBe(1);
    expect(w.lostCommittedWrites).toBe(0);
    // The prediction changes nothing on the live landscape.
    expect((await demo.state())?.leader).toMatchObject({ site: 'A', epoch: 1 });
  }, 60_000);

  it('with the secondary SFAIL live, --what-if crash-instance:A predicts a local restart, no takeover', async () => {
    await demo.target.model.blockReplication('B');
    // The primary commits alone after logshipping_timeout (12 s) and records B as SFAIL.
    await until('B recorded SFAIL', 40_000, async () => {
      const x = await explainJson('ha1', '-n', 'hana', '--state-dir', dir, '--site', 'A');
      return x.sites[0]?.inputs?.sync.find((s) => s.site === 'B' && s.state === 'SFAIL') ? x : undefined;
    });
    const text = await explain(
      'ha1',
      '-n',
      'hana',
      '--state-dir',
      dir,
      '--what-if',
      'crash-instance:A',
      '--for',
      '60s',
    );
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/B: SFAIL at epoch 1 \(this term\).* — not trusted: it was SFAIL/);
    expect(text.stdout).toMatch(
      /What if crash-instance:A struck now\? Simulated from the live state \(primary A at epoch 1; not in sync: B\)/,
    );
    expect(text.stdout).toMatch(/A {4}decision:start-local .*no secondary is in sync/);
    expect(text.stdout).not.toMatch(/action:takeover/);
    expect(text.stdout).toMatch(/^Predicted: primary A at epoch 1, 0 takeover\(s\)/m);
    demo.target.model.unblockReplication('B');
  }, 90_000);

  it('exits 4 for an unknown cluster and 2 for a bad --what-if or --site', async () => {
    const missing = await explain('nope', '-n', 'hana', '--state-dir', dir);
    expect(missing.status).toBe(4);
    expect(missing.stderr).toMatch(/no published state for hana\/nope/);
    const bad = await explain('ha1', '-n', 'hana', '--state-dir', dir, '--what-if', 'explode:A');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown fault "explode"/);
    const site = await explain('ha1', '-n', 'hana', '--state-dir', dir, '--what-if', 'crash-instance:Q');
    expect(site.status).toBe(2);
    expect(site.stderr).toMatch(/unknown site "Q"/);
    const only = await explain('ha1', '-n', 'hana', '--state-dir', dir, '--site', 'Q');
    expect(only.status).toBe(2);
  }, 60_000);
});

describe('hanasr explain without a store', () => {
  it('exits 5 and says how to name one', async () => {
    const r = await explain('ha1', '-n', 'hana', '--state-dir', join(work, 'none'));
    expect(r.status).toBe(5);
    expect(r.stderr).toMatch(/no coordination store: pass --etcd-endpoints/);
  });

  it('exits 5 when the etcd endpoint does not answer, within the request timeout', async () => {
    const started = Date.now();
    const r = await explain(
      'ha1',
      '-n',
      'hana',
      '--etcd-endpoints',
      'http://127.0.0.1:9',
      '--request-timeout',
      '1s',
    );
    expect(r.status).toBe(5);
    expect(r.stderr).toMatch(/cannot read hana\.ha1 from etcd http:\/\/127\.0\.0\.1:9/);
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 40_000);
});

describe('hanasr explain on a demo with the in-memory store', () => {
  it('reads the published state through the demo control endpoint', async () => {
    const dir = join(work, 'memory');
    await landscape(dir, 'memory');
    const e = await until('both agents reported', 30_000, async () => {
      const x = await explainJson('ha1', '-n', 'hana', '--state-dir', dir);
      return x.sites[0]?.agentDecision?.reason === 'leader_healthy' &&
        x.sites[1]?.agentDecision?.reason === 'secondary_healthy'
        ? x
        : undefined;
    });
    expect(e.source).toMatch(/^the demo's in-memory store/);
    expect(e.sites.map((s) => s.decision?.reason)).toEqual(['leader_healthy', 'secondary_healthy']);
    expect(e.sites.every((s) => s.agrees)).toBe(true);
  }, 60_000);
});
