/**
 * The chaos checker on hand-made histories: a lost acknowledged commit and two writers are both
 * flagged; a promotion of a site that lacks a commit is flagged; what may legitimately happen
 * (an indeterminate write missing, a takeover forced by hand, async) is not.
 */
import { describe, expect, it } from 'vitest';
import { check, type Truth } from './checker.js';
import { History } from './history.js';

const T0 = 1_700_000_000_000;

/** Client 1 writes k1 (ok, by A), k2 (info), k3 (ok, by B after the takeover), k4 (fail). */
function history(): History {
  const h = new History();
  h.invoke(1, 'k1', T0);
  h.complete(1, 'k1', 'ok', { site: 'A' }, T0 + 10);
  h.nemesis('start', 'crash node A', T0 + 20);
  h.invoke(1, 'k2', T0 + 30);
  h.complete(1, 'k2', 'info', { site: 'A', error: 'connection lost' }, T0 + 40);
  h.nemesis('stop', 'crash node A', T0 + 50);
  h.invoke(1, 'k3', T0 + 100);
  h.complete(1, 'k3', 'ok', { site: 'B' }, T0 + 110);
  h.invoke(1, 'k4', T0 + 120);
  h.complete(1, 'k4', 'fail', { site: null, error: 'no endpoint' }, T0 + 125);
  return h;
}

function truth(extra: Partial<Truth> = {}): Truth {
  return {
    mode: 'sync',
    writable: [
      { time: T0, sites: ['A'] },
      { time: T0 + 25, sites: [] },
      { time: T0 + 60, sites: ['B'] },
    ],
    maxConcurrentWritable: 1,
    promotions: [
      { time: T0 + 55, site: 'B', handshake: false, missingAcknowledged: 0, heldKeys: new Set(['k1']) },
    ],
    forcedTakeovers: 0,
    finalPrimary: 'B',
    finalKeys: new Set(['k1', 'k3']),
    simLostCommits: 0,
    ...extra,
  };
}

describe('the chaos checker', () => {
  it('passes a clean run, and counts what happened', () => {
    const r = check(history().ops, truth());
    expect(r.violations).toEqual([]);
    expect(r).toMatchObject({ acknowledged: 2, failed: 1, indeterminate: 1, indeterminateCommitted: 0 });
    expect(r.unchecked).toEqual([]);
  });

  it('flags a lost acknowledged commit and two writers, both', () => {
    const r = check(
      history().ops,
      truth({
        // A was never stopped: A and B both take writes from 60 ms on.
        writable: [
          { time: T0, sites: ['A'] },
          { time: T0 + 60, sites: ['A', 'B'] },
        ],
        maxConcurrentWritable: 2,
        // k1 (acknowledged by A) is not on the final primary.
        finalKeys: new Set(['k3']),
      }),
    );
    const by = (inv: string) => r.violations.filter((v) => v.invariant === inv);
    expect(by('single-writer').map((v) => v.message)).toEqual([
      'the simulator counted 2 sites accepting writes at one instant',
      'A and B accept writes at the same time',
    ]);
    expect(by('single-writer')[1]!.time).toBe(T0 + 60);
    expect(by('no-lost-commit')).toEqual([
      {
        invariant: 'no-lost-commit',
        time: T0 + 10,
        site: 'A',
        message: 'k1, acknowledged by A, is not on the final primary B',
      },
    ]);
  });

  it('flags a promotion of a site that lacks an acknowledged commit (history and simulator)', () => {
    const r = check(
      history().ops,
      truth({
        promotions: [
          { time: T0 + 55, site: 'B', handshake: false, missingAcknowledged: 3, heldKeys: new Set() },
        ],
        finalKeys: new Set(['k3']),
        simLostCommits: 3,
      }),
    );
    expect(r.violations.map((v) => `${v.invariant}: ${v.message}`)).toEqual([
      'no-lost-commit: k1, acknowledged by A, is not on the final primary B',
      'no-lost-commit: the simulator counts 3 acknowledged write(s) the final primary B lacks',
      'in-sync-promotion: B was promoted lacking 3 acknowledged write(s)',
      'in-sync-promotion: B was promoted without 1 commit(s) acknowledged before (k1)',
    ]);
  });

  it('does not count what may happen: an indeterminate write, a forced takeover, async', () => {
    // k2 (info) committed after all: fine, and counted.
    expect(check(history().ops, truth({ finalKeys: new Set(['k1', 'k2', 'k3']) }))).toMatchObject({
      violations: [],
      indeterminateCommitted: 1,
    });
    const lost = { finalKeys: new Set(['k3']), simLostCommits: 1 };
    const forced = check(history().ops, truth({ ...lost, forcedTakeovers: 1 }));
    expect(forced.violations).toEqual([]);
    expect(forced.unchecked).toEqual(['no-lost-commit: 1 forced takeover(s) in the run']);
    expect(check(history().ops, truth({ ...lost, mode: 'async' })).violations).toEqual([]);
    // Two writers are never excused.
    expect(
      check(history().ops, truth({ mode: 'async', maxConcurrentWritable: 2 })).violations.map(
        (v) => v.invariant,
      ),
    ).toEqual(['single-writer']);
  });

  it('cannot check lost commits without a final primary, and says so', () => {
    const r = check(history().ops, truth({ finalPrimary: null, finalKeys: new Set(), simLostCommits: null }));
    expect(r.violations).toEqual([]);
    expect(r.unchecked).toEqual(['no-lost-commit: no writable primary at the end']);
  });

  it('an invocation that never completed is indeterminate', () => {
    const h = history();
    h.invoke(2, 'k9', T0 + 130);
    expect(check(h.ops, truth()).indeterminate).toBe(2);
  });
});
