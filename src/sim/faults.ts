/**
 * What each scenario fault does to a landscape. Shared by `hanasr simulate` (virtual time, one
 * process) and `hanasr demo` (real time, a running landscape), so a fault means the same in both.
 */
import type { SimNodeDevices } from '../hana/sim/devices.js';
import type { SimLandscape } from '../hana/sim/model.js';
import type { Fault } from './scenario.js';

export interface FaultTarget {
  readonly model: SimLandscape;
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
}

export async function applyFault(target: FaultTarget, f: Fault): Promise<void> {
  const { model } = target;
  const site = f.site;
  const need = (): string => {
    if (site === undefined) throw new Error(`${f.action} needs a site`);
    return site;
  };
  const devices = (): SimNodeDevices => {
    if (target.devices === undefined)
      throw new Error(`${f.action}: this landscape simulates no fencing devices`);
    return target.devices;
  };
  switch (f.action) {
    case 'crash-instance':
      return model.crashInstance(need());
    case 'restart-instance':
      return model.restartInstance(need());
    case 'kill-indexserver':
      return model.killIndexserver(need());
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
    case 'freeze-site':
      return model.freezeSite(need());
    case 'thaw-site':
      return model.thawSite(need());
    case 'hang-instance':
      return model.hangInstance(need());
    case 'unhang-instance':
      return model.unhangInstance(need());
    case 'fill-log-area':
      return model.fillLogArea(need());
    case 'free-log-area':
      return model.freeLogArea(need());
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
  }
}
