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
