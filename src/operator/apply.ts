/**
 * The reconcile's apply half: carries out what src/operator/compute.ts decided, through the
 * Kubernetes client (each call under the client's deadline, src/kube/client.ts) and the
 * coordination store (each call under `coordinationTimeoutMs`). It decides nothing: a change of
 * kind `none` sends no request. Events are best effort and redacted before they leave.
 */
import { randomUUID } from 'node:crypto';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import type { HanaSystemReplicationSpec } from '../api/spec.js';
import { withTimeout, type Clock } from '../clock.js';
import type { ClusterState, Coordination } from '../coordination/port.js';
import { KubeClient, LABEL_CLUSTER, LABEL_ROLE, isConflict } from '../kube/client.js';
import type { Redactor } from '../observability/log.js';
import { requestBackup } from './backup-request.js';
import {
  metaOf,
  planAnnotations,
  podLabelChanges,
  serviceChange,
  type AnnotationPlan,
  type Obj,
  type ServiceChange,
} from './compute.js';
import type { OperatorEvent } from './status.js';

export type LogFn = (
  level: 'info' | 'warn' | 'error',
  message: string,
  fields: Record<string, unknown>,
) => void;

export interface ApplyOptions {
  readonly client: KubeClient;
  readonly coordination: Coordination;
  readonly clock: Clock;
  /** Deadline of a coordination call. */
  readonly coordinationTimeoutMs: number;
  readonly log: LogFn;
  readonly redactor?: Redactor;
}

/** The resource the writes are about. */
export interface Target {
  readonly obj: Obj;
  readonly namespace: string;
  readonly name: string;
  readonly cluster: string;
  readonly now: number;
}

export class ClusterApply {
  constructor(private readonly o: ApplyOptions) {}

  /** A coordination store call under its deadline. */
  coordinationCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withTimeout(this.o.clock, this.o.coordinationTimeoutMs, what, fn);
  }

  /** Records an Event on the resource (best effort: a lost Event blocks nothing) and logs it. */
  async record(t: Target, event: OperatorEvent): Promise<void> {
    const { namespace, name } = t;
    const meta = metaOf(t.obj);
    const redactor = this.o.redactor;
    if (redactor !== undefined) event = { ...event, message: redactor.text(event.message) };
    try {
      await this.o.client.recordEvent({
        namespace,
        involved: {
          name,
          uid: typeof meta['uid'] === 'string' ? meta['uid'] : undefined,
          resourceVersion: typeof meta['resourceVersion'] === 'string' ? meta['resourceVersion'] : undefined,
        },
        ...event,
        now: t.now,
      });
    } catch (err) {
      this.o.log('warn', 'event not recorded', { namespace, name, reason: event.reason, error: String(err) });
    }
    this.o.log(event.type === 'Warning' ? 'warn' : 'info', event.reason, {
      namespace,
      name,
      message: event.message,
    });
  }

  /**
   * Carries out the annotation steps in order, then removes the annotations (`extraRemove`: those
   * the disaster handler consumed). Returns the resource after the removal and whether the store's
   * intents changed.
   */
  async annotations(
    t: Target,
    plan: AnnotationPlan,
    spec: HanaSystemReplicationSpec,
    state: ClusterState,
    extraRemove: Record<string, null>,
  ): Promise<{ obj: Obj; changed: boolean }> {
    let changed = plan.changesIntents;
    for (const step of plan.steps) {
      switch (step.kind) {
        case 'event':
          await this.record(t, step.event);
          break;
        case 'add-intent':
          await this.coordinationCall('coordination addIntent', () =>
            this.o.coordination.addIntent(t.cluster, step.intent),
          );
          break;
        case 'remove-intents':
          for (const id of step.ids) {
            await this.coordinationCall('coordination removeIntent', () =>
              this.o.coordination.removeIntent(t.cluster, id),
            );
          }
          break;
        case 'backup': {
          // No deadline of its own here (as before the split): see backup-request.ts.
          const r = await requestBackup(spec, state, t.cluster, this.o.coordination);
          if (r.refused === undefined) changed = true;
          await this.record(t, r.event);
          break;
        }
      }
    }
    const remove = { ...extraRemove, ...plan.remove };
    const obj =
      Object.keys(remove).length > 0
        ? await this.o.client.patchHsr(t.namespace, t.name, { metadata: { annotations: remove } })
        : t.obj;
    return { obj, changed };
  }

  /** Creates, patches or deletes one Service as `change` says (nothing for `none`). */
  async service(namespace: string, svcName: string, change: ServiceChange): Promise<void> {
    switch (change.op) {
      case 'none':
        return;
      case 'create':
        try {
          await this.o.client.createService(namespace, change.body);
          this.o.log('info', 'service created', {
            namespace,
            name: svcName,
            selector: change.body.spec?.selector,
          });
        } catch (err) {
          if (!isConflict(err)) throw err;
          // Created meanwhile: the next reconcile aligns it.
        }
        return;
      case 'patch':
        await this.o.client.patchService(namespace, svcName, change.body);
        this.o.log('info', 'service selector moved', {
          namespace,
          name: svcName,
          from: change.from,
          to: change.to,
        });
        return;
      case 'delete':
        await this.o.client.deleteService(namespace, svcName);
        this.o.log('info', 'ro service deleted', { namespace, name: svcName });
        return;
    }
  }

  /**
   * Reads the Services and aligns each with the wanted one (src/operator/compute.ts), all at once:
   * each Service is its own object, so one read and write does not wait for the other's.
   */
  async services(namespace: string, wanted: readonly [string, V1Service | null][]): Promise<void> {
    await allSettledOrThrow(
      wanted.map(async ([svcName, desired]) => {
        const existing = await this.o.client.getService(namespace, svcName);
        await this.service(namespace, svcName, serviceChange(existing, desired));
      }),
    );
  }

  /** Labels each site's pods `hanasr.io/role=primary|secondary` after the store's leader key. */
  async labelPods(namespace: string, name: string, state: ClusterState): Promise<void> {
    const pods: V1Pod[] = await this.o.client.listPods(namespace, `${LABEL_CLUSTER}=${name}`);
    for (const change of podLabelChanges(pods, state)) {
      await this.o.client.patchPod(namespace, change.pod, {
        metadata: { labels: { [LABEL_ROLE]: change.role } },
      });
      this.o.log('info', 'pod role labelled', {
        namespace,
        pod: change.pod,
        site: change.site,
        role: change.role,
      });
    }
  }
}

/**
 * Waits for every promise, then throws the first failure (in the order given): unlike
 * Promise.all, nothing of a failed reconcile is still in flight when its retry starts.
 */
export async function allSettledOrThrow(promises: readonly Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

/** The annotations of `obj` as a plan, with fresh intent ids. */
export function annotationPlanOf(
  annotations: Readonly<Record<string, string>>,
  spec: HanaSystemReplicationSpec,
  state: ClusterState,
  now: number,
): AnnotationPlan {
  return planAnnotations({ annotations, spec, state, now, nonce: () => randomUUID().slice(0, 8) });
}
