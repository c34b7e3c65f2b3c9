/**
 * One chaos run, shared by the short form in `npm test` (test/chaos/chaos.test.ts) and the long
 * form (`npm run chaos`, scripts/chaos.ts): start the rig, wait until it is steady, start the
 * workload, play faults for `faultPhaseMs` (a fixed plan that visits every kind once, or random
 * kinds, durations, gaps and overlaps drawn from the seed), cure them all, wait for the
 * landscape to recover (a finding when it does not: liveness, not safety), write a little more,
 * and check the history against the simulator's truth.
 */
import { Prng } from '../../src/standins/hana-sim/prng.js';
import { check, type CheckResult, type Truth } from './checker.js';
import { completedOps, History } from './history.js';
import { FAULT_KINDS, injectFault, type Fault, type FaultKind } from './nemesis.js';
import { startChaosRig } from './rig.js';
import { createWorkload } from './workload.js';

export interface ChaosRunOptions {
  readonly seed: number;
  /** How long faults are injected (ms). */
  readonly faultPhaseMs: number;
  /** `plan`: every kind once (a primary's node crash first, the rest in a seeded order), one at a time; `random`: drawn, overlapping. */
  readonly schedule: 'plan' | 'random';
  readonly clients?: number;
  /** How long a fault lasts: [min, max] ms. */
  readonly faultMs?: readonly [number, number];
  /** Gap between faults: [min, max] ms. */
  readonly gapMs?: readonly [number, number];
  /** How long to wait for recovery after the last cure (ms). */
  readonly recoverMs?: number;
  readonly log?: (line: string) => void;
}

export interface TakeoverFigure {
  readonly site: string;
  readonly at: number;
  /** From the start of the last primary crash before it (else the last fault) to the takeover (ms). */
  readonly afterFaultMs: number | null;
  readonly fault: string | null;
  /** No acknowledged write from the last one before the takeover to the first after (ms). */
  readonly writeOutageMs: number | null;
}

export interface ChaosRunResult {
  readonly seed: number;
  readonly faults: readonly {
    readonly kind: FaultKind;
    readonly name: string;
    readonly start: number;
    readonly end: number;
  }[];
  readonly check: CheckResult;
  readonly truth: Truth;
  readonly takeovers: readonly TakeoverFigure[];
  readonly startupMs: number;
  /** From the last cure until steady again (null: not within recoverMs). */
  readonly recoveredMs: number | null;
  readonly history: History;
  /** The processes' last lines, when something went wrong. */
  readonly logs: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * What the random schedule draws from: every kind, the primary's crashes more often (they are
 * what makes the agents promote, and promotions are what the invariants are most about).
 */
const RANDOM_KINDS: readonly FaultKind[] = [
  ...FAULT_KINDS,
  'crash-primary-node',
  'crash-primary-node',
  'crash-primary-instance',
];

export async function runChaos(options: ChaosRunOptions): Promise<ChaosRunResult> {
  const log = options.log ?? (() => {});
  const rng = new Prng(options.seed);
  const t0 = Date.now();
  const rig = await startChaosRig({ seed: options.seed });
  try {
    const first = await rig.steady(180_000);
    const startupMs = Date.now() - t0;
    log(`steady after ${(startupMs / 1000).toFixed(1)} s: primary ${first}`);
    const history = new History();
    const workload = createWorkload({
      serverNode: rig.sql.rw,
      user: rig.sql.user,
      password: rig.sqlPassword,
      history,
      clients: options.clients ?? 2,
      target: rig.rwSite,
    });
    await workload.init(30_000);
    workload.start();
    await sleep(1000);

    const [fMin, fMax] = options.faultMs ?? [3000, 8000];
    const [gMin, gMax] = options.gapMs ?? [1000, 4000];
    const faults: { kind: FaultKind; name: string; start: number; end: number }[] = [];
    const active = new Set<{ fault: Fault; until: number; start: number }>();
    const busy = () => new Set([...active].flatMap((a) => a.fault.targets));
    const cure = async (a: { fault: Fault; until: number; start: number }) => {
      active.delete(a);
      await a.fault.heal();
      history.nemesis('stop', a.fault.name);
      faults.push({ kind: a.fault.kind, name: a.fault.name, start: a.start, end: Date.now() });
      log(`  cured: ${a.fault.name}`);
    };
    // The plan: a primary's node crash first (every short run promotes), the rest shuffled.
    const plan: FaultKind[] = FAULT_KINDS.filter((k) => k !== 'crash-primary-node');
    for (let i = plan.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [plan[i], plan[j]] = [plan[j]!, plan[i]!];
    }
    plan.unshift('crash-primary-node');
    const phaseEnd = Date.now() + options.faultPhaseMs;
    let next = Date.now();
    while (Date.now() < phaseEnd) {
      for (const a of [...active]) if (Date.now() >= a.until) await cure(a);
      // The plan overlaps the next fault with a long one (a crashed node); random, at times.
      const overlap =
        active.size < 2 &&
        (options.schedule === 'plan'
          ? [...active].every((a) => a.fault.minMs !== undefined)
          : rng.next() < 0.3);
      if (Date.now() >= next && (active.size === 0 || overlap)) {
        const kind =
          options.schedule === 'plan' ? plan.shift() : RANDOM_KINDS[rng.int(0, RANDOM_KINDS.length - 1)]!;
        if (kind === undefined) break; // the plan is done
        const fault = await injectFault(rig, kind, rng, busy());
        if (fault) {
          const start = Date.now();
          history.nemesis('start', fault.name, start);
          active.add({ fault, start, until: start + Math.max(fault.minMs ?? 0, rng.int(fMin, fMax)) });
          log(`  fault: ${fault.name}`);
        } else log(`  (no target free for ${kind} now)`);
        next = Date.now() + rng.int(gMin, gMax);
      }
      await sleep(100);
    }
    for (const a of [...active]) await cure(a);
    const curedAt = Date.now();

    const recovered = await rig
      .steady(options.recoverMs ?? 120_000)
      .then(() => Date.now() - curedAt)
      .catch(() => null);
    log(
      recovered === null
        ? 'did not recover in time'
        : `recovered ${(recovered / 1000).toFixed(1)} s after the last cure`,
    );
    await sleep(2000);
    await workload.stop();
    const truth = rig.truth();
    const result = check(history.ops, truth);

    const oks = completedOps(history.ops)
      .filter((o) => o.type === 'ok')
      .sort((a, b) => a.completedAt - b.completedAt);
    const takeovers = truth.promotions.map((p): TakeoverFigure => {
      const before = oks.filter((o) => o.completedAt < p.time).pop();
      const after = oks.find((o) => o.completedAt > p.time);
      // The cause: the last crash of a primary before it (else the last fault of any kind).
      const earlier = faults.filter((f) => f.start <= p.time).sort((a, b) => b.start - a.start);
      const cause = earlier.find((f) => f.kind.startsWith('crash-primary')) ?? earlier[0];
      return {
        site: p.site,
        at: p.time,
        afterFaultMs: cause ? p.time - cause.start : null,
        fault: cause?.name ?? null,
        writeOutageMs: before && after ? after.completedAt - before.completedAt : null,
      };
    });
    const bad = result.violations.length > 0 || recovered === null;
    return {
      seed: options.seed,
      faults,
      check: result,
      truth,
      takeovers,
      startupMs,
      recoveredMs: recovered,
      history,
      logs: bad ? rig.logs() : '',
    };
  } finally {
    await rig.close();
  }
}
