/**
 * The planned region switchover carried out with the real stores (docs/dr.md "Planned
 * switchover: a demotion token"), by the operator of the active region and by the simulator's
 * driver alike. The rules are src/domain/region.ts's (planRegionSwitchover, regionSwitchoverNext);
 * here they meet the two regions' stores:
 *
 * 1. request: both stores are read (each within the deadline), the checks run, and the draining
 *    record g+1 is written into the active region's store (compare-and-set on g). From then on
 *    the `-rw` Service selects no pod (src/operator/compute.ts) and the old primary's agent demotes:
 *    it waits until its log stands still and is shipped to the target, stops, and records that
 *    position in the record (the demotion token).
 * 2. step (every reconcile while the record drains): once the token holds a position and the
 *    target's agent reports it running as a secondary, the handover: g+2 into the target region's
 *    store (compare-and-set), the takeover intent at that store's epoch, then g+2 adopted into the
 *    old store. Past the deadline without it, the abort: g+2 with the old region active, into the
 *    old store (and the target's where it answers), and the target is never promoted.
 */
import {
  ANNOTATION_REGION_SWITCHOVER,
  ANNOTATION_REGION_SWITCHOVER_EPOCH,
  ANNOTATION_REGION_SWITCHOVER_GENERATION,
} from '../api/resource.js';
import type { HanaSystemReplicationSpec } from '../api/spec.js';
import type { ClusterState, Coordination, RegionStore } from '../coordination/port.js';
import { planRegionSwitchover, regionOf, regionSwitchoverNext, type RegionRecord } from '../domain/region.js';

/** Another region's store as the operator has it: readable, and writable where it was built so. */
export interface SwitchoverPeer {
  readonly region: string;
  readonly store: Pick<Coordination, 'read'> &
    Partial<Pick<Coordination, 'addIntent'> & Pick<RegionStore, 'writeRegion'>>;
}

/** The peer of `region` as a switchover store, or null when there is none that can be written. */
export function peerStore(
  peers: readonly SwitchoverPeer[] | undefined,
  region: string | undefined,
): SwitchoverStore | null {
  const p = peers?.find((x) => x.region === region);
  const store = p?.store;
  if (store?.writeRegion === undefined || store.addIntent === undefined) return null;
  return {
    read: (c) => store.read(c),
    writeRegion: (c, r, g) => store.writeRegion!(c, r, g),
    addIntent: (c, i) => store.addIntent!(c, i),
  };
}

/** A region's store as the switchover uses it. */
export type SwitchoverStore = Pick<Coordination, 'read' | 'addIntent'> & Pick<RegionStore, 'writeRegion'>;

export interface SwitchoverStores {
  readonly cluster: string;
  /** The active region's store (where the draining record goes). */
  readonly active: SwitchoverStore;
  /** The other region's store, or null when this component has none (then nothing is asked of it). */
  readonly target: SwitchoverStore | null;
  /** Deadline of every store call (ms). */
  readonly timeoutMs: number;
}

export type SwitchoverAnswer =
  | { readonly ok: true; readonly reason: string; readonly message: string }
  | { readonly ok: false; readonly reason: string; readonly message: string };

export type SwitchoverStep =
  | { readonly kind: 'none' }
  | { readonly kind: 'wait'; readonly message: string }
  | { readonly kind: 'handover'; readonly target: string; readonly message: string }
  | { readonly kind: 'abort'; readonly target: string; readonly message: string }
  | { readonly kind: 'stuck'; readonly reason: string; readonly message: string };

/** `p` within `ms`, else a rejection (never left hanging). */
export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

const readOrNull = (store: SwitchoverStore | null, s: SwitchoverStores): Promise<ClusterState | null> =>
  store === null
    ? Promise.resolve(null)
    : withDeadline(store.read(s.cluster), s.timeoutMs, 'read').catch(() => null);

/** The replication from `leader` into `target` is ACTIVE in the leader's last report. */
function linkActive(state: ClusterState, leader: string, target: string): boolean {
  const h = state.reports[leader]?.health;
  return (
    h !== undefined &&
    h.probeOk &&
    h.srRole === 'primary' &&
    h.replication.some((l) => l.secondary === target && l.status === 'ACTIVE')
  );
}

/**
 * Step 1: the checks and the draining write. `expected`: the generation and epoch the requester
 * saw (refused when the stores moved on).
 */
export async function requestRegionSwitchover(
  spec: HanaSystemReplicationSpec,
  target: string,
  stores: SwitchoverStores,
  expected: { readonly generation?: number; readonly epoch?: number },
  now: number,
  /** Called once the checks passed, right before the draining write (the operator withdraws the -rw Service). */
  beforeDrain?: () => Promise<void>,
): Promise<SwitchoverAnswer> {
  if (!spec.sites.some((x) => x.name === target))
    return {
      ok: false,
      reason: 'unknown_site',
      message: `unknown site "${target}" (sites: ${spec.sites.map((x) => x.name).join(', ')})`,
    };
  if (stores.target === null)
    return {
      ok: false,
      reason: 'target_region_unknown',
      message: `no store of region ${regionOf(spec, target) ?? '?'} is configured for this operator (--other-region and --other-region-etcd-endpoints): the switchover could not hand over`,
    };
  const [active, other] = await Promise.all([
    readOrNull(stores.active, stores),
    readOrNull(stores.target, stores),
  ]);
  const leader = active?.leader ?? null;
  const plan = planRegionSwitchover(spec, target, {
    active:
      active === null
        ? null
        : {
            ...(active.region !== undefined ? { region: active.region } : {}),
            leader: leader === null ? null : { site: leader.site, epoch: leader.epoch },
            lastEpoch: active.lastEpoch,
          },
    targetRegionReachable: other !== null,
    linkActive: active !== null && leader !== null && linkActive(active, leader.site, target),
    ...(expected.generation !== undefined ? { expectedGeneration: expected.generation } : {}),
    ...(expected.epoch !== undefined ? { expectedEpoch: expected.epoch } : {}),
    now,
  });
  if (!plan.ok) return plan;
  await beforeDrain?.();
  const written = await withDeadline(
    stores.active.writeRegion(stores.cluster, plan.drain, plan.expectedGeneration),
    stores.timeoutMs,
    'write region',
  ).catch(() => false);
  if (!written)
    return {
      ok: false,
      reason: 'stale_generation',
      message: 'the region record changed meanwhile (or its store did not answer): read the status again',
    };
  return { ok: true, reason: 'switchover_draining', message: plan.message };
}

/** Step 2: one step of a draining switchover in the active region's store (none: nothing drains). */
export async function stepRegionSwitchover(
  spec: HanaSystemReplicationSpec,
  stores: SwitchoverStores,
  deadlineMs: number,
  now: number,
  id: string,
): Promise<SwitchoverStep> {
  const active = await readOrNull(stores.active, stores);
  const drain = active?.region;
  if (drain === undefined || drain.draining !== true || drain.by !== 'switchover') return { kind: 'none' };
  const target = drain.token?.toSite;
  if (target === undefined || drain.token === undefined)
    return {
      kind: 'stuck',
      reason: 'switchover_without_target',
      message: `the draining record of generation ${drain.generation} names no target site: a DBA must write the next generation`,
    };
  const other = await readOrNull(stores.target, stores);
  // A handover already written there (an earlier step ended before adopting it): adopt it.
  if (other?.region !== undefined && other.region.generation > drain.generation) {
    await adopt(stores, stores.active, other.region, drain.generation);
    return {
      kind: 'wait',
      message: `region ${other.region.active} already holds generation ${other.region.generation}: adopted`,
    };
  }
  // The target's position: the old primary's, shipped (its agent recorded it only once the link
  // had shipped all of it), provided the target's agent still reports it running as a secondary.
  const final = drain.token.logPosition ?? null;
  const t = other?.reports[target]?.health;
  const targetUp = t !== undefined && t.probeOk && t.running && t.srRole === 'secondary';
  const next = regionSwitchoverNext(spec, drain, target, {
    finalPosition: final,
    targetPosition: targetUp ? final : null,
    deadlinePassed: now >= drain.since + deadlineMs,
    targetLastEpoch: other?.lastEpoch ?? 0,
    now,
    id,
  });
  if (next.kind === 'wait') return next;
  if (next.kind === 'handover') {
    if (other === null || stores.target === null)
      return { kind: 'wait', message: `${next.message}; waiting for the target region's store` };
    const ok = await withDeadline(
      stores.target.writeRegion(stores.cluster, next.record, other.region?.generation ?? null),
      stores.timeoutMs,
      'write region',
    ).catch(() => false);
    if (!ok)
      return { kind: 'wait', message: `the target region's record moved or did not answer: trying again` };
    // Carries the target store's epoch: refused if a term began there meanwhile (nobody promoted).
    const added = await withDeadline(
      stores.target.addIntent(stores.cluster, next.intent),
      stores.timeoutMs,
      'add intent',
    ).then(
      () => true,
      () => false,
    );
    await adopt(stores, stores.active, next.record, drain.generation);
    if (!added)
      return {
        kind: 'stuck',
        reason: 'stale_epoch',
        message: `region ${drain.active} is active at generation ${next.record.generation}, but the takeover request for ${target} was refused (the store's epoch moved, or it did not answer): ${target} takes over only on a new request`,
      };
    return { kind: 'handover', target, message: next.message };
  }
  // Abort. Once the old primary recorded its token, a handover may have been written into the
  // target's store (by an earlier step): the abort then needs that store to answer, and goes there
  // first (compare-and-set: a handover there wins), or the old region could lead beside the new.
  // Without a token no handover was ever possible: the old store alone suffices.
  if (other !== null && stores.target !== null) {
    const there = await withDeadline(
      stores.target.writeRegion(
        stores.cluster,
        { ...next.record, by: 'adopted' },
        other.region?.generation ?? null,
      ),
      stores.timeoutMs,
      'write region',
    ).catch(() => false);
    if (!there)
      return {
        kind: 'wait',
        message: `the abort could not be written into region ${drain.active}'s store: trying again`,
      };
  } else if (final !== null) {
    return {
      kind: 'stuck',
      reason: 'target_region_unreachable',
      message: `${next.message}; but ${drain.token.fromSite} stopped and recorded its position, and region ${drain.active}'s store does not answer: whether ${target} took over is unknown, so nobody leads until it answers (or a DBA decides)`,
    };
  }
  const ok = await withDeadline(
    stores.active.writeRegion(stores.cluster, next.record, drain.generation),
    stores.timeoutMs,
    'write region',
  ).catch(() => false);
  if (!ok) {
    // An agent may have adopted the abort from the other store first (its region link copies a
    // newer generation): then the abort is done, and its Event must not be lost.
    const now = (await readOrNull(stores.active, stores))?.region;
    if (now?.generation === next.record.generation && now.active === next.record.active && !now.draining)
      return { kind: 'abort', target, message: next.message };
    return {
      kind: 'wait',
      message: 'the abort could not be written (the record moved or did not answer): trying again',
    };
  }
  return { kind: 'abort', target, message: next.message };
}

async function adopt(
  stores: SwitchoverStores,
  store: SwitchoverStore,
  record: RegionRecord,
  expected: number,
): Promise<void> {
  await withDeadline(
    store.writeRegion(stores.cluster, { ...record, by: 'adopted' }, expected),
    stores.timeoutMs,
    'write region',
  ).catch(() => false);
}

export interface SwitchoverAnnotationContext {
  readonly annotations: Readonly<Record<string, string>>;
  readonly spec: HanaSystemReplicationSpec;
  readonly stores: SwitchoverStores;
  readonly now: number;
  readonly withdrawService: () => Promise<void>;
  readonly record: (event: { type: 'Normal' | 'Warning'; reason: string; message: string }) => Promise<void>;
}

export interface SwitchoverAnnotationOutcome {
  /** Annotations to remove. */
  readonly remove: Record<string, null>;
  readonly started: boolean;
  readonly refusal?: { readonly site: string; readonly why: string };
}

const counter = (text: string | undefined): number | undefined =>
  text !== undefined && /^\d{1,15}$/.test(text.trim()) ? Number(text.trim()) : undefined;

/**
 * `hanasr.io/region-switchover: SITE` with the generation and epoch the requester saw, on the
 * active region's resource: the checks and the draining write (requestRegionSwitchover), the -rw
 * Service withdrawn first. Refusals are IntentRefused Events naming the rule's reason; the
 * annotations are removed either way.
 */
export async function handleSwitchoverAnnotation(
  ctx: SwitchoverAnnotationContext,
): Promise<SwitchoverAnnotationOutcome> {
  const site = ctx.annotations[ANNOTATION_REGION_SWITCHOVER];
  const remove: Record<string, null> = {};
  for (const a of [ANNOTATION_REGION_SWITCHOVER_GENERATION, ANNOTATION_REGION_SWITCHOVER_EPOCH])
    if (ctx.annotations[a] !== undefined) remove[a] = null;
  if (site === undefined) return { remove, started: false };
  remove[ANNOTATION_REGION_SWITCHOVER] = null;
  const refuse = async (reason: string, why: string): Promise<SwitchoverAnnotationOutcome> => {
    const text = `${reason}: ${why}`;
    await ctx.record({
      type: 'Warning',
      reason: 'IntentRefused',
      message: `${ANNOTATION_REGION_SWITCHOVER}=${site} refused (${text})`,
    });
    return { remove, started: false, refusal: { site, why: text } };
  };
  const generation = counter(ctx.annotations[ANNOTATION_REGION_SWITCHOVER_GENERATION]);
  const epoch = counter(ctx.annotations[ANNOTATION_REGION_SWITCHOVER_EPOCH]);
  if (generation === undefined || epoch === undefined)
    return refuse(
      'expected_state_missing',
      `${ANNOTATION_REGION_SWITCHOVER_GENERATION} and ${ANNOTATION_REGION_SWITCHOVER_EPOCH} must carry the region generation and the epoch the requester saw (hanasr takeover NAME --to ${site} sets them)`,
    );
  const answer = await requestRegionSwitchover(
    ctx.spec,
    site,
    ctx.stores,
    { generation, epoch },
    ctx.now,
    ctx.withdrawService,
  );
  if (!answer.ok) return refuse(answer.reason, answer.message);
  await ctx.record({ type: 'Normal', reason: 'RegionSwitchoverDraining', message: answer.message });
  return { remove, started: true };
}
