/** SOK/SFAIL records as the primary's agent writes them each healthy cycle. */
import type { HanaSystemReplicationSpec } from '../api/spec.js';
import type { HanaHealth, SyncRecord } from './types.js';

/**
 * One record per other site in the spec: SOK when the link is ACTIVE and fully synced (in async
 * mode ACTIVE is enough: the lag bound is checked at takeover time), SFAIL otherwise, including a
 * secondary with no link at all. Only a writable primary's view counts.
 */
export function syncRecordsFrom(
  health: HanaHealth,
  spec: HanaSystemReplicationSpec,
  self: string,
  epoch: number,
  now: number,
): SyncRecord[] {
  const records: SyncRecord[] = [];
  for (const site of spec.sites) {
    if (site.name === self) continue;
    if (site.source !== undefined && site.source !== self) continue;
    const link = health.replication.find((l) => l.secondary === site.name);
    const ok =
      link !== undefined &&
      link.status === 'ACTIVE' &&
      (spec.replication.mode === 'async' ? true : link.inSync);
    records.push({
      site: site.name,
      state: ok ? 'SOK' : 'SFAIL',
      confirmedAt: now,
      epoch,
      mode: link?.mode ?? spec.replication.mode,
      lagSeconds: link?.lagSeconds ?? null,
      lagBytes: link?.lagBytes ?? null,
    });
  }
  return records;
}
