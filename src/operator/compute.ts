// Why this file is long: every pure decision of a reconcile (status plan, annotations, Services, pod labels) in one module, tested in one table file.
/**
 * The reconcile's compute half: pure functions from what the operator observed (the resource,
 * the coordination store's snapshot, the Services and pods it read) to what it should write — the
 * status and its merge patch, the Events, the intents an annotation becomes, the Services and the
 * pod role labels. No I/O, no clock reads (`now` and a nonce for intent ids are passed in), so
 * every rule is unit-tested without an API server (test/operator/compute.test.ts). The apply half
 * (src/operator/apply.ts) carries the result out through the Kubernetes client and the store,
 * each call with its deadline; src/operator/controller.ts runs read → compute → apply.
 *
 * A result of "nothing to change" (a null patch, `op: 'none'`, no pod in the list) means the
 * apply half sends no write at all.
 */
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import {
  ANNOTATION_BACKUP_NOW,
  ANNOTATION_FENCE,
  ANNOTATION_FENCE_RELEASE,
  ANNOTATION_FORCE_TAKEOVER,
  ANNOTATION_PLANNED_TAKEOVER,
  ANNOTATION_REGISTER,
  KIND,
  type HanaSystemReplicationStatus,
} from '../api/resource.js';
import type { HanaSystemReplicationSpec } from '../api/spec.js';
import type { ClusterState } from '../coordination/port.js';
import { inSyncFromStore } from '../domain/sync-trust.js';
import type { Intent } from '../domain/types.js';
import { LABEL_CLUSTER, LABEL_MANAGED_BY, LABEL_ROLE, LABEL_SITE, MANAGER } from '../kube/client.js';
import type { LagAlertState, LagEvaluation } from './alerts.js';
import {
  desiredRole,
  detectFenceFailures,
  detectFencingEvents,
  detectTakeoverFailures,
  withFailures,
  withRefusal,
  withTakeoverStory,
  type Refusal,
} from './outcomes.js';
import { buildStatus, rfc3339, statusMergePatch, type OperatorEvent } from './status.js';

export type Obj = Record<string, unknown>;

export function metaOf(obj: Obj): Obj {
  const m = obj['metadata'];
  return typeof m === 'object' && m !== null ? (m as Obj) : {};
}

export function generationOf(obj: Obj): number {
  const g = metaOf(obj)['generation'];
  return typeof g === 'number' ? g : 0;
}

export function finalizersOf(obj: Obj): string[] {
  const f = metaOf(obj)['finalizers'];
  return Array.isArray(f) ? f.filter((x): x is string => typeof x === 'string') : [];
}

export function previousStatusOf(obj: Obj): HanaSystemReplicationStatus | undefined {
  return (obj['status'] ?? undefined) as HanaSystemReplicationStatus | undefined;
}

function stringRecord(v: unknown): Record<string, string> {
  if (typeof v !== 'object' || v === null) return {};
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

export function annotationsOf(obj: Obj): Record<string, string> {
  return stringRecord(metaOf(obj)['annotations']);
}

// ---------------------------------------------------------------------------------------------
// Status

/** The Events of failed stops and node fencing not yet reported, with the keys that mark them. */
export function newFenceEvents(
  state: ClusterState | null,
  reported: (key: string) => boolean,
): { readonly keys: string[]; readonly events: OperatorEvent[] } {
  if (state === null) return { keys: [], events: [] };
  const fresh = [...detectFenceFailures(state), ...detectFencingEvents(state)].filter(
    (f) => !reported(f.key),
  );
  return { keys: fresh.map((f) => f.key), events: fresh.map((f) => f.event) };
}

export interface StatusPlanInput {
  readonly spec: HanaSystemReplicationSpec;
  readonly generation: number;
  /** The store's snapshot, or null when it could not be read (`stateError` says why). */
  readonly state: ClusterState | null;
  readonly stateError?: string;
  /** The status on the resource this plan is built from. */
  readonly previous: HanaSystemReplicationStatus | undefined;
  readonly now: number;
  /** The lag alert evaluator's state; null rebuilds it from the previous condition. */
  readonly lagAlerts: LagAlertState | null;
  /** The target of a planned takeover this reconcile requested (it may already be done). */
  readonly plannedTarget?: string;
  /** Annotations refused in this reconcile, kept visible in the status. */
  readonly refusals: readonly Refusal[];
  /** Whether a takeover failure (by key) already had its Event. */
  readonly reported: (key: string) => boolean;
  readonly takeoverTimeoutMs: number;
  /** This operator's region (buildStatus's ownRegion) and its switchover deadline (ms). */
  readonly ownRegion?: string;
  readonly regionSwitchoverTimeoutMs?: number;
  /** Events of failed stops found before this plan (newFenceEvents), recorded after the write. */
  readonly fenceEvents: readonly OperatorEvent[];
  /** Cuts registered secrets out of every string of the status. */
  readonly redact?: (text: string) => string;
  /** See REPORT_TIME_REFRESH_MS (the default). */
  readonly reportTimeRefreshMs?: number;
}

/**
 * `status.sites[].lastReportTime` is a heartbeat: the agents report every probe cycle, and writing
 * each new time would turn every resync of every cluster into a status write (and an informer
 * event), which is what kept a thousand clusters' queue from draining. A status that would change
 * only in report times is written once one of them is this far ahead of the one in the status;
 * any other change writes the fresh times with it. So while an agent reports, its
 * lastReportTime in the status is at most this bound plus one resync period old; an agent that
 * stops reporting loses its report with its lease (the status shows that at once), and one whose
 * report stops moving while its lease lives is shown by the age growing past the bound.
 */
export const REPORT_TIME_REFRESH_MS = 60_000;

/** True when `next` differs from `previous` only in report times less than `refreshMs` ahead. */
function reportTimesOnly(
  previous: HanaSystemReplicationStatus | undefined,
  next: HanaSystemReplicationStatus,
  refreshMs: number,
): boolean {
  if (previous === undefined || refreshMs <= 0) return false;
  const before = new Map((previous.sites ?? []).map((s) => [s.name, s.lastReportTime]));
  const held: HanaSystemReplicationStatus = {
    ...next,
    ...(next.sites !== undefined
      ? {
          sites: next.sites.map((s) => {
            const prev = before.get(s.name);
            if (prev === undefined || s.lastReportTime === undefined) return s;
            const ahead = Date.parse(s.lastReportTime) - Date.parse(prev);
            return ahead >= 0 && ahead < refreshMs ? { ...s, lastReportTime: prev } : s;
          }),
        }
      : {}),
  };
  return JSON.stringify(held) === JSON.stringify(previous);
}

export interface StatusPlan {
  readonly status: HanaSystemReplicationStatus;
  /** The Events to record after the write, in order. */
  readonly events: OperatorEvent[];
  /** The merge patch on /status, or null when the status did not change (no write). */
  readonly patch: { status: Record<string, unknown> } | null;
  /** Keys of the takeover failures this plan reports (the caller remembers them). */
  readonly reportedKeys: string[];
  readonly lag?: LagEvaluation;
}

/**
 * The status to write and the Events to record for one reconcile: buildStatus, plus failed
 * takeovers, refusals and the takeover's story (src/operator/outcomes.ts), redacted.
 */
export function planStatus(input: StatusPlanInput): StatusPlan {
  const { spec, generation, state, previous, now } = input;
  const result = buildStatus({
    spec,
    generation,
    state,
    ...(input.stateError !== undefined ? { stateError: input.stateError } : {}),
    previous,
    now,
    lagAlerts: input.lagAlerts,
    ...(input.plannedTarget !== undefined ? { plannedTarget: input.plannedTarget } : {}),
    ...(input.ownRegion !== undefined ? { ownRegion: input.ownRegion } : {}),
    ...(input.regionSwitchoverTimeoutMs !== undefined
      ? { regionSwitchoverTimeoutMs: input.regionSwitchoverTimeoutMs }
      : {}),
  });
  let status = result.status;
  let events = [...result.events];
  let reportedKeys: string[] = [];
  if (state !== null) {
    const failures = detectTakeoverFailures({
      previous,
      next: status,
      state,
      now,
      timeoutMs: input.takeoverTimeoutMs,
    }).filter((f) => !input.reported(f.key));
    status = withFailures(status, failures);
    events.push(...failures.map((f) => f.event));
    status = withRefusal(status, input.refusals, previous, generation, now);
    events = [...withTakeoverStory(events, previous, status), ...input.fenceEvents];
    reportedKeys = failures.map((f) => f.key);
  }
  // Messages quote annotation values and agent texts: no registered secret goes out in them.
  const redact = input.redact;
  if (redact !== undefined) status = mapStrings(status, redact);
  const unchanged =
    JSON.stringify(status) === JSON.stringify(previous) ||
    reportTimesOnly(previous, status, input.reportTimeRefreshMs ?? REPORT_TIME_REFRESH_MS);
  return {
    status,
    events,
    patch: unchanged ? null : statusMergePatch(previous, status),
    reportedKeys,
    ...(result.lagAlerts !== undefined ? { lag: result.lagAlerts } : {}),
  };
}

/**
 * The status of a resource whose spec does not validate: Ready False/InvalidSpec, the other
 * conditions kept. Null when the status already says exactly this (no write, no Event).
 */
export function planInvalidSpec(
  previous: HanaSystemReplicationStatus | undefined,
  generation: number,
  error: string,
  now: number,
): { readonly patch: { status: Obj }; readonly event: OperatorEvent } | null {
  const prevReady = previous?.conditions?.find((c) => c.type === 'Ready');
  const message = `invalid spec: ${error}`;
  if (
    prevReady?.reason === 'InvalidSpec' &&
    prevReady.message === message &&
    previous?.observedGeneration === generation
  ) {
    return null;
  }
  const conditions = [
    ...(previous?.conditions ?? []).filter((c) => c.type !== 'Ready'),
    {
      type: 'Ready' as const,
      status: 'False' as const,
      reason: 'InvalidSpec',
      message,
      lastTransitionTime: prevReady?.status === 'False' ? prevReady.lastTransitionTime : rfc3339(now),
      observedGeneration: generation,
    },
  ];
  return {
    patch: { status: { observedGeneration: generation, conditions } },
    event: { type: 'Warning', reason: 'InvalidSpec', message },
  };
}

// ---------------------------------------------------------------------------------------------
// Annotations → intents

const INTENT_ANNOTATIONS = [
  { annotation: ANNOTATION_PLANNED_TAKEOVER, kind: 'planned-takeover', accepted: 'TakeoverRequested' },
  { annotation: ANNOTATION_FENCE, kind: 'fence', accepted: 'FenceRequested' },
  { annotation: ANNOTATION_REGISTER, kind: 'register', accepted: 'RegisterRequested' },
] as const;

function intentSite(intent: Intent): string | null {
  return intent.kind === 'planned-takeover' || intent.kind === 'disaster-takeover'
    ? intent.target
    : intent.kind === 'backup'
      ? null
      : intent.site;
}

function unknownSite(site: string, spec: HanaSystemReplicationSpec): string | null {
  return spec.sites.some((s) => s.name === site)
    ? null
    : `unknown site "${site}" (sites: ${spec.sites.map((s) => s.name).join(', ')})`;
}

/** Why an annotation cannot become an intent, or null when it can. */
export function refuseIntent(
  kind: Intent['kind'],
  site: string,
  spec: HanaSystemReplicationSpec,
  state: ClusterState,
  now: number,
  force = false,
): string | null {
  const unknown = unknownSite(site, spec);
  if (unknown !== null) return unknown;
  if (spec.maintenance) return 'spec.maintenance is true: hanasr takes no action';
  const leader = state.leader;
  if (kind === 'planned-takeover') {
    if (leader === null) return 'no site holds the leader key: nothing to hand over';
    if (leader.site === site) return `${site} is already primary`;
    // The agents' rule (src/domain/sync-trust.ts), in every mode. Only it yields to the force.
    const verdict = inSyncFromStore(spec, state, site, leader.site, now);
    if (!force && !verdict.ok) {
      return `${site} is not in sync with ${leader.site} (${verdict.why}): a takeover could lose committed data`;
    }
  }
  if (kind === 'fence' && leader?.site === site) {
    return `${site} is the current primary: use a planned takeover first`;
  }
  if (kind === 'register' && leader?.site === site) {
    return `${site} is the current primary and cannot be registered as a secondary`;
  }
  return null;
}

/** One thing an annotation asks for, in the order the apply half carries them out. */
export type AnnotationStep =
  /** Record the Event (a refusal, or an acknowledgement of what the steps before did). */
  | { readonly kind: 'event'; readonly event: OperatorEvent }
  | { readonly kind: 'add-intent'; readonly intent: Intent }
  /** Remove these intents (a site's fence requests). */
  | { readonly kind: 'remove-intents'; readonly ids: readonly string[] }
  /** hanasr.io/backup-now: src/operator/backup-request.ts decides and records. */
  | { readonly kind: 'backup' };

export interface AnnotationPlan {
  readonly steps: readonly AnnotationStep[];
  readonly refusals: readonly Refusal[];
  /** Whether the steps change the store's intents (the state is read again after them). */
  readonly changesIntents: boolean;
  /** The annotations to remove (merge patch values null). */
  readonly remove: Record<string, null>;
  readonly plannedTarget?: string;
}

export interface AnnotationInput {
  readonly annotations: Readonly<Record<string, string>>;
  readonly spec: HanaSystemReplicationSpec;
  readonly state: ClusterState;
  readonly now: number;
  /** A fresh suffix for an intent id. */
  readonly nonce: () => string;
}

/**
 * The planned-takeover, fence, register, fence-release and backup-now annotations as steps: each
 * is refused (an IntentRefused Event and a refusal kept in the status) or becomes an intent at the
 * current epoch, acknowledged with an Event; every such annotation is removed. (The disaster
 * takeover, which reads other regions' stores, is src/operator/disaster.ts.)
 */
export function planAnnotations(input: AnnotationInput): AnnotationPlan {
  const { annotations, spec, state, now } = input;
  const steps: AnnotationStep[] = [];
  const refusals: Refusal[] = [];
  const remove: Record<string, null> = {};
  let changesIntents = false;
  let plannedTarget: string | undefined;
  const fenceIdsOf = (site: string): string[] =>
    state.intents.filter((i) => i.kind === 'fence' && i.site === site).map((i) => i.id);
  // The force goes with the planned takeover it came with, and with no other: always removed.
  const forced = annotations[ANNOTATION_FORCE_TAKEOVER] === 'true';
  if (annotations[ANNOTATION_FORCE_TAKEOVER] !== undefined) remove[ANNOTATION_FORCE_TAKEOVER] = null;
  for (const { annotation, kind, accepted } of INTENT_ANNOTATIONS) {
    const site = annotations[annotation];
    if (site === undefined) continue;
    remove[annotation] = null;
    const force = kind === 'planned-takeover' && forced;
    const refusal = refuseIntent(kind, site, spec, state, now, force);
    if (refusal !== null) {
      refusals.push({ annotation, kind, site, why: refusal });
      steps.push({
        kind: 'event',
        event: {
          type: 'Warning',
          reason: 'IntentRefused',
          message: `${annotation}=${site} refused: ${refusal}`,
        },
      });
      continue;
    }
    const pending = state.intents.find(
      (i) =>
        i.kind === kind &&
        intentSite(i) === site &&
        (i.kind !== 'planned-takeover' || (i.force === true) === force),
    );
    const epoch = state.lastEpoch;
    if (pending === undefined) {
      const id = `${kind}-${site}-${epoch}-${input.nonce()}`;
      const intent: Intent =
        kind === 'planned-takeover'
          ? { kind, id, target: site, epoch, ...(force ? { force: true } : {}) }
          : { kind, id, site, epoch };
      steps.push({ kind: 'add-intent', intent });
      changesIntents = true;
    }
    if (kind === 'planned-takeover') plannedTarget = site;
    // The runbook's "fence, then register": registering a site releases its fence request.
    const fences = kind === 'register' ? fenceIdsOf(site) : [];
    if (fences.length > 0) {
      changesIntents = true;
      steps.push(
        { kind: 'remove-intents', ids: fences },
        {
          kind: 'event',
          event: {
            type: 'Normal',
            reason: 'FenceReleased',
            message: `${annotation}=${site}: the fence request of ${site} is released, ${site} is registered as a secondary`,
          },
        },
      );
    }
    steps.push({
      kind: 'event',
      event: {
        type: force ? 'Warning' : 'Normal',
        reason: accepted,
        message: `${annotation}=${site} accepted at epoch ${epoch}${force ? ` with ${ANNOTATION_FORCE_TAKEOVER}: the target need not be in sync, committed data may be lost` : ''}`,
      },
    });
  }
  const release = annotations[ANNOTATION_FENCE_RELEASE];
  if (release !== undefined) {
    remove[ANNOTATION_FENCE_RELEASE] = null;
    const fences = fenceIdsOf(release);
    const refusal =
      unknownSite(release, spec) ??
      (fences.length === 0 ? `${release} has no fence request to release` : null);
    if (refusal !== null) {
      refusals.push({
        annotation: ANNOTATION_FENCE_RELEASE,
        kind: 'fence-release',
        site: release,
        why: refusal,
      });
      steps.push({
        kind: 'event',
        event: {
          type: 'Warning',
          reason: 'IntentRefused',
          message: `${ANNOTATION_FENCE_RELEASE}=${release} refused: ${refusal}`,
        },
      });
    } else {
      changesIntents = true;
      steps.push(
        { kind: 'remove-intents', ids: fences },
        {
          kind: 'event',
          event: {
            type: 'Normal',
            reason: 'FenceReleased',
            message: `${ANNOTATION_FENCE_RELEASE}=${release}: the fence request of ${release} is released; its agent starts it again as a secondary, or registers a former primary (automatedRegister) or waits for ${ANNOTATION_REGISTER}`,
          },
        },
      );
    }
  }
  if (annotations[ANNOTATION_BACKUP_NOW] !== undefined) {
    remove[ANNOTATION_BACKUP_NOW] = null;
    steps.push({ kind: 'backup' });
  }
  return {
    steps,
    refusals,
    changesIntents,
    remove,
    ...(plannedTarget !== undefined ? { plannedTarget } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Services and pod labels

export function rwServiceName(name: string): string {
  return `${name}-rw`;
}

/** The read-only Service of a logreplay_readaccess cluster: the secondaries. */
export function roServiceName(name: string): string {
  return `${name}-ro`;
}

/** The SQL ports of a HANA instance: SYSTEMDB 3<nr>13 and the first tenant 3<nr>15. */
export function hanaPorts(instanceNumber: string): { name: string; port: number }[] {
  const nr = Number(instanceNumber);
  return [
    { name: 'systemdb-sql', port: 30013 + nr * 100 },
    { name: 'tenant-sql', port: 30015 + nr * 100 },
  ];
}

export interface ServicesInput {
  /** The resource (its uid and apiVersion make the owner reference). */
  readonly obj: Obj;
  readonly namespace: string;
  readonly name: string;
  readonly spec: HanaSystemReplicationSpec;
  /** The site holding the leader key (undefined while it is vacant). */
  readonly activeSite: string | undefined;
}

/**
 * The Services of a resource: `<name>-rw` selects the pods of the site holding the leader key
 * (an empty site value, which matches no pod, while it is vacant); `<name>-ro` selects the
 * secondaries' pods in logreplay_readaccess and is null (delete it if hanasr made it) otherwise.
 */
export function desiredServices(input: ServicesInput): { rw: V1Service; ro: V1Service | null } {
  const { name, spec } = input;
  const rw = serviceBody(input, rwServiceName(name), {
    [LABEL_CLUSTER]: name,
    [LABEL_SITE]: input.activeSite ?? '',
  });
  const ro =
    spec.replication.operationMode === 'logreplay_readaccess'
      ? serviceBody(input, roServiceName(name), { [LABEL_CLUSTER]: name, [LABEL_ROLE]: 'secondary' })
      : null;
  return { rw, ro };
}

function serviceBody(input: ServicesInput, svcName: string, selector: Record<string, string>): V1Service {
  const { obj, namespace, name, spec } = input;
  const uid = metaOf(obj)['uid'];
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: svcName,
      namespace,
      labels: { [LABEL_CLUSTER]: name, [LABEL_MANAGED_BY]: MANAGER },
      ...(typeof uid === 'string'
        ? {
            ownerReferences: [
              {
                apiVersion: String(obj['apiVersion']),
                kind: KIND,
                name,
                uid,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          }
        : {}),
    },
    spec: {
      type: 'ClusterIP',
      selector,
      ports: hanaPorts(spec.instanceNumber).map((p) => ({ ...p, targetPort: p.port, protocol: 'TCP' })),
    },
  };
}

export type ServiceChange =
  | { readonly op: 'none' }
  | { readonly op: 'create'; readonly body: V1Service }
  /** A merge patch of the selector (keys no longer wanted are null), and what it moves from/to. */
  | {
      readonly op: 'patch';
      readonly body: { spec: { selector: Record<string, string | null> } };
      readonly from: string | null;
      readonly to: string | null;
    }
  | { readonly op: 'delete' };

/** What turns the Service that exists into the one wanted (null: none wanted). */
export function serviceChange(existing: V1Service | null, desired: V1Service | null): ServiceChange {
  if (desired === null) {
    return existing?.metadata?.labels?.[LABEL_MANAGED_BY] === MANAGER ? { op: 'delete' } : { op: 'none' };
  }
  if (existing === null) return { op: 'create', body: desired };
  const current = existing.spec?.selector ?? {};
  const selector = desired.spec?.selector ?? {};
  if (JSON.stringify(sorted(current)) === JSON.stringify(sorted(selector))) return { op: 'none' };
  const patch: Record<string, string | null> = { ...selector };
  for (const key of Object.keys(current)) if (!(key in selector)) patch[key] = null;
  return {
    op: 'patch',
    body: { spec: { selector: patch } },
    from: current[LABEL_SITE] ?? current[LABEL_ROLE] ?? null,
    to: selector[LABEL_SITE] ?? selector[LABEL_ROLE] ?? null,
  };
}

export interface PodLabelChange {
  readonly pod: string;
  readonly site: string;
  /** `hanasr.io/role`, or null to remove it (the site is neither primary nor a secondary). */
  readonly role: 'primary' | 'secondary' | null;
}

/** The pods whose `hanasr.io/role` label differs from the store's leader key, and their new value. */
export function podLabelChanges(pods: readonly V1Pod[], state: ClusterState): PodLabelChange[] {
  const out: PodLabelChange[] = [];
  for (const pod of pods) {
    const labels = pod.metadata?.labels ?? {};
    const site = labels[LABEL_SITE];
    const podName = pod.metadata?.name;
    if (site === undefined || podName === undefined) continue;
    const role = desiredRole(site, state);
    if ((labels[LABEL_ROLE] ?? null) === role) continue;
    out.push({ pod: podName, site, role });
  }
  return out;
}

/**
 * A copy of plain JSON data with `f` applied to every string. (Redactor.value is for log fields:
 * it treats an object met twice as a cycle, and status shares records between lastTakeover and
 * the history.)
 */
export function mapStrings<T>(value: T, f: (text: string) => string): T {
  if (typeof value === 'string') return f(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => mapStrings(v, f)) as T;
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, f)])) as T;
}

function sorted(record: Record<string, string>): [string, string][] {
  return Object.entries(record).sort(([a], [b]) => a.localeCompare(b));
}
