/**
 * Server-side printing (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`), which kubectl
 * asks for: Name, the CRD's additionalPrinterColumns, and Age.
 */
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

export function toTable(type: ResourceType, objects: Obj[], resourceVersion: string): unknown {
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
    return {
      cells,
      object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata },
    };
  });
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: columns,
    rows,
  };
}
