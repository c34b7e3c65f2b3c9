/**
 * An informer on HanaSystemReplication resources that keeps running. client-node 1.4's informer
 * relists on 410 by itself but stops for good on any other error (a failed list, a reset watch
 * socket): this wrapper restarts it after a backoff on the injected clock, and reports every
 * change as a `namespace/name` key.
 */
import {
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
} from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../api/resource.js';
import type { Clock } from '../clock.js';
import type { KubeClient } from './client.js';

export interface HsrInformerOptions {
  /** Watch one namespace; all namespaces when absent. */
  readonly namespace?: string;
  /** Called with `namespace/name` on every add, update and delete. */
  readonly onChange: (key: string, obj: KubernetesObject, kind: 'add' | 'update' | 'delete') => void;
  /** Called on each error, before the restart. */
  readonly onError?: (err: unknown, restartInMs: number) => void;
  /** Called after every successful (re)start, e.g. to resync everything. */
  readonly onStart?: () => void;
  /** First restart delay (default 100 ms), doubled per consecutive failure up to maxRestartDelayMs. */
  readonly restartDelayMs?: number;
  readonly maxRestartDelayMs?: number;
}

export function keyOf(obj: KubernetesObject): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

export class HsrInformer {
  private readonly informer: Informer<KubernetesObject> & ObjectCache<KubernetesObject>;
  private stopped = true;
  private failures = 0;
  private cancelRestart: (() => void) | null = null;
  /** Times the informer was restarted after an error. */
  restarts = 0;
  private isSynced = false;

  constructor(
    kubeConfig: KubeConfig,
    client: KubeClient,
    private readonly clock: Clock,
    private readonly options: HsrInformerOptions,
  ) {
    const path =
      options.namespace === undefined
        ? `/apis/${GROUP}/${VERSION}/${PLURAL}`
        : `/apis/${GROUP}/${VERSION}/namespaces/${options.namespace}/${PLURAL}`;
    const list = async () =>
      (await client.listHsr(options.namespace)) as unknown as KubernetesListObject<KubernetesObject>;
    this.informer = makeInformer(kubeConfig, path, list);
    this.informer.on('add', (o) => options.onChange(keyOf(o), o, 'add'));
    this.informer.on('update', (o) => options.onChange(keyOf(o), o, 'update'));
    this.informer.on('delete', (o) => options.onChange(keyOf(o), o, 'delete'));
    this.informer.on('error', (err) => this.restartLater(err));
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.startOnce();
  }

  private async startOnce(): Promise<void> {
    try {
      await this.informer.start();
      this.failures = 0;
      this.isSynced = !this.stopped;
      this.options.onStart?.();
    } catch (err) {
      this.restartLater(err);
    }
  }

  private restartLater(err: unknown): void {
    this.isSynced = false;
    if (this.stopped || this.cancelRestart !== null) return;
    this.failures++;
    const base = this.options.restartDelayMs ?? 100;
    const delay = Math.min(this.options.maxRestartDelayMs ?? 10_000, base * 2 ** (this.failures - 1));
    this.options.onError?.(err, delay);
    this.cancelRestart = this.clock.setTimer(delay, () => {
      this.cancelRestart = null;
      if (this.stopped) return;
      this.restarts++;
      void this.startOnce();
    });
  }

  /** True once a list succeeded and the watch runs; false after an error until the restart lists again. */
  get synced(): boolean {
    return this.isSynced;
  }

  /** The cached objects (as last listed and watched). */
  list(): readonly KubernetesObject[] {
    return this.informer.list();
  }

  /** The cached object `namespace/name`, if the cache holds it (never a request). */
  get(namespace: string, name: string): KubernetesObject | undefined {
    return this.informer.get(name, namespace === '' ? undefined : namespace);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.isSynced = false;
    this.cancelRestart?.();
    this.cancelRestart = null;
    await this.informer.stop();
  }
}
