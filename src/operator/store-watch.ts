/**
 * Reconciles on what the coordination store says, not only on the periodic resync: one watch over
 * every cluster's leader key and member reports (Coordination.watchClusters). A change of the
 * leader key queues its resource at once (the `-rw` Service follows a new primary); a report
 * queues it only when something the status shows changed (role, health, replication state,
 * leadership, fencing, the last decision or action), not on every probe cycle's fresh timestamps,
 * so a thousand clusters do not turn into a thousand reconciles a second. The work queue merges
 * repeated keys. A watch that cannot be opened or breaks is logged and reopened with backoff; the
 * resync goes on meanwhile.
 */
import { withTimeout, type Clock } from '../clock.js';
import type { ClusterChange, Coordination, StoreWatch } from '../coordination/port.js';

export interface StoreTriggerOptions {
  readonly coordination: Coordination;
  readonly clock: Clock;
  /** The resources the informer holds now, as `namespace/name`. */
  readonly keys: () => Iterable<string>;
  /** The store's cluster name of a resource key. */
  readonly clusterOf: (key: string) => string;
  /** Queues a reconcile: a change it saw, or a look at everything after the watch was down. */
  readonly enqueue: (key: string, priority: 'change' | 'resync') => void;
  readonly log: (level: 'info' | 'warn', message: string, fields: Record<string, unknown>) => void;
  /** Deadline of opening the watch (ms). */
  readonly timeoutMs: number;
  /** First reopen delay after a failure (ms, doubled up to 30 s). */
  readonly retryBaseMs?: number;
}

/** The fields of a report whose change the status shows (not its timestamps or lag figures). */
export function reportDigest(report: unknown): string {
  if (typeof report !== 'object' || report === null) return 'none';
  const r = report as Record<string, unknown>;
  const h = (typeof r['health'] === 'object' && r['health'] !== null ? r['health'] : {}) as Record<
    string,
    unknown
  >;
  const links = Array.isArray(h['replication']) ? (h['replication'] as Record<string, unknown>[]) : [];
  const decision = r['lastDecision'] as Record<string, unknown> | undefined;
  const action = r['lastAction'] as Record<string, unknown> | undefined;
  return JSON.stringify([
    r['epoch'],
    r['leader'],
    r['fenced'],
    r['failedProbes'],
    h['probeOk'],
    h['running'],
    h['srRole'],
    h['suspended'],
    h['acceptsWrites'],
    h['overallReplicationStatus'],
    h['landscapeStatus'],
    links.map((l) => [l['secondary'], l['status'], l['mode']]),
    decision?.['reason'],
    action?.['action'],
    action?.['reason'],
    action?.['at'],
    (r['watchdog'] as Record<string, unknown> | undefined)?.['state'],
  ]);
}

export class StoreTrigger {
  private watch: StoreWatch | null = null;
  private running = false;
  private retryCancel: (() => void) | null = null;
  private failures = 0;
  private byCluster = new Map<string, string>();
  private readonly digests = new Map<string, string>();
  /** Changes seen and reconciles queued by them (tests, metrics). */
  changes = 0;
  queued = 0;

  constructor(private readonly options: StoreTriggerOptions) {}

  get supported(): boolean {
    return this.options.coordination.watchClusters !== undefined;
  }

  get open(): boolean {
    return this.watch !== null;
  }

  start(): void {
    if (!this.supported) return;
    this.running = true;
    this.connect();
  }

  stop(): void {
    this.running = false;
    this.retryCancel?.();
    this.retryCancel = null;
    this.watch?.close();
    this.watch = null;
  }

  private connect(): void {
    const watchClusters = this.options.coordination.watchClusters?.bind(this.options.coordination);
    if (!this.running || watchClusters === undefined) return;
    withTimeout(this.options.clock, this.options.timeoutMs, 'coordination watch', (signal) =>
      watchClusters({ onChange: (c) => this.onChange(c), onBroken: (err) => this.broken(err) }, signal),
    ).then(
      (w) => {
        if (!this.running) {
          w.close();
          return;
        }
        this.watch = w;
        if (this.failures > 0)
          this.options.log('info', 'coordination watch open again', { afterFailures: this.failures });
        this.failures = 0;
        // Whatever changed while the watch was down: look at everything once.
        for (const key of this.options.keys()) this.options.enqueue(key, 'resync');
      },
      (err: unknown) => this.broken(err instanceof Error ? err : new Error(String(err))),
    );
  }

  private broken(err: Error): void {
    this.watch = null;
    if (!this.running) return;
    this.failures++;
    const delay = Math.min(30_000, (this.options.retryBaseMs ?? 500) * 2 ** Math.min(this.failures - 1, 6));
    this.options.log('warn', 'coordination watch down, reconciling on the resync until it is back', {
      error: err.message,
      retryInMs: delay,
    });
    this.retryCancel?.();
    this.retryCancel = this.options.clock.setTimer(delay, () => {
      this.retryCancel = null;
      this.connect();
    });
  }

  private keyOf(cluster: string): string | undefined {
    let key = this.byCluster.get(cluster);
    if (key === undefined) {
      this.byCluster = new Map([...this.options.keys()].map((k) => [this.options.clusterOf(k), k]));
      key = this.byCluster.get(cluster);
    }
    return key;
  }

  private onChange(change: ClusterChange): void {
    this.changes++;
    const key = this.keyOf(change.cluster);
    if (key === undefined) return;
    if (change.what === 'report') {
      const id = `${change.cluster}\u0000${change.site ?? ''}`;
      const digest = reportDigest(change.report);
      if (this.digests.get(id) === digest) return;
      this.digests.set(id, digest);
    }
    this.queued++;
    this.options.enqueue(key, 'change');
  }
}
