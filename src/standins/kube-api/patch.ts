/**
 * The patch formats the API server accepts: JSON merge patch (RFC 7386) and JSON patch
 * (RFC 6902, including `test`). Strategic merge for core types is treated as a merge patch.
 */
import { ApiError, badRequest } from './errors.js';
import { isPlainObject } from './schema.js';

/** RFC 7386: objects merge recursively, null deletes, everything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch);
  const result: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

export interface JsonPatchOperation {
  op: string;
  path: string;
  value?: unknown;
  from?: string;
}

function unprocessable(message: string): ApiError {
  return new ApiError(422, 'Invalid', message);
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw unprocessable(`invalid JSON pointer ${JSON.stringify(pointer)}`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (isPlainObject(v)) {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical(v[k])]),
    );
  }
  return v;
}

type Container = Record<string, unknown> | unknown[];

/** Resolves the parent container of `tokens` and the last token. */
function parentOf(
  doc: unknown,
  tokens: string[],
  op: string,
  pointer: string,
): { parent: Container; key: string } {
  let node: unknown = doc;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[arrayIndex(token, node.length - 1, op, pointer)];
    else if (isPlainObject(node) && token in node) node = node[token];
    else
      throw unprocessable(`${op} operation does not apply: doc is missing path: ${pointer}: missing value`);
  }
  if (!Array.isArray(node) && !isPlainObject(node)) {
    throw unprocessable(`${op} operation does not apply: doc is missing path: ${pointer}: missing value`);
  }
  return { parent: node, key: tokens[tokens.length - 1] ?? '' };
}

function arrayIndex(token: string, max: number, op: string, pointer: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token))
    throw unprocessable(`${op} operation does not apply: invalid index ${pointer}`);
  const i = Number(token);
  if (i > max) throw unprocessable(`${op} operation does not apply: index out of bounds ${pointer}`);
  return i;
}

function getAt(doc: unknown, pointer: string, op: string): unknown {
  let node: unknown = doc;
  for (const token of parsePointer(pointer)) {
    if (Array.isArray(node)) node = node[arrayIndex(token, node.length - 1, op, pointer)];
    else if (isPlainObject(node) && token in node) node = node[token];
    else
      throw unprocessable(`${op} operation does not apply: doc is missing path: ${pointer}: missing value`);
  }
  return node;
}

function removeAt(doc: unknown, pointer: string, op: string): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0)
    throw unprocessable(`${op} operation does not apply: cannot remove the document root`);
  const { parent, key } = parentOf(doc, tokens, op, pointer);
  if (Array.isArray(parent)) {
    const i = arrayIndex(key, parent.length - 1, op, pointer);
    return parent.splice(i, 1)[0];
  }
  if (!(key in parent))
    throw unprocessable(`${op} operation does not apply: doc is missing key: ${pointer}: missing value`);
  const old = parent[key];
  delete parent[key];
  return old;
}

function addAt(doc: unknown, pointer: string, value: unknown, op: string): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const { parent, key } = parentOf(doc, tokens, op, pointer);
  if (Array.isArray(parent)) {
    if (key === '-') parent.push(value);
    else parent.splice(arrayIndex(key, parent.length, op, pointer), 0, value);
  } else {
    parent[key] = value;
  }
  return doc;
}

/** Applies an RFC 6902 patch to a copy of `doc`; 422 when an operation does not apply or a test fails. */
export function jsonPatch(doc: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations))
    throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let result: unknown = structuredClone(doc);
  for (const raw of operations) {
    if (!isPlainObject(raw) || typeof raw['op'] !== 'string' || typeof raw['path'] !== 'string') {
      throw badRequest('invalid JSON patch operation: op and path are required');
    }
    const op = raw['op'];
    const path = raw['path'];
    switch (op) {
      case 'add':
        result = addAt(result, path, structuredClone(raw['value']), op);
        break;
      case 'remove':
        removeAt(result, path, op);
        break;
      case 'replace': {
        const tokens = parsePointer(path);
        if (tokens.length === 0) {
          result = structuredClone(raw['value']);
          break;
        }
        removeAt(result, path, op);
        result = addAt(result, path, structuredClone(raw['value']), op);
        break;
      }
      case 'move': {
        if (typeof raw['from'] !== 'string') throw badRequest('move operation requires from');
        const value = removeAt(result, raw['from'], op);
        result = addAt(result, path, value, op);
        break;
      }
      case 'copy': {
        if (typeof raw['from'] !== 'string') throw badRequest('copy operation requires from');
        const value = structuredClone(getAt(result, raw['from'], op));
        result = addAt(result, path, value, op);
        break;
      }
      case 'test': {
        let actual: unknown;
        try {
          actual = getAt(result, path, op);
        } catch {
          actual = undefined;
        }
        if (!equal(actual, raw['value'])) throw unprocessable(`testing value ${path} failed: test failed`);
        break;
      }
      default:
        throw badRequest(`Unexpected kind: ${op}`);
    }
  }
  return result;
}
