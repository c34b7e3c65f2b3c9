// Why this file is long: a whole two-site landscape on real processes (API, operator, etcd observer, simulated HANA, SQL, agents) with the stamps every bench reads.
/**
 * A landscape on real processes for the benches: two `hanasr agent` processes (the built CLI,
 * dist/cli/main.js; from source through tsx when there is no build), the simulated HANA in real
 * time behind the fake executables (control server) and the SQL wire protocol (one port per
 * site, tables kept in the simulated log so they replicate and survive a takeover), a real etcd
 * the caller starts (three members), and the operator (HsrController, in this process) against
 * the embedded Kubernetes API, which keeps the `<name>-rw` Service.
 *
 * Everything a bench measures is stamped where it happens: the leader key through an etcd watch
 * (Coordination.watchClusters), the takeover command when the control server receives it (it
 * then waits `takeoverMs`, the simulated HANA takeover duration, before carrying it out; the
 * simulator's own log replay after the command is `replayMs`, none by default, so the new primary
 * takes commits `takeoverMs` after the command), the
 * first acknowledged write by a client (@sap/hana-client) that holds a connection to each site and
 * writes through every open one (Writer), and the Service through the API every 10 ms.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { realClock } from '../../src/clock.js';
import { EtcdCoordination } from '../../src/coordination/etcd.js';
import type { StoreWatch } from '../../src/coordination/port.js';
import { startSimControlServer, type SimControlServer } from '../../src/standins/hana-sim/control-server.js';
import { SimLandscape } from '../../src/standins/hana-sim/model.js';
import type { SimSiteControl } from '../../src/standins/hana-sim/snapshot.js';
import { simSiteDatabase } from '../../src/standins/hana-wire/database.js';
import { startHanaWireServer, type HanaWireServer } from '../../src/standins/hana-wire/server.js';
import { startFakeApiServer, type FakeApiServer } from '../../src/standins/kube-api/index.js';
import { HsrController } from '../../src/operator/controller.js';
import { agentArgv, SIM_BIN_SH } from '../../rigs/agent-argv.js';
import { freePort } from '../../rigs/etcd.js';
import { createHsr, installHsrCrd } from '../../rigs/kube.js';
import { TWO_SITES } from '../../rigs/spec.js';
import { poller, sleep } from '../../rigs/wait.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const USER = 'HANASR_MONITOR';
const PASSWORD = 'Bench-Sql-Secret-9';
const PEER_TOKEN = 'Bench-Peer-Token-4f3e2d1c9a8b';
export const PREFIX = '/hanasr-bench';
export const NAMESPACE = 'bench';
export const SITES = ['A', 'B'] as const;
export type Site = (typeof SITES)[number];

export interface Timing {
  readonly failureThreshold: number;
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly ttlSeconds: number;
}

export const DEFAULTS: Timing = {
  failureThreshold: 3,
  intervalSeconds: 2,
  timeoutSeconds: 3,
  ttlSeconds: 10,
};
export const TUNED: Timing = { failureThreshold: 2, intervalSeconds: 1, timeoutSeconds: 1, ttlSeconds: 4 };

/**
 * The resource's spec. `fenceDir`: each site's node has a fence device, Debian's `fence_dummy`
 * (fence-agents) in file mode with its status file there (`<site>.status`, "on" at the start); a
 * node-loss bench powers it off through it, as an IPMI or cloud agent would a real node.
 */
export function specOf(t: Timing, fenceDir?: string): Record<string, unknown> {
  return {
    ...TWO_SITES,
    replication: { mode: 'sync', logShippingTimeoutSeconds: 30 },
    takeover: { failureThreshold: t.failureThreshold, automatedRegister: false },
    probes: { intervalSeconds: t.intervalSeconds, timeoutSeconds: t.timeoutSeconds },
    lease: { ttlSeconds: t.ttlSeconds },
    fencing: {
      watchdog: { mode: 'disabled' },
      ...(fenceDir !== undefined
        ? {
            agent: {
              command: 'fence_dummy',
              sites: Object.fromEntries(
                SITES.map((s) => [s, { status_file: path.join(fenceDir, `${s}.status`) }]),
              ),
            },
          }
        : {}),
    },
  };
}

/** Where fence_dummy is (Debian fence-agents): the agents find it in their default /usr/sbin. */
export const FENCE_DUMMY = '/usr/sbin/fence_dummy';

export { sleep };

/** Polls every 10 ms for up to 60 s unless told (rigs/wait.ts). */
export const until = poller({ timeoutMs: 60_000, everyMs: 10 });

/** The shared parts: the embedded API with the CRD, the operator, an etcd observer. */
export class Bench {
  private constructor(
    readonly api: FakeApiServer,
    readonly core: CoreV1Api,
    readonly custom: CustomObjectsApi,
    readonly operator: HsrController,
    readonly observer: EtcdCoordination,
    readonly operatorStore: EtcdCoordination,
    readonly dir: string,
  ) {}

  static async start(endpoints: readonly string[]): Promise<Bench> {
    const api = await startFakeApiServer();
    const kc = api.kubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    await installHsrCrd(kc);
    await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
    const operatorStore = new EtcdCoordination({
      endpoints: [...endpoints],
      keyPrefix: PREFIX,
      callTimeoutMs: 1000,
    });
    const operator = new HsrController({
      kubeConfig: kc,
      coordination: operatorStore,
      clock: realClock,
      namespace: NAMESPACE,
      kubeTimeoutMs: 2000,
    });
    await operator.start();
    const observer = new EtcdCoordination({
      endpoints: [...endpoints],
      keyPrefix: PREFIX,
      callTimeoutMs: 1000,
    });
    const dir = mkdtempSync(path.join(tmpdir(), 'hanasr-bench-'));
    writeFileSync(path.join(dir, 'peer-token'), `${PEER_TOKEN}\n`, { mode: 0o600 });
    return new Bench(api, core, custom, operator, observer, operatorStore, dir);
  }

  async serviceSite(name: string): Promise<string | undefined> {
    try {
      const svc = await this.core.readNamespacedService({ namespace: NAMESPACE, name: `${name}-rw` });
      return svc.spec?.selector?.['hanasr.io/site'];
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    await this.operator.stop();
    await this.operatorStore.close();
    await this.observer.close();
    await this.api.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class AgentProcess {
  readonly exited: Promise<number | null>;
  out = '';
  constructor(
    readonly site: Site,
    readonly child: ChildProcess,
  ) {
    child.stdout!.on('data', (c: Buffer) => {
      this.out = (this.out + c.toString('utf8')).slice(-20_000);
    });
    child.stderr!.on('data', (c: Buffer) => {
      this.out = (this.out + c.toString('utf8')).slice(-20_000);
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }
  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
  async kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
  }
}

/**
 * A client of a highly available database, as one that follows the primary would be: it holds one
 * connection per site, each opened (logged in) in the background and opened again after an error,
 * and writes through every open connection at once, one row at a time on each. A secondary
 * refuses connections (as HANA's closed SQL ports do), so only a primary's connection stays open
 * and takes writes; the first row a site acknowledges after the fault is the first write there.
 * Nothing waits for a dead site before trying another: a silent node holds only its own
 * connection (its connect timeout, 1 s, and statement timeout, 5 s), and a new primary is written
 * to as soon as its port opens and the login (PBKDF2) is done, at most RETRY_MS after it opened
 * (its first commit waits until its takeover is done, as HANA holds commits during one).
 */
export class Writer {
  /** How often a refused or failed connection is tried again (ms). */
  static readonly RETRY_MS = 50;
  private stopped = false;
  private readonly done: Promise<void>;
  /** Acknowledged writes: time and site. */
  readonly acks: { at: number; site: Site }[] = [];
  /** Each connection's changes (logged in, failed, refused), for the trace: a change, not every retry. */
  readonly events: { at: number; site: Site; what: string }[] = [];
  private seq = 0;
  private created = false;

  constructor(private readonly ports: Map<Site, number>) {
    this.done = Promise.all([...ports.keys()].map((site) => this.loop(site))).then(() => undefined);
  }

  firstAckOn(site: Site, after: number): number | undefined {
    return this.acks.find((a) => a.site === site && a.at >= after)?.at;
  }

  /** The longest time without an acknowledged write in [from, to]. */
  longestGap(from: number, to: number): number {
    const ats = [from, ...this.acks.filter((a) => a.at > from && a.at < to).map((a) => a.at), to];
    let gap = 0;
    for (let i = 1; i < ats.length; i++) gap = Math.max(gap, ats[i]! - ats[i - 1]!);
    return gap;
  }

  /** One site's connection: open it, write through it while it lasts, open it again. */
  private async loop(site: Site): Promise<void> {
    const hana = (await import('@sap/hana-client')).default;
    type Conn = ReturnType<typeof hana.createConnection>;
    const call = <T>(fn: (cb: (err: Error | null, v: T) => void) => void) =>
      new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
    let conn: Conn | null = null;
    let last = '';
    let open = false;
    const note = (what: string) => {
      if (what !== last) this.events.push({ at: Date.now(), site, what });
      last = what;
    };
    while (!this.stopped) {
      try {
        if (conn === null) {
          const c = hana.createConnection();
          conn = c;
          await call<void>((cb) =>
            c.connect(
              {
                serverNode: `127.0.0.1:${this.ports.get(site)!}`,
                uid: USER,
                pwd: PASSWORD,
                connectTimeout: 1000,
                // A statement waits as long as an application's would: a new primary holds its
                // first commits until its takeover is done. A silent node holds this connection only.
                communicationTimeout: 5000,
              },
              (err: Error | null) => cb(err, undefined),
            ),
          );
          note('logged in');
          open = true;
          if (!this.created)
            await call((cb) => c.exec('CREATE TABLE BENCH (ID INTEGER PRIMARY KEY, AT BIGINT)', cb)).then(
              () => (this.created = true),
              () => undefined,
            );
        }
        const c = conn;
        const id = ++this.seq;
        await call((cb) =>
          c.exec(
            `INSERT INTO BENCH (ID, AT) VALUES (${id + site.charCodeAt(0) * 10_000_000}, ${Date.now()})`,
            cb,
          ),
        );
        this.created = true;
        this.acks.push({ at: Date.now(), site });
        note('writes acknowledged');
        if (this.acks.length > 20_000) this.acks.splice(0, 10_000);
        await sleep(10);
      } catch (err) {
        note(`${open ? 'failed' : 'no connection'}: ${err instanceof Error ? err.message : String(err)}`);
        open = false;
        conn?.disconnect(() => undefined);
        conn = null;
        await sleep(Writer.RETRY_MS);
      }
    }
    conn?.disconnect(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

export interface RigOptions {
  readonly timing: Timing;
  /** The simulated HANA takeover duration (ms): the command is held this long. */
  readonly takeoverMs: number;
  /**
   * The simulator's log replay after the command returned, during which the new primary still
   * holds commits back (ms, min and max; default [0, 0]: the whole takeover is `takeoverMs`).
   */
  readonly replayMs?: readonly [number, number];
  readonly seed: number;
  /** Give each node a fence device (fence_dummy, see specOf); its status files are in `fenceDir`. */
  readonly fence?: boolean;
  /** The HANA tools' stand-ins: Node.js processes (default) or shell scripts over curl and jq. */
  readonly standin?: 'node' | 'sh';
}

/** One HSR cluster: the simulated sites, their SQL ports, the agents and its resource. */
export class Rig {
  /** When the control server got `hdbnsutil -sr_takeover`, by site. */
  readonly takeoverAskedAt = new Map<Site, number>();
  /** Every HANA command the agents ran (a probe is three or four), as the control server got it. */
  readonly commands: { at: number; site: string; argv: readonly string[] }[] = [];
  /** Leader changes as the etcd watch told them (time, site or null). */
  readonly leaderAt: { at: number; site: string | null }[] = [];
  private leaderWatch: StoreWatch | null = null;
  /** When the simulated landscape was created (its events' times count from here, in s). */
  readonly landscapeAt: number = 0;
  /** The fence devices' status files (fence_dummy), when the rig has them. */
  readonly fenceDir: string | undefined = undefined;

  private constructor(
    readonly bench: Bench,
    readonly name: string,
    readonly cluster: string,
    readonly landscape: SimLandscape,
    readonly sql: Map<Site, HanaWireServer>,
    readonly control: SimControlServer,
    readonly agents: Map<Site, AgentProcess>,
  ) {}

  static async start(bench: Bench, n: number, options: RigOptions): Promise<Rig> {
    const name = `ha1-${process.pid}-${n}`;
    const cluster = `${NAMESPACE}.${name}`;
    const fenceDir = options.fence === true ? path.join(bench.dir, `${name}-fence`) : undefined;
    if (fenceDir !== undefined) {
      mkdirSync(fenceDir);
      // fence_dummy reads the file as the node's power state (no file: off).
      for (const site of SITES) writeFileSync(path.join(fenceDir, `${site}.status`), 'on');
    }
    const spec = specOf(options.timing, fenceDir);
    const specFile = path.join(bench.dir, `${name}.json`);
    writeFileSync(specFile, JSON.stringify(spec));
    const landscapeAt = Date.now();
    const landscape = new SimLandscape({
      sid: 'HA1',
      instanceNumber: '00',
      sites: [
        { name: 'A', host: 'hana-a' },
        { name: 'B', host: 'hana-b' },
      ],
      initialPrimary: 'A',
      mode: 'sync',
      operationMode: 'logreplay',
      logShippingTimeoutSeconds: 30,
      clock: realClock,
      seed: options.seed,
      writesPerSecond: 20,
      takeoverReplayMs: options.replayMs ?? [0, 0],
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
          database: simSiteDatabase(landscape, site),
        }),
      );
    }
    const takeoverAskedAt = new Map<Site, number>();
    const commands: { at: number; site: string; argv: readonly string[] }[] = [];
    const control = await startSimControlServer(
      new Map<string, SimSiteControl>(SITES.map((s) => [s, landscape.site(s)])),
      {
        beforeRun: async (site, argv) => {
          commands.push({ at: Date.now(), site, argv });
          if (commands.length > 5000) commands.splice(0, 1000);
          if (argv.some((a) => a.startsWith('-sr_takeover'))) {
            if (!takeoverAskedAt.has(site as Site)) takeoverAskedAt.set(site as Site, Date.now());
            await sleep(options.takeoverMs);
          }
        },
      },
    );
    const ports = new Map<Site, number>();
    for (const site of SITES) ports.set(site, await freePort());
    const agents = new Map<Site, AgentProcess>();
    const built = path.join(root, 'dist/cli/main.js');
    const entry = existsSync(built) ? [built] : ['--import', 'tsx', path.join(root, 'src/cli/main.ts')];
    for (const site of SITES) {
      const peer: Site = site === 'A' ? 'B' : 'A';
      const argv = [
        ...entry,
        ...agentArgv({
          cluster,
          site,
          specFile,
          etcdEndpoints: bench.observer.config.endpoints,
          etcdPrefix: PREFIX,
          sqlPort: sql.get(site)!.port,
          peer: { site: peer, sqlPort: sql.get(peer)!.port, statusPort: ports.get(peer)! },
          peerTokenFile: path.join(bench.dir, 'peer-token'),
          statusPort: ports.get(site)!,
          ...(options.standin === 'sh' ? { binDir: SIM_BIN_SH } : {}),
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
      agents.set(site, new AgentProcess(site, child));
    }
    const rig = new Rig(bench, name, cluster, landscape, sql, control, agents);
    (rig as { takeoverAskedAt: Map<Site, number> }).takeoverAskedAt = takeoverAskedAt;
    (rig as { commands: typeof commands }).commands = commands;
    (rig as { fenceDir: string | undefined }).fenceDir = fenceDir;
    (rig as { landscapeAt: number }).landscapeAt = landscapeAt;
    rig.leaderWatch = await bench.observer.watchClusters(
      {
        onChange: (c) => {
          if (c.cluster !== cluster || c.what !== 'leader') return;
          const at = Date.now();
          void bench.observer.read(cluster).then(
            (s) => rig.leaderAt.push({ at, site: s.leader?.site ?? null }),
            () => undefined,
          );
        },
        onBroken: () => undefined,
      },
      AbortSignal.timeout(5000),
    );
    await createHsr(bench.custom, NAMESPACE, name, spec);
    return rig;
  }

  sqlPorts(): Map<Site, number> {
    return new Map(SITES.map((s) => [s, this.sql.get(s)!.port]));
  }

  /** A leads, B is a secondary with a trusted sync record, the Service is on A. */
  async steady(timeoutMs = 60_000): Promise<void> {
    let last = '';
    await until(
      'a steady landscape',
      async () => {
        const s = await this.bench.observer.read(this.cluster).catch(() => null);
        const svc = await this.bench.serviceSite(this.name);
        last = `leader ${s?.leader?.site ?? '-'}, sync B ${s?.sync['B']?.state ?? '-'}, reports ${Object.keys(s?.reports ?? {}).join(',')}, service ${svc ?? '-'}`;
        if (s?.leader?.site !== 'A' || s.sync['B']?.state !== 'SOK' || s.reports['B'] === undefined)
          return undefined;
        return svc === 'A' ? true : undefined;
      },
      timeoutMs,
      100,
    ).catch((err: unknown) => {
      const tail = [...this.agents.values()].map((a) => `${a.site}: ${a.out.slice(-1500)}`).join('\n');
      throw new Error(`${err instanceof Error ? err.message : String(err)} (${last})\n${tail}`);
    });
  }

  /** The store's view, for a failed run's message: the leader and each site's last decision. */
  async describe(): Promise<string> {
    const s = await this.bench.observer.read(this.cluster).catch(() => null);
    if (s === null) return 'store unreadable';
    const sites = Object.values(s.reports)
      .map((r) => `${r.site}: ${r.lastDecision?.reason ?? '-'} (${r.lastDecision?.message ?? ''})`)
      .join('; ');
    return `leader ${s.leader?.site ?? 'none'} at epoch ${s.leader?.epoch ?? s.lastEpoch}; ${sites}`;
  }

  /**
   * What happened between `from` and `to` (ms since the epoch), one line each with its offset from
   * `zero` (the fault; negative before it): the HANA commands the agents ran, their log lines
   * (decisions and actions), the leader key as the watch saw it. For finding where the time of a
   * takeover goes (`--trace`).
   */
  timeline(
    from: number,
    to: number,
    zero = from,
    extra: readonly { at: number; line: string }[] = [],
  ): string[] {
    const rows: { at: number; line: string }[] = [...extra];
    for (const c of this.commands)
      rows.push({ at: c.at, line: `${c.site}  cmd   ${c.argv.map((a) => path.basename(a)).join(' ')}` });
    for (const l of this.leaderAt) rows.push({ at: l.at, line: `-  key   ${l.site ?? 'free'}` });
    for (const a of this.agents.values()) {
      for (const text of a.out.split('\n')) {
        let j: { timestamp?: string; message?: string; reason?: string; detail?: string };
        try {
          j = JSON.parse(text) as typeof j;
        } catch {
          continue;
        }
        if (j.timestamp === undefined) continue;
        const reason = j.reason !== undefined ? ` ${j.reason}` : '';
        rows.push({
          at: Date.parse(j.timestamp),
          line: `${a.site}  log   ${j.message ?? ''}${reason}: ${j.detail ?? ''}`,
        });
      }
    }
    return rows
      .filter((r) => r.at >= from && r.at <= to)
      .sort((x, y) => x.at - y.at)
      .map((r) => `${String(r.at - zero).padStart(7)} ms  ${r.line}`);
  }

  /**
   * When the simulator finished `site`'s takeover after `after` (its log replayed: commits are
   * taken from then on), in ms since the epoch; undefined: not (yet).
   */
  takeoverCompleteAt(site: Site, after: number): number | undefined {
    for (const e of this.landscape.events()) {
      const at = this.landscapeAt + Math.round(e.t * 1000);
      if (e.site === site && e.event === 'takeover-complete' && at >= after) return at;
    }
    return undefined;
  }

  /** A node's power as its fence device (fence_dummy's status file) has it; undefined: no device. */
  power(site: Site): string | undefined {
    if (this.fenceDir === undefined) return undefined;
    try {
      return readFileSync(path.join(this.fenceDir, `${site}.status`), 'utf8').trim();
    } catch {
      return undefined;
    }
  }

  /** When an agent first logged an event with this reason after `t` (its log line's timestamp). */
  loggedAt(site: Site, reason: string, after: number): number | undefined {
    for (const text of this.agents.get(site)!.out.split('\n')) {
      let j: { timestamp?: string; reason?: string };
      try {
        j = JSON.parse(text) as typeof j;
      } catch {
        continue;
      }
      if (j.reason !== reason || j.timestamp === undefined) continue;
      const at = Date.parse(j.timestamp);
      if (at >= after) return at;
    }
    return undefined;
  }

  /** When the leader key first named `site` after `t`. */
  leaderOnAt(site: Site, after: number): number | undefined {
    return this.leaderAt.find((l) => l.site === site && l.at >= after)?.at;
  }

  async close(): Promise<void> {
    this.leaderWatch?.close();
    for (const a of this.agents.values()) await a.kill();
    await this.control.close();
    await Promise.all([...this.sql.values()].map((s) => s.close()));
    this.landscape.dispose();
    await this.bench.custom
      .deleteNamespacedCustomObject({
        group: 'hanasr.io',
        version: 'v1alpha1',
        plural: 'hanasystemreplications',
        namespace: NAMESPACE,
        name: this.name,
      })
      .catch(() => undefined);
  }
}
