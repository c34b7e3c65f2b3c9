// Why this file is long: it wires every component of the demo landscape (API, store, sites, agents, operator, SQL endpoints) and undoes each on stop.
/**
 * A whole hanasr landscape on one machine, for `npm start` / `hanasr demo`:
 * the embedded Kubernetes API (the project's fake API server, with a kubeconfig on disk), the
 * coordination store (a local etcd when the binary is on PATH, else in memory), simulated HANA
 * sites each with its real Agent (the command path: simulated hdbnsutil/sapcontrol text, parsed),
 * and the operator. The manifest is applied like `kubectl apply`; DBAs can use kubectl and the
 * hanasr CLI against it while it runs.
 */
import { siteClock } from '../sim/site-clock.js';
import {
  closeSync,
  constants,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { Agent, type AgentEvent } from '../agent/agent.js';
import { ANNOTATION_PLANNED_TAKEOVER, GROUP, PLURAL, VERSION } from '../api/resource.js';
import { parseSpec, type HanaSystemReplicationSpec } from '../api/spec.js';
import { realClock } from '../clock.js';
import { etcdConfigOf, parseStoreConnection } from '../coordination/config.js';
import { EtcdCoordination } from '../coordination/etcd.js';
import { MemoryCoordination } from '../coordination/memory.js';
import type { ClusterState, Coordination } from '../coordination/port.js';
import { simCommandPort } from '../standins/hana-sim/command-port.js';
import { SimLandscape } from '../standins/hana-sim/model.js';
import { simPeerProbe } from '../standins/hana-sim/peer-probe.js';
import { startFakeApiServer, type FakeApiServer } from '../standins/kube-api/index.js';
import { TcpProxy } from '../net/tcp-proxy.js';
import { defaultClusterKey } from '../operator/controller.js';
import { startOperator, type OperatorHandle } from '../operator/run.js';
import type { FaultTarget } from '../sim/faults.js';
import { SimNodeDevices, type SimNodeDevicesOptions } from '../standins/hana-sim/devices.js';
import { maxWatchdogTimeoutSeconds } from '../domain/fencing.js';
import { findEtcd, startLocalEtcd, type LocalEtcd } from './etcd.js';
import { startSqlEndpoints, type SqlEndpoints } from './sql-endpoint.js';
import { applyLandscapeObjects, rwServiceSite } from './kube-setup.js';

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface DemoOptions {
  /** The HanaSystemReplication manifest to apply (YAML object). */
  readonly manifest: Record<string, unknown>;
  /** Where the kubeconfig, the etcd data and the logs go. */
  readonly stateDir: string;
  readonly coordination: 'auto' | 'etcd' | 'memory';
  /** Port of the embedded Kubernetes API (0: any free port). */
  readonly apiPort?: number;
  /** Which site starts as primary (default: the first). */
  readonly initialPrimary?: string;
  readonly seed?: number;
  readonly writesPerSecond?: number;
  /** Seconds an instance takes to start (HANA takes minutes; the demo is impatient). */
  readonly startSeconds?: number;
  /** Seconds a node takes to boot after a watchdog reset or a fence "on" (default 15). */
  readonly bootSeconds?: number;
  /** Every node's watchdog timeout (default lease.ttlSeconds - fencing.watchdog.safetyMarginSeconds). */
  readonly watchdogTimeoutSeconds?: number;
  /** Per node: another watchdog timeout, or none (a scenario's nodes.sites). */
  readonly nodeSites?: SimNodeDevicesOptions['sites'];
}

export interface TimelineItem {
  /** Grows by one per item, for readers that follow the (bounded) timeline. */
  readonly seq: number;
  readonly at: number;
  readonly source: 'agent' | 'event' | 'fault' | 'demo';
  readonly site: string;
  readonly text: string;
}

export interface SiteRow {
  readonly site: string;
  readonly role: string;
  readonly hana: string;
  readonly replication: string;
  readonly inSync: string;
  readonly lagSeconds: number | null;
  readonly leader: boolean;
  readonly agent: boolean;
}

export interface Demo {
  readonly apiUrl: string;
  readonly kubeconfigPath: string;
  /** "etcd 127.0.0.1:PORT (local)" or "in-memory (no etcd on PATH)". */
  readonly coordinationDescription: string;
  /** The local etcd's client URL, or null on the in-memory store. */
  readonly etcdEndpoint: string | null;
  readonly namespace: string;
  readonly name: string;
  readonly clusterKey: string;
  readonly model: SimLandscape;
  /** SQL over HANA's wire protocol: per site, and read-write through the -rw Service. */
  readonly sql: SqlEndpoints;
  readonly target: FaultTarget;
  readonly timeline: readonly TimelineItem[];
  /** Current leader and epoch, as the store says. */
  state(): Promise<ClusterState | null>;
  rows(state: ClusterState | null): SiteRow[];
  note(text: string, site?: string): void;
  stop(): Promise<void>;
}

/** The file that marks a directory as a demo state directory (made by prepareStateDir). */
const MARKER = '.hanasr-demo';

/**
 * Throws unless `dir` is a real directory (not a symlink) owned by this user with no access for
 * group or others: what a state directory must be before anything in it is trusted or written.
 */
export function checkPrivateDir(dir: string): void {
  const info = lstatSync(dir);
  if (info.isSymbolicLink()) throw new Error(`state directory ${dir} is a symbolic link: refused`);
  if (!info.isDirectory()) throw new Error(`state directory ${dir} is not a directory`);
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid)
    throw new Error(`state directory ${dir} belongs to another user: refused`);
  if ((info.mode & 0o077) !== 0)
    throw new Error(
      `state directory ${dir} is open to group or others (mode ${(info.mode & 0o777).toString(8)})`,
    );
}

/**
 * Makes `dir` a fresh, private state directory (mode 0700): created when missing; an earlier
 * demo's directory (private, ours, with the marker) is removed with everything in it (symlinks
 * are unlinked, never followed) and made again. Anything else — a symlink, another user's or an
 * open directory, a directory hanasr did not make — is refused, untouched.
 */
export function prepareStateDir(dir: string): void {
  let exists = true;
  try {
    lstatSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    exists = false;
  }
  if (exists) {
    checkPrivateDir(dir);
    let ours = false;
    try {
      ours = lstatSync(join(dir, MARKER)).isFile();
    } catch {
      ours = readdirSync(dir).length === 0;
    }
    if (!ours)
      throw new Error(
        `state directory ${dir} was not made by hanasr demo: remove it or choose another --state-dir`,
      );
    rmSync(dir, { recursive: true });
  } else {
    mkdirSync(dirname(dir), { recursive: true });
  }
  // Not recursive: fails if anyone created the name meanwhile.
  mkdirSync(dir, { mode: 0o700 });
  checkPrivateDir(dir);
  closeSync(openPrivate(join(dir, MARKER)));
}

/** Opens a new file of mode 0600 for writing; fails on anything already there, symlinks included. */
function openPrivate(path: string): number {
  return openSync(
    path,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
}

export async function startDemo(options: DemoOptions): Promise<Demo> {
  prepareStateDir(options.stateDir);
  const manifest = options.manifest as {
    metadata?: { name?: string; namespace?: string };
    spec?: unknown;
  };
  const name = manifest.metadata?.name ?? 'hsr';
  const namespace = manifest.metadata?.namespace ?? 'default';
  const spec0: HanaSystemReplicationSpec = parseSpec(manifest.spec, 'spec');
  const clusterKey = defaultClusterKey(namespace, name);
  const timeline: TimelineItem[] = [];
  let seq = 0;
  const note = (text: string, site = '*', source: TimelineItem['source'] = 'demo') => {
    timeline.push({ seq: ++seq, at: Date.now(), source, site, text });
    if (timeline.length > 500) timeline.splice(0, timeline.length - 500);
  };
  const cleanups: (() => Promise<void> | void)[] = [];
  const stopAll = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
    cleanups.length = 0;
  };

  try {
    // 1. The Kubernetes API, the CRD, the namespace, the site pods, the manifest.
    const api: FakeApiServer = await startFakeApiServer({
      host: '127.0.0.1',
      ...(options.apiPort !== undefined ? { port: options.apiPort } : {}),
    });
    cleanups.push(() => api.close());
    const kubeconfigPath = join(options.stateDir, 'kubeconfig');
    // Created here, exclusively and without following a link, before the API server fills it.
    closeSync(openPrivate(kubeconfigPath));
    api.writeKubeconfig(kubeconfigPath);
    const kc = api.kubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    await applyLandscapeObjects(kc, {
      manifest,
      name,
      namespace,
      sites: spec0.sites,
      fieldManager: 'hanasr-demo',
    });

    // 2. Coordination.
    let coordinationDescription: string;
    let operatorStore: Coordination;
    let agentStore: (site: string) => Promise<Coordination>;
    let cut: (site: string, isCut: boolean) => Promise<void>;
    let setAvailable: (available: boolean) => Promise<void>;
    let etcdEndpoint: string | null = null;
    const etcdBinary = options.coordination === 'memory' ? null : findEtcd();
    if (options.coordination === 'etcd' && etcdBinary === null) {
      throw new Error(
        'no etcd binary on PATH (Debian: apt-get install etcd-server), or use --coordination memory',
      );
    }
    if (etcdBinary !== null) {
      const etcd: LocalEtcd = await startLocalEtcd(etcdBinary, join(options.stateDir, 'etcd'));
      cleanups.push(() => etcd.stop());
      etcdEndpoint = etcd.endpoint;
      coordinationDescription = `etcd ${etcd.endpoint.replace('http://', '')} (local, ${etcdBinary})`;
      // The same connection shape as the agent, the operator and the DBA commands (no TLS, no auth).
      const connectionOf = (endpoint: string) =>
        etcdConfigOf(parseStoreConnection({ endpoints: [endpoint], callTimeoutMs: 1000 }), {
          leaseTtlSeconds: spec0.lease.ttlSeconds,
          readPassword: () => {
            throw new Error('the demo etcd has no users');
          },
        });
      const operatorEtcd = new EtcdCoordination(connectionOf(etcd.endpoint));
      cleanups.push(() => operatorEtcd.close());
      operatorStore = operatorEtcd;
      const proxies = new Map<string, TcpProxy>();
      agentStore = async (site) => {
        // Each agent reaches etcd through its own proxy, so one site can be cut off.
        let proxy = proxies.get(site);
        if (!proxy) {
          proxy = await TcpProxy.start(etcd.endpoint);
          proxies.set(site, proxy);
          const p = proxy;
          cleanups.push(() => p.close());
        }
        const store = new EtcdCoordination(connectionOf(proxy.endpoint));
        cleanups.push(() => store.close());
        return store;
      };
      cut = async (site, isCut) => {
        const proxy = proxies.get(site);
        if (!proxy) return;
        if (isCut) await proxy.blackhole();
        else await proxy.heal();
      };
      setAvailable = async (available) => (available ? etcd.resume() : etcd.pause());
    } else {
      const memory = new MemoryCoordination(realClock, { watches: true });
      coordinationDescription = 'in-memory (no etcd on PATH; install etcd-server for a real one)';
      operatorStore = memory;
      agentStore = async () => memory;
      cut = async (site, isCut) => memory.cut(site, isCut);
      setAvailable = async (available) => memory.setAvailable(available);
    }

    // 3. The simulated HANA landscape.
    const model = new SimLandscape({
      sid: spec0.sid,
      instanceNumber: spec0.instanceNumber,
      sites: spec0.sites.map((s) => ({
        name: s.name,
        host: s.host,
        ...(s.source ? { source: s.source } : {}),
      })),
      initialPrimary: options.initialPrimary ?? spec0.sites[0]!.name,
      mode: spec0.replication.mode,
      operationMode: spec0.replication.operationMode,
      logShippingTimeoutSeconds: spec0.replication.logShippingTimeoutSeconds,
      clock: realClock,
      seed: options.seed ?? 1,
      writesPerSecond: options.writesPerSecond ?? 20,
      startSeconds: options.startSeconds ?? 8,
    });
    cleanups.push(() => model.dispose());

    // 4. The operator (it publishes the spec the agents follow).
    const operatorLog = openPrivate(join(options.stateDir, 'operator.log'));
    cleanups.push(() => closeSync(operatorLog));
    const operator: OperatorHandle = await startOperator(
      {
        coordination: etcdEndpoint !== null ? 'etcd' : 'memory',
        bindAddress: '127.0.0.1',
        healthPort: 0,
        metricsPort: 0,
        resyncIntervalSeconds: 1,
        kubeTimeoutSeconds: 5,
        podName: 'hanasr-operator-demo',
        ...(etcdEndpoint !== null ? { etcd: { endpoints: [etcdEndpoint] } } : {}),
      },
      {
        kubeConfig: kc,
        coordination: operatorStore,
        log: (level, message, fields) => {
          writeSync(operatorLog, JSON.stringify({ level, message, ...fields }) + '\n');
        },
      },
    );
    cleanups.push(() => operator.stop());

    // 5. One agent per site, following the published spec (the manifest's until then).
    let spec = spec0;
    let following = true;
    const follow = (async () => {
      while (following) {
        try {
          const state = await operatorStore.read(clusterKey);
          if (state.spec !== undefined) spec = parseSpec(state.spec);
        } catch {
          // store unreachable: keep the last spec, as a real agent does
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    cleanups.push(async () => {
      following = false;
      await follow;
    });
    const agents = new Map<string, Agent>();
    const onEvent = (e: AgentEvent) => {
      if (e.event === 'decision' && e.action === 'none' && !/maintenance|failed|waiting|wait/.test(e.reason))
        return;
      note(`${e.event === 'decision' ? 'decides' : e.event}: ${e.message}`, e.site, 'agent');
    };
    const startAgent = async (site: string) => {
      if (agents.has(site)) return;
      // Each site on its own host clock (skew-clock moves it); timers stay on the real clock.
      const offset = () => model.clockOffsetMs(site);
      const agent = new Agent({
        cluster: clusterKey,
        site,
        spec: () => spec,
        hana: simCommandPort(spec0, site, model.site(site), realClock),
        coordination: await agentStore(site),
        clock: siteClock(realClock, offset),
        peers: simPeerProbe(model, site),
        onEvent,
        storeTimeoutMs: 1000,
        actionTimeoutMs: 30_000,
        // The node's devices, opened by this agent process (a new process opens them anew).
        ...nodeDevicesOf(site),
      });
      agents.set(site, agent);
      await agent.start();
    };
    const killAgent = (site: string) => {
      agents.get(site)?.kill();
      agents.delete(site);
    };
    const nodeDevicesOf = (site: string) => {
      const watchdog = devices.watchdog(site);
      return { watchdog: () => watchdog, fenceAgent: devices.fenceAgent(site) };
    };
    // Every node's watchdog and fence device (fail-fencing, remove-watchdog...), as in simulate.
    const devices = new SimNodeDevices({
      model,
      clock: realClock,
      watchdogTimeoutSeconds:
        options.watchdogTimeoutSeconds ?? Math.max(1, Math.floor(maxWatchdogTimeoutSeconds(spec0))),
      bootSeconds: options.bootSeconds ?? 15,
      ...(options.nodeSites !== undefined ? { sites: options.nodeSites } : {}),
      onNodeDown: (site, cause) => {
        note(
          cause === 'fenced-off' ? 'node powered off by a fence agent' : 'node reset by its watchdog',
          site,
        );
        killAgent(site);
      },
      onNodeUp: async (site) => {
        note('node booted; its agent starts', site);
        await startAgent(site);
      },
    });
    cleanups.push(() => devices.dispose());
    cleanups.push(async () => {
      // Ctrl-C should be quick: an in-flight start of a simulated site is not worth waiting for.
      await Promise.all([...agents.values()].map((a) => a.stop({ graceMs: 2000 })));
      agents.clear();
    });
    for (const s of spec0.sites) await startAgent(s.name);

    // 6. Kubernetes Events into the timeline.
    let polling = true;
    const seenEvents = new Set<string>();
    const events = (async () => {
      while (polling) {
        try {
          const list = await core.listNamespacedEvent({ namespace });
          for (const ev of list.items) {
            const uid = ev.metadata?.uid ?? `${ev.metadata?.name}`;
            if (seenEvents.has(uid)) continue;
            seenEvents.add(uid);
            note(
              `Event ${ev.type ?? ''} ${ev.reason ?? ''}: ${ev.message ?? ''}`.replace(/\s+/g, ' '),
              '*',
              'event',
            );
          }
        } catch {
          // the API is part of the demo: an error here only delays the timeline
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    cleanups.push(async () => {
      polling = false;
      await events;
    });

    // 7. SQL: one wire-protocol server per site and the read-write endpoint, which follows the
    // -rw Service the operator keeps on the active site (as kube-proxy would).
    let rwSite: string | null = null;
    let routing = true;
    const route = (async () => {
      while (routing) {
        rwSite = await rwServiceSite(core, namespace, name);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    cleanups.push(async () => {
      routing = false;
      await route;
    });
    const sql = await startSqlEndpoints({
      model,
      rwSite: () => rwSite,
      passwordFile: join(options.stateDir, 'sql-password'),
    });
    cleanups.push(() => sql.close());

    // What a DBA does with kubectl: a merge patch on the resource.
    const patchResource = async (body: object): Promise<void> => {
      await custom.patchNamespacedCustomObject(
        { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body },
        merge,
      );
    };
    const target: FaultTarget = {
      model,
      leader: () =>
        operatorStore
          .read(clusterKey)
          .then((s) => s.leader?.site ?? null)
          .catch(() => null),
      devices,
      cutCoordination: cut,
      setCoordinationAvailable: setAvailable,
      startAgent,
      killAgent,
      setMaintenance: (on) => patchResource({ spec: { maintenance: on } }),
      plannedTakeover: (site) =>
        patchResource({ metadata: { annotations: { [ANNOTATION_PLANNED_TAKEOVER]: site } } }),
    };

    note(`landscape up: Kubernetes API ${api.url}, coordination ${coordinationDescription}`);
    return {
      apiUrl: api.url,
      kubeconfigPath,
      coordinationDescription,
      etcdEndpoint,
      namespace,
      name,
      clusterKey,
      model,
      sql,
      target,
      timeline,
      note: (text, site) => note(text, site),
      state: () => operatorStore.read(clusterKey).catch(() => null),
      rows: (state) =>
        spec0.sites.map((s) => {
          const snap = model.site(s.name).snapshot();
          const report = state?.reports[s.name];
          const leaderSite = state?.leader?.site;
          let replication = '-';
          let inSync = '-';
          let lagSeconds: number | null = null;
          for (const src of spec0.sites) {
            const link = model
              .site(src.name)
              .snapshot()
              .links.find((l) => l.secondarySite === s.name);
            if (link) {
              replication = `${link.mode}/${link.status}`;
              inSync = link.fullySynced ? 'SOK' : 'SFAIL';
              lagSeconds = Math.max(0, (link.lastLogPositionTime - link.shippedLogPositionTime) / 1000);
            }
          }
          const hana = !snap.nodeUp
            ? 'node down'
            : snap.frozen
              ? 'frozen'
              : snap.hung === true
                ? 'hung'
                : snap.running
                  ? snap.suspended
                    ? 'suspended'
                    : 'running'
                  : snap.processes.some((p) => p.dispstatus === 'YELLOW')
                    ? 'starting'
                    : 'stopped';
          return {
            site: s.name,
            role: snap.srMode === 'primary' ? 'primary' : snap.srMode === 'none' ? 'none' : 'secondary',
            hana: model.acceptsWrites(s.name) ? `${hana}, writable` : hana,
            replication,
            inSync,
            lagSeconds,
            leader: leaderSite === s.name,
            agent: report !== undefined,
          };
        }),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
