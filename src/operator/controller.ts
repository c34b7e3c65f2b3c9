// Why this file is long: the controller's wiring (informer, store watch, resync, queue) and the one reconcile that runs read → compute (compute.ts) → apply (apply.ts), with the status conflict loop.
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
 * What to write is computed by pure functions (src/operator/compute.ts, status.ts, outcomes.ts)
 * and written by src/operator/apply.ts; this file reads, hands over and keeps the per-cluster
 * memory (lag alert state, failures already reported, its own status writes).
 * Triggers: the informer (restarted when it stops), the coordination store's watch on leader keys
 * and reports (store-watch.ts, where the store offers one), a periodic resync spread over its
 * period (resync.ts; three times longer while the store watch is open), and retries with backoff
 * from the work queue, which runs a bounded number of reconciles at once, changes (informer, store
 * watch, retries) before resyncs (the periodic one and the informer's initial list).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import {
  ANNOTATION_DISASTER_TAKEOVER,
  ANNOTATION_REGION_SWITCHOVER,
  GROUP,
  clusterKey,
  FINALIZER,
  type HanaSystemReplicationStatus,
} from '../api/resource.js';
import { SpecValidationError, parseSpec, type HanaSystemReplicationSpec } from '../api/spec.js';
import { withTimeout, type Clock } from '../clock.js';
import type { ClusterState, Coordination, RegionStore } from '../coordination/port.js';
import { handleDisasterAnnotation } from './disaster.js';
import {
  handleSwitchoverAnnotation,
  peerStore,
  stepRegionSwitchover,
  type SwitchoverPeer,
  type SwitchoverStores,
} from './region-switchover.js';
import { regionNames, regionOf } from '../domain/region.js';

/**
 * This operator's region: the one region of the spec that none of its peers is (docs/dr.md), as
 * buildStatus's ownRegion; nothing when that is not exactly one (then the reports tell it).
 */
function ownRegionOf(
  spec: HanaSystemReplicationSpec,
  peers: readonly SwitchoverPeer[] | undefined,
): { ownRegion?: string } {
  if (peers === undefined || peers.length === 0) return {};
  const own = regionNames(spec).filter((r) => !peers.some((p) => p.region === r));
  return own.length === 1 ? { ownRegion: own[0]! } : {};
}

/** This region's store for a switchover (one that keeps no region record refuses every write). */
function ownStore(store: Coordination & Partial<RegionStore>) {
  return {
    read: (c: string) => store.read(c),
    addIntent: (c: string, i: Parameters<Coordination['addIntent']>[1]) => store.addIntent(c, i),
    writeRegion: (c: string, r: Parameters<RegionStore['writeRegion']>[1], g: number | null) =>
      store.writeRegion?.(c, r, g) ?? Promise.resolve(false),
  };
}
import { KubeClient, isConflict } from '../kube/client.js';
import { HsrInformer } from '../kube/informer.js';
import type { Redactor } from '../observability/log.js';
import { forgetCluster, type HanasrMetrics } from '../observability/metrics.js';
import { DEFAULT_TAKEOVER_TIMEOUT_MS, exportClusterMetrics, type Refusal } from './outcomes.js';
import { WorkQueue } from './queue.js';
import { SpreadResync } from './resync.js';
import { StoreTrigger } from './store-watch.js';
import type { OperatorEvent } from './status.js';
import type { LagAlertState, LagAlertTransition, LagEvaluation } from './alerts.js';
import { ClusterApply, allSettledOrThrow, annotationPlanOf, type LogFn, type Target } from './apply.js';
import {
  annotationsOf,
  desiredServices,
  finalizersOf,
  generationOf,
  metaOf,
  newFenceEvents,
  planInvalidSpec,
  planStatus,
  previousStatusOf,
  roServiceName,
  rwServiceName,
  type Obj,
} from './compute.js';

export type { LogFn } from './apply.js';
export { hanaPorts, roServiceName, rwServiceName } from './compute.js';

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
  /**
   * A status that would change only in sites[].lastReportTime is written once one of them is this
   * far behind the agent's report (default REPORT_TIME_REFRESH_MS, 60 s; src/operator/compute.ts).
   */
  readonly reportTimeRefreshMs?: number;
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
  /**
   * The other regions' stores (docs/dr.md): a disaster takeover needs to know they are lost; a
   * planned region switchover writes the handover into the target region's.
   */
  readonly regionPeers?: readonly SwitchoverPeer[];
  /** A planned region switchover not handed over after this long is aborted (default 120 s). */
  readonly regionSwitchoverTimeoutMs?: number;
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

/** Rebuilds after a status conflict at most this many times per reconcile, then the queue retries. */
const STATUS_ATTEMPTS = 5;

/** One status write: the resource it is built from and what the reconcile observed and decided. */
interface StatusWrite {
  readonly target: Target;
  readonly spec: HanaSystemReplicationSpec;
  /** The store's snapshot, or null when it could not be read (`stateError` says why). */
  readonly state: ClusterState | null;
  readonly stateError?: string;
  readonly refusals: readonly Refusal[];
  /** The target of a planned takeover this reconcile requested (it may already be done). */
  readonly plannedTarget?: string;
}

export class HsrController {
  readonly client: KubeClient;
  /** The writes (src/operator/apply.ts). */
  private readonly apply: ClusterApply;
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
  /** Reconciles that read their resource from the informer's cache instead of a GET. */
  cacheReads = 0;
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
    this.apply = new ClusterApply({
      client: this.client,
      coordination: options.coordination,
      clock: options.clock,
      coordinationTimeoutMs: options.coordinationTimeoutMs ?? 2000,
      log: (level, message, fields) => this.log(level, message, fields),
      ...(options.redactor !== undefined ? { redactor: options.redactor } : {}),
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
      enqueue: (key, priority) => this.queue.add(key, 0, priority),
      log: (level, message, fields) => this.log(level, message, fields),
      timeoutMs: options.coordinationTimeoutMs ?? 2000,
    });
    this.resync = new SpreadResync({
      clock: options.clock,
      keys: () => this.informer.list().map((o) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`),
      enqueue: (key) => this.queue.add(key, 0, 'resync'),
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

  /** The informer's (re)start: every resource once, behind any change. */
  private resyncAll(): void {
    for (const obj of this.informer.list()) {
      this.queue.add(`${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`, 0, 'resync');
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

  /**
   * The resource to reconcile: from the informer's cache when nothing there can be behind one of
   * this operator's own writes (as controller-runtime reads from its cache), else a GET. A cached
   * copy is used only when the informer is synced, already carries this operator's last status
   * write, has the finalizer, is not being deleted and carries no hanasr.io annotation (an intent
   * that a patch of ours may already have removed, which must not run twice). A cached copy that
   * is behind someone else's write is safe: the status patch is conditional on its version (a
   * conflict re-reads it), and the other write's informer event queues another reconcile.
   */
  private async resource(namespace: string, name: string): Promise<Obj | null> {
    const cached = this.informer.synced ? this.informer.get(namespace, name) : undefined;
    if (cached !== undefined && !this.ownStatusWrites.has(`${namespace}/${name}`)) {
      const obj = cached as unknown as Obj;
      const meta = metaOf(obj);
      const annotations = Object.keys(annotationsOf(obj));
      if (
        finalizersOf(obj).includes(FINALIZER) &&
        (meta['deletionTimestamp'] === undefined || meta['deletionTimestamp'] === null) &&
        !annotations.some((a) => a.startsWith(`${GROUP}/`))
      ) {
        this.cacheReads++;
        return structuredClone(obj);
      }
    }
    return this.client.getHsr(namespace, name);
  }

  private async reconcileOnce(namespace: string, name: string): Promise<void> {
    let obj = await this.resource(namespace, name);
    if (obj === null) return;
    const cluster = this.clusterKey(namespace, name);
    const meta = metaOf(obj);
    const finalizers = finalizersOf(obj);

    if (meta['deletionTimestamp'] !== undefined && meta['deletionTimestamp'] !== null) {
      if (!finalizers.includes(FINALIZER)) return;
      await this.apply.coordinationCall('coordination deleteCluster', () =>
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
      const invalid = planInvalidSpec(previousStatusOf(obj), generation, err.message, now);
      if (invalid === null) return;
      const updated = await this.client.patchHsrStatus(namespace, name, invalid.patch);
      await this.apply.record({ obj: updated, namespace, name, cluster, now }, invalid.event);
      return;
    }

    let { state, error } = await this.readState(cluster);
    // Agents follow the published spec (maintenance, thresholds) even while no operator runs.
    let publishError: unknown;
    if (state === null || JSON.stringify(state.spec) !== JSON.stringify(spec)) {
      try {
        await this.apply.coordinationCall('coordination publishSpec', () =>
          this.options.coordination.publishSpec(cluster, spec),
        );
        this.log('info', 'spec published', { namespace, name, cluster, generation });
      } catch (err) {
        publishError = err;
      }
    }

    let refusals: readonly Refusal[] = [];
    let plannedTarget: string | undefined;
    if (state !== null) {
      const handled = await this.handleAnnotations({ obj, namespace, name, cluster, now }, spec, state);
      obj = handled.obj;
      refusals = handled.refusals;
      plannedTarget = handled.plannedTarget;
      if (handled.changed) ({ state, error } = await this.readState(cluster));
    }
    if (state?.region?.draining === true && state.region.by === 'switchover') {
      await this.stepSwitchover({ obj, namespace, name, cluster, now }, spec, state);
      ({ state, error } = await this.readState(cluster));
    }

    const written = await this.writeStatus({
      target: { obj, namespace, name, cluster, now },
      spec,
      state,
      ...(error !== undefined ? { stateError: error } : {}),
      refusals,
      ...(plannedTarget !== undefined ? { plannedTarget } : {}),
    });
    if (written === null) return;
    obj = written.obj;
    if (written.lag !== undefined) {
      this.lagAlerts.set(cluster, written.lag.state);
      this.notifyLag(namespace, name, spec, written.lag.transitions);
    }
    for (const event of written.events)
      await this.apply.record({ obj, namespace, name, cluster, now }, event);

    if (state !== null) {
      // While a region switchover drains, -rw selects no pod: the old primary must take no writes.
      const activeSite = state.region?.draining === true ? undefined : state.leader?.site;
      const { rw, ro } = desiredServices({ obj, namespace, name, spec, activeSite });
      // The Services and the pod labels are separate objects: read and aligned at the same time.
      await allSettledOrThrow([
        this.apply.services(namespace, [
          [rwServiceName(name), rw],
          [roServiceName(name), ro],
        ]),
        this.apply.labelPods(namespace, name, state),
      ]);
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

  /** The stores of a region switchover: this region's, and the other region's peer (null: none writable). */
  private switchoverStores(cluster: string, targetRegion: string | undefined): SwitchoverStores {
    return {
      cluster,
      active: ownStore(this.options.coordination),
      target: peerStore(this.options.regionPeers, targetRegion),
      timeoutMs: this.options.coordinationTimeoutMs ?? 2000,
    };
  }

  /** The -rw Service selecting no pod (a region switchover drains from here on). */
  private async withdrawRw(t: Target, spec: HanaSystemReplicationSpec): Promise<void> {
    const { rw } = desiredServices({
      obj: t.obj,
      namespace: t.namespace,
      name: t.name,
      spec,
      activeSite: undefined,
    });
    await this.apply.services(t.namespace, [[rwServiceName(t.name), rw]]);
  }

  /** Region switchover steps already told as Events (a stuck one is told once). */
  private readonly switchoverTold = new Set<string>();

  /** One step of a draining region switchover (src/operator/region-switchover.ts). */
  private async stepSwitchover(
    t: Target,
    spec: HanaSystemReplicationSpec,
    state: ClusterState,
  ): Promise<void> {
    const drain = state.region!;
    const step = await stepRegionSwitchover(
      spec,
      this.switchoverStores(t.cluster, drain.active),
      this.options.regionSwitchoverTimeoutMs ?? 120_000,
      t.now,
      `region-switchover-${drain.token?.toSite ?? 'unknown'}-g${drain.generation}`,
    );
    if (step.kind === 'none' || step.kind === 'wait') {
      if (step.kind === 'wait')
        this.log('info', 'region switchover', { cluster: t.cluster, message: step.message });
      return;
    }
    const key = `${t.cluster}|${drain.generation}|${step.kind}`;
    if (this.switchoverTold.has(key)) return;
    this.switchoverTold.add(key);
    if (step.kind === 'handover')
      await this.apply.record(t, {
        type: 'Normal',
        reason: 'RegionSwitchoverHandover',
        message: step.message,
      });
    else if (step.kind === 'abort')
      await this.apply.record(t, {
        type: 'Warning',
        reason: 'RegionSwitchoverAborted',
        message: step.message,
      });
    else
      await this.apply.record(t, {
        type: 'Warning',
        reason: 'RegionSwitchoverStuck',
        message: `${step.reason}: ${step.message}`,
      });
  }

  /**
   * The annotations as intents (src/operator/compute.ts planAnnotations), after the disaster
   * takeover (src/operator/disaster.ts), carried out and removed from the resource.
   */
  private async handleAnnotations(
    t: Target,
    spec: HanaSystemReplicationSpec,
    state: ClusterState,
  ): Promise<{ obj: Obj; changed: boolean; refusals: Refusal[]; plannedTarget?: string }> {
    const annotations = annotationsOf(t.obj);
    const dr = await handleDisasterAnnotation({
      annotations,
      spec,
      state,
      cluster: t.cluster,
      name: t.name,
      now: t.now,
      store: this.options.coordination as Coordination & Partial<RegionStore>,
      peers: this.options.regionPeers,
      timeoutMs: this.options.coordinationTimeoutMs ?? 2000,
      record: (event) => this.apply.record(t, event),
    });
    const sw = await handleSwitchoverAnnotation({
      annotations,
      spec,
      stores: this.switchoverStores(
        t.cluster,
        regionOf(spec, annotations[ANNOTATION_REGION_SWITCHOVER] ?? ''),
      ),
      now: t.now,
      withdrawService: () => this.withdrawRw(t, spec),
      record: (event) => this.apply.record(t, event),
    });
    const refusals: Refusal[] = [];
    if (sw.refusal !== undefined) {
      refusals.push({
        annotation: ANNOTATION_REGION_SWITCHOVER,
        kind: 'region-switchover',
        site: sw.refusal.site,
        why: sw.refusal.why,
      });
    }
    if (dr.refusal !== undefined) {
      refusals.push({
        annotation: ANNOTATION_DISASTER_TAKEOVER,
        kind: 'disaster-takeover',
        site: annotations[ANNOTATION_DISASTER_TAKEOVER] ?? '',
        why: dr.refusal,
      });
    }
    const plan = annotationPlanOf(annotations, spec, state, t.now);
    refusals.push(...plan.refusals);
    const done = await this.apply.annotations(t, plan, spec, state, { ...dr.remove, ...sw.remove });
    return {
      obj: done.obj,
      changed: dr.added || sw.started || done.changed,
      refusals,
      ...(plan.plannedTarget !== undefined ? { plannedTarget: plan.plannedTarget } : {}),
    };
  }

  /**
   * Computes (planStatus) and writes the status with a merge patch on /status that carries the
   * resourceVersion it was built from; on a conflict (409) it re-reads the resource and computes
   * again. No write when the status did not change. Returns the resource and the Events of the
   * plan that was written, or null when the resource went.
   */
  private async writeStatus(w: StatusWrite): Promise<{
    obj: Obj;
    events: OperatorEvent[];
    status: HanaSystemReplicationStatus;
    previous: HanaSystemReplicationStatus | undefined;
    lag?: LagEvaluation;
  } | null> {
    const { namespace, name, cluster, now } = w.target;
    let obj = w.target.obj;
    const generation = generationOf(obj);
    const reported = (key: string): boolean => this.reportedFailures.has(`${cluster}|${key}`);
    // Failed stops: an Event each, once (kept across status conflicts: they do not change the story).
    const fence = newFenceEvents(w.state, reported);
    for (const key of fence.keys) this.reportedFailures.add(`${cluster}|${key}`);
    const redactor = this.options.redactor;
    for (let attempt = 1; ; attempt++) {
      const previous = previousStatusOf(obj);
      const plan = planStatus({
        spec: w.spec,
        generation,
        state: w.state,
        ...(w.stateError !== undefined ? { stateError: w.stateError } : {}),
        previous,
        now,
        lagAlerts: this.lagAlerts.get(cluster) ?? null,
        ...(w.plannedTarget !== undefined ? { plannedTarget: w.plannedTarget } : {}),
        refusals: w.refusals,
        reported,
        takeoverTimeoutMs: this.options.takeoverTimeoutMs ?? DEFAULT_TAKEOVER_TIMEOUT_MS,
        ...ownRegionOf(w.spec, this.options.regionPeers),
        regionSwitchoverTimeoutMs: this.options.regionSwitchoverTimeoutMs ?? 120_000,
        ...(this.options.reportTimeRefreshMs !== undefined
          ? { reportTimeRefreshMs: this.options.reportTimeRefreshMs }
          : {}),
        fenceEvents: fence.events,
        ...(redactor !== undefined ? { redact: (text: string) => redactor.text(text) } : {}),
      });
      for (const key of plan.reportedKeys) this.reportedFailures.add(`${cluster}|${key}`);
      const result = {
        events: plan.events,
        status: plan.status,
        previous,
        ...(plan.lag !== undefined ? { lag: plan.lag } : {}),
      };
      if (plan.patch === null) return { obj, ...result };
      try {
        obj = await this.client.patchHsrStatus(namespace, name, {
          metadata: { resourceVersion: metaOf(obj)['resourceVersion'] },
          ...plan.patch,
        });
        const written = metaOf(obj)['resourceVersion'];
        if (typeof written === 'string') this.ownStatusWrites.set(`${namespace}/${name}`, written);
        return { obj, ...result };
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
}
