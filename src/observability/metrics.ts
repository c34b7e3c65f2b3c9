// Why this file is long: the whole metrics catalogue in one place (names, help, labels), so dashboards and alert rules have one source.
/**
 * The metrics catalogue (prom-client), shared by the operator and the agents.
 *
 * Rules: prefix `hanasr_`, base units (`_seconds`, `_bytes`), `_total` on counters, labels
 * `namespace`, `cluster` (the HanaSystemReplication name) and `site` only, plus the small fixed
 * sets `status`, `role` and `outcome` (and, for regions, `region` and the reporting `source`
 * site). Agents on VMs, outside Kubernetes, set namespace to "".
 *
 * Who exports what: agents export the probe, lease and last-report metrics of their own site and
 * the replication metrics of the links they are the source of; the active operator exports the
 * per-cluster view (roles, primary count, epoch, takeovers) built from all agents' reports. Alert
 * rules aggregate with max by (namespace, cluster, site), so both may export the same series.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export const METRIC_PREFIX = 'hanasr_';

/** Replication status values of the hanasr_replication_status state set. */
export const replicationStatusValues = ['ACTIVE', 'SYNCING', 'INITIALIZING', 'ERROR', 'UNKNOWN'] as const;
export type ReplicationStatusValue = (typeof replicationStatusValues)[number];
export const roleValues = ['primary', 'secondary', 'none'] as const;
export type RoleValue = (typeof roleValues)[number];
export const takeoverOutcomeValues = ['succeeded', 'failed'] as const;
export type TakeoverOutcomeValue = (typeof takeoverOutcomeValues)[number];

type SiteLabels = 'namespace' | 'cluster' | 'site';
type ClusterLabels = 'namespace' | 'cluster';

export interface SiteLabelValues {
  readonly namespace: string;
  readonly cluster: string;
  readonly site: string;
}
export interface ClusterLabelValues {
  readonly namespace: string;
  readonly cluster: string;
}

export interface HanasrMetrics {
  readonly registry: Registry;
  /** Shipping delay of a secondary (LAST_LOG_POSITION_TIME - SHIPPED_LOG_POSITION_TIME). */
  readonly replicationLagSeconds: Gauge<SiteLabels>;
  /** Log generated on the source and not yet shipped to this secondary. */
  readonly replicationUnshippedBytes: Gauge<SiteLabels>;
  /** State set: 1 for the secondary's current replication status, 0 for the others. */
  readonly replicationStatus: Gauge<SiteLabels | 'status'>;
  /** 1 when the secondary is in sync (SOK), 0 otherwise (SFAIL). */
  readonly replicationInSync: Gauge<SiteLabels>;
  /** State set: 1 for the site's current system replication role. */
  readonly siteRole: Gauge<SiteLabels | 'role'>;
  /** Sites accepting writes in the cluster: 1 is healthy, 0 no primary, 2+ split brain. */
  readonly primarySites: Gauge<ClusterLabels>;
  /** landscapeHostConfiguration.py return code: 0 FATAL, 1 ERROR, 2 WARNING, 3 INFO, 4 OK. */
  readonly landscapeStatus: Gauge<SiteLabels>;
  readonly probeDurationSeconds: Histogram<SiteLabels>;
  readonly probeFailuresTotal: Counter<SiteLabels>;
  /** Takeovers to `site`, by outcome. */
  readonly takeoversTotal: Counter<SiteLabels | 'outcome'>;
  /** Unix time of the last successful takeover (set from status.lastTakeover after a restart). */
  readonly lastTakeoverTimestampSeconds: Gauge<ClusterLabels>;
  /** Fencing actions (stop or suspend) taken against `site`. */
  readonly fencingActionsTotal: Counter<SiteLabels>;
  /** Stops of `site` (fence, step-down, restart) that did not complete, even with a kill. */
  readonly fencingFailuresTotal: Counter<SiteLabels>;
  /** The current primary term (the fencing token). */
  readonly leaderEpoch: Gauge<ClusterLabels>;
  readonly leaseRenewalDurationSeconds: Histogram<SiteLabels>;
  readonly leaseRenewalFailuresTotal: Counter<SiteLabels>;
  /** Unix time of the last report published by the site's agent. */
  readonly agentLastReportTimestampSeconds: Gauge<SiteLabels>;
  /** 1 when the source knows the secondary's lag (SQL lag source answered), 0 when unknown. */
  readonly replicationLagKnown: Gauge<SiteLabels>;
  /** The peer's clock minus this site's clock, as this site's agent last measured it. */
  readonly clockSkewSeconds: Gauge<SiteLabels | 'peer'>;
  /** Half the round trip of that measurement: the true offset lies within ± this. */
  readonly clockSkewUncertaintySeconds: Gauge<SiteLabels | 'peer'>;
  /** spec.clock.maxSkewSeconds as the site's agent applies it. */
  readonly clockSkewMaxSeconds: Gauge<SiteLabels>;
  readonly watchdogArmed: Gauge<SiteLabels>;
  readonly watchdogUsable: Gauge<SiteLabels>;
  readonly watchdogTimeoutSeconds: Gauge<SiteLabels>;
  readonly nodeFencesTotal: Counter<SiteLabels | 'peer' | 'action' | 'outcome'>;
  /** Failed writes of the report, the SOK/SFAIL records or the last-primary timestamp. */
  readonly storeWriteFailuresTotal: Counter<SiteLabels | 'write'>;
  readonly reconcileDurationSeconds: Histogram<ClusterLabels>;
  readonly reconcileErrorsTotal: Counter<ClusterLabels>;
  /** 1 when BackupHealthy is True, 0 otherwise (also while unknown). */
  readonly backupHealthy: Gauge<ClusterLabels>;
  /** 1 when a database has no successful data backup since the schedule's last time (minus the margin). */
  readonly backupTooOld: Gauge<ClusterLabels>;
  /** 1 when a newest successful backup is not confirmed readable from the primary's destination. */
  readonly backupNotReadable: Gauge<ClusterLabels>;
  /** 1 when log backups are off or the newest is older than logBackup.maxAgeSeconds. */
  readonly backupLogStalled: Gauge<ClusterLabels>;
  /** Unix time of the start of the newest successful complete data backup of `database`. */
  readonly backupLastSuccessTimestampSeconds: Gauge<ClusterLabels | 'database'>;
  /** Its age when the operator last looked. */
  readonly backupLastSuccessAgeSeconds: Gauge<ClusterLabels | 'database'>;
  /** Unix time of the end of the newest successful log backup of `database`. */
  readonly backupLogLastSuccessTimestampSeconds: Gauge<ClusterLabels | 'database'>;
  readonly backupLogSegmentsWaiting: Gauge<ClusterLabels | 'database'>;
  readonly backupLogBytesWaiting: Gauge<ClusterLabels | 'database'>;
  /** 1 when the newest successful data backup of `database` is readable from the primary's destination. */
  readonly backupReadable: Gauge<ClusterLabels | 'database'>;
  /**
   * Exported by an agent outside the active region (docs/dr.md): 1 when its last read of the
   * active region's store answered within the deadline, 0 when it did not (or no record names an
   * active region yet). `region` is the agent's own region.
   */
  readonly regionActiveStoreReachable: Gauge<SiteLabels | 'region'>;
  /**
   * Exported by each agent of the active region for every site of the other region (`site`):
   * 1 when this agent's probe (`source`) reports an ACTIVE replication link into it, else 0.
   */
  readonly regionDrLinkActive: Gauge<SiteLabels | 'source'>;
  /** Always 1; the labels say which build runs. */
  readonly buildInfo: Gauge<'version' | 'node_version'>;
}

export interface MetricsOptions {
  /** hanasr's version for hanasr_build_info; read from package.json when absent. */
  readonly version?: string;
}

const SITE: SiteLabels[] = ['namespace', 'cluster', 'site'];
const CLUSTER: ClusterLabels[] = ['namespace', 'cluster'];

/** Creates every hanasr metric on `registry` (a new one when absent). */
export function createMetrics(
  registry: Registry = new Registry(),
  options: MetricsOptions = {},
): HanasrMetrics {
  const registers = [registry];
  // A metric is its name, help and labels (and a histogram's buckets), always on `registry`.
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Gauge<L>({ name, help, labelNames, registers });
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Counter<L>({ name, help, labelNames, registers });
  const histogram = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: number[],
  ) => new Histogram<L>({ name, help, labelNames, buckets, registers });
  const metrics: HanasrMetrics = {
    registry,
    replicationLagSeconds: gauge(
      'hanasr_replication_lag_seconds',
      'Replication shipping delay of a secondary site, from the monitoring views (not a heartbeat age).',
      SITE,
    ),
    replicationUnshippedBytes: gauge(
      'hanasr_replication_unshipped_bytes',
      'Log generated on the source site and not yet shipped to this secondary, in bytes.',
      SITE,
    ),
    replicationStatus: gauge(
      'hanasr_replication_status',
      'Replication status of a secondary site: 1 for the current status, 0 for the others.',
      [...SITE, 'status'],
    ),
    replicationInSync: gauge(
      'hanasr_replication_in_sync',
      'Whether the secondary site has every committed log (1 SOK, 0 SFAIL).',
      SITE,
    ),
    siteRole: gauge(
      'hanasr_site_role',
      'System replication role of a site: 1 for the current role, 0 for the others.',
      [...SITE, 'role'],
    ),
    primarySites: gauge(
      'hanasr_primary_sites',
      'Number of sites accepting writes in the cluster (1 healthy, 0 no primary, 2 or more split brain).',
      CLUSTER,
    ),
    landscapeStatus: gauge(
      'hanasr_landscape_status',
      'landscapeHostConfiguration.py overall host status: 0 FATAL, 1 ERROR, 2 WARNING, 3 INFO, 4 OK.',
      SITE,
    ),
    probeDurationSeconds: histogram(
      'hanasr_probe_duration_seconds',
      'Duration of one probe cycle of the local HANA site.',
      SITE,
      [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    ),
    probeFailuresTotal: counter(
      'hanasr_probe_failures_total',
      'Probe cycles of the local HANA site that failed or timed out.',
      SITE,
    ),
    takeoversTotal: counter('hanasr_takeovers_total', 'Takeovers to a site, by outcome.', [
      ...SITE,
      'outcome',
    ]),
    lastTakeoverTimestampSeconds: gauge(
      'hanasr_last_takeover_timestamp_seconds',
      'Unix time of the last successful takeover in the cluster.',
      CLUSTER,
    ),
    fencingActionsTotal: counter(
      'hanasr_fencing_actions_total',
      'Fencing actions (stop or suspend) taken against a site.',
      SITE,
    ),
    fencingFailuresTotal: counter(
      'hanasr_fencing_failures_total',
      'Stops of a site (fence, step-down, local restart) that failed or timed out, even after a kill.',
      SITE,
    ),
    leaderEpoch: gauge(
      'hanasr_leader_epoch',
      'Current primary term of the cluster (the fencing token).',
      CLUSTER,
    ),
    leaseRenewalDurationSeconds: histogram(
      'hanasr_lease_renewal_duration_seconds',
      'Duration of one etcd lease renewal by the agent of a site.',
      SITE,
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    ),
    leaseRenewalFailuresTotal: counter(
      'hanasr_lease_renewal_failures_total',
      'etcd lease renewals by the agent of a site that failed.',
      SITE,
    ),
    agentLastReportTimestampSeconds: gauge(
      'hanasr_agent_last_report_timestamp_seconds',
      'Unix time of the last report published by the agent of a site.',
      SITE,
    ),
    replicationLagKnown: gauge(
      'hanasr_replication_lag_known',
      'Whether the source site knows the replication lag of this secondary (1) or not (0: no SQL lag source; no automatic takeover rests on it).',
      SITE,
    ),
    clockSkewSeconds: gauge(
      'hanasr_clock_skew_seconds',
      "The peer site's clock minus this site's clock, as this site's agent last measured it.",
      [...SITE, 'peer'],
    ),
    clockSkewUncertaintySeconds: gauge(
      'hanasr_clock_skew_uncertainty_seconds',
      'Half the round trip of the last clock skew measurement: the true offset lies within plus or minus this.',
      [...SITE, 'peer'],
    ),
    clockSkewMaxSeconds: gauge(
      'hanasr_clock_skew_max_seconds',
      'spec.clock.maxSkewSeconds: beyond it automatic takeover is refused.',
      SITE,
    ),
    storeWriteFailuresTotal: counter(
      'hanasr_store_write_failures_total',
      'Failed writes of the agent report, the SOK/SFAIL records or the last-primary timestamp to the coordination store.',
      [...SITE, 'write'],
    ),
    watchdogArmed: gauge(
      'hanasr_watchdog_armed',
      "Whether the site's watchdog is armed (1: the node resets unless the agent keeps feeding it) or not (0).",
      SITE,
    ),
    watchdogUsable: gauge(
      'hanasr_watchdog_usable',
      "Whether the site's watchdog is usable under spec.fencing (present, timeout within the lease minus the margin).",
      SITE,
    ),
    watchdogTimeoutSeconds: gauge(
      'hanasr_watchdog_timeout_seconds',
      "The site's watchdog device timeout, as read from sysfs.",
      SITE,
    ),
    nodeFencesTotal: counter(
      'hanasr_node_fences_total',
      "Fence agent operations by this site's agent on another site's node, by the fenced site (peer), action (off, on) and outcome (confirmed, failed, timed-out).",
      [...SITE, 'peer', 'action', 'outcome'],
    ),
    reconcileDurationSeconds: histogram(
      'hanasr_reconcile_duration_seconds',
      'Duration of one reconcile of a HanaSystemReplication by the operator.',
      CLUSTER,
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ),
    reconcileErrorsTotal: counter(
      'hanasr_reconcile_errors_total',
      'Reconciles of a HanaSystemReplication that ended in an error.',
      CLUSTER,
    ),
    backupHealthy: gauge(
      'hanasr_backup_healthy',
      'BackupHealthy as a number: 1 True, 0 False or Unknown.',
      CLUSTER,
    ),
    backupTooOld: gauge(
      'hanasr_backup_too_old',
      'A database has no successful data backup since the last scheduled time minus the alert margin.',
      CLUSTER,
    ),
    backupNotReadable: gauge(
      'hanasr_backup_not_readable',
      "A newest successful data backup is not confirmed readable from the current primary's destination.",
      CLUSTER,
    ),
    backupLogStalled: gauge(
      'hanasr_backup_log_stalled',
      'Log backups are off, or a database has no log backup newer than spec.backup.logBackup.maxAgeSeconds (none at all since its first data backup, or no data backup), or its log segments have waited longer than that for a log backup.',
      CLUSTER,
    ),
    backupLastSuccessTimestampSeconds: gauge(
      'hanasr_backup_last_success_timestamp_seconds',
      'Unix time of the start of the newest successful complete data backup of the database.',
      [...CLUSTER, 'database'],
    ),
    backupLastSuccessAgeSeconds: gauge(
      'hanasr_backup_last_success_age_seconds',
      'Age of the newest successful complete data backup of the database when the operator last looked.',
      [...CLUSTER, 'database'],
    ),
    backupLogLastSuccessTimestampSeconds: gauge(
      'hanasr_backup_log_last_success_timestamp_seconds',
      'Unix time of the end of the newest successful log backup of the database.',
      [...CLUSTER, 'database'],
    ),
    backupLogSegmentsWaiting: gauge(
      'hanasr_backup_log_segments_waiting',
      'Log segments of the database waiting for a log backup (M_LOG_SEGMENTS states Closed and Truncated) on the primary.',
      [...CLUSTER, 'database'],
    ),
    backupLogBytesWaiting: gauge(
      'hanasr_backup_log_waiting_bytes',
      'Size in bytes of the log segments of the database waiting for a log backup on the primary.',
      [...CLUSTER, 'database'],
    ),
    backupReadable: gauge(
      'hanasr_backup_readable',
      "1 when the newest successful data backup of the database is readable from the primary's destination.",
      [...CLUSTER, 'database'],
    ),
    regionActiveStoreReachable: gauge(
      'hanasr_region_active_store_reachable',
      "Agent outside the active region: 1 when its last read of the active region's store answered in time, 0 when not.",
      [...SITE, 'region'],
    ),
    regionDrLinkActive: gauge(
      'hanasr_region_dr_link_active',
      'Agent of the active region (source): 1 when its site reports an ACTIVE replication link into the DR site, 0 when not.',
      [...SITE, 'source'],
    ),
    buildInfo: gauge('hanasr_build_info', 'Build information of the running hanasr; the value is always 1.', [
      'version',
      'node_version',
    ]),
  };
  metrics.buildInfo.set({ version: options.version ?? packageVersion(), node_version: process.version }, 1);
  return metrics;
}

/** Sets the state set hanasr_replication_status: 1 for `status`, 0 for the other values. */
export function setReplicationStatus(
  metrics: HanasrMetrics,
  labels: SiteLabelValues,
  status: ReplicationStatusValue,
): void {
  for (const value of replicationStatusValues) {
    metrics.replicationStatus.set({ ...labels, status: value }, value === status ? 1 : 0);
  }
}

/** Sets the state set hanasr_site_role: 1 for `role`, 0 for the other roles. */
export function setSiteRole(metrics: HanasrMetrics, labels: SiteLabelValues, role: RoleValue): void {
  for (const value of roleValues) metrics.siteRole.set({ ...labels, role: value }, value === role ? 1 : 0);
}

/**
 * Starts the counters of a cluster at 0 so that the first increment is visible to increase()
 * and rate() (a series that appears at 1 looks like no change).
 */
export function initClusterCounters(
  metrics: HanasrMetrics,
  labels: ClusterLabelValues,
  sites: readonly string[],
): void {
  metrics.reconcileErrorsTotal.inc(labels, 0);
  for (const site of sites) {
    for (const outcome of takeoverOutcomeValues) metrics.takeoversTotal.inc({ ...labels, site, outcome }, 0);
    metrics.fencingActionsTotal.inc({ ...labels, site }, 0);
  }
}

/** Starts the counters an agent exports for its own site at 0. */
export function initSiteCounters(metrics: HanasrMetrics, labels: SiteLabelValues): void {
  metrics.probeFailuresTotal.inc(labels, 0);
  metrics.fencingFailuresTotal.inc(labels, 0);
  metrics.leaseRenewalFailuresTotal.inc(labels, 0);
}

/** Removes every series of a deleted cluster (or only those of one site, with `site`). */
export async function forgetCluster(
  metrics: HanasrMetrics,
  labels: ClusterLabelValues & { readonly site?: string },
): Promise<void> {
  const wanted = Object.entries(labels) as [string, string][];
  for (const [key, metric] of Object.entries(metrics)) {
    if (key === 'registry' || key === 'buildInfo') continue;
    const m = metric as Gauge<string>;
    const seen = new Set<string>();
    for (const { labels: series } of (await m.get()).values) {
      const own = Object.fromEntries(Object.entries(series).filter(([name]) => name !== 'le'));
      const id = JSON.stringify(own);
      if (seen.has(id) || !wanted.every(([name, value]) => own[name] === value)) continue;
      seen.add(id);
      m.remove(own as Record<string, string>);
    }
  }
}

function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'hanasr' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here: look one folder up
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

/** Every metric name of the catalogue (as exposed: histograms add _bucket, _sum, _count). */
export const METRIC_NAMES = [
  'hanasr_replication_lag_seconds',
  'hanasr_replication_unshipped_bytes',
  'hanasr_replication_status',
  'hanasr_replication_in_sync',
  'hanasr_site_role',
  'hanasr_primary_sites',
  'hanasr_landscape_status',
  'hanasr_probe_duration_seconds',
  'hanasr_probe_failures_total',
  'hanasr_takeovers_total',
  'hanasr_last_takeover_timestamp_seconds',
  'hanasr_fencing_actions_total',
  'hanasr_fencing_failures_total',
  'hanasr_leader_epoch',
  'hanasr_lease_renewal_duration_seconds',
  'hanasr_lease_renewal_failures_total',
  'hanasr_agent_last_report_timestamp_seconds',
  'hanasr_replication_lag_known',
  'hanasr_clock_skew_seconds',
  'hanasr_clock_skew_uncertainty_seconds',
  'hanasr_clock_skew_max_seconds',
  'hanasr_store_write_failures_total',
  'hanasr_watchdog_armed',
  'hanasr_watchdog_usable',
  'hanasr_watchdog_timeout_seconds',
  'hanasr_node_fences_total',
  'hanasr_reconcile_duration_seconds',
  'hanasr_reconcile_errors_total',
  'hanasr_backup_healthy',
  'hanasr_backup_too_old',
  'hanasr_backup_not_readable',
  'hanasr_backup_log_stalled',
  'hanasr_backup_last_success_timestamp_seconds',
  'hanasr_backup_last_success_age_seconds',
  'hanasr_backup_log_last_success_timestamp_seconds',
  'hanasr_backup_log_segments_waiting',
  'hanasr_backup_log_waiting_bytes',
  'hanasr_backup_readable',
  'hanasr_region_active_store_reachable',
  'hanasr_region_dr_link_active',
  'hanasr_build_info',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];
