/** Builders for operator tests: specs, agent reports and cluster states. */
import { parseSpec, type HanaSystemReplicationSpec } from '../../src/api/spec.js';
import type { ClusterState } from '../../src/coordination/port.js';
import type { HanaHealth, ReplicationLink, SiteReport, SyncRecord } from '../../src/domain/types.js';
import { link } from '../support/observations.js';

export function spec(overrides: Record<string, unknown> = {}): HanaSystemReplicationSpec {
  return parseSpec({
    sid: 'HA1',
    instanceNumber: '00',
    sites: [
      { name: 'A', host: 'hana-a' },
      { name: 'B', host: 'hana-b' },
    ],
    ...overrides,
  });
}

/** The same link builder as the decision tests use. */
export { link };

export function primaryHealth(links: ReplicationLink[], over: Partial<HanaHealth> = {}): HanaHealth {
  return {
    probeOk: true,
    running: true,
    landscapeStatus: 4,
    processes: {},
    srRole: 'primary',
    suspended: false,
    acceptsWrites: true,
    replication: links,
    overallReplicationStatus:
      links.length === 0 ? 'NONE' : links.every((l) => l.status === 'ACTIVE') ? 'ACTIVE' : 'ERROR',
    ...over,
  };
}

export function secondaryHealth(source: string, over: Partial<HanaHealth> = {}): HanaHealth {
  return {
    probeOk: true,
    running: true,
    landscapeStatus: 4,
    processes: {},
    srRole: 'secondary',
    source,
    srMode: 'sync',
    suspended: false,
    acceptsWrites: false,
    replication: [],
    overallReplicationStatus: 'NONE',
    ...over,
  };
}

export function report(site: string, health: HanaHealth, over: Partial<SiteReport> = {}): SiteReport {
  return {
    site,
    observedAt: 1_700_000_000_000,
    health,
    failedProbes: 0,
    lastWritableAt: health.acceptsWrites ? 1_700_000_000_000 : null,
    epoch: 1,
    leader: health.srRole === 'primary',
    fenced: false,
    ...over,
  };
}

export function syncRecord(site: string, epoch: number, over: Partial<SyncRecord> = {}): SyncRecord {
  return {
    site,
    state: 'SOK',
    confirmedAt: 1_700_000_000_000,
    epoch,
    mode: 'sync',
    lagSeconds: 0,
    lagBytes: 0,
    ...over,
  };
}

/** A healthy two-site cluster: `primary` leads in `epoch`, the other site in sync. */
export function healthy(primary = 'A', epoch = 1, since = 1_700_000_000_000): ClusterState {
  const secondary = primary === 'A' ? 'B' : 'A';
  return {
    leader: { site: primary, epoch, since },
    lastEpoch: epoch,
    lastLeader: primary,
    reports: {
      [primary]: report(primary, primaryHealth([link(secondary)]), { epoch }),
      [secondary]: report(secondary, secondaryHealth(primary), { epoch }),
    },
    sync: { [secondary]: syncRecord(secondary, epoch) },
    lpt: {},
    intents: [],
  };
}
