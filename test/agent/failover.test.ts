/**
 * `hanasr agent` end to end: two real agent processes (`hanasr agent`, run from source through
 * tsx), each next to one site of a simulated landscape in real time. They reach their HANA
 * through the fake executables (hdbnsutil, sapcontrol, HDBSettings.sh -> the simulator's control
 * server) and SQL through the wire-protocol server with @sap/hana-client; they check each other
 * through SQL and /status, and coordinate through a real single-member etcd.
 *
 * 1. A becomes leader; then A's node crashes (the simulator's crashNode, and A's agent process is
 *    SIGKILLed with it, as on a real node). B takes the leader key only after the crash, then
 *    promotes B. SIGTERM to B's agent revokes its lease, so the key goes at once.
 * 2. Only A's agent dies: its lease runs out, but A's database still answers SQL as a writable
 *    primary, so B refuses to take over (former_primary_still_serving) cycle after cycle.
 * Timings are asserted as order plus generous bounds only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AgentStatus } from '../../src/agent/status-server.js';
import { realClock } from '../../src/clock.js';
import { EtcdCoordination } from '../../src/coordination/etcd.js';
import { startSimControlServer, type SimControlServer } from '../../src/standins/hana-sim/control-server.js';
import { SimLandscape } from '../../src/standins/hana-sim/model.js';
import type { SimSiteControl } from '../../src/standins/hana-sim/snapshot.js';
import { startHanaWireServer, type HanaWireServer } from '../../src/standins/hana-wire/server.js';
import { agentArgv, CLI_SOURCE, REPO_ROOT } from '../../rigs/agent-argv.js';
import { EtcdCluster, freePort, processExists } from '../../rigs/etcd.js';

const root = REPO_ROOT;
const USER = 'HANASR_MONITOR';
const PASSWORD = 'Agent-Sql-Secret-9';
const PREFIX = '/hanasr-agent-e2e';
const PEER_TOKEN = 'Agent-E2e-Peer-Token-4f3e2d1c';
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
  readonly message?: string;
  readonly decision?: string;
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
          // `at`: when the test saw the line (the line's own `at` is an ISO string).
          this.lines.push({ ...(JSON.parse(line) as object), at: Date.now() });
        } catch {
          // not a log line
        }
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (this.raw += chunk.toString('utf8')));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }
  action(kind: string): LogLine | undefined {
    return this.lines.find((l) => l.message === 'agent action done' && l.decision === kind);
  }
  async status(): Promise<AgentStatus | undefined> {
    try {
      const res = await fetch(`${this.statusUrl}/status`, {
        signal: AbortSignal.timeout(2000),
        headers: { authorization: `Bearer ${PEER_TOKEN}` },
      });
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
let observer: EtcdCoordination;
let dir: string;
let seq = 0;

interface Rig {
  readonly cluster: string;
  readonly landscape: SimLandscape;
  readonly agents: Map<Site, AgentProcess>;
  close(): Promise<void>;
}
const rigs: Rig[] = [];
const agentPids: number[] = [];

beforeAll(async () => {
  etcd = await EtcdCluster.start({ members: 1 });
  observer = new EtcdCoordination({ endpoints: etcd.endpoints, keyPrefix: PREFIX, callTimeoutMs: 1000 });
  dir = mkdtempSync(path.join(tmpdir(), 'hanasr-agent-e2e-'));
  writeFileSync(path.join(dir, 'hsr.json'), JSON.stringify(SPEC));
  writeFileSync(path.join(dir, 'peer-token'), `${PEER_TOKEN}\n`, { mode: 0o600 });
}, 60_000);

afterEach(async () => {
  for (const rig of rigs.splice(0)) await rig.close();
}, 60_000);

afterAll(async () => {
  await observer?.close();
  await etcd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  // Every agent process this file started is gone.
  expect(agentPids.filter(processExists)).toEqual([]);
}, 60_000);

/** A simulated landscape (real time), one SQL port per site, the control server, and two agents. */
async function startRig(): Promise<Rig> {
  const cluster = `e2e.ha1-${process.pid}-${++seq}`;
  const landscape = new SimLandscape({
    sid: 'HA1',
    instanceNumber: '00',
    sites: SPEC.sites,
    initialPrimary: 'A',
    mode: 'sync',
    operationMode: 'logreplay',
    logShippingTimeoutSeconds: 30,
    clock: realClock,
    seed: 11 + seq,
    writesPerSecond: 20,
  });
  const sql = new Map<Site, HanaWireServer>();
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
  const control: SimControlServer = await startSimControlServer(
    new Map<string, SimSiteControl>(SITES.map((s) => [s, landscape.site(s)])),
  );
  const agents = new Map<Site, AgentProcess>();
  const ports = new Map<Site, number>();
  for (const site of SITES) ports.set(site, await freePort());
  for (const site of SITES) {
    const peer: Site = site === 'A' ? 'B' : 'A';
    const argv = [
      '--import',
      'tsx',
      CLI_SOURCE,
      ...agentArgv({
        cluster,
        site,
        specFile: path.join(dir, 'hsr.json'),
        etcdEndpoints: etcd.endpoints,
        etcdPrefix: PREFIX,
        sqlPort: sql.get(site)!.port,
        peer: { site: peer, sqlPort: sql.get(peer)!.port, statusPort: ports.get(peer)! },
        peerTokenFile: path.join(dir, 'peer-token'),
        statusPort: ports.get(site)!,
      }),
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
    if (child.pid !== undefined) agentPids.push(child.pid);
    agents.set(site, new AgentProcess(site, child, `http://127.0.0.1:${ports.get(site)!}`));
  }
  const rig: Rig = {
    cluster,
    landscape,
    agents,
    close: async () => {
      for (const a of agents.values())
        if (a.child.exitCode === null && a.child.signalCode === null) a.child.kill('SIGKILL');
      await Promise.all([...agents.values()].map((a) => a.exited));
      await control.close();
      await Promise.all([...sql.values()].map((s) => s.close()));
      landscape.dispose();
    },
  };
  rigs.push(rig);
  return rig;
}

const explain = (rig: Rig) => () =>
  [...rig.agents.values()].map((a) => `\n--- ${a.site} ---\n${a.raw.slice(-3000)}`).join('');

/** Waits until A leads a writable primary with B in sync (SOK recorded) and both see each other. */
async function steady(rig: Rig): Promise<{ aStatus: AgentStatus; bStatus: AgentStatus }> {
  const a = rig.agents.get('A')!;
  const b = rig.agents.get('B')!;
  await until('A to hold the leader key', () => a.action('acquire-leader'), 45_000).catch((err: Error) => {
    throw new Error(err.message + explain(rig)());
  });
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
  const bStatus = await until(
    "B's status",
    async () => {
      const s = await b.status();
      return s?.peers.A?.acceptsWrites && s.hana?.role === 'secondary' ? s : undefined;
    },
    20_000,
  );
  await until(
    'the SOK record of B',
    async () => ((await observer.read(rig.cluster)).sync.B?.state === 'SOK' ? true : undefined),
    20_000,
  );
  return { aStatus, bStatus };
}

describe('hanasr agent: two processes, real etcd, simulated HANA through real commands and SQL', () => {
  it('A leads; A’s node crashes; B takes the key after A’s lease ran out and becomes primary', async () => {
    const rig = await startRig();
    const a = rig.agents.get('A')!;
    const b = rig.agents.get('B')!;
    const { aStatus, bStatus } = await steady(rig);
    expect(aStatus).toMatchObject({ site: 'A', epoch: 1, fenced: false, hana: { role: 'primary' } });
    // Live lag came through SQL (the lag source), not left unknown.
    expect(aStatus.hana!.replication.find((l) => l.secondary === 'B')!.lagBytes).not.toBeNull();
    expect(bStatus).toMatchObject({ leader: false, hana: { source: 'A' } });
    expect(b.action('takeover')).toBeUndefined();

    // A's node crashes: HANA and the agent process die together.
    const crashedAt = Date.now();
    a.child.kill('SIGKILL');
    rig.landscape.crashNode('A');
    expect(await a.exited).toBeNull();

    // B takes the key (epoch 2) and promotes its site.
    const promoted = await until('B to take over', () => b.action('takeover'), 60_000).catch((err: Error) => {
      throw new Error(err.message + explain(rig)());
    });
    expect(promoted.reason).toBe('takeover_done');
    expect(promoted.at).toBeGreaterThan(crashedAt);
    expect(promoted.epoch).toBe(2);
    await until('B to accept writes', () => (rig.landscape.acceptsWrites('B') ? true : undefined), 20_000);
    expect(rig.landscape.writableSites()).toEqual(['B']);
    expect((await observer.read(rig.cluster)).leader).toMatchObject({ site: 'B', epoch: 2 });
    // B decided to take over only after the crash.
    const firstTakeoverDecision = b.lines.find(
      (l) => l.message === 'agent decision' && l.decision === 'takeover',
    );
    expect(firstTakeoverDecision!.at).toBeGreaterThan(crashedAt);

    // SIGTERM: B stops, revokes its lease (the key goes with it) and exits 0.
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    expect((await observer.read(rig.cluster)).leader).toBeNull();
    expect(b.raw).toContain('"message":"agent stopped"');

    // The SQL password never reached a log line, an error or /status.
    expect(a.raw).not.toContain(PASSWORD);
    expect(b.raw).not.toContain(PASSWORD);
    expect(JSON.stringify([aStatus, bStatus])).not.toContain(PASSWORD);
  }, 180_000);

  it('A’s agent dies but its database keeps serving: B does not take over', async () => {
    const rig = await startRig();
    const a = rig.agents.get('A')!;
    const b = rig.agents.get('B')!;
    await steady(rig);

    // Only the agent dies (no goodbye: its lease runs out); HANA on A keeps taking writes.
    a.child.kill('SIGKILL');
    expect(await a.exited).toBeNull();
    await until(
      'the leader key to expire',
      async () => ((await observer.read(rig.cluster)).leader === null ? true : undefined),
      30_000,
    );

    // B sees the key free, but A's SQL port still answers as a writable primary: no takeover.
    const held = await until(
      'B to refuse the takeover',
      () =>
        b.lines.find((l) => l.message === 'agent decision' && l.reason === 'former_primary_still_serving'),
      30_000,
    ).catch((err: Error) => {
      throw new Error(err.message + explain(rig)());
    });
    expect(String(held['detail'])).toContain('still answers as a writable primary');
    // A few more cycles (interval 1 s) change nothing.
    await until(
      'more B cycles',
      async () => {
        const s = await b.status();
        return s && s.lastCycleAt !== null && Date.parse(s.lastCycleAt) > held.at + 3000 ? true : undefined;
      },
      30_000,
    );
    expect(b.action('takeover')).toBeUndefined();
    expect(b.action('acquire-leader')).toBeUndefined();
    expect(rig.landscape.writableSites()).toEqual(['A']);
    expect((await b.status())?.peers.A).toEqual({ reachable: true, acceptsWrites: true });
  }, 180_000);
});
