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
import { closeSync, lstatSync, mkdirSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Agent, type AgentEvent } from '../agent/agent.js';
import { ANNOTATION_PLANNED_TAKEOVER } from '../api/resource.js';
import { parseSpec, type HanaSystemReplicationSpec } from '../api/spec.js';
import { realClock } from '../clock.js';
import type { ClusterState } from '../coordination/port.js';
import { simCommandPort } from '../standins/hana-sim/command-port.js';
import { SimLandscape } from '../standins/hana-sim/model.js';
import { simPeerProbe } from '../standins/hana-sim/peer-probe.js';
import { defaultClusterKey } from '../operator/controller.js';
import { startOperator, type OperatorHandle } from '../operator/run.js';
import type { FaultTarget } from '../sim/faults.js';
import { SimNodeDevices, type SimNodeDevicesOptions } from '../standins/hana-sim/devices.js';
import { maxWatchdogTimeoutSeconds } from '../domain/fencing.js';
import { findEtcd } from './etcd.js';
import { startSqlEndpoints, type SqlEndpoints } from './sql-endpoint.js';
import { rwServiceSite } from './kube-setup.js';
import { DemoRegions, openPrivate, startRegionPlumbing, type RegionPlumbing } from './regions.js';
import { isMultiRegion, linkReplicationMode, regionNames } from '../domain/region.js';
import { startDemoBackups, type DemoBackupOptions } from './backups.js';
import { ANNOTATION_BACKUP_NOW } from '../api/resource.js';

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
  /** With spec.backup: how the simulated backups behave (src/demo/backups.ts has the defaults). */
  readonly backups?: DemoBackupOptions;
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

export interface DemoRegionInfo {
  readonly region: string;
  readonly apiUrl: string;
  readonly kubeconfigPath: string;
  readonly coordinationDescription: string;
  readonly etcdEndpoint: string | null;
}

export interface Demo {
  readonly apiUrl: string;
  readonly kubeconfigPath: string;
  /** "etcd 127.0.0.1:PORT (local)" or "in-memory (no etcd on PATH)". */
  readonly coordinationDescription: string;
  /** The local etcd's client URL, or null on the in-memory store. */
  readonly etcdEndpoint: string | null;
  /**
   * Two regions (docs/dr.md): per region its own Kubernetes API, kubeconfig and store (the fields
   * above are the first region's). Absent with one region.
   */
  readonly regions?: readonly DemoRegionInfo[];
  /** Two regions: the active one, as the region records say. */
  activeRegion?(): string;
  /** Two regions: is this region down (fault region-down)? */
  regionDown?(region: string): boolean;
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
    // 1. Per region (one without regions): the Kubernetes API with the CRD, the namespace, the
    // site pods and the manifest; the coordination store (docs/dr.md: one etcd per region).
    const etcdBinary = options.coordination === 'memory' ? null : findEtcd();
    if (options.coordination === 'etcd' && etcdBinary === null) {
      throw new Error(
        'no etcd binary on PATH (Debian: apt-get install etcd-server), or use --coordination memory',
      );
    }
    const multi = isMultiRegion(spec0);
    const plumbing = new Map<string | null, RegionPlumbing>();
    for (const region of multi ? regionNames(spec0) : [null]) {
      plumbing.set(
        region,
        await startRegionPlumbing(
          {
            region,
            stateDir: options.stateDir,
            etcdBinary,
            // The fixed port (if any) for the first region's API; the other one takes any.
            ...(options.apiPort !== undefined && plumbing.size === 0 ? { apiPort: options.apiPort } : {}),
            manifest,
            name,
            namespace,
            sites: spec0.sites,
            leaseTtlSeconds: spec0.lease.ttlSeconds,
          },
          cleanups,
        ),
      );
    }
    const first = [...plumbing.values()][0]!;
    const initialPrimary = options.initialPrimary ?? spec0.sites[0]!.name;

    // 3. The simulated HANA landscape.
    const model = new SimLandscape({
      sid: spec0.sid,
      instanceNumber: spec0.instanceNumber,
      sites: spec0.sites.map((s) => ({
        name: s.name,
        host: s.host,
        ...(s.source ? { source: s.source } : {}),
        // Across regions async (docs/dr.md); one region: the spec's mode.
        mode: linkReplicationMode(spec0, s.name, s.source ?? initialPrimary),
      })),
      initialPrimary,
      mode: spec0.replication.mode,
      operationMode: spec0.replication.operationMode,
      logShippingTimeoutSeconds: spec0.replication.logShippingTimeoutSeconds,
      clock: realClock,
      seed: options.seed ?? 1,
      writesPerSecond: options.writesPerSecond ?? 20,
      startSeconds: options.startSeconds ?? 8,
    });
    cleanups.push(() => model.dispose());
    const regions = multi
      ? new DemoRegions(
          spec0,
          plumbing as ReadonlyMap<string, RegionPlumbing>,
          model,
          clusterKey,
          name,
          initialPrimary,
        )
      : null;
    /** The region whose store and API lead now (the only one without regions). */
    const active = (): RegionPlumbing => (regions ? regions.of(regions.activeRegion()) : first);
    const plumbingOf = (site: string): RegionPlumbing =>
      regions ? regions.of(regions.regionOf(site)) : first;

    // 4. The operator of each region, on its region's store and API (it publishes the spec the
    // agents follow); with two regions it reads the other region's store, read only.
    for (const p of plumbing.values()) {
      const suffix = p.region === null ? '' : `-${p.region}`;
      const operatorLog = openPrivate(join(options.stateDir, `operator${suffix}.log`));
      cleanups.push(() => closeSync(operatorLog));
      const operator: OperatorHandle = await startOperator(
        {
          coordination: p.etcdEndpoint !== null ? 'etcd' : 'memory',
          bindAddress: '127.0.0.1',
          healthPort: 0,
          metricsPort: 0,
          resyncIntervalSeconds: 1,
          kubeTimeoutSeconds: 5,
          podName: `hanasr-operator-demo${suffix}`,
          ...(p.etcdEndpoint !== null ? { etcd: { endpoints: [p.etcdEndpoint] } } : {}),
        },
        {
          kubeConfig: p.kc,
          coordination: p.store,
          ...(regions && p.region !== null ? { regionPeers: regions.peersOf(p.region) } : {}),
          log: (level, message, fields) => {
            writeSync(operatorLog, JSON.stringify({ level, message, ...fields }) + '\n');
          },
        },
      );
      cleanups.push(() => operator.stop());
    }
    // With two regions: which one is active, as the region records say (every 500 ms).
    if (regions) {
      let refreshing = true;
      const refresh = (async () => {
        while (refreshing) {
          await regions.refresh();
          await new Promise((r) => setTimeout(r, 500));
        }
      })();
      cleanups.push(async () => {
        refreshing = false;
        await refresh;
      });
    }

    // 5. One agent per site, following the published spec (the manifest's until then).
    let spec = spec0;
    let following = true;
    const follow = (async () => {
      while (following) {
        try {
          const state = await active().store.read(clusterKey);
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
    // With spec.backup: simulated backups, and per site the backup runner of its agent process.
    const lastBackupNote = new Map<string, string>();
    const backups =
      spec0.backup === undefined
        ? undefined
        : startDemoBackups({
            model,
            clock: realClock,
            cluster: clusterKey,
            spec0,
            spec: () => spec,
            ...(options.backups !== undefined ? { settings: options.backups } : {}),
            onEvent: (e) => {
              const text = `${e.event}: ${e.message}`;
              if (lastBackupNote.get(e.site) === text) return; // a repeated error once
              lastBackupNote.set(e.site, text);
              note(text, e.site, 'agent');
            },
          });
    if (backups) cleanups.push(() => backups.dispose());
    const onEvent = (e: AgentEvent) => {
      if (e.event === 'decision' && e.action === 'none' && !/maintenance|failed|waiting|wait/.test(e.reason))
        return;
      note(`${e.event === 'decision' ? 'decides' : e.event}: ${e.message}`, e.site, 'agent');
    };
    const startAgent = async (site: string) => {
      if (agents.has(site)) return;
      // Each site on its own host clock (skew-clock moves it); timers stay on the real clock.
      const offset = () => model.clockOffsetMs(site);
      const store = await plumbingOf(site).agentStore(site);
      const agent = new Agent({
        cluster: clusterKey,
        site,
        spec: () => spec,
        hana: simCommandPort(spec0, site, model.site(site), realClock),
        coordination: store,
        ...(regions ? { region: regions.linkFor(site, store) } : {}),
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
      backups?.startRunner(site, store, siteClock(realClock, offset));
    };
    const killAgent = (site: string) => {
      agents.get(site)?.kill();
      agents.delete(site);
      backups?.killRunner(site);
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
          for (const p of plumbing.values()) {
            const list = await p.core.listNamespacedEvent({ namespace });
            for (const ev of list.items) {
              const uid = `${p.region ?? ''}/${ev.metadata?.uid ?? `${ev.metadata?.name}`}`;
              if (seenEvents.has(uid)) continue;
              seenEvents.add(uid);
              const where = p.region === null ? '' : `[${p.region}] `;
              note(
                `${where}Event ${ev.type ?? ''} ${ev.reason ?? ''}: ${ev.message ?? ''}`.replace(/\s+/g, ' '),
                '*',
                'event',
              );
            }
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
        rwSite = await rwServiceSite(active().core, namespace, name);
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
      ...(backups ? { extension: (site: string) => backups.extension(site) } : {}),
    });
    cleanups.push(() => sql.close());

    // What a DBA does with kubectl: a merge patch on the resource (the active region's).
    const patchResource = (body: object): Promise<void> => active().patch(body);
    const target: FaultTarget = {
      model,
      leader: () =>
        (regions ? regions.state() : first.store.read(clusterKey))
          .then((s) => s?.leader?.site ?? null)
          .catch(() => null),
      devices,
      ...(regions ? { regions } : {}),
      cutCoordination: (site, isCut) => plumbingOf(site).cut(site, isCut),
      setCoordinationAvailable: async (available) => {
        for (const p of plumbing.values()) await p.setAvailable(available);
      },
      startAgent,
      killAgent,
      // The same manifest in every region's cluster.
      setMaintenance: async (on) => {
        for (const p of plumbing.values()) await p.patch({ spec: { maintenance: on } });
      },
      plannedTakeover: (site) =>
        patchResource({ metadata: { annotations: { [ANNOTATION_PLANNED_TAKEOVER]: site } } }),
      // backup-now goes the way of `hanasr backup --now`: the annotation, which the operator turns
      // into a request at the current epoch.
      ...(backups
        ? {
            backups: backups.sim,
            requestBackup: () =>
              patchResource({
                metadata: { annotations: { [ANNOTATION_BACKUP_NOW]: new Date().toISOString() } },
              }),
          }
        : {}),
    };

    const regionRows = [...plumbing.values()].map((p) => ({
      region: p.region ?? '',
      apiUrl: p.api.url,
      kubeconfigPath: p.kubeconfigPath,
      coordinationDescription: p.coordinationDescription,
      etcdEndpoint: p.etcdEndpoint,
    }));
    note(
      regions
        ? `landscape up in ${regionRows.length} regions: ${regionRows.map((r) => `${r.region} (Kubernetes API ${r.apiUrl}, coordination ${r.coordinationDescription})`).join('; ')}`
        : `landscape up: Kubernetes API ${first.api.url}, coordination ${first.coordinationDescription}`,
    );
    return {
      apiUrl: first.api.url,
      kubeconfigPath: first.kubeconfigPath,
      coordinationDescription: first.coordinationDescription,
      etcdEndpoint: first.etcdEndpoint,
      ...(regions
        ? {
            regions: regionRows,
            activeRegion: () => regions.activeRegion(),
            regionDown: (r: string) => regions.isDown(r),
          }
        : {}),
      namespace,
      name,
      clusterKey,
      model,
      sql,
      target,
      timeline,
      note: (text, site) => note(text, site),
      state: () => (regions ? regions.state() : first.store.read(clusterKey).catch(() => null)),
      rows: (state) =>
        spec0.sites.map((s) => {
          const snap = model.site(s.name).snapshot();
          const report = state?.reports[s.name];
          const leaderSite = state?.leader?.site;
          let replication = '-';
          let inSync = '-';
          let lagSeconds: number | null = null;
          for (const src of spec0.sites) {
            const from = model.site(src.name).snapshot();
            // A node that is down keeps its last links in the model: they are no replication.
            if (!from.nodeUp) continue;
            const link = from.links.find((l) => l.secondarySite === s.name);
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
