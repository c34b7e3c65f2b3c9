/**
 * Planned takeover by annotation: refused (Warning Event, TakeoverInProgress=False
 * TakeoverRefused naming why) while B is not in sync; accepted once it is, B becomes primary
 * with handshake, the rw Service moves and lastTakeover says PlannedTakeover.
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

const annotate = (site: string) =>
  rig.custom.patchNamespacedCustomObject(
    {
      ...ref,
      namespace: 'hana',
      name: 'ha1',
      body: { metadata: { annotations: { 'hanasr.io/planned-takeover': site } } },
    },
    merge,
  );

describe('operator e2e: planned takeover', () => {
  it('refuses a takeover to a secondary that is not in sync, then runs one that is safe', async () => {
    await rig.waitFor((x) => cond(x, 'Ready')?.[0] === 'True');
    await until(
      'B in sync',
      () => rig.store.read('hana.ha1'),
      (st) => st.sync['B']?.state === 'SOK' && st.reports['A']?.lastDecision?.reason === 'leader_healthy',
    );

    // Replication to B blocked: B turns SFAIL, the request is unsafe.
    rig.landscape.model.blockReplication('B');
    await until(
      'B SFAIL',
      () => rig.store.read('hana.ha1'),
      (st) => st.sync['B']?.state === 'SFAIL',
    );
    await annotate('B');
    let o = await rig.waitFor((x) => cond(x, 'TakeoverInProgress')?.[1] === 'TakeoverRefused');
    const refused = o['status']['conditions'].find((c: { type: string }) => c.type === 'TakeoverInProgress');
    expect(refused.status).toBe('False');
    expect(refused.message).toContain('hanasr.io/planned-takeover=B refused');
    expect(refused.message).toContain('not in sync');
    expect(o['metadata']['annotations']?.['hanasr.io/planned-takeover']).toBeUndefined();
    const warning = (await rig.events()).find((e) => e['reason'] === 'IntentRefused');
    expect(warning?.['type']).toBe('Warning');
    expect((await rig.store.read('hana.ha1')).intents).toEqual([]);
    expect(o['status']['currentPrimary']).toBe('A');

    // Replication back: the same request is carried out.
    rig.landscape.model.unblockReplication('B');
    await until(
      'B in sync again',
      () => rig.store.read('hana.ha1'),
      (st) => st.sync['B']?.state === 'SOK' && st.reports['A']?.lastDecision?.reason === 'leader_healthy',
    );
    await annotate('B');
    o = await rig.waitFor(
      (x) => x['status']?.['currentPrimary'] === 'B' && cond(x, 'Ready')?.[0] === 'True',
      15_000,
    );
    expect(o['status']['lastTakeover']).toMatchObject({ from: 'A', to: 'B', outcome: 'succeeded' });
    expect(cond(o, 'TakeoverInProgress')).toEqual(['False', 'Stable']);
    await until(
      'rw service on B',
      () => rig.serviceSelector('ha1-rw'),
      (s) => s?.['hanasr.io/site'] === 'B',
    );
    const reasons = await rig.eventReasons();
    const requested = reasons.indexOf('TakeoverRequested');
    expect(requested).toBeGreaterThan(reasons.indexOf('IntentRefused'));
    expect(reasons.indexOf('TakeoverSucceeded')).toBeGreaterThan(requested);
    expect(reasons).not.toContain('TakeoverFailed');
  });
});
