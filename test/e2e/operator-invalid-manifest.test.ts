/**
 * Invalid manifests: the API server rejects what the CRD schema forbids (the message names the
 * field); what only the operator's zod rules catch (a cross-field rule) is accepted by the API
 * and reported as Ready=False InvalidSpec naming the field, with a Warning Event, and no spec
 * reaches the agents.
 */
import { ApiException } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cond, manifest, ref, startRig, type Rig } from './operator-harness.js';

let rig: Rig;

beforeAll(async () => {
  rig = await startRig({ apply: null });
});

afterAll(async () => {
  await rig.stop();
});

describe('operator e2e: invalid manifests', () => {
  it('rejects a manifest the CRD schema forbids, naming the field', async () => {
    const bad = manifest({ sid: 'ha1' }, 'bad-sid');
    let error: unknown;
    try {
      await rig.custom.createNamespacedCustomObject({ ...ref, namespace: 'hana', body: bad });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ApiException);
    expect((error as ApiException<unknown>).code).toBe(422);
    expect(String((error as ApiException<unknown>).body)).toContain('spec.sid');
  });

  it('reports a spec that breaks a cross-field rule as InvalidSpec naming the field', async () => {
    const body = manifest(
      { lease: { ttlSeconds: 40 }, replication: { logShippingTimeoutSeconds: 30 } },
      'bad-lease',
    );
    await rig.custom.createNamespacedCustomObject({ ...ref, namespace: 'hana', body });
    const o = await rig.waitFor((x) => cond(x, 'Ready')?.[1] === 'InvalidSpec', 10_000, 'bad-lease');
    const ready = o['status']['conditions'].find((c: { type: string }) => c.type === 'Ready');
    expect(ready.status).toBe('False');
    expect(ready.message).toContain('spec.lease.ttlSeconds');
    expect(ready.message).toContain('logShippingTimeoutSeconds');
    const events = await rig.events('bad-lease');
    expect(events.find((e) => e['reason'] === 'InvalidSpec')?.['type']).toBe('Warning');
    expect((await rig.store.read('hana.bad-lease')).spec).toBeUndefined();
  });
});
