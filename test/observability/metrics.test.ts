import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { Registry } from 'prom-client';
import {
  METRIC_NAMES,
  createMetrics,
  forgetCluster,
  initClusterCounters,
  initSiteCounters,
  replicationStatusValues,
  setReplicationStatus,
  setSiteRole,
} from '../../src/observability/metrics.js';

const ALLOWED_LABELS = new Set([
  'namespace',
  'cluster',
  'site',
  'status',
  'role',
  'outcome',
  'peer',
  'action',
  'write',
  'region',
  'source',
  'version',
  'node_version',
  'database',
]);
const A = { namespace: 'hana', cluster: 'ha1', site: 'A' };
const B = { namespace: 'hana', cluster: 'ha1', site: 'B' };

/** Parses Prometheus text exposition into families (name -> type, help, samples). */
function parseExposition(text: string) {
  const families = new Map<
    string,
    {
      type?: string;
      help?: string;
      samples: { name: string; labels: Record<string, string>; value: number }[];
    }
  >();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { samples: [] }));
    return f;
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (m) {
      if (m[1] === 'HELP') family(m[2]!).help = m[3]!;
      else family(m[2]!).type = m[3]!;
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[pair[1]!] = pair[2]!;
    const name = m[1]!;
    const base = [...families.keys()].find(
      (f) => name === f || (/^(_bucket|_sum|_count)$/.test(name.slice(f.length)) && name.startsWith(f)),
    );
    family(base ?? name).samples.push({ name, labels, value: Number(m[3]) });
  }
  return families;
}

function populated(): ReturnType<typeof createMetrics> {
  const m = createMetrics(new Registry(), { version: '1.2.3' });
  initClusterCounters(m, { namespace: 'hana', cluster: 'ha1' }, ['A', 'B']);
  initSiteCounters(m, A);
  m.replicationLagSeconds.set(B, 1.5);
  m.replicationUnshippedBytes.set(B, 65536);
  setReplicationStatus(m, B, 'SYNCING');
  m.replicationInSync.set(B, 0);
  setSiteRole(m, A, 'primary');
  setSiteRole(m, B, 'secondary');
  m.primarySites.set({ namespace: 'hana', cluster: 'ha1' }, 1);
  m.landscapeStatus.set(A, 4);
  m.probeDurationSeconds.observe(A, 0.3);
  m.probeFailuresTotal.inc(A);
  m.takeoversTotal.inc({ ...B, outcome: 'succeeded' });
  m.lastTakeoverTimestampSeconds.set({ namespace: 'hana', cluster: 'ha1' }, 1714557600);
  m.fencingActionsTotal.inc(A);
  m.fencingFailuresTotal.inc(A);
  m.leaderEpoch.set({ namespace: 'hana', cluster: 'ha1' }, 7);
  m.leaseRenewalDurationSeconds.observe(A, 0.02);
  m.leaseRenewalFailuresTotal.inc(A);
  m.agentLastReportTimestampSeconds.set(A, 1714557600);
  m.replicationLagKnown.set(B, 1);
  m.clockSkewSeconds.set({ ...A, peer: 'B' }, -0.004);
  m.clockSkewUncertaintySeconds.set({ ...A, peer: 'B' }, 0.001);
  m.clockSkewMaxSeconds.set(A, 1);
  m.storeWriteFailuresTotal.inc({ ...A, write: 'sync' });
  m.watchdogArmed.set(A, 1);
  m.watchdogUsable.set(A, 1);
  m.watchdogTimeoutSeconds.set(A, 5);
  m.nodeFencesTotal.inc({ ...B, peer: 'A', action: 'off', outcome: 'confirmed' });
  m.reconcileDurationSeconds.observe({ namespace: 'hana', cluster: 'ha1' }, 0.01);
  m.reconcileErrorsTotal.inc({ namespace: 'hana', cluster: 'ha1' });
  const C = { namespace: 'hana', cluster: 'ha1' };
  const D = { ...C, database: 'SYSTEMDB' };
  m.backupHealthy.set(C, 1);
  m.backupTooOld.set(C, 0);
  m.backupNotReadable.set(C, 0);
  m.backupLogStalled.set(C, 0);
  m.backupLastSuccessTimestampSeconds.set(D, 1714557600);
  m.backupLastSuccessAgeSeconds.set(D, 3600);
  m.backupLogLastSuccessTimestampSeconds.set(D, 1714560000);
  m.backupReadable.set(D, 1);
  m.backupLogSegmentsWaiting.set(D, 2);
  m.backupLogBytesWaiting.set(D, 134217728);
  m.regionActiveStoreReachable.set({ ...B, region: 'eu-north' }, 1);
  m.regionDrLinkActive.set({ ...B, source: 'A' }, 1);
  return m;
}

describe('metrics catalogue', () => {
  it('exposes every catalogue metric, named by the rules', async () => {
    const families = parseExposition(await populated().registry.metrics());
    expect([...families.keys()].sort()).toEqual([...METRIC_NAMES].sort());
    for (const [name, f] of families) {
      expect(name).toMatch(/^hanasr_[a-z][a-z0-9_]*$/);
      expect(f.help, name).toBeTruthy();
      if (f.type === 'counter') expect(name).toMatch(/_total$/);
      else expect(name).not.toMatch(/_total$/);
      if (f.type === 'histogram') expect(name).toMatch(/_seconds$/);
      expect(name).not.toMatch(/_(milliseconds|ms|minutes|hours|kilobytes|megabytes)$/);
      expect(f.samples.length, name).toBeGreaterThan(0);
      for (const s of f.samples) {
        for (const label of Object.keys(s.labels)) {
          if (label === 'le') expect(f.type).toBe('histogram');
          else expect(ALLOWED_LABELS.has(label), `${name} label ${label}`).toBe(true);
        }
        if (name !== 'hanasr_build_info') expect(Object.keys(s.labels)).toContain('cluster');
      }
    }
    expect(families.get('hanasr_build_info')?.samples[0]).toMatchObject({
      labels: { version: '1.2.3', node_version: process.version },
      value: 1,
    });
  });

  it('passes promtool check metrics (install with apt-get install prometheus)', async () => {
    const text = await populated().registry.metrics();
    const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    if (run.error) throw new Error(`promtool not found: apt-get install prometheus (${run.error.message})`);
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('keeps state sets one-hot', async () => {
    const m = createMetrics(new Registry(), { version: 'x' });
    setReplicationStatus(m, B, 'SYNCING');
    setReplicationStatus(m, B, 'ACTIVE');
    const values = (await m.replicationStatus.get()).values;
    expect(values).toHaveLength(replicationStatusValues.length);
    expect(values.filter((v) => v.value === 1).map((v) => v.labels.status)).toEqual(['ACTIVE']);
    setSiteRole(m, A, 'none');
    const roles = (await m.siteRole.get()).values;
    expect(roles.map((v) => [v.labels.role, v.value])).toEqual([
      ['primary', 0],
      ['secondary', 0],
      ['none', 1],
    ]);
  });

  it('starts counters at zero so the first takeover shows in increase()', async () => {
    const m = createMetrics(new Registry(), { version: 'x' });
    initClusterCounters(m, { namespace: 'hana', cluster: 'ha1' }, ['A', 'B']);
    const takeovers = (await m.takeoversTotal.get()).values;
    expect(takeovers).toHaveLength(4);
    expect(takeovers.every((v) => v.value === 0)).toBe(true);
  });

  it('forgets a deleted cluster, or one site, and keeps the others', async () => {
    const m = populated();
    m.replicationLagSeconds.set({ namespace: 'hana', cluster: 'ha2', site: 'X' }, 3);
    await forgetCluster(m, { namespace: 'hana', cluster: 'ha1', site: 'A' });
    const afterSite = parseExposition(await m.registry.metrics());
    expect(afterSite.get('hanasr_probe_duration_seconds')?.samples).toHaveLength(0);
    expect(afterSite.get('hanasr_replication_lag_seconds')?.samples).toHaveLength(2);
    await forgetCluster(m, { namespace: 'hana', cluster: 'ha1' });
    const after = parseExposition(await m.registry.metrics());
    for (const [name, f] of after) {
      if (name === 'hanasr_build_info') expect(f.samples).toHaveLength(1);
      else for (const s of f.samples) expect(s.labels.cluster, name).toBe('ha2');
    }
    expect(after.get('hanasr_replication_lag_seconds')?.samples).toHaveLength(1);
  });

  it('reads its version from package.json by default', async () => {
    const m = createMetrics();
    const [sample] = (await m.buildInfo.get()).values;
    expect(sample?.labels.version).toMatch(/^\d+\.\d+\.\d+/);
  });
});
