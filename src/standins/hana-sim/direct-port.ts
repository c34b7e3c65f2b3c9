/**
 * A HanaPort straight over a simulated site's snapshot, without rendering and parsing text.
 * The scenario runner's default goes through the command path (render -> parse) like real
 * HANA; this one serves the property tests that replay thousands of fault schedules.
 */
import {
  replicationStatuses,
  type HanaHealth,
  type OverallReplicationStatus,
  type ReplicationLink,
} from '../../domain/types.js';
import { realClock, type Clock } from '../../clock.js';
import { HanaActionError, type HanaPort, type KillOptions, type RegisterOptions } from '../../hana/port.js';
import type { SimProbeView, SimProcess, SimSiteControl, SimSiteState } from './snapshot.js';

/** Whether the site's tools answer: the light read when the control has one. */
const stateOf = (control: SimSiteControl): SimSiteState => control.state?.() ?? control.snapshot();

/**
 * Resolves when `done` holds (a call waiting on a frozen site returns at the thaw, one waiting on
 * a hung instance when it answers again); rejects on abort.
 */
function until(
  control: SimSiteControl,
  clock: Clock,
  signal: AbortSignal | undefined,
  done: (s: SimSiteState) => boolean,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let cancel: () => void = () => {};
    const onAbort = () => {
      cancel();
      reject(signal?.reason as Error);
    };
    const poll = () => {
      if (done(stateOf(control))) {
        signal?.removeEventListener('abort', onAbort);
        return resolve();
      }
      cancel = clock.setTimer(250, poll);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    poll();
  });
}

/** The agent's health from what the site's tools show (a snapshot, or just its SimProbeView). */
export function healthFromSnapshot(s: SimProbeView): HanaHealth {
  const running = s.running && s.landscapeStatus >= 2;
  const srRole = s.srMode === 'primary' ? 'primary' : s.srMode === 'none' ? 'none' : 'secondary';
  // Plain literals in loops (no spreads): every probe of every fuzz schedule builds this.
  const replication: ReplicationLink[] = [];
  for (const l of s.links) {
    // The SQL lag source: without it the lag is unknown (null), never zero.
    replication.push(
      s.sqlProbeBroken
        ? {
            secondary: l.secondarySite,
            mode: l.mode,
            operationMode: l.operationMode,
            status: l.status,
            statusDetails: l.statusDetails,
            inSync: l.fullySynced,
            lagSeconds: null,
            lagBytes: null,
          }
        : {
            secondary: l.secondarySite,
            mode: l.mode,
            operationMode: l.operationMode,
            status: l.status,
            statusDetails: l.statusDetails,
            inSync: l.fullySynced,
            lagSeconds: Math.max(0, (l.lastLogPositionTime - l.shippedLogPositionTime) / 1000),
            lagBytes: Math.max(0, (l.lastLogPosition - l.shippedLogPosition) * 64),
            positions: [{ volume: 'indexserver/1', last: l.lastLogPosition, shipped: l.shippedLogPosition }],
          },
    );
  }
  let overall: OverallReplicationStatus = 'NONE';
  for (const l of replication) {
    if (overall === 'NONE' || replicationStatuses.indexOf(l.status) < replicationStatuses.indexOf(overall)) {
      overall = l.status;
    }
  }
  const processes: Record<string, SimProcess['dispstatus']> = {};
  let nameserverPid: number | null = null;
  for (const p of s.processes) {
    processes[p.name] = p.dispstatus;
    if (p.name === 'hdbnameserver') nameserverPid = p.pid;
  }
  return {
    probeOk: true,
    running,
    landscapeStatus: s.landscapeStatus,
    processes,
    nameserverPid,
    srRole,
    ...(s.source ? { source: s.source.site } : {}),
    ...(s.srMode !== 'primary' && s.srMode !== 'none' ? { srMode: s.srMode } : {}),
    suspended: s.suspended,
    acceptsWrites:
      running &&
      srRole === 'primary' &&
      !s.suspended &&
      (s.processes.find((p) => p.name === 'hdbindexserver')?.dispstatus ?? 'GREEN') === 'GREEN',
    replication: srRole === 'primary' || replication.length > 0 ? replication : [],
    overallReplicationStatus: srRole === 'primary' ? overall : 'UNKNOWN',
  };
}

export class SimDirectPort implements HanaPort {
  constructor(
    private readonly control: SimSiteControl,
    private readonly clock: Clock = realClock,
  ) {}

  /** Waits out a freeze, and a hang unless `sapstartsrv` (which answers for a hung instance). */
  private reachable(signal?: AbortSignal, sapstartsrv = false): Promise<SimSiteState> {
    return this.answered(signal, sapstartsrv, (s) => s);
  }

  /** `read`, once the site answers (and at that instant: nothing else runs in between). */
  private async answered<T>(
    signal: AbortSignal | undefined,
    sapstartsrv: boolean,
    read: (s: SimSiteState) => T,
  ): Promise<T> {
    let s = stateOf(this.control);
    const answers = (x: SimSiteState) => !x.frozen && (sapstartsrv || x.hung !== true);
    if (!answers(s)) {
      await until(this.control, this.clock, signal, answers);
      s = stateOf(this.control);
    }
    if (!s.nodeUp) throw new HanaActionError('UNAVAILABLE', `host ${s.host} is not reachable`);
    return read(s);
  }

  async probe(signal?: AbortSignal): Promise<HanaHealth> {
    await this.reachable(signal);
    // hang-probe-tools: hdbnsutil and the scripts answer nothing, the database still commits.
    if (stateOf(this.control).probeToolsHung === true)
      await until(this.control, this.clock, signal, (x) => x.probeToolsHung !== true);
    return healthFromSnapshot(
      await this.answered(signal, false, () => this.control.probeView?.() ?? this.control.snapshot()),
    );
  }

  private async run(signal: AbortSignal | undefined, fn: () => void, sapstartsrv = false): Promise<void> {
    await this.reachable(signal, sapstartsrv);
    try {
      fn();
    } catch (err) {
      throw new HanaActionError('COMMAND_FAILED', err instanceof Error ? err.message : String(err));
    }
  }

  takeover(options: { readonly handshake: boolean }, signal?: AbortSignal): Promise<void> {
    return this.run(signal, () => this.control.takeover({ handshake: options.handshake }));
  }

  register(o: RegisterOptions, signal?: AbortSignal): Promise<void> {
    return this.run(signal, () =>
      this.control.register({
        remoteHost: o.remoteHost,
        remoteInstance: o.remoteInstance,
        replicationMode: o.replicationMode,
        operationMode: o.operationMode,
        name: o.siteName,
        online: o.online ?? false,
      }),
    );
  }

  start(signal?: AbortSignal): Promise<void> {
    return this.run(signal, () => this.control.start(), true);
  }

  /**
   * As sapcontrol StopSystem and the adapter's wait: done once every process is stopped. A hard
   * stop is sent (`onSent`) when sapstartsrv took it, or at once on a frozen site (it is queued:
   * the processes die at the thaw), as the adapter's STOP_SENT_SETTLE_MS would tell it then.
   */
  async stop(
    options: { readonly hard: boolean; readonly onSent?: () => void },
    signal?: AbortSignal,
  ): Promise<void> {
    const sent = options.hard ? options.onSent : undefined;
    if (options.hard && stateOf(this.control).frozen) {
      this.control.killAtThaw?.();
      sent?.();
      await this.run(signal, () => this.control.stop(options.hard), true);
    } else {
      await this.run(signal, () => this.control.stop(options.hard), true);
      sent?.();
    }
    await until(this.control, this.clock, signal, (s) => !s.running);
  }

  /** As `HDB kill-9`: works on a hung instance; a frozen one dies at the thaw. */
  async kill(signal?: AbortSignal, options: KillOptions = {}): Promise<void> {
    if (stateOf(this.control).frozen) {
      this.control.killAtThaw?.();
      options.onSent?.();
      await this.run(signal, () => this.control.kill(), true);
      return;
    }
    await this.run(signal, () => this.control.kill(), true);
    options.onSent?.();
  }

  suspend(signal?: AbortSignal): Promise<void> {
    return this.run(signal, () => this.control.suspend());
  }
}
