// Why this file is long: reconcile reads, computes and writes in one place; to be split into pure compute and apply after the parallel branches land (issue 15).
/**
 * The operator's reconcile loop for HanaSystemReplication resources. Level-triggered and
 * idempotent: every run re-reads the resource and the coordination store, then
 * - on deletion, deletes the cluster's coordination keys and removes the finalizer;
 * - adds the finalizer;
 * - publishes the validated spec into the coordination store, so agents follow maintenance and
 *   settings even while no operator runs;
 * - turns the planned-takeover / fence / register annotations into intents at the current epoch
 *   (or refuses them), acknowledges them with an Event and removes the annotation; a planned
 *   takeover with `hanasr.io/force-takeover: "true"` skips the in-sync check (intent force);
 * - writes the status (merge patch on /status carrying the resourceVersion it was built from,
 *   rebuilt on a conflict) from buildStatus plus failed takeovers and refusals (outcomes.ts), and
 *   records its Events;
 * - keeps the `<name>-rw` Service selecting the pods of the site that holds the leader key
 *   (none while the key is vacant), `<name>-ro` selecting the secondaries in
 *   logreplay_readaccess, and labels the site pods `hanasr.io/role=primary|secondary`;
 * - exports the per-cluster metrics built from the agents' reports.
 * Triggers: the informer (restarted when it stops), the coordination store's watch on leader keys
 * and reports (store-watch.ts, where the store offers one), a periodic resync spread over its
 * period (resync.ts; three times longer while the store watch is open), and retries with backoff
 * from the work queue, which runs a bounded number of reconciles at once.
 */
import { inSyncFromStore } from '../domain/sync-trust.js';
import { randomUUID } from 'node:crypto';
import type { KubeConfig, V1Service } from '@kubernetes/client-node';
import {
  ANNOTATION_DISASTER_TAKEOVER,
  ANNOTATION_FENCE,
  ANNOTATION_FENCE_RELEASE,
  ANNOTATION_FORCE_TAKEOVER,
  ANNOTATION_PLANNED_TAKEOVER,
  ANNOTATION_REGISTER,
  ANNOTATION_BACKUP_NOW,
  clusterKey,
  FINALIZER,
  KIND,
  type HanaSystemReplicationStatus,
} from '../api/resource.js';
import { SpecValidationError, parseSpec, type HanaSystemReplicationSpec } from '../api/spec.js';
import { withTimeout, type Clock } from '../clock.js';
import type { ClusterState, Coordination, RegionStore } from '../coordination/port.js';
import type { RegionPeer } from '../agent/region-link.js';
import { handleDisasterAnnotation } from './disaster.js';
import type { Intent } from '../domain/types.js';
import {
  KubeClient,
  LABEL_CLUSTER,
  LABEL_MANAGED_BY,
  LABEL_ROLE,
  LABEL_SITE,
  MANAGER,
  isConflict,
} from '../kube/client.js';
import { HsrInformer } from '../kube/informer.js';
import type { Redactor } from '../observability/log.js';
import { forgetCluster, type HanasrMetrics } from '../observability/metrics.js';
import {
  DEFAULT_TAKEOVER_TIMEOUT_MS,
  desiredRole,
  detectFenceFailures,
  detectFencingEvents,
  detectTakeoverFailures,
  exportClusterMetrics,
  withFailures,
  withRefusal,
  withTakeoverStory,
  type Refusal,
} from './outcomes.js';
import { WorkQueue } from './queue.js';
import { SpreadResync } from './resync.js';
import { StoreTrigger } from './store-watch.js';
import { buildStatus, rfc3339, statusMergePatch, type OperatorEvent } from './status.js';
import { requestBackup } from './backup-request.js';
import type { LagAlertState, LagAlertTransition, LagEvaluation } from './alerts.js';

type Obj = Record<string, unknown>;

export type LogFn = (
  level: 'info' | 'warn' | 'error',
  message: string,
  fields: Record<string, unknown>,
) => void;

export interface ControllerOptions {
  readonly kubeConfig: KubeConfig;
  readonly coordination: Coordination;
  readonly clock: Clock;
  /** Watch one namespace; all when absent. */
  readonly namespace?: string;
  /**
   * Every resource is reconciled at least this often (default 10 s), each at its own phase of the
   * period (src/operator/resync.ts), not all at once.
   */
  readonly resyncIntervalMs?: number;
  /** The resync period while the store watch is open (default 3 × resyncIntervalMs). */
  readonly watchedResyncIntervalMs?: number;
  /** Most reconciles running at once (default 8); the rest wait in line (src/operator/queue.ts). */
  readonly maxConcurrentReconciles?: number;
  /** Deadline of a coordination call (default 2 s). */
  readonly coordinationTimeoutMs?: number;
  /** Deadline of a Kubernetes call (default 5 s). */
  readonly kubeTimeoutMs?: number;
  /** Work queue backoff after a failed reconcile (default 200 ms, doubled up to 30 s). */
  readonly retryBaseDelayMs?: number;
  readonly retryMaxDelayMs?: number;
  /** Informer restart backoff (default 100 ms). */
  readonly informerRestartDelayMs?: number;
  /** The coordination store's cluster name for a resource (default `namespace/name`). */
  readonly clusterKey?: (namespace: string, name: string) => string;
  readonly metrics?: HanasrMetrics;
  readonly log?: LogFn;
  /** Reported as the Events' reportingInstance (the operator pod name). */
  readonly instance?: string;
  /** A takeover still in progress after this long is reported as failed (default 120 s). */
  readonly takeoverTimeoutMs?: number;
  /** Cuts registered secrets (the webhook token) out of the status and the Events it writes. */
  readonly redactor?: Redactor;
  /** The other regions' stores (docs/dr.md): a disaster takeover needs to know they are lost. */
  readonly regionPeers?: readonly RegionPeer[];
  /** Receives the lag alerts that fire or resolve (the webhook, src/notify/webhook.ts). */
  readonly lagNotifier?: {
    notifyLag(
      cluster: { readonly namespace: string; readonly cluster: string },
      transitions: readonly LagAlertTransition[],
      thresholds?: { readonly warning?: number; readonly critical?: number },
    ): Promise<unknown>;
  };
}

/** The coordination store's name for a resource (see src/api/resource.ts). */
export const defaultClusterKey = clusterKey;

export function rwServiceName(name: string): string {
  return `${name}-rw`;
}

/** The read-only Service of a logreplay_readaccess cluster: the secondaries. */
export function roServiceName(name: string): string {
  return `${name}-ro`;
}

/** Rebuilds after a status conflict at most this many times per reconcile, then the queue retries. */
const STATUS_ATTEMPTS = 5;

function generationOf(obj: Obj): number {
  const g = metaOf(obj)['generation'];
  return typeof g === 'number' ? g : 0;
}

/** The SQL ports of a HANA instance: SYSTEMDB 3<nr>13 and the first tenant 3<nr>15. */
export function hanaPorts(instanceNumber: string): { name: string; port: number }[] {
  const nr = Number(instanceNumber);
  return [
    { name: 'systemdb-sql', port: 30013 + nr * 100 },
    { name: 'tenant-sql', port: 30015 + nr * 100 },
  ];
}

const INTENT_ANNOTATIONS = [
  { annotation: ANNOTATION_PLANNED_TAKEOVER, kind: 'planned-takeover', accepted: 'TakeoverRequested' },
  { annotation: ANNOTATION_FENCE, kind: 'fence', accepted: 'FenceRequested' },
  { annotation: ANNOTATION_REGISTER, kind: 'register', accepted: 'RegisterRequested' },
] as const;

function metaOf(obj: Obj): Obj {
  const m = obj['metadata'];
  return typeof m === 'object' && m !== null ? (m as Obj) : {};
}

function stringRecord(v: unknown): Record<string, string> {
  if (typeof v !== 'object' || v === null) return {};
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

function intentSite(intent: Intent): string | null {
  return intent.kind === 'planned-takeover' || intent.kind === 'disaster-takeover'
    ? intent.target
    : intent.kind === 'backup'
      ? null
      : intent.site;
}

export class HsrController {
  readonly client: KubeClient;
  readonly queue: WorkQueue;
  readonly informer: HsrInformer;
  /** Reconciles on leader-key and report changes in the store (src/operator/store-watch.ts). */
  readonly storeTrigger: StoreTrigger;
  private readonly clusterKey: (namespace: string, name: string) => string;
  private readonly resync: SpreadResync;
  private running = false;
  /** Completed reconciles (successful or not), for tests and health. */
  reconciles = 0;
  /** When the last reconcile finished without error (ms), for /healthz. */
  lastSuccessAt: number | null = null;
  /** When the periodic resync last ran (ms): the loop's heartbeat, for /healthz. */
  lastResyncAt: number | null = null;
  /** Status writes answered 409 and rebuilt. */
  statusConflicts = 0;
  /**
   * The resourceVersion each resource got from this operator's last status write. The informer's
   * update carrying exactly that version is the write itself (the patch was conditional on the
   * version it was built from, so nothing else changed in between): it queues no reconcile.
   */
  private readonly ownStatusWrites = new Map<string, string>();
  /** Informer updates dropped as this operator's own status write (tests, figures). */
  ownStatusWritesIgnored = 0;
  /** Takeover failures already reported (an Event each, once). */
  private readonly reportedFailures = new Set<string>();
  /** The lag alert evaluator's state per cluster (rebuilt from the condition after a restart). */
  private readonly lagAlerts = new Map<string, LagAlertState>();

  constructor(private readonly options: ControllerOptions) {
    this.client = new KubeClient(options.kubeConfig, {
      timeoutMs: options.kubeTimeoutMs ?? 5000,
      ...(options.instance !== undefined ? { instance: options.instance } : {}),
    });
    this.clusterKey = options.clusterKey ?? defaultClusterKey;
    this.queue = new WorkQueue(options.clock, (key) => this.reconcile(key), {
      baseDelayMs: options.retryBaseDelayMs ?? 200,
      maxDelayMs: options.retryMaxDelayMs ?? 30_000,
      concurrency: options.maxConcurrentReconciles ?? 8,
      onError: (key, err, retryInMs) => {
        this.log('warn', 'reconcile failed', { key, error: String(err), retryInMs });
        const [namespace = '', cluster = ''] = key.split('/');
        options.metrics?.reconcileErrorsTotal.inc({ namespace, cluster });
      },
    });
    this.informer = new HsrInformer(options.kubeConfig, this.client, options.clock, {
      ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
      ...(options.informerRestartDelayMs !== undefined
        ? { restartDelayMs: options.informerRestartDelayMs }
        : {}),
      onChange: (key, obj, kind) => {
        const own = this.ownStatusWrites.get(key);
        if (own !== undefined && (kind !== 'update' || obj.metadata?.resourceVersion === own))
          this.ownStatusWrites.delete(key);
        if (kind === 'update' && own !== undefined && obj.metadata?.resourceVersion === own) {
          this.ownStatusWritesIgnored++;
          return;
        }
        this.queue.add(key);
      },
      onError: (err, restartInMs) =>
        this.log('warn', 'informer stopped, restarting', { error: String(err), restartInMs }),
      onStart: () => this.resyncAll(),
    });
    this.storeTrigger = new StoreTrigger({
      coordination: options.coordination,
      clock: options.clock,
      keys: () => this.informer.list().map((o) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`),
      clusterOf: (key) => {
        const slash = key.indexOf('/');
        return this.clusterKey(key.slice(0, slash), key.slice(slash + 1));
      },
      enqueue: (key) => this.queue.add(key),
      log: (level, message, fields) => this.log(level, message, fields),
      timeoutMs: options.coordinationTimeoutMs ?? 2000,
    });
    this.resync = new SpreadResync({
      clock: options.clock,
      keys: () => this.informer.list().map((o) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`),
      enqueue: (key) => this.queue.add(key),
      periodMs: () => this.resyncPeriodMs,
      tickMs: Math.min(1000, Math.max(10, (options.resyncIntervalMs ?? 10_000) / 20)),
      onTick: (now) => (this.lastResyncAt = now),
    });
  }

  /** The resync period now: longer while the store watch queues every change it sees. */
  get resyncPeriodMs(): number {
    const base = this.options.resyncIntervalMs ?? 10_000;
    return this.storeTrigger.open ? (this.options.watchedResyncIntervalMs ?? 3 * base) : base;
  }

  private log(level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown>): void {
    this.options.log?.(level, message, fields);
  }

  /** Starts the informer and the periodic resync. */
  async start(): Promise<void> {
    this.running = true;
    this.lastResyncAt = this.options.clock.now();
    await this.informer.start();
    this.storeTrigger.start();
    this.resync.start();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.resync.stop();
    this.storeTrigger.stop();
    await this.informer.stop();
    await this.queue.stop();
  }

  private resyncAll(): void {
    for (const obj of this.informer.list()) {
      this.queue.add(`${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`);
    }
  }

  private async readState(cluster: string): Promise<{ state: ClusterState | null; error?: string }> {
    try {
      const state = await withTimeout(
        this.options.clock,
        this.options.coordinationTimeoutMs ?? 2000,
        'coordination read',
        () => this.options.coordination.read(cluster),
      );
      return { state };
    } catch (err) {
      return { state: null, error: err instanceof Error ? err.message : String(err) };
    }
  }

  private coordinationCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withTimeout(this.options.clock, this.options.coordinationTimeoutMs ?? 2000, what, fn);
  }

  /** One reconcile of `namespace/name`. Throws to be retried with backoff. */
  async reconcile(key: string): Promise<void> {
    const started = this.options.clock.now();
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    try {
      await this.reconcileOnce(namespace, name);
      this.lastSuccessAt = this.options.clock.now();
    } finally {
      this.reconciles++;
      this.options.metrics?.reconcileDurationSeconds.observe(
        { namespace, cluster: name },
        (this.options.clock.now() - started) / 1000,
      );
    }
  }

  private async reconcileOnce(namespace: string, name: string): Promise<void> {
    let obj = await this.client.getHsr(namespace, name);
    if (obj === null) return;
    const cluster = this.clusterKey(namespace, name);
    const meta = metaOf(obj);
    const finalizers = Array.isArray(meta['finalizers'])
      ? meta['finalizers'].filter((f): f is string => typeof f === 'string')
      : [];

    if (meta['deletionTimestamp'] !== undefined && meta['deletionTimestamp'] !== null) {
      if (!finalizers.includes(FINALIZER)) return;
      await this.coordinationCall('coordination deleteCluster', () =>
        this.options.coordination.deleteCluster(cluster),
      );
      await this.client.patchHsr(namespace, name, {
        metadata: {
          resourceVersion: meta['resourceVersion'],
          finalizers: finalizers.filter((f) => f !== FINALIZER),
        },
      });
      if (this.options.metrics !== undefined) {
        await forgetCluster(this.options.metrics, { namespace, cluster: name });
      }
      this.lagAlerts.delete(cluster);
      this.log('info', 'coordination keys deleted, finalizer removed', { namespace, name, cluster });
      return;
    }

    if (!finalizers.includes(FINALIZER)) {
      obj = await this.client.patchHsr(namespace, name, {
        metadata: { resourceVersion: meta['resourceVersion'], finalizers: [...finalizers, FINALIZER] },
      });
    }

    const now = this.options.clock.now();
    const generation = generationOf(obj);

    let spec: HanaSystemReplicationSpec;
    try {
      spec = parseSpec(obj['spec'], 'spec');
    } catch (err) {
      if (!(err instanceof SpecValidationError)) throw err;
      const previous = (obj['status'] ?? undefined) as HanaSystemReplicationStatus | undefined;
      await this.writeInvalidSpec(obj, namespace, name, generation, previous, err, now);
      return;
    }

    let { state, error } = await this.readState(cluster);
    // Agents follow the published spec (maintenance, thresholds) even while no operator runs.
    let publishError: unknown;
    if (state === null || JSON.stringify(state.spec) !== JSON.stringify(spec)) {
      try {
        await this.coordinationCall('coordination publishSpec', () =>
          this.options.coordination.publishSpec(cluster, spec),
        );
        this.log('info', 'spec published', { namespace, name, cluster, generation });
      } catch (err) {
        publishError = err;
      }
    }

    let refusals: Refusal[] = [];
    let plannedTarget: string | undefined;
    if (state !== null) {
      const handled = await this.handleAnnotations(obj, namespace, name, spec, state, cluster, now);
      obj = handled.obj;
      refusals = handled.refusals;
      plannedTarget = handled.plannedTarget;
      if (handled.added) ({ state, error } = await this.readState(cluster));
    }

    const written = await this.writeStatus(
      obj,
      namespace,
      name,
      spec,
      state,
      error,
      refusals,
      cluster,
      now,
      plannedTarget,
    );
    if (written === null) return;
    obj = written.obj;
    if (written.lag !== undefined) {
      this.lagAlerts.set(cluster, written.lag.state);
      this.notifyLag(namespace, name, spec, written.lag.transitions);
    }
    for (const event of written.events) await this.record(obj, namespace, name, event, now);

    if (state !== null) {
      await this.ensureServices(obj, namespace, name, spec, state.leader?.site);
      await this.labelPods(namespace, name, state);
      if (this.options.metrics !== undefined) {
        exportClusterMetrics(
          this.options.metrics,
          { namespace, cluster: name },
          spec,
          state,
          written.status,
          written.previous,
        );
      }
    }
    if (publishError !== undefined) throw publishError;
  }

  /**
   * Builds and writes the status with a merge patch on /status that carries the resourceVersion
   * it was built from; on a conflict (409) it re-reads the resource and builds again. Returns the
   * written object and the Events of the build that was written, or null when the resource went.
   */
  private async writeStatus(
    initial: Obj,
    namespace: string,
    name: string,
    spec: HanaSystemReplicationSpec,
    state: ClusterState | null,
    error: string | undefined,
    refusals: readonly Refusal[],
    cluster: string,
    now: number,
    /** The target of a planned takeover this reconcile requested (it may already be done). */
    plannedTarget?: string,
  ): Promise<{
    obj: Obj;
    events: OperatorEvent[];
    status: HanaSystemReplicationStatus;
    previous: HanaSystemReplicationStatus | undefined;
    lag?: LagEvaluation;
  } | null> {
    let obj = initial;
    const generation = generationOf(obj);
    // Failed stops: an Event each, once (kept across status conflicts: they do not change the story).
    const fenceFailures =
      state === null
        ? []
        : [...detectFenceFailures(state), ...detectFencingEvents(state)].filter(
            (f) => !this.reportedFailures.has(`${cluster}|${f.key}`),
          );
    for (const f of fenceFailures) this.reportedFailures.add(`${cluster}|${f.key}`);
    const fenceEvents = fenceFailures.map((f) => f.event);
    for (let attempt = 1; ; attempt++) {
      const previous = (obj['status'] ?? undefined) as HanaSystemReplicationStatus | undefined;
      const result = buildStatus({
        spec,
        generation,
        state,
        ...(error !== undefined ? { stateError: error } : {}),
        previous,
        now,
        lagAlerts: this.lagAlerts.get(cluster) ?? null,
        ...(plannedTarget !== undefined ? { plannedTarget } : {}),
      });
      const lag = result.lagAlerts !== undefined ? { lag: result.lagAlerts } : {};
      let status = result.status;
      const events = [...result.events];
      if (state !== null) {
        const failures = detectTakeoverFailures({
          previous,
          next: status,
          state,
          now,
          timeoutMs: this.options.takeoverTimeoutMs ?? DEFAULT_TAKEOVER_TIMEOUT_MS,
        }).filter((f) => !this.reportedFailures.has(`${cluster}|${f.key}`));
        status = withFailures(status, failures);
        events.push(...failures.map((f) => f.event));
        status = withRefusal(status, refusals, previous, generation, now);
        events.splice(0, events.length, ...withTakeoverStory(events, previous, status));
        for (const f of failures) this.reportedFailures.add(`${cluster}|${f.key}`);
        events.push(...fenceEvents);
      }
      // Messages quote annotation values and agent texts: no registered secret goes out in them.
      const redactor = this.options.redactor;
      if (redactor !== undefined) status = mapStrings(status, (t) => redactor.text(t));
      if (JSON.stringify(status) === JSON.stringify(previous))
        return { obj, events, status, previous, ...lag };
      try {
        const patch = statusMergePatch(previous, status);
        obj = await this.client.patchHsrStatus(namespace, name, {
          metadata: { resourceVersion: metaOf(obj)['resourceVersion'] },
          ...patch,
        });
        const written = metaOf(obj)['resourceVersion'];
        if (typeof written === 'string') this.ownStatusWrites.set(`${namespace}/${name}`, written);
        return { obj, events, status, previous, ...lag };
      } catch (err) {
        if (!isConflict(err) || attempt >= STATUS_ATTEMPTS) throw err;
        this.statusConflicts++;
        this.log('info', 'status write conflict, rebuilding', { namespace, name, attempt });
        const fresh = await this.client.getHsr(namespace, name);
        if (fresh === null) return null;
        // A new generation means a new spec: let the queue run the whole reconcile again.
        if (generationOf(fresh) !== generation) throw err;
        obj = fresh;
      }
    }
  }

  /** Labels each site's pods `hanasr.io/role=primary|secondary` after the store's leader key. */
  private async labelPods(namespace: string, name: string, state: ClusterState): Promise<void> {
    const pods = await this.client.listPods(namespace, `${LABEL_CLUSTER}=${name}`);
    for (const pod of pods) {
      const labels = pod.metadata?.labels ?? {};
      const site = labels[LABEL_SITE];
      const podName = pod.metadata?.name;
      if (site === undefined || podName === undefined) continue;
      const role = desiredRole(site, state);
      if ((labels[LABEL_ROLE] ?? null) === role) continue;
      await this.client.patchPod(namespace, podName, { metadata: { labels: { [LABEL_ROLE]: role } } });
      this.log('info', 'pod role labelled', { namespace, pod: podName, site, role });
    }
  }

  /** Hands fired/resolved lag alerts to the notifier without holding up the reconcile. */
  private notifyLag(
    namespace: string,
    name: string,
    spec: HanaSystemReplicationSpec,
    transitions: readonly LagAlertTransition[],
  ): void {
    const notifier = this.options.lagNotifier;
    if (notifier === undefined || transitions.length === 0) return;
    const thresholds = { warning: spec.alerts.lagWarningSeconds, critical: spec.alerts.lagCriticalSeconds };
    notifier.notifyLag({ namespace, cluster: name }, transitions, thresholds).catch((err: unknown) => {
      this.log('warn', 'lag alert notification failed', { namespace, name, error: String(err) });
    });
  }

  private async record(
    obj: Obj,
    namespace: string,
    name: string,
    event: OperatorEvent,
    now: number,
  ): Promise<void> {
    const meta = metaOf(obj);
    const redactor = this.options.redactor;
    if (redactor !== undefined) event = { ...event, message: redactor.text(event.message) };
    try {
      await this.client.recordEvent({
        namespace,
        involved: {
          name,
          uid: typeof meta['uid'] === 'string' ? meta['uid'] : undefined,
          resourceVersion: typeof meta['resourceVersion'] === 'string' ? meta['resourceVersion'] : undefined,
        },
        ...event,
        now,
      });
    } catch (err) {
      // An Event is best effort: losing one must not block the status or the Service.
      this.log('warn', 'event not recorded', { namespace, name, reason: event.reason, error: String(err) });
    }
    this.log(event.type === 'Warning' ? 'warn' : 'info', event.reason, {
      namespace,
      name,
      message: event.message,
    });
  }

  /**
   * Planned-takeover, fence and register annotations become intents at the current epoch; each is
   * acknowledged (Event) and then removed. Returns the resource after the removal, whether an
   * intent was added and the refusals.
   */
  private async handleAnnotations(
    obj: Obj,
    namespace: string,
    name: string,
    spec: HanaSystemReplicationSpec,
    state: ClusterState,
    cluster: string,
    now: number,
  ): Promise<{ obj: Obj; added: boolean; refusals: Refusal[]; plannedTarget?: string }> {
    const annotations = stringRecord(metaOf(obj)['annotations']);
    let added = false;
    let plannedTarget: string | undefined;
    const refusals: Refusal[] = [];
    // The disaster takeover (docs/dr.md, src/operator/disaster.ts).
    const dr = await handleDisasterAnnotation({
      annotations,
      spec,
      state,
      cluster,
      name,
      now,
      store: this.options.coordination as Coordination & Partial<RegionStore>,
      peers: this.options.regionPeers,
      timeoutMs: this.options.coordinationTimeoutMs ?? 2000,
      record: (event) => this.record(obj, namespace, name, event, now),
    });
    const remove: Record<string, null> = { ...dr.remove };
    if (dr.added) added = true;
    if (dr.refusal !== undefined) {
      refusals.push({
        annotation: ANNOTATION_DISASTER_TAKEOVER,
        kind: 'disaster-takeover',
        site: annotations[ANNOTATION_DISASTER_TAKEOVER] ?? '',
        why: dr.refusal,
      });
    }
    // The force goes with the planned takeover it came with, and with no other: always removed.
    const forced = annotations[ANNOTATION_FORCE_TAKEOVER] === 'true';
    if (annotations[ANNOTATION_FORCE_TAKEOVER] !== undefined) remove[ANNOTATION_FORCE_TAKEOVER] = null;
    for (const { annotation, kind, accepted } of INTENT_ANNOTATIONS) {
      const site = annotations[annotation];
      if (site === undefined) continue;
      const force = kind === 'planned-takeover' && forced;
      const refusal = this.refuseIntent(kind, site, spec, state, now, force);
      if (refusal !== null) {
        refusals.push({ annotation, kind, site, why: refusal });
        await this.record(
          obj,
          namespace,
          name,
          { type: 'Warning', reason: 'IntentRefused', message: `${annotation}=${site} refused: ${refusal}` },
          now,
        );
      } else {
        const pending = state.intents.find(
          (i) =>
            i.kind === kind &&
            intentSite(i) === site &&
            (i.kind !== 'planned-takeover' || (i.force === true) === force),
        );
        const epoch = state.lastEpoch;
        if (pending === undefined) {
          const id = `${kind}-${site}-${epoch}-${randomUUID().slice(0, 8)}`;
          const intent: Intent =
            kind === 'planned-takeover'
              ? { kind, id, target: site, epoch, ...(force ? { force: true } : {}) }
              : { kind, id, site, epoch };
          await this.coordinationCall('coordination addIntent', () =>
            this.options.coordination.addIntent(cluster, intent),
          );
          added = true;
        }
        if (kind === 'planned-takeover') plannedTarget = site;
        // The runbook's "fence, then register": registering a site releases its fence request.
        if (kind === 'register' && (await this.releaseFence(cluster, site, state))) {
          added = true;
          await this.record(
            obj,
            namespace,
            name,
            {
              type: 'Normal',
              reason: 'FenceReleased',
              message: `${annotation}=${site}: the fence request of ${site} is released, ${site} is registered as a secondary`,
            },
            now,
          );
        }
        await this.record(
          obj,
          namespace,
          name,
          {
            type: force ? 'Warning' : 'Normal',
            reason: accepted,
            message: `${annotation}=${site} accepted at epoch ${epoch}${force ? ` with ${ANNOTATION_FORCE_TAKEOVER}: the target need not be in sync, committed data may be lost` : ''}`,
          },
          now,
        );
      }
      remove[annotation] = null;
    }
    const release = annotations[ANNOTATION_FENCE_RELEASE];
    if (release !== undefined) {
      const refusal = !spec.sites.some((s) => s.name === release)
        ? `unknown site "${release}" (sites: ${spec.sites.map((s) => s.name).join(', ')})`
        : !state.intents.some((i) => i.kind === 'fence' && i.site === release)
          ? `${release} has no fence request to release`
          : null;
      if (refusal !== null) {
        refusals.push({
          annotation: ANNOTATION_FENCE_RELEASE,
          kind: 'fence-release',
          site: release,
          why: refusal,
        });
        await this.record(
          obj,
          namespace,
          name,
          {
            type: 'Warning',
            reason: 'IntentRefused',
            message: `${ANNOTATION_FENCE_RELEASE}=${release} refused: ${refusal}`,
          },
          now,
        );
      } else {
        await this.releaseFence(cluster, release, state);
        added = true;
        await this.record(
          obj,
          namespace,
          name,
          {
            type: 'Normal',
            reason: 'FenceReleased',
            message: `${ANNOTATION_FENCE_RELEASE}=${release}: the fence request of ${release} is released; its agent starts it again as a secondary, or registers a former primary (automatedRegister) or waits for ${ANNOTATION_REGISTER}`,
          },
          now,
        );
      }
      remove[ANNOTATION_FENCE_RELEASE] = null;
    }
    const backupNow = annotations[ANNOTATION_BACKUP_NOW];
    if (backupNow !== undefined) {
      const r = await requestBackup(spec, state, cluster, this.options.coordination);
      if (r.refused === undefined) added = true;
      await this.record(obj, namespace, name, r.event, now);
      remove[ANNOTATION_BACKUP_NOW] = null;
    }
    let updated = obj;
    if (Object.keys(remove).length > 0) {
      updated = await this.client.patchHsr(namespace, name, { metadata: { annotations: remove } });
    }
    return { obj: updated, added, refusals, ...(plannedTarget !== undefined ? { plannedTarget } : {}) };
  }

  /** Removes every fence request of `site`; true when there was one. */
  private async releaseFence(cluster: string, site: string, state: ClusterState): Promise<boolean> {
    const fences = state.intents.filter((i) => i.kind === 'fence' && i.site === site);
    for (const f of fences) {
      await this.coordinationCall('coordination removeIntent', () =>
        this.options.coordination.removeIntent(cluster, f.id),
      );
    }
    return fences.length > 0;
  }

  /** Why an annotation cannot become an intent, or null when it can. */
  private refuseIntent(
    kind: Intent['kind'],
    site: string,
    spec: HanaSystemReplicationSpec,
    state: ClusterState,
    now: number,
    force = false,
  ): string | null {
    if (!spec.sites.some((s) => s.name === site)) {
      return `unknown site "${site}" (sites: ${spec.sites.map((s) => s.name).join(', ')})`;
    }
    if (spec.maintenance) return 'spec.maintenance is true: hanasr takes no action';
    const leader = state.leader;
    if (kind === 'planned-takeover') {
      if (leader === null) return 'no site holds the leader key: nothing to hand over';
      if (leader.site === site) return `${site} is already primary`;
      // The agents' rule (src/domain/sync-trust.ts), in every mode. Only it yields to the force.
      const verdict = inSyncFromStore(spec, state, site, leader.site, now);
      if (!force && !verdict.ok) {
        return `${site} is not in sync with ${leader.site} (${verdict.why}): a takeover could lose committed data`;
      }
    }
    if (kind === 'fence' && leader?.site === site) {
      return `${site} is the current primary: use a planned takeover first`;
    }
    if (kind === 'register' && leader?.site === site) {
      return `${site} is the current primary and cannot be registered as a secondary`;
    }
    return null;
  }

  private async writeInvalidSpec(
    obj: Obj,
    namespace: string,
    name: string,
    generation: number,
    previous: HanaSystemReplicationStatus | undefined,
    err: SpecValidationError,
    now: number,
  ): Promise<void> {
    const prevReady = previous?.conditions?.find((c) => c.type === 'Ready');
    const message = `invalid spec: ${err.message}`;
    if (
      prevReady?.reason === 'InvalidSpec' &&
      prevReady.message === message &&
      previous?.observedGeneration === generation
    ) {
      return;
    }
    const conditions = [
      ...(previous?.conditions ?? []).filter((c) => c.type !== 'Ready'),
      {
        type: 'Ready' as const,
        status: 'False' as const,
        reason: 'InvalidSpec',
        message,
        lastTransitionTime: prevReady?.status === 'False' ? prevReady.lastTransitionTime : rfc3339(now),
        observedGeneration: generation,
      },
    ];
    const updated = await this.client.patchHsrStatus(namespace, name, {
      status: { observedGeneration: generation, conditions },
    });
    await this.record(updated, namespace, name, { type: 'Warning', reason: 'InvalidSpec', message }, now);
  }

  /**
   * `<name>-rw` selects the pods of the site holding the leader key (none while it is vacant);
   * `<name>-ro` selects the secondaries' pods for reads in logreplay_readaccess, and is deleted
   * in the other operation modes.
   */
  private async ensureServices(
    obj: Obj,
    namespace: string,
    name: string,
    spec: HanaSystemReplicationSpec,
    activeSite: string | undefined,
  ): Promise<void> {
    // An empty site value matches no pod: while the key is vacant, nobody gets writes.
    await this.ensureService(obj, namespace, name, spec, rwServiceName(name), {
      [LABEL_CLUSTER]: name,
      [LABEL_SITE]: activeSite ?? '',
    });
    const ro = roServiceName(name);
    if (spec.replication.operationMode === 'logreplay_readaccess') {
      await this.ensureService(obj, namespace, name, spec, ro, {
        [LABEL_CLUSTER]: name,
        [LABEL_ROLE]: 'secondary',
      });
      return;
    }
    const existing = await this.client.getService(namespace, ro);
    if (existing?.metadata?.labels?.[LABEL_MANAGED_BY] === MANAGER) {
      await this.client.deleteService(namespace, ro);
      this.log('info', 'ro service deleted', { namespace, name: ro });
    }
  }

  /** Creates or updates a Service of the resource so it has exactly `selector`. */
  private async ensureService(
    obj: Obj,
    namespace: string,
    name: string,
    spec: HanaSystemReplicationSpec,
    svcName: string,
    selector: Record<string, string>,
  ): Promise<void> {
    const existing = await this.client.getService(namespace, svcName);
    if (existing === null) {
      const meta = metaOf(obj);
      const body: V1Service = {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: {
          name: svcName,
          namespace,
          labels: { [LABEL_CLUSTER]: name, [LABEL_MANAGED_BY]: MANAGER },
          ...(typeof meta['uid'] === 'string'
            ? {
                ownerReferences: [
                  {
                    apiVersion: String(obj['apiVersion']),
                    kind: KIND,
                    name,
                    uid: meta['uid'],
                    controller: true,
                    blockOwnerDeletion: true,
                  },
                ],
              }
            : {}),
        },
        spec: {
          type: 'ClusterIP',
          selector,
          ports: hanaPorts(spec.instanceNumber).map((p) => ({ ...p, targetPort: p.port, protocol: 'TCP' })),
        },
      };
      try {
        await this.client.createService(namespace, body);
        this.log('info', 'service created', { namespace, name: svcName, selector });
      } catch (err) {
        if (!isConflict(err)) throw err;
        // Created meanwhile: the next reconcile aligns it.
      }
      return;
    }
    const current = existing.spec?.selector ?? {};
    if (JSON.stringify(sorted(current)) === JSON.stringify(sorted(selector))) return;
    // Merge patch: keys no longer wanted are sent as null.
    const patch: Record<string, string | null> = { ...selector };
    for (const key of Object.keys(current)) if (!(key in selector)) patch[key] = null;
    await this.client.patchService(namespace, svcName, { spec: { selector: patch } });
    this.log('info', 'service selector moved', {
      namespace,
      name: svcName,
      from: current[LABEL_SITE] ?? current[LABEL_ROLE] ?? null,
      to: selector[LABEL_SITE] ?? selector[LABEL_ROLE] ?? null,
    });
  }
}

/**
 * A copy of plain JSON data with `f` applied to every string. (Redactor.value is for log fields:
 * it treats an object met twice as a cycle, and status shares records between lastTakeover and
 * the history.)
 */
function mapStrings<T>(value: T, f: (text: string) => string): T {
  if (typeof value === 'string') return f(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => mapStrings(v, f)) as T;
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, f)])) as T;
}

function sorted(record: Record<string, string>): [string, string][] {
  return Object.entries(record).sort(([a], [b]) => a.localeCompare(b));
}
