/**
 * Node loss with a fence agent (issue 14): once this agent has the lost leader's node confirmed
 * off, it does not wait for its next cycle nor for that cycle's check of the powered-off node (a
 * silent port costs the whole probe timeout): the confirmed fence wakes the loop, and the peer
 * check of a node this agent confirmed off in the current term answers "unreachable" at once. A
 * fence that fails changes nothing: the peer is checked as before and the lease rule holds. In
 * virtual time; the fence device and the peer's network are scripted (the fence-agents protocol
 * itself is tested against Debian's fence_dummy in test/fencing/).
 */
import { describe, expect, it } from 'vitest';
import type { AgentEvent, PeerProbe } from '../../src/agent/agent.js';
import type { VirtualClock } from '../../src/clock.js';
import type { PeerView } from '../../src/domain/observation.js';
import type { FenceAction, FenceAgent, FenceCallOptions, FenceCallResult } from '../../src/fencing/port.js';
import { link, primaryHealth, secondaryHealth } from '../support/observations.js';
import { siteClock } from '../../src/sim/site-clock.js';
import { ScriptedSite } from '../support/scripted-site.js';
import { actionOf, agentRig, failoverSpec, reasonOf, until } from '../support/agents.js';

const TIMEOUT_MS = 3000;

/** A's node: up (its SQL port answers as a writable primary) or lost (the port is silent). */
class Network implements PeerProbe {
  up = true;
  /** Down, but refusing at once (a closed port) instead of staying silent. */
  refuses = false;
  readonly checkedAt: number[] = [];
  constructor(private readonly clock: VirtualClock) {}
  check(_site: string, signal: AbortSignal): Promise<PeerView> {
    this.checkedAt.push(this.clock.now());
    if (this.up) return Promise.resolve({ reachable: true, acceptsWrites: true, role: 'primary' });
    if (this.refuses) return Promise.resolve({ reachable: false, acceptsWrites: false });
    // A lost node never answers: the check ends only when its deadline aborts it.
    return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
  }
}

/** A fence device: off takes 500 ms, status 100 ms; `works: false` is a device that never powers off. */
class Device implements FenceAgent {
  power: 'on' | 'off' = 'on';
  works = true;
  constructor(private readonly clock: VirtualClock) {}
  async call(_site: string, action: FenceAction, _o: FenceCallOptions): Promise<FenceCallResult> {
    await this.clock.sleep(action === 'off' ? 500 : 100);
    if (action === 'status') return { ok: true, action, power: this.power, message: `Status: ${this.power}` };
    if (action === 'off' || action === 'on') {
      if (!this.works)
        return { ok: false, action, code: 'FAILED', message: 'Timed out waiting to power OFF' };
      this.power = action;
      return { ok: true, action, message: 'Success' };
    }
    return { ok: true, action, message: 'Success' };
  }
}

function landscape(
  bWallOffset: () => number = () => 0,
  maintenance: () => boolean = () => false,
  onB?: (e: AgentEvent) => void,
) {
  const rig = agentRig({
    watches: true,
    spec: failoverSpec(
      { timeoutSeconds: TIMEOUT_MS / 1000 },
      { fencing: { agent: { command: 'fence_dummy', timeoutSeconds: 10, callTimeoutSeconds: 5 } } },
    ),
  });
  const { clock } = rig;
  const hanaA = new ScriptedSite(primaryHealth([link('B')]), clock, 200);
  const hanaB = new ScriptedSite(secondaryHealth('A'), clock, 200);
  const network = new Network(clock);
  const device = new Device(clock);
  const a = rig.agent('A', hanaA);
  const b = rig.agent('B', hanaB, {
    peers: network,
    fenceAgent: device,
    clock: siteClock(clock, bWallOffset),
    spec: () => (maintenance() ? { ...rig.spec, maintenance: true } : rig.spec),
    ...(onB !== undefined ? { onEvent: onB } : {}),
  });
  return { ...rig, a, b, hanaA, hanaB, network, device };
}

async function nodeLost(l: ReturnType<typeof landscape>): Promise<number> {
  await l.a.start();
  await l.clock.advanceBy(1000);
  await l.b.start();
  await l.clock.advanceBy(10_300);
  expect((await l.coordination.read('ha1')).leader?.site).toBe('A');
  l.a.kill();
  l.network.up = false;
  return l.clock.now();
}

describe('node loss with a fence agent', () => {
  it('B takes over at once when its fence confirms the lost node off, not a peer timeout later', async () => {
    const l = landscape();
    const lost = await nodeLost(l);
    await until(l.clock, () => l.hanaB.health.srRole === 'primary', 40_000);
    expect(l.hanaB.health.srRole).toBe('primary');
    const fenced = reasonOf(l.events, 'B', 'node_fenced');
    expect(fenced, JSON.stringify(l.events.filter((e) => e.site === 'B'))).toBeDefined();
    expect(l.device.power === 'off' || l.events.some((e) => e.reason === 'node_powered_on')).toBe(true);
    const takeover = actionOf(l.events, 'B', 'takeover')!;
    // The decision follows the confirmation within a fresh local probe (200 ms), not a 3-s peer check.
    expect(
      takeover.t - fenced!.t,
      JSON.stringify(l.events.filter((e) => e.site === 'B').map((e) => [e.t, e.event, e.reason])),
    ).toBeLessThan(1000);
    expect(takeover.t).toBeGreaterThan(lost);
    // After the takeover (a new term) the old node is checked again like any peer.
    const after = takeover.t + 5000;
    await l.clock.advanceBy(6000);
    expect(l.network.checkedAt.some((t) => t > takeover.t && t < after)).toBe(true);
    l.b.kill();
  });

  it('the power-on after the takeover waits while maintenance is on, and runs once it ends (sim:fuzz 642415830)', async () => {
    let maintenance = false;
    // Maintenance comes on the moment B's takeover is done: the takeover was decided before it,
    // the power-on that follows it would start after it.
    const l = landscape(
      undefined,
      () => maintenance,
      (e) => {
        if (e.event === 'action' && e.action === 'takeover') maintenance = true;
      },
    );
    await nodeLost(l);
    await until(l.clock, () => reasonOf(l.events, 'B', 'maintenance_mode') !== undefined, 40_000);
    const refused = reasonOf(l.events, 'B', 'maintenance_mode')!;
    expect(refused.event).toBe('refused');
    expect(refused.action).toBe('fence-node');
    await l.clock.advanceBy(15_000);
    // Nothing started while maintenance is on: the node stays off.
    expect(reasonOf(l.events, 'B', 'node_power_on')).toBeUndefined();
    expect(l.device.power).toBe('off');
    maintenance = false;
    await until(l.clock, () => reasonOf(l.events, 'B', 'node_powered_on') !== undefined, 10_000);
    expect(reasonOf(l.events, 'B', 'node_power_on')!.t).toBeGreaterThan(refused.t + 15_000);
    expect(l.device.power).toBe('on');
    l.b.kill();
  });

  it('B fences a leader silent for failureThreshold x interval and seizes its key before the TTL runs out', async () => {
    const l = landscape();
    const lost = await nodeLost(l);
    await until(l.clock, () => l.hanaB.health.srRole === 'primary', 40_000);
    const trail = JSON.stringify(l.events.filter((e) => e.site === 'B').map((e) => [e.t - lost, e.reason]));
    const fencing = reasonOf(l.events, 'B', 'fence_lost_leader');
    expect(fencing, trail).toBeDefined();
    // Counted in time on B's clock (6 s, then B's cycle in which it passed), not in B's cycles
    // (each of which waits out the silent port: three of them took about the TTL).
    expect(fencing!.t - lost, trail).toBeLessThan(9500);
    expect(fencing!.message).toContain('silent');
    // The takeover seizes the key of the fenced term: it does not wait for the lease (10 s).
    const seized = reasonOf(l.events, 'B', 'fenced_leader_takeover');
    expect(seized, trail).toBeDefined();
    const takeover = actionOf(l.events, 'B', 'takeover')!;
    expect(takeover.t - lost, trail).toBeLessThan(10_000);
    l.b.kill();
  });

  it('the fence is decided as the silence window passes (a timer wake), not at the next cycle after it', async () => {
    const l = landscape();
    const lost = await nodeLost(l);
    await until(l.clock, () => l.hanaB.health.srRole === 'primary', 40_000);
    const trail = JSON.stringify(l.events.filter((e) => e.site === 'B').map((e) => [e.t - lost, e.reason]));
    const fencing = reasonOf(l.events, 'B', 'fence_lost_leader');
    expect(fencing, trail).toBeDefined();
    // The window is 6 s from the end of the read of B's last cycle in which A answered (just before
    // the loss), plus one local probe (200 ms); the next interval cycle after it came at 6.9 s.
    expect(fencing!.t - lost, trail).toBeLessThan(6500);
    // Its silent node's rechecks kept B's cycles short: the key moved well before the TTL.
    const seized = reasonOf(l.events, 'B', 'fenced_leader_takeover');
    expect(seized, trail).toBeDefined();
    expect(seized!.t - lost, trail).toBeLessThan(7500);
    l.b.kill();
  });

  it("a leader lost just after it published, before B's next read, is still fenced before the TTL (B reads its report between cycles)", async () => {
    const l = landscape();
    await l.a.start();
    await l.clock.advanceBy(1000);
    await l.b.start();
    // A publishes about 200 ms into its cycles (at 0, 2 s, ...), B reads about 200 ms into its own
    // (at 1 s, 3 s, ...): lost at 10.3 s, A's last report is one B's cycles see only after a whole
    // check of the silent node (at 14.2 s) — the silence would count from there, 6 s more, after
    // the lease (renewed at about 10.2 s) ran out.
    await l.clock.advanceBy(9300);
    l.a.kill();
    l.network.up = false;
    const lost = l.clock.now();
    await until(l.clock, () => l.hanaB.health.srRole === 'primary', 40_000);
    const trail = JSON.stringify(l.events.filter((e) => e.site === 'B').map((e) => [e.t - lost, e.reason]));
    const seized = reasonOf(l.events, 'B', 'fenced_leader_takeover');
    expect(seized, trail).toBeDefined();
    expect(seized!.t - lost, trail).toBeLessThan(9000);
    l.b.kill();
  });

  it("the silence counts from B's first read of the lost leader's last report, not from a read held back by the check of its silent node (issue 14)", async () => {
    // A publishes about 200 ms into its cycles (at 1.2 s, 3.2 s, ... of the test's clock), B
    // reads at the start of its cycles (at 1 s, 3 s, ...) and again after its checks. Lost at
    // eight phases of B's cycle, the last three just after A published: B's cycle that follows
    // reads that report at its start (before: only a read between cycles, one second into the
    // check of the silent node, or the cycle's own read after it), and the 6-s window counts
    // from there.
    const late: number[] = [];
    for (let k = 0; k < 8; k++) {
      const l = landscape();
      await l.a.start();
      await l.clock.advanceBy(1000);
      await l.b.start();
      await l.clock.advanceBy(10_000 + k * 250);
      l.a.kill();
      l.network.up = false;
      const lost = l.clock.now();
      await until(l.clock, () => reasonOf(l.events, 'B', 'fence_lost_leader') !== undefined, 40_000);
      const trail = JSON.stringify(l.events.filter((e) => e.site === 'B').map((e) => [e.t - lost, e.reason]));
      const fencing = reasonOf(l.events, 'B', 'fence_lost_leader')!;
      expect(fencing.message, trail).toContain('silent');
      late.push(fencing.t - lost);
      l.b.kill();
    }
    // The window, plus at most the rest of B's cycle in which the loss came and a probe: 6.25-6.75
    // s for the last three phases, where counting from the later reads gave 7.25-7.75 s.
    expect(Math.max(...late), JSON.stringify(late)).toBeLessThanOrEqual(7000);
    expect(Math.min(...late), JSON.stringify(late)).toBeGreaterThanOrEqual(5000);
  });

  it('a slow but alive leader (its probes take most of the timeout, its SQL port silent to B) is never fenced', async () => {
    const l = landscape();
    await l.a.start();
    await l.clock.advanceBy(1000);
    await l.b.start();
    await l.clock.advanceBy(10_300);
    // A's agent lives on, its probes answering at once and after 2.9 s (of a 3-s timeout) in
    // turn, so its reports come up to interval + 2.9 s apart; B's checks of A's node get no answer
    // (a cut SQL network): only A's reports show it alive.
    const probe = l.hanaA.probe.bind(l.hanaA);
    l.hanaA.probe = (signal?: AbortSignal) => {
      l.hanaA.probeMs = l.hanaA.probes % 2 === 0 ? 2900 : 0;
      return probe(signal);
    };
    l.network.up = false;
    const from = l.clock.now();
    await l.clock.advanceBy(30_000);
    const trail = JSON.stringify(l.events.filter((e) => e.site === 'B').map((e) => [e.t - from, e.reason]));
    expect(reasonOf(l.events, 'B', 'fence_lost_leader'), trail).toBeUndefined();
    expect(l.device.power).toBe('on');
    expect((await l.coordination.read('ha1')).leader?.site).toBe('A');
    l.a.kill();
    l.b.kill();
  });

  it("a forward jump of B's wall clock does not count as the slow leader's silence (measured on B's monotonic clock)", async () => {
    let offset = 0;
    const l = landscape(() => offset);
    await l.a.start();
    await l.clock.advanceBy(1000);
    await l.b.start();
    await l.clock.advanceBy(10_300);
    // The slow but alive leader of the test above, its reports up to 4.9 s apart; A's port
    // refuses B at once, so B's cycles are quick and two or three of its reads in a row see A's
    // report unchanged.
    const probe = l.hanaA.probe.bind(l.hanaA);
    l.hanaA.probe = (signal?: AbortSignal) => {
      l.hanaA.probeMs = l.hanaA.probes % 2 === 0 ? 2900 : 0;
      return probe(signal);
    };
    l.network.up = false;
    l.network.refuses = true;
    const from = l.clock.now();
    for (let i = 1; i <= 10; i++) {
      await l.clock.advanceBy(1500);
      offset = i * 60_000; // an NTP step or `date -s` on B's host, again and again
    }
    await l.clock.advanceBy(10_000);
    const trail = JSON.stringify(l.events.filter((e) => e.site === 'B').map((e) => [e.t - from, e.reason]));
    expect(reasonOf(l.events, 'B', 'fence_lost_leader'), trail).toBeUndefined();
    expect((await l.coordination.read('ha1')).leader?.site).toBe('A');
    l.a.kill();
    l.b.kill();
  });

  it('a fence that does not confirm gives no shortcut: the peer is still checked and B waits for the lease', async () => {
    const l = landscape();
    l.device.works = false;
    const lost = await nodeLost(l);
    await until(l.clock, () => l.hanaB.health.srRole === 'primary', 60_000);
    const fencing = reasonOf(l.events, 'B', 'fence_lost_leader');
    expect(fencing, JSON.stringify(l.events.filter((e) => e.site === 'B'))).toBeDefined();
    expect(reasonOf(l.events, 'B', 'node_fenced')).toBeUndefined();
    expect(reasonOf(l.events, 'B', 'fenced_leader_takeover')).toBeUndefined();
    expect(l.hanaB.health.srRole).toBe('primary');
    const takeover = actionOf(l.events, 'B', 'takeover')!;
    expect(takeover.t - lost).toBeGreaterThanOrEqual(10_000);
    // The cycles while the fence ran still checked the silent node.
    expect(l.network.checkedAt.filter((t) => t >= fencing!.t && t < takeover.t).length).toBeGreaterThan(0);
    l.b.kill();
  });
});
