/**
 * Configuration of the etcd coordination adapter, validated with zod. Error messages name the
 * field and never echo a value (so a password typed into the wrong field is not printed).
 */
import { z } from 'zod';

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
