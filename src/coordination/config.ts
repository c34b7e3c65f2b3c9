/**
 * The coordination store's connection, one place for every process that reaches etcd (agent,
 * operator, the DBA commands, the demo): its options (flags and environment variables, declared
 * once), its shape as configured (`storeConnectionSchema`), and the etcd adapter's validated
 * configuration (`etcdConfigSchema`) built from it. Error messages name the field and never echo
 * a value (so a password typed into the wrong field is not printed).
 */
import { z } from 'zod';
import type { OptionSpec } from '../config/options.js';

const endpoint = z
  .string()
  .trim()
  .refine(
    (value) => {
      try {
        const url = new URL(value);
        return (
          (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' && url.port !== ''
        );
      } catch {
        return false;
      }
    },
    { message: 'must be a URL with scheme, host and port, like https://etcd-0.etcd:2379' },
  );

const pemFile = z.string().trim().min(1, 'must be a file path');

export const etcdConfigSchema = z
  .object({
    /** Client URLs of the etcd members (all http:// or all https://). */
    endpoints: z.array(endpoint).min(1, 'needs at least one etcd endpoint'),
    tls: z
      .object({
        /** CA bundle that signed the etcd servers' certificates (PEM file). */
        caFile: pemFile,
        /** Client certificate for mutual TLS (PEM file); needs keyFile. */
        certFile: pemFile.optional(),
        /** Client private key (PEM file); needs certFile. */
        keyFile: pemFile.optional(),
      })
      .strict()
      .refine((tls) => (tls.certFile === undefined) === (tls.keyFile === undefined), {
        message: 'certFile and keyFile go together: give both or neither',
      })
      .optional(),
    auth: z
      .object({
        username: z.string().min(1, 'must not be empty'),
        password: z.string().min(1, 'must not be empty'),
      })
      .strict()
      .optional(),
    /** Lease TTL of agents and operator replicas (etcd's minimum is 1 s). */
    leaseTtlSeconds: z.number().int('must be a whole number of seconds').min(1).max(300).default(10),
    /** Every key lives under this prefix. */
    keyPrefix: z
      .string()
      .regex(/^\/[A-Za-z0-9._\-/]*[^/]$/, 'must start with "/" and not end with "/", like /hanasr')
      .default('/hanasr'),
    /** Deadline of every unary call (ms). */
    callTimeoutMs: z.number().int('must be a whole number of milliseconds').min(50).max(60_000).default(1000),
  })
  .strict()
  .superRefine((config, ctx) => {
    const secure = config.endpoints.filter((e) => e.startsWith('https:')).length;
    if (secure !== 0 && secure !== config.endpoints.length) {
      ctx.addIssue({ code: 'custom', path: ['endpoints'], message: 'mixes http:// and https:// endpoints' });
    }
    if (config.tls && secure === 0) {
      ctx.addIssue({ code: 'custom', path: ['tls'], message: 'is set but the endpoints use http://' });
    }
    if (config.callTimeoutMs * 2 > config.leaseTtlSeconds * 1000) {
      ctx.addIssue({
        code: 'custom',
        path: ['callTimeoutMs'],
        message:
          'must be at most half of leaseTtlSeconds, or a renewal cannot complete before the lease expires',
      });
    }
  });

export type EtcdConfigInput = z.input<typeof etcdConfigSchema>;
export type EtcdConfig = z.output<typeof etcdConfigSchema>;

export class EtcdConfigError extends Error {
  readonly code = 'ETCD_CONFIG_INVALID' as const;
  constructor(readonly problems: readonly string[]) {
    super(`invalid etcd configuration: ${problems.join('; ')}`);
    this.name = 'EtcdConfigError';
  }
}

/** Validates and fills defaults; throws EtcdConfigError naming each bad field. */
export function parseEtcdConfig(input: unknown): EtcdConfig {
  const result = etcdConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(config)';
    return `${path}: ${describe(issue)}`;
  });
  throw new EtcdConfigError(problems);
}

/** zod's default messages may quote the unknown key names but never the values; keep it so. */
function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown field(s) ${issue.keys.join(', ')}`;
  return issue.message;
}

/** The config as it may be logged: the password is replaced. */
export function redactEtcdConfig(config: EtcdConfig): Record<string, unknown> {
  return {
    ...config,
    ...(config.auth ? { auth: { username: config.auth.username, password: '<redacted>' } } : {}),
  };
}

// --- the connection as configured, from flags, environment or a config object -------------------

/** The store's options, by connection field: flag, environment variable and help, declared once. */
export const STORE_OPTIONS = {
  endpoints: {
    flag: 'etcd-endpoints',
    env: 'HANASR_ETCD_ENDPOINTS',
    value: 'URL[,URL...]',
    help: 'comma-separated etcd client URLs (https://etcd-0:2379,...)',
  },
  prefix: {
    flag: 'etcd-prefix',
    env: 'HANASR_ETCD_PREFIX',
    value: '/PATH',
    help: 'key prefix (default /hanasr)',
  },
  caFile: {
    flag: 'etcd-ca-file',
    env: 'HANASR_ETCD_CA_FILE',
    value: 'FILE',
    help: 'CA bundle of the etcd servers (PEM)',
  },
  certFile: {
    flag: 'etcd-cert-file',
    env: 'HANASR_ETCD_CERT_FILE',
    value: 'FILE',
    help: 'client certificate for mutual TLS (PEM)',
  },
  keyFile: {
    flag: 'etcd-key-file',
    env: 'HANASR_ETCD_KEY_FILE',
    value: 'FILE',
    help: 'client private key for mutual TLS (PEM)',
  },
  username: {
    flag: 'etcd-username',
    env: 'HANASR_ETCD_USERNAME',
    value: 'USER',
    help: 'etcd user (with HANASR_ETCD_PASSWORD_FILE)',
  },
  passwordFile: {
    flag: 'etcd-password-file',
    env: 'HANASR_ETCD_PASSWORD_FILE',
    value: 'FILE',
    help: 'file holding the etcd password (first line)',
  },
  callTimeoutMs: {
    flag: 'etcd-call-timeout-ms',
    env: 'HANASR_ETCD_CALL_TIMEOUT_MS',
    value: 'MS',
    help: 'deadline of one etcd call (default 1000)',
  },
} as const satisfies Record<string, OptionSpec>;

/**
 * The other region's etcd (docs/dr.md: one store per region; agents and the operator read the
 * other region's store, never write it): the same fields as STORE_OPTIONS under `other-region-`
 * flags and `HANASR_OTHER_REGION_` variables.
 */
function otherRegionOption<F extends StoreField>(field: F) {
  const base = STORE_OPTIONS[field];
  return {
    flag: `other-region-${base.flag}`,
    env: base.env.replace(/^HANASR_/, 'HANASR_OTHER_REGION_'),
    value: base.value,
    help: `the other region's store: ${base.help.replace('HANASR_ETCD_', 'HANASR_OTHER_REGION_ETCD_')}${field === 'callTimeoutMs' ? '; also the deadline of one read across' : ''}`,
  } as const;
}

export const OTHER_REGION_OPTIONS = {
  name: {
    flag: 'other-region',
    env: 'HANASR_OTHER_REGION',
    value: 'REGION',
    help: "two regions (docs/dr.md): the other region's name as sites[].region gives it; with --other-region-etcd-endpoints its store is read (read only) each cycle. In a two-region landscape an agent without it never leads, and the operator cannot tell whether the active region answers",
  },
  endpoints: otherRegionOption('endpoints'),
  prefix: otherRegionOption('prefix'),
  caFile: otherRegionOption('caFile'),
  certFile: otherRegionOption('certFile'),
  keyFile: otherRegionOption('keyFile'),
  username: otherRegionOption('username'),
  passwordFile: otherRegionOption('passwordFile'),
  callTimeoutMs: otherRegionOption('callTimeoutMs'),
} as const satisfies Record<'name' | StoreField, OptionSpec>;

/** The connection as configured (the password file not read yet); every caller's one shape. */
export const storeConnectionSchema = z
  .object({
    /** Client URLs of the etcd members; empty only without etcd (the caller says when it is needed). */
    endpoints: z.array(z.string()).default([]),
    prefix: z.string().default('/hanasr'),
    caFile: z.string().min(1).optional(),
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    username: z.string().min(1).optional(),
    passwordFile: z.string().min(1).optional(),
    /** Deadline of one etcd call (ms). */
    callTimeoutMs: z.number().int().min(50).max(60_000).default(1000),
  })
  .strict();

export type StoreConnectionInput = z.input<typeof storeConnectionSchema>;
export type StoreConnection = z.output<typeof storeConnectionSchema>;
export type StoreField = keyof typeof STORE_OPTIONS;

/** A problem of the connection, by field (the caller names the field its way). */
export interface StoreProblem {
  readonly field: StoreField | null;
  readonly message: string;
}

export class StoreConnectionError extends Error {
  readonly code = 'STORE_CONNECTION_INVALID' as const;
  constructor(readonly problems: readonly StoreProblem[]) {
    super(
      `invalid etcd configuration: ${problems.map((p) => (p.field ? `--${STORE_OPTIONS[p.field].flag}: ${p.message}` : p.message)).join('; ')}`,
    );
    this.name = 'StoreConnectionError';
  }
}

/** The comma-separated endpoints of a flag or variable, as a list. */
export function splitEndpoints(text: string): string[] {
  return text
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
}

/** Where each path of etcdConfigSchema comes from in the connection. */
const FIELD_OF_PATH: Readonly<Record<string, StoreField>> = {
  endpoints: 'endpoints',
  keyPrefix: 'prefix',
  callTimeoutMs: 'callTimeoutMs',
  tls: 'caFile',
  'tls.caFile': 'caFile',
  'tls.certFile': 'certFile',
  'tls.keyFile': 'keyFile',
  'auth.username': 'username',
  'auth.password': 'passwordFile',
};

/**
 * The etcd adapter's configuration of a connection: checks the pairs (a client certificate needs
 * the CA, a user its password file), reads the password file through `readPassword` (which
 * throws an Error saying why it refuses the file), validates with etcdConfigSchema. Throws
 * StoreConnectionError naming each bad field.
 */
export function etcdConfigOf(
  connection: StoreConnection,
  options: { readonly leaseTtlSeconds?: number; readonly readPassword: (file: string) => string },
): EtcdConfig {
  const c = connection;
  const problems: StoreProblem[] = [];
  const input: Record<string, unknown> = {
    endpoints: c.endpoints,
    keyPrefix: c.prefix,
    callTimeoutMs: c.callTimeoutMs,
    ...(options.leaseTtlSeconds !== undefined ? { leaseTtlSeconds: options.leaseTtlSeconds } : {}),
  };
  if (c.caFile !== undefined || c.certFile !== undefined || c.keyFile !== undefined) {
    if (c.caFile === undefined)
      problems.push({ field: 'caFile', message: 'required with a client certificate' });
    input.tls = {
      caFile: c.caFile ?? '',
      ...(c.certFile !== undefined ? { certFile: c.certFile } : {}),
      ...(c.keyFile !== undefined ? { keyFile: c.keyFile } : {}),
    };
  }
  if ((c.username === undefined) !== (c.passwordFile === undefined)) {
    problems.push({
      field: 'username',
      message: `goes with --${STORE_OPTIONS.passwordFile.flag} / ${STORE_OPTIONS.passwordFile.env}: give both or neither`,
    });
  } else if (c.username !== undefined && c.passwordFile !== undefined) {
    try {
      input.auth = { username: c.username, password: options.readPassword(c.passwordFile) };
    } catch (err) {
      problems.push({ field: 'passwordFile', message: err instanceof Error ? err.message : String(err) });
    }
  }
  const result = etcdConfigSchema.safeParse(input);
  if (result.success && problems.length === 0) return result.data;
  if (!result.success) {
    for (const issue of result.error.issues) {
      const path = issue.path.filter((p) => typeof p !== 'number').join('.');
      const field = FIELD_OF_PATH[path] ?? null;
      const message = describe(issue);
      problems.push({ field, message: field !== null ? message : `${path || '(config)'}: ${message}` });
    }
  }
  throw new StoreConnectionError(problems);
}

/** The connection input of option values (strings, by STORE_OPTIONS field); absent ones left out. */
export function storeConnectionInput(values: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const field of Object.keys(STORE_OPTIONS) as StoreField[]) {
    const v = values[field];
    if (typeof v !== 'string') continue;
    if (field === 'endpoints') input[field] = splitEndpoints(v);
    else if (field === 'callTimeoutMs') input[field] = /^\s*\d+\s*$/.test(v) ? Number(v) : v;
    else input[field] = v;
  }
  return input;
}

/** Validates a connection input; throws StoreConnectionError naming each bad field. */
export function parseStoreConnection(input: unknown): StoreConnection {
  const result = storeConnectionSchema.safeParse(input);
  if (result.success) return result.data;
  throw new StoreConnectionError(
    result.error.issues.map((issue) => {
      const head = issue.path[0];
      const field = typeof head === 'string' && head in STORE_OPTIONS ? (head as StoreField) : null;
      return { field, message: describe(issue) };
    }),
  );
}
