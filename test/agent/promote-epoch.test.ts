/**
 * Every action checks the epoch: a promotion re-reads the leader key right before
 * `hdbnsutil -sr_takeover` and is refused when the key is no longer this site's at the epoch it
 * decided on. Here B decides to promote on a read that is already stale (it held the key at epoch
 * 1), while in the store its lease is gone and A holds the key at epoch 2. Real Agent, in-memory
 * store, virtual clock.
 */
import { describe, expect, it } from 'vitest';
import type { MemoryCoordination } from '../../src/coordination/memory.js';
import type { ClusterState, Coordination, CoordinationSession } from '../../src/coordination/port.js';
import type { HanaHealth } from '../../src/domain/types.js';
import type { HanaPort } from '../../src/hana/port.js';
import { agentRig } from '../support/agents.js';
import { primaryHealth, secondaryHealth } from '../support/observations.js';

class Secondary implements HanaPort {
  readonly takeovers: boolean[] = [];
  health: HanaHealth = secondaryHealth('A');
  probe(): Promise<HanaHealth> {
    return Promise.resolve(this.health);
  }
  async takeover(options: { readonly handshake: boolean }): Promise<void> {
    this.takeovers.push(options.handshake);
    this.health = primaryHealth([]);
  }
  async register(): Promise<void> {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async kill(): Promise<void> {}
}

/** A store whose next session read answers `stale` once (a read that raced a change). */
function withStaleRead(store: MemoryCoordination, stale: { state: ClusterState | null }): Coordination {
  return {
    session: (cluster, site, ttl) => {
      const inner = store.session(cluster, site, ttl);
      const session: CoordinationSession = {
        site: inner.site,
        start: () => inner.start(),
        lastRenewedAt: () => inner.lastRenewedAt(),
        renew: () => inner.renew(),
        read: () => {
          const s = stale.state;
          stale.state = null;
          return s !== null ? Promise.resolve(s) : inner.read();
        },
        publishReport: (r) => inner.publishReport(r),
        acquireLeader: (e, n) => inner.acquireLeader(e, n),
        seizeLeader: (f, e, n) => inner.seizeLeader(f, e, n),
        recordFence: (r) => inner.recordFence(r),
        releaseLeader: (e, h) => inner.releaseLeader(e, h),
        writeSync: (e, r) => inner.writeSync(e, r),
        stampPrimary: (e, a) => inner.stampPrimary(e, a),
        completeIntent: (id) => inner.completeIntent(id),
        close: () => inner.close(),
        abandon: () => inner.abandon(),
      };
      return session;
    },
    read: (c) => store.read(c),
    addIntent: (c, i) => store.addIntent(c, i),
    removeIntent: (c, id) => store.removeIntent(c, id),
    publishSpec: (c, s) => store.publishSpec(c, s),
    deleteCluster: (c) => store.deleteCluster(c),
    close: () => store.close(),
  };
}

describe('a promotion whose epoch went stale between the decision and the command', () => {
  it('is refused (stale_epoch) and hdbnsutil -sr_takeover never runs', async () => {
    const rig = agentRig({ startAt: 1_700_000_000_000 });
    const { clock, coordination: store, spec: s, events } = rig;
    // Term 1 was B's; the state B will decide on says so.
    const oldB = store.session('ha1', 'B', s.lease.ttlSeconds);
    await oldB.start();
    await oldB.acquireLeader(0, clock.now());
    const stale = { state: (await store.read('ha1')) as ClusterState | null };
    expect(stale.state?.leader).toMatchObject({ site: 'B', epoch: 1 });
    // Meanwhile B's term ended and A won term 2.
    await oldB.releaseLeader(1);
    const a = store.session('ha1', 'A', s.lease.ttlSeconds);
    await a.start();
    expect(await a.acquireLeader(1, clock.now())).toMatchObject({ site: 'A', epoch: 2 });

    const hana = new Secondary();
    const agent = rig.agent('B', hana, { coordination: withStaleRead(store, stale) });
    await agent.start();
    await clock.advanceBy(100);
    expect(agent.lastDecision).toMatchObject({ action: { kind: 'promote', epoch: 1 } });
    expect(hana.takeovers).toEqual([]);
    expect(agent.lastAction).toMatchObject({ action: 'promote', reason: 'stale_epoch', ok: false });
    expect(events.find((e) => e.event === 'refused')?.message).toMatch(
      /epoch 1.*A holds the leader key at epoch 2/,
    );
    // The next cycle reads the truth: A leads, B stays a secondary.
    await clock.advanceBy(2_000);
    expect(agent.lastDecision?.reason).toBe('secondary_healthy');
    expect(hana.takeovers).toEqual([]);
    await agent.stop();
    await oldB.close();
    await a.close();
  });
});
