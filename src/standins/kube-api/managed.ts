/**
 * Field ownership (metadata.managedFields) and server-side apply, as kube-apiserver keeps them:
 *
 * - every write records which manager (the `fieldManager` parameter, else the User-Agent's
 *   product) set which fields, in the FieldsV1 form (`f:<field>` per level, `.` for an owned
 *   object that has owned children); an Update takes the fields it changed from other managers;
 * - an Apply (`application/apply-patch+yaml`) states the whole intent of one manager: it sets the
 *   fields it names, removes those it named before and nobody else owns, and fails with a 409
 *   listing every field another manager owns with a different value, unless `force=true`, which
 *   takes them over.
 *
 * Lists are atomic (a CRD's default list type; for built-in kinds this server keeps lists whole),
 * objects are granular. apiVersion, kind and the metadata the server sets are never owned; writes
 * to the main resource of a kind with a status subresource never own status, writes to /status
 * own nothing else.
 */
import { isPlainObject } from './schema.js';

type Obj = Record<string, unknown>;

export type Operation = 'Apply' | 'Update';

export interface ManagedFieldsEntry {
  manager: string;
  operation: Operation;
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Obj;
  subresource?: string;
}

/** Who writes, and how the write is scoped. */
export interface Writer {
  manager: string;
  /** `status` for writes to the status subresource, `` otherwise. */
  subresource: '' | 'status';
  /** The kind has a status subresource (the main resource then never owns status). */
  statusSubresource: boolean;
  apiVersion: string;
  time: string;
}

/** A field path: field names from the object root. */
type Path = readonly string[];
/** A set of paths, keyed by their JSON text. */
export type FieldSet = Map<string, Path>;

const SERVER_METADATA = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
]);

const keyOf = (p: Path): string => JSON.stringify(p);

function excluded(path: Path, writer: Pick<Writer, 'subresource' | 'statusSubresource'>): boolean {
  const [first, second] = path;
  if (path.length === 1 && (first === 'apiVersion' || first === 'kind')) return true;
  if (first === 'metadata' && path.length === 2 && second !== undefined && SERVER_METADATA.has(second))
    return true;
  if (writer.subresource === 'status') return first !== 'status';
  return writer.statusSubresource && first === 'status';
}

/** The fields an object sets, as a writer of this scope would own them. */
export function fieldSetOf(obj: Obj, writer: Pick<Writer, 'subresource' | 'statusSubresource'>): FieldSet {
  const out: FieldSet = new Map();
  const visit = (value: unknown, path: string[]): void => {
    if (path.length > 0 && excluded(path, writer)) return;
    if (isPlainObject(value)) {
      if (path.length > 0 && !(path.length === 1 && path[0] === 'metadata')) out.set(keyOf(path), path);
      for (const [k, v] of Object.entries(value)) visit(v, [...path, k]);
      return;
    }
    if (path.length > 0) out.set(keyOf(path), path);
  };
  visit(obj, []);
  return out;
}

function valueAt(obj: unknown, path: Path): unknown {
  let node = obj;
  for (const k of path) {
    if (!isPlainObject(node)) return undefined;
    node = node[k];
  }
  return node;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

const isObjectPath = (obj: unknown, path: Path): boolean => isPlainObject(valueAt(obj, path));

/** FieldsV1 (`{"f:spec":{".":{},"f:sid":{}}}`) from a set. */
export function toFieldsV1(set: FieldSet): Obj {
  const root: Obj = {};
  const members = new Set(set.keys());
  for (const path of set.values()) {
    let node = root;
    for (const k of path) {
      const key = `f:${k}`;
      const child = isPlainObject(node[key]) ? node[key] : {};
      node[key] = child;
      node = child;
    }
  }
  // An owned node that has owned children is marked with ".".
  const mark = (node: Obj, path: string[]): void => {
    for (const [key, child] of Object.entries(node)) {
      if (!key.startsWith('f:') || !isPlainObject(child)) continue;
      const p = [...path, key.slice(2)];
      if (Object.keys(child).length > 0 && members.has(keyOf(p))) child['.'] = {};
      mark(child, p);
    }
  };
  mark(root, []);
  return root;
}

/** A set from FieldsV1; unknown element kinds (k:, v:, i:) are kept as opaque leaves of their parent. */
export function fromFieldsV1(fields: unknown): FieldSet {
  const out: FieldSet = new Map();
  const visit = (node: unknown, path: string[]): void => {
    if (!isPlainObject(node)) return;
    const children = Object.keys(node).filter((k) => k !== '.');
    if (path.length > 0 && ('.' in node || children.length === 0)) out.set(keyOf(path), path);
    for (const key of children) {
      if (key.startsWith('f:')) visit(node[key], [...path, key.slice(2)]);
      else if (path.length > 0) out.set(keyOf(path), path);
    }
  };
  visit(fields, []);
  return out;
}

/** The entries of an object's metadata.managedFields that are well-formed. */
export function entriesOf(obj: Obj): ManagedFieldsEntry[] {
  const metadata = isPlainObject(obj['metadata']) ? obj['metadata'] : {};
  const raw = metadata['managedFields'];
  if (!Array.isArray(raw)) return [];
  return raw.filter(
    (e): e is ManagedFieldsEntry =>
      isPlainObject(e) &&
      typeof e['manager'] === 'string' &&
      (e['operation'] === 'Apply' || e['operation'] === 'Update') &&
      isPlainObject(e['fieldsV1']),
  );
}

interface Owned {
  entry: ManagedFieldsEntry;
  set: FieldSet;
}

const sameManager = (e: ManagedFieldsEntry, manager: string, operation: Operation, subresource: string) =>
  e.manager === manager && e.operation === operation && (e.subresource ?? '') === subresource;

function toEntries(owned: Owned[]): ManagedFieldsEntry[] {
  return owned
    .filter((o) => o.set.size > 0)
    .map((o) => {
      const entry: ManagedFieldsEntry = {
        manager: o.entry.manager,
        operation: o.entry.operation,
        apiVersion: o.entry.apiVersion,
        time: o.entry.time,
        fieldsType: 'FieldsV1',
        fieldsV1: toFieldsV1(o.set),
      };
      if (o.entry.subresource) entry.subresource = o.entry.subresource;
      return entry;
    });
}

function sameSet(a: FieldSet, b: FieldSet): boolean {
  return a.size === b.size && [...a.keys()].every((k) => b.has(k));
}

/** Keeps in each set only the paths the object still has. */
function dropMissing(owned: Owned[], present: FieldSet): void {
  for (const o of owned) for (const k of [...o.set.keys()]) if (!present.has(k)) o.set.delete(k);
}

/**
 * The managedFields after an Update (create, update, patch) by `writer`: it owns what it
 * changed (taken from the others); fields the object no longer has are owned by nobody.
 */
export function afterUpdate(before: Obj | undefined, after: Obj, writer: Writer): ManagedFieldsEntry[] {
  const owned: Owned[] = (before === undefined ? [] : entriesOf(before)).map((entry) => ({
    entry,
    set: fromFieldsV1(entry.fieldsV1),
  }));
  const oldSet = before === undefined ? new Map<string, Path>() : fieldSetOf(before, writer);
  const newSet = fieldSetOf(after, writer);
  const changed: FieldSet = new Map();
  for (const [k, p] of newSet) {
    if (!oldSet.has(k) || (!isObjectPath(after, p) && !deepEqual(valueAt(before, p), valueAt(after, p)))) {
      changed.set(k, p);
    }
  }
  for (const [k, p] of oldSet) if (!newSet.has(k)) changed.set(k, p);
  const all = fieldSetOf(after, { subresource: '', statusSubresource: false });
  dropMissing(owned, all);
  let mine = owned.find((o) => sameManager(o.entry, writer.manager, 'Update', writer.subresource));
  for (const o of owned) if (o !== mine) for (const k of changed.keys()) o.set.delete(k);
  const gained = [...changed].filter(([k]) => newSet.has(k));
  if (gained.length > 0) {
    if (mine === undefined) {
      mine = { entry: newEntry(writer, 'Update'), set: new Map() };
      owned.push(mine);
    }
    const size = mine.set.size;
    for (const [k, p] of gained) mine.set.set(k, p);
    if (mine.set.size !== size)
      mine.entry = { ...mine.entry, time: writer.time, apiVersion: writer.apiVersion };
  }
  return toEntries(owned);
}

function newEntry(writer: Writer, operation: Operation): ManagedFieldsEntry {
  const entry: ManagedFieldsEntry = {
    manager: writer.manager,
    operation,
    apiVersion: writer.apiVersion,
    time: writer.time,
    fieldsType: 'FieldsV1',
    fieldsV1: {},
  };
  if (writer.subresource !== '') entry.subresource = writer.subresource;
  return entry;
}

export interface Conflict {
  manager: ManagedFieldsEntry;
  path: string;
}

export class ApplyConflicts extends Error {
  constructor(readonly conflicts: Conflict[]) {
    super('apply conflicts');
  }
}

/** `.spec.takeover.automatic`, as field paths print. */
export function printPath(path: Path): string {
  return path.map((k) => `.${k}`).join('');
}

/** Merges an applied configuration into the live object: objects field by field, the rest replaced. */
function mergeApplied(live: unknown, config: unknown): unknown {
  if (!isPlainObject(config) || !isPlainObject(live)) return structuredClone(config);
  const out: Obj = { ...live };
  for (const [k, v] of Object.entries(config)) {
    if (v === null) delete out[k];
    else out[k] = mergeApplied(out[k], v);
  }
  return out;
}

function deleteAt(obj: Obj, path: Path): void {
  let node: unknown = obj;
  for (const k of path.slice(0, -1)) {
    if (!isPlainObject(node)) return;
    node = node[k];
  }
  const last = path[path.length - 1];
  if (isPlainObject(node) && last !== undefined) delete node[last];
}

/**
 * Server-side apply of `config` by `writer` onto `live` (undefined: the object is created).
 * Returns the object to store (before defaulting and validation) with its managedFields;
 * throws ApplyConflicts when another manager owns a field the config changes and not `force`.
 */
export function apply(live: Obj | undefined, config: Obj, writer: Writer, force: boolean): Obj {
  const current: Obj = live === undefined ? {} : live;
  const owned: Owned[] = entriesOf(current).map((entry) => ({ entry, set: fromFieldsV1(entry.fieldsV1) }));
  const mine = owned.find((o) => sameManager(o.entry, writer.manager, 'Apply', writer.subresource));
  const others = owned.filter((o) => o !== mine);
  const applied = fieldSetOf(config, writer);

  const conflicts: Conflict[] = [];
  for (const [k, p] of applied) {
    if (isObjectPath(config, p) || deepEqual(valueAt(current, p), valueAt(config, p))) continue;
    for (const o of others) if (o.set.has(k)) conflicts.push({ manager: o.entry, path: printPath(p) });
  }
  if (conflicts.length > 0 && !force) throw new ApplyConflicts(conflicts);
  if (force) {
    for (const [k, p] of applied) {
      if (isObjectPath(config, p)) continue;
      if (!deepEqual(valueAt(current, p), valueAt(config, p))) for (const o of others) o.set.delete(k);
    }
  }

  // Only what this writer may set is taken from the config (status stays out of the main resource).
  const scoped: Obj = {};
  for (const [k, v] of Object.entries(config)) {
    const mayWrite =
      k === 'apiVersion' ||
      k === 'kind' ||
      (writer.subresource === 'status' ? k === 'status' : !(writer.statusSubresource && k === 'status'));
    if (mayWrite) scoped[k] = structuredClone(v);
  }
  const merged = mergeApplied(structuredClone(current), scoped) as Obj;

  // Fields this manager applied before and no longer does go, unless someone else owns them.
  const previous = mine?.set ?? new Map<string, Path>();
  const gone = [...previous].filter(([k]) => !applied.has(k)).sort((a, b) => b[1].length - a[1].length);
  for (const [k, p] of gone) {
    const prefix = k.slice(0, -1);
    const ownedElsewhere = others.some((o) =>
      [...o.set.keys()].some((ok) => ok === k || ok.startsWith(`${prefix},`)),
    );
    if (!ownedElsewhere) deleteAt(merged, p);
  }

  const next: Owned = {
    entry: mine !== undefined && sameSet(mine.set, applied) ? mine.entry : newEntry(writer, 'Apply'),
    set: applied,
  };
  const entries = mine === undefined ? [...owned, next] : owned.map((o) => (o === mine ? next : o));
  dropMissing(entries, fieldSetOf(merged, { subresource: '', statusSubresource: false }));
  const metadata = isPlainObject(merged['metadata']) ? merged['metadata'] : {};
  merged['metadata'] = { ...metadata, managedFields: toEntries(entries) };
  return merged;
}

/** The manager of a request: `fieldManager`, else the User-Agent's product (`kubectl/v1.35 ...` -> kubectl). */
export function managerOf(fieldManager: string | null, userAgent: string | undefined): string {
  if (fieldManager !== null && fieldManager !== '') return fieldManager;
  return (userAgent ?? '').split('/')[0]?.slice(0, 128) ?? '';
}

/** A 409 message for conflicts, worded like kube-apiserver's. */
export function conflictMessage(conflicts: readonly Conflict[]): string {
  const who = (e: ManagedFieldsEntry) =>
    e.operation === 'Update' ? `"${e.manager}" using ${e.apiVersion}` : `"${e.manager}"`;
  const [only] = conflicts;
  if (conflicts.length === 1 && only !== undefined) {
    return `Apply failed with 1 conflict: conflict with ${who(only.manager)}: ${only.path}`;
  }
  const byManager = new Map<string, string[]>();
  for (const c of conflicts)
    byManager.set(who(c.manager), [...(byManager.get(who(c.manager)) ?? []), c.path]);
  const lines: string[] = [];
  for (const manager of [...byManager.keys()].sort()) {
    lines.push(`conflicts with ${manager}:`, ...(byManager.get(manager) ?? []).map((p) => `- ${p}`));
  }
  return `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
}

export function conflictCauses(
  conflicts: readonly Conflict[],
): { reason: string; message: string; field: string }[] {
  return conflicts.map((c) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with "${c.manager.manager}"${c.manager.operation === 'Update' ? ` using ${c.manager.apiVersion}` : ''}`,
    field: c.path,
  }));
}
