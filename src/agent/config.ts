// Why this file is long: the agent's option table (53 options, each with its help) and the validation of each, naming flag and variable.
/**
 * Configuration of `hanasr agent`: from HANASR_* environment variables and command-line flags
 * (a flag wins over its variable), validated with zod. Every error names the field, its flag and
 * its variable, and never echoes a value (a password typed into the wrong field is not printed).
 *
 * Secrets never come from the command line: the SQL password from a credentials file, a mounted
 * Secret directory or HANASR_SQL_PASSWORD; the etcd passwords from HANASR_ETCD_PASSWORD_FILE and
 * HANASR_OTHER_REGION_ETCD_PASSWORD_FILE; the peer token from HANASR_PEER_TOKEN_FILE.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { z } from 'zod';
import { parseSpec, SID_PATTERN, SITE_NAME_PATTERN, type HanaSystemReplicationSpec } from '../api/spec.js';
import {
  etcdConfigOf,
  OTHER_REGION_OPTIONS,
  parseStoreConnection,
  STORE_OPTIONS,
  storeConnectionInput,
  StoreConnectionError,
  type EtcdConfig,
  type StoreField,
} from '../coordination/config.js';
import { flagOf, optionsHelp, parseOptions, type OptionTable } from '../config/options.js';
import { readSecretLine, SecretFileError } from '../config/secret-file.js';
import type { CredentialSource } from '../hana/sql/credentials.js';
import type { FenceCredentialSource } from '../fencing/credentials.js';
import { MIN_SECRET_LENGTH } from '../observability/log.js';
import { MIN_PEER_TOKEN_LENGTH } from './peer-auth.js';

const REFUSED_PASSWORD =
  'passwords are never taken from the command line (other users can read it in ps); use a file or the environment';

/**
 * Every option of `hanasr agent`, declared once: the flag (the key in kebab case unless `flag`
 * says otherwise), its environment variable and its help; --help and docs/agent.md come from it.
 */
export const AGENT_OPTIONS = {
  namespace: {
    value: 'NS',
    env: 'HANASR_NAMESPACE',
    help: 'namespace of the HanaSystemReplication (the cluster key is <namespace>.<cluster>)',
  },
  cluster: {
    value: 'NAME',
    env: 'HANASR_CLUSTER',
    help: 'name of the HanaSystemReplication, or the whole key <namespace>.<name>',
  },
  site: {
    value: 'SITE',
    env: 'HANASR_SITE',
    help: 'the site this agent runs next to (a name in spec.sites)',
  },
  specFile: {
    value: 'FILE',
    env: 'HANASR_SPEC_FILE',
    help: 'a HanaSystemReplication manifest or a bare spec (YAML/JSON): the fallback spec',
  },
  specFromStore: {
    value: 'true|false',
    env: 'HANASR_SPEC_FROM_STORE',
    help: 'true|false (default true): follow the spec the operator publishes in the store',
  },
  specRefreshSeconds: {
    value: 'S',
    env: 'HANASR_SPEC_REFRESH_SECONDS',
    help: 'how often the published spec is re-read (default 5)',
  },
  coordination: {
    value: 'etcd|memory',
    env: 'HANASR_COORDINATION',
    help: 'etcd (default) | memory (one process only: local tests)',
  },
  etcdEndpoints: STORE_OPTIONS.endpoints,
  etcdPrefix: STORE_OPTIONS.prefix,
  etcdCaFile: STORE_OPTIONS.caFile,
  etcdCertFile: STORE_OPTIONS.certFile,
  etcdKeyFile: STORE_OPTIONS.keyFile,
  etcdUsername: STORE_OPTIONS.username,
  etcdPasswordFile: STORE_OPTIONS.passwordFile,
  etcdCallTimeoutMs: STORE_OPTIONS.callTimeoutMs,
  otherRegion: OTHER_REGION_OPTIONS.name,
  otherRegionEtcdEndpoints: OTHER_REGION_OPTIONS.endpoints,
  otherRegionEtcdPrefix: OTHER_REGION_OPTIONS.prefix,
  otherRegionEtcdCaFile: OTHER_REGION_OPTIONS.caFile,
  otherRegionEtcdCertFile: OTHER_REGION_OPTIONS.certFile,
  otherRegionEtcdKeyFile: OTHER_REGION_OPTIONS.keyFile,
  otherRegionEtcdUsername: OTHER_REGION_OPTIONS.username,
  otherRegionEtcdPasswordFile: OTHER_REGION_OPTIONS.passwordFile,
  otherRegionEtcdCallTimeoutMs: OTHER_REGION_OPTIONS.callTimeoutMs,
  storeTimeoutMs: {
    value: 'MS',
    env: 'HANASR_STORE_TIMEOUT_MS',
    help: 'deadline of one coordination step of the agent (default 2000)',
  },
  sid: { value: 'SID', env: 'HANASR_SID', help: 'SAP system ID (default: spec.sid)' },
  instanceNumber: {
    value: 'NN',
    env: 'HANASR_INSTANCE_NUMBER',
    help: 'instance number, two digits (default: spec.instanceNumber)',
  },
  hdbnsutil: {
    value: 'PATH',
    env: 'HANASR_HDBNSUTIL',
    help: 'path of hdbnsutil (default /usr/sap/<SID>/HDB<NN>/exe/hdbnsutil)',
  },
  sapcontrol: {
    value: 'PATH',
    env: 'HANASR_SAPCONTROL',
    help: 'path of sapcontrol (default /usr/sap/<SID>/HDB<NN>/exe/sapcontrol)',
  },
  hdbSettings: {
    flag: 'hdbsettings',
    value: 'PATH',
    env: 'HANASR_HDBSETTINGS',
    help: 'path of HDBSettings.sh (default /usr/sap/<SID>/HDB<NN>/HDBSettings.sh)',
  },
  hdb: {
    value: 'PATH',
    env: 'HANASR_HDB',
    help: 'path of the HDB script, for HDB kill-9 (default /usr/sap/<SID>/HDB<NN>/HDB)',
  },
  runAs: {
    value: 'USER',
    env: 'HANASR_RUN_AS',
    help: 'run the HANA tools as this user through runuser (e.g. ha1adm); unset: as the agent user',
  },
  commandTimeoutSeconds: {
    value: 'S',
    env: 'HANASR_COMMAND_TIMEOUT_SECONDS',
    help: 'deadline of each probe command (default: spec probes.timeoutSeconds)',
  },
  actionTimeoutSeconds: {
    value: 'S',
    env: 'HANASR_ACTION_TIMEOUT_SECONDS',
    help: 'deadline of takeover/register/start (default 120, SAPHanaSR HANA_CALL_TIMEOUT)',
  },
  stopTimeoutSeconds: {
    value: 'S',
    env: 'HANASR_STOP_TIMEOUT_SECONDS',
    help: 'deadline of a hard stop of this site; then HDB kill-9 with the same deadline (default 30)',
  },
  sqlHost: { value: 'HOST', env: 'HANASR_SQL_HOST', help: 'SQL host of the local site (default localhost)' },
  sqlPort: { value: 'PORT', env: 'HANASR_SQL_PORT', help: 'SQL port of the local site (default 3<NN>13)' },
  sqlUser: {
    value: 'USER',
    env: 'HANASR_SQL_USER',
    help: 'SQL user (a user with the MONITORING role), with HANASR_SQL_PASSWORD_FILE or HANASR_SQL_PASSWORD',
  },
  sqlPasswordFile: {
    value: 'FILE',
    env: 'HANASR_SQL_PASSWORD_FILE',
    help: 'file holding the SQL password (first line)',
  },
  sqlCredentialsFile: {
    value: 'FILE',
    env: 'HANASR_SQL_CREDENTIALS_FILE',
    help: 'file with user= and password= lines (mode 0600)',
  },
  sqlSecretDir: {
    value: 'DIR',
    env: 'HANASR_SQL_SECRET_DIR',
    help: 'a mounted Secret with the keys user (or username) and password',
  },
  sqlPassword: {
    env: 'HANASR_SQL_PASSWORD',
    envOnly: true,
    help: 'the SQL password (e.g. from a secretKeyRef)',
  },
  sqlWriteProbeTable: {
    value: 'TABLE',
    env: 'HANASR_SQL_WRITE_PROBE_TABLE',
    help: 'also prove writes by an UPSERT into this table (created when missing)',
  },
  peerSql: {
    value: 'SITE=HOST:PORT',
    env: 'HANASR_PEER_SQL',
    multiple: true,
    help: "SITE=HOST:PORT of a peer site's SQL port (repeat the flag, or comma-separate)",
  },
  peerStatus: {
    value: 'SITE=URL',
    env: 'HANASR_PEER_STATUS',
    multiple: true,
    help: "SITE=URL of a peer agent's status server, e.g. B=http://hana-b:8082",
  },
  peerTokenFile: {
    value: 'FILE',
    env: 'HANASR_PEER_TOKEN_FILE',
    help: 'file holding the token shared by the agents of this cluster (first line, 16+ characters; e.g. a mounted Secret): proves peer checks both ways; required with --peer-status, and /status is closed without it',
  },
  fenceAgentDir: {
    value: 'DIR',
    env: 'HANASR_FENCE_AGENT_DIR',
    help: 'directory of the fence agents spec.fencing.agent.command names (default /usr/sbin)',
  },
  fenceCredentialsFile: {
    value: 'FILE',
    env: 'HANASR_FENCE_CREDENTIALS_FILE',
    help: 'fence agent credentials: name=value lines (login=, password=; SITE.password= for one site), mode 0600',
  },
  fenceCredentialsDir: {
    value: 'DIR',
    env: 'HANASR_FENCE_CREDENTIALS_DIR',
    help: 'fence agent credentials from a mounted Secret: one file per key (login, password, A.password...)',
  },
  statusHost: {
    value: 'ADDR',
    env: 'HANASR_STATUS_HOST',
    help: 'address the status server binds (default 0.0.0.0: every interface, so peers and the kubelet reach it; 127.0.0.1 keeps it local)',
  },
  statusPort: {
    value: 'PORT',
    env: 'HANASR_STATUS_PORT',
    help: 'port of /status, /healthz, /readyz (default 8082; 0 picks a free port)',
  },
  logLevel: { value: 'LEVEL', env: 'HANASR_LOG_LEVEL', help: 'debug | info | warn | error (default info)' },
  sqlPasswordFlag: { flag: 'sql-password', help: '', refused: REFUSED_PASSWORD },
  etcdPasswordFlag: { flag: 'etcd-password', help: '', refused: REFUSED_PASSWORD },
  passwordFlag: { flag: 'password', help: '', refused: REFUSED_PASSWORD },
} as const satisfies OptionTable;

/** One configuration key as the agent names it in errors: field, flag (`''`: environment only), variable. */
export interface ConfigKey {
  readonly field: string;
  readonly flag: string;
  readonly env: string;
  readonly help: string;
  /** The flag may be given several times (values are joined with commas). */
  readonly repeatable?: boolean;
  /** Only from the environment or a file, never a flag (secrets). */
  readonly envOnly?: boolean;
}

/** AGENT_OPTIONS as a list (refused flags left out). */
export const CONFIG_KEYS: readonly ConfigKey[] = Object.entries(AGENT_OPTIONS as OptionTable)
  .filter(([, spec]) => spec.refused === undefined)
  .map(([field, spec]) => ({
    field,
    flag: spec.envOnly === true ? '' : `--${flagOf(field, spec)}`,
    env: spec.env ?? '',
    help: spec.help,
    ...(spec.multiple === true ? { repeatable: true } : {}),
    ...(spec.envOnly === true ? { envOnly: true } : {}),
  }));

const KEY_BY_FIELD = new Map(CONFIG_KEYS.map((k) => [k.field, k]));

/** "site (--site / HANASR_SITE)": how an error names a field. */
export function describeField(field: string): string {
  const key = KEY_BY_FIELD.get(field);
  if (!key) return field;
  return key.flag ? `${field} (${key.flag} / ${key.env})` : `${field} (${key.env})`;
}

export interface PeerEndpoints {
  readonly sql?: { readonly host: string; readonly port: number };
  readonly statusUrl?: string;
}

export type CoordinationConfig =
  { readonly kind: 'memory' } | { readonly kind: 'etcd'; readonly etcd: EtcdConfig };

export interface AgentConfig {
  /** The cluster key in the store: <namespace>.<name>. */
  readonly cluster: string;
  readonly site: string;
  readonly specFile?: string;
  /** The spec read from specFile at configuration time (the fallback). */
  readonly fileSpec?: HanaSystemReplicationSpec;
  readonly specFromStore: boolean;
  readonly specRefreshMs: number;
  readonly coordination: CoordinationConfig;
  /**
   * Two regions (docs/dr.md): the other region's name and its etcd, read only; the agent reads its
   * region record each cycle (RegionLink), with the etcd call deadline as the read's deadline.
   */
  readonly otherRegion?: { readonly name: string; readonly etcd: EtcdConfig };
  readonly storeTimeoutMs: number;
  readonly hana: {
    readonly sid?: string;
    readonly instanceNumber?: string;
    readonly paths: {
      readonly hdbnsutil?: string;
      readonly sapcontrol?: string;
      readonly hdbSettings?: string;
      readonly hdb?: string;
    };
    readonly runAs?: string;
    /** Absent: the spec's probes.timeoutSeconds (the agent gives up on a probe then anyway). */
    readonly commandTimeoutMs?: number;
    readonly actionTimeoutMs: number;
    /** A hard stop of the own site, then the same again for `HDB kill-9`. */
    readonly stopTimeoutMs: number;
  };
  readonly sql: {
    readonly host: string;
    /** Absent: 3<NN>13 from the instance number. */
    readonly port?: number;
    /** Absent: no SQL probes (lag unknown, peers only through their agents). */
    readonly credentials?: CredentialSourceConfig;
    readonly writeProbeTable?: string;
  };
  readonly peers: Readonly<Record<string, PeerEndpoints>>;
  /** The shared peer token (read from peerTokenFile at start). */
  readonly peerToken?: string;
  /** Where this host keeps its fence agents and their credentials (spec.fencing.agent names the agent). */
  readonly fencing: { readonly agentDir: string; readonly credentials?: FenceCredentialSource };
  readonly status: { readonly host: string; readonly port: number };
  readonly logLevel: LogLevel;
}

/** loadCredentials' sources, plus a bare password file next to a user name. */
export type CredentialSourceConfig =
  CredentialSource | { readonly kind: 'password-file'; readonly user: string; readonly path: string };

export const logLevels = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof logLevels)[number];

export class AgentConfigError extends Error {
  readonly code = 'AGENT_CONFIG_INVALID' as const;
  constructor(readonly problems: readonly string[]) {
    super(`invalid agent configuration: ${problems.join('; ')}`);
    this.name = 'AgentConfigError';
  }
}

// --- raw input --------------------------------------------------------------------------------

/** Reads flags over environment variables (AGENT_OPTIONS) into one record by field. */
export function rawConfig(argv: readonly string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const parsed = parseOptions(argv, AGENT_OPTIONS, { env });
  // A positional is never echoed: it may be a value meant for a flag (a password, say).
  const problems = [
    ...parsed.problems,
    ...parsed.positionalIndexes.map((i) => `unexpected argument at position ${i + 1}`),
  ];
  if (problems.length > 0) throw new AgentConfigError(problems);
  const raw: Record<string, string> = {};
  for (const field of KEY_BY_FIELD.keys()) {
    const value = parsed.values[field];
    if (typeof value === 'string') raw[field] = value;
  }
  return raw;
}

// --- schema -----------------------------------------------------------------------------------

const text = z.string().trim().min(1, 'must not be empty');
const intIn = (min: number, max: number, unit: string) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `must be a whole number of ${unit}`)
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no'].includes(v), 'must be true or false')
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const hostPort = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9._-]+:\d{1,5}$/, 'must be HOST:PORT')
  .transform((v) => {
    const i = v.lastIndexOf(':');
    return { host: v.slice(0, i), port: Number(v.slice(i + 1)) };
  })
  .refine((v) => v.port >= 1 && v.port <= 65535, 'port must be 1-65535');
const httpUrl = z
  .string()
  .trim()
  .refine((v) => {
    try {
      const u = new URL(v);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '' && u.username === '';
    } catch {
      return false;
    }
  }, 'must be an http(s) URL without credentials, like http://hana-b:8082');

const siteList = <T extends z.ZodType>(value: T) =>
  z.string().transform((v, ctx) => {
    const out: Record<string, z.output<T>> = {};
    for (const entry of v
      .split(',')
      .map((e) => e.trim())
      .filter((e) => e !== '')) {
      const eq = entry.indexOf('=');
      const site = eq > 0 ? entry.slice(0, eq) : '';
      if (!SITE_NAME_PATTERN.test(site)) {
        ctx.addIssue({ code: 'custom', message: 'entries must be SITE=VALUE with a valid site name' });
        return z.NEVER;
      }
      if (site in out) {
        ctx.addIssue({ code: 'custom', message: `site ${site} is given twice` });
        return z.NEVER;
      }
      const parsed = value.safeParse(entry.slice(eq + 1));
      if (!parsed.success) {
        ctx.addIssue({ code: 'custom', message: `${site}: ${parsed.error.issues[0]?.message ?? 'invalid'}` });
        return z.NEVER;
      }
      out[site] = parsed.data;
    }
    return out;
  });

const rawSchema = z
  .object({
    namespace: z
      .string()
      .trim()
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a Kubernetes namespace name')
      .optional(),
    cluster: text
      .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a Kubernetes object name or <namespace>.<name>')
      .optional(),
    site: text
      .regex(SITE_NAME_PATTERN, 'must be a site name (a letter, then letters, digits, _ or -)')
      .optional(),
    specFile: text.optional(),
    specFromStore: bool.optional(),
    specRefreshSeconds: intIn(1, 3600, 'seconds').optional(),
    coordination: z.enum(['etcd', 'memory'], 'must be etcd or memory').optional(),
    etcdEndpoints: text.optional(),
    etcdPrefix: text.optional(),
    etcdCaFile: text.optional(),
    etcdCertFile: text.optional(),
    etcdKeyFile: text.optional(),
    etcdUsername: text.optional(),
    etcdPasswordFile: text.optional(),
    etcdCallTimeoutMs: intIn(50, 60_000, 'milliseconds').optional(),
    otherRegion: text
      .regex(SITE_NAME_PATTERN, 'must be a region name (a letter, then letters, digits, _ or -)')
      .optional(),
    otherRegionEtcdEndpoints: text.optional(),
    otherRegionEtcdPrefix: text.optional(),
    otherRegionEtcdCaFile: text.optional(),
    otherRegionEtcdCertFile: text.optional(),
    otherRegionEtcdKeyFile: text.optional(),
    otherRegionEtcdUsername: text.optional(),
    otherRegionEtcdPasswordFile: text.optional(),
    otherRegionEtcdCallTimeoutMs: intIn(50, 60_000, 'milliseconds').optional(),
    storeTimeoutMs: intIn(100, 120_000, 'milliseconds').optional(),
    sid: z
      .string()
      .trim()
      .regex(SID_PATTERN, 'must be three characters, an upper-case letter first (e.g. HA1)')
      .optional(),
    instanceNumber: z
      .string()
      .trim()
      .regex(/^\d{2}$/, 'must be two digits (e.g. 00)')
      .optional(),
    hdbnsutil: text.optional(),
    sapcontrol: text.optional(),
    hdbSettings: text.optional(),
    hdb: text.optional(),
    runAs: z
      .string()
      .trim()
      .regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'must be a Linux user name like ha1adm')
      .optional(),
    commandTimeoutSeconds: intIn(1, 3600, 'seconds').optional(),
    actionTimeoutSeconds: intIn(1, 7200, 'seconds').optional(),
    stopTimeoutSeconds: intIn(1, 3600, 'seconds').optional(),
    sqlHost: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9._-]+$/, 'must be a host name or address')
      .optional(),
    sqlPort: intIn(1, 65535, 'port').optional(),
    sqlUser: text.optional(),
    sqlPasswordFile: text.optional(),
    sqlCredentialsFile: text.optional(),
    sqlSecretDir: text.optional(),
    sqlPassword: z
      .string()
      .min(
        MIN_SECRET_LENGTH,
        `must be at least ${MIN_SECRET_LENGTH} characters (shorter secrets are refused)`,
      )
      .optional(),
    sqlWriteProbeTable: z
      .string()
      .trim()
      .regex(/^[A-Z_][A-Z0-9_]*(\.[A-Z_][A-Z0-9_]*)?$/i, 'must be a table name like HANASR.PROBE')
      .optional(),
    peerSql: siteList(hostPort).optional(),
    peerStatus: siteList(httpUrl).optional(),
    peerTokenFile: text.optional(),
    fenceAgentDir: text.regex(/^\/[^\0]*$/, 'must be an absolute path').optional(),
    fenceCredentialsFile: text.optional(),
    fenceCredentialsDir: text.optional(),
    statusHost: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9.:_-]+$/, 'must be an address like 0.0.0.0 or 127.0.0.1')
      .optional(),
    statusPort: intIn(0, 65535, 'port').optional(),
    logLevel: z.enum(logLevels, `must be one of ${logLevels.join(', ')}`).optional(),
  })
  .strict();

function issuesOf(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const field = issue.path.length > 0 ? String(issue.path[0]) : '(config)';
    return `${describeField(field)}: ${issue.message}`;
  });
}

let yamlParse: (typeof import('yaml'))['parse'] | undefined;
/**
 * The YAML parser, loaded the first time a spec file is read: an agent that follows the spec
 * the operator publishes (the chart's) never loads it (about 0.6 MB of heap, measured).
 */
function parseYaml(text: string): unknown {
  yamlParse ??= (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse;
  return yamlParse(text);
}

/** Reads a manifest (a HanaSystemReplication resource) or a bare spec; errors name the file and field. */
export function readSpecFile(file: string): {
  spec: HanaSystemReplicationSpec;
  namespace?: string;
  name?: string;
} {
  let textContent: string;
  try {
    textContent = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AgentConfigError([
      `${describeField('specFile')}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    ]);
  }
  let doc: unknown;
  try {
    doc = parseYaml(textContent);
  } catch (err) {
    throw new AgentConfigError([
      `${file}: not YAML or JSON (${err instanceof Error ? err.message.split('\n')[0] : 'error'})`,
    ]);
  }
  const obj = (doc ?? {}) as Record<string, unknown>;
  const isResource = typeof obj === 'object' && 'spec' in obj && ('kind' in obj || 'metadata' in obj);
  try {
    const spec = parseSpec(isResource ? obj.spec : obj, isResource ? 'spec' : '');
    const meta = (isResource ? (obj.metadata ?? {}) : {}) as Record<string, unknown>;
    return {
      spec,
      ...(typeof meta.namespace === 'string' ? { namespace: meta.namespace } : {}),
      ...(typeof meta.name === 'string' ? { name: meta.name } : {}),
    };
  } catch (err) {
    throw new AgentConfigError([`${file}: ${err instanceof Error ? err.message : String(err)}`]);
  }
}

function readFirstLine(file: string, field: string, minLength = MIN_SECRET_LENGTH): string {
  try {
    return readSecretLine(file, minLength);
  } catch (err) {
    if (err instanceof SecretFileError)
      throw new AgentConfigError([`${describeField(field)}: ${err.message}`]);
    throw err;
  }
}

/** The agent's name of a store connection field: endpoints -> etcdEndpoints (otherRegionEtcdEndpoints). */
function agentFieldOf(field: StoreField, prefix = 'etcd'): string {
  return `${prefix}${field[0]!.toUpperCase()}${field.slice(1)}`;
}

/** The etcd configuration of the agent's store options; problems named by the agent's fields. */
function agentEtcdConfig(
  r: Readonly<Record<string, unknown>>,
  problems: string[],
  prefix = 'etcd',
): EtcdConfig | undefined {
  const agentFieldOf_ = (field: StoreField) => agentFieldOf(field, prefix);
  const values: Record<string, unknown> = {};
  for (const field of Object.keys(STORE_OPTIONS) as StoreField[]) values[field] = r[agentFieldOf_(field)];
  if (typeof values.callTimeoutMs === 'number') values.callTimeoutMs = String(values.callTimeoutMs);
  try {
    return etcdConfigOf(parseStoreConnection(storeConnectionInput(values)), {
      readPassword: (file) => readSecretLine(file),
    });
  } catch (err) {
    if (!(err instanceof StoreConnectionError)) throw err;
    for (const p of err.problems)
      problems.push(
        p.field !== null ? `${describeField(agentFieldOf_(p.field))}: ${p.message}` : `etcd ${p.message}`,
      );
    return undefined;
  }
}

/**
 * Builds the agent configuration from flags and environment. Reads the spec file (and the etcd
 * password file) now, so a broken file fails at start with its name; SQL credentials are read
 * before every probe (a rotated Secret is picked up).
 */
export function loadAgentConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const parsed = rawSchema.safeParse(rawConfig(argv, env));
  if (!parsed.success) throw new AgentConfigError(issuesOf(parsed.error));
  const r = parsed.data;
  const problems: string[] = [];

  const file = r.specFile !== undefined ? readSpecFile(r.specFile) : undefined;
  const specFromStore = r.specFromStore ?? true;
  if (!file && !specFromStore)
    problems.push(`${describeField('specFile')}: required when ${describeField('specFromStore')} is false`);

  // The cluster key: <namespace>.<name>, from the flags/env, else from the manifest's metadata.
  const name = r.cluster ?? file?.name;
  const namespace = r.namespace ?? file?.namespace;
  let cluster = '';
  if (name === undefined) problems.push(`${describeField('cluster')}: required`);
  else if (name.includes('.')) {
    if (r.namespace !== undefined && !name.startsWith(`${r.namespace}.`))
      problems.push(
        `${describeField('cluster')}: the key ${name} does not belong to namespace ${r.namespace}`,
      );
    cluster = name;
  } else if (namespace === undefined)
    problems.push(
      `${describeField('namespace')}: required (or give ${describeField('cluster')} as <namespace>.<name>)`,
    );
  else cluster = `${namespace}.${name}`;

  if (r.site === undefined) problems.push(`${describeField('site')}: required`);
  else if (file && !file.spec.sites.some((s) => s.name === r.site))
    problems.push(`${describeField('site')}: ${r.site} is not one of the sites in ${r.specFile}`);

  if (file && r.sid !== undefined && r.sid !== file.spec.sid)
    problems.push(`${describeField('sid')}: ${r.sid} differs from spec.sid in ${r.specFile}`);
  if (file && r.instanceNumber !== undefined && r.instanceNumber !== file.spec.instanceNumber)
    problems.push(`${describeField('instanceNumber')}: differs from spec.instanceNumber in ${r.specFile}`);

  // Coordination.
  const kind = r.coordination ?? 'etcd';
  let coordination: CoordinationConfig = { kind: 'memory' };
  if (kind === 'etcd') {
    if (r.etcdEndpoints === undefined) {
      problems.push(`${describeField('etcdEndpoints')}: required with etcd coordination`);
    } else {
      const etcd = agentEtcdConfig(r, problems);
      if (etcd !== undefined) coordination = { kind: 'etcd', etcd };
    }
  }

  // The other region's store (docs/dr.md): its name and endpoints go together.
  let otherRegion: AgentConfig['otherRegion'];
  if ((r.otherRegion === undefined) !== (r.otherRegionEtcdEndpoints === undefined))
    problems.push(
      `${describeField('otherRegion')} and ${describeField('otherRegionEtcdEndpoints')} go together: give both or neither`,
    );
  else if (r.otherRegion !== undefined) {
    const etcd = agentEtcdConfig(r, problems, 'otherRegionEtcd');
    if (etcd !== undefined) otherRegion = { name: r.otherRegion, etcd };
  }
  if (file && r.otherRegion !== undefined) {
    const regions = new Set(file.spec.sites.flatMap((s) => (s.region !== undefined ? [s.region] : [])));
    const own = file.spec.sites.find((s) => s.name === r.site)?.region;
    if (!regions.has(r.otherRegion) || own === r.otherRegion)
      problems.push(
        `${describeField('otherRegion')}: ${r.otherRegion} is not the other region of site ${r.site ?? '?'} in ${r.specFile}`,
      );
  }

  // SQL credentials: exactly one source.
  const sources = [
    r.sqlCredentialsFile !== undefined ? 'sqlCredentialsFile' : null,
    r.sqlSecretDir !== undefined ? 'sqlSecretDir' : null,
    r.sqlPasswordFile !== undefined ? 'sqlPasswordFile' : null,
    r.sqlPassword !== undefined ? 'sqlPassword' : null,
  ].filter((s): s is string => s !== null);
  let credentials: CredentialSourceConfig | undefined;
  if (sources.length > 1) {
    problems.push(`SQL credentials: give one of ${sources.map(describeField).join(', ')}, not several`);
  } else if (r.sqlCredentialsFile !== undefined) {
    credentials = { kind: 'file', path: r.sqlCredentialsFile };
  } else if (r.sqlSecretDir !== undefined) {
    credentials = { kind: 'secret', dir: r.sqlSecretDir };
  } else if (r.sqlPasswordFile !== undefined || r.sqlPassword !== undefined) {
    if (r.sqlUser === undefined) problems.push(`${describeField('sqlUser')}: required with a SQL password`);
    else if (r.sqlPasswordFile !== undefined)
      credentials = { kind: 'password-file', user: r.sqlUser, path: r.sqlPasswordFile };
    else credentials = { kind: 'env', userVar: 'HANASR_SQL_USER', passwordVar: 'HANASR_SQL_PASSWORD' };
  } else if (r.sqlUser !== undefined) {
    problems.push(
      `${describeField('sqlUser')}: needs a password source (${describeField('sqlPasswordFile')} or HANASR_SQL_PASSWORD)`,
    );
  }

  // Peers: every peer named must be a site of the file's spec (the store's spec is checked later).
  const peers: Record<string, { sql?: { host: string; port: number }; statusUrl?: string }> = {};
  for (const [site, sql] of Object.entries(r.peerSql ?? {})) (peers[site] ??= {}).sql = sql;
  for (const [site, url] of Object.entries(r.peerStatus ?? {})) (peers[site] ??= {}).statusUrl = url;
  for (const site of Object.keys(peers)) {
    if (site === r.site) problems.push(`${describeField('peerSql')}: lists this agent's own site ${site}`);
    else if (file && !file.spec.sites.some((s) => s.name === site))
      problems.push(`${describeField('peerSql')}: ${site} is not one of the sites in ${r.specFile}`);
  }
  if (Object.values(peers).some((p) => p.sql) && !credentials)
    problems.push(`${describeField('peerSql')}: SQL checks of peers need SQL credentials`);
  // Peer checks are authenticated: an agent that reads its peers' /status needs the shared token.
  let peerToken: string | undefined;
  if (r.peerTokenFile !== undefined) {
    try {
      peerToken = readFirstLine(r.peerTokenFile, 'peerTokenFile', MIN_PEER_TOKEN_LENGTH);
    } catch (err) {
      problems.push(...(err as AgentConfigError).problems);
    }
  } else if (Object.values(peers).some((p) => p.statusUrl !== undefined)) {
    problems.push(
      `${describeField('peerTokenFile')}: required with ${describeField('peerStatus')} (peer checks are authenticated)`,
    );
  }

  // Fence agent credentials: at most one source; read at every fence call (rotation is picked up).
  if (r.fenceCredentialsFile !== undefined && r.fenceCredentialsDir !== undefined)
    problems.push(
      `fence credentials: give one of ${describeField('fenceCredentialsFile')}, ${describeField('fenceCredentialsDir')}, not both`,
    );
  const fenceCredentials: FenceCredentialSource | undefined =
    r.fenceCredentialsFile !== undefined
      ? { kind: 'file', path: r.fenceCredentialsFile }
      : r.fenceCredentialsDir !== undefined
        ? { kind: 'secret', dir: r.fenceCredentialsDir }
        : undefined;

  const actionTimeoutMs = (r.actionTimeoutSeconds ?? 120) * 1000;
  if (problems.length > 0) throw new AgentConfigError(problems);

  return {
    cluster,
    site: r.site!,
    ...(r.specFile !== undefined ? { specFile: r.specFile } : {}),
    ...(file ? { fileSpec: file.spec } : {}),
    specFromStore,
    specRefreshMs: (r.specRefreshSeconds ?? 5) * 1000,
    coordination,
    ...(otherRegion !== undefined ? { otherRegion } : {}),
    storeTimeoutMs: r.storeTimeoutMs ?? 2000,
    hana: {
      ...(r.sid !== undefined ? { sid: r.sid } : {}),
      ...(r.instanceNumber !== undefined ? { instanceNumber: r.instanceNumber } : {}),
      paths: {
        ...(r.hdbnsutil !== undefined ? { hdbnsutil: r.hdbnsutil } : {}),
        ...(r.sapcontrol !== undefined ? { sapcontrol: r.sapcontrol } : {}),
        ...(r.hdbSettings !== undefined ? { hdbSettings: r.hdbSettings } : {}),
        ...(r.hdb !== undefined ? { hdb: r.hdb } : {}),
      },
      ...(r.runAs !== undefined ? { runAs: r.runAs } : {}),
      ...(r.commandTimeoutSeconds !== undefined ? { commandTimeoutMs: r.commandTimeoutSeconds * 1000 } : {}),
      actionTimeoutMs,
      stopTimeoutMs: (r.stopTimeoutSeconds ?? 30) * 1000,
    },
    sql: {
      host: r.sqlHost ?? 'localhost',
      ...(r.sqlPort !== undefined ? { port: r.sqlPort } : {}),
      ...(credentials ? { credentials } : {}),
      ...(r.sqlWriteProbeTable !== undefined ? { writeProbeTable: r.sqlWriteProbeTable } : {}),
    },
    peers,
    ...(peerToken !== undefined ? { peerToken } : {}),
    fencing: {
      agentDir: r.fenceAgentDir ?? '/usr/sbin',
      ...(fenceCredentials !== undefined ? { credentials: fenceCredentials } : {}),
    },
    status: { host: r.statusHost ?? '0.0.0.0', port: r.statusPort ?? 8082 },
    logLevel: r.logLevel ?? 'info',
  };
}

/** The --help text's option table: every flag with its environment variable. */
export function configHelp(): string {
  return optionsHelp(AGENT_OPTIONS);
}
