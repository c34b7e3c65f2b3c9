/**
 * The HanaSystemReplication spec: the one schema behind runtime validation, the TypeScript
 * types and the CRD's OpenAPI schema. Defaults are the safe choice for each knob. Each field's
 * `.describe()` text is its documentation: the CRD carries it, so `kubectl explain` prints it.
 */
import { z } from 'zod';

/** SAP system ID: three characters, an upper-case letter first (SAP note 1979280). */
export const SID_PATTERN = /^[A-Z][A-Z0-9]{2}$/;
/** Site names reach `hdbnsutil --name=` and etcd keys: keep them to a conservative alphabet. */
export const SITE_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
/** RFC 1123 host name or IPv4 address. */
export const HOST_PATTERN =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export const replicationModes = ['sync', 'syncmem', 'async'] as const;
export const operationModes = ['logreplay', 'delta_datashipping', 'logreplay_readaccess'] as const;

export const siteSpecSchema = z
  .object({
    name: z
      .string()
      .regex(SITE_NAME_PATTERN, 'must start with a letter and use only letters, digits, _ and -')
      .describe(
        'Site name as given to hdbnsutil --name: a letter, then letters, digits, _ or - (at most 64).',
      ),
    host: z
      .string()
      .regex(HOST_PATTERN, 'must be a DNS host name or an IPv4 address')
      .describe('Host name or IPv4 address of the site master.'),
    priority: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(100)
      .describe('Higher wins when several secondaries are eligible for takeover.'),
    source: z
      .string()
      .regex(SITE_NAME_PATTERN)
      .optional()
      .describe(
        'The site this one replicates from (multitier A->B->C). Absent: the primary tier. Only tier-2 sites (replicating from the primary) are promoted automatically.',
      ),
    autoTakeover: z
      .boolean()
      .default(true)
      .describe(
        "false marks a disaster-recovery site that is never promoted automatically (SAPHanaSR's DR).",
      ),
  })
  .strict()
  .describe('One HANA site of the landscape.');

export const hanaSystemReplicationSpecSchema = z
  .object({
    sid: z
      .string()
      .regex(SID_PATTERN, 'must be three characters, an upper-case letter first (e.g. HA1)')
      .describe('SAP system ID: three characters, an upper-case letter first (e.g. HA1).'),
    instanceNumber: z
      .string()
      .regex(/^[0-9]{2}$/, 'must be two digits (e.g. "00")')
      .describe('HANA instance number, two digits (e.g. "00").'),
    sites: z
      .array(siteSpecSchema)
      .min(2, 'needs at least two sites')
      .max(8)
      .describe('The HANA sites of this system replication landscape (2 to 8, unique names).'),
    replication: z
      .object({
        mode: z
          .enum(replicationModes)
          .default('sync')
          .describe('Replication mode, as hdbnsutil -sr_register --replicationMode takes it.'),
        operationMode: z
          .enum(operationModes)
          .default('logreplay')
          .describe('Operation mode, as hdbnsutil -sr_register --operationMode takes it.'),
        logShippingTimeoutSeconds: z
          .number()
          .int()
          .min(1)
          .max(3600)
          .default(30)
          .describe(
            "HANA's logshipping_timeout: after it a sync primary commits alone (the secondary is SFAIL).",
          ),
        asyncTakeoverMaxLagSeconds: z
          .number()
          .int()
          .min(0)
          .max(86400)
          .optional()
          .describe(
            'async only: a secondary lagging at most this many seconds may be promoted automatically. Absent: an async secondary is never promoted automatically.',
          ),
      })
      .strict()
      .prefault({})
      .describe('System replication settings.'),
    takeover: z
      .object({
        automatic: z.boolean().default(true).describe('Take over automatically when the primary fails.'),
        preferSiteTakeover: z
          .boolean()
          .default(true)
          .describe(
            'SAPHanaSR PREFER_SITE_TAKEOVER: true takes over to the in-sync secondary; false restarts the primary locally first.',
          ),
        automatedRegister: z
          .boolean()
          .default(false)
          .describe(
            'SAPHanaSR AUTOMATED_REGISTER: register the former primary as secondary without a human.',
          ),
        duplicatePrimaryTimeoutSeconds: z
          .number()
          .int()
          .min(0)
          .max(604800)
          .default(7200)
          .describe('SAPHanaSR DUPLICATE_PRIMARY_TIMEOUT, on the last-primary timestamps.'),
        failureThreshold: z
          .number()
          .int()
          .min(1)
          .max(100)
          .default(3)
          .describe('Consecutive failed probes before the primary counts as failed.'),
        localRestartAttempts: z
          .number()
          .int()
          .min(0)
          .max(10)
          .default(1)
          .describe(
            'Local restarts of a failed primary tried before a takeover when preferSiteTakeover is false.',
          ),
        handshake: z
          .boolean()
          .default(true)
          .describe('Use hdbnsutil -sr_takeover --suspendPrimary when the old primary still answers.'),
      })
      .strict()
      .prefault({})
      .describe('Takeover policy.'),
    probes: z
      .object({
        intervalSeconds: z
          .number()
          .min(0.1)
          .max(3600)
          .default(2)
          .describe('Seconds between probes; shorter than lease.ttlSeconds.'),
        timeoutSeconds: z
          .number()
          .min(0.1)
          .max(3600)
          .default(3)
          .describe('A probe not answered within this many seconds has failed.'),
      })
      .strict()
      .prefault({})
      .describe('How the agents probe their HANA.'),
    lease: z
      .object({
        ttlSeconds: z
          .number()
          .int()
          .min(1)
          .max(3600)
          .default(10)
          .describe(
            'TTL of the etcd lease bound to the leader key; shorter than replication.logShippingTimeoutSeconds so a cut-off primary fences itself first.',
          ),
      })
      .strict()
      .prefault({})
      .describe('The etcd lease bound to the leader key.'),
    clock: z
      .object({
        maxSkewSeconds: z
          .number()
          .min(0)
          .max(60)
          .default(1)
          .describe(
            'The largest offset between the clocks of any two hosts (agents, HANA, operator) that the rules allow for; NTP/chrony must keep them within it. Every comparison of times from two hosts counts it against trust, and a measured offset beyond it refuses automatic takeover.',
          ),
      })
      .strict()
      .prefault({})
      .describe('Clocks of the hosts (NTP or chrony must keep them within the bound).'),
    alerts: z
      .object({
        lagWarningSeconds: z
          .number()
          .min(0)
          .default(30)
          .describe('Lag (seconds) above which the warning is raised.'),
        lagCriticalSeconds: z
          .number()
          .min(0)
          .default(300)
          .describe('Lag (seconds) above which the critical alert is raised; at least lagWarningSeconds.'),
        lagWarningBytes: z
          .number()
          .int()
          .min(0)
          .optional()
          .describe('Unshipped log (bytes) above which the warning is raised.'),
        lagCriticalBytes: z
          .number()
          .int()
          .min(0)
          .optional()
          .describe(
            'Unshipped log (bytes) above which the critical alert is raised; at least lagWarningBytes.',
          ),
        forSeconds: z
          .number()
          .min(0)
          .default(60)
          .describe(
            'A threshold must be crossed this long before the alert fires (and stay clear as long to resolve).',
          ),
      })
      .strict()
      .prefault({})
      .describe('Replication lag thresholds for the ReplicationLagHigh condition and its Events.'),
    maintenance: z
      .boolean()
      .default(false)
      .describe("Observe and report, never act (Patroni's pause, SAPHanaSR's maintenance)."),
  })
  .strict()
  .superRefine((spec, ctx) => {
    const names = new Set<string>();
    spec.sites.forEach((site, i) => {
      if (names.has(site.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['sites', i, 'name'],
          message: `duplicate site name "${site.name}"`,
        });
      }
      names.add(site.name);
    });
    spec.sites.forEach((site, i) => {
      if (site.source === undefined) return;
      if (site.source === site.name) {
        ctx.addIssue({
          code: 'custom',
          path: ['sites', i, 'source'],
          message: 'a site cannot replicate from itself',
        });
      } else if (!names.has(site.source)) {
        ctx.addIssue({
          code: 'custom',
          path: ['sites', i, 'source'],
          message: `unknown site "${site.source}"`,
        });
      }
    });
    if (spec.alerts.lagCriticalSeconds < spec.alerts.lagWarningSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['alerts', 'lagCriticalSeconds'],
        message: 'must be at least alerts.lagWarningSeconds',
      });
    }
    if (
      spec.alerts.lagCriticalBytes !== undefined &&
      spec.alerts.lagWarningBytes !== undefined &&
      spec.alerts.lagCriticalBytes < spec.alerts.lagWarningBytes
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['alerts', 'lagCriticalBytes'],
        message: 'must be at least alerts.lagWarningBytes',
      });
    }
    if (spec.probes.intervalSeconds >= spec.lease.ttlSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['probes', 'intervalSeconds'],
        message: 'must be shorter than lease.ttlSeconds, or the leader cannot renew its lease in time',
      });
    }
    // The self-fencing guarantee: a cut-off primary fences itself before its lease ends (at most one
    // TTL after its last renewal); it must do so before HANA starts committing alone after the
    // log-shipping timeout, or those commits would be lost by a takeover.
    if (spec.lease.ttlSeconds >= spec.replication.logShippingTimeoutSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['lease', 'ttlSeconds'],
        message:
          'must be shorter than replication.logShippingTimeoutSeconds, so a cut-off primary fences itself before it can commit alone',
      });
    } else if (
      spec.lease.ttlSeconds +
        2 * (spec.probes.intervalSeconds + spec.probes.timeoutSeconds) +
        spec.clock.maxSkewSeconds >=
      spec.replication.logShippingTimeoutSeconds
    ) {
      // When the primary vanishes, its last SOK is up to one probe cycle old, the lease runs a TTL,
      // and the secondary needs a cycle to act; it reads the SOK's time (the primary's clock) on
      // its own clock, so the skew bound is counted against the window once. Past the log-shipping
      // timeout that SOK can no longer be trusted, so no takeover could ever happen after a node loss.
      ctx.addIssue({
        code: 'custom',
        path: ['lease', 'ttlSeconds'],
        message:
          'lease.ttlSeconds + 2 x (probes.intervalSeconds + probes.timeoutSeconds) + clock.maxSkewSeconds must be shorter than replication.logShippingTimeoutSeconds, or a secondary is never trusted in time to take over after a node loss',
      });
    }
  })
  .describe('Desired state: the HANA system, its sites and the HA policy.');

export type HanaSystemReplicationSpec = z.output<typeof hanaSystemReplicationSpecSchema>;
export type HanaSystemReplicationSpecInput = z.input<typeof hanaSystemReplicationSpecSchema>;
export type SiteSpec = z.output<typeof siteSpecSchema>;
export type ReplicationMode = (typeof replicationModes)[number];
export type OperationMode = (typeof operationModes)[number];

/** A spec that failed validation; `issues` name each field by its dotted path. */
export class SpecValidationError extends Error {
  readonly code = 'INVALID_SPEC' as const;
  constructor(readonly issues: readonly { path: string; message: string }[]) {
    super(issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; '));
    this.name = 'SpecValidationError';
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

export function zodIssues(error: z.ZodError, prefix = ''): { path: string; message: string }[] {
  return error.issues.map((issue) => {
    const path = formatPath(issue.path);
    return { path: prefix && path ? `${prefix}.${path}` : prefix || path, message: issue.message };
  });
}

/** Validates and fills defaults; throws SpecValidationError naming the field. */
export function parseSpec(input: unknown, pathPrefix = ''): HanaSystemReplicationSpec {
  const result = hanaSystemReplicationSpecSchema.safeParse(input);
  if (!result.success) throw new SpecValidationError(zodIssues(result.error, pathPrefix));
  return result.data;
}
