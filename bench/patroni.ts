/**
 * Patroni side by side: Debian's `patroni` (3.0.2) with PostgreSQL 15 against a real
 * three-member etcd, two nodes on loopback, killed the two ways hanasr's bench kills HANA:
 * a database crash (SIGKILL to the leader's postmaster, Patroni alive) and a node loss (Patroni
 * and PostgreSQL of the leader SIGKILLed). The figure is the time from the fault to the first
 * acknowledged INSERT on a primary (any node), polled with psql every 50 ms. Defaults (ttl 30,
 * loop_wait 10, retry_timeout 10) and tuned to hanasr's TTL (ttl 10, loop_wait 2, retry_timeout 4).
 * After a node loss also, as hanasr's bench splits its own: (a) the leader key on the other node
 * (a watch on Patroni's key in the same etcd) and (b) the promotion asked of PostgreSQL (its
 * "received promote request" log line, millisecond timestamps on this host's clock).
 *
 * The databases differ (PostgreSQL is not HANA: its crash recovery and promotion are not HANA's
 * takeover); only the HA manager's part is compared: (a) and (b). Patroni restarts a crashed
 * PostgreSQL in place rather than failing over, so its crash figure is a local restart.
 *
 * Needs `patroni` and `postgresql-15`: installs them with apt-get when run as root, else prints
 * the command. Run: npx tsx bench/patroni.ts [--runs 3] [--json FILE]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { stringify } from 'yaml';
import { EtcdCluster } from '../rigs/etcd.js';
import { freePort } from '../rigs/etcd.js';
import { pct, type Stat } from './lib/stats.js';

const PG_BIN = '/usr/lib/postgresql/15/bin';
export const PATRONI_INSTALL = 'sudo apt-get install -y --no-install-recommends patroni postgresql-15';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Installs patroni when root with apt-get; returns why not when it cannot. */
export function ensurePatroni(): string | null {
  const have = () => spawnSync('which', ['patroni']).status === 0 && existsSync(`${PG_BIN}/postgres`);
  if (have()) return null;
  if (process.getuid?.() === 0 && spawnSync('which', ['apt-get']).status === 0) {
    const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'patroni', 'postgresql-15'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (r.status === 0 && have()) return null;
  }
  return `patroni or PostgreSQL 15 missing: run \`${PATRONI_INSTALL}\``;
}

function postgresUser(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (line === undefined) throw new Error('no postgres user (install postgresql-15)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

export interface PatroniTiming {
  readonly ttl: number;
  readonly loop_wait: number;
  readonly retry_timeout: number;
}
export const PATRONI_DEFAULTS: PatroniTiming = { ttl: 30, loop_wait: 10, retry_timeout: 10 };
export const PATRONI_TUNED: PatroniTiming = { ttl: 10, loop_wait: 2, retry_timeout: 4 };

interface Node {
  readonly name: string;
  readonly pgPort: number;
  readonly apiPort: number;
  readonly dataDir: string;
  child: ChildProcess | null;
  exited: Promise<void>;
}

const NAMESPACE = '/patroni-bench/';

class PatroniCluster {
  private constructor(
    readonly dir: string,
    readonly scope: string,
    readonly nodes: Node[],
  ) {}

  /** Patroni's leader key in etcd (etcd3 DCS: namespace, scope, `leader`; the value is the node). */
  get leaderKey(): string {
    return `${NAMESPACE}${this.scope}/leader`;
  }

  /** PostgreSQL's log of a node (logging collector, one file). */
  logFile(node: Node): string {
    return path.join(this.dir, `${node.name}-log`, 'postgresql.log');
  }

  /**
   * When PostgreSQL on `node` was asked to promote (ms since the epoch; its log's %m stamp, UTC),
   * or undefined when its log has no such line.
   */
  promoteRequestedAt(node: Node): number | undefined {
    let text: string;
    try {
      text = readFileSync(this.logFile(node), 'utf8');
    } catch {
      return undefined;
    }
    const line = text.split('\n').find((l) => l.includes('received promote request'));
    const m = line?.match(/^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3}) UTC/);
    return m ? Date.parse(`${m[1]}T${m[2]}Z`) : undefined;
  }

  static async start(etcd: EtcdCluster, scope: string, timing: PatroniTiming): Promise<PatroniCluster> {
    const pg = postgresUser();
    const dir = mkdtempSync(path.join(tmpdir(), 'patroni-bench-'));
    chownSync(dir, pg.uid, pg.gid);
    const nodes: Node[] = [];
    for (const name of ['p1', 'p2']) {
      const node: Node = {
        name,
        pgPort: await freePort(),
        apiPort: await freePort(),
        dataDir: path.join(dir, name),
        child: null,
        exited: Promise.resolve(),
      };
      const config = {
        scope,
        namespace: NAMESPACE,
        name,
        restapi: { listen: `127.0.0.1:${node.apiPort}`, connect_address: `127.0.0.1:${node.apiPort}` },
        etcd3: { hosts: etcd.endpoints.map((e) => e.replace(/^https?:\/\//, '')) },
        bootstrap: {
          dcs: { ...timing, maximum_lag_on_failover: 1048576, postgresql: { use_pg_rewind: false } },
          initdb: [{ encoding: 'UTF8' }],
          pg_hba: ['host replication replicator 127.0.0.1/32 trust', 'host all all 127.0.0.1/32 trust'],
        },
        postgresql: {
          listen: `127.0.0.1:${node.pgPort}`,
          connect_address: `127.0.0.1:${node.pgPort}`,
          data_dir: node.dataDir,
          bin_dir: PG_BIN,
          pgpass: path.join(dir, `${name}.pgpass`),
          authentication: {
            replication: { username: 'replicator', password: 'rep-pass-1234' },
            superuser: { username: 'postgres', password: 'pg-pass-1234' },
          },
          parameters: {
            unix_socket_directories: dir,
            shared_buffers: '16MB',
            max_connections: 20,
            logging_collector: 'on',
            log_directory: path.join(dir, `${name}-log`),
            log_filename: 'postgresql.log',
            log_line_prefix: '%m ',
            log_timezone: 'UTC',
          },
        },
      };
      const file = path.join(dir, `${name}.yml`);
      writeFileSync(file, stringify(config));
      chownSync(file, pg.uid, pg.gid);
      nodes.push(node);
    }
    const cluster = new PatroniCluster(dir, scope, nodes);
    cluster.launch(nodes[0]!);
    await cluster.until(
      'a primary',
      async () => ((await cluster.primary()) !== null ? true : undefined),
      60_000,
    );
    cluster.launch(nodes[1]!);
    await cluster.until(
      'the replica streaming',
      async () => ((await cluster.replicaRunning(nodes[1]!)) ? true : undefined),
      60_000,
    );
    return cluster;
  }

  private launch(node: Node): void {
    const pg = postgresUser();
    const child = spawn('patroni', [path.join(this.dir, `${node.name}.yml`)], {
      uid: pg.uid,
      gid: pg.gid,
      cwd: this.dir,
      stdio: ['ignore', 'ignore', 'ignore'],
      detached: true,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: this.dir },
    });
    node.child = child;
    node.exited = new Promise((r) => child.once('exit', () => r()));
  }

  async until<T>(what: string, fn: () => Promise<T | undefined>, ms: number): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`patroni: timed out waiting for ${what}`);
      await sleep(100);
    }
  }

  private async role(node: Node): Promise<{ role?: string; state?: string } | null> {
    try {
      const res = await fetch(`http://127.0.0.1:${node.apiPort}/patroni`, {
        signal: AbortSignal.timeout(1000),
      });
      return (await res.json()) as { role?: string; state?: string };
    } catch {
      return null;
    }
  }

  async primary(): Promise<Node | null> {
    for (const n of this.nodes) {
      const r = await this.role(n);
      if ((r?.role === 'master' || r?.role === 'primary') && r.state === 'running') return n;
    }
    return null;
  }

  async replicaRunning(node: Node): Promise<boolean> {
    const r = await this.role(node);
    return (r?.role === 'replica' || r?.role === 'standby') && r.state === 'running';
  }

  /** One INSERT on a node through psql (deadline 1 s); true when acknowledged. */
  write(node: Node): Promise<boolean> {
    return new Promise((resolve) => {
      const p = spawn(
        `${PG_BIN}/psql`,
        [
          '-X',
          '-q',
          '-h',
          '127.0.0.1',
          '-p',
          String(node.pgPort),
          '-U',
          'postgres',
          '-d',
          'postgres',
          '-v',
          'ON_ERROR_STOP=1',
          '-c',
          'CREATE TABLE IF NOT EXISTS bench (at bigint); INSERT INTO bench VALUES (1)',
        ],
        {
          stdio: 'ignore',
          env: {
            PATH: process.env['PATH'] ?? '/usr/bin',
            PGCONNECT_TIMEOUT: '1',
            PGPASSWORD: 'pg-pass-1234',
          },
        },
      );
      const t = setTimeout(() => p.kill('SIGKILL'), 1000);
      p.once('exit', (code) => {
        clearTimeout(t);
        resolve(code === 0);
      });
    });
  }

  /** The postmaster's pid of a node (from postmaster.pid). */
  postmasterPid(node: Node): number {
    return Number(readFileSync(path.join(node.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  }

  /** SIGKILLs the node's postmaster, only if that pid still runs PostgreSQL on this data dir. */
  killPostmaster(node: Node): void {
    let pid: number;
    try {
      pid = this.postmasterPid(node);
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes(node.dataDir)) return;
    } catch {
      return;
    }
    process.kill(pid, 'SIGKILL');
  }

  async crashPostgres(node: Node): Promise<void> {
    this.killPostmaster(node);
  }

  /** Patroni and its PostgreSQL SIGKILLed, as a lost node. */
  async loseNode(node: Node): Promise<void> {
    if (node.child?.pid !== undefined) process.kill(-node.child.pid, 'SIGKILL');
    this.killPostmaster(node);
    // Its backends notice the postmaster's death and exit on their own.
    await node.exited;
  }

  async close(): Promise<void> {
    for (const n of this.nodes) {
      if (n.child?.pid !== undefined && n.child.exitCode === null && n.child.signalCode === null) {
        try {
          process.kill(-n.child.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      this.killPostmaster(n);
    }
    await Promise.all(this.nodes.map((n) => n.exited));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One run, ms from the fault. */
interface PatroniRun {
  /** The first acknowledged INSERT on a primary. */
  readonly write: number;
  /** The leader key naming the other node (node loss only). */
  readonly key?: number;
  /** PostgreSQL on the other node asked to promote (node loss only). */
  readonly promote?: number;
}

/** Time from the fault to the first acknowledged INSERT on a primary, and after a node loss its parts. */
async function patroniRun(
  etcd: EtcdCluster,
  n: number,
  timing: PatroniTiming,
  fault: 'crash' | 'node',
): Promise<PatroniRun> {
  const cluster = await PatroniCluster.start(etcd, `bench-${process.pid}-${n}`, timing);
  const client = new Etcd3({ hosts: etcd.endpoints, dialTimeout: 2000 });
  try {
    const leader = (await cluster.primary())!;
    await cluster.until('a write', async () => ((await cluster.write(leader)) ? true : undefined), 20_000);
    // The key as Patroni's replica would see it: a watch, its events stamped as they arrive.
    let keyAt: number | undefined;
    const watcher = await client.watch().key(cluster.leaderKey).create();
    watcher.on('put', (kv) => {
      if (keyAt === undefined && kv.value.toString() !== leader.name) keyAt = Date.now();
    });
    const t0 = Date.now();
    if (fault === 'crash') await cluster.crashPostgres(leader);
    else await cluster.loseNode(leader);
    const candidates = fault === 'crash' ? cluster.nodes : cluster.nodes.filter((x) => x !== leader);
    const limit = (timing.ttl + timing.loop_wait * 2 + timing.retry_timeout) * 1000 + 60_000;
    const end = Date.now() + limit;
    for (;;) {
      for (const c of candidates)
        if (await cluster.write(c)) {
          const write = Date.now() - t0;
          await watcher.cancel();
          if (fault === 'crash') return { write };
          const promotedAt = cluster.promoteRequestedAt(c);
          return {
            write,
            ...(keyAt !== undefined ? { key: keyAt - t0 } : {}),
            ...(promotedAt !== undefined ? { promote: promotedAt - t0 } : {}),
          };
        }
      if (Date.now() > end) throw new Error('no writable primary');
      await sleep(50);
    }
  } finally {
    client.close();
    await cluster.close();
  }
}

export interface PatroniRow {
  readonly setting: string;
  readonly timing: PatroniTiming;
  readonly fault: 'crash' | 'node';
  readonly write: Stat;
  /** Node loss: the leader key on the other node, and the promotion asked of its PostgreSQL. */
  readonly key?: Stat;
  readonly promote?: Stat;
}

export async function patroniBench(
  etcd: EtcdCluster,
  runs: number,
  log: (line: string) => void,
): Promise<PatroniRow[]> {
  const rows: PatroniRow[] = [];
  let n = 0;
  for (const [setting, timing] of [
    ['defaults', PATRONI_DEFAULTS],
    ['ttl 10', PATRONI_TUNED],
  ] as const) {
    for (const fault of ['crash', 'node'] as const) {
      const xs: PatroniRun[] = [];
      for (let i = 0; i < runs; i++) {
        try {
          xs.push(await patroniRun(etcd, ++n, timing, fault));
        } catch (err) {
          log(
            `  patroni ${setting} ${fault} run ${i + 1} failed: ${err instanceof Error ? err.message : String(err)}`,
          );
        }
      }
      const parts = (f: (r: PatroniRun) => number | undefined) =>
        xs.map(f).filter((x): x is number => x !== undefined);
      rows.push({
        setting,
        timing,
        fault,
        write: pct(xs.map((r) => r.write)),
        ...(fault === 'node' ? { key: pct(parts((r) => r.key)), promote: pct(parts((r) => r.promote)) } : {}),
      });
    }
  }
  return rows;
}

/** A row as one line: the first write, and after a node loss the key and the promotion. */
export function patroniLine(r: PatroniRow): string {
  const f = (s: Stat) => `${s.median.toFixed(0)} / ${s.p99.toFixed(0)} ms (n=${s.n})`;
  const parts =
    r.key !== undefined && r.promote !== undefined
      ? `; (a) key on the other node ${f(r.key)}, (b) promote requested ${f(r.promote)}`
      : '';
  return `patroni ${r.setting.padEnd(8)} (ttl ${r.timing.ttl}, loop_wait ${r.timing.loop_wait}) ${r.fault.padEnd(5)} fault -> (c) writable primary ${f(r.write)}${parts} (median / p99)`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const i = args.indexOf('--runs');
  const runs = i >= 0 ? Number(args[i + 1]) : 3;
  const missing = ensurePatroni();
  if (missing !== null) {
    console.log(missing);
    process.exit(0);
  }
  const etcd = await EtcdCluster.start({ members: 3 });
  try {
    const rows = await patroniBench(etcd, runs, console.log);
    for (const r of rows) console.log(patroniLine(r));
  } finally {
    await etcd.stop();
  }
}
