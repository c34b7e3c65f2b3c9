/**
 * A single local etcd member for the demo landscape, when the `etcd` binary is on PATH
 * (Debian: etcd-server). Loopback only, data in the demo's state directory, stopped with it.
 *
 * etcd runs under a small supervisor (a second Node.js process) that holds a pipe from the demo
 * on its stdin: when the pipe closes — the demo stopped, crashed or was killed with SIGKILL, when
 * no handler of the demo runs — the supervisor stops etcd (SIGTERM, then SIGKILL) and removes its
 * data directory. A killed demo leaves no etcd behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

export function findEtcd(): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'etcd');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function healthy(endpoint: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get(`${endpoint}/health`, { timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/**
 * The supervisor's program (run with `node -e`, so it needs no file of its own next to the
 * compiled code). Arguments: the etcd binary, its data directory, then etcd's arguments. It
 * prints `pid N` once etcd runs; it exits when etcd exits, with etcd's code.
 */
const SUPERVISOR = `
'use strict';
const { spawn } = require('node:child_process');
const { rmSync } = require('node:fs');
const [binary, dataDir, ...args] = process.argv.slice(1);
// Its own process group: a terminal's Ctrl-C reaches the demo and this supervisor, not etcd.
const etcd = spawn(binary, args, { stdio: ['ignore', 'ignore', 'inherit'], detached: true });
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  try { etcd.kill('SIGCONT'); etcd.kill('SIGTERM'); } catch {}
  setTimeout(() => { try { etcd.kill('SIGKILL'); } catch {} }, 3000).unref();
};
etcd.on('error', (err) => { process.stderr.write(String(err.message) + '\\n'); process.exit(1); });
etcd.on('spawn', () => process.stdout.write('pid ' + etcd.pid + '\\n'));
etcd.on('exit', (code) => {
  if (stopping) rmSync(dataDir, { recursive: true, force: true });
  process.exit(code === null ? (stopping ? 0 : 1) : code);
});
// The demo's end, whatever it was: the pipe closes.
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.on('error', stop);
process.stdin.resume();
// The demo decides when etcd stops (it closes the pipe after its agents let go of their leases).
process.on('SIGINT', () => {});
process.on('SIGTERM', stop);
process.on('SIGHUP', stop);
`;

export interface LocalEtcd {
  readonly endpoint: string;
  /** The etcd process (its supervisor is the demo's child). */
  readonly pid: number;
  /** Freezes the member (SIGSTOP): a store outage in which, as with a lost quorum, no lease expires. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

export async function startLocalEtcd(
  binary: string,
  dataDir: string,
  timeoutMs = 15_000,
): Promise<LocalEtcd> {
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const etcdArgs = [
    '--name=hanasr-demo',
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${endpoint}`,
    `--advertise-client-urls=${endpoint}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=hanasr-demo=${peer}`,
    '--heartbeat-interval=50',
    '--election-timeout=250',
    // Every agent cycle writes a report: without compaction the backend grows until etcd's quota
    // and then refuses every write (NOSPACE). Five minutes of history, as kube-apiserver keeps.
    '--auto-compaction-mode=periodic',
    '--auto-compaction-retention=5m',
    '--log-level=error',
  ];
  // The supervisor is in the demo's process group (a terminal's Ctrl-C reaches it; it ignores
  // SIGINT); its stdin is the pipe whose end stops etcd.
  const child: ChildProcess = spawn(process.execPath, ['-e', SUPERVISOR, binary, dataDir, ...etcdArgs], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  let pid = 0;
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    const m = /^pid (\d+)$/m.exec(out);
    if (m) pid = Number(m[1]);
  });
  // The demo never writes; the pipe only has to stay open while the demo lives.
  child.stdin?.on('error', () => {});
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const signal = (sig: NodeJS.Signals) => {
    if (pid > 0 && !exited()) {
      try {
        process.kill(pid, sig);
      } catch {
        // etcd is gone already
      }
    }
  };
  const pause = () => signal('SIGSTOP');
  const resume = () => signal('SIGCONT');
  const stop = async (): Promise<void> => {
    if (!exited()) {
      await new Promise<void>((resolve) => {
        const kill = setTimeout(() => {
          signal('SIGKILL');
          child.kill('SIGKILL');
        }, 5000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.stdin?.end();
      });
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited()) throw new Error(`etcd exited at start: ${stderr.trim().split('\n').pop() ?? ''}`);
    if (pid > 0 && (await healthy(endpoint, 500)))
      return {
        endpoint,
        get pid() {
          return pid;
        },
        pause,
        resume,
        stop,
      };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`etcd did not become healthy within ${timeoutMs} ms`);
}
