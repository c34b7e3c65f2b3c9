/**
 * A peer's direct check holds a cycle for at most the probe interval, however long the probe
 * timeout: a check still unanswered then counts as pending (unreachable, and no takeover from that
 * peer rests on it) and goes on in the background, where the next cycle waits on it rather than
 * starting another. sim:fuzz 882000756: a 502-s timeout on a frozen peer held a former primary's
 * cycle while that primary, started by hand, wrote next to the new one. Virtual time.
 */
import { describe, expect, it } from 'vitest';
import type { PeerProbe } from '../../src/agent/agent.js';
import type { HanaHealth } from '../../src/domain/types.js';
import type { HanaPort } from '../../src/hana/port.js';
import { agentRig, failoverSpec, until } from '../support/agents.js';
import { primaryHealth, stoppedPrimaryHealth } from '../support/observations.js';

/** A peer check that never answers (a frozen node) until it is aborted. */
class FrozenPeers implements PeerProbe {
  started = 0;
  aborted = 0;
  inFlight = 0;
  check(_site: string, signal?: AbortSignal): Promise<never> {
    this.started++;
    this.inFlight++;
    return new Promise((_, reject) =>
      signal?.addEventListener(
        'abort',
        () => {
          this.aborted++;
          this.inFlight--;
          reject(signal.reason as Error);
        },
        { once: true },
      ),
    );
  }
}

/** A former primary, down when the agent starts, started by hand later; a stop stops it. */
class FormerPrimary implements HanaPort {
  health: HanaHealth = stoppedPrimaryHealth();
  stoppedAt: number | null = null;
  probes = 0;
  constructor(private readonly now: () => number) {}
  probe(): Promise<HanaHealth> {
    this.probes++;
    return Promise.resolve(this.health);
  }
  async takeover(): Promise<void> {}
  async register(): Promise<void> {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {
    this.stoppedAt ??= this.now();
    this.health = stoppedPrimaryHealth();
  }
  async kill(): Promise<void> {
    await this.stop();
  }
}

describe('a peer check that outlasts the probe interval', () => {
  const T0 = 1_700_000_000_000;
  const timing = { intervalSeconds: 2, timeoutSeconds: 120 };

  it('does not hold the loop: a former primary started by hand is stopped within a cycle, not after the timeout', async () => {
    const rig = agentRig({ startAt: T0, spec: failoverSpec(timing) });
    const { clock, coordination: store, spec: s } = rig;
    const b = store.session('ha1', 'B', s.lease.ttlSeconds);
    await b.start();
    expect(await b.acquireLeader(0, clock.now())).toMatchObject({ site: 'B', epoch: 1 });
    const hana = new FormerPrimary(() => clock.now());
    const peers = new FrozenPeers();
    const agent = rig.agent('A', hana, { peers });
    await agent.start();
    // The first cycle starts at once and checks the frozen B; 5 s later a DBA starts A by hand.
    await clock.advanceBy(5_000);
    expect(peers.started).toBeGreaterThan(0);
    hana.health = primaryHealth([]);
    // B's lease is kept alive meanwhile (B's agent is frozen; its lease is not the point here).
    for (let t = 0; t < 60_000 && hana.stoppedAt === null; t += 1_000) {
      await b.renew();
      await until(clock, () => hana.stoppedAt !== null, 1_000, 100);
    }
    expect(hana.stoppedAt).not.toBeNull();
    // Within two cycles of coming up (and nowhere near the 120-s timeout).
    expect(hana.stoppedAt! - (T0 + 5_000)).toBeLessThanOrEqual(2 * 2_000 + 100);
    agent.kill();
  });

  it('counts as pending, and the next cycle waits on the same check instead of starting another', async () => {
    const rig = agentRig({ startAt: T0, spec: failoverSpec(timing) });
    const { clock, coordination: store, spec: s } = rig;
    const b = store.session('ha1', 'B', s.lease.ttlSeconds);
    await b.start();
    await b.acquireLeader(0, clock.now());
    // The cycle's first check of B answers after 3 s; every later check (the silence rechecks
    // start after a second) never answers.
    const frozen = new FrozenPeers();
    let first = true;
    const peers: PeerProbe = {
      check: async (site, signal) => {
        if (!first) return frozen.check(site, signal);
        first = false;
        await clock.sleep(3_000, signal);
        return { reachable: true, acceptsWrites: true, role: 'primary', running: true };
      },
    };
    const hana = new FormerPrimary(() => clock.now());
    const agent = rig.agent('A', hana, { peers });
    const seen = async () => (await b.read()).reports['A']?.peers?.['B'];
    await agent.start();
    await clock.advanceBy(1_900);
    // The first cycle still waits for it (the budget is the 2-s interval): nothing published yet.
    expect(await seen()).toBeUndefined();
    await clock.advanceBy(200);
    // After 2 s it went on with B pending.
    expect(await seen()).toEqual({ reachable: false, acceptsWrites: false, pending: true });
    expect(agent.lastDecision).not.toBeNull();
    // The second cycle (at 2 s) waits on that same check, which answers at 3 s; a check of its own
    // would have been one of the frozen ones, pending again.
    await clock.advanceBy(1_000);
    expect(await seen()).toMatchObject({ reachable: true, acceptsWrites: true });
    const probes = hana.probes;
    await clock.advanceBy(10_000);
    // Cycles go on every 2 s with B's checks hanging: not one cycle per 120-s timeout.
    expect(hana.probes - probes).toBeGreaterThanOrEqual(4);
    expect(await seen()).toEqual({ reachable: false, acceptsWrites: false, pending: true });
    agent.kill();
    // Killing the agent aborts what it still has in flight.
    await clock.advanceBy(10);
    expect(frozen.started).toBeGreaterThan(0);
    expect(frozen.inFlight).toBe(0);
    expect(frozen.aborted).toBe(frozen.started);
  });
});
