/**
 * The reconcile's compute half (src/operator/compute.ts) without an API server: from an observed
 * state to the status patch (or none), the Events, the annotation steps, the Services and the pod
 * labels. Table tests, one row per rule.
 */
import { describe, expect, it } from 'vitest';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import type { ClusterState } from '../../src/coordination/port.js';
import type { Intent } from '../../src/domain/types.js';
import {
  desiredServices,
  planAnnotations,
  planInvalidSpec,
  planStatus,
  podLabelChanges,
  refuseIntent,
  serviceChange,
  type AnnotationStep,
  type StatusPlanInput,
} from '../../src/operator/compute.js';
import { healthy, report, secondaryHealth, spec } from './fixtures.js';

const NOW = 1_700_000_010_000;

function statusInput(over: Partial<StatusPlanInput> = {}): StatusPlanInput {
  return {
    spec: spec(),
    generation: 1,
    state: healthy(),
    previous: undefined,
    now: NOW,
    lagAlerts: null,
    refusals: [],
    reported: () => false,
    takeoverTimeoutMs: 120_000,
    fenceEvents: [],
    ...over,
  };
}

describe('planStatus', () => {
  it('writes a first status, and nothing when the status it would write is already there', () => {
    const first = planStatus(statusInput());
    expect(first.patch?.status).toMatchObject({ currentPrimary: 'A', epoch: 1 });
    const again = planStatus(statusInput({ previous: first.status }));
    expect(again.patch).toBeNull();
    expect(again.events).toEqual([]);
  });

  it('writes no status for the report times alone until one is 60 s behind; any other change writes them fresh', () => {
    const at = (observedAt: number, over: Partial<ClusterState> = {}): ClusterState => {
      const s = { ...healthy(), ...over };
      return {
        ...s,
        // A live primary's agent moves its last writable moment and its SOK's contact too.
        reports: Object.fromEntries(
          Object.entries(s.reports).map(([k, r]) => [
            k,
            { ...r, observedAt, ...(r.lastWritableAt !== null ? { lastWritableAt: observedAt } : {}) },
          ]),
        ),
        sync: Object.fromEntries(
          Object.entries(s.sync).map(([k, r]) => [k, { ...r, confirmedAt: observedAt }]),
        ),
      };
    };
    const T = 1_700_000_000_000;
    const first = planStatus(statusInput({ state: at(T), now: T }));
    expect(first.patch).not.toBeNull();
    // The agents report every cycle; the status is not written for that alone.
    for (const dt of [2_000, 30_000, 59_000]) {
      const plan = planStatus(statusInput({ state: at(T + dt), now: T + dt, previous: first.status }));
      expect(plan.patch, `${dt} ms later`).toBeNull();
    }
    // Once a report time is 60 s ahead of the one in the status, it is written.
    const due = planStatus(statusInput({ state: at(T + 60_000), now: T + 60_000, previous: first.status }));
    expect(due.patch?.status['sites']).toEqual(
      first.status.sites?.map((s) => ({ ...s, lastReportTime: '2023-11-14T22:14:20Z' })),
    );
    // A change of anything else writes the fresh report times with it.
    const fenced = at(T + 4_000);
    const changed = planStatus(
      statusInput({
        state: { ...fenced, reports: { ...fenced.reports, B: { ...fenced.reports['B']!, fenced: true } } },
        now: T + 4_000,
        previous: first.status,
      }),
    );
    expect(changed.patch?.status['sites']).toMatchObject([
      { name: 'A', lastReportTime: '2023-11-14T22:13:24Z' },
      { name: 'B', lastReportTime: '2023-11-14T22:13:24Z', fenced: true },
    ]);
    // A report time that went back (a restarted agent with another clock) is written at once.
    const back = planStatus(statusInput({ state: at(T - 5_000), now: T, previous: first.status }));
    expect(back.patch).not.toBeNull();
    // The bound is an input (the operator's --report-time-refresh-seconds).
    const short = planStatus(
      statusInput({
        state: at(T + 5_000),
        now: T + 5_000,
        previous: first.status,
        reportTimeRefreshMs: 5_000,
      }),
    );
    expect(short.patch).not.toBeNull();
  });

  it('sends a field that disappeared as null (merge patch)', () => {
    const first = planStatus(statusInput()).status;
    const plan = planStatus(statusInput({ previous: { ...first, targetPrimary: 'B', extra: 1 } as never }));
    expect(plan.patch?.status).toMatchObject({ targetPrimary: 'A', extra: null });
  });

  it('keeps the store error in the conditions when the store could not be read', () => {
    const plan = planStatus(statusInput({ state: null, stateError: 'no answer within 2000 ms' }));
    const ready = plan.status.conditions?.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'Unknown', reason: 'CoordinationUnavailable' });
    expect(ready?.message).toContain('no answer within 2000 ms');
    expect(plan.reportedKeys).toEqual([]);
  });

  it('reports a takeover failure once: the keys it returns, filtered by `reported` next time', () => {
    const lost = statusInput({
      state: { ...healthy(), leader: null, lastLeader: 'A' },
      previous: planStatus(statusInput()).status,
      now: NOW,
    });
    const running = planStatus(lost);
    // A takeover in progress for longer than the timeout has failed.
    const late = { ...lost, previous: running.status, now: NOW + 200_000 };
    const first = planStatus(late);
    expect(first.events.map((e) => e.reason)).toContain('TakeoverFailed');
    expect(first.reportedKeys.length).toBeGreaterThan(0);
    const keys = new Set(first.reportedKeys);
    const second = planStatus({ ...late, reported: (k) => keys.has(k) });
    expect(second.events.map((e) => e.reason)).not.toContain('TakeoverFailed');
    expect(second.reportedKeys).toEqual([]);
  });

  it('appends the fence Events after the status Events, and redacts every status string', () => {
    const plan = planStatus(
      statusInput({
        refusals: [
          {
            annotation: 'hanasr.io/planned-takeover',
            kind: 'planned-takeover',
            site: 'secret-token',
            why: 'no',
          },
        ],
        fenceEvents: [{ type: 'Warning', reason: 'FenceFailed', message: 'x' }],
        redact: (t) => t.replaceAll('secret-token', '[redacted]'),
      }),
    );
    expect(plan.events.at(-1)?.reason).toBe('FenceFailed');
    expect(JSON.stringify(plan.status)).not.toContain('secret-token');
    expect(JSON.stringify(plan.status)).toContain('[redacted]');
  });
});

describe('planInvalidSpec', () => {
  it.each([
    ['a first invalid spec', undefined, 1, 'Ready False InvalidSpec'],
    ['the same error at the same generation', 'same', 1, null],
    ['the same error at a new generation', 'same', 2, 'Ready False InvalidSpec'],
  ] as const)('%s', (_name, prev, generation, expected) => {
    const previous =
      prev === undefined ? undefined : (planInvalidSpec(undefined, 1, 'bad sid', NOW)!.patch.status as never);
    const plan = planInvalidSpec(previous, generation, 'bad sid', NOW + 1000);
    if (expected === null) return expect(plan).toBeNull();
    const ready = (
      plan!.patch.status['conditions'] as { type: string; status: string; reason: string }[]
    ).find((c) => c.type === 'Ready');
    expect(`Ready ${ready?.status} ${ready?.reason}`).toBe(expected);
    expect(plan!.event).toEqual({ type: 'Warning', reason: 'InvalidSpec', message: 'invalid spec: bad sid' });
  });
});

describe('refuseIntent', () => {
  const behind: ClusterState = { ...healthy(), sync: { B: { ...healthy().sync['B']!, state: 'SFAIL' } } };
  it.each([
    ['planned-takeover', 'C', healthy(), false, /unknown site "C"/],
    ['planned-takeover', 'A', healthy(), false, /A is already primary/],
    ['planned-takeover', 'B', { ...healthy(), leader: null }, false, /no site holds the leader key/],
    ['planned-takeover', 'B', behind, false, /B is not in sync with A/],
    ['planned-takeover', 'B', behind, true, null],
    ['planned-takeover', 'B', healthy(), false, null],
    ['fence', 'A', healthy(), false, /current primary: use a planned takeover first/],
    ['fence', 'B', healthy(), false, null],
    ['register', 'A', healthy(), false, /cannot be registered as a secondary/],
    ['register', 'B', healthy(), false, null],
  ] as const)('%s of %s', (kind, site, state, force, expected) => {
    const why = refuseIntent(kind, site, spec(), state, NOW, force);
    if (expected === null) expect(why).toBeNull();
    else expect(why).toMatch(expected);
  });

  it('refuses everything in maintenance', () => {
    expect(refuseIntent('fence', 'B', spec({ maintenance: true }), healthy(), NOW)).toMatch(/maintenance/);
  });
});

describe('planAnnotations', () => {
  const fenceB: Intent = { kind: 'fence', id: 'fence-B-1-x', site: 'B', epoch: 1 };
  const withFence: ClusterState = { ...healthy(), intents: [fenceB] };
  const kinds = (steps: readonly AnnotationStep[]): string[] =>
    steps.map((s) => (s.kind === 'event' ? `event:${s.event.reason}` : s.kind));
  it.each([
    ['no annotation', {}, healthy(), [], false, []],
    [
      'a planned takeover to the in-sync secondary',
      { 'hanasr.io/planned-takeover': 'B' },
      healthy(),
      ['add-intent', 'event:TakeoverRequested'],
      true,
      ['hanasr.io/planned-takeover'],
    ],
    [
      'a planned takeover to the primary',
      { 'hanasr.io/planned-takeover': 'A' },
      healthy(),
      ['event:IntentRefused'],
      false,
      ['hanasr.io/planned-takeover'],
    ],
    [
      'a force without a planned takeover (removed, nothing else)',
      { 'hanasr.io/force-takeover': 'true' },
      healthy(),
      [],
      false,
      ['hanasr.io/force-takeover'],
    ],
    [
      'a fence already requested (no second intent)',
      { 'hanasr.io/fence': 'B' },
      withFence,
      ['event:FenceRequested'],
      false,
      ['hanasr.io/fence'],
    ],
    [
      'a register of a fenced site releases its fence',
      { 'hanasr.io/register': 'B' },
      withFence,
      ['add-intent', 'remove-intents', 'event:FenceReleased', 'event:RegisterRequested'],
      true,
      ['hanasr.io/register'],
    ],
    [
      'a fence release without a fence',
      { 'hanasr.io/fence-release': 'B' },
      healthy(),
      ['event:IntentRefused'],
      false,
      ['hanasr.io/fence-release'],
    ],
    [
      'a fence release',
      { 'hanasr.io/fence-release': 'B' },
      withFence,
      ['remove-intents', 'event:FenceReleased'],
      true,
      ['hanasr.io/fence-release'],
    ],
    ['a backup now', { 'hanasr.io/backup-now': 'x' }, healthy(), ['backup'], false, ['hanasr.io/backup-now']],
  ] as const)('%s', (_name, annotations, state, steps, changes, removed) => {
    const plan = planAnnotations({ annotations, spec: spec(), state, now: NOW, nonce: () => 'n' });
    expect(kinds(plan.steps)).toEqual(steps);
    expect(plan.changesIntents).toBe(changes);
    expect(Object.keys(plan.remove).sort()).toEqual([...removed].sort());
  });

  it('makes a forced planned takeover at the current epoch, a Warning, and a refusal kept for status', () => {
    const behind: ClusterState = { ...healthy(), sync: { B: { ...healthy().sync['B']!, state: 'SFAIL' } } };
    const forced = planAnnotations({
      annotations: { 'hanasr.io/planned-takeover': 'B', 'hanasr.io/force-takeover': 'true' },
      spec: spec(),
      state: behind,
      now: NOW,
      nonce: () => 'n',
    });
    expect(forced.steps[0]).toEqual({
      kind: 'add-intent',
      intent: { kind: 'planned-takeover', id: 'planned-takeover-B-1-n', target: 'B', epoch: 1, force: true },
    });
    expect(forced.steps[1]).toMatchObject({
      kind: 'event',
      event: { type: 'Warning', reason: 'TakeoverRequested' },
    });
    expect(forced.plannedTarget).toBe('B');
    const refused = planAnnotations({
      annotations: { 'hanasr.io/planned-takeover': 'B' },
      spec: spec(),
      state: behind,
      now: NOW,
      nonce: () => 'n',
    });
    expect(refused.refusals).toEqual([expect.objectContaining({ kind: 'planned-takeover', site: 'B' })]);
    expect(refused.plannedTarget).toBeUndefined();
  });
});

describe('Services', () => {
  const obj = { apiVersion: 'hanasr.io/v1alpha1', metadata: { name: 'ha1', uid: 'u1' } };
  const input = { obj, namespace: 'hana', name: 'ha1', spec: spec(), activeSite: 'A' };
  const svc = (selector: Record<string, string>, managed = true): V1Service => ({
    metadata: { labels: managed ? { 'app.kubernetes.io/managed-by': 'hanasr-operator' } : {} },
    spec: { selector },
  });

  it('wants -rw on the leader site (no pod while the key is vacant) and -ro only in readaccess', () => {
    const { rw, ro } = desiredServices(input);
    expect(rw.metadata?.name).toBe('ha1-rw');
    expect(rw.spec?.selector).toEqual({ 'hanasr.io/cluster': 'ha1', 'hanasr.io/site': 'A' });
    expect(rw.spec?.ports?.map((p) => p.port)).toEqual([30013, 30015]);
    expect(rw.metadata?.ownerReferences?.[0]).toMatchObject({ uid: 'u1', controller: true });
    expect(ro).toBeNull();
    expect(desiredServices({ ...input, activeSite: undefined }).rw.spec?.selector?.['hanasr.io/site']).toBe(
      '',
    );
    const readaccess = desiredServices({
      ...input,
      spec: spec({ replication: { operationMode: 'logreplay_readaccess' } }),
    });
    expect(readaccess.ro?.spec?.selector).toEqual({
      'hanasr.io/cluster': 'ha1',
      'hanasr.io/role': 'secondary',
    });
  });

  const wanted = desiredServices(input).rw;
  it.each([
    ['missing', null, wanted, 'create'],
    ['already right', svc({ 'hanasr.io/site': 'A', 'hanasr.io/cluster': 'ha1' }), wanted, 'none'],
    ['on the old leader', svc({ 'hanasr.io/cluster': 'ha1', 'hanasr.io/site': 'B' }), wanted, 'patch'],
    ['not wanted, made by hanasr', svc({}), null, 'delete'],
    ['not wanted, made by someone else', svc({}, false), null, 'none'],
    ['not wanted, absent', null, null, 'none'],
  ] as const)('%s', (_name, existing, desired, op) => {
    expect(serviceChange(existing, desired).op).toBe(op);
  });

  it('patches a selector with the keys no longer wanted as null, and says where it moves', () => {
    const change = serviceChange(
      svc({ 'hanasr.io/cluster': 'ha1', 'hanasr.io/site': 'B', stale: 'x' }),
      wanted,
    );
    expect(change).toEqual({
      op: 'patch',
      body: { spec: { selector: { 'hanasr.io/cluster': 'ha1', 'hanasr.io/site': 'A', stale: null } } },
      from: 'B',
      to: 'A',
    });
  });
});

describe('podLabelChanges', () => {
  const pod = (name: string, labels: Record<string, string>): V1Pod => ({ metadata: { name, labels } });
  it('labels only the pods whose role differs from the leader key, and skips pods without a site', () => {
    const pods = [
      pod('a-0', { 'hanasr.io/site': 'A', 'hanasr.io/role': 'primary' }),
      pod('b-0', { 'hanasr.io/site': 'B', 'hanasr.io/role': 'primary' }),
      pod('b-1', { 'hanasr.io/site': 'B' }),
      pod('x-0', {}),
    ];
    expect(podLabelChanges(pods, healthy())).toEqual([
      { pod: 'b-0', site: 'B', role: 'secondary' },
      { pod: 'b-1', site: 'B', role: 'secondary' },
    ]);
    // After a failover every pod moves; nothing when they already agree.
    const moved = podLabelChanges(pods, healthy('B', 2));
    expect(moved.map((c) => [c.pod, c.role])).toEqual([
      ['a-0', 'secondary'],
      ['b-1', 'primary'],
    ]);
  });

  it('ignores a report (the label follows the leader key only)', () => {
    const state: ClusterState = {
      ...healthy(),
      reports: { ...healthy().reports, B: report('B', secondaryHealth('A', { srRole: 'primary' })) },
    };
    expect(
      podLabelChanges([{ metadata: { name: 'b-0', labels: { 'hanasr.io/site': 'B' } } }], state),
    ).toEqual([{ pod: 'b-0', site: 'B', role: 'secondary' }]);
  });
});
