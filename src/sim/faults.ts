/**
 * What each scenario fault does to a landscape. Shared by `hanasr simulate` (virtual time, one
 * process) and `hanasr demo` (real time, a running landscape), so a fault means the same in both.
 */
import type { SimBackups } from '../standins/hana-sim/backups.js';
import type { SimNodeDevices } from '../standins/hana-sim/devices.js';
import type { SimLandscape } from '../standins/hana-sim/model.js';
import { isSiteRole, type Fault, type SiteRole } from './scenario.js';

/**
 * Two regions as the region faults need them: the simulator's (src/sim/regions.ts) and the
 * demo's (src/demo/regions.ts).
 */
export interface RegionFaults {
  /** Cut or restore the link between the regions (store reads and replication across). */
  setLink(up: boolean): void | Promise<void>;
  /** A whole region's store down or back (its nodes are the fault's to crash). */
  setRegionDown(region: string, down: boolean): void | Promise<void>;
  sitesOf(region: string): string[];
  regionOf(site: string): string;
  /** `hanasr takeover NAME --to SITE --disaster --confirm NAME`. */
  disasterTakeover(site: string, id: string): Promise<void>;
  /** The planned region switchover to `site`. */
  regionSwitchover(site: string): void | Promise<void>;
}

export interface FaultTarget {
  readonly model: SimLandscape;
  /**
   * The site holding the leader key now; null when the key is free or the store cannot say.
   * Absent (a target without a store): roles come from the simulated sites alone.
   */
  leader?(): string | null | Promise<string | null>;
  /** The nodes' watchdogs and fence devices (fail-fencing, remove-watchdog...); absent: none. */
  readonly devices?: SimNodeDevices;
  /** Cut one site's agent off the coordination store (or reconnect it). */
  cutCoordination(site: string, cut: boolean): void | Promise<void>;
  /** Whole-store outage on/off. */
  setCoordinationAvailable(available: boolean): void | Promise<void>;
  startAgent(site: string): Promise<void>;
  /** Stops the agent as a crash would: nothing released. */
  killAgent(site: string): void | Promise<void>;
  setMaintenance(on: boolean): void | Promise<void>;
  /** Requests a planned takeover to `site`, as `hanasr takeover` does. */
  plannedTakeover(site: string): Promise<void>;
  /** Two regions, each with its own store (absent: one region). */
  readonly regions?: RegionFaults;
  /** The simulated backups (fail-backup, lose-backup-destination...); absent: none. */
  readonly backups?: SimBackups;
  /** Requests a data backup now, as `hanasr backup NAME --now` does. */
  requestBackup?(): Promise<void>;
}

/** Who has which role right now; null where no site has it. */
export interface Roles {
  readonly primary: string | null;
  readonly secondary: string | null;
}

/** A role word that names no site when it is resolved: the fault fails, as a refused one does. */
export class NoSiteForRoleError extends Error {
  readonly code = 'NO_SITE_FOR_ROLE' as const;
  constructor(
    readonly role: SiteRole,
    message: string,
  ) {
    super(message);
    this.name = 'NoSiteForRoleError';
  }
}

/**
 * The roles as they stand, in one deterministic rule shared by `hanasr simulate` and the demo:
 * - primary: the site holding the leader key, when the simulator runs it as an SR primary (even
 *   while it is failing: it is the primary until someone takes over); else the one site that
 *   accepts writes; else none.
 * - secondary: among the sites replicating directly from that primary, the first in site order
 *   that is in sync (SOK), else the first at all; none without a primary or a secondary.
 */
export function rolesOf(model: SimLandscape, leader: string | null): Roles {
  const names = model.siteNames();
  let primary: string | null = null;
  if (leader !== null && names.includes(leader) && model.site(leader).snapshot().srMode === 'primary') {
    primary = leader;
  } else {
    const writable = model.writableSites();
    if (writable.length === 1) primary = writable[0]!;
  }
  if (primary === null) return { primary, secondary: null };
  const links = model.site(primary).snapshot().links;
  const ordered = names.flatMap((n) => links.filter((l) => l.secondarySite === n));
  const secondary = (ordered.find((l) => l.fullySynced) ?? ordered[0])?.secondarySite ?? null;
  return { primary, secondary };
}

export async function currentRoles(target: FaultTarget): Promise<Roles> {
  return rolesOf(target.model, target.leader ? await target.leader() : null);
}

/** The fault with a role word replaced by the site that has the role now. */
export async function resolveFault(target: FaultTarget, f: Fault): Promise<Fault> {
  if (!isSiteRole(f.site)) return f;
  const role = f.site;
  const roles = await currentRoles(target);
  const site = roles[role];
  if (site === null) {
    throw new NoSiteForRoleError(
      role,
      role === 'primary'
        ? 'no primary when the fault fired (the leader key is free and no single site takes writes)'
        : roles.primary === null
          ? 'no secondary when the fault fired: there is no primary to replicate from'
          : `no secondary when the fault fired: no site replicates from ${roles.primary}`,
    );
  }
  return { ...f, site };
}

/** Applies a fault; a role word in `site` is resolved first (see `resolveFault`). */
export async function applyFault(target: FaultTarget, fault: Fault): Promise<void> {
  const f = await resolveFault(target, fault);
  const { model } = target;
  const site = f.site;
  const need = (): string => {
    if (site === undefined) throw new Error(`${f.action} needs a site`);
    return site;
  };
  const regions = (): RegionFaults => {
    if (target.regions === undefined) throw new Error(`${f.action}: this landscape has one region`);
    return target.regions;
  };
  const devices = (): SimNodeDevices => {
    if (target.devices === undefined)
      throw new Error(`${f.action}: this landscape simulates no fencing devices`);
    return target.devices;
  };
  const backups = (): SimBackups => {
    if (target.backups === undefined)
      throw new Error(`${f.action}: this landscape simulates no backups (set cluster.backup and backups)`);
    return target.backups;
  };
  switch (f.action) {
    case 'restart-instance':
      return model.restartInstance(need());
    case 'crash-node':
      await target.killAgent(need());
      target.devices?.nodeCrashed(need());
      return model.crashNode(need());
    case 'restore-node':
      if (target.devices?.poweredOff(need()))
        throw new Error(`restore-node: ${need()} is powered off by its fence device (it needs a fence "on")`);
      model.restoreNode(need());
      return target.startAgent(need());
    case 'block-replication':
      return model.blockReplication(site);
    case 'unblock-replication':
      return model.unblockReplication(site);
    case 'isolate-site':
      await target.cutCoordination(need(), true);
      return model.isolateSite(need());
    case 'reconnect-site':
      await target.cutCoordination(need(), false);
      return model.reconnectSite(need());
    case 'stop-agent':
      target.devices?.agentStopped(need(), true);
      return target.killAgent(need());
    case 'start-agent':
      target.devices?.agentStopped(need(), false);
      return target.startAgent(need());
    case 'coordination-outage':
      return target.setCoordinationAvailable(false);
    case 'coordination-restore':
      return target.setCoordinationAvailable(true);
    case 'slow-replication':
      return model.setLinkSlowdown(need(), f.factor ?? 1);
    case 'maintenance-on':
      return target.setMaintenance(true);
    case 'maintenance-off':
      return target.setMaintenance(false);
    case 'planned-takeover':
      return target.plannedTakeover(need());
    case 'skew-clock':
      return model.skewClock(need(), f.seconds ?? 0);
    case 'break-sql-probe':
      return model.breakSqlProbe(need());
    case 'fix-sql-probe':
      return model.fixSqlProbe(need());
    case 'manual-takeover':
      return model.manualTakeover(need());
    case 'manual-register':
      return model.manualRegister(need(), f.source);
    case 'fail-fencing':
      return devices().failFencing(need(), f.hang === true);
    case 'restore-fencing':
      return devices().restoreFencing(need());
    case 'remove-watchdog':
      return devices().removeWatchdog(need());
    case 'restore-watchdog':
      return devices().restoreWatchdog(need());
    case 'cut-region-link':
      return regions().setLink(false);
    case 'restore-region-link':
      return regions().setLink(true);
    case 'region-down': {
      // Every node of the site's region loses power, and the region's store with them.
      const r = regions();
      for (const s of r.sitesOf(r.regionOf(need()))) {
        await target.killAgent(s);
        target.devices?.nodeCrashed(s);
        model.crashNode(s);
      }
      return r.setRegionDown(r.regionOf(need()), true);
    }
    case 'region-up': {
      // The store comes back with its data (and its leases extended), then the nodes and agents.
      const r = regions();
      const up = r.setRegionDown(r.regionOf(need()), false);
      if (up instanceof Promise) await up; // the demo's store resumes; the simulator's at once
      for (const s of r.sitesOf(r.regionOf(need()))) {
        model.restoreNode(s);
        await target.startAgent(s);
      }
      return;
    }
    case 'disaster-takeover':
      return regions().disasterTakeover(need(), `disaster-${need()}`);
    case 'region-switchover':
      return regions().regionSwitchover(need());
    case 'fail-backup':
      return backups().failBackups(need(), true);
    case 'restore-backup':
      return backups().failBackups(need(), false);
    case 'lose-backup-destination':
      return backups().loseDestination(need(), true);
    case 'restore-backup-destination':
      return backups().loseDestination(need(), false);
    case 'disable-log-backup':
      return backups().setLogBackup(need(), false);
    case 'enable-log-backup':
      return backups().setLogBackup(need(), true);
    case 'backup-now':
      if (target.requestBackup === undefined) throw new Error('backup-now: this landscape runs no backups');
      return target.requestBackup();
    default:
      // A fault of the simulated site alone, by the same name (src/standins/hana-sim/site-faults.ts).
      return model.fault(f.action, need());
  }
}
