/**
 * Server-side printing (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`), which kubectl
 * asks for: Name, the CRD's additionalPrinterColumns, and Age; for Events the columns of
 * kube-apiserver's event printer (LAST SEEN, TYPE, REASON, OBJECT, MESSAGE, and with -o wide
 * SUBOBJECT, SOURCE, FIRST SEEN, COUNT, NAME).
 */
import { eventsV1ToCore } from './events.js';
import type { ResourceType } from './resources.js';
import { isPlainObject } from './schema.js';

type Obj = Record<string, unknown>;

export function wantsTable(accept: string | undefined): boolean {
  return accept !== undefined && /as=Table/.test(accept);
}

/**
 * Evaluates a printer column's JSONPath (`.status.sites[0].name`, `.a[*].b`,
 * `.status.conditions[?(@.type=="Ready")].status`) and returns the first result, as the
 * CRD table convertor does.
 */
export function evalJsonPath(obj: unknown, path: string): unknown {
  const expr = path.replace(/^\{/, '').replace(/\}$/, '').trim();
  const tokens = expr.match(/\.([^.[\]]+)|\[\?\(.*?\)\]|\[\*\]|\[(\d+)\]|\['([^']+)'\]/g) ?? [];
  let nodes: unknown[] = [obj];
  for (const token of tokens) {
    const next: unknown[] = [];
    for (const node of nodes) {
      if (token === '[*]') {
        if (Array.isArray(node)) next.push(...node);
        else if (isPlainObject(node)) next.push(...Object.values(node));
      } else if (token.startsWith('[?(')) {
        const m = token.match(
          /^\[\?\(@((?:\.[A-Za-z0-9_-]+)+)\s*(==|!=)\s*(?:"([^"]*)"|'([^']*)'|([^)\s]+))\s*\)\]$/,
        );
        if (m === null || !Array.isArray(node)) continue;
        const want = m[3] ?? m[4] ?? m[5] ?? '';
        for (const item of node) {
          const got = evalJsonPath(item, m[1] ?? '');
          const equal = got !== undefined && String(got) === want;
          if (m[2] === '==' ? equal : !equal) next.push(item);
        }
      } else if (/^\[\d+\]$/.test(token)) {
        if (Array.isArray(node)) next.push(node[Number(token.slice(1, -1))]);
      } else {
        const key = token.startsWith("['") ? token.slice(2, -2) : token.slice(1);
        if (isPlainObject(node)) next.push(node[key]);
      }
    }
    nodes = next.filter((n) => n !== undefined);
    if (nodes.length === 0) return undefined;
  }
  return nodes[0];
}

/** Like k8s.io/apimachinery's duration.HumanDuration. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < -1) return '<invalid>';
  if (s < 0) return '0s';
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 24 * 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  const y = Math.floor(d / 365);
  if (d < 365 * 8) return d % 365 === 0 ? `${y}y` : `${y}y${d % 365}d`;
  return `${y}y`;
}

function age(timestamp: unknown): string {
  if (typeof timestamp !== 'string') return '<unknown>';
  const t = Date.parse(timestamp);
  return Number.isNaN(t) ? '<unknown>' : humanDuration(Date.now() - t);
}

function metadataOf(obj: Obj): Obj {
  return isPlainObject(obj['metadata']) ? obj['metadata'] : {};
}

/** What each row carries (`includeObject`): None, Metadata (the default) or the whole Object. */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface TableOptions {
  includeObject?: IncludeObject;
  /** false: leave columnDefinitions out (the later events of a watch, as kube-apiserver does). */
  columns?: boolean;
}

function rowObject(obj: Obj, include: IncludeObject): Obj | undefined {
  if (include === 'None') return undefined;
  if (include === 'Object') return obj;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: metadataOf(obj) };
}

function table(
  resourceVersion: string,
  columnDefinitions: unknown[],
  rows: { cells: unknown[]; object: Obj }[],
  options: TableOptions,
): unknown {
  const include = options.includeObject ?? 'Metadata';
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: options.columns === false ? null : columnDefinitions,
    rows: rows.map((r) => {
      const object = rowObject(r.object, include);
      return object === undefined ? { cells: r.cells } : { cells: r.cells, object };
    }),
  };
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

const EVENT_COLUMNS = [
  ['Last Seen', 0, '', 'When the event last occurred (or its series was last observed).'],
  ['Type', 0, '', 'Normal or Warning.'],
  ['Reason', 0, '', 'Why, in CamelCase.'],
  ['Object', 0, '', 'The object the event is about, as kind/name.'],
  ['Subobject', 1, '', 'The part of the object (fieldPath).'],
  ['Source', 1, '', 'The component (and host) that reported it.'],
  ['Message', 0, '', 'What happened.'],
  ['First Seen', 1, '', 'When the event first occurred.'],
  ['Count', 1, '', 'How many times it occurred.'],
  ['Name', 1, 'name', 'Name of the Event object.'],
] as const;

/** One row of kube-apiserver's event printer (all columns; kubectl hides priority 1 unless -o wide). */
function eventCells(event: Obj): unknown[] {
  const since = (t: unknown): string => age(t);
  const involved = isPlainObject(event['involvedObject']) ? event['involvedObject'] : {};
  const series = isPlainObject(event['series']) ? event['series'] : undefined;
  const source = isPlainObject(event['source']) ? event['source'] : {};
  const firstSeen =
    typeof event['firstTimestamp'] === 'string' ? since(event['firstTimestamp']) : since(event['eventTime']);
  let lastSeen = typeof event['lastTimestamp'] === 'string' ? since(event['lastTimestamp']) : firstSeen;
  let count = typeof event['count'] === 'number' && event['count'] > 0 ? event['count'] : 1;
  if (series !== undefined) {
    lastSeen = since(series['lastObservedTime']);
    if (typeof series['count'] === 'number') count = series['count'];
  }
  const kind = text(involved['kind']).toLowerCase();
  const name = text(involved['name']);
  const component = text(source['component']) || text(event['reportingComponent']);
  const host = text(source['host']) || text(event['reportingInstance']);
  return [
    lastSeen,
    text(event['type']),
    text(event['reason']),
    name === '' ? kind : `${kind}/${name}`,
    text(involved['fieldPath']),
    host === '' ? component : `${component}, ${host}`,
    text(event['message']).trim(),
    firstSeen,
    count,
    text(metadataOf(event)['name']),
  ];
}

export function toTable(
  type: ResourceType,
  objects: Obj[],
  resourceVersion: string,
  options: TableOptions = {},
): unknown {
  if (type.kind === 'Event' && (type.group === '' || type.group === 'events.k8s.io')) {
    const columns = EVENT_COLUMNS.map(([name, priority, format, description]) => ({
      name,
      type: 'string',
      format,
      description,
      priority,
    }));
    const rows = objects.map((obj) => ({
      cells: eventCells(type.group === '' ? obj : eventsV1ToCore(obj)),
      object: obj,
    }));
    return table(resourceVersion, columns, rows, options);
  }
  const columns = [
    {
      name: 'Name',
      type: 'string',
      format: 'name',
      description: 'Name must be unique within a namespace.',
      priority: 0,
    },
    ...type.printerColumns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: c.description ?? '',
      priority: c.priority ?? 0,
    })),
  ];
  const hasAge = type.printerColumns.some((c) => c.jsonPath === '.metadata.creationTimestamp');
  if (!hasAge)
    columns.push({ name: 'Age', type: 'date', format: '', description: 'CreationTimestamp', priority: 0 });
  const rows = objects.map((obj) => {
    const metadata = isPlainObject(obj['metadata']) ? obj['metadata'] : {};
    const cells: unknown[] = [metadata['name']];
    for (const c of type.printerColumns) {
      const value = evalJsonPath(obj, c.jsonPath);
      if (c.type === 'date') cells.push(value === undefined ? '<unknown>' : age(value));
      else cells.push(value === undefined ? null : value);
    }
    if (!hasAge) cells.push(age(metadata['creationTimestamp']));
    return { cells, object: obj };
  });
  return table(resourceVersion, columns, rows, options);
}

/** The includeObject parameter of a Table request (Metadata when absent or unknown). */
export function includeObjectOf(url: URL): IncludeObject {
  const v = url.searchParams.get('includeObject');
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}
