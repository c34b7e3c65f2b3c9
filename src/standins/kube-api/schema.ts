/**
 * A structural OpenAPI v3 schema engine for custom resources, in the order kube-apiserver
 * applies it: drop nulls of non-nullable fields, prune unknown fields, apply defaults, validate.
 * Error texts follow kube-openapi's as converted by apiextensions-apiserver
 * (`spec.x: Invalid value: "a": spec.x in body should match '^b$'`).
 */
import { fieldErrors, type FieldError } from './errors.js';

export interface JSONSchemaProps {
  type?: string;
  format?: string;
  description?: string;
  properties?: Record<string, JSONSchemaProps>;
  required?: string[];
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  items?: JSONSchemaProps;
  additionalProperties?: boolean | JSONSchemaProps;
  nullable?: boolean;
  default?: unknown;
  allOf?: JSONSchemaProps[];
  anyOf?: JSONSchemaProps[];
  oneOf?: JSONSchemaProps[];
  not?: JSONSchemaProps;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
}

type Json = unknown;

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

const ROOT_KEPT = new Set(['apiVersion', 'kind', 'metadata']);

/**
 * Removes nulls of non-nullable fields and fields the schema does not know, in place.
 * `root` keeps apiVersion, kind and metadata as the API server does for a custom resource.
 * The paths of the unknown fields removed (`spec.sites[0].colour`) go to `unknown`.
 */
export function prune(
  value: Json,
  schema: JSONSchemaProps | undefined,
  root = false,
  unknown: string[] = [],
  path = '',
): Json {
  if (schema === undefined) return value;
  if (Array.isArray(value)) {
    if (schema.items !== undefined) {
      value.forEach((item, i) => prune(item, schema.items, false, unknown, `${path}[${i}]`));
    }
    return value;
  }
  if (!isPlainObject(value)) return value;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  const embedded = root || schema['x-kubernetes-embedded-resource'] === true;
  for (const key of Object.keys(value)) {
    if (embedded && ROOT_KEPT.has(key)) continue;
    const child = value[key];
    const propSchema = schema.properties?.[key];
    const additional = schema.additionalProperties;
    const childSchema = propSchema ?? (isPlainObject(additional) ? additional : undefined);
    if (childSchema === undefined && !preserve && additional !== true) {
      unknown.push(join(path, key));
      delete value[key];
      continue;
    }
    if (child === null && childSchema !== undefined && childSchema.nullable !== true) {
      delete value[key];
      continue;
    }
    prune(child, childSchema, false, unknown, join(path, key));
  }
  return value;
}

/** Applies `default`s top-down, in place (a defaulted object gets its nested defaults too). */
export function applyDefaults(value: Json, schema: JSONSchemaProps | undefined): Json {
  if (schema === undefined) return value;
  if (Array.isArray(value)) {
    if (schema.items !== undefined) for (const item of value) applyDefaults(item, schema.items);
    return value;
  }
  if (!isPlainObject(value)) return value;
  for (const [key, propSchema] of Object.entries(schema.properties ?? {})) {
    if (value[key] === undefined && propSchema.default !== undefined) {
      value[key] = prune(clone(propSchema.default), propSchema);
    }
  }
  for (const [key, child] of Object.entries(value)) {
    const propSchema = schema.properties?.[key];
    const additional = schema.additionalProperties;
    applyDefaults(child, propSchema ?? (isPlainObject(additional) ? additional : undefined));
  }
  return value;
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(v: unknown, schema: JSONSchemaProps): boolean {
  if (schema['x-kubernetes-int-or-string'] === true) {
    return typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v));
  }
  switch (schema.type) {
    case undefined:
    case '':
      return true;
    case 'object':
      return isPlainObject(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return typeof v === 'boolean';
    default:
      return false;
  }
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

/** Validates `value` at `path` (`''` for the object root); returns every field error found. */
export function validate(
  value: Json,
  schema: JSONSchemaProps | undefined,
  path = '',
  root = false,
): FieldError[] {
  const errors: FieldError[] = [];
  if (schema === undefined) return errors;
  const at = path === '' ? '<root>' : path;
  if (value === null) {
    if (schema.nullable === true) return errors;
    if (schema.type !== undefined && schema.type !== '') {
      errors.push({
        type: 'FieldValueTypeInvalid',
        field: path,
        message: `Invalid value: "null": ${at} in body must be of type ${schema.type}: "null"`,
      });
    }
    return errors;
  }
  if (!typeMatches(value, schema)) {
    const want = schema['x-kubernetes-int-or-string'] === true ? 'integer or string' : (schema.type ?? '');
    const got = jsonType(value);
    errors.push({
      type: 'FieldValueTypeInvalid',
      field: path,
      message: `Invalid value: "${got}": ${at} in body must be of type ${want}: "${got}"`,
    });
    return errors;
  }
  if (schema.enum !== undefined && !schema.enum.some((e) => deepEqual(e, value))) {
    errors.push(fieldErrors.notSupported(path, value, schema.enum));
  }
  if (typeof value === 'string') {
    const length = [...value].length;
    if (schema.maxLength !== undefined && length > schema.maxLength) {
      errors.push(fieldErrors.tooLong(path, schema.maxLength));
    }
    if (schema.minLength !== undefined && length < schema.minLength) {
      errors.push(
        fieldErrors.invalid(path, value, `${at} in body should be at least ${schema.minLength} chars long`),
      );
    }
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) {
      errors.push(fieldErrors.invalid(path, value, `${at} in body should match '${schema.pattern}'`));
    }
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined) {
      const bad = schema.exclusiveMinimum === true ? value <= schema.minimum : value < schema.minimum;
      const rel = schema.exclusiveMinimum === true ? 'greater than' : 'greater than or equal to';
      if (bad)
        errors.push(fieldErrors.invalid(path, value, `${at} in body should be ${rel} ${schema.minimum}`));
    }
    if (schema.maximum !== undefined) {
      const bad = schema.exclusiveMaximum === true ? value >= schema.maximum : value > schema.maximum;
      const rel = schema.exclusiveMaximum === true ? 'less than' : 'less than or equal to';
      if (bad)
        errors.push(fieldErrors.invalid(path, value, `${at} in body should be ${rel} ${schema.maximum}`));
    }
    if (schema.multipleOf !== undefined && schema.multipleOf > 0) {
      const q = value / schema.multipleOf;
      if (Math.abs(q - Math.round(q)) > 1e-9) {
        errors.push(
          fieldErrors.invalid(path, value, `${at} in body should be a multiple of ${schema.multipleOf}`),
        );
      }
    }
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      errors.push(
        fieldErrors.invalid(
          path,
          value.length,
          `${at} in body should have at least ${schema.minItems} items`,
        ),
      );
    }
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      errors.push(fieldErrors.tooMany(path, value.length, schema.maxItems));
    }
    if (schema.items !== undefined) {
      value.forEach((item, i) => errors.push(...validate(item, schema.items, `${path}[${i}]`)));
    }
  }
  if (isPlainObject(value)) {
    for (const name of schema.required ?? []) {
      if (value[name] === undefined) errors.push(fieldErrors.required(join(path, name)));
    }
    const count = Object.keys(value).length;
    if (schema.minProperties !== undefined && count < schema.minProperties) {
      errors.push(
        fieldErrors.invalid(
          path,
          count,
          `${at} in body should have at least ${schema.minProperties} properties`,
        ),
      );
    }
    if (schema.maxProperties !== undefined && count > schema.maxProperties) {
      errors.push(fieldErrors.tooMany(path, count, schema.maxProperties));
    }
    for (const [key, child] of Object.entries(value)) {
      if (root && ROOT_KEPT.has(key)) continue;
      const propSchema = schema.properties?.[key];
      const additional = schema.additionalProperties;
      if (propSchema !== undefined) errors.push(...validate(child, propSchema, join(path, key)));
      else if (isPlainObject(additional)) errors.push(...validate(child, additional, join(path, key)));
    }
  }
  for (const sub of schema.allOf ?? []) errors.push(...validate(value, sub, path));
  if (schema.anyOf !== undefined && !schema.anyOf.some((s) => validate(value, s, path).length === 0)) {
    errors.push(fieldErrors.invalid(path, value, `${at} in body must validate at least one schema (anyOf)`));
  }
  if (
    schema.oneOf !== undefined &&
    schema.oneOf.filter((s) => validate(value, s, path).length === 0).length !== 1
  ) {
    errors.push(
      fieldErrors.invalid(path, value, `${at} in body must validate one and only one schema (oneOf)`),
    );
  }
  if (schema.not !== undefined && validate(value, schema.not, path).length === 0) {
    errors.push(fieldErrors.invalid(path, value, `${at} in body must not validate the schema (not)`));
  }
  return errors;
}

/**
 * Prunes, defaults and validates a custom resource against its version's schema, in place.
 * Returns the field errors (empty when valid).
 */
export function admitCustomResource(
  object: Record<string, unknown>,
  schema: JSONSchemaProps | undefined,
): FieldError[] {
  if (schema === undefined) return [];
  prune(object, schema, true);
  applyDefaults(object, schema);
  return validate(object, schema, '', true);
}
