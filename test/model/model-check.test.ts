/**
 * The protocol model (model/hanasr.pml) and its runner (scripts/model-check.ts), with the real
 * spin and gcc. The whole check is `npm run model-check` (minutes); here what keeps the two
 * honest in every `npm test`: every switch that breaks the protocol on purpose has a configuration
 * that must catch it, and spin runs for real on six mutations of issue 12 (no epoch
 * compare-and-set, unknown lag trusted, promotion after an unconfirmed fence, the watchdog fed
 * without renewal, a last leader waiting on an unknown local state, acting in maintenance) and on
 * the reachability of a takeover, of the key won back over a refused handover and of the key
 * taken after a last leader that never took over. These configurations are the small ones
 * (`-DONLYA`: faults and lost messages at the first primary only); about 20 s of CPU in all.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CONFIGS,
  MODEL,
  checkConfig,
  effectiveDefines,
  type CheckResult,
} from '../../scripts/model-check.js';

const model = readFileSync(MODEL, 'utf8');

const byName = (name: string) => {
  const c = CONFIGS.find((x) => x.name === name);
  if (!c) throw new Error(`no configuration ${name}`);
  return c;
};

describe('model configurations', () => {
  it('every mutation and every today-code switch of the model has a configuration expecting a counterexample', () => {
    const switches = new Set(
      [...model.matchAll(/(?:#if(?:n?def)? +|defined\()((?:MUT|TODAY)_[A-Z_]+)/g)].map((m) => m[1] as string),
    );
    expect(switches.size).toBeGreaterThanOrEqual(23);
    for (const flag of switches) {
      const caught = CONFIGS.filter(
        (c) => c.expect === 'violation' && effectiveDefines(c.defines).includes(flag),
      );
      expect(
        caught.map((c) => c.name),
        `${flag} has no configuration that must catch it`,
      ).not.toEqual([]);
    }
  });

  it('names are unique and every switch a configuration sets exists in the model', () => {
    expect(new Set(CONFIGS.map((c) => c.name)).size).toBe(CONFIGS.length);
    for (const c of CONFIGS) {
      for (const d of effectiveDefines(c.defines)) {
        const name = d.split('=')[0] as string;
        if (['N', 'MAXF', 'MAXL', 'LST'].includes(name)) continue;
        expect(model, `${c.name}: -D${name} is not used by the model`).toMatch(new RegExp(`\\b${name}\\b`));
      }
    }
  });

  it('the CI set checks 2 and 3 sites, with and without the watchdog and fence agents', () => {
    const ci = CONFIGS.filter((c) => !c.deep && c.expect === 'safe').map((c) => effectiveDefines(c.defines));
    expect(ci.some((d) => !d.includes('N=3'))).toBe(true);
    expect(ci.some((d) => d.includes('N=3'))).toBe(true);
    expect(ci.some((d) => d.includes('WATCHDOG') && d.includes('FENCEAGENT'))).toBe(true);
    expect(ci.some((d) => !d.includes('WATCHDOG'))).toBe(true);
  });

  it('a mutation differs from a safe configuration only by its switch (and the smaller fault set)', () => {
    // The watchdog-feed mutation's configuration without the mutation is checked safe.
    const mut = effectiveDefines(byName('mut-feed-without-renewal').defines).filter(
      (d) => d !== 'MUT_FEED_WITHOUT_RENEWAL' && d !== 'ONLYA',
    );
    const safe = effectiveDefines(byName('two-sites-async-failed-stops').defines);
    expect(new Set(mut)).toEqual(new Set(safe));
  });

  it.each([
    ['mut-no-insync-recheck', 'MUT_NO_INSYNC_RECHECK', 'two-sites-retried-promotion'],
    ['mut-unknown-key-lost-wait', 'MUT_UNKNOWN_KEY_LOST_WAIT', 'two-sites-restart-first'],
    ['mut-no-rogue-fence', 'MUT_NO_ROGUE_FENCE', 'two-sites-by-hand'],
  ])('%s is %s on a configuration that is checked safe without it (%s)', (m, flag, s) => {
    const mut = effectiveDefines(byName(m).defines).filter((d) => d !== flag);
    expect(new Set(mut)).toEqual(new Set(effectiveDefines(byName(s).defines)));
    expect(byName(s).expect).toBe('safe');
  });

  it('the maintenance mutation runs where maintenance is modelled, and that configuration is checked for nothing in maintenance', () => {
    expect(effectiveDefines(byName('mut-act-in-maintenance').defines)).toContain('MAINT');
    expect(effectiveDefines(byName('two-sites-maintenance').defines)).toContain('MAINT');
    expect(byName('two-sites-maintenance').expect).toBe('safe');
  });

  it.each([
    ['finding-unknown-probe', 'TODAY_UNKNOWN_PROBE_NOT_WRITING', 'two-sites-unknown-probe'],
    ['finding-cycle-bound', 'TODAY_CYCLE_BOUND', 'two-sites-cycle-bound'],
    ['finding-maintenance-single-writer', 'TODAY_NO_MGEN', 'two-sites-maintenance'],
    ['finding-restart-race', 'TODAY_RESTART_RACE', 'two-sites-restart-race'],
  ])(
    '%s is its closed rule switched back: the same configuration without %s is checked safe',
    (f, flag, s) => {
      const finding = effectiveDefines(byName(f).defines).filter((d) => d !== flag);
      expect(new Set(finding)).toEqual(new Set(effectiveDefines(byName(s).defines)));
      expect(byName(s).expect).toBe('safe');
    },
  );
});

describe('spin on the model', () => {
  const names = [
    'mut-no-cas',
    'mut-unknown-lag-zero',
    'mut-trust-unconfirmed-fence',
    'mut-feed-without-renewal',
    'mut-unknown-key-lost-wait',
    'mut-act-in-maintenance',
    'reach-takeover',
    'reach-handover-won-back',
    'reach-never-took-over',
  ];
  const results = new Map<string, CheckResult>();

  beforeAll(async () => {
    // Two at a time (CI has two cores); each is spin -a, gcc -O0 and pan.
    const queue = [...names];
    const worker = async () => {
      for (let n = queue.shift(); n !== undefined; n = queue.shift())
        results.set(n, await checkConfig(byName(n)));
    };
    await Promise.all([worker(), worker()]);
  }, 600_000);

  const result = (name: string): CheckResult => {
    const r = results.get(name);
    if (!r) throw new Error(`${name} did not run`);
    expect(r.verdict, r.output).toBe('counterexample');
    expect(r.ok).toBe(true);
    expect(r.errors).toBe(1);
    expect(r.trail.every((l) => /^t=\d+ [A-C-]: /.test(l))).toBe(true);
    return r;
  };

  it('catches a leader key taken without compare-and-set on the epoch: two writers', () => {
    const r = result('mut-no-cas');
    expect(r.assertion).toBe('(writers<=1)');
    // Two sites each win the key: the second term starts while the first is held.
    const wins = r.trail.filter((l) => / wins the leader key, epoch \d/.test(l));
    expect(new Set(wins.map((l) => l.split(' ')[1])).size).toBe(2);
  });

  it('catches an unknown lag taken as zero: the promoted site misses a commit', () => {
    const r = result('mut-unknown-lag-zero');
    expect(r.assertion).toBe('!(lost)');
    expect(r.trail.some((l) => /A: logshipping_timeout for B: commits alone/.test(l))).toBe(true);
    expect(r.trail.at(-1)).toMatch(
      /B: sr_takeover done: B is primary \(it misses an acknowledged commit: 1\)/,
    );
  });

  it('catches a promotion after a fence that was not confirmed off: two writers', () => {
    const r = result('mut-trust-unconfirmed-fence');
    expect(r.assertion).toBe('(writers<=1)');
    const unconfirmed = r.trail.findIndex((l) => /power-off of A NOT confirmed, trusted anyway/.test(l));
    const promoted = r.trail.findIndex((l) => /B: sr_takeover done/.test(l));
    expect(unconfirmed).toBeGreaterThanOrEqual(0);
    expect(promoted).toBeGreaterThan(unconfirmed);
  });

  it('catches a watchdog fed without renewal: the cut-off leader outlives its lease', () => {
    const r = result('mut-feed-without-renewal');
    expect(r.assertion).toBe('(writers<=1)');
    expect(r.trail.some((l) => /A: stop failed/.test(l))).toBe(true);
    expect(r.trail.some((l) => /A: leader lease expired/.test(l))).toBe(true);
    expect(r.trail.some((l) => /node watchdog fires/.test(l))).toBe(false);
    expect(r.trail.at(-1)).toMatch(/B: sr_takeover done|commit acknowledged/);
  });

  it('catches a last leader that waits on an unknown local state after its key ran out: two writers', () => {
    const r = result('mut-unknown-key-lost-wait');
    expect(r.assertion).toBe('(writers<=1)');
    const waited = r.trail.findIndex((l) => /A: own state unknown, its key ran out: waiting/.test(l));
    const promoted = r.trail.findIndex((l) => /B: sr_takeover done/.test(l));
    expect(waited).toBeGreaterThanOrEqual(0);
    expect(promoted).toBeGreaterThan(waited);
    expect(r.trail.at(-1)).toMatch(/A: HANA thaws/);
  });

  it('catches an agent that acts in maintenance mode', () => {
    const r = result('mut-act-in-maintenance');
    expect(r.assertion).toBe('!(inm)');
    expect(r.trail.some((l) => /DBA: maintenance on/.test(l))).toBe(true);
  });

  it('reaches a takeover (the model is not safe because nothing moves)', () => {
    const r = result('reach-takeover');
    expect(r.assertion).toBe('!(took)');
    expect(r.trail.at(-1)).toMatch(
      /B: sr_takeover done: B is primary \(it misses an acknowledged commit: 0\)/,
    );
  });

  it('reaches the key won back over a handover its target would refuse (refusedHandover)', () => {
    const r = result('reach-handover-won-back');
    expect(r.assertion).toBe('!(took)');
    const handed = r.trail.findIndex((l) => /A: planned takeover: releases the key for B/.test(l));
    expect(handed).toBeGreaterThanOrEqual(0);
    expect(r.trail.at(-1)).toMatch(/A: wins the leader key, epoch \d/);
  });

  it('reaches a stopped primary taking the key after a last leader that never took over', () => {
    const r = result('reach-never-took-over');
    expect(r.assertion).toBe('!(took)');
    const never = r.trail.findIndex((l) => /the last leader never took over: acquire the key/.test(l));
    expect(never).toBeGreaterThanOrEqual(0);
    expect(r.trail.slice(0, never).some((l) => / wins the leader key, epoch 2/.test(l))).toBe(true);
    expect(r.trail.some((l) => /sr_takeover done/.test(l))).toBe(false);
  });
});
