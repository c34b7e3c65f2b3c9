// Why this file is long: the chaos landscape on real processes (agents, operators, etcd through proxies, API, simulator, SQL) and the truth it records for the checker.
/**
 * The chaos suite's landscape, all real processes where the product has them: two `hanasr agent`
 * processes (sites A and B, each with its own wall-clock offset through HANASR_CLOCK_OFFSET_FILE),
 * two `hanasr operator` replicas (one active through the etcd election), a three-member etcd
 * (test/support/etcd.ts) and the embedded Kubernetes API (the project's fake API server over
 * HTTP). Every agent and operator reaches every etcd member through its own TcpProxy
 * (src/net/tcp-proxy.ts), so a fault can partition or slow one process' links.
 *
 * HANA is the simulator on the real clock in this process: the agents run the real hdbnsutil /
 * sapcontrol / HDBSettings.sh path through the fake executables (src/hana/sim/bin, answered by the
 * simulator's control server) and SQL through the wire-protocol servers of src/demo/sql-endpoint.ts,
 * whose read-write endpoint follows the `ha1-rw` Service the operator moves (as kube-proxy does,
 * and as `hanasr demo` serves examples/app).
 *
 * The rig records the simulator's truth for the checker: the writable sites at every change
 * (sampled every 20 ms) and every takeover the simulator executed, with what the promoted site
 * lacked at that moment.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { realClock } from '../../src/clock.js';
import { EtcdCoordination } from '../../src/coordination/etcd.js';
import { applyLandscapeObjects, rwServiceSite } from '../../src/demo/kube-setup.js';
import { startSqlEndpoints, type SqlEndpoints } from '../../src/demo/sql-endpoint.js';
import { startSimControlServer, type SimControlServer } from '../../src/standins/hana-sim/control-server.js';
import { SimLandscape } from '../../src/standins/hana-sim/model.js';
import type { SimSiteControl } from '../../src/standins/hana-sim/snapshot.js';
import { startFakeApiServer, type FakeApiServer } from '../../src/standins/kube-api/index.js';
import { TcpProxy } from '../../src/net/tcp-proxy.js';
import { agentArgv, CLI_SOURCE, REPO_ROOT, SIM_BIN } from '../../rigs/agent-argv.js';
import { EtcdCluster, freePort } from '../../rigs/etcd.js';
import { TWO_SITES } from '../../rigs/spec.js';
import { poller, sleep } from '../../rigs/wait.js';
import type { Promotion, Truth } from './checker.js';

const root = REPO_ROOT;
const cli = CLI_SOURCE;

export const NAMESPACE = 'chaos';
export const NAME = 'ha1';
export const CLUSTER = `${NAMESPACE}.${NAME}`;
export const PREFIX = '/hanasr-chaos';
export const SITES = ['A', 'B'] as const;
export type Site = (typeof SITES)[number];
const PEER_TOKEN = 'Chaos-Peer-Token-7c41e0b95d';

/** The HA settings of the chaos landscape: sync, automatic takeover and registration. */
export const SPEC = {
  ...TWO_SITES,
  replication: { mode: 'sync', operationMode: 'logreplay', logShippingTimeoutSeconds: 60 },
  takeover: { automatic: true, preferSiteTakeover: true, automatedRegister: true, failureThreshold: 2 },
  probes: { intervalSeconds: 2, timeoutSeconds: 6 },
  lease: { ttlSeconds: 6 },
} as const;

/** Polls every 100 ms for up to 60 s unless told (rigs/wait.ts). */
export const until = poller({ timeoutMs: 60_000, everyMs: 100 });

/** One `hanasr` process of the rig: started, SIGKILLed, SIGSTOPped and started again. */
export class ChaosProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private output = '';
  /** How often it was started. */
  starts = 0;
  paused = false;
  /** JSON log lines that announce a finished takeover (agents). */
  readonly takeovers: { readonly time: number; readonly epoch: unknown }[] = [];

  constructor(
    readonly name: string,
    private readonly argv: readonly string[],
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  get running(): boolean {
    return this.child !== null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The last lines it printed (for failure messages). */
  tail(chars = 3000): string {
    return this.output.slice(-chars);
  }

  start(): void {
    if (this.child) return;
    const child = spawn(process.execPath, ['--import', 'tsx', cli, ...this.argv], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...this.env },
    });
    this.starts++;
    this.paused = false;
    let buf = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.output = (this.output + text).slice(-20_000);
      buf += text;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.includes('"agent action done"')) continue;
        try {
          const l = JSON.parse(line) as { decision?: string; epoch?: unknown };
          if (l.decision === 'takeover') this.takeovers.push({ time: Date.now(), epoch: l.epoch });
        } catch {
          // not a log line
        }
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-20_000);
    });
    this.child = child;
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        if (this.child === child) this.child = null;
        resolve();
      }),
    );
  }

  /** Sends `signal` and waits for the exit (SIGKILL and SIGTERM). */
  async stop(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (this.paused) child.kill('SIGCONT');
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
    this.paused = false;
  }

  pause(): void {
    if (!this.child || this.paused) return;
    this.child.kill('SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    if (!this.child || !this.paused) return;
    this.child.kill('SIGCONT');
    this.paused = false;
  }
}

/** The workload's keys in what `site` holds (its committed client transactions). */
export function keysOn(model: SimLandscape, site: string): Set<string> {
  const keys = new Set<string>();
  for (const tx of model.clientData(site) as readonly { kind: string; added?: unknown[][] }[][]) {
    for (const change of tx) {
      if (change.kind !== 'rows') continue;
      for (const row of change.added ?? []) if (typeof row[0] === 'string') keys.add(row[0]);
    }
  }
  return keys;
}

export interface ChaosRig {
  readonly dir: string;
  readonly etcd: EtcdCluster;
  readonly model: SimLandscape;
  readonly sql: SqlEndpoints;
  readonly sqlPassword: string;
  readonly agents: ReadonlyMap<Site, ChaosProcess>;
  readonly operators: readonly ChaosProcess[];
  /** Per process name (agent-A, operator-1...): its proxies, one per etcd member. */
  readonly proxies: ReadonlyMap<string, readonly TcpProxy[]>;
  readonly promotions: readonly Promotion[];
  /** The site the -rw Service selects now (null: none). */
  rwSite(): string | null;
  /** The wall clock of `site`'s host (its agent and its HANA) runs `ms` off true time from now. */
  setClockOffset(site: Site, ms: number): void;
  clockOffset(site: Site): number;
  /**
   * Until a writable primary leads with its secondary in sync (in HANA and in the store's sync
   * record), the -rw Service on it and every process up.
   */
  steady(timeoutMs: number): Promise<string>;
  /** The simulator's truth for the checker (call once the run is over). */
  truth(): Truth;
  /** Every process' last lines (for a failure message). */
  logs(): string;
  close(): Promise<void>;
}

export interface ChaosRigOptions {
  readonly seed: number;
}

export async function startChaosRig(options: ChaosRigOptions): Promise<ChaosRig> {
  const dir = mkdtempSync(path.join(tmpdir(), 'hanasr-chaos-'));
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(dir, { recursive: true, force: true })];
  const closeAll = async () => {
    for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => {});
  };
  try {
    const etcd = await EtcdCluster.start({ members: 3, startTimeoutMs: 30_000 });
    cleanups.push(() => etcd.stop());

    // The Kubernetes API with the CRD, the site pods and the manifest.
    const api: FakeApiServer = await startFakeApiServer({ host: '127.0.0.1' });
    cleanups.push(() => api.close());
    const kubeconfig = path.join(dir, 'kubeconfig');
    api.writeKubeconfig(kubeconfig);
    const kc = api.kubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    const manifest = {
      apiVersion: 'hanasr.io/v1alpha1',
      kind: 'HanaSystemReplication',
      metadata: { name: NAME, namespace: NAMESPACE },
      spec: SPEC,
    };
    await applyLandscapeObjects(kc, {
      manifest,
      name: NAME,
      namespace: NAMESPACE,
      sites: SPEC.sites,
      fieldManager: 'hanasr-chaos',
    });

    // HANA: the simulator, its SQL endpoints (the -rw one follows the Service) and its commands.
    const model = new SimLandscape({
      sid: SPEC.sid,
      instanceNumber: SPEC.instanceNumber,
      sites: SPEC.sites.map((s) => ({ ...s })),
      initialPrimary: 'A',
      mode: SPEC.replication.mode,
      operationMode: SPEC.replication.operationMode,
      logShippingTimeoutSeconds: SPEC.replication.logShippingTimeoutSeconds,
      clock: realClock,
      seed: options.seed,
      writesPerSecond: 10,
      startSeconds: 4,
    });
    cleanups.push(() => model.dispose());
    let rwSite: string | null = null;
    let routing = true;
    const route = (async () => {
      while (routing) {
        rwSite = await rwServiceSite(core, NAMESPACE, NAME);
        await sleep(100);
      }
    })();
    cleanups.push(async () => {
      routing = false;
      await route;
    });
    const passwordFile = path.join(dir, 'sql-password');
    const sql = await startSqlEndpoints({ model, rwSite: () => rwSite, passwordFile, pollMs: 100 });
    cleanups.push(() => sql.close());
    const sqlPassword = readFileSync(passwordFile, 'utf8').trim();

    const promotions: Promotion[] = [];
    const observed = (site: string): SimSiteControl => {
      const inner = model.site(site);
      return new Proxy(inner, {
        get(target, prop, receiver) {
          if (prop === 'takeover')
            return (o: { handshake: boolean }) => {
              target.takeover(o);
              promotions.push({
                time: Date.now(),
                site,
                handshake: o.handshake,
                // The measure of the random schedules' in-sync-promotion invariant.
                missingAcknowledged: model.missingAcknowledged(site),
                heldKeys: keysOn(model, site),
              });
            };
          const v: unknown = Reflect.get(target, prop, receiver);
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
    };
    const control: SimControlServer = await startSimControlServer(
      new Map<string, SimSiteControl>(SITES.map((s) => [s, observed(s)])),
    );
    cleanups.push(() => control.close());

    // The truth: which sites accept writes, at every change.
    const writable: { time: number; sites: string[] }[] = [];
    const sample = () => {
      const sites = model.writableSites();
      const last = writable[writable.length - 1];
      if (!last || last.sites.join() !== sites.join()) writable.push({ time: Date.now(), sites });
    };
    sample();
    const sampler = setInterval(sample, 20);
    cleanups.push(() => clearInterval(sampler));

    // Every process reaches every etcd member through proxies of its own.
    const proxies = new Map<string, TcpProxy[]>();
    cleanups.push(async () => {
      await Promise.allSettled([...proxies.values()].flat().map((p) => p.close()));
    });
    const endpointsOf = async (name: string): Promise<string[]> => {
      const list: TcpProxy[] = [];
      for (const e of etcd.endpoints) list.push(await TcpProxy.start(e));
      proxies.set(name, list);
      return list.map((p) => p.endpoint);
    };
    const portOf = (hostPort: string) => Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));

    writeFileSync(path.join(dir, 'hsr.json'), JSON.stringify(SPEC));
    writeFileSync(path.join(dir, 'peer-token'), `${PEER_TOKEN}\n`, { mode: 0o600 });
    const statusPorts = new Map<Site, number>();
    for (const site of SITES) statusPorts.set(site, await freePort());
    const offsets = new Map<Site, number>();
    const agents = new Map<Site, ChaosProcess>();
    const processes: ChaosProcess[] = [];
    cleanups.push(async () => {
      await Promise.allSettled(processes.map((p) => p.stop('SIGKILL')));
    });
    for (const site of SITES) {
      const peer: Site = site === 'A' ? 'B' : 'A';
      const offsetFile = path.join(dir, `clock-offset-${site}`);
      writeFileSync(offsetFile, '0\n');
      offsets.set(site, 0);
      const agent = new ChaosProcess(
        `agent-${site}`,
        agentArgv({
          cluster: NAME,
          site,
          specFile: path.join(dir, 'hsr.json'),
          etcdEndpoints: await endpointsOf(`agent-${site}`),
          etcdPrefix: PREFIX,
          sqlPort: portOf(sql.sites[site]!),
          peer: { site: peer, sqlPort: portOf(sql.sites[peer]!), statusPort: statusPorts.get(peer)! },
          peerTokenFile: path.join(dir, 'peer-token'),
          statusPort: statusPorts.get(site)!,
          extra: [
            '--namespace',
            NAMESPACE,
            '--hdb',
            path.join(SIM_BIN, 'HDB'),
            '--stop-timeout-seconds',
            '10',
            '--sql-user',
            sql.user,
            '--sql-password-file',
            passwordFile,
          ],
        }),
        {
          HANASR_SIM_URL: control.url,
          HANASR_SIM_SITE: site,
          HANASR_CLOCK_OFFSET_FILE: offsetFile,
        },
      );
      agents.set(site, agent);
      processes.push(agent);
    }
    const operators: ChaosProcess[] = [];
    for (const n of [1, 2]) {
      const op = new ChaosProcess(
        `operator-${n}`,
        [
          'operator',
          '--coordination',
          'etcd',
          '--etcd-endpoints',
          (await endpointsOf(`operator-${n}`)).join(','),
          '--etcd-prefix',
          PREFIX,
          '--etcd-call-timeout-ms',
          '800',
          '--election-ttl-seconds',
          '3',
          '--kubeconfig',
          kubeconfig,
          '--pod-name',
          `hanasr-operator-${n}`,
          '--pod-namespace',
          NAMESPACE,
          '--watch-namespace',
          NAMESPACE,
          '--bind-address',
          '127.0.0.1',
          '--metrics-port',
          '0',
          '--health-port',
          '0',
          '--resync-interval-seconds',
          '1',
          '--kube-timeout-seconds',
          '3',
        ],
        {},
      );
      operators.push(op);
      processes.push(op);
    }
    for (const p of processes) p.start();

    const observer = new EtcdCoordination({
      endpoints: etcd.endpoints,
      keyPrefix: PREFIX,
      callTimeoutMs: 1000,
    });
    cleanups.push(() => observer.close());

    const logs = () =>
      [...processes.map((p) => `--- ${p.name} (started ${p.starts}x) ---\n${p.tail()}`)].join('\n');

    const rig: ChaosRig = {
      dir,
      etcd,
      model,
      sql,
      sqlPassword,
      agents,
      operators,
      proxies,
      promotions,
      rwSite: () => rwSite,
      setClockOffset: (site, ms) => {
        const before = offsets.get(site) ?? 0;
        offsets.set(site, ms);
        writeFileSync(path.join(dir, `clock-offset-${site}`), `${Math.round(ms)}\n`);
        model.skewClock(site, (ms - before) / 1000);
      },
      clockOffset: (site) => offsets.get(site) ?? 0,
      steady: async (timeoutMs) =>
        until(
          'a writable primary leading, its secondary in sync, the -rw Service on it',
          async () => {
            const w = model.writableSites();
            if (w.length !== 1) return undefined;
            const primary = w[0]!;
            const link = model.site(primary).snapshot().links[0];
            if (!link?.fullySynced || rwSite !== primary) return undefined;
            if (!processes.every((p) => p.running && !p.paused)) return undefined;
            const state = await observer.read(CLUSTER).catch(() => null);
            const secondary = SITES.find((s) => s !== primary)!;
            return state?.leader?.site === primary && state.sync[secondary]?.state === 'SOK'
              ? primary
              : undefined;
          },
          timeoutMs,
          200,
        ).catch((err: Error) => {
          throw new Error(`${err.message}\n${logs()}`);
        }),
      truth: () => {
        const w = model.writableSites();
        const finalPrimary = w.length === 1 ? w[0]! : null;
        const forced = model
          .events()
          .filter((e) => e.event === 'manual-takeover' || e.event === 'manual-register');
        return {
          mode: SPEC.replication.mode,
          writable,
          maxConcurrentWritable: model.stats(finalPrimary).maxConcurrentWritable,
          promotions,
          forcedTakeovers: forced.length,
          finalPrimary,
          finalKeys: finalPrimary ? keysOn(model, finalPrimary) : new Set<string>(),
          simLostCommits: finalPrimary ? model.stats(finalPrimary).lostCommittedWrites : null,
        };
      },
      logs,
      close: closeAll,
    };
    return rig;
  } catch (err) {
    await closeAll();
    throw err;
  }
}
