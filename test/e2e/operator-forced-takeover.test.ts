/**
 * Forced planned takeover: with replication to B blocked (B SFAIL) the planned-takeover
 * annotation alone is refused; together with hanasr.io/force-takeover: "true" (what
 * `hanasr takeover --force` sets after its confirmation) the operator writes the intent with
 * force, removes both annotations, and the agents carry it out: B becomes primary.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cond, merge, ref, startRig, until, type Rig } from './operator-harness.js';

let rig: Rig;

beforeAll(async () => {
  rig = await startRig();
});

afterAll(async () => {
  await rig.stop();
});

const annotate = (annotations: Record<string, string>) =>
  rig.custom.patchNamespacedCustomObject(
    { ...ref, namespace: 'hana', name: 'ha1', body: { metadata: { annotations } } },
    merge,
  );

describe('operator e2e: forced planned takeover', () => {
  it('carries out a forced takeover to an SFAIL secondary', async () => {
    await rig.waitFor((x) => cond(x, 'Ready')?.[0] === 'True');
    await until(
      'B in sync',
      () => rig.store.read('hana.ha1'),
      (st) => st.sync['B']?.state === 'SOK' && st.reports['A']?.lastDecision?.reason === 'leader_healthy',
    );
    rig.landscape.model.blockReplication('B');
    await until(
      'B SFAIL',
      () => rig.store.read('hana.ha1'),
      (st) => st.sync['B']?.state === 'SFAIL',
    );

    // Without the force: refused, as before.
    await annotate({ 'hanasr.io/planned-takeover': 'B' });
    await rig.waitFor((x) => cond(x, 'TakeoverInProgress')?.[1] === 'TakeoverRefused');
    expect((await rig.store.read('hana.ha1')).intents).toEqual([]);

    // With it: the intent carries force (an SFAIL target is handed the key only then) and the
    // agents carry it out.
    await annotate({ 'hanasr.io/planned-takeover': 'B', 'hanasr.io/force-takeover': 'true' });
    const o = await rig.waitFor(
      (x) => x['status']?.['currentPrimary'] === 'B' && x['status']?.['epoch'] === 2,
      20_000,
    );
    expect(rig.landscape.events).toContainEqual(
      expect.objectContaining({
        site: 'A',
        event: 'action',
        action: 'step-down',
        reason: 'planned_takeover_handover',
      }),
    );
    expect(rig.landscape.events.map((e) => e.reason)).not.toContain('target_not_in_sync');
    expect(o['metadata']['annotations'] ?? {}).toEqual({});
    expect(o['status']['lastTakeover']).toMatchObject({
      from: 'A',
      to: 'B',
      reason: 'PlannedTakeover',
      outcome: 'succeeded',
    });
    await until(
      'B accepts writes',
      async () => rig.landscape.model.writableSites(),
      (w) => w.length === 1 && w[0] === 'B',
    );
    const events = await rig.events();
    const accepted = events.find((e) => e['reason'] === 'TakeoverRequested');
    expect(accepted?.['type']).toBe('Warning');
    expect(accepted?.['message']).toContain('hanasr.io/force-takeover');
    expect(events.map((e) => e['reason'])).not.toContain('TakeoverFailed');
    expect(rig.landscape.events.filter((e) => e.event === 'action' && e.action === 'takeover')).toMatchObject(
      [{ site: 'B', reason: 'planned_takeover' }],
    );
  });
});
