/**
 * Test harness: real etcd members (Debian's `etcd-server`, /usr/bin/etcd) on free loopback ports,
 * data on a tmpfs, one or three members. Every process started here is killed and every data
 * directory removed by `stop()`, and also when the test process exits (safety net).
 *
 * Never mocks: if the binary is missing, starting a cluster throws with the install instruction.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

const HOST = '127.0.0.1';

/** Finds the etcd binary (/usr/bin/etcd, then PATH) or throws with the install instruction. */
export function etcdBinary(): string {
  const candidates = [
    '/usr/bin/etcd',
    ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'etcd')),
  ];
  for (const candidate of candidates) {
    if (candidate && existsSync(candidate)) return candidate;
  }
  throw new Error(
    'etcd is not installed: the coordination tests need a real etcd 3.4 server. ' +
      'Install it with `sudo apt-get install etcd-server` (Debian/Ubuntu), or put an `etcd` binary on PATH.',
  );
}

/** A free TCP port on 127.0.0.1 (the kernel picks it; another process may take it before us). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

function tmpfsRoot(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : (process.env.TMPDIR ?? '/tmp');
}

const live = new Set<ChildProcess>();
const dirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
}

export interface EtcdMemberOptions {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  readonly initialCluster: string;
  readonly clusterToken: string;
  /** The backend quota (default 64 MB: tests write little, and tmpfs is memory). */
  readonly quotaBackendBytes?: number | undefined;
  /**
   * etcd's periodic auto-compaction retention (e.g. `1m`); none by default. Without compaction
   * every write stays in the backend until the quota is reached and etcd refuses writes (NOSPACE):
   * a long bench writing many reports needs it.
   */
  readonly autoCompactionRetention?: string | undefined;
}

export class EtcdMember {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private output = '';

  constructor(readonly options: EtcdMemberOptions) {}

  get name(): string {
    return this.options.name;
  }

  get endpoint(): string {
    return `http://${HOST}:${this.options.clientPort}`;
  }

  get peerUrl(): string {
    return `http://${HOST}:${this.options.peerPort}`;
  }

  /** PID of the running process, or null. */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** The last lines etcd printed (for failure messages). */
  log(): string {
    return this.output.split('\n').slice(-20).join('\n');
  }

  /** Starts the process (again, with the same data directory and ports after a stop/kill). */
  start(): void {
    if (this.child) return;
    installExitHook();
    const o = this.options;
    const child = spawn(
      etcdBinary(),
      [
        '--name',
        o.name,
        '--data-dir',
        o.dataDir,
        '--listen-client-urls',
        this.endpoint,
        '--advertise-client-urls',
        this.endpoint,
        '--listen-peer-urls',
        this.peerUrl,
        '--initial-advertise-peer-urls',
        this.peerUrl,
        '--initial-cluster',
        o.initialCluster,
        '--initial-cluster-token',
        o.clusterToken,
        '--initial-cluster-state',
        'new',
        '--heartbeat-interval',
        '50',
        '--election-timeout',
        '250',
        '--quota-backend-bytes',
        String(o.quotaBackendBytes ?? 64 * 1024 * 1024),
        ...(o.autoCompactionRetention !== undefined
          ? ['--auto-compaction-mode', 'periodic', '--auto-compaction-retention', o.autoCompactionRetention]
          : []),
        '--log-level',
        'warn',
        '--logger',
        'zap',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    live.add(child);
    this.child = child;
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', () => {
        live.delete(child);
        if (this.child === child) this.child = null;
        resolve();
      });
    });
  }

  /** SIGKILL: the member vanishes without a goodbye (crash, power loss). */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** SIGTERM, then SIGKILL if it has not exited after 3 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGSTOP / SIGCONT: a frozen member (slow disk, GC pause) that keeps its sockets open. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGCONT');
    child.kill(sig);
    await this.exited;
  }

  /** Whether the member answers /health with health=true (it sees a raft leader). */
  healthy(timeoutMs = 500): Promise<boolean> {
    return new Promise((resolve) => {
      const req = get(`${this.endpoint}/health`, { timeout: timeoutMs }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(res.statusCode === 200 && /"health"\s*:\s*"true"/.test(body)));
        res.on('error', () => resolve(false));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
    });
  }
}

export interface EtcdClusterOptions {
  /** 1 or 3 members (default 1). */
  readonly members?: number;
  /** How long to wait for a healthy cluster (default 15 s). */
  readonly startTimeoutMs?: number;
  /** Per member (EtcdMemberOptions). */
  readonly quotaBackendBytes?: number;
  readonly autoCompactionRetention?: string;
}

export class EtcdCluster {
  private constructor(
    readonly members: readonly EtcdMember[],
    private readonly root: string,
  ) {}

  /** Starts a fresh cluster and waits until every member reports healthy. */
  static async start(options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
    const count = options.members ?? 1;
    etcdBinary();
    let lastError: unknown;
    // Ports come from the kernel and may be taken by someone else before etcd binds them: retry.
    for (let attempt = 0; attempt < 3; attempt++) {
      const root = mkdtempSync(join(tmpfsRoot(), 'hanasr-etcd-'));
      dirs.add(root);
      const ports: { client: number; peer: number }[] = [];
      for (let i = 0; i < count; i++) ports.push({ client: await freePort(), peer: await freePort() });
      const names = ports.map((_, i) => `m${i}`);
      const initialCluster = ports.map((p, i) => `${names[i]}=http://${HOST}:${p.peer}`).join(',');
      const token = `hanasr-test-${process.pid}-${Date.now()}-${attempt}`;
      const members = ports.map(
        (p, i) =>
          new EtcdMember({
            name: names[i]!,
            clientPort: p.client,
            peerPort: p.peer,
            dataDir: join(root, names[i]!),
            initialCluster,
            clusterToken: token,
            quotaBackendBytes: options.quotaBackendBytes,
            autoCompactionRetention: options.autoCompactionRetention,
          }),
      );
      const cluster = new EtcdCluster(members, root);
      try {
        for (const m of members) m.start();
        await cluster.waitHealthy(options.startTimeoutMs ?? 15_000);
        return cluster;
      } catch (err) {
        lastError = err;
        await cluster.stop();
      }
    }
    throw lastError instanceof Error ? lastError : new Error(String(lastError));
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.endpoint);
  }

  member(i: number): EtcdMember {
    const m = this.members[i];
    if (!m) throw new Error(`no member ${i}`);
    return m;
  }

  /** Waits until every running member reports healthy (a leader exists). */
  async waitHealthy(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const running = this.members.filter((m) => m.running);
      if (running.length === 0) throw new Error('no etcd member is running');
      const states = await Promise.all(running.map((m) => m.healthy()));
      if (states.every(Boolean)) return;
      if (Date.now() > deadline) {
        const logs = running.map((m) => `--- ${m.name} ---\n${m.log()}`).join('\n');
        throw new Error(`etcd cluster not healthy after ${timeoutMs} ms\n${logs}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Kills every member and removes the data directories. Safe to call twice. */
  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.kill()));
    rmSync(this.root, { recursive: true, force: true });
    dirs.delete(this.root);
  }
}

/** PIDs of etcd processes this test process started and that still run (for leak checks). */
export function liveEtcdPids(): number[] {
  return [...live].map((c) => c.pid).filter((pid): pid is number => pid !== undefined);
}

/** Whether a process with that PID still exists (0-signal probe). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** etcd's version line, for bench output. */
export function etcdVersion(): string {
  const out = spawnSync(etcdBinary(), ['--version'], { encoding: 'utf8' });
  return (out.stdout.split('\n')[0] ?? '').trim();
}
