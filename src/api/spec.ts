// Why this file is long: the one schema of the spec with each field's description (the CRD and kubectl explain are generated from it) and its cross-field rules.
/**
 * The HanaSystemReplication spec: the one schema behind runtime validation, the TypeScript
 * types and the CRD's OpenAPI schema. Defaults are the safe choice for each knob. Each field's
 * `.describe()` text is its documentation: the CRD carries it, so `kubectl explain` prints it.
 */
import { z } from 'zod';
import { isTimeZone, parseCron } from '../domain/cron.js';
import { escapeControl, quote } from '../quote.js';

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
    region: z
      .string()
      .regex(SITE_NAME_PATTERN, 'must start with a letter and use only letters, digits, _ and -')
      .optional()
      .describe(
        'The region this site is in (docs/dr.md): every site names one or none does, at most two regions. Each region has its own etcd; links across regions are async, and a site outside the active region is never promoted automatically.',
      ),
  })
  .strict()
  .describe('One HANA site of the landscape.');

/**
 * `disabled` rather than `off`: YAML 1.1 parsers (kubectl's, helm's) read a bare `off` as the
 * boolean false, which a string field then refuses.
 */
export const watchdogModes = ['disabled', 'automatic', 'required'] as const;

/**
 * A fence agent from the standard fence-agents collection, by name (`fence_ipmilan`, `fence_aws`,
 * ...). Only a name: the agent resolves it in the directory its host configuration names
 * (HANASR_FENCE_AGENT_DIR, default /usr/sbin), so a manifest cannot make an agent run any other
 * program.
 */
export const FENCE_AGENT_PATTERN = /^fence_[a-z0-9_]{1,60}$/;
/** Option names of the fence-agents stdin protocol (`name=value` lines). */
export const FENCE_PARAMETER_KEY_PATTERN = /^[a-z][a-z0-9_-]{0,63}$/;
/** A value goes onto one stdin line: no line breaks, no other control characters. */
// eslint-disable-next-line no-control-regex -- the point is to refuse control characters
export const FENCE_PARAMETER_VALUE_PATTERN = /^[^\x00-\x1f\x7f]{0,1024}$/;

/**
 * Why a fence-agent option may not come from a manifest (undefined: it may). `action` is the
 * runner's; `*_script` options are run by the agent through a shell (fencing.py's
 * `password_script`), `*_path` options name the programs it runs (`ipmitool_path`...),
 * `ssh_options` can carry a ProxyCommand, `debug_file` writes where it is told; and credentials
 * (passwords, keys, tokens) come only from the credentials file or Secret the agent host holds.
 */
export function fenceParameterKeyProblem(key: string): string | undefined {
  if (!FENCE_PARAMETER_KEY_PATTERN.test(key))
    return 'option names are lower-case letters, digits, _ and - (a letter first, at most 64)';
  const k = key.replace(/-/g, '_');
  if (k === 'action') return 'is set by hanasr (off, on, status, monitor)';
  if (k.endsWith('_script') || k === 'script')
    return 'runs a command through a shell: not accepted from a manifest';
  if (k.endsWith('_path')) return 'names a program the fence agent runs: not accepted from a manifest';
  if (k === 'ssh_options') return 'can make ssh run a command: not accepted from a manifest';
  if (k === 'debug' || k === 'debug_file')
    return 'writes a file where it is told: not accepted from a manifest';
  if (/pass|secret|token|credential|private|access_key|api_?key/.test(k))
    return 'is a credential: put it in the fence credentials file or Secret, never in the manifest';
  return undefined;
}

/** Option names are checked by fenceParameterKeyProblem (zod's record keys lose their message). */
const fenceParameters = () =>
  z.record(
    z.string(),
    z
      .string('must be a string (quote numbers and booleans: "623", "1")')
      .regex(FENCE_PARAMETER_VALUE_PATTERN, 'must be one line without control characters (at most 1024)')
      .describe('The value of one fence agent option (a string on one line: quote numbers and booleans).'),
  );

export const fencingSpecSchema = z
  .object({
    watchdog: z
      .object({
        mode: z
          .enum(watchdogModes)
          .default('automatic')
          .describe(
            "disabled: never use it; automatic: use it where the device is usable, report where it is not; required: a site without a usable watchdog never leads (Patroni's required). disabled, not off: YAML 1.1 tools read a bare off as false.",
          ),
        device: z
          .string()
          .regex(/^\/dev\/[A-Za-z0-9._-]{1,64}$/, 'must be a device under /dev, like /dev/watchdog')
          .default('/dev/watchdog')
          .describe('The watchdog device (softdog or a hardware driver).'),
        safetyMarginSeconds: z
          .number()
          .min(1)
          .max(3600)
          .default(3)
          .describe(
            "The device's timeout must be at most lease.ttlSeconds minus this, so the node resets before its lease can expire: a feed follows the last confirmed renewal by up to the renewal's round trip (2 s with the agent's default store timeout) and the reset itself takes up to about a second.",
          ),
        resetHungSecondaryAfterSeconds: z
          .number()
          .int()
          .min(1)
          .max(86400)
          .optional()
          .describe(
            'Absent: never. A secondary whose HANA stays hung this long (its stop does not complete) stops feeding its watchdog, so its node resets.',
          ),
      })
      .strict()
      .prefault({})
      .describe(
        "The Linux watchdog each agent arms while its site leads and feeds from its lease renewals, so a node whose agent dies or hangs resets before the lease can expire (Patroni's watchdog, SBD's self-fencing).",
      ),
    agent: z
      .object({
        command: z
          .string()
          .regex(FENCE_AGENT_PATTERN, 'must be a fence agent name like fence_ipmilan (no path, no arguments)')
          .describe(
            'The fence agent name (fence_ipmilan, fence_redfish, fence_aws, fence_kubevirt...), found in the fence agent directory of the agent host (default /usr/sbin).',
          ),
        parameters: fenceParameters()
          .default({})
          .describe(
            'Fence agent options for every site (name: "value", strings); no credentials, no *_script or *_path options. A site\'s own options win.',
          ),
        sites: z
          .record(
            z.string().regex(SITE_NAME_PATTERN),
            fenceParameters().describe('Fence agent options for the node of this site (ip, plug, port...).'),
          )
          .default({})
          .describe("Fence agent options per site name (ip, plug, port...): how to reach that site's node."),
        timeoutSeconds: z
          .number()
          .int()
          .min(1)
          .max(3600)
          .default(60)
          .describe('The whole fence (off, then status until it reports off) must be confirmed within this.'),
        callTimeoutSeconds: z
          .number()
          .int()
          .min(1)
          .max(600)
          .default(20)
          .describe('One call of the fence agent is killed after this and counts as failed.'),
        statusIntervalSeconds: z
          .number()
          .min(0.1)
          .max(60)
          .default(1)
          .describe('Time between status polls while waiting for the node to report off.'),
      })
      .strict()
      .optional()
      .describe(
        'STONITH by another site: a fence agent of the fence-agents protocol (name=value options on stdin, action=off|on|status|monitor; exit 0 = success; status: 0 = on, 2 = off). Credentials come from the agent host, never the manifest. Absent: no site is fenced by another.',
      ),
  })
  .strict();

/** A backup prefix reaches `BACKUP DATA ... USING FILE|BACKINT ('<prefix>')`: no quote, no control character. */
export const BACKUP_PREFIX_PATTERN = /^[A-Za-z0-9_./-]{1,200}$/;
/** A database name as HANA prints it (SYSTEMDB, a tenant such as HA1). */
export const DATABASE_NAME_PATTERN = /^[A-Z][A-Z0-9_]{0,63}$/;

const cronString = z
  .string()
  .max(200)
  .superRefine((v, ctx) => {
    try {
      parseCron(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `not a cron expression: ${(err as Error).message}` });
    }
  });

export const backupDestinationSchema = z
  .object({
    type: z
      .enum(['file', 'backint'])
      .default('file')
      .describe('file: BACKUP DATA ... USING FILE; backint: USING BACKINT (a third-party tool).'),
    prefix: z
      .string()
      .regex(BACKUP_PREFIX_PATTERN, 'must be a path of letters, digits, _ . / and - (no quotes)')
      .default('hanasr')
      .describe(
        "file: path prefix of the backup files, absolute (/hana/backup/data/HA1/hanasr) or relative to HANA's basepath_databackup; backint: the backup name prefix handed to the agent. Each run adds _<database>_<time> to it.",
      ),
    parameterFile: z
      .string()
      .regex(/^\/[A-Za-z0-9_./-]{1,255}$/, 'must be an absolute path')
      .optional()
      .describe(
        "backint only (and required there): the parameter file HANA's [backup] data_backup_parameter_file names; hanasr does not read it.",
      ),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (d.type === 'backint' && d.parameterFile === undefined)
      ctx.addIssue({ code: 'custom', path: ['parameterFile'], message: 'is required with type backint' });
    if (d.type === 'file' && d.parameterFile !== undefined)
      ctx.addIssue({ code: 'custom', path: ['parameterFile'], message: 'is only for type backint' });
  })
  .describe('Where backups go: file (a path prefix) or backint (a third-party tool and its parameter file).');

export const backupSpecSchema = z
  .object({
    schedule: cronString
      .default('0 0 * * *')
      .describe(
        'When data backups run: a 5-field cron expression (minute hour day-of-month month day-of-week), UTC unless timeZone is set. Default once a day at 00:00.',
      ),
    timeZone: z
      .string()
      .max(64)
      .refine(isTimeZone, 'must be an IANA time zone such as Europe/Berlin')
      .optional()
      .describe('IANA time zone the schedule is read in (absent: UTC).'),
    destination: backupDestinationSchema.prefault({}),
    scope: z
      .enum(['site', 'shared'])
      .default('site')
      .describe(
        "site: each site writes to its own storage (a site's backups are gone with it, so a backup follows every takeover); shared: one destination every site reads (NFS, object store, a Backint server), which must itself survive the loss of a site.",
      ),
    databases: z
      .array(
        z
          .string()
          .regex(DATABASE_NAME_PATTERN, 'must be a database name such as SYSTEMDB or HA1')
          .describe('A database name: SYSTEMDB or a tenant.'),
      )
      .min(1)
      .max(64)
      .optional()
      .describe(
        'The databases to back up (SYSTEMDB, tenants by name). Absent: all, SYSTEMDB and every tenant.',
      ),
    retention: z
      .object({
        count: z
          .number()
          .int()
          .min(1)
          .max(1000)
          .optional()
          .describe('Keep at least this many newest successful complete data backups per database.'),
        maxAgeDays: z
          .number()
          .min(1)
          .max(3650)
          .optional()
          .describe('Keep every backup younger than this (days).'),
      })
      .strict()
      .optional()
      .describe(
        'Housekeeping with BACKUP CATALOG DELETE ... WITH FILE|BACKINT: entries older than the oldest kept successful data backup go. With both fields a backup is kept when either keeps it. Absent: nothing is deleted. Never the newest successful backup, and nothing while it is not readable.',
      ),
    logBackup: z
      .object({
        required: z
          .boolean()
          .default(true)
          .describe(
            'Log backups must be on (log_mode normal, enable_auto_log_backup yes): otherwise BackupHealthy is False.',
          ),
        maxAgeSeconds: z
          .number()
          .int()
          .min(60)
          .max(604800)
          .default(3600)
          .describe(
            'The newest log backup may be this old (HANA writes one at least every log_backup_timeout_s, 900 s by default).',
          ),
      })
      .strict()
      .prefault({})
      .describe('Log backups (HANA writes them itself; hanasr checks they happen).'),
    afterTakeover: z
      .boolean()
      .default(true)
      .describe(
        "Take a data backup right after a takeover: the new primary's destination may not hold the old primary's backups.",
      ),
    timeoutSeconds: z
      .number()
      .int()
      .min(10)
      .max(7 * 86400)
      .default(6 * 3600)
      .describe('A data backup still running after this is cancelled (BACKUP CANCEL) and counts as failed.'),
    startingDeadlineSeconds: z
      .number()
      .int()
      .min(60)
      .max(7 * 86400)
      .default(3600)
      .describe(
        'A scheduled run not started within this after its time is skipped (the BackupTooOld alert tells).',
      ),
    maxAttempts: z
      .number()
      .int()
      .min(1)
      .max(10)
      .default(3)
      .describe('Attempts of one run (a failed or interrupted one is retried).'),
    retryDelaySeconds: z
      .number()
      .int()
      .min(0)
      .max(86400)
      .default(300)
      .describe('Wait after a failed attempt before the next (an interrupted one is retried at once).'),
    alertMarginSeconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 86400)
      .default(3600)
      .describe(
        'BackupTooOld: the newest successful data backup is older than the last scheduled time that lies this far in the past.',
      ),
  })
  .strict()
  .describe(
    'Data backups that follow the primary: the agent holding the leader key runs BACKUP DATA over SQL on its own site, never on a secondary.',
  );

export type BackupSpec = z.output<typeof backupSpecSchema>;

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
    fencing: fencingSpecSchema
      .prefault({})
      .describe(
        'Fencing that does not depend on the failed node: a watchdog the leading agent feeds, and a fence agent another site runs.',
      ),
    backup: backupSpecSchema
      .optional()
      .describe('Data backups on the current primary (absent: hanasr neither runs nor watches backups).'),
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
          message: `duplicate site name ${quote(site.name)}`,
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
          message: `unknown site ${quote(site.source)}`,
        });
      }
    });
    const regions = new Set(spec.sites.flatMap((site) => (site.region !== undefined ? [site.region] : [])));
    if (regions.size > 0) {
      spec.sites.forEach((site, i) => {
        if (site.region === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['sites', i, 'region'],
            message: 'every site names its region when one does',
          });
        }
      });
    }
    if (regions.size > 2) {
      ctx.addIssue({
        code: 'custom',
        path: ['sites'],
        message: `at most two regions (an active one and a DR one), found ${regions.size}: ${[...regions].map((r) => quote(r)).join(', ')}`,
      });
    }
    // Sources must lead back to a site without one (the primary tier): A -> B -> A has none.
    const sourceOf = new Map(spec.sites.map((site) => [site.name, site.source] as const));
    const reported = new Set<string>();
    spec.sites.forEach((site, i) => {
      const chain = [site.name];
      for (let next = site.source; next !== undefined && sourceOf.has(next); next = sourceOf.get(next)) {
        if (next === site.name && chain.length > 1 && !chain.some((n) => reported.has(n))) {
          chain.forEach((n) => reported.add(n));
          ctx.addIssue({
            code: 'custom',
            path: ['sites', i, 'source'],
            message: `replication sources form a cycle: ${[site.name, ...chain.slice(1).reverse(), site.name].map((n) => quote(n)).join(' -> ')} (each site replicates from the one before it), so no site is the primary tier`,
          });
          break;
        }
        if (chain.includes(next)) break; // a cycle further down, reported from its own sites
        chain.push(next);
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
    const { watchdog, agent } = spec.fencing;
    // In automatic mode a lease too short for the margin only makes the watchdog unusable (the
    // agent reports it); a required watchdog must be possible at all.
    if (watchdog.mode === 'required' && spec.lease.ttlSeconds - watchdog.safetyMarginSeconds < 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['fencing', 'watchdog', 'safetyMarginSeconds'],
        message:
          'must leave at least 1 s of lease.ttlSeconds when the watchdog is required: its timeout may be at most lease.ttlSeconds - safetyMarginSeconds',
      });
    }
    if (agent !== undefined) {
      const params: [readonly PropertyKey[], Record<string, string>][] = [
        [['fencing', 'agent', 'parameters'], agent.parameters],
        ...Object.entries(agent.sites).map(
          ([site, p]) =>
            [['fencing', 'agent', 'sites', site], p] as [readonly PropertyKey[], Record<string, string>],
        ),
      ];
      for (const [path, p] of params) {
        for (const key of Object.keys(p)) {
          const problem = fenceParameterKeyProblem(key);
          if (problem !== undefined) ctx.addIssue({ code: 'custom', path: [...path, key], message: problem });
        }
      }
      for (const site of Object.keys(agent.sites)) {
        if (!names.has(site)) {
          ctx.addIssue({
            code: 'custom',
            path: ['fencing', 'agent', 'sites', site],
            message: `unknown site "${site}"`,
          });
        }
      }
      if (agent.callTimeoutSeconds > agent.timeoutSeconds) {
        ctx.addIssue({
          code: 'custom',
          path: ['fencing', 'agent', 'callTimeoutSeconds'],
          message: 'must be at most fencing.agent.timeoutSeconds',
        });
      }
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
        3 * (spec.probes.intervalSeconds + spec.probes.timeoutSeconds) +
        spec.clock.maxSkewSeconds >=
      spec.replication.logShippingTimeoutSeconds
    ) {
      // When the primary's node dies, its last SOK is up to one probe cycle old, the lease runs a
      // TTL, and the secondary reads the key gone up to a cycle later. It trusts a silent primary's
      // SOK only until the skew bound and a cycle (the margin for a primary the failsafe may keep
      // running) before contact + logShippingTimeoutSeconds (src/domain/sync-trust.ts): three
      // cycles and the skew bound once (its clock taken as the primary's). Past that, no takeover
      // could ever happen after a node loss (test/domain/node-loss-window.test.ts).
      ctx.addIssue({
        code: 'custom',
        path: ['lease', 'ttlSeconds'],
        message:
          'lease.ttlSeconds + 3 x (probes.intervalSeconds + probes.timeoutSeconds) + clock.maxSkewSeconds must be shorter than replication.logShippingTimeoutSeconds, or a secondary is never trusted in time to take over after a node loss',
      });
    }
    // A failed primary steps down after failureThreshold failed probes, at the earliest
    // failureThreshold x intervalSeconds after its last good probe (the last replication contact
    // its secondary's SOK vouches for). A report of the primary counts as fresh only within a
    // probe cycle less the skew bound (src/domain/sync-trust.ts): with a bound above a cycle
    // none ever does, and the secondary is trusted only while the contact, the skew bound and a
    // cycle are within logShippingTimeoutSeconds. Past that, no takeover could ever follow a
    // step-down: the primary stays down and the secondary waits (sim:fuzz 20261302).
    const cycle = spec.probes.intervalSeconds + spec.probes.timeoutSeconds;
    const stepDown =
      spec.takeover.failureThreshold * spec.probes.intervalSeconds + spec.clock.maxSkewSeconds + cycle;
    if (spec.clock.maxSkewSeconds > cycle && stepDown >= spec.replication.logShippingTimeoutSeconds) {
      const n = (x: number) => Math.round(x * 1000) / 1000;
      ctx.addIssue({
        code: 'custom',
        path: ['replication', 'logShippingTimeoutSeconds'],
        message:
          `with clock.maxSkewSeconds (${n(spec.clock.maxSkewSeconds)} s) above a probe cycle (probes.intervalSeconds + probes.timeoutSeconds = ${n(cycle)} s), ` +
          `takeover.failureThreshold x probes.intervalSeconds (${spec.takeover.failureThreshold} x ${n(spec.probes.intervalSeconds)} s) + clock.maxSkewSeconds + a probe cycle = ${n(stepDown)} s ` +
          `must be shorter than replication.logShippingTimeoutSeconds (${n(spec.replication.logShippingTimeoutSeconds)} s), or once a failed primary steps down its secondary is never trusted in time to take over ` +
          `(raise logShippingTimeoutSeconds, or lower failureThreshold, intervalSeconds or maxSkewSeconds)`,
      });
    }
  })
  .describe('Desired state: the HANA system, its sites and the HA policy.');

export type HanaSystemReplicationSpec = z.output<typeof hanaSystemReplicationSpecSchema>;
export type HanaSystemReplicationSpecInput = z.input<typeof hanaSystemReplicationSpecSchema>;
export type SiteSpec = z.output<typeof siteSpecSchema>;
export type FencingSpec = z.output<typeof fencingSpecSchema>;
export type WatchdogMode = (typeof watchdogModes)[number];
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

/**
 * The issues of a failed parse, each with its dotted path. Paths and messages can carry values from
 * the input (keys of records, zod's "Unrecognized key" names them): their control characters are
 * escaped.
 */
export function zodIssues(error: z.ZodError, prefix = ''): { path: string; message: string }[] {
  return error.issues.map((issue) => {
    const path = escapeControl(formatPath(issue.path));
    return {
      path: prefix && path ? `${prefix}.${path}` : prefix || path,
      message: escapeControl(issue.message),
    };
  });
}

/** Validates and fills defaults; throws SpecValidationError naming the field. */
export function parseSpec(input: unknown, pathPrefix = ''): HanaSystemReplicationSpec {
  const result = hanaSystemReplicationSpecSchema.safeParse(input);
  if (!result.success) throw new SpecValidationError(zodIssues(result.error, pathPrefix));
  return result.data;
}
