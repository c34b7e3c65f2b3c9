// Why this file is long: two regions in the simulator (a store per region, the agents' region links, the DR faults and the switchover request) wired as the real runtime wires them.
/**
 * Two regions in the simulator (docs/dr.md): one in-memory store per region, the agents of a
 * region on their own region's store, and each agent's RegionLink reading the other region's
 * store over a link that a fault can cut. Faults: the link between the regions (cut-region-link:
 * store reads across regions fail and replication into the sites outside the primary's region is
 * blocked), a whole region down and up (its nodes and its store), and the disaster takeover as
 * `hanasr takeover --disaster` does it (planDisasterTakeover, then the writes), and the planned
 * region switchover (planRegionSwitchover: the draining record, the old primary stops, the target
 * catches up to its last log position, then the handover, or the abort when it does not).
 */
import type { HanaSystemReplicationSpec } from '../api/spec.js';
import type { VirtualClock } from '../clock.js';
import { MemoryCoordination, type MemoryCoordinationOptions } from '../coordination/memory.js';
import { CoordinationUnavailableError, type ClusterState } from '../coordination/port.js';
import { RegionLink } from '../agent/region-link.js';
import {
  isMultiRegion,
  newestRecord,
  planDisasterTakeover,
  regionNames,
  regionOf,
} from '../domain/region.js';
import {
  requestRegionSwitchover,
  stepRegionSwitchover,
  type SwitchoverStores,
} from '../operator/region-switchover.js';
import type { SimLandscape } from '../standins/hana-sim/model.js';
import type { BackupRun, BackupState } from '../domain/backup.js';

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
    store: MemoryCoordinationOptions,
    private readonly emit: (e: RegionEvent) => void,
  ) {
    for (const r of regionNames(spec())) {
      this.stores.set(r, new MemoryCoordination(clock, store));
      this.lastPeerRead.set(r, clock.now());
    }
  }

  static create(
    spec: () => HanaSystemReplicationSpec,
    cluster: string,
    clock: VirtualClock,
    model: SimLandscape,
    store: MemoryCoordinationOptions,
    emit: (e: RegionEvent) => void,
  ): SimRegions | null {
    return isMultiRegion(spec()) ? new SimRegions(spec, cluster, clock, model, store, emit) : null;
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

  /** The active region's store (the first region's before any record): where requests go. */
  activeStore(): MemoryCoordination {
    return this.stores.get(this.activeRegion() ?? regionNames(this.spec())[0]!)!;
  }

  /** The leader of the active region's store (null: none). */
  leader(): string | null {
    return this.activeStore().snapshot(this.cluster).leader?.site ?? null;
  }

  /**
   * The backup record over both regions: every run recorded in either store (each once, by id and
   * attempt), the facts of the active region's store (the current primary's reading).
   */
  backupState(): { backup?: BackupState } {
    const runs = new Map<string, BackupRun>();
    for (const store of this.stores.values())
      for (const r of store.snapshot(this.cluster).backup?.runs ?? []) runs.set(`${r.id}#${r.attempt}`, r);
    const active = this.activeRegion();
    const facts = active !== null ? this.stores.get(active)!.snapshot(this.cluster).backup?.facts : undefined;
    if (runs.size === 0 && facts === undefined) return {};
    return {
      backup: {
        runs: [...runs.values()].sort((a, b) => a.startedAt - b.startedAt),
        ...(facts !== undefined ? { facts } : {}),
      },
    };
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

  /** The planned switchover in progress (stepped with the alerts, every sample). */
  private switchover: { readonly target: string; readonly deadlineMs: number; stepping: boolean } | null =
    null;

  /**
   * The stores as the active region's operator reaches them: its own directly (while its region
   * is up), the other region's over the link between the regions.
   */
  private switchoverStores(activeRegion: string, targetRegion: string): SwitchoverStores {
    const remote = this.remote(activeRegion, targetRegion);
    const target = this.stores.get(targetRegion)!;
    const reach = () => {
      if (!this.linkUp || this.down.has(targetRegion) || this.down.has(activeRegion))
        throw new CoordinationUnavailableError(`region ${targetRegion} unreachable from ${activeRegion}`);
    };
    return {
      cluster: this.cluster,
      active: this.stores.get(activeRegion)!,
      target: {
        read: (c) => remote.read(c),
        writeRegion: async (c, r, g) => (reach(), target.writeRegion(c, r, g)),
        addIntent: async (c, i) => (reach(), target.addIntent(c, i)),
      },
      timeoutMs: 1000,
    };
  }

  /**
   * `hanasr takeover NAME --to SITE` to a site of the other region, carried out as the active
   * region's operator does (src/operator/region-switchover.ts, the same code): the checks and the
   * draining write, the -rw Service withdrawn (clients write nowhere), then a step every sample
   * until the old primary's agent recorded its last log position and the handover, or the abort.
   */
  regionSwitchover(target: string, timeoutSeconds = 120): void {
    const region = this.regionOfSite(target);
    const activeRegion = this.activeRegion();
    const now = this.clock.now();
    const refused = (reason: string, message: string) =>
      this.emit({ t: this.clock.now(), site: target, event: 'region-switchover-refused', reason, message });
    if (activeRegion === null || this.down.has(activeRegion))
      return refused('active_region_unreachable', "the active region's store does not answer");
    if (activeRegion === region)
      return refused('region_already_active', `region ${region} is already active: use a takeover inside it`);
    void requestRegionSwitchover(
      this.spec(),
      target,
      this.switchoverStores(activeRegion, region),
      {},
      now,
    ).then((answer) => {
      if (!answer.ok) return refused(answer.reason, answer.message);
      this.model.routeClientWrites([]);
      this.switchover = { target, deadlineMs: timeoutSeconds * 1000, stepping: false };
      this.emit({
        t: this.clock.now(),
        site: target,
        event: 'region-switchover-draining',
        reason: 'switchover',
        message: answer.message,
      });
    });
  }

  /** One step of the switchover in progress: wait, hand over, or abort. */
  private stepSwitchover(): void {
    const sw = this.switchover;
    if (sw === null || sw.stepping) return;
    const targetRegion = this.regionOfSite(sw.target);
    const oldRegion = [...this.stores.keys()].find((r) => r !== targetRegion)!;
    if (this.down.has(oldRegion)) return;
    sw.stepping = true;
    void stepRegionSwitchover(
      this.spec(),
      this.switchoverStores(oldRegion, targetRegion),
      sw.deadlineMs,
      this.clock.now(),
      `region-switchover-${sw.target}`,
    )
      .then((step) => {
        sw.stepping = false;
        const t = this.clock.now();
        if (step.kind === 'none' || step.kind === 'wait') return;
        this.switchover = null;
        if (step.kind === 'handover') {
          this.model.routeClientWrites(null);
          this.emit({
            t,
            site: sw.target,
            event: 'region-switchover-handover',
            reason: 'caught_up',
            message: step.message,
          });
          return;
        }
        if (step.kind === 'abort') this.model.routeClientWrites(null);
        this.emit({
          t,
          site: sw.target,
          event: 'region-switchover-refused',
          reason: step.kind === 'abort' ? 'dr_not_caught_up' : step.reason,
          message: step.message,
        });
      })
      .catch(() => {
        sw.stepping = false;
      });
  }

  /**
   * Alerts as the DR region would raise them (the operator's HanaSRPrimaryRegionUnreachable): a
   * region other than the active one that has not read the active region's store for forSeconds.
   */
  checkAlerts(): void {
    this.stepSwitchover();
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
