/**
 * Kubernetes `Status` failures as the API server sends them: the HTTP code, a CamelCase reason,
 * a message worded like kube-apiserver's, and details (name, group, kind, causes).
 */

export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface StatusObject {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  details?: StatusDetails;
  code: number;
}

/** A failure the HTTP layer answers with a Status object. */
export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: StatusDetails | undefined;

  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  toStatus(): StatusObject {
    const status: StatusObject = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details !== undefined) status.details = this.details;
    return status;
  }
}

/** `configmaps` for the core group, `leases.coordination.k8s.io` otherwise (GroupResource.String()). */
export function groupResource(group: string, plural: string): string {
  return group === '' ? plural : `${plural}.${group}`;
}

/** `ConfigMap` for the core group, `Lease.coordination.k8s.io` otherwise (GroupKind.String()). */
export function groupKind(group: string, kind: string): string {
  return group === '' ? kind : `${kind}.${group}`;
}

export function notFound(group: string, plural: string, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${groupResource(group, plural)} "${name}" not found`, {
    name,
    group,
    kind: plural,
  });
}

export function alreadyExists(group: string, plural: string, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${groupResource(group, plural)} "${name}" already exists`, {
    name,
    group,
    kind: plural,
  });
}

export function conflict(group: string, plural: string, name: string, why: string): ApiError {
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${groupResource(group, plural)} "${name}": ${why}`,
    { name, group, kind: plural },
  );
}

export const STALE_OBJECT =
  'the object has been modified; please apply your changes to the latest version and try again';

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

export function methodNotAllowed(message: string): ApiError {
  return new ApiError(405, 'MethodNotAllowed', message);
}

export function unsupportedMediaType(contentType: string, supported: readonly string[]): ApiError {
  return new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${supported.join(', ')}`,
    {
      causes: [
        {
          reason: 'UnexpectedHeader',
          message: `unsupported media type "${contentType}"`,
          field: 'Content-Type',
        },
      ],
    },
  );
}

export function expired(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}

export function internalError(message: string): ApiError {
  return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, {
    causes: [{ reason: '', message }],
  });
}

/** One field error, as k8s.io/apimachinery/pkg/util/validation/field.Error. */
export interface FieldError {
  /** `FieldValueInvalid`, `FieldValueRequired`, `FieldValueNotSupported`, `FieldValueTooLong`, ... */
  type: string;
  field: string;
  /** The message after the field name, e.g. `Required value` or `Invalid value: "x": ...`. */
  message: string;
}

/** Go's %v-like rendering of a bad value inside "Invalid value: ..." messages. */
export function renderValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

export const fieldErrors = {
  required(field: string, detail = ''): FieldError {
    return {
      type: 'FieldValueRequired',
      field,
      message: detail === '' ? 'Required value' : `Required value: ${detail}`,
    };
  },
  invalid(field: string, value: unknown, detail: string): FieldError {
    return { type: 'FieldValueInvalid', field, message: `Invalid value: ${renderValue(value)}: ${detail}` };
  },
  notSupported(field: string, value: unknown, allowed: readonly unknown[]): FieldError {
    return {
      type: 'FieldValueNotSupported',
      field,
      message: `Unsupported value: ${renderValue(value)}: supported values: ${allowed.map(renderValue).join(', ')}`,
    };
  },
  tooLong(field: string, max: number): FieldError {
    return { type: 'FieldValueTooLong', field, message: `Too long: may not be more than ${max} bytes` };
  },
  tooMany(field: string, actual: number, max: number): FieldError {
    return {
      type: 'FieldValueTooMany',
      field,
      message: `Too many: ${actual}: must have at most ${max} items`,
    };
  },
  forbidden(field: string, detail: string): FieldError {
    return { type: 'FieldValueForbidden', field, message: `Forbidden: ${detail}` };
  },
};

/** 422 Invalid: `Kind.group "name" is invalid: field: message` (several: `[a, b]`). */
export function invalid(group: string, kind: string, name: string, errors: readonly FieldError[]): ApiError {
  const parts = errors.map((e) => `${e.field}: ${e.message}`);
  const joined = parts.length === 1 ? (parts[0] ?? '') : `[${parts.join(', ')}]`;
  return new ApiError(422, 'Invalid', `${groupKind(group, kind)} "${name}" is invalid: ${joined}`, {
    name,
    group,
    kind,
    causes: errors.map((e) => ({ reason: e.type, message: e.message, field: e.field })),
  });
}

/** 422 for bad request options: `PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: ...`. */
export function invalidOptions(kind: string, errors: readonly FieldError[]): ApiError {
  return invalid('meta.k8s.io', kind, '', errors);
}
