/**
 * Two regions in the simulator (docs/dr.md): one in-memory store per region, the agents of a
 * region on their own region's store, and each agent's RegionLink reading the other region's
 * store over a link that a fault can cut. Faults: the link between the regions (cut-region-link:
 * store reads across regions fail and replication into the sites outside the primary's region is
 * blocked), a whole region down and up (its nodes and its store), and the disaster takeover as
 * `hanasr takeover --disaster` does it (planDisasterTakeover, then the writes).
 */
import type { HanaSystemReplicationSpec } from '../api/spec.js';
import type { VirtualClock } from '../clock.js';
import { MemoryCoordination } from '../coordination/memory.js';
import { CoordinationUnavailableError, type ClusterState } from '../coordination/port.js';
import { RegionLink } from '../agent/region-link.js';
import {
  isMultiRegion,
  newestRecord,
  planDisasterTakeover,
  regionNames,
  regionOf,
} from '../domain/region.js';
import type { SimLandscape } from '../standins/hana-sim/model.js';

export interface RegionEvent {
  readonly t: number;
  readonly site: string;
  readonly event: string;
  readonly reason: string;
  readonly message?: string;
}

export class SimRegions {
  readonly stores = new Map<string, MemoryCoordination>();
  private linkUp = true;
  private readonly down = new Set<string>();
  /** When each region last read the other region's store (ms), for the unreachable alert. */
  private readonly lastPeerRead = new Map<string, number>();
  private readonly alerting = new Set<string>();

  constructor(
    private readonly spec: () => HanaSystemReplicationSpec,
    private readonly cluster: string,
    private readonly clock: VirtualClock,
    private readonly model: SimLandscape,
    private readonly emit: (e: RegionEvent) => void,
  ) {
    for (const r of regionNames(spec())) {
      this.stores.set(r, new MemoryCoordination(clock));
      this.lastPeerRead.set(r, clock.now());
    }
  }

  static create(
    spec: () => HanaSystemReplicationSpec,
    cluster: string,
    clock: VirtualClock,
    model: SimLandscape,
    emit: (e: RegionEvent) => void,
  ): SimRegions | null {
    return isMultiRegion(spec()) ? new SimRegions(spec, cluster, clock, model, emit) : null;
  }

  private regionOfSite(site: string): string {
    const r = regionOf(this.spec(), site);
    if (r === undefined) throw new Error(`site ${site} has no region`);
    return r;
  }

  storeOf(site: string): MemoryCoordination {
    return this.stores.get(this.regionOfSite(site))!;
  }

  /** The other region's store as seen from `from`: reads fail while the link is cut or it is down. */
  private remote(from: string, to: string) {
    return {
      read: async (cluster: string): Promise<ClusterState> => {
        if (!this.linkUp || this.down.has(to) || this.down.has(from))
          throw new CoordinationUnavailableError(`region ${to} unreachable from ${from}`);
        const state = await this.stores.get(to)!.read(cluster);
        this.lastPeerRead.set(from, this.clock.now());
        return state;
      },
    };
  }

  linkFor(site: string): RegionLink {
    const mine = this.regionOfSite(site);
    return new RegionLink({
      cluster: this.cluster,
      own: this.stores.get(mine)!,
      peers: [...this.stores.keys()]
        .filter((r) => r !== mine)
        .map((r) => ({ region: r, store: this.remote(mine, r) })),
      timeoutMs: 1000,
      setTimer: (ms, fn) => this.clock.setTimer(ms, fn),
    });
  }

  /** The active region (the newest record of the stores that are up). */
  activeRegion(): string | null {
    let best: { generation: number; active: string } | null = null;
    for (const [r, store] of this.stores) {
      if (this.down.has(r)) continue;
      const rec = store.snapshot(this.cluster).region;
      if (rec !== undefined && (best === null || rec.generation > best.generation)) best = rec;
    }
    return best?.active ?? null;
  }

  /** The leader of the active region's store (null: none). */
  leader(): string | null {
    const active = this.activeRegion() ?? regionNames(this.spec())[0]!;
    return this.stores.get(active)?.snapshot(this.cluster).leader?.site ?? null;
  }

  /** The highest epoch over all stores (for the final report). */
  lastEpoch(): number {
    return Math.max(...[...this.stores.values()].map((s) => s.snapshot(this.cluster).lastEpoch));
  }

  /** Cut or restore the link between the regions (store reads and replication across). */
  setLink(up: boolean): void {
    this.linkUp = up;
    const active = this.activeRegion();
    for (const s of this.spec().sites) {
      if (s.region === active) continue;
      if (up) this.model.unblockReplication(s.name);
      else this.model.blockReplication(s.name);
    }
  }

  setRegionDown(region: string, down: boolean): void {
    if (down) this.down.add(region);
    else {
      this.down.delete(region);
      // A region that was down itself has not missed the other one: its alert clock starts now.
      this.lastPeerRead.set(region, this.clock.now());
    }
    this.stores.get(region)?.setAvailable(!down);
  }

  sitesOf(region: string): string[] {
    return this.spec()
      .sites.filter((s) => s.region === region)
      .map((s) => s.name);
  }

  regionOf(site: string): string {
    return this.regionOfSite(site);
  }

  /**
   * Alerts as the DR region would raise them (the operator's HanaSRPrimaryRegionUnreachable): a
   * region other than the active one that has not read the active region's store for forSeconds.
   */
  checkAlerts(): void {
    const spec = this.spec();
    const active = this.activeRegion();
    const forMs = spec.alerts.forSeconds * 1000;
    if (active !== null && !this.down.has(active)) this.checkLinkAlerts(active, forMs);
    for (const r of this.stores.keys()) {
      if (r === active || this.down.has(r)) continue;
      const since = this.clock.now() - (this.lastPeerRead.get(r) ?? this.clock.now());
      const firing = since >= forMs;
      if (firing && !this.alerting.has(r)) {
        this.alerting.add(r);
        this.emit({
          t: this.clock.now(),
          site: r,
          event: 'alert:HanaSRPrimaryRegionUnreachable',
          reason: 'firing',
          message: `region ${r} has not read the active region ${active ?? '?'}'s store for ${Math.round(since / 1000)} s: no automatic action; decide on a disaster takeover`,
        });
      } else if (!firing && this.alerting.has(r)) {
        this.alerting.delete(r);
        this.emit({
          t: this.clock.now(),
          site: r,
          event: 'alert:HanaSRPrimaryRegionUnreachable',
          reason: 'resolved',
        });
      }
    }
  }

  private readonly linkBadSince = new Map<string, number>();

  /**
   * HanaSRDRLinkDown as the operator raises it: the link from the active region into a site of
   * the other region is not ACTIVE (or absent) for alerts.forSeconds. Alert only, no action.
   */
  private checkLinkAlerts(active: string, forMs: number): void {
    const spec = this.spec();
    const now = this.clock.now();
    const sources = spec.sites.filter((s) => s.region === active).map((s) => s.name);
    for (const dr of spec.sites.filter((s) => s.region !== active)) {
      let ok = false;
      for (const src of sources) {
        const snap = this.model.site(src).snapshot();
        if (!snap.running) continue;
        if (snap.links.some((l) => l.secondarySite === dr.name && l.status === 'ACTIVE')) ok = true;
      }
      const key = `link:${dr.name}`;
      if (ok) {
        this.linkBadSince.delete(dr.name);
        if (this.alerting.delete(key))
          this.emit({ t: now, site: dr.name, event: 'alert:HanaSRDRLinkDown', reason: 'resolved' });
        continue;
      }
      const since = this.linkBadSince.get(dr.name) ?? now;
      this.linkBadSince.set(dr.name, since);
      if (now - since >= forMs && !this.alerting.has(key)) {
        this.alerting.add(key);
        this.emit({
          t: now,
          site: dr.name,
          event: 'alert:HanaSRDRLinkDown',
          reason: 'firing',
          message: `no ACTIVE replication from region ${active} into DR site ${dr.name} for ${Math.round((now - since) / 1000)} s: no action`,
        });
      }
    }
  }

  /** `hanasr takeover NAME --to SITE --disaster --confirm NAME`, against the site's region store. */
  async disasterTakeover(site: string, id: string): Promise<void> {
    const spec = this.spec();
    const region = this.regionOfSite(site);
    const store = this.stores.get(region)!;
    const state = store.snapshot(this.cluster);
    const activeOther = newestRecord({
      region,
      own: state.region ?? null,
      peers: [],
      confirmed: true,
    })?.active;
    let reachable = false;
    if (activeOther !== undefined && activeOther !== region) {
      reachable = await this.remote(region, activeOther)
        .read(this.cluster)
        .then(
          () => true,
          () => false,
        );
    }
    const plan = planDisasterTakeover(spec, site, {
      own: {
        ...(state.region !== undefined ? { region: state.region } : {}),
        ...(state.regionSync !== undefined ? { regionSync: state.regionSync } : {}),
        lastEpoch: state.lastEpoch,
        leader: state.leader,
      },
      activeRegionReachable: reachable,
      confirm: this.cluster,
      clusterName: this.cluster,
      now: this.clock.now(),
      id,
    });
    if (!plan.ok) {
      this.emit({
        t: this.clock.now(),
        site,
        event: 'disaster-takeover-refused',
        reason: plan.reason,
        message: plan.message,
      });
      throw new Error(plan.message);
    }
    this.emit({
      t: this.clock.now(),
      site,
      event: 'disaster-takeover-requested',
      reason: 'expected_data_loss',
      message: plan.loss.message,
    });
    const written = await store.writeRegion(this.cluster, plan.record, plan.expectedGeneration);
    if (!written) throw new Error('the region record changed meanwhile: read again');
    await store.addIntent(this.cluster, plan.intent);
    // Best effort: tell the old region too (it is usually gone).
    if (activeOther !== undefined && this.linkUp && !this.down.has(activeOther)) {
      const other = this.stores.get(activeOther)!;
      const cur = other.snapshot(this.cluster).region;
      await other
        .writeRegion(this.cluster, { ...plan.record, by: 'adopted' }, cur?.generation ?? null)
        .catch(() => false);
    }
  }
}
