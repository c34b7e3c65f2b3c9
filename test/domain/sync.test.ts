/**
 * syncRecordsFrom: what the primary's agent writes as SOK/SFAIL each healthy cycle. SOK only for
 * an ACTIVE link that is fully synced (async: ACTIVE is enough, the lag bound is checked at
 * takeover time); unknown or missing links are SFAIL; tier-3 sites get no record from the primary.
 */
import { describe, expect, it } from 'vitest';
import { primaryStartSeen, syncRecordsFrom } from '../../src/domain/sync.js';
import {
  EPOCH,
  T,
  downHealth,
  link,
  primaryHealth,
  secondaryHealth,
  spec,
  stoppedPrimaryHealth,
  threeSites,
} from '../support/observations.js';

describe('syncRecordsFrom', () => {
  it.each([
    ['ACTIVE and fully synced', link('B'), 'SOK'],
    ['ACTIVE but not fully synced', link('B', { inSync: false }), 'SFAIL'],
    ['SYNCING', link('B', { status: 'SYNCING', inSync: false }), 'SFAIL'],
    ['INITIALIZING', link('B', { status: 'INITIALIZING', inSync: false }), 'SFAIL'],
    ['ERROR', link('B', { status: 'ERROR', inSync: false }), 'SFAIL'],
    ['UNKNOWN though flagged in sync', link('B', { status: 'UNKNOWN', inSync: true }), 'SFAIL'],
  ] as const)('sync mode, link %s: %s', (_name, l, state) => {
    const [rec] = syncRecordsFrom(primaryHealth([l]), spec(), 'A', EPOCH, T);
    expect(rec).toMatchObject({ site: 'B', state, epoch: EPOCH, confirmedAt: T, mode: 'sync' });
  });

  it('a secondary without a link at all is SFAIL', () => {
    expect(syncRecordsFrom(primaryHealth([]), spec(), 'A', EPOCH, T)).toEqual([
      {
        site: 'B',
        state: 'SFAIL',
        confirmedAt: T,
        epoch: EPOCH,
        mode: 'sync',
        lagSeconds: null,
        lagBytes: null,
      },
    ]);
  });

  it('async: ACTIVE is SOK even when not fully synced, and the lag is carried for the takeover bound', () => {
    const s = spec({ replication: { mode: 'async', asyncTakeoverMaxLagSeconds: 10 } });
    const [rec] = syncRecordsFrom(
      primaryHealth([link('B', { mode: 'async', inSync: false, lagSeconds: 42, lagBytes: 640 })]),
      s,
      'A',
      EPOCH,
      T,
    );
    expect(rec).toMatchObject({ state: 'SOK', mode: 'async', lagSeconds: 42, lagBytes: 640 });
  });

  it('async: a SYNCING link is still SFAIL', () => {
    const s = spec({ replication: { mode: 'async' } });
    const [rec] = syncRecordsFrom(
      primaryHealth([link('B', { status: 'SYNCING', mode: 'async' })]),
      s,
      'A',
      EPOCH,
      T,
    );
    expect(rec?.state).toBe('SFAIL');
  });

  it('writes one record per other site, none for itself, none for a site that replicates from another', () => {
    const s = spec({ sites: [...threeSites, { name: 'D', host: 'hana-d', source: 'C' }] });
    const recs = syncRecordsFrom(primaryHealth([link('B'), link('C'), link('D')]), s, 'A', EPOCH, T);
    expect(recs.map((r) => [r.site, r.state])).toEqual([
      ['B', 'SOK'],
      ['C', 'SOK'],
    ]);
  });

  it('a link reported for a site that is not in the spec creates no record', () => {
    const recs = syncRecordsFrom(primaryHealth([link('B'), link('X')]), spec(), 'A', EPOCH, T);
    expect(recs.map((r) => r.site)).toEqual(['B']);
  });
});

describe('syncRecordsFrom: the replication contact a SOK vouches for (unknown lag is not zero lag)', () => {
  const lag = (lagSeconds: number | null) => primaryHealth([link('B', { lagSeconds })]);
  it('a known lag puts the contact that far before the confirmation', () => {
    const [rec] = syncRecordsFrom(lag(3), spec(), 'A', EPOCH, T);
    expect(rec).toMatchObject({ state: 'SOK', contactAt: T - 3000 });
  });

  it('an unknown lag carries the contact of the previous SOK of this term, never the confirmation time', () => {
    const [first] = syncRecordsFrom(lag(2), spec(), 'A', EPOCH, T - 10_000);
    const [second] = syncRecordsFrom(lag(null), spec(), 'A', EPOCH, T, { B: first! });
    expect(second).toMatchObject({ state: 'SOK', lagSeconds: null, contactAt: T - 12_000 });
    const [third] = syncRecordsFrom(lag(null), spec(), 'A', EPOCH, T + 2000, { B: second! });
    expect(third?.contactAt).toBe(T - 12_000);
  });

  it('an unknown lag with no known contact before (or only from another term, or after SFAIL) is unknown', () => {
    expect(syncRecordsFrom(lag(null), spec(), 'A', EPOCH, T)[0]?.contactAt).toBeNull();
    const older = syncRecordsFrom(lag(0), spec(), 'A', EPOCH - 1, T - 5000)[0]!;
    expect(syncRecordsFrom(lag(null), spec(), 'A', EPOCH, T, { B: older })[0]?.contactAt).toBeNull();
    const sfail = syncRecordsFrom(
      primaryHealth([link('B', { inSync: false })]),
      spec(),
      'A',
      EPOCH,
      T - 2000,
    )[0]!;
    expect(syncRecordsFrom(lag(null), spec(), 'A', EPOCH, T, { B: sfail })[0]?.contactAt).toBeNull();
  });
});

describe('primaryStartSeen: a start of the own primary this agent did not make', () => {
  const stopped = stoppedPrimaryHealth();
  const running = { ...primaryHealth(), nameserverPid: 4711 };
  // An instance coming up: new processes, the nameserver among the first.
  const starting = stoppedPrimaryHealth({
    processes: { hdbdaemon: 'GREEN', hdbnameserver: 'YELLOW', hdbindexserver: 'GRAY' },
    nameserverPid: 5120,
  });
  // The indexserver of the running instance lost and restarted by hdbdaemon: same nameserver.
  const indexserverRestarting = stoppedPrimaryHealth({
    processes: { hdbdaemon: 'GREEN', hdbnameserver: 'GREEN', hdbindexserver: 'YELLOW' },
    nameserverPid: 4711,
  });
  it.each([
    ['stopped, then processes coming up (a start by hand)', stopped, starting, true],
    // sim:fuzz 960063960: a crash and a start by hand both between two probes.
    ['healthy, then a new instance coming up (crash and start in between)', running, starting, true],
    [
      'healthy, then a new instance whose nameserver already runs (later in the start)',
      running,
      { ...indexserverRestarting, nameserverPid: 6001 },
      true,
    ],
    ['healthy, then its indexserver restarting (same nameserver)', running, indexserverRestarting, false],
    [
      'indexserver restarting, then still restarting (same nameserver)',
      indexserverRestarting,
      indexserverRestarting,
      false,
    ],
    ['starting, then still starting (same nameserver)', starting, starting, false],
    ['a failed probe before (nothing known), then starting', downHealth(), indexserverRestarting, true],
    ['never probed (a restarted agent), then starting', undefined, indexserverRestarting, true],
    ['healthy without a listed nameserver pid, then starting', primaryHealth(), indexserverRestarting, true],
    // Running primaries count only on evidence: a healthy one looks like this every cycle.
    ['stopped, then running (started in between)', stopped, running, true],
    [
      'healthy, then running with another nameserver (restarted in between)',
      running,
      { ...running, nameserverPid: 6001 },
      true,
    ],
    ['healthy, then healthy (same nameserver)', running, running, false],
    ['healthy without pids, then healthy', primaryHealth(), primaryHealth(), false],
    ['never probed, then running', undefined, running, false],
    ['a failed probe before, then running', downHealth(), running, false],
    ['stopped, then stopped', stopped, stopped, false],
    [
      'a stopped secondary, then starting',
      stoppedPrimaryHealth({ srRole: 'secondary' }),
      stoppedPrimaryHealth({ srRole: 'secondary', processes: starting.processes }),
      false,
    ],
    [
      'a secondary, then a primary (taken over: same nameserver)',
      { ...secondaryHealth('A'), nameserverPid: 4711 },
      running,
      false,
    ],
  ] as const)('%s', (_name, before, after, seen) => {
    expect(primaryStartSeen(before, after)).toBe(seen);
  });
});
