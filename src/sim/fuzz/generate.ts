/**
 * Random schedules for `npm run sim:fuzz`: HA settings drawn from the whole valid space of the
 * spec schema (biased toward the values people use, with the extremes still drawn), two or three
 * sites (multitarget, multitier, DR sites), and overlapping faults from the whole alphabet
 * (src/sim/fault-kinds.ts) at random times. Deterministic: the same seed gives the same schedule.
 */
import { Prng } from '../../standins/hana-sim/prng.js';
import { hanaSystemReplicationSpecSchema, type HanaSystemReplicationSpecInput } from '../../api/spec.js';
import { faultKinds, type FaultKind } from '../fault-kinds.js';
import { livenessBoundSeconds } from '../invariants.js';
import { MAX_SIMULATED_WRITES, scenarioSchema, type Fault, type Scenario } from '../scenario.js';

export interface GenerateOptions {
  /** Number of sites (default: two or three at random). */
  readonly sites?: 2 | 3;
  /** Leader-key watches on or off in every schedule (default: drawn, on in three of four). */
  readonly watches?: boolean;
  /** Simulated seconds (default 600; longer only when the settings' liveness bound needs it). */
  readonly durationSeconds?: number;
}

/** A scenario as written in a file (defaults left out), and what the fuzz runner needs to know of it. */
export interface FuzzCase {
  readonly seed: number;
  /** The scenario file's content (valid `hanasr simulate` input). */
  readonly input: ScenarioInput;
  readonly scenario: Scenario;
  /** Seconds: when the last fault cleared (liveness is measured from there), when measurable. */
  readonly livenessFrom?: number;
}

export type ScenarioInput = {
  name: string;
  description?: string;
  seed: number;
  durationSeconds: number;
  initialPrimary: string;
  cluster: HanaSystemReplicationSpecInput;
  workload: { writesPerSecond: number };
  nodes?: NonNullable<Scenario['nodes']>;
  /** The agents watch the leader key (absent: false, they run on their interval alone). */
  watches?: boolean;
  /** Seconds each local probe takes (absent: 0). */
  probeSeconds?: number;
  faults: Fault[];
  expect: Record<string, unknown>;
};

const SITE_NAMES = ['A', 'B', 'C'] as const;
/** Share of schedules whose agents watch the leader key (see randomCase). */
export const WATCHES_CHANCE = 0.75;

const round = (x: number, step: number) => Math.round(x / step) * step;
const log = (rng: Prng, min: number, max: number) => Math.exp(rng.between(Math.log(min), Math.log(max)));
const pick = <T>(rng: Prng, xs: readonly T[]): T => xs[rng.int(0, xs.length - 1)]!;
const chance = (rng: Prng, p: number) => rng.next() < p;
const tenth = (x: number) => Math.round(x * 10) / 10;

/** HA settings valid under the schema's cross-field rules, drawn so every knob moves. */
export function randomSpec(rng: Prng, sites: 2 | 3): HanaSystemReplicationSpecInput {
  for (;;) {
    const interval = chance(rng, 0.9) ? tenth(log(rng, 0.5, 10)) : tenth(log(rng, 0.1, 600));
    const timeout = chance(rng, 0.9) ? tenth(log(rng, 0.2, 10)) : tenth(log(rng, 0.1, 600));
    const ttl = Math.max(
      Math.floor(interval) + 1,
      chance(rng, 0.95) ? Math.round(log(rng, 2, 60)) : Math.round(log(rng, 2, 3600)),
    );
    const skew = chance(rng, 0.2) ? 0 : chance(rng, 0.75) ? tenth(log(rng, 0.1, 5)) : tenth(log(rng, 5, 60));
    const floor = ttl + 3 * (interval + timeout) + skew;
    // A fifth right at the edge of the timing rule, the rest with room.
    const lst = chance(rng, 0.2) ? Math.floor(floor) + 1 : Math.ceil(floor + log(rng, 0.5, 120));
    if (lst > 3600 || interval < 0.1 || timeout < 0.1) continue;
    const mode = pick(rng, ['sync', 'sync', 'syncmem', 'syncmem', 'async'] as const);
    const names = SITE_NAMES.slice(0, sites);
    const siteList = names.map((name) => {
      const site: HanaSystemReplicationSpecInput['sites'][number] = {
        name,
        host: `hana-${name.toLowerCase()}`,
      };
      if (chance(rng, 0.3)) site.priority = rng.int(0, 1000);
      return site;
    });
    if (sites === 3) {
      const shape = rng.next();
      if (shape < 0.3)
        siteList[2]!.source = 'B'; // multitier A -> B -> C
      else if (shape < 0.45) siteList[1]!.source = 'A'; // multitarget, sources spelt out
      if (chance(rng, 0.35)) siteList[2]!.autoTakeover = false; // a DR site
    } else if (chance(rng, 0.05)) {
      siteList[1]!.autoTakeover = false;
    }
    const warn = tenth(log(rng, 1, 600));
    const spec: HanaSystemReplicationSpecInput = {
      sid: 'HA1',
      instanceNumber: '00',
      sites: siteList,
      replication: {
        mode,
        operationMode: pick(rng, ['logreplay', 'delta_datashipping', 'logreplay_readaccess'] as const),
        logShippingTimeoutSeconds: lst,
        ...(mode === 'async' && chance(rng, 0.7)
          ? { asyncTakeoverMaxLagSeconds: chance(rng, 0.9) ? rng.int(0, 60) : rng.int(0, 86400) }
          : {}),
      },
      takeover: {
        automatic: chance(rng, 0.92),
        preferSiteTakeover: chance(rng, 0.8),
        automatedRegister: chance(rng, 0.75),
        duplicatePrimaryTimeoutSeconds: chance(rng, 0.6)
          ? 7200
          : chance(rng, 0.4)
            ? 0
            : Math.round(log(rng, 1, 604800)),
        failureThreshold: chance(rng, 0.6)
          ? rng.int(1, 5)
          : chance(rng, 0.85)
            ? rng.int(6, 20)
            : rng.int(21, 100),
        localRestartAttempts: chance(rng, 0.9) ? rng.int(0, 3) : rng.int(4, 10),
        handshake: chance(rng, 0.8),
      },
      probes: { intervalSeconds: interval, timeoutSeconds: timeout },
      lease: { ttlSeconds: ttl },
      clock: { maxSkewSeconds: skew },
      alerts: {
        lagWarningSeconds: warn,
        lagCriticalSeconds: tenth(warn * log(rng, 1, 20)),
        forSeconds: rng.int(0, 300),
      },
    };
    if (chance(rng, 0.6)) {
      // Watchdog and fence agent settings (the simulated nodes carry the devices); absent: the
      // watchdog in automatic mode, no fence agent.
      const margin = chance(rng, 0.7) ? rng.int(1, 10) : rng.int(11, 60);
      const mode = pick(rng, ['disabled', 'automatic', 'automatic', 'required'] as const);
      const timeout = chance(rng, 0.8) ? rng.int(5, 120) : rng.int(1, 600);
      spec.fencing = {
        watchdog: {
          mode: mode === 'required' && ttl - margin < 1 ? 'automatic' : mode,
          safetyMarginSeconds: margin,
          ...(chance(rng, 0.3) ? { resetHungSecondaryAfterSeconds: Math.round(log(rng, 5, 900)) } : {}),
        },
        ...(chance(rng, 0.5)
          ? {
              agent: {
                command: 'fence_dummy',
                timeoutSeconds: timeout,
                callTimeoutSeconds: rng.int(1, Math.min(timeout, 60)),
                statusIntervalSeconds: tenth(log(rng, 0.1, 10)),
              },
            }
          : {}),
      };
    }
    if (hanaSystemReplicationSpecSchema.safeParse(spec).success) return spec;
  }
}

/**
 * The simulated nodes' devices: most runs keep the defaults (every node has a watchdog whose
 * timeout is lease.ttlSeconds - safetyMarginSeconds, boots in 60 s); the rest move the timeout
 * (within the lease bound, or too long for it), the boot time, and take a node's watchdog away.
 */
function randomNodes(rng: Prng, spec: Scenario['cluster']): ScenarioInput['nodes'] {
  if (chance(rng, 0.5)) return undefined;
  const max = Math.floor(spec.lease.ttlSeconds - spec.fencing.watchdog.safetyMarginSeconds);
  const timeout = (): number =>
    max >= 1 && chance(rng, 0.7)
      ? rng.int(1, max)
      : Math.min(3600, Math.max(1, max) + Math.ceil(log(rng, 1, 300)));
  const nodes: NonNullable<ScenarioInput['nodes']> = {};
  if (chance(rng, 0.5)) nodes.watchdogTimeoutSeconds = timeout();
  if (chance(rng, 0.5)) nodes.bootSeconds = Math.round(log(rng, 5, 600));
  if (chance(rng, 0.4)) {
    const site = pick(rng, spec.sites).name;
    nodes.sites = { [site]: chance(rng, 0.5) ? { watchdog: false } : { watchdogTimeoutSeconds: timeout() } };
  }
  return nodes;
}

/** One random fault of `kind` (and its clear, when drawn), between `from` and `until` seconds. */
function drawFault(
  rng: Prng,
  kind: FaultKind,
  names: readonly string[],
  parsed: Scenario['cluster'],
  from: number,
  until: number,
): Fault[] {
  const at = tenth(rng.between(from, until));
  const clears = kind.clear !== undefined && chance(rng, kind.clearChance ?? 1);
  const site =
    kind.target === 'global' || (kind.target === 'site-or-all' && chance(rng, 0.3))
      ? undefined
      : // A fault that is not cleared may name a role (resolved when it fires: the primary then);
        // a cleared one names a site, so its clear hits the same site whatever happened between.
        !clears && chance(rng, 0.4)
        ? pick(rng, ['primary', 'secondary'] as const)
        : // Half of the faults hit the initial primary: that is where the interesting things happen.
          chance(rng, 0.5)
          ? names[0]!
          : pick(rng, names);
  const fault: Fault = {
    atSeconds: at,
    action: kind.action,
    ...(site !== undefined ? { site } : {}),
    ...(kind.params?.(rng, parsed) ?? {}),
  };
  const out = [fault];
  if (kind.clear !== undefined && clears) {
    // Blips (under a few probe intervals) and long outages, about half each.
    const lasts = chance(rng, 0.45) ? log(rng, 0.2, 12) : log(rng, 5, 240);
    out.push({
      atSeconds: Math.min(until, tenth(at + Math.max(0.1, lasts))),
      action: kind.clear,
      ...(site !== undefined ? { site } : {}),
      ...(kind.clearParams?.(fault) ?? {}),
    });
  }
  return out;
}

export function randomCase(seed: number, options: GenerateOptions = {}): FuzzCase {
  const rng = new Prng(seed * 7919 + 17);
  const sites = options.sites ?? (chance(rng, 0.6) ? 2 : 3);
  const cluster = randomSpec(rng, sites);
  const parsed = hanaSystemReplicationSpecSchema.parse(cluster);
  const names = parsed.sites.map((s) => s.name);
  const nodes = randomNodes(rng, parsed);
  const bound = livenessBoundSeconds(parsed, nodes);
  let duration = options.durationSeconds ?? 600;
  // Faults end early enough that the recovery after them can be measured within the run.
  let faultsUntil = duration - bound;
  if (faultsUntil < 120) {
    faultsUntil = 120;
    duration = Math.min(7 * 86400, Math.max(duration, faultsUntil + bound));
  }
  const total = faultKinds.reduce((n, k) => n + k.weight, 0);
  const drawKind = () => {
    let x = rng.next() * total;
    for (const k of faultKinds) if ((x -= k.weight) < 0) return k;
    return faultKinds[faultKinds.length - 1]!;
  };
  const count = chance(rng, 0.7) ? rng.int(1, 3) : rng.int(4, 8);
  const faults: Fault[] = [];
  for (let i = 0; i < count; i++) faults.push(...drawFault(rng, drawKind(), names, parsed, 5, faultsUntil));
  faults.sort((a, b) => a.atSeconds - b.atSeconds);
  // A long run (a liveness bound of days) at a high rate would exceed what the simulator keeps:
  // the rate is capped there (the same draw, so every other schedule stays as it was).
  const writesPerSecond = Math.min(
    chance(rng, 0.6) ? rng.int(5, 30) : round(log(rng, 0.5, 100), 0.5),
    Math.floor((MAX_SIMULATED_WRITES / duration) * 2) / 2,
  );
  // Three in four schedules with the watch on the leader key every production agent has (a
  // release or expiry wakes the agents, a cycle probing is superseded); the rest without, as with
  // the watch down. Drawn last (with the probe duration below), so the settings and faults of a
  // seed stay what they were before; --watches on|off does not change the draws.
  const watches = chance(rng, WATCHES_CHANCE);
  // Half the schedules give every local probe some time to answer (real probes run commands), so
  // a leader-key change can arrive while one is in flight: within half the probe timeout.
  const probeFor = tenth(log(rng, 0.1, 3));
  const probeSeconds = chance(rng, 0.5)
    ? Math.min(probeFor, Math.floor((parsed.probes.timeoutSeconds / 2) * 10) / 10)
    : 0;
  const input: ScenarioInput = {
    name: `fuzz-${seed}`,
    seed,
    durationSeconds: duration,
    initialPrimary: 'A',
    cluster,
    workload: { writesPerSecond },
    ...(nodes ? { nodes } : {}),
    ...((options.watches ?? watches) ? { watches: true } : {}),
    ...(probeSeconds > 0 ? { probeSeconds } : {}),
    faults,
    expect: {},
  };
  const scenario = scenarioSchema.parse(input);
  const last = faults.reduce((m, f) => Math.max(m, f.atSeconds), 0);
  return {
    seed,
    input,
    scenario,
    ...(last + bound <= duration ? { livenessFrom: last } : {}),
  };
}
