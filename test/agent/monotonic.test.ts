/**
 * Lease age on the monotonic clock: a wall-clock jump on the primary's host neither delays its
 * self-fencing (backward) nor brings it forward (forward). The agent and its lease run on the same
 * host clock (as with etcd, where the agent times its own keepalives); the host's wall clock jumps
 * while it is cut off from the store. Real Agent, in-memory store, virtual time.
 */
import { describe, expect, it } from 'vitest';
import { Agent, type AgentEvent } from '../../src/agent/agent.js';
import { VirtualClock } from '../../src/clock.js';
import { MemoryCoordination } from '../../src/coordination/memory.js';
import { fenceDeadlineMs } from '../../src/domain/decide.js';
import type { HanaHealth } from '../../src/domain/types.js';
import type { HanaPort } from '../../src/hana/port.js';
import { siteClock } from '../../src/sim/site-clock.js';
import { primaryHealth, spec, stoppedPrimaryHealth } from '../support/observations.js';

/** A primary that stops when told and remembers when (true time). */
class Primary implements HanaPort {
  health: HanaHealth = primaryHealth([]);
  stoppedAt: number | null = null;
  constructor(private readonly clock: VirtualClock) {}
  probe(): Promise<HanaHealth> {
    return Promise.resolve(this.health);
  }
  async takeover(): Promise<void> {}
  async register(): Promise<void> {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {
    this.stoppedAt ??= this.clock.now();
    this.health = stoppedPrimaryHealth();
  }
  async kill(): Promise<void> {
    await this.stop();
  }
}

async function cutOffWithJump(jumpMs: number) {
  const clock = new VirtualClock(1_700_000_000_000);
  let offset = 0;
  const host = siteClock(clock, () => offset);
  const store = new MemoryCoordination(host);
  const s = spec();
  const hana = new Primary(clock);
  const events: AgentEvent[] = [];
  const agent = new Agent({
    cluster: 'ha1',
    site: 'A',
    spec: () => s,
    hana,
    coordination: store,
    clock: host,
    onEvent: (e) => events.push(e),
    storeTimeoutMs: 1000,
  });
  await agent.start();
  await clock.advanceBy(5000);
  expect(store.snapshot('ha1').leader?.site).toBe('A');
  store.cut('A', true);
  const cutAt = clock.now();
  await clock.advanceBy(500);
  offset = jumpMs;
  await clock.advanceBy(40_000);
  agent.kill();
  return { cutAt, stoppedAt: hana.stoppedAt, events, s };
}

describe('the lease age runs on the monotonic clock', () => {
  it('a backward jump of 20 s on a cut-off primary does not delay its self-fencing', async () => {
    const { cutAt, stoppedAt, s } = await cutOffWithJump(-20_000);
    expect(stoppedAt).not.toBeNull();
    // The last renewal came at most a third of the TTL before the cut; the fence follows the
    // deadline (70 % of the TTL), well before the lease (TTL) can run out.
    expect(stoppedAt! - cutAt).toBeLessThanOrEqual(fenceDeadlineMs(s) + 100);
    expect(stoppedAt! - cutAt).toBeLessThan(s.lease.ttlSeconds * 1000 - s.lease.ttlSeconds * 1000 * 0.33);
  });

  it('a forward jump of 20 s does not fence before the deadline', async () => {
    const { cutAt, stoppedAt, s } = await cutOffWithJump(20_000);
    expect(stoppedAt).not.toBeNull();
    // The jump came 0.5 s after the cut: on the wall clock the lease looked 20 s old at once.
    const renewalsBeforeCut = (s.lease.ttlSeconds * 1000) / 3;
    expect(stoppedAt! - cutAt).toBeGreaterThanOrEqual(fenceDeadlineMs(s) - renewalsBeforeCut);
  });
});
