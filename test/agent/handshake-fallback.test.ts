/**
 * A failed handshake never becomes a blind promotion. Planned takeover A -> B: A hands the key
 * over and keeps running (the handshake is to suspend it), B's `-sr_takeover --suspendPrimary`
 * fails and B's direct check of A times out. A's agent is alive and has not confirmed A stopped,
 * so A may still write: B keeps the key and waits, until A's agent (which sees B's key) has
 * fenced A (a stop that takes 15 s); then B takes over plainly. Real Agents, in-memory store,
 * virtual clock.
 */
import { describe, expect, it } from 'vitest';
import { Agent, type AgentEvent, type PeerProbe } from '../../src/agent/agent.js';
import { VirtualClock } from '../../src/clock.js';
import { MemoryCoordination } from '../../src/coordination/memory.js';
import type { HanaHealth } from '../../src/domain/types.js';
import type { HanaPort } from '../../src/hana/port.js';
import { link, primaryHealth, secondaryHealth, spec, stoppedPrimaryHealth } from '../support/observations.js';

class Site implements HanaPort {
  readonly takeovers: { handshake: boolean; otherWritable: boolean }[] = [];
  other: Site | null = null;
  failHandshake = false;
  constructor(
    public health: HanaHealth,
    private readonly clock: VirtualClock,
    /** How long a stop takes: the instance takes writes until it is done. */
    private readonly stopMs = 0,
  ) {}
  probe(): Promise<HanaHealth> {
    return Promise.resolve(this.health);
  }
  async takeover(options: { readonly handshake: boolean }): Promise<void> {
    this.takeovers.push({
      handshake: options.handshake,
      otherWritable: this.other?.health.acceptsWrites ?? false,
    });
    if (options.handshake && this.failHandshake) {
      throw new Error('cannot suspend primary site A: connection refused; the takeover was not executed');
    }
    this.health = primaryHealth([]);
  }
  async register(): Promise<void> {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {
    await this.clock.sleep(this.stopMs);
    this.health = stoppedPrimaryHealth();
  }
  async kill(): Promise<void> {
    this.health = stoppedPrimaryHealth();
  }
}

/** A direct check that never answers (the network path to the peer is down). */
const silentPeers: PeerProbe = {
  check: (_site, signal) =>
    new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error))),
};

describe('a failed handshake', () => {
  it('waits while the old primary may still write, and takes over plainly once it is fenced', async () => {
    const clock = new VirtualClock(1_700_000_000_000);
    const coordination = new MemoryCoordination(clock);
    const s = spec();
    const hanaA = new Site(primaryHealth([link('B')]), clock, 15_000);
    const hanaB = new Site(secondaryHealth('A'), clock);
    hanaB.other = hanaA;
    hanaB.failHandshake = true;
    const events: AgentEvent[] = [];
    const a = new Agent({ cluster: 'ha1', site: 'A', spec: () => s, hana: hanaA, coordination, clock });
    const b = new Agent({
      cluster: 'ha1',
      site: 'B',
      spec: () => s,
      hana: hanaB,
      coordination,
      clock,
      peers: silentPeers,
      onEvent: (e) => events.push(e),
    });
    await a.start();
    await b.start();
    await clock.advanceBy(4_000);
    expect((await coordination.read('ha1')).sync['B']).toMatchObject({ state: 'SOK', epoch: 1 });

    await coordination.addIntent('ha1', { kind: 'planned-takeover', id: 'p1', target: 'B', epoch: 1 });
    await clock.advanceBy(30_000);

    // B tried the handshake, and never ran a plain takeover while A could take writes.
    expect(hanaB.takeovers[0]).toEqual({ handshake: true, otherWritable: true });
    expect(hanaB.takeovers.filter((t) => !t.handshake && t.otherWritable)).toEqual([]);
    expect(events.some((e) => e.reason === 'old_primary_may_write')).toBe(true);
    // A's agent fenced A (B holds the key); then B took over without the handshake.
    expect(a.isFenced).toBe(true);
    expect(hanaB.takeovers.at(-1)).toEqual({ handshake: false, otherWritable: false });
    expect(hanaB.health).toMatchObject({ srRole: 'primary', acceptsWrites: true });
    expect((await coordination.read('ha1')).leader).toMatchObject({ site: 'B', epoch: 2 });
    // B's cycles wait on their silent peer checks (virtual time): let them end.
    const stopping = Promise.all([a.stop(), b.stop()]);
    await clock.advanceBy(10_000);
    await stopping;
  });
});
