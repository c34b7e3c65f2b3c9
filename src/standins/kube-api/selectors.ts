/** Label and field selectors with the operators the API server accepts. */
import { badRequest } from './errors.js';

export type Requirement =
  | { key: string; op: 'exists' | 'notexists' }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'gt' | 'lt'; value: number };

export type Matcher = (labels: Readonly<Record<string, string>>) => boolean;

function splitTopLevel(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

const KEY = String.raw`[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?`;
const VALUE = String.raw`([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?`;

/** Parses `a=b,c!=d,e in (f,g),h notin (i),j,!k` into requirements; 400 BadRequest when malformed. */
export function parseLabelSelector(selector: string): Requirement[] {
  const requirements: Requirement[] = [];
  for (const part of splitTopLevel(selector)) {
    let m: RegExpMatchArray | null;
    if ((m = part.match(new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\((.*)\\)$`))) !== null) {
      const values = (m[4] ?? '')
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '');
      for (const v of values) {
        if (!new RegExp(`^${VALUE}$`).test(v))
          throw badRequest(`unable to parse requirement: invalid label value: "${v}"`);
      }
      requirements.push({ key: m[1] ?? '', op: m[3] === 'in' ? 'in' : 'notin', values });
    } else if ((m = part.match(new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(.*)$`))) !== null) {
      const value = (m[4] ?? '').trim();
      if (!new RegExp(`^${VALUE}$`).test(value)) {
        throw badRequest(`unable to parse requirement: invalid label value: "${value}"`);
      }
      requirements.push({ key: m[1] ?? '', op: m[3] === '!=' ? 'notin' : 'in', values: [value] });
    } else if ((m = part.match(new RegExp(`^(${KEY})\\s*(>|<)\\s*(-?[0-9]+)$`))) !== null) {
      requirements.push({ key: m[1] ?? '', op: m[3] === '>' ? 'gt' : 'lt', value: Number(m[4]) });
    } else if ((m = part.match(new RegExp(`^!\\s*(${KEY})$`))) !== null) {
      requirements.push({ key: m[1] ?? '', op: 'notexists' });
    } else if ((m = part.match(new RegExp(`^(${KEY})$`))) !== null) {
      requirements.push({ key: m[1] ?? '', op: 'exists' });
    } else {
      throw badRequest(`unable to parse requirement: ${JSON.stringify(part)}`);
    }
  }
  return requirements;
}

function matchesRequirement(r: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const value = labels[r.key];
  switch (r.op) {
    case 'exists':
      return has;
    case 'notexists':
      return !has;
    case 'in':
      return has && value !== undefined && r.values.includes(value);
    case 'notin':
      return !has || value === undefined || !r.values.includes(value);
    case 'gt':
    case 'lt': {
      if (!has || value === undefined || !/^-?[0-9]+$/.test(value)) return false;
      return r.op === 'gt' ? Number(value) > r.value : Number(value) < r.value;
    }
  }
}

export function labelMatcher(selector: string | undefined): Matcher {
  if (selector === undefined || selector.trim() === '') return () => true;
  const requirements = parseLabelSelector(selector);
  return (labels) => requirements.every((r) => matchesRequirement(r, labels));
}

export interface FieldRequirement {
  field: string;
  negate: boolean;
  value: string;
}

/** The field labels every kind supports. */
export const METADATA_FIELDS: ReadonlySet<string> = new Set(['metadata.name', 'metadata.namespace']);

/** Those of core/v1 Events, as kube-apiserver registers them (what `kubectl describe` selects with). */
export const EVENT_FIELDS: ReadonlySet<string> = new Set([
  ...METADATA_FIELDS,
  'involvedObject.kind',
  'involvedObject.namespace',
  'involvedObject.name',
  'involvedObject.uid',
  'involvedObject.apiVersion',
  'involvedObject.resourceVersion',
  'involvedObject.fieldPath',
  'reason',
  'reportingComponent',
  'source',
  'type',
]);

/**
 * `metadata.name=x,involvedObject.kind!=Pod`; a field the kind does not support answers 400 like
 * the real server.
 */
export function parseFieldSelector(
  selector: string | undefined,
  supported: ReadonlySet<string> = METADATA_FIELDS,
): FieldRequirement[] {
  if (selector === undefined || selector.trim() === '') return [];
  return splitTopLevel(selector).map((part) => {
    const m = part.match(/^([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*)$/);
    if (m === null) throw badRequest(`invalid selector: '${selector}'; can't understand '${part}'`);
    const field = m[1] ?? '';
    if (!supported.has(field)) throw badRequest(`field label not supported: ${field}`);
    return { field, negate: m[2] === '!=', value: (m[3] ?? '').trim() };
  });
}

/** The value a field label selects on (`source` is source.component); absent fields are "". */
export function fieldValue(obj: Readonly<Record<string, unknown>>, field: string): string {
  const path = field === 'source' ? ['source', 'component'] : field.split('.');
  let node: unknown = obj;
  for (const k of path) {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return '';
    node = (node as Record<string, unknown>)[k];
  }
  return typeof node === 'string' ? node : typeof node === 'number' ? String(node) : '';
}

export function fieldsMatch(
  requirements: readonly FieldRequirement[],
  obj: Readonly<Record<string, unknown>>,
): boolean {
  return requirements.every((r) => {
    const actual = fieldValue(obj, r.field);
    return r.negate ? actual !== r.value : actual === r.value;
  });
}
