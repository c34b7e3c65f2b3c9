/**
 * The in-memory coordination's lease semantics, on the virtual clock: compare-and-set on the
 * leader key with a growing epoch, TTL expiry that drops what is bound to a lease and keeps what
 * outlives it, stale-epoch writes refused, whole-store outages and cut members.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock.js';
import { MemoryCoordination } from '../../src/coordination/memory.js';
import {
  CoordinationUnavailableError,
  NotLeaderError,
  StaleEpochError,
} from '../../src/coordination/port.js';
import { report, secondaryHealth, syncRecord } from '../support/observations.js';

const TTL = 10;
const TTL_MS = TTL * 1000;
const CLUSTER = 'ha1';

function setup() {
  const clock = new VirtualClock(1_000_000);
  const store = new MemoryCoordination(clock);
  const a = store.session(CLUSTER, 'A', TTL);
  const b = store.session(CLUSTER, 'B', TTL);
  return { clock, store, a, b };
}

describe('leader key compare-and-set', () => {
  it('exactly one of two concurrent acquirers wins, and the epoch grows by one', async () => {
    const { clock, store, a, b } = setup();
    await Promise.all([a.start(), b.start()]);
    const results = await Promise.all([a.acquireLeader(0, clock.now()), b.acquireLeader(0, clock.now())]);
    const winners = results.filter((r) => r !== null);
    expect(winners).toHaveLength(1);
    expect(winners[0]).toMatchObject({ site: 'A', epoch: 1, since: clock.now() });
    const state = await store.read(CLUSTER);
    expect(state.leader).toEqual(winners[0]);
    expect(state.lastEpoch).toBe(1);
    expect(state.lastLeader).toBe('A');
  });

  it('refuses an acquire that expects an older last epoch, even when the key is free', async () => {
    const { clock, store, a, b } = setup();
    await Promise.all([a.start(), b.start()]);
    const first = await a.acquireLeader(0, clock.now());
    await a.releaseLeader(first!.epoch);
    expect((await store.read(CLUSTER)).leader).toBeNull();
    expect(await b.acquireLeader(0, clock.now())).toBeNull();
    expect(await b.acquireLeader(1, clock.now())).toMatchObject({ site: 'B', epoch: 2 });
  });

  it('refuses a second acquire while the key is held, even by its holder', async () => {
    const { clock, a } = setup();
    await a.start();
    expect(await a.acquireLeader(0, clock.now())).not.toBeNull();
    expect(await a.acquireLeader(1, clock.now())).toBeNull();
  });

  it('reserves the key for the named successor of a handover', async () => {
    const { clock, store, a, b } = setup();
    const c = store.session(CLUSTER, 'C', TTL);
    await Promise.all([a.start(), b.start(), c.start()]);
    await a.acquireLeader(0, clock.now());
    await a.releaseLeader(1, 'B');
    expect((await store.read(CLUSTER)).handoverTo).toBe('B');
    expect(await c.acquireLeader(1, clock.now())).toBeNull();
    expect(await a.acquireLeader(1, clock.now())).toBeNull();
    expect(await b.acquireLeader(1, clock.now())).toMatchObject({ site: 'B', epoch: 2 });
    expect((await store.read(CLUSTER)).handoverTo).toBeUndefined();
  });

  it('lets a handover that cannot complete be won over only by naming its site', async () => {
    const { clock, store, a } = setup();
    const c = store.session(CLUSTER, 'C', TTL);
    await Promise.all([a.start(), c.start()]);
    await a.acquireLeader(0, clock.now());
    await a.releaseLeader(1, 'B');
    expect(await c.acquireLeader(1, clock.now(), 'D')).toBeNull();
    expect(await c.acquireLeader(1, clock.now(), 'B')).toMatchObject({ site: 'C', epoch: 2 });
    expect((await store.read(CLUSTER)).handoverTo).toBeUndefined();
  });
});

describe('lease expiry on the virtual clock', () => {
  it('keeps the key while the holder keeps its lease alive', async () => {
    const { clock, store, a } = setup();
    await a.start();
    await a.acquireLeader(0, clock.now());
    await clock.advanceBy(10 * TTL_MS);
    expect((await store.read(CLUSTER)).leader?.site).toBe('A');
    expect(a.lastRenewedAt()).toBeGreaterThan(clock.monotonic() - TTL_MS);
  });

  it('drops the leader key and the report of a dead member, keeps sync, LPT, last epoch and intents', async () => {
    const { clock, store, a, b } = setup();
    await Promise.all([a.start(), b.start()]);
    const rec = await a.acquireLeader(0, clock.now());
    await a.publishReport(report('A', secondaryHealth('A')));
    await b.publishReport(report('B', secondaryHealth('A')));
    await a.writeSync(rec!.epoch, [syncRecord('B', 'SOK', { epoch: rec!.epoch })]);
    await a.stampPrimary(rec!.epoch, clock.now());
    await store.addIntent(CLUSTER, { kind: 'register', id: 'r1', site: 'B', epoch: 1 });
    await store.addIntent(CLUSTER, { kind: 'fence', id: 'f1', site: 'B', epoch: 1 });
    await store.removeIntent(CLUSTER, 'f1');
    await store.removeIntent(CLUSTER, 'f1'); // absent: fine

    const stampedAt = clock.now();
    store.cut('A', true); // A's keepalives fail from now on: its lease runs out
    await clock.advanceBy(TTL_MS - 1);
    expect((await store.read(CLUSTER)).leader?.site).toBe('A');
    await clock.advanceBy(TTL_MS);

    const state = await store.read(CLUSTER);
    expect(state.leader).toBeNull();
    expect(Object.keys(state.reports)).toEqual(['B']);
    expect(state.lastEpoch).toBe(1);
    expect(state.lastLeader).toBe('A');
    expect(state.sync.B).toMatchObject({ state: 'SOK', epoch: 1 });
    expect(state.lpt.A).toBe(stampedAt);
    expect(state.lpe).toEqual({ A: 1 });
    expect(state.intents.map((i) => i.id)).toEqual(['r1']);
  });

  it('a closed session revokes at once: key and report go without waiting for the TTL', async () => {
    const { clock, store, a } = setup();
    await a.start();
    await a.acquireLeader(0, clock.now());
    await a.publishReport(report('A', secondaryHealth('A')));
    await a.close();
    const state = await store.read(CLUSTER);
    expect(state.leader).toBeNull();
    expect(state.reports).toEqual({});
    expect(state.lastEpoch).toBe(1);
  });
});

describe('stale-epoch writes are refused', () => {
  it('refuses sync, LPT and release from a former leader after a new term began', async () => {
    const { clock, store, a, b } = setup();
    await Promise.all([a.start(), b.start()]);
    await a.acquireLeader(0, clock.now());
    store.cut('A', true);
    await clock.advanceBy(2 * TTL_MS);
    expect(await b.acquireLeader(1, clock.now())).toMatchObject({ site: 'B', epoch: 2 });
    store.cut('A', false);

    await expect(a.writeSync(1, [syncRecord('B', 'SOK', { epoch: 1 })])).rejects.toBeInstanceOf(
      StaleEpochError,
    );
    await expect(a.stampPrimary(1, clock.now())).rejects.toBeInstanceOf(StaleEpochError);
    await expect(a.releaseLeader(1)).rejects.toBeInstanceOf(StaleEpochError);
    expect((await store.read(CLUSTER)).leader?.site).toBe('B');
    expect((await store.read(CLUSTER)).sync).toEqual({});
    expect((await store.read(CLUSTER)).lpe).toBeUndefined();
  });

  it('refuses writes at the current epoch from a member that does not hold the key', async () => {
    const { clock, a, b } = setup();
    await Promise.all([a.start(), b.start()]);
    await a.acquireLeader(0, clock.now());
    await expect(b.writeSync(1, [syncRecord('B')])).rejects.toBeInstanceOf(NotLeaderError);
    await expect(b.stampPrimary(1, clock.now())).rejects.toBeInstanceOf(NotLeaderError);
    await expect(b.releaseLeader(1)).rejects.toBeInstanceOf(NotLeaderError);
  });

  it('refuses an intent that carries a stale epoch', async () => {
    const { clock, store, a } = setup();
    await a.start();
    await a.acquireLeader(0, clock.now());
    await expect(
      store.addIntent(CLUSTER, { kind: 'planned-takeover', id: 'p1', target: 'B', epoch: 0 }),
    ).rejects.toBeInstanceOf(StaleEpochError);
    await store.addIntent(CLUSTER, { kind: 'planned-takeover', id: 'p2', target: 'B', epoch: 1 });
    expect((await store.read(CLUSTER)).intents.map((i) => i.id)).toEqual(['p2']);
  });
});

describe('whole-store outage', () => {
  it('fails every call while it lasts', async () => {
    const { store, a } = setup();
    await a.start();
    store.setAvailable(false);
    await expect(store.read(CLUSTER)).rejects.toBeInstanceOf(CoordinationUnavailableError);
    await expect(a.read()).rejects.toBeInstanceOf(CoordinationUnavailableError);
    await expect(a.renew()).rejects.toBeInstanceOf(CoordinationUnavailableError);
    await expect(a.publishReport(report('A', secondaryHealth('A')))).rejects.toBeInstanceOf(
      CoordinationUnavailableError,
    );
  });

  it('freezes expiry and extends every lease by its TTL on return', async () => {
    const { clock, store, a, b } = setup();
    await Promise.all([a.start(), b.start()]);
    await a.acquireLeader(0, clock.now());
    await b.publishReport(report('B', secondaryHealth('A')));
    store.setAvailable(false);
    await clock.advanceBy(10 * TTL_MS); // far past every lease
    store.setAvailable(true);
    const back = clock.monotonic();
    let state = await store.read(CLUSTER);
    expect(state.leader?.site).toBe('A');
    expect(Object.keys(state.reports)).toEqual(['B']);
    // The keepalives resume and renew.
    await clock.advanceBy(TTL_MS);
    expect(a.lastRenewedAt()).toBeGreaterThanOrEqual(back);
    state = await store.read(CLUSTER);
    expect(state.leader?.site).toBe('A');
  });

  it('does not revive a lease that had already run out before the outage began', async () => {
    const { clock, store, a } = setup();
    await a.start();
    await a.acquireLeader(0, clock.now());
    await a.publishReport(report('A', secondaryHealth('A')));
    store.cut('A', true); // the leader's agent is gone: no more keepalives
    await clock.advanceBy(TTL_MS + 1000); // its lease has run out (nobody has looked yet)
    store.setAvailable(false);
    await clock.advanceBy(5000);
    store.setAvailable(true);
    const state = await store.read(CLUSTER);
    expect(state.leader).toBeNull();
    expect(state.reports).toEqual({});
    expect(state.lastLeader).toBe('A');
  });

  it('a session whose start failed during the outage keeps its lease alive once the store returns', async () => {
    const { clock, store, a } = setup();
    store.setAvailable(false);
    await expect(a.start()).rejects.toBeInstanceOf(CoordinationUnavailableError);
    await clock.advanceBy(TTL_MS);
    store.setAvailable(true);
    await clock.advanceBy(TTL_MS);
    expect(a.lastRenewedAt()).not.toBeNull();
    expect(await a.acquireLeader(0, clock.now())).toMatchObject({ site: 'A', epoch: 1 });
    await clock.advanceBy(5 * TTL_MS);
    expect((await store.read(CLUSTER)).leader?.site).toBe('A');
    expect(a.lastRenewedAt()).toBeGreaterThan(clock.monotonic() - TTL_MS);
  });
});

describe('a member cut off the store', () => {
  it('loses its lease after the TTL while the others go on, and cannot write', async () => {
    const { clock, store, a, b } = setup();
    await Promise.all([a.start(), b.start()]);
    await a.acquireLeader(0, clock.now());
    await a.publishReport(report('A', secondaryHealth('A')));
    await b.publishReport(report('B', secondaryHealth('A')));
    const renewedBeforeCut = a.lastRenewedAt();
    store.cut('A', true);
    await expect(a.read()).rejects.toBeInstanceOf(CoordinationUnavailableError);
    await expect(a.renew()).rejects.toBeInstanceOf(CoordinationUnavailableError);
    await expect(a.writeSync(1, [])).rejects.toBeInstanceOf(CoordinationUnavailableError);

    await clock.advanceBy(2 * TTL_MS);
    expect(a.lastRenewedAt()).toBe(renewedBeforeCut);
    const state = await b.read();
    expect(state.leader).toBeNull();
    expect(Object.keys(state.reports)).toEqual(['B']);
    expect(b.lastRenewedAt()).toBeGreaterThan(clock.monotonic() - TTL_MS);
    expect(await b.acquireLeader(1, clock.now())).toMatchObject({ site: 'B', epoch: 2 });
  });

  it('on reconnection takes a new lease: nothing of the old one comes back', async () => {
    const { clock, store, a, b } = setup();
    await Promise.all([a.start(), b.start()]);
    await a.acquireLeader(0, clock.now());
    store.cut('A', true);
    await clock.advanceBy(2 * TTL_MS);
    store.cut('A', false);
    await a.renew();
    const state = await a.read();
    expect(state.leader).toBeNull();
    await expect(a.writeSync(1, [])).rejects.toBeInstanceOf(NotLeaderError);
    expect(await a.acquireLeader(1, clock.now())).toMatchObject({ site: 'A', epoch: 2 });
  });

  it('a lease granted after the one the key was bound to ran out is no renewal of it', async () => {
    const { clock, store, a } = setup();
    await a.start();
    await a.acquireLeader(0, clock.now());
    await clock.advanceBy(TTL_MS / 2);
    await a.renew();
    const keyRenewedAt = a.lastRenewedAt();
    expect(keyRenewedAt).toBe(clock.monotonic());
    store.cut('A', true);
    await clock.advanceBy(2 * TTL_MS);
    store.cut('A', false);
    // The store grants a new lease; the key died with the old one, whose last renewal stays the
    // clock of an agent that still believes it leads (its self-fence deadline, its watchdog feeds).
    await a.renew();
    expect(a.lastRenewedAt()).toBe(keyRenewedAt);
    // The new lease's keepalives are no renewal of the old one either.
    await clock.advanceBy(TTL_MS);
    await a.renew();
    expect(a.lastRenewedAt()).toBe(keyRenewedAt);
    await a.publishReport(report('A', secondaryHealth('A')));
    expect(a.lastRenewedAt()).toBe(keyRenewedAt);
    // A key bound to the new lease counts from the new lease's renewals.
    expect(await a.acquireLeader(1, clock.now())).toMatchObject({ site: 'A', epoch: 2 });
    expect(a.lastRenewedAt()).toBeGreaterThan(keyRenewedAt!);
    await clock.advanceBy(1000);
    await a.renew();
    expect(a.lastRenewedAt()).toBe(clock.monotonic());
  });

  it('a key won on a lease granted in the same call counts from that grant (no self-fence at once)', async () => {
    const { clock, store, a } = setup();
    await a.start();
    await a.acquireLeader(0, clock.now());
    store.cut('A', true);
    await clock.advanceBy(2 * TTL_MS);
    store.cut('A', false);
    // No renewal before the compare-and-set: the acquire itself grants the lease it binds the key to.
    const at = clock.monotonic();
    expect(await a.acquireLeader(1, clock.now())).toMatchObject({ site: 'A', epoch: 2 });
    expect(a.lastRenewedAt()).toBe(at);
  });

  it('a key won right after a renewal that was a grant counts from that grant', async () => {
    const { clock, store, a } = setup();
    await a.start();
    await a.acquireLeader(0, clock.now());
    store.cut('A', true);
    await clock.advanceBy(2 * TTL_MS);
    store.cut('A', false);
    // As winLeaderKey() does: renew, then compare-and-set.
    await a.renew();
    const granted = clock.monotonic();
    await clock.advanceBy(100);
    expect(await a.acquireLeader(1, clock.now())).toMatchObject({ site: 'A', epoch: 2 });
    expect(a.lastRenewedAt()).toBeGreaterThanOrEqual(granted);
  });

  it('a session that held no key (or released it) counts a new lease as its renewal', async () => {
    const { clock, store, a, b } = setup();
    await Promise.all([a.start(), b.start()]);
    await a.acquireLeader(0, clock.now());
    await a.releaseLeader(1);
    for (const s of ['A', 'B']) store.cut(s, true);
    await clock.advanceBy(2 * TTL_MS);
    for (const s of ['A', 'B']) store.cut(s, false);
    await Promise.all([a.renew(), b.renew()]);
    expect(a.lastRenewedAt()).toBe(clock.monotonic());
    expect(b.lastRenewedAt()).toBe(clock.monotonic());
  });

  it('a cut that ends before the TTL keeps the key', async () => {
    const { clock, store, a } = setup();
    await a.start();
    await a.acquireLeader(0, clock.now());
    store.cut('A', true);
    await clock.advanceBy(TTL_MS - 1);
    store.cut('A', false);
    await a.renew();
    await clock.advanceBy(3 * TTL_MS);
    expect((await store.read(CLUSTER)).leader).toMatchObject({ site: 'A', epoch: 1 });
  });
});

describe('backup record', () => {
  it('only the leader at its epoch writes it, and a lease expiry takes the right with the key', async () => {
    const clock = new VirtualClock(0);
    const store = new MemoryCoordination(clock);
    const a = store.session('c', 'A', 10);
    await a.start();
    await a.acquireLeader(0, 0);
    await store.writeBackup('c', 'A', 1, { runs: [] });
    expect(store.snapshot('c').backup).toEqual({ runs: [] });
    await expect(store.writeBackup('c', 'B', 1, { runs: [] })).rejects.toBeInstanceOf(NotLeaderError);
    await expect(store.writeBackup('c', 'A', 2, { runs: [] })).rejects.toBeInstanceOf(StaleEpochError);
    a.abandon();
    await clock.advanceTo(11_000);
    await expect(store.writeBackup('c', 'A', 1, { runs: [] })).rejects.toBeInstanceOf(NotLeaderError);
  });
});
