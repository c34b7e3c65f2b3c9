/**
 * `hanasr agent` end to end: two real agent processes (`hanasr agent`, run from source through
 * tsx), each next to one site of a simulated landscape in real time. They reach their HANA
 * through the fake executables (hdbnsutil, sapcontrol, HDBSettings.sh -> the simulator's control
 * server) and SQL through the wire-protocol server with @sap/hana-client; they check each other
 * through SQL and /status, and coordinate through a real single-member etcd.
 *
 * A becomes leader; then A's node crashes (the simulator's crashNode, and A's agent process is
 * SIGKILLed with it, as on a real node). B must take the leader key only after A's lease has gone,
 * then promote B. SIGTERM to B's agent revokes its lease, so the key goes at once.
 * Timings are asserted as order plus generous bounds only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentStatus } from '../../src/agent/status-server.js';
import { realClock } from '../../src/clock.js';
import { EtcdCoordination } from '../../src/coordination/etcd.js';
import { startSimControlServer, type SimControlServer } from '../../src/hana/sim/control-server.js';
import { SimLandscape } from '../../src/hana/sim/model.js';
import type { SimSiteControl } from '../../src/hana/sim/snapshot.js';
import { startHanaWireServer, type HanaWireServer } from '../../src/hana/wire/server.js';
import { EtcdCluster, freePort, processExists } from '../support/etcd.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = path.join(root, 'src/hana/sim/bin');
const USER = 'HANASR_MONITOR';
const PASSWORD = 'Agent-Sql-Secret-9';
const PREFIX = '/hanasr-agent-e2e';
const CLUSTER = `e2e.ha1-${process.pid}`;
const SITES = ['A', 'B'] as const;
type Site = (typeof SITES)[number];

const SPEC = {
  sid: 'HA1',
  instanceNumber: '00',
  sites: [
    { name: 'A', host: 'hana-a' },
    { name: 'B', host: 'hana-b' },
  ],
  replication: { mode: 'sync', logShippingTimeoutSeconds: 30 },
  takeover: { failureThreshold: 2 },
  probes: { intervalSeconds: 1, timeoutSeconds: 3 },
  lease: { ttlSeconds: 4 },
};

interface LogLine {
  readonly at: number;
  readonly msg?: string;
  readonly action?: string;
  readonly reason?: string;
  readonly [k: string]: unknown;
}

class AgentProcess {
  readonly lines: LogLine[] = [];
  raw = '';
  readonly exited: Promise<number | null>;
  constructor(
    readonly site: Site,
    readonly child: ChildProcess,
    readonly statusUrl: string,
  ) {
    let buf = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.raw += text;
      buf += text;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          this.lines.push({ at: Date.now(), ...(JSON.parse(line) as object) });
        } catch {
          // not a log line
        }
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (this.raw += chunk.toString('utf8')));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }
  action(kind: string): LogLine | undefined {
    return this.lines.find((l) => l.msg === 'agent action' && l.action === kind);
  }
  async status(): Promise<AgentStatus | undefined> {
    try {
      const res = await fetch(`${this.statusUrl}/status`, { signal: AbortSignal.timeout(2000) });
      return (await res.json()) as AgentStatus;
    } catch {
      return undefined;
    }
  }
}

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  ms: number,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let etcd: EtcdCluster;
let landscape: SimLandscape;
let control: SimControlServer;
const sql = new Map<Site, HanaWireServer>();
const agents = new Map<Site, AgentProcess>();
let observer: EtcdCoordination;
let dir: string;

beforeAll(async () => {
  etcd = await EtcdCluster.start({ members: 1 });
  observer = new EtcdCoordination({ endpoints: etcd.endpoints, keyPrefix: PREFIX, callTimeoutMs: 1000 });
  landscape = new SimLandscape({
    sid: 'HA1',
    instanceNumber: '00',
    sites: SPEC.sites,
    initialPrimary: 'A',
    mode: 'sync',
    operationMode: 'logreplay',
    logShippingTimeoutSeconds: 30,
    clock: realClock,
    seed: 11,
    writesPerSecond: 20,
  });
  for (const site of SITES) {
    sql.set(
      site,
      await startHanaWireServer({
        port: 0,
        user: USER,
        password: PASSWORD,
        snapshot: () => landscape.site(site).snapshot(),
      }),
    );
  }
  control = await startSimControlServer(
    new Map<string, SimSiteControl>(SITES.map((s) => [s, landscape.site(s)])),
  );
  dir = mkdtempSync(path.join(tmpdir(), 'hanasr-agent-e2e-'));
  writeFileSync(path.join(dir, 'hsr.json'), JSON.stringify(SPEC));
}, 60_000);

afterAll(async () => {
  for (const a of agents.values())
    if (a.child.exitCode === null && a.child.signalCode === null) a.child.kill('SIGKILL');
  await Promise.all([...agents.values()].map((a) => a.exited));
  await observer?.close();
  await control?.close();
  await Promise.all([...sql.values()].map((s) => s.close()));
  landscape?.dispose();
  await etcd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  for (const a of agents.values())
    if (a.child.pid !== undefined) expect(processExists(a.child.pid)).toBe(false);
}, 60_000);

async function startAgents(): Promise<void> {
  const ports = new Map<Site, number>();
  for (const site of SITES) ports.set(site, await freePort());
  for (const site of SITES) {
    const peer: Site = site === 'A' ? 'B' : 'A';
    const argv = [
      '--import',
      'tsx',
      path.join(root, 'src/cli/main.ts'),
      'agent',
      '--cluster',
      CLUSTER,
      '--site',
      site,
      '--spec-file',
      path.join(dir, 'hsr.json'),
      '--etcd-endpoints',
      etcd.endpoints.join(','),
      '--etcd-prefix',
      PREFIX,
      '--etcd-call-timeout-ms',
      '800',
      '--store-timeout-ms',
      '1500',
      '--hdbnsutil',
      path.join(bin, 'hdbnsutil'),
      '--sapcontrol',
      path.join(bin, 'sapcontrol'),
      '--hdbsettings',
      path.join(bin, 'HDBSettings.sh'),
      '--action-timeout-seconds',
      '20',
      '--sql-host',
      '127.0.0.1',
      '--sql-port',
      String(sql.get(site)!.port),
      '--peer-sql',
      `${peer}=127.0.0.1:${sql.get(peer)!.port}`,
      '--peer-status',
      `${peer}=http://127.0.0.1:${ports.get(peer)!}`,
      '--status-host',
      '127.0.0.1',
      '--status-port',
      String(ports.get(site)!),
    ];
    const child = spawn(process.execPath, argv, {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        HANASR_SQL_USER: USER,
        HANASR_SQL_PASSWORD: PASSWORD,
        HANASR_SIM_URL: control.url,
        HANASR_SIM_SITE: site,
      },
    });
    agents.set(site, new AgentProcess(site, child, `http://127.0.0.1:${ports.get(site)!}`));
  }
}

describe('hanasr agent: two processes, real etcd, simulated HANA through real commands and SQL', () => {
  it('A leads; A’s node crashes; B takes the key after A’s lease ran out and becomes primary', async () => {
    await startAgents();
    const a = agents.get('A')!;
    const b = agents.get('B')!;
    const explain = () => `\n--- A ---\n${a.raw.slice(-3000)}\n--- B ---\n${b.raw.slice(-3000)}`;

    // 1. A acquires the leader key; its agent reports a writable primary with B in sync.
    await until('A to hold the leader key' + explain(), () => a.action('acquire-leader'), 45_000).catch(
      (err: Error) => {
        throw new Error(err.message + explain());
      },
    );
    const aStatus = await until(
      "A's status to show a leading primary with B in sync",
      async () => {
        const s = await a.status();
        return s?.leader &&
          s.hana?.acceptsWrites &&
          s.hana.replication.some((l) => l.secondary === 'B' && l.inSync)
          ? s
          : undefined;
      },
      30_000,
    );
    expect(aStatus).toMatchObject({ site: 'A', epoch: 1, fenced: false, hana: { role: 'primary' } });
    // Live lag came through SQL (the lag source), not left unknown.
    expect(aStatus.hana!.replication.find((l) => l.secondary === 'B')!.lagBytes).not.toBeNull();
    // A sees B as a reachable secondary (through B's agent: B's SQL port is closed).
    await until(
      "A's peer view of B",
      async () => {
        const s = await a.status();
        return s?.peers.B?.reachable && s.peers.B.role === 'secondary' && !s.peers.B.acceptsWrites
          ? true
          : undefined;
      },
      20_000,
    );
    // B sees A as a writable primary (SQL) and follows it.
    const bStatus = await until(
      "B's status",
      async () => {
        const s = await b.status();
        return s?.peers.A?.acceptsWrites && s.hana?.role === 'secondary' ? s : undefined;
      },
      20_000,
    );
    expect(bStatus).toMatchObject({ leader: false, hana: { source: 'A' } });
    await until(
      'the SOK record of B',
      async () => {
        const st = await observer.read(CLUSTER);
        return st.sync.B?.state === 'SOK' ? true : undefined;
      },
      20_000,
    );
    expect(b.action('takeover')).toBeUndefined();

    // 2. A's node crashes: HANA and the agent process die together.
    const crashedAt = Date.now();
    a.child.kill('SIGKILL');
    landscape.crashNode('A');
    expect(await a.exited).toBeNull();

    // 3. B takes the key (epoch 2) and promotes its site.
    const acquired = await until('B to take over' + explain(), () => b.action('takeover'), 60_000).catch(
      (err: Error) => {
        throw new Error(err.message + explain());
      },
    );
    expect(acquired.reason).toBe('takeover_done');
    expect(acquired.at).toBeGreaterThan(crashedAt);
    expect(acquired.epoch).toBe(2);
    await until('B to accept writes', () => (landscape.acceptsWrites('B') ? true : undefined), 20_000);
    expect(landscape.writableSites()).toEqual(['B']);
    const state = await observer.read(CLUSTER);
    expect(state.leader).toMatchObject({ site: 'B', epoch: 2 });
    // B waited for A's lease: no takeover decision was acted on before the crash.
    const firstTakeoverDecision = b.lines.find((l) => l.msg === 'agent decision' && l.action === 'takeover');
    expect(firstTakeoverDecision!.at).toBeGreaterThan(crashedAt);

    // 4. SIGTERM: B stops, revokes its lease (the key goes with it) and exits 0.
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    expect((await observer.read(CLUSTER)).leader).toBeNull();
    expect(b.raw).toContain('"msg":"agent stopped"');

    // 5. The SQL password never reached a log line, an error or /status.
    expect(a.raw).not.toContain(PASSWORD);
    expect(b.raw).not.toContain(PASSWORD);
    expect(JSON.stringify([aStatus, bStatus])).not.toContain(PASSWORD);
  }, 180_000);
});
