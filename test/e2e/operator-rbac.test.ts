/**
 * Least privilege, both ways: the operator runs against the fake API through a proxy that
 * enforces the chart's RBAC rules (charts/hanasr/files/operator-rbac.yaml, a Role in the watched
 * namespace) and records every request. Through a whole life — finalizer, status, Events, the rw
 * and ro Services, pod roles, a planned takeover that moves the rw Service, the ro Service going
 * away, deletion — no request is denied (the grant is sufficient), and every verb the rules grant
 * was used (the grant is not wider than the code).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { allows, startRbacProxy, type RbacProxy, type Rule } from '../support/rbac-proxy.js';
import { NAMESPACE, cond, manifest, merge, ref, startRig, until, type Rig } from './operator-harness.js';

const RULES = parse(
  readFileSync(new URL('../../charts/hanasr/files/operator-rbac.yaml', import.meta.url), 'utf8'),
) as Rule[];
const READ_ACCESS = { replication: { operationMode: 'logreplay_readaccess' } };

let proxy: RbacProxy;
let rig: Rig;

beforeAll(async () => {
  rig = await startRig({
    spec: READ_ACCESS,
    apply: manifest(READ_ACCESS),
    operatorApi: async (url) => {
      proxy = await startRbacProxy(url, RULES, NAMESPACE);
      return proxy.url;
    },
  });
});

afterAll(async () => {
  await rig?.stop();
  await proxy?.close();
});

const patchResource = (body: object) =>
  rig.custom.patchNamespacedCustomObject({ ...ref, namespace: NAMESPACE, name: 'ha1', body }, merge);

describe('operator RBAC: the chart grants exactly what the operator calls', () => {
  it('runs a whole life through the authorizing proxy without a denial, using every granted verb', async () => {
    await rig.waitFor((x) => cond(x, 'Ready')?.[0] === 'True');
    await until(
      'the ro Service',
      () => rig.serviceSelector('ha1-ro'),
      (s) => s !== undefined,
    );
    await until(
      'pod roles',
      () => rig.podRoles(),
      (r) => r['A'] === 'primary' && r['B'] === 'secondary',
    );
    await until(
      'B in sync',
      () => rig.store.read('hana.ha1'),
      (st) => st.sync['B']?.state === 'SOK' && st.reports['A']?.lastDecision?.reason === 'leader_healthy',
    );

    // A planned takeover: the annotation is removed (patch) and the rw Service moves (patch).
    await patchResource({ metadata: { annotations: { 'hanasr.io/planned-takeover': 'B' } } });
    await rig.waitFor((x) => x['status']?.['currentPrimary'] === 'B', 30_000);
    await until(
      'rw on B',
      () => rig.serviceSelector('ha1-rw'),
      (s) => s?.['hanasr.io/site'] === 'B',
    );

    // Read access off: the ro Service goes (delete).
    await patchResource({ spec: { replication: { operationMode: 'logreplay' } } });
    await until(
      'the ro Service gone',
      () => rig.serviceSelector('ha1-ro'),
      (s) => s === undefined,
    );

    // Deletion: the finalizer is removed (patch) and the resource goes.
    await rig.custom.deleteNamespacedCustomObject({ ...ref, namespace: NAMESPACE, name: 'ha1' });
    await until(
      'the resource gone',
      () => rig.custom.listNamespacedCustomObject({ ...ref, namespace: NAMESPACE }),
      (l) => (l as { items: unknown[] }).items.length === 0,
    );

    const denied = proxy.requests.filter((r) => !r.allowed);
    expect(denied, JSON.stringify(denied.slice(0, 5))).toEqual([]);
    const used = new Set(proxy.requests.map((r) => `${r.group}|${r.resource}|${r.verb}`));
    const granted = RULES.flatMap((rule) =>
      rule.apiGroups.flatMap((g) => rule.resources.flatMap((r) => rule.verbs.map((v) => `${g}|${r}|${v}`))),
    );
    expect(granted.filter((g) => !used.has(g))).toEqual([]);
    // Every request stayed in the watched namespace.
    expect(proxy.requests.filter((r) => r.namespace !== NAMESPACE)).toEqual([]);
  }, 90_000);

  it('the rules hold no wildcard and none of what review found too wide', () => {
    for (const rule of RULES)
      for (const field of [rule.apiGroups, rule.resources, rule.verbs]) expect(field).not.toContain('*');
    expect(allows(RULES, { group: '', resource: 'endpoints', verb: 'update' })).toBe(false);
    expect(allows(RULES, { group: '', resource: 'pods', verb: 'update' })).toBe(false);
    expect(allows(RULES, { group: '', resource: 'pods', verb: 'watch' })).toBe(false);
    expect(allows(RULES, { group: '', resource: 'secrets', verb: 'get' })).toBe(false);
    expect(allows(RULES, { group: 'hanasr.io', resource: 'hanasystemreplications', verb: 'update' })).toBe(
      false,
    );
  });
});
