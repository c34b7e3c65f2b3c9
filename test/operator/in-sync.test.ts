/**
 * The in-sync rule exists once (issue 10 item 5): the status's in-sync field and its
 * ReplicationHealthy condition say what the agents' rule says, so a DBA who waits for
 * ReplicationHealthy is not refused the planned takeover that follows.
 */
import { describe, expect, it } from 'vitest';
import { findCondition } from '../../src/api/resource.js';
import type { ClusterState } from '../../src/coordination/port.js';
import { buildStatus } from '../../src/operator/status.js';
import { healthy, link, primaryHealth, report, spec } from './fixtures.js';

const NOW = 1_700_000_001_000;

function replicationHealthy(state: ClusterState, s = spec()) {
  const { status } = buildStatus({ spec: s, generation: 1, state, previous: undefined, now: NOW });
  const c = findCondition(status, 'ReplicationHealthy');
  return { status: c?.status, reason: c?.reason, message: c?.message, sites: status.sites ?? [] };
}

describe('status in sync = the promotion rule', () => {
  it('right after the first term began (ACTIVE link, no sync record yet): not in sync, not healthy', () => {
    const state: ClusterState = { ...healthy(), sync: {} };
    const r = replicationHealthy(state);
    expect(r.status).toBe('False');
    expect(r.message).toContain('no sync record');
    expect(r.sites.find((x) => x.name === 'B')?.inSync).toBe(false);
  });

  it('async without asyncTakeoverMaxLagSeconds: no automatic promotion, so not healthy', () => {
    const s = spec({ replication: { mode: 'async' } });
    const base = healthy();
    const state: ClusterState = {
      ...base,
      reports: { ...base.reports, A: report('A', primaryHealth([link('B', { mode: 'async' })])) },
      sync: { B: { ...base.sync['B']!, mode: 'async' } },
    };
    const r = replicationHealthy(state, s);
    expect(r.status).toBe('False');
    expect(r.message).toContain('asyncTakeoverMaxLagSeconds');
  });

  it('a healthy pair with a fresh SOK record of this term is in sync', () => {
    const r = replicationHealthy(healthy());
    expect([r.status, r.reason]).toEqual(['True', 'AllSecondariesInSync']);
    expect(r.sites.find((x) => x.name === 'B')?.inSync).toBe(true);
  });
});

describe('LagUnknown and ClockSkew conditions', () => {
  const build = (state: ClusterState) =>
    buildStatus({ spec: spec(), generation: 1, state, previous: undefined, now: NOW }).status;
  it("LagUnknown is True while the primary cannot read a secondary's lag", () => {
    const base = healthy();
    const state: ClusterState = {
      ...base,
      reports: {
        ...base.reports,
        A: report('A', primaryHealth([link('B', { lagSeconds: null, lagBytes: null })])),
      },
    };
    expect(findCondition(build(state), 'LagUnknown')).toMatchObject({
      status: 'True',
      reason: 'NoLagSource',
    });
    expect(findCondition(build(healthy()), 'LagUnknown')).toMatchObject({ status: 'False' });
  });

  it('ClockSkew is True when an agent measured a peer beyond clock.maxSkewSeconds, and B is not in sync', () => {
    const base = healthy();
    const skewed: ClusterState = {
      ...base,
      reports: {
        ...base.reports,
        B: { ...base.reports['B']!, clockSkew: { A: { offsetMs: 4000, uncertaintyMs: 2, measuredAt: NOW } } },
      },
    };
    const status = build(skewed);
    expect(findCondition(status, 'ClockSkew')).toMatchObject({ status: 'True', reason: 'SkewAboveBound' });
    expect(findCondition(status, 'ClockSkew')?.message).toContain("A's clock is 4.0 s ahead of B's");
    expect(status.sites?.find((s) => s.name === 'B')?.inSync).toBe(false);
    expect(findCondition(build(base), 'ClockSkew')).toMatchObject({
      status: 'Unknown',
      reason: 'SkewNotMeasured',
    });
  });
});
