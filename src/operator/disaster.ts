/**
 * The disaster takeover annotation (docs/dr.md): on the DR region's operator,
 * `hanasr.io/disaster-takeover: SITE` with `hanasr.io/disaster-confirm: NAME` promotes SITE when
 * the active region's store cannot be read. The checks and the record are planDisasterTakeover's
 * (src/domain/region.ts); here they are carried out: the other region's store is read with a
 * deadline, the region record is written (compare-and-set), then the intent the DR site's agent
 * acts on; the old region's store is told too when it answers (it usually does not). Everything
 * is reported as Events (DisasterTakeoverRequested with the expected data loss, or IntentRefused).
 */
import { randomUUID } from 'node:crypto';
import type { RegionPeer } from '../agent/region-link.js';
import { ANNOTATION_DISASTER_CONFIRM, ANNOTATION_DISASTER_TAKEOVER } from '../api/resource.js';
import type { HanaSystemReplicationSpec } from '../api/spec.js';
import type { ClusterState, Coordination, RegionStore } from '../coordination/port.js';
import { estimateDataLoss, planDisasterTakeover, regionOf, type DataLossEstimate } from '../domain/region.js';

export interface DisasterContext {
  readonly annotations: Readonly<Record<string, string>>;
  readonly spec: HanaSystemReplicationSpec;
  readonly state: ClusterState;
  /** The store key of the cluster. */
  readonly cluster: string;
  /** The resource's name: the typed confirmation. */
  readonly name: string;
  readonly now: number;
  readonly store: Coordination & Partial<RegionStore>;
  /** The other regions' stores (absent: none configured, so the active region's state is unknown). */
  readonly peers: readonly RegionPeer[] | undefined;
  readonly timeoutMs: number;
  readonly record: (event: { type: 'Normal' | 'Warning'; reason: string; message: string }) => Promise<void>;
}

export interface DisasterOutcome {
  /** Annotations to remove. */
  readonly remove: Record<string, null>;
  readonly added: boolean;
  readonly refusal?: string;
}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
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

/** The expected loss of a disaster takeover to each DR site, for status (null: one region). */
export function drLossBySite(
  spec: HanaSystemReplicationSpec,
  state: ClusterState,
  now: number,
): Record<string, DataLossEstimate> | null {
  if (state.region === undefined) return null;
  const out: Record<string, DataLossEstimate> = {};
  for (const s of spec.sites) {
    if (s.region === undefined || s.region === state.region.active) continue;
    out[s.name] = estimateDataLoss(spec, s.name, state.regionSync?.[s.name] ?? state.sync[s.name], now);
  }
  return out;
}

export async function handleDisasterAnnotation(ctx: DisasterContext): Promise<DisasterOutcome> {
  const site = ctx.annotations[ANNOTATION_DISASTER_TAKEOVER];
  const confirm = ctx.annotations[ANNOTATION_DISASTER_CONFIRM];
  const remove: Record<string, null> = {};
  if (confirm !== undefined) remove[ANNOTATION_DISASTER_CONFIRM] = null;
  if (site === undefined) return { remove, added: false };
  remove[ANNOTATION_DISASTER_TAKEOVER] = null;
  const refuse = async (why: string): Promise<DisasterOutcome> => {
    await ctx.record({
      type: 'Warning',
      reason: 'IntentRefused',
      message: `${ANNOTATION_DISASTER_TAKEOVER}=${site} refused: ${why}`,
    });
    return { remove, added: false, refusal: why };
  };
  if (!ctx.spec.sites.some((s) => s.name === site)) {
    return refuse(`unknown site "${site}" (sites: ${ctx.spec.sites.map((s) => s.name).join(', ')})`);
  }
  if (ctx.store.writeRegion === undefined) return refuse('this coordination store keeps no region record');
  if (ctx.peers === undefined || ctx.peers.length === 0) {
    return refuse(
      'no other region is configured for this operator (--other-region and --other-region-etcd-endpoints): whether the active region is lost cannot be told',
    );
  }
  const active = ctx.state.region?.active;
  let reachable = false;
  for (const p of ctx.peers) {
    if (p.region !== active) continue;
    reachable = await withDeadline(p.store.read(ctx.cluster), ctx.timeoutMs).then(
      () => true,
      () => false,
    );
  }
  const plan = planDisasterTakeover(ctx.spec, site, {
    own: {
      ...(ctx.state.region !== undefined ? { region: ctx.state.region } : {}),
      ...(ctx.state.regionSync !== undefined ? { regionSync: ctx.state.regionSync } : {}),
      lastEpoch: ctx.state.lastEpoch,
      leader: ctx.state.leader,
    },
    activeRegionReachable: reachable,
    confirm,
    clusterName: ctx.name,
    now: ctx.now,
    id: `disaster-takeover-${site}-${randomUUID().slice(0, 8)}`,
  });
  if (!plan.ok) return refuse(plan.message);
  const written = await ctx.store.writeRegion(ctx.cluster, plan.record, plan.expectedGeneration);
  if (!written)
    return refuse('the region record changed meanwhile (another request?): read the status again');
  await ctx.store.addIntent(ctx.cluster, plan.intent);
  await ctx.record({
    type: 'Warning',
    reason: 'DisasterTakeoverRequested',
    message: `${ANNOTATION_DISASTER_TAKEOVER}=${site} accepted: region ${regionOf(ctx.spec, site) ?? '?'} is active at generation ${plan.record.generation} (the old region ${active ?? '?'} cannot be reached); expected data loss: ${plan.loss.message}`,
  });
  return { remove, added: true };
}
