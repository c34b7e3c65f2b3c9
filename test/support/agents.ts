/**
 * Agents for tests in virtual time: a VirtualClock, an in-memory coordination store, one spec and
 * the events of every agent built on them, as most agent tests set them up; `until` to advance
 * virtual time until something holds; finders for the events tests look for.
 *
 * A test that needs something else (a store that answers stale reads, a host clock that jumps, an
 * event hook that reaches into the agent) passes it through `agent`'s extra options or keeps its
 * own set-up.
 */
import type { HanaSystemReplicationSpec, HanaSystemReplicationSpecInput } from '../../src/api/spec.js';
import { Agent, type AgentEvent, type AgentOptions } from '../../src/agent/agent.js';
import { VirtualClock } from '../../src/clock.js';
import { MemoryCoordination } from '../../src/coordination/memory.js';
import type { HanaPort } from '../../src/hana/port.js';
import { expect } from 'vitest';
import { spec as defaultSpec } from './observations.js';
import type { ScriptedSite } from './scripted-site.js';

/**
 * Two sites A and B in sync that hand the key on fast: cycles every `intervalSeconds` (2), probes
 * that time out after `timeoutSeconds` (3), a `failureThreshold` of 3, a lease of 10 s, sync
 * replication; `over` adds to it (fencing, say).
 */
export function failoverSpec(
  timing: { intervalSeconds?: number; timeoutSeconds?: number; failureThreshold?: number } = {},
  over: Partial<HanaSystemReplicationSpecInput> = {},
): HanaSystemReplicationSpec {
  return defaultSpec({
    probes: { intervalSeconds: timing.intervalSeconds ?? 2, timeoutSeconds: timing.timeoutSeconds ?? 3 },
    takeover: { failureThreshold: timing.failureThreshold ?? 3 },
    lease: { ttlSeconds: 10 },
    replication: { mode: 'sync', logShippingTimeoutSeconds: 600 },
    ...over,
  });
}

export interface AgentRigOptions {
  /** Where virtual time starts (default 0). */
  readonly startAt?: number;
  /** The store's watches (MemoryCoordination's option; default off). */
  readonly watches?: boolean;
  /** The spec every agent reads (default: spec() of test/support/observations.ts). */
  readonly spec?: HanaSystemReplicationSpec;
  /** The cluster's name (default 'ha1'). */
  readonly cluster?: string;
}

export interface AgentRig {
  readonly clock: VirtualClock;
  readonly coordination: MemoryCoordination;
  readonly spec: HanaSystemReplicationSpec;
  /** The events of every agent built by `agent`, in order. */
  readonly events: AgentEvent[];
  /**
   * An agent of `site` over `hana` on this rig's store, clock and spec, recording its events in
   * `events`. `extra` is passed through (peers, metrics, a host clock, deadlines...); an `onEvent`
   * in it is called after the event is recorded.
   */
  agent(site: string, hana: HanaPort, extra?: Partial<AgentOptions>): Agent;
}

export function agentRig(options: AgentRigOptions = {}): AgentRig {
  const clock = new VirtualClock(options.startAt ?? 0);
  const coordination = new MemoryCoordination(clock, { watches: options.watches === true });
  const s = options.spec ?? defaultSpec();
  const cluster = options.cluster ?? 'ha1';
  const events: AgentEvent[] = [];
  return {
    clock,
    coordination,
    spec: s,
    events,
    agent(site, hana, extra = {}) {
      const { onEvent, ...rest } = extra;
      return new Agent({
        cluster,
        site,
        spec: () => s,
        hana,
        coordination,
        clock,
        onEvent: (e) => {
          events.push(e);
          onEvent?.(e);
        },
        ...rest,
      });
    },
  };
}

/** Advances virtual time in `step` ms until `done` holds (at most `maxMs`); returns the virtual time. */
export async function until(
  clock: VirtualClock,
  done: () => boolean,
  maxMs: number,
  step = 10,
): Promise<number> {
  for (let t = 0; t < maxMs && !done(); t += step) await clock.advanceBy(step);
  return clock.now();
}

/** The first action event (a result that succeeded) of `site` with this action. */
export const actionOf = (
  events: readonly AgentEvent[],
  site: string,
  action: string,
): AgentEvent | undefined =>
  events.find((e) => e.site === site && e.action === action && e.event === 'action');

/** The first event of `site` with this reason. */
export const reasonOf = (
  events: readonly AgentEvent[],
  site: string,
  reason: string,
): AgentEvent | undefined => events.find((e) => e.site === site && e.reason === reason);

/**
 * Agents of A and B over `hanaA` and `hanaB` on `rig`, started, with A leading at epoch 1 after 6
 * s. `events` reads "SITE event reason"; `make` builds another agent of a site on the rig,
 * recording there too.
 */
export async function aLeadsB(rig: AgentRig, hanaA: HanaPort, hanaB: HanaPort) {
  const events: string[] = [];
  const make = (site: string, hana: HanaPort) =>
    rig.agent(site, hana, { onEvent: (e) => events.push(`${site} ${e.event} ${e.reason}`) });
  const a = make('A', hanaA);
  const b = make('B', hanaB);
  await a.start();
  await b.start();
  await rig.clock.advanceBy(6_000);
  expect((await rig.coordination.read('ha1')).leader).toMatchObject({ site: 'A', epoch: 1 });
  return { events, make, a, b };
}

/**
 * A promotion the in-sync rule refuses (test/agent/restarted-promotion.test.ts, hand-back.test.ts):
 * agents of A (the primary, leading) and B over `hanaA` and `hanaB` on `rig`; then A's agent is
 * killed, its primary going on (no watchdog), and B wins A's key but its takeover command fails,
 * so the promotion is retried every cycle until, past logShippingTimeoutSeconds (30 s) after A's
 * last contact, the in-sync rule refuses it (A may have committed alone). `events` reads
 * "SITE event reason"; `make` builds another agent of a site on the rig, recording there too.
 */
export async function promotionRefusedAfterAgentLoss(rig: AgentRig, hanaA: HanaPort, hanaB: ScriptedSite) {
  const { clock, coordination } = rig;
  const { events, make, a, b } = await aLeadsB(rig, hanaA, hanaB);
  hanaB.failTakeover = true;
  a.kill();
  await clock.advanceBy(36_000);
  expect((await coordination.read('ha1')).leader).toMatchObject({ site: 'B', epoch: 2 });
  expect(hanaB.takeovers).toBeGreaterThan(0);
  expect(events).toContain('B refused not_in_sync_any_more');
  return { events, make, b };
}
