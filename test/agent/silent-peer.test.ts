/**
 * Node loss without a fence agent (issue 14): once the lost leader's key runs out, the secondary
 * decides within its fresh local probe, not one more probe timeout later (its woken cycle used to
 * wait out the silent node's port: 3 s at the defaults). The peer's silence stands in for that
 * check only while it is as strong as one (src/domain/peer-silence.ts): unanswered for a whole
 * probe timeout since its last answer, the latest check ended just now. A node that answers is
 * waited for again, and one that answers as a writable primary is never taken over. In virtual
 * time; the peer's network is scripted.
 */
import { describe, expect, it } from 'vitest';
import type { PeerProbe } from '../../src/agent/agent.js';
import type { VirtualClock } from '../../src/clock.js';
import type { PeerView } from '../../src/domain/observation.js';
import { link, primaryHealth, secondaryHealth } from '../support/observations.js';
import { ScriptedSite } from '../support/scripted-site.js';
import { actionOf, agentRig, failoverSpec } from '../support/agents.js';

const TIMEOUT_MS = 3000;

const WRITABLE: PeerView = { reachable: true, acceptsWrites: true, role: 'primary' };

/**
 * A's node: up (its SQL port answers as a writable primary) or lost (silent until the deadline;
 * checks still waiting when it comes back get their answer then, as a retransmitted SYN would).
 */
class Network implements PeerProbe {
  private up_ = true;
  /** When a check last got an answer. */
  answeredAt: number | null = null;
  private waiting: ((v: PeerView) => void)[] = [];
  constructor(private readonly clock: VirtualClock) {}
  get up(): boolean {
    return this.up_;
  }
  set up(up: boolean) {
    this.up_ = up;
    if (!up) return;
    const waiting = this.waiting;
    this.waiting = [];
    if (waiting.length > 0) this.answeredAt = this.clock.now();
    for (const answer of waiting) answer(WRITABLE);
  }
  check(_site: string, signal: AbortSignal): Promise<PeerView> {
    if (this.up_) {
      this.answeredAt = this.clock.now();
      return Promise.resolve(WRITABLE);
    }
    return new Promise((resolve, reject) => {
      this.waiting.push(resolve);
      signal.addEventListener('abort', () => reject(signal.reason));
    });
  }
}

function landscape() {
  const rig = agentRig({ watches: true, spec: failoverSpec({ timeoutSeconds: TIMEOUT_MS / 1000 }) });
  const hanaA = new ScriptedSite(primaryHealth([link('B')]), rig.clock, 200);
  const hanaB = new ScriptedSite(secondaryHealth('A'), rig.clock, 200);
  const network = new Network(rig.clock);
  const a = rig.agent('A', hanaA);
  const b = rig.agent('B', hanaB, { peers: network });
  return { ...rig, a, b, hanaA, hanaB, network };
}

type Landscape = ReturnType<typeof landscape>;

async function nodeLost(l: Landscape): Promise<number> {
  await l.a.start();
  await l.clock.advanceBy(1000);
  await l.b.start();
  await l.clock.advanceBy(10_300);
  expect((await l.coordination.read('ha1')).leader?.site).toBe('A');
  l.a.kill();
  l.network.up = false;
  return l.clock.now();
}

/** Advances in steps of 10 ms until A's key is gone (or the limit); returns when. */
async function keyGone(l: Landscape, maxMs: number): Promise<number> {
  for (let t = 0; t < maxMs; t += 10) {
    if ((await l.coordination.read('ha1')).leader === null) return l.clock.now();
    await l.clock.advanceBy(10);
  }
  throw new Error('the key never ran out');
}

const takeoverOf = (l: Landscape) => actionOf(l.events, 'B', 'takeover');
const trail = (l: Landscape, from: number) =>
  JSON.stringify(l.events.filter((e) => e.site === 'B').map((e) => [e.t - from, e.reason]));

describe('a silent peer in the node-loss takeover (no fence agent)', () => {
  it("B decides within its fresh local probe once the lost leader's key runs out, not a peer timeout later", async () => {
    const l = landscape();
    const lost = await nodeLost(l);
    const gone = await keyGone(l, 15_000);
    await l.clock.advanceBy(5000);
    const takeover = takeoverOf(l);
    expect(takeover, trail(l, lost)).toBeDefined();
    // A local probe takes 200 ms here; a check of A's silent node would take 3000 ms.
    expect(takeover!.t - gone, trail(l, lost)).toBeLessThan(1000);
    expect(takeover!.t).toBeGreaterThanOrEqual(gone);
    l.b.kill();
  });

  it('a node silent for seconds that answers as a writable primary again before its key runs out is never taken over', async () => {
    const l = landscape();
    const lost = await nodeLost(l);
    await l.clock.advanceBy(6000);
    l.network.up = true; // its agent is dead, its database serves again
    await keyGone(l, 15_000);
    await l.clock.advanceBy(20_000);
    expect(takeoverOf(l), trail(l, lost)).toBeUndefined();
    expect(l.events.some((e) => e.site === 'B' && e.reason === 'former_primary_still_serving')).toBe(true);
    l.b.kill();
  });

  it('a node that answers again just before its key runs out counts as silent only a whole probe timeout after that answer', async () => {
    const l = landscape();
    const dry = landscape();
    const dryLost = await nodeLost(dry);
    const expiresAfter = (await keyGone(dry, 15_000)) - dryLost;
    dry.b.kill();
    const lost = await nodeLost(l);
    await l.clock.advanceBy(expiresAfter - 1000);
    // A's node answers for 300 ms (every check waiting, and the rechecks meanwhile), then is
    // silent again: just before its key runs out.
    l.network.up = true;
    await l.clock.advanceBy(300);
    l.network.up = false;
    const answered = l.network.answeredAt!;
    await l.clock.advanceBy(10_000);
    const takeover = takeoverOf(l);
    expect(takeover, trail(l, lost)).toBeDefined();
    expect(takeover!.t - answered, trail(l, lost)).toBeGreaterThanOrEqual(TIMEOUT_MS);
    l.b.kill();
  });

  it('a peer that answers every check, slowly, is waited for in every cycle (its checks are never skipped nor multiplied)', async () => {
    const l = landscape();
    await l.a.start();
    await l.clock.advanceBy(1000);
    await l.b.start();
    await l.clock.advanceBy(5000);
    let checks = 0;
    l.network.check = async () => {
      checks++;
      await l.clock.sleep(700); // under SILENT_PEER_RECHECK_AFTER_MS: no rechecks
      return { reachable: true, acceptsWrites: true, role: 'primary' };
    };
    const cycles = l.hanaB.probes;
    await l.clock.advanceBy(20_000);
    // Each of B's cycles checked A and waited for it: no silence, no rechecks in between.
    const n = l.hanaB.probes - cycles;
    expect(n).toBeGreaterThan(5);
    expect(checks).toBeGreaterThanOrEqual(n - 1);
    expect(checks).toBeLessThanOrEqual(n + 1);
    expect((await l.coordination.read('ha1')).leader?.site).toBe('A');
    l.a.kill();
    l.b.kill();
  });
});
