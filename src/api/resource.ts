// Why this file is long: the status schema with each field's description (kubectl explain reads them) and every annotation DBAs set.
/**
 * The HanaSystemReplication custom resource: identity constants, the annotations DBAs set with
 * kubectl, and the status schema the operator writes. The spec schema lives in spec.ts; the CRD
 * (crd.ts) is generated from both.
 */
import { z } from 'zod';
import { replicationStatuses, landscapeStatusNames } from '../domain/types.js';
import { hanaSystemReplicationSpecSchema, replicationModes, SITE_NAME_PATTERN } from './spec.js';

export const GROUP = 'hanasr.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'HanaSystemReplication';
export const LIST_KIND = 'HanaSystemReplicationList';
export const PLURAL = 'hanasystemreplications';
export const SINGULAR = 'hanasystemreplication';
export const SHORT_NAME = 'hsr';
export const CRD_NAME = `${PLURAL}.${GROUP}`;

/** Set to a site name: run a planned takeover (with handshake) to that secondary. */
export const ANNOTATION_PLANNED_TAKEOVER = 'hanasr.io/planned-takeover';
/** Set to a site name: fence (stop or suspend) that site. */
export const ANNOTATION_FENCE = 'hanasr.io/fence';
/**
 * Set to a site name: release the fence request of that site (its agent then acts on it again: a
 * secondary is started, a former primary registered or waiting for hanasr.io/register).
 */
export const ANNOTATION_FENCE_RELEASE = 'hanasr.io/fence-release';
/**
 * Set to a site name: register that (former primary) site as a secondary of the current primary.
 * Releases a fence request of that site (the runbook's "fence, then register").
 */
export const ANNOTATION_REGISTER = 'hanasr.io/register';
/**
 * Set to "true" together with the planned-takeover annotation: the target need not be in sync
 * (committed data may be lost). `hanasr takeover --force` sets it after a typed confirmation.
 */
export const ANNOTATION_FORCE_TAKEOVER = 'hanasr.io/force-takeover';
/**
 * Set to a DR site's name on the DR region's resource: promote it although the active region
 * cannot be reached (docs/dr.md). Needs ANNOTATION_DISASTER_CONFIRM set to the resource's name in
 * the same patch; committed data may be lost (the operator records the expected loss).
 */
export const ANNOTATION_DISASTER_TAKEOVER = 'hanasr.io/disaster-takeover';
/** The typed confirmation of a disaster takeover: the resource's name. */
export const ANNOTATION_DISASTER_CONFIRM = 'hanasr.io/disaster-confirm';
/**
 * Set to any token (hanasr backup NAME --now sets the time): the primary's agent runs a data backup
 * now, in the current epoch. Refused without spec.backup, in maintenance or with no primary.
 */
export const ANNOTATION_BACKUP_NOW = 'hanasr.io/backup-now';
/**
 * Set to a site of the other region on the active region's resource: a planned (lossless) region
 * switchover to it (docs/dr.md). Needs ANNOTATION_REGION_SWITCHOVER_GENERATION and
 * ANNOTATION_REGION_SWITCHOVER_EPOCH in the same patch: the region generation and the epoch the
 * requester saw (status.region.generation, status.epoch); refused when the stores moved on.
 */
export const ANNOTATION_REGION_SWITCHOVER = 'hanasr.io/region-switchover';
export const ANNOTATION_REGION_SWITCHOVER_GENERATION = 'hanasr.io/region-switchover-generation';
export const ANNOTATION_REGION_SWITCHOVER_EPOCH = 'hanasr.io/region-switchover-epoch';
export const ANNOTATIONS = [
  ANNOTATION_PLANNED_TAKEOVER,
  ANNOTATION_DISASTER_TAKEOVER,
  ANNOTATION_DISASTER_CONFIRM,
  ANNOTATION_FORCE_TAKEOVER,
  ANNOTATION_FENCE,
  ANNOTATION_FENCE_RELEASE,
  ANNOTATION_REGISTER,
  ANNOTATION_BACKUP_NOW,
  ANNOTATION_REGION_SWITCHOVER,
  ANNOTATION_REGION_SWITCHOVER_GENERATION,
  ANNOTATION_REGION_SWITCHOVER_EPOCH,
] as const;
/** The finalizer the operator puts on a resource so it can clean up its etcd keys. */
export const FINALIZER = 'hanasr.io/cleanup';

/** status.takeoverHistory keeps at most this many entries, newest first. */
export const TAKEOVER_HISTORY_LIMIT = 20;

export const conditionTypes = [
  'Ready',
  'ReplicationHealthy',
  'TakeoverInProgress',
  'Fenced',
  'MaintenanceMode',
  'ReplicationLagHigh',
  'LagUnknown',
  'ClockSkew',
  'BackupHealthy',
] as const;
export type ConditionType = (typeof conditionTypes)[number];
export const conditionStatuses = ['True', 'False', 'Unknown'] as const;
export type ConditionStatus = (typeof conditionStatuses)[number];

export const siteRoles = ['primary', 'secondary', 'none'] as const;
/** What the agent sees of the instance: running, stopped, suspended (no writes), or not known. */
export const hanaStatuses = ['running', 'stopped', 'suspended', 'unknown'] as const;
export type HanaStatus = (typeof hanaStatuses)[number];
/** Replication status of a site's link, NONE on a primary without attached secondaries. */
export const siteReplicationStatuses = [...replicationStatuses, 'NONE'] as const;
export const takeoverOutcomes = ['succeeded', 'failed'] as const;
export type TakeoverOutcome = (typeof takeoverOutcomes)[number];

/** Kubernetes' CamelCase condition reason (metav1.Condition's pattern). */
export const CONDITION_REASON_PATTERN = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;

/** RFC 3339 time, as Kubernetes writes metav1.Time ("2024-05-01T10:00:00Z"). */
const time = z.iso.datetime({ offset: true });
const siteName = z.string().regex(SITE_NAME_PATTERN);

export const conditionSchema = z
  .object({
    type: z.enum(conditionTypes).describe('Type of the condition.'),
    status: z.enum(conditionStatuses).describe('True, False or Unknown.'),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .regex(CONDITION_REASON_PATTERN)
      .describe('Why the condition last changed, in CamelCase (machine-readable).'),
    message: z.string().max(32768).describe('Why the condition last changed, for humans.'),
    lastTransitionTime: time.describe('When the status last changed.'),
    observedGeneration: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('The metadata.generation the condition was set for.'),
  })
  .describe('One condition of the resource, as metav1.Condition.');

export const siteStatusSchema = z
  .object({
    name: siteName.describe('Site name, as in spec.sites.'),
    role: z.enum(siteRoles).describe('System replication role of the site: primary, secondary or none.'),
    hanaStatus: z
      .enum(hanaStatuses)
      .optional()
      .describe('What the agent sees of the instance: running, stopped, suspended (no writes) or unknown.'),
    landscapeStatus: z
      .enum(landscapeStatusNames)
      .optional()
      .describe("landscapeHostConfiguration.py's overall host status."),
    replicationMode: z
      .enum(replicationModes)
      .optional()
      .describe('For a secondary: the mode it replicates in.'),
    replicationStatus: z
      .enum(siteReplicationStatuses)
      .optional()
      .describe('Status of the replication into this site; NONE on a primary without secondaries.'),
    inSync: z
      .boolean()
      .optional()
      .describe(
        'The promotion rule says this secondary may be promoted from the primary now: SOK in this term, confirmed recently enough, lag and clock skew within bounds.',
      ),
    notInSyncReason: z
      .string()
      .max(1024)
      .optional()
      .describe('Why the promotion rule would refuse to promote it (absent when in sync).'),
    lagSeconds: z
      .number()
      .min(0)
      .optional()
      .describe('Shipping delay in seconds, as the source reports it in its monitoring views.'),
    lagBytes: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('Unshipped log in bytes, from the monitoring views.'),
    lastReportTime: time.optional().describe("When the site's agent last reported."),
    fenced: z.boolean().optional().describe('The site has been fenced (stopped or suspended).'),
    watchdog: z
      .object({
        mode: z.enum(['disabled', 'automatic', 'required']).describe('spec.fencing.watchdog.mode.'),
        state: z
          .enum(['armed', 'disarmed', 'failed'])
          .describe('armed (counting down), disarmed, or failed (a call failed while armed: it may fire).'),
        usable: z.boolean().describe('The device is there and its timeout fits the lease.'),
        timeoutSeconds: z.number().min(0).optional().describe("The device's timeout."),
        reason: z.string().max(64).describe('Why usable or not (watchdog_usable, watchdog_absent...).'),
        message: z.string().max(1024).describe('The same in words.'),
      })
      .optional()
      .describe("The site's watchdog as its agent reports it (absent when the agent has none)."),
    nodeFence: z
      .object({
        action: z.enum(['off', 'on']).describe('Power off (fence) or on (after the takeover).'),
        result: z.enum(['confirmed', 'failed', 'timed-out']).describe('How the fence agent answered.'),
        by: siteName.describe('The site whose agent fenced this node.'),
        epoch: z.number().int().min(0).describe('The term the fencing agent believed in.'),
        time: time.describe("When the fence ended (the fencing host's clock)."),
        message: z.string().max(1024).describe('What the fence agent said.'),
      })
      .optional()
      .describe("The last fence of this site's node by another site's agent."),
  })
  .describe('The state of one site as its agent reports it.');

export const takeoverRecordSchema = z
  .object({
    time: time.describe('When the takeover started.'),
    from: siteName.describe('The former primary site.'),
    to: siteName.describe('The new primary site.'),
    reason: z.string().min(1).max(1024).describe('CamelCase reason (PrimaryFailed, PlannedTakeover...).'),
    durationSeconds: z.number().min(0).optional().describe('How long the takeover took.'),
    outcome: z.enum(takeoverOutcomes).optional().describe('succeeded or failed.'),
    epoch: z.number().int().min(0).optional().describe('The primary term the takeover started.'),
  })
  .describe('One takeover.');

/** status.backup.runs keeps at most this many entries, newest first. */
export const BACKUP_RUNS_LIMIT = 20;

export const backupRunStatusSchema = z
  .object({
    id: z
      .string()
      .max(64)
      .describe(
        'Run id: s-<scheduled ms> (schedule), m-<request> (hanasr backup --now), t-<epoch> (after a takeover).',
      ),
    kind: z.enum(['scheduled', 'manual', 'after-takeover']).describe('Why the run exists.'),
    attempt: z.number().int().min(1).describe('1 for the first attempt.'),
    site: siteName.describe('The site that ran it (the primary then).'),
    epoch: z.number().int().min(0).describe('The primary term it ran in.'),
    state: z
      .enum(['running', 'succeeded', 'failed', 'interrupted'])
      .describe('running, succeeded, failed or interrupted.'),
    startTime: time.describe('When it started.'),
    endTime: time.optional().describe('When it ended.'),
    message: z.string().max(1024).describe('What happened, for humans.'),
  })
  .describe('One backup run (BACKUP DATA of every selected database).');

export const databaseBackupStatusSchema = z
  .object({
    name: z.string().max(64).describe('SYSTEMDB or a tenant.'),
    lastSuccessfulTime: time.optional().describe('Start of the newest successful complete data backup.'),
    ageSeconds: z.number().int().min(0).optional().describe('Its age when the operator last looked.'),
    backupId: z.string().max(32).optional().describe('Its BACKUP_ID.'),
    sizeBytes: z.number().min(0).optional().describe('Its size in bytes (BACKUP_SIZE of its files).'),
    readable: z
      .enum(['True', 'False', 'Unknown'])
      .describe("Is it readable from the current primary's destination (BACKUP CHECK ACCESS)?"),
    lastLogBackupTime: time.optional().describe('End of the newest successful log backup.'),
    logSegmentsWaiting: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('Log segments waiting for a log backup (M_LOG_SEGMENTS states Closed and Truncated).'),
    logBytesWaiting: z.number().min(0).optional().describe('Their size in bytes (USED_SIZE).'),
    logOldestWaitingSeconds: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe("How long the oldest of them has waited, on HANA's clock, when the operator last looked."),
  })
  .describe('The backups of one database, as the primary reads its catalog.');

export const backupStatusSchema = z
  .object({
    healthy: z.boolean().describe('The BackupHealthy condition, as a boolean.'),
    reason: z.string().max(64).describe('Its CamelCase reason.'),
    tooOld: z
      .boolean()
      .optional()
      .describe(
        'A database has no successful data backup since the last scheduled time (minus the alert margin).',
      ),
    notReadable: z
      .boolean()
      .optional()
      .describe(
        "A newest successful backup is not confirmed readable from the current primary's destination.",
      ),
    logBackupStalled: z
      .boolean()
      .optional()
      .describe('Log backups are off, or the newest is older than logBackup.maxAgeSeconds.'),
    observedTime: time.optional().describe("When the primary's agent last read its backup catalog."),
    observedSite: siteName.optional().describe('The site whose catalog that was.'),
    databases: z.array(databaseBackupStatusSchema).max(64).optional().describe('Per database.'),
    runs: z
      .array(backupRunStatusSchema)
      .max(BACKUP_RUNS_LIMIT)
      .optional()
      .describe(`Backup runs, newest first (at most ${BACKUP_RUNS_LIMIT}).`),
  })
  .describe('Backups that follow the primary (present when spec.backup is set).');

export const hanaSystemReplicationStatusSchema = z
  .object({
    observedGeneration: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('The metadata.generation this status describes.'),
    currentPrimary: siteName.optional().describe('The site accepting writes, as the leader key says.'),
    targetPrimary: siteName
      .optional()
      .describe('The site the operator wants to be primary: differs from currentPrimary during a takeover.'),
    epoch: z.number().int().min(0).optional().describe('The current primary term (the fencing token).'),
    sites: z.array(siteStatusSchema).max(8).optional().describe('Per-site state as the agents report it.'),
    lastTakeover: takeoverRecordSchema.optional().describe('The most recent takeover.'),
    takeoverHistory: z
      .array(takeoverRecordSchema)
      .max(TAKEOVER_HISTORY_LIMIT)
      .optional()
      .describe(`Takeovers, newest first (at most ${TAKEOVER_HISTORY_LIMIT}).`),
    backup: backupStatusSchema.optional(),
    conditions: z
      .array(conditionSchema)
      .max(16)
      .optional()
      .describe(`The conditions ${conditionTypes.join(', ')}.`),
    region: z
      .object({
        generation: z.number().int().min(0).describe('The region generation (docs/dr.md).'),
        active: z.string().max(64).describe('The region that may run the primary in this generation.'),
        by: z.string().max(32).describe('What wrote the record: bootstrap, switchover, disaster or adopted.'),
        since: time.describe('When the record was written.'),
        thisRegion: z
          .string()
          .max(64)
          .optional()
          .describe(
            'The region whose store this operator reads (its own); when it is not the active one, its sites are DR secondaries.',
          ),
        draining: z
          .boolean()
          .optional()
          .describe(
            'A planned region switchover drains (nobody leads): true from the first write until the handover or the abort.',
          ),
        switchover: z
          .object({
            from: siteName.describe('The old primary that stops and records its last log position.'),
            to: siteName.describe('The site of the other region that takes over.'),
            fromRegion: z.string().max(64).describe('The region that gives up.'),
            toRegion: z.string().max(64).describe('The region that becomes active at the handover.'),
            deadline: time
              .optional()
              .describe(
                "Past this time without the handover the switchover is aborted (the operator's --region-switchover-timeout-seconds after since).",
              ),
            logPosition: z
              .number()
              .int()
              .min(0)
              .optional()
              .describe(
                "The old primary's last log position, once it stopped and recorded it (the demotion token).",
              ),
            waitingFor: z.string().max(1024).describe('What the switchover waits for now.'),
          })
          .optional()
          .describe('The draining planned region switchover (absent when none drains).'),
        lossMessage: z
          .string()
          .max(1024)
          .optional()
          .describe('A disaster takeover: the data loss expected when it was decided.'),
        expectedLoss: z
          .array(
            z
              .object({
                site: siteName.describe('A DR site (outside the active region).'),
                lagSeconds: z.number().min(0).optional().describe('Its link lag at the last report seen.'),
                lagBytes: z.number().min(0).optional().describe('Unshipped log at that report.'),
                reportAgeMinSeconds: z
                  .number()
                  .min(0)
                  .optional()
                  .describe('Age of that report, less the skew bound.'),
                reportAgeMaxSeconds: z
                  .number()
                  .min(0)
                  .optional()
                  .describe('Age of that report, plus the skew bound.'),
                message: z.string().max(1024).describe('What a disaster takeover to it would lose.'),
              })
              .describe('The expected data loss of a disaster takeover to one DR site.'),
          )
          .max(8)
          .optional()
          .describe(
            'What a disaster takeover to each DR site would lose, from the last report this region saw.',
          ),
      })
      .optional()
      .describe("This region's record of the region generation (sites[].region); absent with one region."),
  })
  .describe('Observed state, written by the operator.');

/**
 * metadata.name: a DNS label (RFC 1035, as Kubernetes requires of Service names) of at most 60
 * characters, because the operator names the Services `<name>-rw` and `<name>-ro` after it.
 */
export const RESOURCE_NAME_PATTERN = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
export const RESOURCE_NAME_MAX = 60;
/** metadata.namespace: a DNS label (RFC 1123), as Kubernetes requires of namespaces. */
export const NAMESPACE_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const NAMESPACE_MAX = 63;
/** The top-level fields of a manifest; any other is a mistake (a typo of spec, a stray key). */
export const TOP_LEVEL_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec', 'status'] as const;

export const objectMetaSchema = z.looseObject({
  name: z
    .string()
    .max(
      RESOURCE_NAME_MAX,
      `must be at most ${RESOURCE_NAME_MAX} characters (it names the Service <name>-rw)`,
    )
    .regex(
      RESOURCE_NAME_PATTERN,
      "must be a DNS label: lower-case letters, digits and '-', starting with a letter and ending with a letter or digit",
    ),
  namespace: z
    .string()
    .max(NAMESPACE_MAX, `must be at most ${NAMESPACE_MAX} characters`)
    .regex(
      NAMESPACE_PATTERN,
      "must be a DNS label: lower-case letters, digits and '-', starting and ending with a letter or digit",
    )
    .optional(),
  uid: z.string().optional(),
  generation: z.number().int().optional(),
  resourceVersion: z.string().optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  finalizers: z.array(z.string()).optional(),
});

export const hanaSystemReplicationSchema = z
  .object({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal(KIND),
    metadata: objectMetaSchema,
    spec: hanaSystemReplicationSpecSchema,
    status: hanaSystemReplicationStatusSchema.optional(),
  })
  .strict();

export type Condition = z.output<typeof conditionSchema>;
export type SiteStatus = z.output<typeof siteStatusSchema>;
export type TakeoverRecord = z.output<typeof takeoverRecordSchema>;
export type HanaSystemReplicationStatus = z.output<typeof hanaSystemReplicationStatusSchema>;
export type BackupStatus = z.output<typeof backupStatusSchema>;
export type BackupRunStatus = z.output<typeof backupRunStatusSchema>;
export type ObjectMeta = z.output<typeof objectMetaSchema>;
export type HanaSystemReplication = z.output<typeof hanaSystemReplicationSchema>;
export type HanaSystemReplicationInput = z.input<typeof hanaSystemReplicationSchema>;

/** Validates a whole resource (spec defaults filled); throws ResourceValidationError naming the field. */
export function parseHanaSystemReplication(input: unknown): HanaSystemReplication {
  const result = hanaSystemReplicationSchema.safeParse(input);
  if (!result.success) throw new ResourceValidationError(result.error);
  return result.data;
}

/** Validates a status (what the operator is about to write). */
export function parseStatus(input: unknown): HanaSystemReplicationStatus {
  const result = hanaSystemReplicationStatusSchema.safeParse(input);
  if (!result.success) throw new ResourceValidationError(result.error, 'status');
  return result.data;
}

export class ResourceValidationError extends Error {
  readonly code = 'INVALID_RESOURCE' as const;
  readonly issues: readonly { path: string; message: string }[];
  constructor(error: z.ZodError, prefix = '') {
    const issues = error.issues.map((issue) => {
      const path = [prefix, ...issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))]
        .filter((p) => p !== '')
        .join('.')
        .replace(/\.\[/g, '[');
      return { path, message: issue.message };
    });
    super(issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; '));
    this.name = 'ResourceValidationError';
    this.issues = issues;
  }
}

/** Prepends a takeover to the history, keeping it within TAKEOVER_HISTORY_LIMIT (newest first). */
export function appendTakeoverHistory(
  history: readonly TakeoverRecord[] | undefined,
  entry: TakeoverRecord,
): TakeoverRecord[] {
  return [entry, ...(history ?? [])].slice(0, TAKEOVER_HISTORY_LIMIT);
}

/** The named condition, if present. */
export function findCondition(
  status: HanaSystemReplicationStatus | undefined,
  type: ConditionType,
): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/**
 * The coordination store's name for a resource: `<namespace>.<name>` (a namespace has no dots,
 * so the pair stays unambiguous). Agents started for a resource use the same key.
 */
export function clusterKey(namespace: string, name: string): string {
  return `${namespace}.${name}`;
}
