/**
 * Shrinks a failing schedule to a small scenario that still violates the same invariant:
 * delta debugging over the faults (a fault and its clear go together), then the leader-key watch
 * off and the settings one knob at a time back to its default, then fewer sites, a plainer
 * workload and a shorter run.
 * Every candidate is a valid scenario file and is replayed in full; the result is printed as
 * YAML ready for test/regressions/.
 */
import { scenarioSchema, type Fault } from '../scenario.js';
import type { InvariantName } from '../invariant-names.js';
import { kindOf } from '../fault-kinds.js';
import type { ScenarioInput } from './generate.js';
import { checkScenario } from './run-case.js';

export interface ShrinkResult {
  readonly input: ScenarioInput;
  /** Replays tried. */
  readonly tries: number;
}

type Group = Fault[];

/** Faults in groups: each fault with the clear that ends it (the next one on the same target). */
export function faultGroups(faults: readonly Fault[]): Group[] {
  const groups: Group[] = [];
  const open: { group: Group; clear: string; site: string | undefined }[] = [];
  for (const f of faults) {
    const i = open.findIndex((o) => o.clear === f.action && o.site === f.site);
    if (i >= 0 && !kindOf(f.action)) {
      open[i]!.group.push(f);
      open.splice(i, 1);
      continue;
    }
    const group = [f];
    groups.push(group);
    const clear = kindOf(f.action)?.clear;
    if (clear) open.push({ group, clear, site: f.site });
  }
  return groups;
}

const clone = <T>(x: T): T => structuredClone(x);

export async function shrink(
  start: ScenarioInput,
  invariant: InvariantName,
  options: { readonly maxTries?: number } = {},
): Promise<ShrinkResult> {
  const maxTries = options.maxTries ?? 400;
  let tries = 0;
  let best = clone(start);
  const fails = async (candidate: ScenarioInput): Promise<boolean> => {
    if (tries >= maxTries) return false;
    const parsed = scenarioSchema.safeParse(candidate);
    if (!parsed.success) return false;
    tries++;
    const out = await checkScenario(parsed.data);
    return out.violations.some((v) => v.invariant === invariant);
  };
  const attempt = async (change: (c: ScenarioInput) => void): Promise<boolean> => {
    const candidate = clone(best);
    change(candidate);
    if (JSON.stringify(candidate) === JSON.stringify(best)) return false;
    if (!(await fails(candidate))) return false;
    best = candidate;
    return true;
  };

  // 1. Faults: ddmin over groups (remove chunks, halving the chunk size).
  let groups = faultGroups(best.faults);
  let chunk = Math.max(1, Math.floor(groups.length / 2));
  while (groups.length > 0 && chunk >= 1) {
    let removed = false;
    for (let i = 0; i < groups.length; i += chunk) {
      const keep = [...groups.slice(0, i), ...groups.slice(i + chunk)];
      if (await attempt((c) => (c.faults = keep.flat().sort((a, b) => a.atSeconds - b.atSeconds)))) {
        groups = keep;
        removed = true;
        i -= chunk;
      }
    }
    if (!removed) chunk = Math.floor(chunk / 2);
  }

  // 2. Settings back to their defaults, one knob at a time: first the watch on the leader key
  // (kept when the violation needs the agents woken by it, as production agents are) and the
  // probes' duration.
  if (best.watches !== undefined) await attempt((c) => delete c.watches);
  if (best.probeSeconds !== undefined) await attempt((c) => delete c.probeSeconds);
  const knobs: [string, string][] = [];
  for (const [section, value] of Object.entries(best.cluster)) {
    if (value && typeof value === 'object' && !Array.isArray(value))
      for (const key of Object.keys(value)) knobs.push([section, key]);
  }
  for (const [section, key] of knobs) {
    await attempt((c) => {
      const s = (c.cluster as unknown as Record<string, Record<string, unknown>>)[section];
      if (s) delete s[key];
    });
  }
  for (let i = 0; i < best.cluster.sites.length; i++) {
    for (const key of ['priority', 'autoTakeover', 'source'] as const) {
      await attempt((c) => delete c.cluster.sites[i]![key]);
    }
  }

  // The node devices back to their defaults.
  if (best.nodes !== undefined) {
    if (!(await attempt((c) => delete c.nodes))) {
      for (const key of ['watchdogTimeoutSeconds', 'bootSeconds', 'sites'] as const)
        await attempt((c) => delete c.nodes?.[key]);
    }
  }

  // 3. Fewer sites: drop the last one when nothing names it.
  while (best.cluster.sites.length > 2) {
    const last = best.cluster.sites[best.cluster.sites.length - 1]!.name;
    const dropped = await attempt((c) => {
      c.cluster.sites = c.cluster.sites.filter((s) => s.name !== last);
      c.faults = c.faults.filter((f) => f.site !== last);
      if (c.nodes?.sites?.[last] !== undefined) {
        const { [last]: _gone, ...rest } = c.nodes.sites;
        c.nodes.sites = rest;
      }
    });
    if (!dropped) break;
  }

  // 4. A plainer workload and a shorter run (the last fault plus what the violation needs).
  await attempt((c) => (c.workload = { writesPerSecond: 10 }));
  const lastFault = best.faults.reduce((m, f) => Math.max(m, f.atSeconds), 0);
  for (const d of [60, 120, 240, 400]) {
    const duration = Math.ceil(lastFault + d);
    if (duration >= best.durationSeconds) break;
    if (await attempt((c) => (c.durationSeconds = duration))) break;
  }
  // 5. Faults earlier and rounder: whole seconds.
  await attempt((c) => {
    for (const f of c.faults) f.atSeconds = Math.round(f.atSeconds);
  });
  return { input: best, tries };
}
