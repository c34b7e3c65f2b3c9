// Why this file is long: the simulated watchdog and fence devices with every fault mode the scenarios inject; one concern.
/**
 * The simulated hosts' fencing hardware: every site's node has a watchdog device and a fence
 * device (a BMC, a cloud API) that can power it off and on. They implement the fencing ports
 * (src/fencing/port.ts), so the agent code that uses the real devices runs unchanged in
 * `hanasr simulate` and `hanasr demo`.
 *
 * As real nodes behave:
 * - An armed watchdog that is not fed within its timeout resets the node: HANA goes down and
 *   stays down (Autostart=0), the node reboots after `bootSeconds`, and its agent starts again at
 *   boot (a systemd service) unless the scenario stopped it (stop-agent).
 * - A frozen node (freeze-site) cannot feed: writes to its device hang until the caller's deadline.
 *   A killed agent (stop-agent, crash) feeds no more: its armed watchdog fires.
 * - A fence `off` cuts the node's power: HANA and the agent die at once and nothing runs until
 *   `on`, after which the node boots like after a reset. The fence device itself is reached over
 *   a management network that the scenario's network faults do not cut; `fail-fencing` makes it
 *   fail (or hang), `remove-watchdog` takes the watchdog away (an armed one never fires then).
 *
 * Deterministic: everything happens on the injected clock, with fixed delays.
 */
import type { Clock } from '../../clock.js';
import {
  WatchdogError,
  type FenceAction,
  type FenceAgent,
  type FenceCallOptions,
  type FenceCallResult,
  type Watchdog,
  type WatchdogInfo,
  type WatchdogState,
} from '../../fencing/port.js';
import type { SimEvent, SimLandscape } from './model.js';

export const SIM_WATCHDOG_DEVICE = '/dev/watchdog';

export interface SimNodeDevicesOptions {
  readonly model: SimLandscape;
  readonly clock: Clock;
  /** Every node's watchdog timeout (seconds). */
  readonly watchdogTimeoutSeconds: number;
  /** Per node: another timeout (a softdog loaded with another soft_margin), or no watchdog at all. */
  readonly sites?: Readonly<
    Record<
      string,
      { readonly watchdogTimeoutSeconds?: number | undefined; readonly watchdog?: boolean | undefined }
    >
  >;
  /** Time from a reset or a power-on until the node is up and its agent starts (default 60). */
  readonly bootSeconds?: number;
  /** Time a fence device takes for off/on (default 2) and for status/monitor (default 0.5). */
  readonly powerSeconds?: number;
  readonly statusSeconds?: number;
  /** The node of `site` went down by a reset or a power-off: its agent process dies with it. */
  readonly onNodeDown?: (site: string, cause: 'watchdog-reset' | 'fenced-off') => void;
  /** The node of `site` booted: its agent starts (unless the scenario stopped it). */
  readonly onNodeUp?: (site: string) => void | Promise<void>;
}

/** What a test or the demo can see of one node's devices. */
export interface SimNodeState {
  readonly power: 'on' | 'off';
  readonly booting: boolean;
  readonly watchdog: { readonly present: boolean; readonly armed: boolean; readonly timeoutSeconds: number };
  readonly fencing: 'works' | 'fails' | 'hangs';
  readonly agentStopped: boolean;
}

interface Node {
  readonly site: string;
  power: 'on' | 'off';
  booting: boolean;
  cancelBoot: (() => void) | null;
  watchdogPresent: boolean;
  armed: boolean;
  timeoutSeconds: number;
  cancelExpiry: (() => void) | null;
  fencing: 'works' | 'fails' | 'hangs';
  /** The scenario stopped this site's agent: it does not start at boot. */
  agentStopped: boolean;
}

/** Waits until the signal aborts (a call into a frozen node or a hung device). */
function untilAborted(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal === undefined) return; // never: the caller gave no deadline
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

export class SimNodeDevices {
  private readonly nodes = new Map<string, Node>();
  private readonly timeline: SimEvent[] = [];
  private readonly t0: number;
  private readonly bootMs: number;
  private readonly powerMs: number;
  private readonly statusMs: number;
  private disposed = false;

  constructor(private readonly o: SimNodeDevicesOptions) {
    if (!(o.watchdogTimeoutSeconds > 0)) throw new RangeError('watchdogTimeoutSeconds must be > 0');
    this.t0 = o.clock.now();
    this.bootMs = (o.bootSeconds ?? 60) * 1000;
    this.powerMs = (o.powerSeconds ?? 2) * 1000;
    this.statusMs = (o.statusSeconds ?? 0.5) * 1000;
    for (const site of o.model.siteNames()) {
      const own = o.sites?.[site];
      const timeoutSeconds = own?.watchdogTimeoutSeconds ?? o.watchdogTimeoutSeconds;
      if (!(timeoutSeconds > 0)) throw new RangeError(`${site}: watchdogTimeoutSeconds must be > 0`);
      this.nodes.set(site, {
        site,
        power: 'on',
        booting: false,
        cancelBoot: null,
        watchdogPresent: own?.watchdog ?? true,
        armed: false,
        timeoutSeconds,
        cancelExpiry: null,
        fencing: 'works',
        agentStopped: false,
      });
    }
  }

  // ---------------------------------------------------------------- the ports

  /** The watchdog of `site`'s node, as the agent on that node opens it. */
  watchdog(site: string): Watchdog {
    const n = this.node(site);
    let mine: WatchdogState = 'disarmed';
    const frozen = () => this.o.model.isFrozen(site);
    const hang = async (what: string, signal: AbortSignal): Promise<never> => {
      await untilAborted(signal);
      if (n.armed) mine = 'failed';
      throw new WatchdogError('TIMEOUT', `watchdog ${what}: no answer (the node is frozen)`);
    };
    const up = () => n.power === 'on' && !n.booting;
    return {
      device: SIM_WATCHDOG_DEVICE,
      state: () => (n.armed ? mine : 'disarmed'),
      probe: async () => this.info(n),
      arm: async (signal) => {
        if (!up() || !n.watchdogPresent)
          throw new WatchdogError('ABSENT', `cannot open watchdog ${SIM_WATCHDOG_DEVICE}: no such device`);
        if (frozen()) return hang('arm', signal);
        if (!n.armed) this.note(site, 'watchdog-armed', `watchdog armed (timeout ${n.timeoutSeconds} s)`);
        n.armed = true;
        this.restartCountdown(n);
        mine = 'armed';
      },
      feed: async (signal) => {
        if (!n.armed) throw new WatchdogError('NOT_ARMED', `watchdog ${SIM_WATCHDOG_DEVICE} is not armed`);
        if (!n.watchdogPresent) {
          mine = 'failed';
          throw new WatchdogError('ABSENT', `cannot feed watchdog ${SIM_WATCHDOG_DEVICE}: no such device`);
        }
        if (frozen()) return hang('feed', signal);
        this.restartCountdown(n);
        mine = 'armed';
      },
      disarm: async (signal) => {
        if (!n.armed) {
          mine = 'disarmed';
          return;
        }
        if (frozen()) return hang('disarm', signal);
        this.disarm(n, 'watchdog disarmed (magic close)');
        mine = 'disarmed';
      },
    };
  }

  /** The fence agent the agent on `caller` runs; `call(site, ...)` acts on `site`'s node. */
  fenceAgent(caller: string): FenceAgent {
    this.node(caller);
    return { call: (site, action, options) => this.fenceCall(caller, site, action, options) };
  }

  // ---------------------------------------------------------------- faults and hooks

  removeWatchdog(site: string): void {
    const n = this.node(site);
    if (!n.watchdogPresent) return this.note(site, 'remove-watchdog', 'no watchdog already');
    n.watchdogPresent = false;
    n.cancelExpiry?.();
    n.cancelExpiry = null;
    this.note(
      site,
      'remove-watchdog',
      n.armed
        ? 'watchdog gone while armed: it will never fire, feeds fail'
        : 'watchdog gone: opening it fails',
    );
  }

  restoreWatchdog(site: string): void {
    const n = this.node(site);
    if (n.watchdogPresent) return this.note(site, 'restore-watchdog', 'watchdog was there');
    n.watchdogPresent = true;
    n.armed = false;
    this.note(site, 'restore-watchdog', 'watchdog device back (disarmed)');
  }

  /** The fence device of `site` fails every call (or, with hang, never answers). */
  failFencing(site: string, hang = false): void {
    const n = this.node(site);
    n.fencing = hang ? 'hangs' : 'fails';
    this.note(
      site,
      'fail-fencing',
      hang ? 'fence device hangs: calls never answer' : 'fence device fails every call',
    );
  }

  restoreFencing(site: string): void {
    const n = this.node(site);
    n.fencing = 'works';
    this.note(site, 'restore-fencing', 'fence device answers again');
  }

  /** The scenario stopped (true) or started (false) the agent of `site`: a boot follows that. */
  agentStopped(site: string, stopped: boolean): void {
    this.node(site).agentStopped = stopped;
  }

  /** The node crashed outside these devices (crash-node): its watchdog went down with it. */
  nodeCrashed(site: string): void {
    const n = this.node(site);
    n.armed = false;
    n.cancelExpiry?.();
    n.cancelExpiry = null;
  }

  /** The node's power is off (a fence): nothing but `on` brings it back. */
  poweredOff(site: string): boolean {
    return this.node(site).power === 'off';
  }

  state(site: string): SimNodeState {
    const n = this.node(site);
    return {
      power: n.power,
      booting: n.booting,
      watchdog: { present: n.watchdogPresent, armed: n.armed, timeoutSeconds: n.timeoutSeconds },
      fencing: n.fencing,
      agentStopped: n.agentStopped,
    };
  }

  /** Device events, with `t` in seconds since these devices were made (as the model's). */
  events(): SimEvent[] {
    return this.timeline.map((e) => ({ ...e }));
  }

  dispose(): void {
    this.disposed = true;
    for (const n of this.nodes.values()) {
      n.cancelExpiry?.();
      n.cancelBoot?.();
      n.cancelExpiry = null;
      n.cancelBoot = null;
    }
  }

  // ---------------------------------------------------------------- internals

  private info(n: Node): WatchdogInfo {
    if (!n.watchdogPresent || n.power === 'off' || n.booting) {
      return {
        device: SIM_WATCHDOG_DEVICE,
        present: false,
        problem: `${SIM_WATCHDOG_DEVICE}: no such device`,
      };
    }
    return {
      device: SIM_WATCHDOG_DEVICE,
      present: true,
      timeoutSeconds: n.timeoutSeconds,
      identity: 'hanasr simulated watchdog',
      nowayout: false,
    };
  }

  private restartCountdown(n: Node): void {
    n.cancelExpiry?.();
    n.cancelExpiry = this.o.clock.setTimer(n.timeoutSeconds * 1000, () => {
      n.cancelExpiry = null;
      if (this.disposed || !n.armed || !n.watchdogPresent) return;
      n.armed = false;
      this.note(n.site, 'watchdog-reset', `watchdog not fed for ${n.timeoutSeconds} s: the node resets`);
      this.nodeDown(n, 'watchdog-reset');
      this.boot(n);
    });
  }

  private disarm(n: Node, reason: string): void {
    n.armed = false;
    n.cancelExpiry?.();
    n.cancelExpiry = null;
    this.note(n.site, 'watchdog-disarmed', reason);
  }

  /** HANA and the agent die with the node; the model keeps the instance stopped (Autostart=0). */
  private nodeDown(n: Node, cause: 'watchdog-reset' | 'fenced-off'): void {
    n.armed = false;
    n.cancelExpiry?.();
    n.cancelExpiry = null;
    this.o.onNodeDown?.(n.site, cause);
    this.o.model.crashNode(n.site);
  }

  private boot(n: Node): void {
    n.booting = true;
    n.cancelBoot?.();
    n.cancelBoot = this.o.clock.setTimer(this.bootMs, () => {
      n.cancelBoot = null;
      if (this.disposed || n.power === 'off') return;
      n.booting = false;
      this.o.model.restoreNode(n.site);
      this.note(
        n.site,
        'node-booted',
        n.agentStopped
          ? 'node up; HANA stays stopped (Autostart=0); the agent stays stopped (the scenario stopped it)'
          : 'node up; HANA stays stopped (Autostart=0); the agent service starts',
      );
      if (!n.agentStopped) {
        Promise.resolve()
          .then(() => this.o.onNodeUp?.(n.site))
          .catch((err: unknown) =>
            this.note(n.site, 'agent-start-failed', err instanceof Error ? err.message : String(err)),
          );
      }
    });
  }

  private async fenceCall(
    caller: string,
    site: string,
    action: FenceAction,
    o: FenceCallOptions,
  ): Promise<FenceCallResult> {
    const what = `simulated fence agent action=${action} for ${site}`;
    const fail = (
      code: Extract<FenceCallResult, { ok: false }>['code'],
      message: string,
    ): FenceCallResult => ({
      ok: false,
      action,
      code,
      message,
    });
    const n = this.nodes.get(site);
    if (n === undefined) return fail('NOT_CONFIGURED', `${what}: no such site`);
    const deadline = new AbortController();
    const cancelDeadline = this.o.clock.setTimer(o.timeoutMs, () => deadline.abort());
    const onAbort = () => deadline.abort();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (n.fencing === 'hangs') {
        await untilAborted(deadline.signal);
        return o.signal?.aborted
          ? fail('ABORTED', `${what}: aborted`)
          : fail('TIMEOUT', `${what}: no answer within ${o.timeoutMs} ms (killed)`);
      }
      const takes = action === 'off' || action === 'on' ? this.powerMs : this.statusMs;
      // The device acts when its time comes, even if the caller has given up by then.
      const done = new Promise<void>((resolve) => {
        this.o.clock.setTimer(takes, () => {
          if (n.fencing === 'works' && !this.disposed) this.act(caller, n, action);
          resolve();
        });
      });
      const finished = await Promise.race([
        done.then(() => true),
        untilAborted(deadline.signal).then(() => false),
      ]);
      if (!finished) {
        return o.signal?.aborted
          ? fail('ABORTED', `${what}: aborted`)
          : fail('TIMEOUT', `${what}: no answer within ${o.timeoutMs} ms (killed)`);
      }
      if (n.fencing !== 'works')
        return fail('FAILED', `${what}: exit 1: Failed: Unable to connect/login to fencing device`);
      switch (action) {
        case 'status':
          return { ok: true, action, power: n.power, message: `${what}: Status: ${n.power.toUpperCase()}` };
        case 'monitor':
          return { ok: true, action, message: `${what}: device answers` };
        default:
          return { ok: true, action, message: `${what}: Success: Powered ${action.toUpperCase()}` };
      }
    } finally {
      cancelDeadline();
      o.signal?.removeEventListener('abort', onAbort);
    }
  }

  private act(caller: string, n: Node, action: FenceAction): void {
    if (action === 'off' && n.power === 'on') {
      n.power = 'off';
      n.cancelBoot?.();
      n.cancelBoot = null;
      n.booting = false;
      this.note(n.site, 'fenced-off', `powered off by the fence agent of ${caller}`);
      this.nodeDown(n, 'fenced-off');
    } else if (action === 'on' && n.power === 'off') {
      n.power = 'on';
      this.note(n.site, 'fenced-on', `powered on by the fence agent of ${caller}; booting`);
      this.boot(n);
    }
  }

  private node(site: string): Node {
    const n = this.nodes.get(site);
    if (n === undefined) throw new Error(`unknown site "${site}"`);
    return n;
  }

  private note(site: string, event: string, reason: string): void {
    this.timeline.push({ t: Math.round(this.o.clock.now() - this.t0) / 1000, site, event, reason });
  }
}
