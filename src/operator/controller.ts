/**
 * The operator's reconcile loop for HanaSystemReplication resources. Level-triggered and
 * idempotent: every run re-reads the resource and the coordination store, then
 * - on deletion, deletes the cluster's coordination keys and removes the finalizer;
 * - adds the finalizer;
 * - turns the planned-takeover / fence / register annotations into intents at the current epoch
 *   (or refuses them), acknowledges them with an Event and removes the annotation;
 * - writes the status (merge patch on /status) built by buildStatus, and records its Events;
 * - keeps the `<name>-rw` Service selecting the pods of the site that holds the leader key
 *   (none while the key is vacant).
 * Triggers: the informer (restarted when it stops), a periodic resync (the store has no watch
 * here), and retries with backoff from the work queue.
 */
import { randomUUID } from 'node:crypto';
import type { KubeConfig, V1Service } from '@kubernetes/client-node';
import {
  ANNOTATION_FENCE,
  ANNOTATION_PLANNED_TAKEOVER,
  ANNOTATION_REGISTER,
  FINALIZER,
  KIND,
  type HanaSystemReplicationStatus,
} from '../api/resource.js';
import { SpecValidationError, parseSpec, type HanaSystemReplicationSpec } from '../api/spec.js';
import { withTimeout, type Clock } from '../clock.js';
import type { ClusterState, Coordination } from '../coordination/port.js';
import type { Intent } from '../domain/types.js';
import {
  KubeClient,
  LABEL_CLUSTER,
  LABEL_MANAGED_BY,
  LABEL_SITE,
  MANAGER,
  isConflict,
} from '../kube/client.js';
import { HsrInformer } from '../kube/informer.js';
import type { HanasrMetrics } from '../observability/metrics.js';
import { WorkQueue } from './queue.js';
import { buildStatus, rfc3339, statusMergePatch, type OperatorEvent } from './status.js';

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
  /** Every resource is reconciled at least this often (default 10 s). */
  readonly resyncIntervalMs?: number;
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
}

/**
 * The coordination store's name for a resource: `<namespace>.<name>` (a namespace has no dots,
 * so the pair stays unambiguous). Agents started for a resource use the same key.
 */
export function defaultClusterKey(namespace: string, name: string): string {
  return `${namespace}.${name}`;
}

export function rwServiceName(name: string): string {
  return `${name}-rw`;
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

function intentSite(intent: Intent): string {
  return intent.kind === 'planned-takeover' ? intent.target : intent.site;
}

export class HsrController {
  readonly client: KubeClient;
  readonly queue: WorkQueue;
  readonly informer: HsrInformer;
  private readonly clusterKey: (namespace: string, name: string) => string;
  private cancelResync: (() => void) | null = null;
  private running = false;
  /** Completed reconciles (successful or not), for tests and health. */
  reconciles = 0;
  /** When the last reconcile finished without error (ms), for /healthz. */
  lastSuccessAt: number | null = null;

  constructor(private readonly options: ControllerOptions) {
    this.client = new KubeClient(options.kubeConfig, {
      timeoutMs: options.kubeTimeoutMs ?? 5000,
      ...(options.instance !== undefined ? { instance: options.instance } : {}),
    });
    this.clusterKey = options.clusterKey ?? defaultClusterKey;
    this.queue = new WorkQueue(options.clock, (key) => this.reconcile(key), {
      baseDelayMs: options.retryBaseDelayMs ?? 200,
      maxDelayMs: options.retryMaxDelayMs ?? 30_000,
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
      onChange: (key) => this.queue.add(key),
      onError: (err, restartInMs) =>
        this.log('warn', 'informer stopped, restarting', { error: String(err), restartInMs }),
      onStart: () => this.resyncAll(),
    });
  }

  private log(level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown>): void {
    this.options.log?.(level, message, fields);
  }

  /** Starts the informer and the periodic resync. */
  async start(): Promise<void> {
    this.running = true;
    await this.informer.start();
    this.scheduleResync();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.cancelResync?.();
    this.cancelResync = null;
    await this.informer.stop();
    await this.queue.stop();
  }

  private scheduleResync(): void {
    if (!this.running) return;
    this.cancelResync = this.options.clock.setTimer(this.options.resyncIntervalMs ?? 10_000, () => {
      this.resyncAll();
      this.scheduleResync();
    });
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
      this.log('info', 'coordination keys deleted, finalizer removed', { namespace, name, cluster });
      return;
    }

    if (!finalizers.includes(FINALIZER)) {
      obj = await this.client.patchHsr(namespace, name, {
        metadata: { resourceVersion: meta['resourceVersion'], finalizers: [...finalizers, FINALIZER] },
      });
    }

    const now = this.options.clock.now();
    const generation =
      typeof metaOf(obj)['generation'] === 'number' ? (metaOf(obj)['generation'] as number) : 0;
    const previous = (obj['status'] ?? undefined) as HanaSystemReplicationStatus | undefined;

    let spec: HanaSystemReplicationSpec;
    try {
      spec = parseSpec(obj['spec'], 'spec');
    } catch (err) {
      if (!(err instanceof SpecValidationError)) throw err;
      await this.writeInvalidSpec(obj, namespace, name, generation, previous, err, now);
      return;
    }

    let { state, error } = await this.readState(cluster);
    if (state !== null) {
      const added = await this.handleAnnotations(obj, namespace, name, spec, state, cluster, now);
      if (added) ({ state, error } = await this.readState(cluster));
    }

    const result = buildStatus({
      spec,
      generation,
      state,
      ...(error !== undefined ? { stateError: error } : {}),
      previous,
      now,
    });
    if (JSON.stringify(result.status) !== JSON.stringify(previous)) {
      obj = await this.client.patchHsrStatus(namespace, name, statusMergePatch(previous, result.status));
    }
    for (const event of result.events) await this.record(obj, namespace, name, event, now);

    if (state !== null) {
      await this.ensureRwService(obj, namespace, name, spec, state.leader?.site);
      if (state.leader !== null) {
        this.options.metrics?.leaderEpoch.set({ namespace, cluster: name }, state.leader.epoch);
      }
    }
  }

  private async record(
    obj: Obj,
    namespace: string,
    name: string,
    event: OperatorEvent,
    now: number,
  ): Promise<void> {
    const meta = metaOf(obj);
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
   * acknowledged (Event) and then removed. Returns true when an intent was added.
   */
  private async handleAnnotations(
    obj: Obj,
    namespace: string,
    name: string,
    spec: HanaSystemReplicationSpec,
    state: ClusterState,
    cluster: string,
    now: number,
  ): Promise<boolean> {
    const annotations = stringRecord(metaOf(obj)['annotations']);
    let added = false;
    const remove: Record<string, null> = {};
    for (const { annotation, kind, accepted } of INTENT_ANNOTATIONS) {
      const site = annotations[annotation];
      if (site === undefined) continue;
      const refusal = this.refuseIntent(kind, site, spec, state);
      if (refusal !== null) {
        await this.record(
          obj,
          namespace,
          name,
          { type: 'Warning', reason: 'IntentRefused', message: `${annotation}=${site} refused: ${refusal}` },
          now,
        );
      } else {
        const pending = state.intents.find((i) => i.kind === kind && intentSite(i) === site);
        const epoch = state.lastEpoch;
        if (pending === undefined) {
          const id = `${kind}-${site}-${epoch}-${randomUUID().slice(0, 8)}`;
          const intent: Intent =
            kind === 'planned-takeover' ? { kind, id, target: site, epoch } : { kind, id, site, epoch };
          await this.coordinationCall('coordination addIntent', () =>
            this.options.coordination.addIntent(cluster, intent),
          );
          added = true;
        }
        await this.record(
          obj,
          namespace,
          name,
          { type: 'Normal', reason: accepted, message: `${annotation}=${site} accepted at epoch ${epoch}` },
          now,
        );
      }
      remove[annotation] = null;
    }
    if (Object.keys(remove).length > 0) {
      await this.client.patchHsr(namespace, name, { metadata: { annotations: remove } });
    }
    return added;
  }

  /** Why an annotation cannot become an intent, or null when it can. */
  private refuseIntent(
    kind: Intent['kind'],
    site: string,
    spec: HanaSystemReplicationSpec,
    state: ClusterState,
  ): string | null {
    if (!spec.sites.some((s) => s.name === site)) {
      return `unknown site "${site}" (sites: ${spec.sites.map((s) => s.name).join(', ')})`;
    }
    if (spec.maintenance) return 'spec.maintenance is true: hanasr takes no action';
    const leader = state.leader;
    if (kind === 'planned-takeover') {
      if (leader === null) return 'no site holds the leader key: nothing to hand over';
      if (leader.site === site) return `${site} is already primary`;
      const sync = state.sync[site];
      if (spec.replication.mode !== 'async' && (sync?.state !== 'SOK' || sync.epoch !== state.lastEpoch)) {
        return `${site} is not in sync with ${leader.site} (${sync?.state ?? 'no sync record'} in this term): a takeover could lose committed data`;
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

  /** Creates or updates `<name>-rw` so it selects the active site's pods, or none when there is none. */
  private async ensureRwService(
    obj: Obj,
    namespace: string,
    name: string,
    spec: HanaSystemReplicationSpec,
    activeSite: string | undefined,
  ): Promise<void> {
    const svcName = rwServiceName(name);
    // An empty site value matches no pod: while the key is vacant, nobody gets writes.
    const selector = { [LABEL_CLUSTER]: name, [LABEL_SITE]: activeSite ?? '' };
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
        this.log('info', 'rw service created', { namespace, name: svcName, site: activeSite ?? null });
      } catch (err) {
        if (!isConflict(err)) throw err;
        // Created meanwhile: the next reconcile aligns it.
      }
      return;
    }
    const current = existing.spec?.selector ?? {};
    if (current[LABEL_SITE] === selector[LABEL_SITE] && current[LABEL_CLUSTER] === selector[LABEL_CLUSTER])
      return;
    await this.client.patchService(namespace, svcName, { spec: { selector } });
    this.log('info', 'rw service moved', {
      namespace,
      name: svcName,
      from: current[LABEL_SITE] ?? null,
      to: activeSite ?? null,
    });
  }
}
