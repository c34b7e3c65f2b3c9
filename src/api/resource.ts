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
/** Set to a site name: register that (former primary) site as a secondary of the current primary. */
export const ANNOTATION_REGISTER = 'hanasr.io/register';
/**
 * Set to "true" together with the planned-takeover annotation: the target need not be in sync
 * (committed data may be lost). `hanasr takeover --force` sets it after a typed confirmation.
 */
export const ANNOTATION_FORCE_TAKEOVER = 'hanasr.io/force-takeover';
export const ANNOTATIONS = [
  ANNOTATION_PLANNED_TAKEOVER,
  ANNOTATION_FORCE_TAKEOVER,
  ANNOTATION_FENCE,
  ANNOTATION_REGISTER,
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

export const conditionSchema = z.object({
  type: z.enum(conditionTypes),
  status: z.enum(conditionStatuses),
  reason: z.string().min(1).max(1024).regex(CONDITION_REASON_PATTERN),
  message: z.string().max(32768),
  lastTransitionTime: time,
  observedGeneration: z.number().int().min(0).optional(),
});

export const siteStatusSchema = z.object({
  name: siteName,
  role: z.enum(siteRoles),
  hanaStatus: z.enum(hanaStatuses).optional(),
  /** landscapeHostConfiguration.py's overall host status. */
  landscapeStatus: z.enum(landscapeStatusNames).optional(),
  /** For a secondary: the mode it replicates in. */
  replicationMode: z.enum(replicationModes).optional(),
  replicationStatus: z.enum(siteReplicationStatuses).optional(),
  /**
   * The promotion rule (src/domain/sync-trust.ts) says this secondary may be promoted from the
   * primary now: SOK in this term, confirmed recently enough, lag and clock skew within bounds.
   */
  inSync: z.boolean().optional(),
  /** Why the rule would refuse to promote it (absent when in sync). */
  notInSyncReason: z.string().max(1024).optional(),
  /** Shipping delay as the source reports it (not a heartbeat age). */
  lagSeconds: z.number().min(0).optional(),
  /** Unshipped log in bytes. */
  lagBytes: z.number().int().min(0).optional(),
  lastReportTime: time.optional(),
  fenced: z.boolean().optional(),
});

export const takeoverRecordSchema = z.object({
  time,
  from: siteName,
  to: siteName,
  /** CamelCase reason (PrimaryFailed, PlannedTakeover...). */
  reason: z.string().min(1).max(1024),
  durationSeconds: z.number().min(0).optional(),
  outcome: z.enum(takeoverOutcomes).optional(),
  epoch: z.number().int().min(0).optional(),
});

export const hanaSystemReplicationStatusSchema = z.object({
  observedGeneration: z.number().int().min(0).optional(),
  /** The site accepting writes, as the leader key says. */
  currentPrimary: siteName.optional(),
  /** The site the operator wants to be primary: differs from currentPrimary during a takeover. */
  targetPrimary: siteName.optional(),
  /** The current primary term (the fencing token). */
  epoch: z.number().int().min(0).optional(),
  sites: z.array(siteStatusSchema).max(8).optional(),
  lastTakeover: takeoverRecordSchema.optional(),
  /** Newest first, at most TAKEOVER_HISTORY_LIMIT entries. */
  takeoverHistory: z.array(takeoverRecordSchema).max(TAKEOVER_HISTORY_LIMIT).optional(),
  conditions: z.array(conditionSchema).max(16).optional(),
});

export const objectMetaSchema = z.looseObject({
  name: z.string().min(1).max(253),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  generation: z.number().int().optional(),
  resourceVersion: z.string().optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  finalizers: z.array(z.string()).optional(),
});

export const hanaSystemReplicationSchema = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(KIND),
  metadata: objectMetaSchema,
  spec: hanaSystemReplicationSpecSchema,
  status: hanaSystemReplicationStatusSchema.optional(),
});

export type Condition = z.output<typeof conditionSchema>;
export type SiteStatus = z.output<typeof siteStatusSchema>;
export type TakeoverRecord = z.output<typeof takeoverRecordSchema>;
export type HanaSystemReplicationStatus = z.output<typeof hanaSystemReplicationStatusSchema>;
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
