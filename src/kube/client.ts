/**
 * The operator's Kubernetes calls over @kubernetes/client-node: HanaSystemReplication read and
 * patches (metadata, status subresource), core v1 Events and the read-write Service. Every call
 * carries a deadline (an AbortSignal set by a middleware), merge patches say so in Content-Type
 * (client-node defaults to JSON patch, see FIELD-NOTES).
 */
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  Observable,
  PatchStrategy,
  setHeaderOptions,
  type ConfigurationOptions,
  type KubeConfig,
  type ObservableMiddleware,
  type V1Pod,
  type V1Service,
} from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../api/resource.js';

type Obj = Record<string, unknown>;

/** Label on a HANA site's pods (or endpoints) naming the HanaSystemReplication they belong to. */
export const LABEL_CLUSTER = 'hanasr.io/cluster';
/** Label on a HANA site's pods naming their site. */
export const LABEL_SITE = 'hanasr.io/site';
/** Label the operator puts on a site's pods: primary or secondary, from the store's leader key. */
export const LABEL_ROLE = 'hanasr.io/role';
/** Label on objects the operator owns (the rw Service). */
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGER = 'hanasr-operator';

export interface KubeClientOptions {
  /** Deadline of each call (default 5 s). */
  readonly timeoutMs?: number;
  /** reportingComponent / source.component of Events (default hanasr-operator). */
  readonly component?: string;
  /** reportingInstance / source.host (the operator pod name). */
  readonly instance?: string;
}

/** The HTTP status of a failed call, or undefined for a transport error. */
export function httpCode(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

export function isNotFound(err: unknown): boolean {
  return httpCode(err) === 404;
}

export function isConflict(err: unknown): boolean {
  return httpCode(err) === 409;
}

/**
 * Sets each call's deadline, and its User-Agent to `<component>/hanasr`: the API server names the
 * field manager of a write after the User-Agent's product, so managedFields and server-side
 * apply conflicts say hanasr-operator or hanasr-cli (not client-node's node-fetch).
 */
function deadline(ms: number, component: string): ObservableMiddleware {
  return {
    pre: (ctx) => {
      ctx.setSignal(AbortSignal.timeout(ms));
      ctx.setHeaderParam('User-Agent', `${component}/hanasr (node ${process.version})`);
      return new Observable(Promise.resolve(ctx));
    },
    post: (res) => new Observable(Promise.resolve(res)),
  };
}

export interface EventInput {
  readonly namespace: string;
  /** The object the Event is about. */
  readonly involved: {
    readonly name: string;
    readonly uid?: string | undefined;
    readonly resourceVersion?: string | undefined;
  };
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
  /** ms since the Unix epoch. */
  readonly now: number;
}

export class KubeClient {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly timeoutMs: number;
  private readonly component: string;
  private readonly instance: string;

  constructor(
    readonly kubeConfig: KubeConfig,
    options: KubeClientOptions = {},
  ) {
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.component = options.component ?? MANAGER;
    this.instance = options.instance ?? MANAGER;
  }

  private opts(merge = false): ConfigurationOptions<ObservableMiddleware> {
    const base: ConfigurationOptions<ObservableMiddleware> = {
      middleware: [deadline(this.timeoutMs, this.component)],
      middlewareMergeStrategy: 'append',
    };
    return merge ? setHeaderOptions('Content-Type', PatchStrategy.MergePatch, base) : base;
  }

  private ref(namespace: string) {
    return { group: GROUP, version: VERSION, plural: PLURAL, namespace };
  }

  /** The resource as stored (unvalidated), or null when it is gone. */
  async getHsr(namespace: string, name: string): Promise<Obj | null> {
    try {
      return (await this.custom.getNamespacedCustomObject(
        { ...this.ref(namespace), name },
        this.opts(),
      )) as Obj;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async listHsr(namespace?: string): Promise<{ items: Obj[]; metadata?: Obj }> {
    const list =
      namespace === undefined
        ? await this.custom.listClusterCustomObject(
            { group: GROUP, version: VERSION, plural: PLURAL },
            this.opts(),
          )
        : await this.custom.listNamespacedCustomObject(this.ref(namespace), this.opts());
    return list as { items: Obj[]; metadata?: Obj };
  }

  /** JSON merge patch on the main resource (metadata: annotations, finalizers). */
  async patchHsr(namespace: string, name: string, body: Obj): Promise<Obj> {
    return (await this.custom.patchNamespacedCustomObject(
      { ...this.ref(namespace), name, body },
      this.opts(true),
    )) as Obj;
  }

  /** JSON merge patch on the status subresource. */
  async patchHsrStatus(namespace: string, name: string, body: Obj): Promise<Obj> {
    return (await this.custom.patchNamespacedCustomObjectStatus(
      { ...this.ref(namespace), name, body },
      this.opts(true),
    )) as Obj;
  }

  /** Records a core v1 Event about a HanaSystemReplication. */
  async recordEvent(e: EventInput): Promise<void> {
    const time = new Date(e.now).toISOString();
    const seconds = time.replace(/\.\d{3}Z$/, 'Z');
    await this.core.createNamespacedEvent(
      {
        namespace: e.namespace,
        body: {
          metadata: { generateName: `${e.involved.name}.`, namespace: e.namespace },
          involvedObject: {
            apiVersion: `${GROUP}/${VERSION}`,
            kind: 'HanaSystemReplication',
            name: e.involved.name,
            namespace: e.namespace,
            ...(e.involved.uid !== undefined ? { uid: e.involved.uid } : {}),
            ...(e.involved.resourceVersion !== undefined
              ? { resourceVersion: e.involved.resourceVersion }
              : {}),
          },
          type: e.type,
          reason: e.reason,
          message: e.message,
          count: 1,
          firstTimestamp: new Date(seconds),
          lastTimestamp: new Date(seconds),
          source: { component: this.component, host: this.instance },
          reportingComponent: this.component,
          reportingInstance: this.instance,
        },
      },
      this.opts(),
    );
  }

  async listEvents(namespace: string, involvedName?: string): Promise<Obj[]> {
    const list = await this.core.listNamespacedEvent(
      {
        namespace,
        ...(involvedName !== undefined ? { fieldSelector: `involvedObject.name=${involvedName}` } : {}),
      },
      this.opts(),
    );
    return list.items as unknown as Obj[];
  }

  async getService(namespace: string, name: string): Promise<V1Service | null> {
    try {
      return await this.core.readNamespacedService({ namespace, name }, this.opts());
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async createService(namespace: string, body: V1Service): Promise<V1Service> {
    return await this.core.createNamespacedService({ namespace, body }, this.opts());
  }

  /** JSON merge patch on a Service (selector, labels). */
  async patchService(namespace: string, name: string, body: Obj): Promise<V1Service> {
    return await this.core.patchNamespacedService({ namespace, name, body }, this.opts(true));
  }

  /** Deletes a Service; true when it existed. */
  async deleteService(namespace: string, name: string): Promise<boolean> {
    try {
      await this.core.deleteNamespacedService({ namespace, name }, this.opts());
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** Pods of a namespace matching a label selector (`k=v,k2=v2`). */
  async listPods(namespace: string, labelSelector: string): Promise<V1Pod[]> {
    const list = await this.core.listNamespacedPod({ namespace, labelSelector }, this.opts());
    return list.items;
  }

  /** JSON merge patch on a Pod (labels). */
  async patchPod(namespace: string, name: string, body: Obj): Promise<V1Pod> {
    return await this.core.patchNamespacedPod({ namespace, name, body }, this.opts(true));
  }
}
