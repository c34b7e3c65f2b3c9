/**
 * syncRecordsFrom: what the primary's agent writes as SOK/SFAIL each healthy cycle. SOK only for
 * an ACTIVE link that is fully synced (async: ACTIVE is enough, the lag bound is checked at
 * takeover time); unknown or missing links are SFAIL; tier-3 sites get no record from the primary.
 */
import { describe, expect, it } from 'vitest';
import { syncRecordsFrom } from '../../src/domain/sync.js';
import { EPOCH, T, link, primaryHealth, spec, threeSites } from '../support/observations.js';

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
