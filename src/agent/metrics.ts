/**
 * The agent's metrics: what one site's agent learns each cycle, turned into the hanasr_ series of
 * the catalogue (src/observability/metrics.ts). Probe duration and failures, lease renewal latency
 * and failures, last report time, leader epoch, the site's role and landscape status; for every
 * link this site is the source of, the real replication lag (shipping delay and unshipped bytes
 * from the monitoring views, as HanaHealth carries them), status and in-sync flag of the
 * secondary; fencing actions and takeovers from the agent's events.
 */
import type { AgentEvent, StoreWrite } from './agent.js';
import type { HanaSystemReplicationSpec } from '../api/spec.js';
import type { SkewEstimate } from '../domain/clock-skew.js';
import { newestRecord, type RegionView } from '../domain/region.js';
import type { FenceRecord, HanaHealth, WatchdogReport } from '../domain/types.js';
import {
  initSiteCounters,
  replicationStatusValues,
  setReplicationStatus,
  setSiteRole,
  type HanasrMetrics,
  type ReplicationStatusValue,
  type SiteLabelValues,
} from '../observability/metrics.js';

/** The hooks the Agent calls (all optional through AgentOptions.metrics). */
export interface AgentMetricsSink {
  /** After each probe of the local site (a timed-out probe is an unknown health). */
  probed(health: HanaHealth, durationSeconds: number): void;
  /** After each explicit lease renewal; `error` when it failed. */
  leaseRenewed(durationSeconds: number, error?: unknown): void;
  /** After the report was published, with the epoch the agent believes in. */
  reported(at: number, epoch: number): void;
  /** Every agent event (decisions, action results). */
  event(event: AgentEvent): void;
  /** A new clock skew measurement to a peer. */
  clockSkew?(peer: string, estimate: SkewEstimate): void;
  /** A write of a report, SOK/SFAIL records or the last-primary timestamp failed. */
  storeWriteFailed?(what: StoreWrite): void;
  /** The spec's clock skew bound in force (each cycle). */
  clockSkewBound?(maxSkewSeconds: number): void;
  /** A fence of another site's node (off or on) ended. */
  nodeFenced?(record: FenceRecord): void;
  /** The watchdog as the report carries it (each cycle). */
  watchdog?(report: WatchdogReport): void;
  /** The region view of the cycle (undefined: one region, or no region link), with the probe. */
  region?(spec: HanaSystemReplicationSpec, view: RegionView | undefined, health: HanaHealth): void;
}

export interface AgentMetricsOptions {
  readonly metrics: HanasrMetrics;
  /** Kubernetes namespace of the HanaSystemReplication ("" for agents outside Kubernetes). */
  readonly namespace: string;
  /** The HanaSystemReplication name. */
  readonly cluster: string;
  readonly site: string;
}

/**
 * The agent's coordination key is `<namespace>.<name>` (src/operator/controller.ts): split it
 * into the metric labels. A key without a dot is a cluster outside Kubernetes.
 */
export function clusterLabels(key: string): { namespace: string; cluster: string } {
  const dot = key.indexOf('.');
  return dot < 0
    ? { namespace: '', cluster: key }
    : { namespace: key.slice(0, dot), cluster: key.slice(dot + 1) };
}

export class AgentMetrics implements AgentMetricsSink {
  private readonly own: SiteLabelValues;
  private readonly secondaries = new Set<string>();
  /** The region series this agent exports now (to remove them when they no longer apply). */
  private reachableRegion: string | null = null;
  private readonly drSites = new Set<string>();

  constructor(private readonly options: AgentMetricsOptions) {
    this.own = { namespace: options.namespace, cluster: options.cluster, site: options.site };
    initSiteCounters(options.metrics, this.own);
    const { metrics } = options;
    for (const outcome of ['succeeded', 'failed'] as const)
      metrics.takeoversTotal.inc({ ...this.own, outcome }, 0);
    metrics.fencingActionsTotal.inc(this.own, 0);
    for (const write of ['report', 'sync', 'last-primary'] as const)
      metrics.storeWriteFailuresTotal.inc({ ...this.own, write }, 0);
  }

  private secondary(site: string): SiteLabelValues {
    return { namespace: this.options.namespace, cluster: this.options.cluster, site };
  }

  probed(health: HanaHealth, durationSeconds: number): void {
    const m = this.options.metrics;
    m.probeDurationSeconds.observe(this.own, durationSeconds);
    if (!health.probeOk) {
      m.probeFailuresTotal.inc(this.own);
      return; // a failed probe says nothing about roles or links: keep the last known values
    }
    setSiteRole(m, this.own, health.srRole);
    if (health.landscapeStatus !== null) m.landscapeStatus.set(this.own, health.landscapeStatus);
    const seen = new Set<string>();
    for (const link of health.replication) {
      seen.add(link.secondary);
      const labels = this.secondary(link.secondary);
      if (link.lagSeconds !== null) m.replicationLagSeconds.set(labels, Math.max(0, link.lagSeconds));
      else m.replicationLagSeconds.remove(labels);
      m.replicationLagKnown.set(labels, link.lagSeconds !== null ? 1 : 0);
      if (link.lagBytes !== null) m.replicationUnshippedBytes.set(labels, Math.max(0, link.lagBytes));
      else m.replicationUnshippedBytes.remove(labels);
      const status: ReplicationStatusValue = (replicationStatusValues as readonly string[]).includes(
        link.status,
      )
        ? link.status
        : 'UNKNOWN';
      setReplicationStatus(m, labels, status);
      m.replicationInSync.set(labels, link.inSync ? 1 : 0);
    }
    // A link that disappeared (takeover, unregister): its series go, so no stale lag is alerted on.
    for (const site of this.secondaries) {
      if (seen.has(site)) continue;
      this.forgetLink(site);
    }
    this.secondaries.clear();
    for (const site of seen) this.secondaries.add(site);
  }

  private forgetLink(site: string): void {
    const m = this.options.metrics;
    const labels = this.secondary(site);
    m.replicationLagSeconds.remove(labels);
    m.replicationUnshippedBytes.remove(labels);
    m.replicationInSync.remove(labels);
    m.replicationLagKnown.remove(labels);
    for (const status of replicationStatusValues) m.replicationStatus.remove({ ...labels, status });
  }

  /**
   * The two region signals of docs/dr.md. Outside the active region: can this agent read the
   * active region's store (no record naming an active region counts as not read). Inside it: for
   * each site of the other region, does this site's probe report an ACTIVE link into it (a failed
   * probe counts as no). The alert rules take the max over the agents, so one agent that sees the
   * store or the link is enough, and silence of all of them alerts.
   */
  region(spec: HanaSystemReplicationSpec, view: RegionView | undefined, health: HanaHealth): void {
    const m = this.options.metrics;
    const active = view === undefined ? undefined : (newestRecord(view)?.active ?? null);
    const inActive = view !== undefined && active === view.region;
    const reachable =
      view === undefined || inActive ? null : view.peers.some((p) => p.region === active && p.reachable);
    if (this.reachableRegion !== null && (reachable === null || this.reachableRegion !== view?.region)) {
      m.regionActiveStoreReachable.remove({ ...this.own, region: this.reachableRegion });
      this.reachableRegion = null;
    }
    if (reachable !== null && view !== undefined) {
      m.regionActiveStoreReachable.set({ ...this.own, region: view.region }, reachable ? 1 : 0);
      this.reachableRegion = view.region;
    }
    const drSites = inActive
      ? spec.sites.filter((s) => s.region !== undefined && s.region !== view.region).map((s) => s.name)
      : [];
    for (const site of this.drSites) {
      if (!drSites.includes(site))
        m.regionDrLinkActive.remove({ ...this.secondary(site), source: this.own.site });
    }
    this.drSites.clear();
    for (const site of drSites) {
      const up =
        health.probeOk && health.replication.some((l) => l.secondary === site && l.status === 'ACTIVE');
      m.regionDrLinkActive.set({ ...this.secondary(site), source: this.own.site }, up ? 1 : 0);
      this.drSites.add(site);
    }
  }

  clockSkew(peer: string, estimate: SkewEstimate): void {
    const m = this.options.metrics;
    m.clockSkewSeconds.set({ ...this.own, peer }, estimate.offsetMs / 1000);
    m.clockSkewUncertaintySeconds.set({ ...this.own, peer }, estimate.uncertaintyMs / 1000);
  }

  storeWriteFailed(what: StoreWrite): void {
    this.options.metrics.storeWriteFailuresTotal.inc({ ...this.own, write: what });
  }

  /** The spec's bound, for the ClockSkew alert rule. */
  clockSkewBound(maxSkewSeconds: number): void {
    this.options.metrics.clockSkewMaxSeconds.set(this.own, maxSkewSeconds);
  }

  watchdog(report: WatchdogReport): void {
    const m = this.options.metrics;
    m.watchdogArmed.set(this.own, report.state === 'armed' ? 1 : 0);
    m.watchdogUsable.set(this.own, report.usable ? 1 : 0);
    if (report.timeoutSeconds !== undefined) m.watchdogTimeoutSeconds.set(this.own, report.timeoutSeconds);
    else m.watchdogTimeoutSeconds.remove(this.own);
  }

  nodeFenced(record: FenceRecord): void {
    this.options.metrics.nodeFencesTotal.inc({
      ...this.own,
      peer: record.site,
      action: record.action,
      outcome: record.result,
    });
  }

  leaseRenewed(durationSeconds: number, error?: unknown): void {
    const m = this.options.metrics;
    m.leaseRenewalDurationSeconds.observe(this.own, durationSeconds);
    if (error !== undefined) m.leaseRenewalFailuresTotal.inc(this.own);
  }

  reported(at: number, epoch: number): void {
    const m = this.options.metrics;
    m.agentLastReportTimestampSeconds.set(this.own, at / 1000);
    m.leaderEpoch.set({ namespace: this.options.namespace, cluster: this.options.cluster }, epoch);
  }

  event(e: AgentEvent): void {
    const m = this.options.metrics;
    if (e.event === 'action' && e.action === 'fence') m.fencingActionsTotal.inc(this.own);
    // A stop that failed even with the kill (the agent retries it on its next cycle).
    if (e.event === 'action-failed' && e.reason === 'fence_failed') m.fencingFailuresTotal.inc(this.own);
    if (e.action === 'takeover') {
      if (e.event === 'action') m.takeoversTotal.inc({ ...this.own, outcome: 'succeeded' });
      // A failed handshake falls back to a plain takeover: only the final failure counts.
      if (e.event === 'action-failed' && e.reason !== 'handshake_failed') {
        m.takeoversTotal.inc({ ...this.own, outcome: 'failed' });
      }
    }
  }
}
