/**
 * Running the built `hanasr` CLI as a child process against the fake Kubernetes API server:
 * build once when dist is older than src, spawn with a clean environment, seed resources whose
 * status is set through the /status subresource.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { parse } from 'yaml';
import { startFakeApiServer, type FakeApiServer } from '../../src/standins/kube-api/index.js';
import { crdModel } from '../kube/fakeapi/support.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MAIN = join(ROOT, 'dist/cli/main.js');
const CRD_PATH = join(ROOT, 'charts/hanasr/crds/hanasr.io_hanasystemreplications.yaml');
const LOCK = join(tmpdir(), 'hanasr-cli-test-build.lock');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Builds dist with tsconfig.build.json when it is older than src (one builder at a time). */
export function ensureBuilt(): void {
  const fresh = () => existsSync(MAIN) && statSync(MAIN).mtimeMs >= newestMtime(join(ROOT, 'src'));
  if (fresh()) return;
  for (let waited = 0; ; waited += 100) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      if (waited > 120_000) rmSync(LOCK, { recursive: true, force: true });
      sleepSync(100);
    }
  }
  try {
    if (fresh()) return;
    // tsc emits even when files outside the CLI have type errors; main.js must come out fresh.
    spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
      {
        cwd: ROOT,
        stdio: 'ignore',
        timeout: 120_000,
      },
    );
    if (!existsSync(MAIN)) throw new Error('the build did not produce dist/cli/main.js');
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Written to stdin, which is then closed. */
  readonly input?: string;
  readonly env?: Record<string, string>;
  /** The script to run (default dist/cli/main.js). */
  readonly script?: string;
}

/** Runs the built CLI; HOME points at an empty directory so no ~/.kube/config leaks in. */
export function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  const home = mkdtempSync(join(tmpdir(), 'hanasr-cli-home-'));
  const env: Record<string, string> = { PATH: process.env['PATH'] ?? '', HOME: home, ...options.env };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [options.script ?? MAIN, ...args], { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // A guard against a hung child, not a timing assertion.
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      rmSync(home, { recursive: true, force: true });
      resolve({ code, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

export const NS = 'hana';

export interface Landscape {
  readonly server: FakeApiServer;
  readonly kubeconfig: string;
  readonly dir: string;
  readonly custom: CustomObjectsApi;
  readonly core: CoreV1Api;
  /** `--kubeconfig PATH -n hana` */
  readonly kubeArgs: string[];
  close(): Promise<void>;
}

/** A fake API server with the generated CRD, namespace `hana` and a kubeconfig file. */
export async function startLandscape(): Promise<Landscape> {
  const server = await startFakeApiServer();
  const kc = server.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: NS } } });
  await kc
    .makeApiClient(ApiextensionsV1Api)
    .createCustomResourceDefinition({ body: crdModel(parse(readFileSync(CRD_PATH, 'utf8'))) });
  const dir = mkdtempSync(join(tmpdir(), 'hanasr-cli-'));
  const kubeconfig = join(dir, 'kubeconfig');
  server.writeKubeconfig(kubeconfig);
  return {
    server,
    kubeconfig,
    dir,
    custom: kc.makeApiClient(CustomObjectsApi),
    core,
    kubeArgs: ['--kubeconfig', kubeconfig, '-n', NS],
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const ref = (namespace = NS) => ({
  group: 'hanasr.io',
  version: 'v1alpha1',
  plural: 'hanasystemreplications',
  namespace,
});

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export const T0 = '2024-05-01T10:00:00Z';

/** Status of a healthy two-site landscape: A primary, B in sync; one past takeover B -> A. */
export function healthyStatus(over: Obj = {}): Obj {
  return {
    observedGeneration: 1,
    currentPrimary: 'A',
    targetPrimary: 'A',
    epoch: 3,
    sites: [
      {
        name: 'A',
        role: 'primary',
        hanaStatus: 'running',
        landscapeStatus: 'OK',
        replicationStatus: 'ACTIVE',
        lastReportTime: T0,
        watchdog: {
          mode: 'automatic',
          state: 'armed',
          usable: true,
          timeoutSeconds: 5,
          reason: 'watchdog_usable',
          message: 'watchdog /dev/watchdog usable (timeout 5 s)',
        },
      },
      {
        name: 'B',
        role: 'secondary',
        hanaStatus: 'running',
        landscapeStatus: 'OK',
        replicationMode: 'sync',
        replicationStatus: 'ACTIVE',
        inSync: true,
        lagSeconds: 0.2,
        lagBytes: 4096,
        lastReportTime: T0,
        watchdog: {
          mode: 'required',
          state: 'disarmed',
          usable: false,
          timeoutSeconds: 30,
          reason: 'watchdog_timeout_too_long',
          message: 'watchdog timeout 30 s exceeds the lease TTL 10 s minus the margin 3 s',
        },
        nodeFence: {
          action: 'off',
          result: 'confirmed',
          by: 'A',
          epoch: 2,
          time: '2024-04-30T07:59:50Z',
          message: 'fence_ipmilan: Success: Powered OFF',
        },
      },
    ],
    lastTakeover: {
      time: '2024-04-30T08:00:00Z',
      from: 'B',
      to: 'A',
      reason: 'PlannedTakeover',
      durationSeconds: 14.5,
      outcome: 'succeeded',
      epoch: 3,
    },
    takeoverHistory: [
      {
        time: '2024-04-20T08:00:00Z',
        from: 'A',
        to: 'B',
        reason: 'PrimaryFailed',
        durationSeconds: 31,
        outcome: 'succeeded',
        epoch: 2,
      },
      {
        time: '2024-04-30T08:00:00Z',
        from: 'B',
        to: 'A',
        reason: 'PlannedTakeover',
        durationSeconds: 14.5,
        outcome: 'succeeded',
        epoch: 3,
      },
    ],
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'PrimaryAvailable',
        message: 'A is primary and writable',
        lastTransitionTime: T0,
      },
      {
        type: 'ReplicationHealthy',
        status: 'True',
        reason: 'AllSecondariesInSync',
        message: 'every secondary is in sync',
        lastTransitionTime: T0,
      },
    ],
    ...over,
  };
}

/** Creates a HanaSystemReplication `name` (sites A and B) and sets its status via /status. */
export async function createCluster(
  l: Landscape,
  name: string,
  status: Obj | null = healthyStatus(),
  spec: Obj = {},
  namespace = NS,
): Promise<void> {
  await l.custom.createNamespacedCustomObject({
    ...ref(namespace),
    body: {
      apiVersion: 'hanasr.io/v1alpha1',
      kind: 'HanaSystemReplication',
      metadata: { name, namespace },
      spec: {
        sid: 'HA1',
        instanceNumber: '00',
        sites: [
          { name: 'A', host: 'hana-a' },
          { name: 'B', host: 'hana-b' },
        ],
        ...spec,
      },
    },
  });
  if (status !== null) await patchStatus(l, name, status, namespace);
}

export async function patchStatus(l: Landscape, name: string, status: Obj, namespace = NS): Promise<void> {
  await l.custom.patchNamespacedCustomObjectStatus({ ...ref(namespace), name, body: { status } }, merge);
}

export async function getCluster(l: Landscape, name: string, namespace = NS): Promise<Obj> {
  return (await l.custom.getNamespacedCustomObject({ ...ref(namespace), name })) as Obj;
}

/** Polls until `check` holds on the resource (a deadline, not a timing assertion). */
export async function until(
  l: Landscape,
  name: string,
  check: (o: Obj) => boolean,
  ms = 15_000,
): Promise<Obj> {
  const deadline = Date.now() + ms;
  for (;;) {
    const o = await getCluster(l, name);
    if (check(o)) return o;
    if (Date.now() > deadline) throw new Error(`not reached in time: ${JSON.stringify(o['metadata'])}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
