/**
 * What each region of `hanasr demo` runs on (docs/dr.md: a region relies on nothing that spans
 * regions): its own Kubernetes API (with its own kubeconfig) and its own coordination store (a
 * local etcd, else in memory), each agent reaching its region's store through a proxy of its own.
 * A manifest with one region gets one such set; one with two regions gets one per region, and
 * DemoRegions wires them as two regions are wired in production: each agent's RegionLink and each
 * operator read the other region's store, read only, over a link a scenario fault can cut, and
 * the region faults (region-down, cut-region-link, disaster-takeover) act on that wiring.
 */
import { closeSync, constants, openSync } from 'node:fs';
import { join } from 'node:path';
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import { RegionLink, type RegionPeer } from '../agent/region-link.js';
import {
  ANNOTATION_DISASTER_CONFIRM,
  ANNOTATION_DISASTER_TAKEOVER,
  ANNOTATION_REGION_SWITCHOVER,
  ANNOTATION_REGION_SWITCHOVER_EPOCH,
  ANNOTATION_REGION_SWITCHOVER_GENERATION,
  GROUP,
  PLURAL,
  VERSION,
} from '../api/resource.js';
import type { HanaSystemReplicationSpec } from '../api/spec.js';
import { realClock, withTimeout } from '../clock.js';
import { etcdConfigOf, parseStoreConnection } from '../coordination/config.js';
import { EtcdCoordination } from '../coordination/etcd.js';
import { MemoryCoordination } from '../coordination/memory.js';
import {
  CoordinationUnavailableError,
  type ClusterState,
  type Coordination,
  type Intent,
  type RegionStore,
} from '../coordination/port.js';
import { regionNames, regionOf } from '../domain/region.js';
import { TcpProxy } from '../net/tcp-proxy.js';
import { LABEL_SITE } from '../kube/client.js';
import { rwServiceName } from '../operator/compute.js';
import type { SwitchoverPeer } from '../operator/region-switchover.js';
import type { RegionFaults } from '../sim/faults.js';
import type { SimLandscape } from '../standins/hana-sim/model.js';
import { startFakeApiServer, type FakeApiServer } from '../standins/kube-api/index.js';
import { startLocalEtcd, type LocalEtcd } from './etcd.js';
import { applyLandscapeObjects } from './kube-setup.js';

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export type DemoStore = Coordination & RegionStore;

/** One region's Kubernetes API and store (the only ones with a single-region manifest). */
export interface RegionPlumbing {
  /** The region's name; null for the one region of a manifest without regions. */
  readonly region: string | null;
  readonly api: FakeApiServer;
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly kubeconfigPath: string;
  /** The operator's connection to this region's store (and the demo's own reads). */
  readonly store: DemoStore;
  readonly etcdEndpoint: string | null;
  /** "etcd 127.0.0.1:PORT (local, …)" or "in-memory (…)". */
  readonly coordinationDescription: string;
  /** A connection of its own for one agent (through a proxy, so that one site can be cut off). */
  agentStore(site: string): Promise<DemoStore>;
  cut(site: string, isCut: boolean): Promise<void>;
  /** The whole store down (etcd stopped with SIGSTOP) or back. */
  setAvailable(available: boolean): Promise<void>;
  /** A merge patch on the resource, as `kubectl patch --type merge` does. */
  patch(body: object): Promise<void>;
}

/** Opens a new file of mode 0600 for writing; fails on anything already there, symlinks included. */
export function openPrivate(path: string): number {
  return openSync(
    path,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
}

/**
 * Starts one region's API and store; every part it starts is pushed to `cleanups`. Files get the
 * region in their names when there are regions (kubeconfig-eu-west, etcd-eu-west), else the
 * names a one-region demo always had (kubeconfig, etcd).
 */
export async function startRegionPlumbing(
  options: {
    readonly region: string | null;
    readonly stateDir: string;
    /** The etcd binary, or null for an in-memory store. */
    readonly etcdBinary: string | null;
    readonly apiPort?: number;
    readonly manifest: Record<string, unknown> & { metadata?: object };
    readonly name: string;
    readonly namespace: string;
    readonly sites: readonly { readonly name: string }[];
    readonly leaseTtlSeconds: number;
  },
  cleanups: (() => Promise<void> | void)[],
): Promise<RegionPlumbing> {
  const suffix = options.region === null ? '' : `-${options.region}`;
  const api = await startFakeApiServer({
    host: '127.0.0.1',
    ...(options.apiPort !== undefined ? { port: options.apiPort } : {}),
  });
  cleanups.push(() => api.close());
  const kubeconfigPath = join(options.stateDir, `kubeconfig${suffix}`);
  // Created here, exclusively and without following a link, before the API server fills it.
  closeSync(openPrivate(kubeconfigPath));
  api.writeKubeconfig(kubeconfigPath);
  const kc = api.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  await applyLandscapeObjects(kc, {
    manifest: options.manifest,
    name: options.name,
    namespace: options.namespace,
    sites: options.sites,
    fieldManager: 'hanasr-demo',
  });
  const patch = async (body: object): Promise<void> => {
    await custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: options.namespace,
        plural: PLURAL,
        name: options.name,
        body,
      },
      merge,
    );
  };
  const base = { region: options.region, api, kc, core, kubeconfigPath, patch };

  if (options.etcdBinary === null) {
    const memory = new MemoryCoordination(realClock, { watches: true });
    return {
      ...base,
      store: memory,
      etcdEndpoint: null,
      coordinationDescription: 'in-memory (no etcd on PATH; install etcd-server for a real one)',
      agentStore: async () => memory,
      cut: async (site, isCut) => memory.cut(site, isCut),
      setAvailable: async (available) => memory.setAvailable(available),
    };
  }
  const etcdBinary = options.etcdBinary;
  const etcd: LocalEtcd = await startLocalEtcd(etcdBinary, join(options.stateDir, `etcd${suffix}`));
  cleanups.push(() => etcd.stop());
  // The same connection shape as the agent, the operator and the DBA commands (no TLS, no auth).
  const connectionOf = (endpoint: string) =>
    etcdConfigOf(parseStoreConnection({ endpoints: [endpoint], callTimeoutMs: 1000 }), {
      leaseTtlSeconds: options.leaseTtlSeconds,
      readPassword: () => {
        throw new Error('the demo etcd has no users');
      },
    });
  const store = new EtcdCoordination(connectionOf(etcd.endpoint));
  cleanups.push(() => store.close());
  const proxies = new Map<string, TcpProxy>();
  return {
    ...base,
    store,
    etcdEndpoint: etcd.endpoint,
    coordinationDescription: `etcd ${etcd.endpoint.replace('http://', '')} (local, ${etcdBinary})`,
    agentStore: async (site) => {
      let proxy = proxies.get(site);
      if (!proxy) {
        proxy = await TcpProxy.start(etcd.endpoint);
        proxies.set(site, proxy);
        const p = proxy;
        cleanups.push(() => p.close());
      }
      const agentStore = new EtcdCoordination(connectionOf(proxy.endpoint));
      cleanups.push(() => agentStore.close());
      return agentStore;
    },
    cut: async (site, isCut) => {
      const proxy = proxies.get(site);
      if (!proxy) return;
      if (isCut) await proxy.blackhole();
      else await proxy.heal();
    },
    setAvailable: async (available) => (available ? etcd.resume() : etcd.pause()),
  };
}

/**
 * Two regions of the demo (each a RegionPlumbing): the reads across regions, the active region
 * as the region records say, and the region faults. Replication across regions is the simulator's
 * (async links); the link cut blocks it into the sites outside the active region and fails the
 * reads across, as in `hanasr simulate` (src/sim/regions.ts).
 */
export class DemoRegions implements RegionFaults {
  private linkUp = true;
  private withdrawn = false;
  private readonly down = new Set<string>();
  private active: string;

  constructor(
    private readonly spec: HanaSystemReplicationSpec,
    private readonly plumbing: ReadonlyMap<string, RegionPlumbing>,
    private readonly model: SimLandscape,
    private readonly cluster: string,
    private readonly name: string,
    initialPrimary: string,
  ) {
    this.active = this.regionOf(initialPrimary);
  }

  names(): string[] {
    return regionNames(this.spec);
  }

  regionOf(site: string): string {
    const r = regionOf(this.spec, site);
    if (r === undefined) throw new Error(`site ${site} has no region`);
    return r;
  }

  sitesOf(region: string): string[] {
    return this.spec.sites.filter((s) => s.region === region).map((s) => s.name);
  }

  of(region: string): RegionPlumbing {
    return this.plumbing.get(region)!;
  }

  isDown(region: string): boolean {
    return this.down.has(region);
  }

  get linkIsUp(): boolean {
    return this.linkUp;
  }

  /** Region `to`'s store as region `from` reads it: fails while the link is cut or either is down. */
  private remote(from: string, to: string): Pick<Coordination, 'read'> {
    return {
      read: async (cluster: string): Promise<ClusterState> => {
        if (!this.linkUp || this.down.has(to) || this.down.has(from))
          throw new CoordinationUnavailableError(`region ${to} unreachable from ${from}`);
        return this.of(to).store.read(cluster);
      },
    };
  }

  /** The other regions' stores as `region`'s operator reads them. */
  peersOf(region: string): RegionPeer[] {
    return this.names()
      .filter((r) => r !== region)
      .map((r) => ({ region: r, store: this.remote(region, r) }));
  }

  /**
   * The other regions' stores as `region`'s operator has them: readable, and writable for the
   * region record and intents (a planned region switchover hands over in the target's store), over
   * the same link the region faults cut.
   */
  operatorPeersOf(region: string): SwitchoverPeer[] {
    return this.names()
      .filter((r) => r !== region)
      .map((r) => {
        const reach = (): DemoStore => {
          if (!this.linkUp || this.down.has(r) || this.down.has(region))
            throw new CoordinationUnavailableError(`region ${r} unreachable from ${region}`);
          return this.of(r).store;
        };
        return {
          region: r,
          store: {
            read: async (cluster: string) => reach().read(cluster),
            writeRegion: async (cluster, record, expected) => reach().writeRegion(cluster, record, expected),
            addIntent: async (cluster: string, intent: Intent) => reach().addIntent(cluster, intent),
          },
        };
      });
  }

  /** The agent's view of the other region, on its own region's store. */
  linkFor(site: string, own: DemoStore): RegionLink {
    return new RegionLink({
      cluster: this.cluster,
      own,
      peers: this.peersOf(this.regionOf(site)),
      timeoutMs: 1000,
      setTimer: (ms, fn) => realClock.setTimer(ms, fn),
    });
  }

  /**
   * The demo's client writes through the active region's `-rw` Service, as an application does:
   * while that Service selects no site (the operator withdrew it for a region switchover) the
   * simulator takes no client writes; otherwise they go to the writable site as before. A read
   * that fails or times out leaves the routing as it was.
   */
  async followRwService(namespace: string): Promise<void> {
    if (this.down.has(this.active)) return;
    const svc = await withTimeout(realClock, 1000, 'read the -rw Service', () =>
      this.of(this.active).core.readNamespacedService({ name: rwServiceName(this.name), namespace }),
    ).catch(() => null);
    if (svc === null) return;
    const withdrawn = (svc.spec?.selector?.[LABEL_SITE] ?? '') === '';
    if (withdrawn !== this.withdrawn) {
      this.withdrawn = withdrawn;
      this.model.routeClientWrites(withdrawn ? [] : null);
    }
  }

  /** The active region as of the last refresh. */
  activeRegion(): string {
    return this.active;
  }

  /** Reads the region records of the stores that are up; the newest generation names the active region. */
  async refresh(): Promise<string> {
    let best: { generation: number; active: string } | null = null;
    for (const r of this.names()) {
      if (this.down.has(r)) continue;
      const rec = await this.of(r)
        .store.read(this.cluster)
        .then((s) => s.region)
        .catch(() => undefined);
      // A draining switchover's record lives only in the region that gives up: nobody leads until
      // the handover, and that region's store and API tell the story (status.region.switchover).
      if (rec !== undefined && (best === null || rec.generation > best.generation))
        best = rec.draining === true ? { generation: rec.generation, active: r } : rec;
    }
    if (best !== null) this.active = best.active;
    return this.active;
  }

  /**
   * The landscape as the active region's store sees it, with each other region's agent reports
   * from its own store (an agent reports where it runs): null when the active store does not answer.
   */
  async state(): Promise<ClusterState | null> {
    if (this.down.has(this.active)) return null;
    const main = await this.of(this.active)
      .store.read(this.cluster)
      .catch(() => null);
    if (main === null) return null;
    const reports = { ...main.reports };
    for (const r of this.names()) {
      if (r === this.active || this.down.has(r)) continue;
      const other = await this.of(r)
        .store.read(this.cluster)
        .catch(() => null);
      for (const site of this.sitesOf(r)) {
        const report = other?.reports[site];
        if (report !== undefined) reports[site] = report;
        else delete reports[site];
      }
    }
    return { ...main, reports };
  }

  setLink(up: boolean): void {
    this.linkUp = up;
    for (const s of this.spec.sites) {
      if (s.region === this.active) continue;
      if (up) this.model.unblockReplication(s.name);
      else this.model.blockReplication(s.name);
    }
  }

  async setRegionDown(region: string, down: boolean): Promise<void> {
    if (down) this.down.add(region);
    else this.down.delete(region);
    await this.of(region).setAvailable(!down);
  }

  /**
   * What `hanasr takeover NAME --to SITE --disaster --confirm NAME` does against the site's
   * region: the two annotations on that region's resource; its operator checks and carries it out
   * (or refuses, with an Event).
   */
  async disasterTakeover(site: string): Promise<void> {
    await this.of(this.regionOf(site)).patch({
      metadata: {
        annotations: { [ANNOTATION_DISASTER_TAKEOVER]: site, [ANNOTATION_DISASTER_CONFIRM]: this.name },
      },
    });
  }

  /**
   * A planned region switchover to `site`, as `hanasr takeover NAME --to SITE` asks for it: the
   * annotation with the region generation and the epoch the active region's store holds now, on
   * the active region's resource; that region's operator carries it out (docs/dr.md).
   */
  async regionSwitchover(site: string): Promise<void> {
    const active = await this.refresh();
    const state = await this.of(active).store.read(this.cluster);
    if (state.region === undefined)
      throw new Error(`region-switchover: the store of ${active} holds no region record yet`);
    if (state.leader === null)
      throw new Error(`region-switchover: nobody holds the leader key in ${active}: nothing to hand over`);
    await this.of(active).patch({
      metadata: {
        annotations: {
          [ANNOTATION_REGION_SWITCHOVER]: site,
          [ANNOTATION_REGION_SWITCHOVER_GENERATION]: String(state.region.generation),
          [ANNOTATION_REGION_SWITCHOVER_EPOCH]: String(state.leader.epoch),
        },
      },
    });
  }
}
