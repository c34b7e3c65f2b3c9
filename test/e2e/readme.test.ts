/**
 * The README's promise, kept the way a newcomer would check it: a fresh clone, the README's own
 * first command (`npm ci && npm start`), real processes; the landscape comes up, kubectl sees the
 * cluster, the tour's commands run in the README's order (a planned takeover, then the
 * unplanned-failure scenario, which passes), and Ctrl-C leaves nothing running.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toolPath } from '../../scripts/tools.js';

const root = join(import.meta.dirname, '../..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** The commands of the first ```sh block after a heading. */
function commandsUnder(heading: string): string[] {
  const at = readme.indexOf(heading);
  expect(at, `README has "${heading}"`).toBeGreaterThanOrEqual(0);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  expect(block, `a sh block under "${heading}"`).not.toBeNull();
  return block![1]!
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l.length > 0);
}

/** Every command of the sh blocks of the five-minute tour, in order. */
function tourCommands(): string[] {
  const at = readme.indexOf('## A five-minute tour');
  expect(at, 'README has the tour').toBeGreaterThanOrEqual(0);
  const end = readme.indexOf('\n## ', at + 1);
  const tour = readme.slice(at, end < 0 ? undefined : end);
  return [...tour.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) =>
    m[1]!
      .split('\n')
      .map((l) => l.replace(/\s+#.*$/, '').trim())
      .filter((l) => l.length > 0),
  );
}

const work = mkdtempSync(join(tmpdir(), 'hanasr-readme-'));
const clone = join(work, 'hanasr');
const tmp = join(work, 'tmp');
// The child runs on the same Node.js as this test (Node 20 or 24 in CI).
const env = {
  ...process.env,
  PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
  TMPDIR: tmp,
  npm_config_prefer_offline: 'true',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  CI: 'true',
};
let running: ChildProcess | null = null;

/**
 * The fresh-clone test's time, step by step: every step's bound is cut to what is left of the
 * test's budget, so a slow or hung step fails naming itself (and the steps before it, with their
 * times) instead of the whole test timing out without a word.
 */
const BUDGET_MS = 840_000; // the test itself times out at 900 s
const steps: string[] = [];
let testStart = 0;
function stepBound(stepMaxMs: number): number {
  return Math.max(1_000, Math.min(stepMaxMs, testStart + BUDGET_MS - Date.now()));
}
function stepDone(what: string, since: number): void {
  steps.push(`${((Date.now() - since) / 1000).toFixed(1)} s  ${what}`);
}
const stepsSoFar = () => `steps so far:\n${steps.join('\n')}`;

afterAll(() => {
  if (running?.pid && running.exitCode === null) process.kill(-running.pid, 'SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

/** Runs a command without blocking this process (the landscape's pipes keep draining). */
function run(
  command: string,
  args: string[],
  timeoutMs: number,
  runEnv: NodeJS.ProcessEnv = env,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: clone, env: runEnv });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

function waitFor(
  child: ChildProcess,
  pattern: RegExp,
  ms: number,
  output: { text: string },
): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no ${pattern} within ${ms} ms; output:\n${output.text.slice(-3000)}`)),
      ms,
    );
    const check = () => {
      const m = pattern.exec(output.text);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout?.on('data', check);
    child.on('exit', () => {
      const m = pattern.exec(output.text);
      if (m) return resolve(m);
      clearTimeout(timer);
      reject(new Error(`exited (${child.exitCode}) before ${pattern}; output:\n${output.text.slice(-3000)}`));
    });
    check();
  });
}

describe('README', () => {
  const [startCommand, testCommand] = commandsUnder('## Two commands');

  it('gives two commands: start the landscape, run the tests; CI runs the test command', () => {
    expect(startCommand).toBe('npm ci && npm start');
    expect(testCommand).toBe('npm test');
    expect(readFileSync(join(root, '.ci/run'), 'utf8')).toContain(`\n${testCommand}\n`);
  });

  it('npm ci && npm start on a fresh clone brings the landscape up; Ctrl-C stops everything', async () => {
    const cloned = spawnSync('git', ['clone', '--quiet', root, clone], { encoding: 'utf8' });
    expect(cloned.status, cloned.stderr).toBe(0);
    spawnSync('mkdir', ['-p', tmp]);
    const output = { text: '' };
    const child = spawn('bash', ['-c', startCommand!], { cwd: clone, env, detached: true });
    running = child;
    child.stdout.on('data', (d: Buffer) => (output.text += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output.text += d.toString()));

    testStart = Date.now();
    let t = Date.now();
    const [, kubeconfig] = await waitFor(child, /^kubeconfig (\S+)$/m, stepBound(300_000), output).catch(
      (err: Error) => {
        throw new Error(`${err.message}\n${stepsSoFar()}`);
      },
    );
    stepDone('npm ci && npm start: the landscape printed its kubeconfig', t);
    expect(output.text).toMatch(/^coordination (etcd|in-memory)/m);
    t = Date.now();
    await waitFor(child, /acquired the leader key at epoch 1/, stepBound(60_000), output);
    stepDone('A acquired the leader key', t);

    // The real kubectl (1.35, from the npm package the tests extract) against the embedded API.
    let primary = '';
    t = Date.now();
    for (let i = 0; i < 60 && primary !== 'A'; i++) {
      const got = spawnSync(
        toolPath('kubectl'),
        ['--kubeconfig', kubeconfig!, 'get', 'hsr', 'ha1', '-n', 'hana', '-o', 'json'],
        {
          encoding: 'utf8',
          env: { ...env, HOME: work },
          timeout: 20_000,
        },
      );
      expect(got.status, got.stderr).toBe(0);
      primary =
        (JSON.parse(got.stdout) as { status?: { currentPrimary?: string } }).status?.currentPrimary ?? '';
      if (primary !== 'A') await new Promise((r) => setTimeout(r, 500));
    }
    stepDone('kubectl get hsr shows primary A', t);
    expect(primary, stepsSoFar()).toBe('A');

    // The tour, played in order from a second terminal: every command of its sh blocks, as
    // written (the kubeconfig path is the one the landscape printed).
    const tourEnv: NodeJS.ProcessEnv = { ...env, HOME: work };
    const played: { command: string; stdout: string }[] = [];
    for (const line of tourCommands()) {
      const exported = /^export (\w+)=(\S+)$/.exec(line);
      if (exported) {
        tourEnv[exported[1]!] = exported[1] === 'KUBECONFIG' ? kubeconfig! : exported[2]!;
        continue;
      }
      const [command, ...args] = line.split(/\s+/);
      // Asynchronously: the landscape's own output must keep flowing meanwhile. kubectl is the
      // real one the tests extract (1.35), as above.
      t = Date.now();
      const r = await run(
        command === 'kubectl' ? toolPath('kubectl') : command!,
        args,
        stepBound(300_000),
        tourEnv,
      );
      stepDone(`${line} (exit ${r.status})`, t);
      expect(
        r.status,
        `${line}\n${r.stdout.slice(-3000)}${r.stderr}\n${stepsSoFar()}\nlandscape:\n${output.text.slice(-3000)}`,
      ).toBe(0);
      played.push({ command: line, stdout: r.stdout });
    }
    const out = (pattern: RegExp) => played.find((p) => pattern.test(p.command))?.stdout ?? '';
    expect(out(/^kubectl get hsr/)).toMatch(/ha1\s+A\b/);
    expect(out(/^npx hanasr explain ha1 -n hana$/)).toMatch(/^A — as of its last cycle/m);
    expect(out(/^npx hanasr explain ha1 -n hana$/)).toMatch(/decides {3}none {2}\[leader_healthy\]/);
    expect(out(/--what-if crash-instance:primary/)).toMatch(/^Predicted: primary B at epoch 2, 1 takeover/m);
    // Step 3, the planned takeover, then step 4, the unplanned one, starting from B.
    expect(played.findIndex((p) => /takeover ha1 --to B/.test(p.command))).toBeLessThan(
      played.findIndex((p) => /demo --scenario/.test(p.command)),
    );
    expect(out(/^npx hanasr history/)).toMatch(/\sA\s+B\s/);
    const scenario = out(/demo --scenario/);
    expect(scenario).toMatch(/against the running demo/);
    expect(scenario).toMatch(/starting with primary B, secondary A/);
    expect(scenario).toMatch(/scenario demo-takeover PASSED/);
    expect(scenario).toMatch(/ok {3}primary: expected "A" \(the secondary at the start\), got "A"/);
    expect(scenario).toMatch(/ok {3}lostCommittedWrites: expected 0, got 0/);
    expect(output.text).toMatch(/fault crash-instance on B \(the primary\) \(from hanasr demo --scenario\)/);
    // Step 5: the example application through one more unplanned takeover (A, primary again).
    const app = out(/examples\/app\/measure\.mjs/);
    expect(app).toMatch(/primary {15}A -> B/);
    expect(app).toMatch(/missing {15}0 of the orders the app was told are committed/);

    // Ctrl-C: everything it started stops.
    console.log(`README fresh clone, ${stepsSoFar()}`);
    process.kill(-child.pid!, 'SIGINT');
    await waitFor(child, /stopped; nothing left running/, 30_000, output);
    await new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
    running = null;
    const left = spawnSync('pgrep', ['-f', join(tmp, 'hanasr-demo')], { encoding: 'utf8' });
    expect(left.stdout.trim(), 'processes left behind').toBe('');
  }, 900_000);

  it('hanasr demo --scenario --standalone --exit runs a landscape of its own (in-memory store) and stops it', () => {
    const file = join(work, 'quiet.yaml');
    const text = readFileSync(join(root, 'examples/scenarios/demo-takeover.yaml'), 'utf8')
      .replace(/durationSeconds: \d+/, 'durationSeconds: 20')
      .replace(/faults:[\s\S]*?expect:/, 'faults: []\nexpect:')
      .replace(/^ {2}primary: secondary$/m, '  primary: primary')
      .replace(/takeovers: 1/, 'takeovers: 0');
    writeFileSync(file, text);
    // In memory: the path a machine without etcd takes.
    const played = spawnSync(
      'npx',
      ['hanasr', 'demo', '--scenario', file, '--standalone', '--exit', '--coordination', 'memory'],
      {
        cwd: clone,
        env,
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(played.status, played.stdout.slice(-3000) + played.stderr).toBe(0);
    expect(played.stdout).toMatch(/^coordination in-memory/m);
    expect(played.stdout).toMatch(/scenario demo-takeover PASSED/);
    expect(played.stdout).toMatch(/stopped; nothing left running/);
  }, 180_000);
});
