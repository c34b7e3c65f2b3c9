// Why this file is long: one function per action (ten of them) and the steps they share (stopping the own site, promotion, fencing a node).
/**
 * The agent's actions, one function each and all of one shape: the epoch check the action needs
 * (declared in ACTIONS, carried out by `carryOut` before the work), the work itself (every HANA and
 * store call with its own deadline), and the outcome it tells (an `action`, `refused` or
 * `action-failed` event; a failed write on the way is told too, never dropped).
 *
 * When an action may run (the ActionLane below): the cycle carries out one action at a time. The
 * one action that may overtake a cycle (stuck in a hung probe or a hung action) is the self-fence
 * of the lease check: stopping the own site can only remove a writer, needs no epoch, and must not
 * wait behind a cycle that outlives the lease, or a cut-off primary would stay writable after
 * another site may have taken over. A fence of another node runs in the background (one at a
 * time), so a fence agent that fails or hangs does not hold up the cycle either.
 */
import type { HanaSystemReplicationSpec } from '../api/spec.js';
import { TimeoutError, withTimeout, type Clock } from '../clock.js';
import type { ClusterState, CoordinationSession } from '../coordination/port.js';
import type { Action, Decision } from '../domain/decision.js';
import type { Observation, PeerView } from '../domain/observation.js';
import { leaderViewOf } from '../domain/observation.js';
import { promotable } from '../domain/decide.js';
import { hasLiveProcess } from '../domain/health.js';
import { checkOf, handshakeFallback, promotionSuspects, type SuspectCheck } from '../domain/promotion.js';
import { drainCheck, linkReplicationMode, type RegionRecord } from '../domain/region.js';
import { sfailBeforeStart, startMayBringUpPrimary } from '../domain/sync.js';
import { primaryViewOf } from '../domain/sync-trust.js';
import type { FenceRecord, HanaHealth, LeaderRecord, LeaderView } from '../domain/types.js';
import type { FenceAgent, FenceOutcome } from '../fencing/port.js';
import { fenceOff, fenceOn, fenceTiming } from '../fencing/procedure.js';
import type { HanaPort } from '../hana/port.js';

type Kind = Action['kind'];
type ActionOf<K extends Kind> = Extract<Action, { kind: K }>;

/** The final word of an action; null: nothing more to tell (it was told on the way). */
export type Told = {
  readonly event: 'action' | 'refused' | 'action-failed';
  readonly reason: string;
  readonly message: string;
} | null;

/** What an action may use and change of its agent (src/agent/agent.ts implements it). */
export interface ActionHost {
  readonly site: string;
  readonly clock: Clock;
  readonly hana: HanaPort;
  readonly session: CoordinationSession;
  readonly peers: { check(site: string, signal: AbortSignal): Promise<PeerView> } | undefined;
  readonly fenceAgent: FenceAgent | undefined;
  /** Deadline of takeover/register/start (ms), and of a hard stop and of a kill (ms). */
  readonly actionMs: number;
  readonly stopMs: number;
  spec(): HanaSystemReplicationSpec;
  running(): boolean;
  /** A store call within the store deadline. */
  storeCall<T>(what: string, fn: () => Promise<T>): Promise<T>;
  tell(event: string, action: Kind, reason: string, message: string): void;
  lastHealth(): HanaHealth;
  leaderMine(): boolean;
  setLeaderMine(mine: false): void;
  setFenced(fenced: boolean): void;
  countRestart(): void;
  /** A stop of the own site began or failed: the watchdog goes unfed from now on (fed at once). */
  stopping(state: 'in-progress' | 'failed'): void;
  /** A stop of the own site is confirmed: fenced. */
  stopped(): void;
  /**
   * A hard stop (or kill) of the own site, decided in term `epoch`, reached the node's tools: it
   * lands before any write. Recorded as the report's `stopSent` and published at once.
   */
  stopSent(epoch: number): void;
  /** Publishes this agent's report now (a failure is told, not thrown). */
  publishReport(): Promise<void>;
  observation(leader: LeaderView, state: ClusterState | null): Observation;
  /** Compare-and-set on the leader key (with the watchdog's part); null: refused and told. */
  winLeaderKey(
    kind: Kind,
    expectedLastEpoch: number,
    seize?: string,
    supersede?: string,
  ): Promise<LeaderRecord | null>;
  /** The takeover won the key for and not yet carried out (see 'promote'). */
  pendingTakeover: {
    epoch: number;
    planned: boolean;
    from: string | null;
    /** The old primary's term, whose sync records the in-sync rule reads. */
    lastEpoch: number;
  } | null;
  /** The background fence of another node. */
  nodeFence: { running: Promise<void> | null; abort: AbortController | null; site: string | null };
  noteFence(record: FenceRecord): void;
  /** Runs a cycle now (as the leader watch does): a confirmed fence of a lost leader. */
  wake(): void;
  /** Compare-and-set on the own store's region record (absent: the agent keeps no region records). */
  writeRegion?(record: RegionRecord, expectedGeneration: number | null): Promise<boolean>;
}

/**
 * How an action checks the epoch it believes in before it does anything:
 * - 'store': re-reads the store; refused (stale_epoch) unless its epoch is the current one;
 * - 'leader-key': the leader key itself, by compare-and-set (acquire, takeover, release) or
 *   re-read right before the command (promote);
 * - 'none': it can only remove something (a writer, a request), which is always allowed.
 */
type EpochCheck = 'store' | 'leader-key' | 'none';

interface ActionSpec<K extends Kind> {
  readonly epoch: EpochCheck;
  /** `state`: the store as read by the 'store' check (null for the others). */
  run(host: ActionHost, a: ActionOf<K>, d: Decision, state: ClusterState | null): Promise<Told>;
}

const hanaCall = <T>(host: ActionHost, what: string, fn: (signal: AbortSignal) => Promise<T>) =>
  withTimeout(host.clock, host.actionMs, what, fn);

/** Removes a done request; a failure is told (the request stays and is seen again), not dropped. */
async function completeIntent(host: ActionHost, id: string): Promise<void> {
  await host
    .storeCall('complete intent', () => host.session.completeIntent(id))
    .catch((err: unknown) =>
      host.tell(
        'store-write-failed',
        'none',
        'intent_complete_failed',
        `removing the done request ${id} from the coordination store failed: ${errorMessage(err)}`,
      ),
    );
}

const ACTIONS: { readonly [K in Kind]: ActionSpec<K> } = {
  none: { epoch: 'none', run: async () => null },

  'acquire-leader': {
    epoch: 'leader-key',
    async run(host, a, d) {
      const rec = await host.winLeaderKey(a.kind, a.expectedLastEpoch, undefined, a.supersedeHandover);
      return rec
        ? { event: 'action', reason: d.reason, message: `acquired the leader key at epoch ${rec.epoch}` }
        : null;
    },
  },

  takeover: {
    epoch: 'leader-key',
    async run(host, a) {
      const rec = await host.winLeaderKey(a.kind, a.expectedLastEpoch, a.seize, a.supersedeHandover);
      if (!rec) return null;
      // A promotion that has to wait (a failed handshake) is retried as 'promote' in a later
      // cycle: it is still the same takeover, planned or not, from the same old primary.
      host.pendingTakeover = {
        epoch: rec.epoch,
        planned: a.planned,
        from: a.from,
        lastEpoch: a.expectedLastEpoch,
      };
      await promote(host, a.kind, rec.epoch, a.handshake, a.planned, a.from, a.expectedLastEpoch);
      if (a.intentId !== undefined) await completeIntent(host, a.intentId);
      // As a fence agent's reboot does: the node we powered off boots again, its HANA stays
      // stopped (Autostart=0) and its agent follows the new leader (register or wait).
      if (a.powerOn !== undefined && host.leaderMine()) void powerOn(host, a.powerOn, rec.epoch);
      return null;
    },
  },

  'hand-back': {
    epoch: 'leader-key',
    async run(host, a) {
      const rec = await host.winLeaderKey(a.kind, a.expectedLastEpoch, undefined, a.supersedeHandover);
      if (!rec) return null;
      // Released within this action: held over to the next cycle, a secondary holding the key
      // would be promoted (promote_after_acquiring_leader). The same checks as a promotion that
      // is refused (handBackOrKeep), on a fresh read.
      const state = await host.storeCall('coordination read', () => host.session.read()).catch(() => null);
      if (state === null) {
        refuseKeepingKey(host, `the store cannot be read to hand the key to ${a.to}`);
        return null;
      }
      await handBackOrKeep(
        host,
        rec.epoch,
        a.to,
        `it never took over in epoch ${a.expectedLastEpoch}`,
        state,
      );
      return null;
    },
  },

  promote: {
    epoch: 'leader-key',
    async run(host, a) {
      const same = host.pendingTakeover?.epoch === a.epoch ? host.pendingTakeover : null;
      // Not this process's own takeover (it was restarted while its site held the key): the old
      // primary is the site this secondary replicates from, in the term before the key's (a key
      // is won at the epoch after the one it replaces), so the in-sync rule is asked again as for
      // a retried takeover. Before, it promoted on trust it never had (issue 12).
      const source = host.lastHealth().source;
      const from = same !== null ? same.from : source !== undefined && source !== host.site ? source : null;
      await promote(
        host,
        a.kind,
        a.epoch,
        a.handshake,
        same?.planned ?? false,
        from,
        same !== null ? same.lastEpoch : from !== null ? a.epoch - 1 : null,
      );
      return null;
    },
  },

  'fence-node': {
    epoch: 'store',
    async run(host, a, d, state) {
      // A lost leader is fenced while it still holds the key or nobody does; a rogue primary by
      // the leader itself (powerOnAfter). Anyone else holding the key: not ours to fence.
      if (state?.leader != null && state.leader.site !== a.site && state.leader.site !== host.site)
        return {
          event: 'refused',
          reason: 'not_leader',
          message: `not fencing ${a.site}: ${state.leader.site} holds the leader key now`,
        };
      // In the background: a fence that fails or hangs (up to fencing.agent.timeoutSeconds)
      // must not hold up the cycle, so the lease rule stays in force meanwhile.
      if (host.nodeFence.running !== null) return null;
      const abort = new AbortController();
      host.nodeFence.abort = abort;
      host.nodeFence.site = a.site;
      host.nodeFence.running = fenceNode(
        host,
        a.site,
        a.epoch,
        d.reason,
        abort.signal,
        a.powerOnAfter === true,
      )
        .catch((err: unknown) =>
          host.tell(
            'action-failed',
            'fence-node',
            'node_fence_failed',
            `fencing ${a.site} failed: ${errorMessage(err)}`,
          ),
        )
        .finally(() => {
          host.nodeFence.running = null;
          host.nodeFence.abort = null;
          host.nodeFence.site = null;
        });
      return null;
    },
  },

  'step-down': {
    epoch: 'leader-key',
    async run(host, a, d) {
      let how = '';
      if (a.fence === 'stop') {
        // Never hand the key on while the old primary may come back (a frozen instance that
        // thaws would take writes again): keep the key and retry on the next cycle.
        const stopped = await stopSite(host, a.kind, 'keeping the leader key until it is stopped', a.epoch);
        if (!stopped.ok) return null;
        how = `${stopped.how} ${host.site}, `;
        // The successor reads the confirmed stop (fenced) before the key is free: it waits for a
        // stop of a site its agent cannot read (decide.ts former_primary_stop_not_sent).
        await host.publishReport();
      }
      await host.storeCall('release leader', () => host.session.releaseLeader(a.epoch, a.handoverTo));
      host.setLeaderMine(false);
      return {
        event: 'action',
        reason: d.reason,
        message: `${how}released the leader key at epoch ${a.epoch}`,
      };
    },
  },

  'start-local': {
    epoch: 'store',
    async run(host, a, d, state) {
      if (startMayBringUpPrimary(a, host.lastHealth())) {
        // Starting a primary is only safe while we still hold the key in this epoch.
        if (!state?.leader || state.leader.site !== host.site)
          return {
            event: 'refused',
            reason: 'not_leader',
            message: 'not starting a primary without the leader key',
          };
        // A starting primary commits alone at once: its secondaries' SOK records must not
        // vouch for the time after the start. Not recorded, not started.
        await host.storeCall('write sync', () =>
          host.session.writeSync(
            a.epoch,
            sfailBeforeStart(host.spec(), host.site, a.epoch, host.clock.now()),
          ),
        );
      }
      let how = '';
      if (a.restart) {
        host.countRestart();
        // A failed probe says nothing about the processes: the instance may run and hang. A
        // restart always stops it first (hard stop, then a kill), and never starts on top of it.
        const stopped = await stopSite(host, a.kind, 'not starting it on top of a running instance', a.epoch);
        if (!stopped.ok) return null;
        how = `${stopped.how}, then `;
      }
      await hanaCall(host, 'start', (s) => host.hana.start(s));
      host.setFenced(false);
      return { event: 'action', reason: d.reason, message: `${how}started ${host.site}` };
    },
  },

  fence: {
    epoch: 'none',
    async run(host, a, d) {
      // Fencing one's own site is always allowed: it can only remove a writer. It is reported
      // (fenced) only once the stop is confirmed; a failed one is retried on the next cycle.
      const stopped = await stopSite(host, a.kind, 'retrying on the next cycle', a.epoch);
      if (!stopped.ok) return null;
      return { event: 'action', reason: d.reason, message: `fenced ${host.site} (${stopped.how})` };
    },
  },

  register: {
    epoch: 'store',
    async run(host, a, d) {
      const spec = host.spec();
      const primary = spec.sites.find((s) => s.name === a.primary);
      if (!primary) throw new Error(`unknown primary site ${a.primary}`);
      await hanaCall(host, 'register', (s) =>
        host.hana.register(
          {
            remoteSite: primary.name,
            remoteHost: primary.host,
            remoteInstance: spec.instanceNumber,
            replicationMode: linkReplicationMode(spec, host.site, primary.name),
            operationMode: spec.replication.operationMode,
            siteName: host.site,
            ...(a.online ? { online: true } : {}),
          },
          s,
        ),
      );
      host.setFenced(false);
      if (a.intentId !== undefined) await completeIntent(host, a.intentId);
      for (const id of a.releases ?? []) await completeIntent(host, id);
      return {
        event: 'action',
        reason: d.reason,
        message: `registered ${host.site} as secondary of ${a.primary}${a.releases ? ' (its fence request released)' : ''}`,
      };
    },
  },

  'demote-region': {
    epoch: 'store',
    async run(host, a, d, state) {
      const drain = state?.region;
      const token = drain?.token;
      if (
        drain === undefined ||
        drain.generation !== a.generation ||
        drain.draining !== true ||
        token?.fromSite !== host.site ||
        token.logPosition !== undefined
      )
        return {
          event: 'refused',
          reason: 'region_switchover_moved_on',
          message: `not demoting ${host.site}: the region record is no longer the draining generation ${a.generation} naming it`,
        };
      if (host.writeRegion === undefined)
        return {
          event: 'refused',
          reason: 'region_view_missing',
          message: `not demoting ${host.site}: this agent keeps no region records`,
        };
      // Two probes a cycle apart (each within the probe deadline): the log must stand still and
      // be shipped to the target on every volume. Unknown is not drained: the operator's
      // deadline then aborts the switchover and this primary stays.
      const probeMs = host.spec().probes.timeoutSeconds * 1000;
      const probe = () => withTimeout(host.clock, probeMs, 'drain probe', (s) => host.hana.probe(s));
      const first = await probe();
      await new Promise<void>((r) => host.clock.setTimer(host.spec().probes.intervalSeconds * 1000, r));
      const second = await probe();
      const check = drainCheck(first, second, a.target);
      if (!check.drained)
        return {
          event: 'action',
          reason: 'region_switchover_draining',
          message: `${host.site} is not drained into ${a.target} yet: ${check.message}`,
        };
      const stopped = await stopSite(host, a.kind, 'retrying on the next cycle', a.epoch);
      if (!stopped.ok) return null;
      // Only now (no writes can follow a stopped instance) the position becomes the token the
      // handover waits for; compare-and-set on the draining generation it was decided in.
      const record: RegionRecord = {
        ...drain,
        token: { ...token, logPosition: check.position, positions: check.positions },
      };
      const written = await host.writeRegion(record, a.generation);
      if (!written)
        return {
          event: 'refused',
          reason: 'region_switchover_moved_on',
          message: `${host.site} stopped, but the region record moved on before its last log position ${check.position} was recorded: no handover on it`,
        };
      return {
        event: 'action',
        reason: d.reason,
        message: `${stopped.how} ${host.site} after its log stood still at ${check.position}, shipped to ${a.target}; recorded as the demotion token of generation ${a.generation}`,
      };
    },
  },

  'refuse-intent': {
    epoch: 'none',
    async run(host, a, d) {
      await host.storeCall('complete intent', () => host.session.completeIntent(a.intentId));
      return { event: 'refused', reason: d.reason, message: d.message };
    },
  },
};

/** The epoch check each action makes before its work (see EpochCheck). */
export function epochCheckOf(kind: Kind): EpochCheck {
  return ACTIONS[kind].epoch;
}

/**
 * Carries out a decided action: its epoch check, its work, its outcome told. A thrown error is an
 * `action-failed` event, never lost.
 */
export async function carryOut(host: ActionHost, d: Decision): Promise<void> {
  const a = d.action;
  const spec = ACTIONS[a.kind] as ActionSpec<Kind>;
  try {
    let state: ClusterState | null = null;
    if (spec.epoch === 'store' && 'epoch' in a) {
      const check = await epochStillCurrent(host, a.epoch);
      if (!check.ok) {
        host.tell(
          'refused',
          a.kind,
          'stale_epoch',
          `${a.kind} refused: it carries epoch ${a.epoch}, the store is at ${check.state?.lastEpoch ?? 'unknown'}`,
        );
        return;
      }
      state = check.state;
    }
    const told = await spec.run(host, a, d, state);
    if (told !== null) host.tell(told.event, a.kind, told.reason, told.message);
  } catch (err) {
    host.tell('action-failed', a.kind, d.reason, `${a.kind} failed: ${errorMessage(err)}`);
  }
}

/**
 * When an action may run (see the top of this file). The cycle hands each action to `fromCycle`;
 * the lease check hands its self-fence to `overtaking`, the only way to act beside a cycle.
 */
export class ActionLane {
  private cycleAction: Kind | null = null;
  private overtakers = 0;

  /** An action the cycle decided: one at a time (a second one is a bug, refused loudly). */
  async fromCycle(kind: Kind, run: () => Promise<void>): Promise<void> {
    if (this.cycleAction !== null)
      throw new Error(`${kind} while ${this.cycleAction} runs: the cycle carries out one action at a time`);
    this.cycleAction = kind;
    try {
      await run();
    } finally {
      this.cycleAction = null;
    }
  }

  /** The lease check's self-fence: runs at once, whatever the cycle is doing. */
  async overtaking(kind: Kind, run: () => Promise<void>): Promise<void> {
    if (kind !== 'fence') throw new Error(`${kind} may not overtake the cycle: only a self-fence may`);
    this.overtakers++;
    try {
      await run();
    } finally {
      this.overtakers--;
    }
  }

  /** What runs now: the cycle's action (null: none) and how many self-fences beside it. */
  get inFlight(): { readonly cycle: Kind | null; readonly overtaking: number } {
    return { cycle: this.cycleAction, overtaking: this.overtakers };
  }
}

/** Re-reads the store and checks the action's epoch is still the current one. */
async function epochStillCurrent(
  host: ActionHost,
  epoch: number,
): Promise<{ ok: boolean; state: ClusterState | null }> {
  try {
    const state = await host.storeCall('coordination read', () => host.session.read());
    return { ok: state.lastEpoch === epoch, state };
  } catch {
    return { ok: false, state: null };
  }
}

/**
 * Stops the local site for certain: a hard stop within the stop deadline; when it does not
 * complete (a hung instance), `HDB kill-9` within the same deadline. `fenced` is set only once
 * one of them is confirmed (every process stopped). A failure is an `action-failed` event with
 * reason `fence_failed` (counted in hanasr_fencing_failures_total, an Event from the operator);
 * the caller retries on its next cycle.
 */
export async function stopSite(
  host: ActionHost,
  kind: Kind,
  onFailure: string,
  epoch: number,
): Promise<{ readonly ok: true; readonly how: string } | { readonly ok: false }> {
  const { clock, hana, stopMs } = host;
  // Sent (it reached the node's tools) is told before it lands: a hung or frozen instance gets it
  // at its thaw, before any write (HanaPort StopOptions.onSent).
  const onSent = () => host.stopSent(epoch);
  // Self-fencing: from now on the watchdog goes unfed while this site leads or may write, so a
  // stop that never completes (a hung instance, a frozen file system) ends in a reset.
  host.stopping('in-progress');
  try {
    // A crashed instance the last probe read as all stopped needs only a fresh confirmation.
    const last = host.lastHealth();
    const stoppedAtLastProbe = Object.keys(last.processes).length > 0 && !hasLiveProcess(last);
    await withTimeout(clock, stopMs, 'hard stop', (s) =>
      hana.stop({ hard: true, stoppedAtLastProbe, onSent }, s),
    );
    host.stopped();
    return { ok: true, how: 'stopped' };
  } catch (stopErr) {
    host.tell(
      'action-failed',
      kind,
      'stop_failed',
      `hard stop of ${host.site} did not complete (${errorMessage(stopErr)}): killing its processes (HDB kill-9)`,
    );
    try {
      await withTimeout(clock, stopMs, 'kill', (s) => hana.kill(s, { onSent }));
    } catch (killErr) {
      host.tell(
        'action-failed',
        kind,
        'fence_failed',
        `${host.site} is not stopped: the hard stop (${errorMessage(stopErr)}) and the kill (${errorMessage(killErr)}) failed; ${onFailure}`,
      );
      host.stopping('failed');
      return { ok: false };
    }
    host.stopped();
    return { ok: true, how: 'killed (HDB kill-9, the hard stop did not complete)' };
  }
}

/**
 * Re-reads the leader key right before `hdbnsutil -sr_takeover`: a promotion runs only while
 * the key is this site's at `epoch`. A refusal is a 'refused' event (stale_epoch when the term
 * moved on, not_leader when the key is gone or another's in the same term).
 */
async function leaderStillMine(host: ActionHost, kind: Kind, epoch: number): Promise<boolean> {
  let state: ClusterState;
  try {
    state = await host.storeCall('coordination read', () => host.session.read());
  } catch (err) {
    host.tell(
      'refused',
      kind,
      'not_leader',
      `${kind} refused: the leader key cannot be read right before -sr_takeover (${errorMessage(err)})`,
    );
    return false;
  }
  const leader = state.leader;
  if (leader?.site === host.site && leader.epoch === epoch) return true;
  const now =
    leader === null
      ? `nobody holds the leader key (last epoch ${state.lastEpoch})`
      : `${leader.site} holds the leader key at epoch ${leader.epoch}`;
  const stale = (leader?.epoch ?? state.lastEpoch) !== epoch;
  host.tell(
    'refused',
    kind,
    stale ? 'stale_epoch' : 'not_leader',
    `${kind} refused: it carries epoch ${epoch}, but ${now}`,
  );
  if (leader?.site !== host.site) host.setLeaderMine(false);
  return false;
}

async function promote(
  host: ActionHost,
  kind: 'takeover' | 'promote',
  epoch: number,
  handshake: boolean,
  planned: boolean,
  from: string | null,
  lastEpoch: number | null,
): Promise<void> {
  if (!(await leaderStillMine(host, kind, epoch))) return;
  // A retried plain promotion (decided in an earlier cycle): the trust that decision had may have
  // run out while it waited, as for the fallback below.
  if (kind === 'promote' && !handshake && !planned && from !== null) {
    const state = await host.storeCall('coordination read', () => host.session.read()).catch(() => null);
    if (state === null) {
      host.tell(
        'refused',
        'takeover',
        'not_in_sync_any_more',
        `not promoting ${host.site}: the store cannot be read to ask the in-sync rule again`,
      );
      return;
    }
    const obs = host.observation(leaderViewOf(state, host.site), state);
    const why = inSyncAgain(host, planned, from, lastEpoch, obs);
    if (why !== null) {
      await handBackOrKeep(host, epoch, from, why, state);
      return;
    }
  }
  try {
    await hanaCall(host, 'takeover', (s) => host.hana.takeover({ handshake }, s));
  } catch (err) {
    if (!handshake) throw err;
    // The handshake needs the old primary; without it, a plain takeover is safe only if no
    // site may still write (src/domain/promotion.ts), judged on fresh facts: the store as it is
    // now and a direct check of each suspect. Otherwise keep the key and try again next cycle.
    const state = await host.storeCall('coordination read', () => host.session.read()).catch(() => null);
    if (state === null) {
      host.tell(
        'refused',
        'takeover',
        'old_primary_may_write',
        `takeover with --suspendPrimary failed (${errorMessage(err)}) and the store cannot be read: not promoting blind`,
      );
      return;
    }
    const obs = host.observation(leaderViewOf(state, host.site), state);
    const suspects =
      from !== null
        ? [from]
        : promotionSuspects(
            obs,
            host.spec().sites.map((s) => s.name),
          );
    // The handshake ships everything; a plain takeover only what this site holds. The trust the
    // decision had may have run out while the promotion waited (retried every cycle): the old
    // primary may have committed alone since (sim:fuzz 1318931430). Ask the in-sync rule again.
    const why = inSyncAgain(host, planned, from, lastEpoch, obs);
    if (why !== null) {
      refuseKeepingKey(host, why);
      return;
    }
    const fallback = handshakeFallback(obs, suspects, await checkSuspects(host, suspects), errorMessage(err));
    if (!fallback.plain) {
      host.tell('refused', 'takeover', fallback.reason, fallback.message);
      return;
    }
    host.tell('action-failed', 'takeover', fallback.reason, fallback.message);
    // The checks took time: the key must still be ours right before the command.
    if (!(await leaderStillMine(host, kind, epoch))) return;
    await hanaCall(host, 'takeover', (s) => host.hana.takeover({ handshake: false }, s));
  }
  host.setFenced(false);
  host.tell(
    'action',
    'takeover',
    planned ? 'planned_takeover' : 'takeover_done',
    `${host.site} is primary at epoch ${epoch}${from ? ` (took over from ${from})` : ''}`,
  );
}

/**
 * Why an unplanned plain takeover from `from` no longer passes the in-sync rule
 * (src/domain/sync-trust.ts) on `obs`, made from a fresh read of the store (the trust the decision
 * had may have run out while the promotion waited), or null when it still does. Unknown (the old
 * term lost) is not in sync. Planned takeovers suspend the old primary and ship everything: no
 * question.
 */
function inSyncAgain(
  host: ActionHost,
  planned: boolean,
  from: string | null,
  lastEpoch: number | null,
  obs: Observation,
): string | null {
  // No old primary named: a disaster takeover (forced by a DBA who accepted the reported loss),
  // or a promotion this agent did not decide itself (restarted while holding the key) by a site
  // whose probe names no source: as before.
  if (planned || from === null) return null;
  if (lastEpoch === null)
    return `the term of ${from} is not known any more, so its sync records cannot be checked`;
  const trust = promotable(
    obs,
    host.spec(),
    host.site,
    from,
    lastEpoch,
    primaryViewOf(obs.reports[from]),
    host.clock.now(),
  );
  return trust.ok ? null : trust.why;
}

function refuseKeepingKey(host: ActionHost, why: string): void {
  host.tell(
    'refused',
    'takeover',
    'not_in_sync_any_more',
    `not promoting ${host.site}: ${why}; keeping the leader key (a DBA decides: the old primary may hold commits ${host.site} lacks)`,
  );
}

/**
 * A retried promotion the in-sync rule refuses leaves this secondary holding a key it can never
 * use (its sync records are of the old term), while the old primary, the one site with every
 * commit, is stopped by its own agent because another site leads: nobody writes until a DBA
 * acts (sim:fuzz 970001301). So the key goes back to the old primary: released, naming it as the
 * handover's target. A stopped primary named by a handover takes the key (handover_accepted) and
 * as leader starts its HANA, recording this site SFAIL first; a running one takes a free key as
 * any primary does. That is SAPHanaSR's rule too: a failed primary whose secondary is not in sync
 * is restarted locally, never taken over.
 *
 * Only while this site's probe reads it a secondary (no takeover ran: this path runs before any
 * command) and the old primary's agent reports it a primary in its own probe (it lives and can
 * take the key). Otherwise the key is kept, as before, for a DBA. Releasing is always safe: this
 * site never took a write in this term.
 */
async function handBackOrKeep(
  host: ActionHost,
  epoch: number,
  from: string,
  why: string,
  state: ClusterState,
): Promise<void> {
  const own = host.lastHealth();
  const old = state.reports[from]?.health;
  if (
    !own.probeOk ||
    own.srRole !== 'secondary' ||
    old === undefined ||
    !old.probeOk ||
    old.srRole !== 'primary'
  ) {
    refuseKeepingKey(host, why);
    return;
  }
  try {
    await host.storeCall('release leader', () => host.session.releaseLeader(epoch, from));
  } catch (err) {
    host.tell(
      'refused',
      'takeover',
      'not_in_sync_any_more',
      `not promoting ${host.site}: ${why}; handing the leader key back to ${from} failed (${errorMessage(err)}), keeping it`,
    );
    return;
  }
  host.setLeaderMine(false);
  host.pendingTakeover = null;
  host.tell(
    'action',
    'step-down',
    'handed_back_not_in_sync',
    `not promoting ${host.site}: ${why}; released the leader key at epoch ${epoch} to ${from}, the old primary, which holds every commit and starts again as primary`,
  );
}

/** A direct check of each site, with the probe deadline; says why when there is no answer. */
async function checkSuspects(
  host: ActionHost,
  sites: readonly string[],
): Promise<Record<string, SuspectCheck>> {
  const probe = host.peers;
  const timeoutMs = host.spec().probes.timeoutSeconds * 1000;
  const checks: Record<string, SuspectCheck> = {};
  await Promise.all(
    sites.map(async (site) => {
      if (probe === undefined) {
        checks[site] = { kind: 'no-answer', why: 'blind' };
        return;
      }
      try {
        const view = await withTimeout(host.clock, timeoutMs, `peer check ${site}`, (s) =>
          probe.check(site, s),
        );
        checks[site] = checkOf(view);
      } catch (e) {
        const why =
          e instanceof TimeoutError ? 'timeout' : isAuthError(e) ? 'unauthenticated' : 'unreachable';
        checks[site] = { kind: 'no-answer', why, detail: errorMessage(e) };
      }
    }),
  );
  return checks;
}

/**
 * Powers `site`'s node off through the fence agent (off, then status until off, within the
 * spec's timeout) and records the outcome in the store with the epoch it believed in.
 */
async function fenceNode(
  host: ActionHost,
  site: string,
  epoch: number,
  reason: string,
  signal: AbortSignal,
  powerOnAfter = false,
) {
  const spec = host.spec();
  const agent = host.fenceAgent;
  if (agent === undefined || spec.fencing.agent === undefined) {
    return host.tell(
      'action-failed',
      'fence-node',
      'node_fence_failed',
      `no fence agent to fence ${site} with`,
    );
  }
  host.tell(
    'fencing',
    'fence-node',
    reason,
    `powering off the node of ${site} (epoch ${epoch}) through ${spec.fencing.agent.command}`,
  );
  const outcome = await fenceOff(agent, site, {
    clock: host.clock,
    ...fenceTiming(spec.fencing.agent),
    signal,
  });
  await recordFence(host, outcome, epoch);
  if (outcome.result === 'confirmed') {
    host.tell(
      'action',
      'fence-node',
      'node_fenced',
      `fenced the node of ${site} at epoch ${epoch}: ${outcome.message} (${outcome.calls} calls)`,
    );
    // The record is in the store: decide on it now rather than at the next interval.
    host.wake();
    if (powerOnAfter && !signal.aborted) await powerOn(host, site, epoch);
  } else {
    host.tell(
      'action-failed',
      'fence-node',
      'node_fence_failed',
      `fencing the node of ${site} ${outcome.result === 'failed' ? 'failed' : 'timed out'}: ${outcome.message}; the lease rule stays in force`,
    );
  }
}

async function recordFence(host: ActionHost, outcome: FenceOutcome, epoch: number): Promise<void> {
  const record: FenceRecord = {
    site: outcome.site,
    by: host.site,
    epoch,
    action: outcome.action,
    result: outcome.result,
    startedAt: outcome.startedAt,
    endedAt: outcome.endedAt,
    calls: outcome.calls,
    ...(outcome.code !== undefined ? { code: outcome.code } : {}),
    message: outcome.message,
  };
  host.noteFence(record);
  await host
    .storeCall('record fence', () => host.session.recordFence(record))
    .catch((err: unknown) =>
      host.tell(
        'store-write-failed',
        'none',
        'fence_record_failed',
        `recording the fence of ${outcome.site} failed: ${errorMessage(err)}`,
      ),
    );
}

/** Powers a node we fenced on again, after our takeover (best effort, recorded). */
async function powerOn(host: ActionHost, site: string, epoch: number): Promise<void> {
  const agent = host.fenceAgent;
  if (agent === undefined || host.spec().fencing.agent === undefined || !host.running()) return;
  // Nothing in maintenance: a power-on decided before it began (it follows the takeover, which
  // may end after maintenance was turned on) waits for its end, while this agent still leads;
  // the node stays off meanwhile (sim:fuzz 642415830).
  let told = false;
  while (host.spec().maintenance) {
    if (!told) {
      host.tell(
        'refused',
        'fence-node',
        'maintenance_mode',
        `not powering the node of ${site} on while maintenance is on: it stays off until maintenance ends (or a DBA powers it on)`,
      );
      told = true;
    }
    await host.clock.sleep(host.spec().probes.intervalSeconds * 1000);
    if (!host.running() || !host.leaderMine()) return;
  }
  const spec = host.spec();
  if (spec.fencing.agent === undefined) return;
  host.tell(
    'fencing',
    'fence-node',
    'node_power_on',
    `powering on the node of ${site} (epoch ${epoch}) through ${spec.fencing.agent.command}`,
  );
  const outcome = await fenceOn(agent, site, { clock: host.clock, ...fenceTiming(spec.fencing.agent) });
  await recordFence(host, outcome, epoch);
  const ok = outcome.result === 'confirmed';
  host.tell(
    ok ? 'action' : 'action-failed',
    'fence-node',
    ok ? 'node_powered_on' : 'node_power_on_failed',
    `${ok ? 'powered the node of ' + site + ' on again' : 'powering the node of ' + site + ' on failed'}: ${outcome.message}`,
  );
}

/** A failed login (an error with code AUTH, as the SQL probe raises it). */
function isAuthError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'AUTH';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
