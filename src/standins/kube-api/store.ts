/**
 * In-memory storage with one global resourceVersion counter and a bounded change history,
 * like etcd behind kube-apiserver: watches replay from the history, and a resourceVersion
 * older than the history (compacted) is gone.
 */

export type Obj = Record<string, unknown>;
export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface Change {
  rv: number;
  storageKey: string;
  type: ChangeType;
  /** The object after the change (for DELETED: its last state, at the deletion's resourceVersion). */
  object: Obj;
  /** The object before the change (MODIFIED and DELETED). */
  previous: Obj | undefined;
}

export function meta(obj: Obj): Record<string, unknown> {
  const m = obj['metadata'];
  if (typeof m === 'object' && m !== null && !Array.isArray(m)) return m as Record<string, unknown>;
  const created: Record<string, unknown> = {};
  obj['metadata'] = created;
  return created;
}

export function nameOf(obj: Obj): string {
  const n = meta(obj)['name'];
  return typeof n === 'string' ? n : '';
}

export function namespaceOf(obj: Obj): string {
  const n = meta(obj)['namespace'];
  return typeof n === 'string' ? n : '';
}

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export class Store {
  private rv = 0;
  private oldestWatchable = 0;
  private readonly data = new Map<string, Map<string, Obj>>();
  private history: Change[] = [];
  private readonly listeners = new Set<(change: Change) => void>();

  constructor(private readonly maxHistory = 10_000) {}

  /** The current (latest) resourceVersion. */
  get resourceVersion(): number {
    return this.rv;
  }

  /** Watches may start at this resourceVersion or later; older ones are gone (410). */
  get oldestResourceVersion(): number {
    return this.oldestWatchable;
  }

  get(storageKey: string, namespace: string, name: string): Obj | undefined {
    const obj = this.data.get(storageKey)?.get(key(namespace, name));
    return obj === undefined ? undefined : structuredClone(obj);
  }

  /** Objects of one resource, in key order (namespace, name) as etcd returns them. */
  list(storageKey: string, namespace?: string): Obj[] {
    const bucket = this.data.get(storageKey);
    if (bucket === undefined) return [];
    return [...bucket.entries()]
      .filter(([, o]) => namespace === undefined || namespaceOf(o) === namespace)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => structuredClone(o));
  }

  /** Stores `object` (ADDED or MODIFIED) at a new resourceVersion; returns the stored copy. */
  write(storageKey: string, type: 'ADDED' | 'MODIFIED', object: Obj): Obj {
    const stored = structuredClone(object);
    const bucket = this.data.get(storageKey) ?? new Map<string, Obj>();
    this.data.set(storageKey, bucket);
    const k = key(namespaceOf(stored), nameOf(stored));
    const previous = bucket.get(k);
    this.rv++;
    meta(stored)['resourceVersion'] = String(this.rv);
    bucket.set(k, stored);
    this.record({ rv: this.rv, storageKey, type, object: stored, previous });
    return structuredClone(stored);
  }

  /** Deletes the object; the DELETED event carries `last` at the deletion's resourceVersion. */
  remove(storageKey: string, last: Obj): Obj {
    const bucket = this.data.get(storageKey);
    const k = key(namespaceOf(last), nameOf(last));
    const previous = bucket?.get(k);
    bucket?.delete(k);
    const stored = structuredClone(last);
    this.rv++;
    meta(stored)['resourceVersion'] = String(this.rv);
    this.record({ rv: this.rv, storageKey, type: 'DELETED', object: stored, previous });
    return structuredClone(stored);
  }

  /** Changes after `rv`, or `undefined` when the history no longer reaches back that far. */
  changesSince(rv: number): Change[] | undefined {
    if (rv < this.oldestWatchable) return undefined;
    return this.history.filter((c) => c.rv > rv);
  }

  /** Forgets the history: every resourceVersion older than the current one answers 410. */
  compact(): number {
    this.history = [];
    this.oldestWatchable = this.rv;
    return this.rv;
  }

  subscribe(listener: (change: Change) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private record(change: Change): void {
    this.history.push(change);
    while (this.history.length > this.maxHistory) {
      const dropped = this.history.shift();
      if (dropped !== undefined) this.oldestWatchable = dropped.rv;
    }
    for (const listener of [...this.listeners]) listener(change);
  }
}
