/**
 * How an agent learns the region records (docs/dr.md): its own region's record comes with the
 * cycle's store read; the other region's store is read here, with a short deadline, once a cycle.
 * What it finds is passed to decide() as a RegionView. Before that, the record the rules say to
 * write (a newer generation of the other region, adopted; or the first record) is written into
 * the own store with a compare-and-set, so a region never leads before it has recorded the
 * newest generation it knows of. Nothing here decides: src/domain/region.ts does.
 */
import type { HanaSystemReplicationSpec } from '../api/spec.js';
import type { ClusterState, Coordination, RegionStore } from '../coordination/port.js';
import {
  isMultiRegion,
  newestRecord,
  regionOf,
  regionRecordToWrite,
  type PeerRegionView,
  type RegionRecord,
  type RegionView,
} from '../domain/region.js';
import type { HanaHealth, SyncRecord } from '../domain/types.js';

/** Another region's store, read-only from here. */
export interface RegionPeer {
  readonly region: string;
  readonly store: Pick<Coordination, 'read'>;
}

export interface RegionLinkOptions {
  readonly cluster: string;
  /** This region's store (the agent's own), for the record writes. */
  readonly own: RegionStore;
  readonly peers: readonly RegionPeer[];
  /** Deadline of one read of another region's store (ms). */
  readonly timeoutMs: number;
  /** Timers for the deadline (the agent's clock). */
  readonly setTimer: (ms: number, fn: () => void) => () => void;
}

export class RegionLink {
  private readonly last = new Map<string, { record: RegionRecord | null; leader: string | null }>();
  private readonly readOnce = new Set<string>();

  constructor(private readonly options: RegionLinkOptions) {}

  /**
   * The region view of this cycle. `ownState`: the own store's read of this cycle (null: it
   * failed, then nothing is written and the own record is unknown, which grants nothing).
   */
  async view(
    spec: HanaSystemReplicationSpec,
    site: string,
    ownState: ClusterState | null,
    health: HanaHealth,
    now: number,
  ): Promise<RegionView | undefined> {
    if (!isMultiRegion(spec)) return undefined;
    const region = regionOf(spec, site);
    if (region === undefined) return undefined;
    const peers: PeerRegionView[] = [];
    let activeSync: Readonly<Record<string, SyncRecord>> | null = null;
    for (const p of this.options.peers) {
      const state = await this.readPeer(p);
      if (state !== null) {
        this.readOnce.add(p.region);
        this.last.set(p.region, { record: state.region ?? null, leader: state.leader?.site ?? null });
        if (state.region !== undefined && state.region.active === p.region) activeSync = state.sync;
      }
      const last = this.last.get(p.region);
      peers.push({
        region: p.region,
        reachable: state !== null,
        record: last?.record ?? null,
        leader: state !== null ? (last?.leader ?? null) : null,
      });
    }
    let view: RegionView = {
      region,
      own: ownState?.region ?? null,
      peers,
      confirmed: this.options.peers.every((p) => this.readOnce.has(p.region)),
    };
    if (ownState === null) return { ...view, own: null, confirmed: false };
    const write = regionRecordToWrite(spec, site, view, health, now);
    if (write !== null) {
      const ok = await this.options.own
        .writeRegion(this.options.cluster, write, view.own?.generation ?? null)
        .catch(() => false);
      // Written: it is the own record now. Not written: someone else wrote first; the next cycle
      // reads it. Either way the newer record is in the view, which is what the rules look at.
      if (ok) view = { ...view, own: write };
    }
    // Keep the DR link's last known state in this region's store (a disaster takeover reports it).
    const mine = spec.sites.filter((s) => s.region === region).map((s) => s.name);
    const newest = newestRecord(view);
    if (activeSync !== null && newest !== null && newest.active !== region) {
      const records = Object.fromEntries(Object.entries(activeSync).filter(([name]) => mine.includes(name)));
      if (Object.keys(records).length > 0)
        await this.options.own.mirrorRegionSync(this.options.cluster, records).catch(() => {});
    }
    return view;
  }

  /** A compare-and-set write of the own store's region record (the demotion token). */
  write(record: RegionRecord, expectedGeneration: number | null): Promise<boolean> {
    return this.options.own.writeRegion(this.options.cluster, record, expectedGeneration);
  }

  private readPeer(p: RegionPeer): Promise<ClusterState | null> {
    return new Promise((resolve) => {
      let done = false;
      const cancel = this.options.setTimer(this.options.timeoutMs, () => {
        if (done) return;
        done = true;
        resolve(null);
      });
      p.store.read(this.options.cluster).then(
        (state) => {
          if (done) return;
          done = true;
          cancel();
          resolve(state);
        },
        () => {
          if (done) return;
          done = true;
          cancel();
          resolve(null);
        },
      );
    });
  }
}
