/**
 * `hanasr takeover`, `maintenance`, `fence` and `register` through the built CLI against the
 * fake API server: refusals (exit 3, nothing written), the annotation or spec patch written,
 * --force with a typed confirmation on stdin, and --wait following status and Events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCluster,
  ensureBuilt,
  getCluster,
  healthyStatus,
  NS,
  patchStatus,
  runCli,
  startLandscape,
  until,
  type Landscape,
} from './support.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const TAKEOVER = 'hanasr.io/planned-takeover';
const FORCE = 'hanasr.io/force-takeover';
let l: Landscape;
let n = 0;

/** A fresh cluster per test, so annotations from one test never leak into another. */
async function cluster(status: Obj | null = healthyStatus(), spec: Obj = {}): Promise<string> {
  const name = `ha-${++n}`;
  await createCluster(l, name, status, spec);
  return name;
}

function lagging(): Obj {
  const s = healthyStatus();
  s['sites'][1] = {
    ...s['sites'][1],
    inSync: false,
    replicationStatus: 'ERROR',
    lagSeconds: 42,
    lagBytes: 2 * 1024 * 1024,
  };
  return s;
}

const annotations = async (name: string): Promise<Obj> =>
  (await getCluster(l, name))['metadata']['annotations'] ?? {};

beforeAll(async () => {
  ensureBuilt();
  l = await startLandscape();
});

afterAll(async () => {
  await l.close();
});

describe('hanasr takeover: refusals (exit 3, nothing written)', () => {
  it('refuses an unknown site', async () => {
    const name = await cluster();
    const r = await runCli(['takeover', name, '--to', 'C', '--no-wait', ...l.kubeArgs]);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('hanasr: takeover: refused: unknown site "C" (sites: A, B)\n');
    expect(await annotations(name)).toEqual({});
  });

  it('refuses the current primary', async () => {
    const name = await cluster();
    const r = await runCli([
      'takeover',
      name,
      '--to',
      'A',
      '--force',
      '--yes-i-know-data-may-be-lost',
      ...l.kubeArgs,
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('hanasr: takeover: refused: A is already primary\n');
    expect(await annotations(name)).toEqual({});
  });

  it('refuses a target that is not in sync, naming why', async () => {
    const name = await cluster(lagging());
    const r = await runCli(['takeover', name, '--to', 'B', ...l.kubeArgs]);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      'hanasr: takeover: refused: B is not in sync with A (replication ERROR, lag 42s, 2MiB unshipped): ' +
        'a takeover could lose committed data (--force overrides, after a typed confirmation)\n',
    );
    expect(await annotations(name)).toEqual({});
  });

  it('refuses while maintenance is on', async () => {
    const name = await cluster(healthyStatus(), { maintenance: true });
    const r = await runCli(['takeover', name, '--to', 'B', ...l.kubeArgs]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('refused: maintenance is on');
    expect(await annotations(name)).toEqual({});
  });

  it('--force with a wrong confirmation on stdin is refused', async () => {
    const name = await cluster(lagging());
    const r = await runCli(['takeover', name, '--to', 'B', '--force', '--no-wait', ...l.kubeArgs], {
      input: 'A\n',
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('Type the site name (B) to take over anyway: ');
    expect(r.stderr).toContain(
      'hanasr: takeover: confirmation "A" does not match "B": refused, nothing changed',
    );
    expect(await annotations(name)).toEqual({});
  });

  it('--force with stdin closed (no answer) is refused', async () => {
    const name = await cluster(lagging());
    const r = await runCli(['takeover', name, '--to', 'B', '--force', '--no-wait', ...l.kubeArgs]);
    expect(r.code).toBe(3);
    expect(await annotations(name)).toEqual({});
  });

  it('exits 4 for an unknown cluster and 2 without --to', async () => {
    expect((await runCli(['takeover', 'nope', '--to', 'B', ...l.kubeArgs])).code).toBe(4);
    const usage = await runCli(['takeover', 'nope', ...l.kubeArgs]);
    expect(usage.code).toBe(2);
    expect(usage.stderr.split('\n')[0]).toBe('hanasr: takeover: missing --to SITE');
  });
});

describe('hanasr takeover: the request', () => {
  it('sets the planned-takeover annotation (merge patch) when the target is in sync', async () => {
    const name = await cluster();
    const r = await runCli(['takeover', name, '--to', 'B', '--no-wait', ...l.kubeArgs]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `${TAKEOVER}=B set on HanaSystemReplication hana/${name}: the operator runs the takeover\n`,
    );
    expect(await annotations(name)).toEqual({ [TAKEOVER]: 'B' });
  });

  it('--force goes ahead when the site name is typed on stdin', async () => {
    const name = await cluster(lagging());
    const r = await runCli(['takeover', name, '--to', 'B', '--force', '--no-wait', ...l.kubeArgs], {
      input: 'B\n',
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Type the site name (B) to take over anyway: ');
    expect(r.stdout).toBe(
      `${TAKEOVER}=B and ${FORCE}=true set on HanaSystemReplication hana/${name}: the operator runs the takeover\n`,
    );
    // Both in one patch, so the operator never sees the request without its force.
    expect(await annotations(name)).toEqual({ [TAKEOVER]: 'B', [FORCE]: 'true' });
  });

  it('--force --yes-i-know-data-may-be-lost goes ahead without stdin', async () => {
    const name = await cluster(lagging());
    const r = await runCli([
      'takeover',
      name,
      '--to',
      'B',
      '--force',
      '--yes-i-know-data-may-be-lost',
      '--no-wait',
      ...l.kubeArgs,
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('Type the site name');
    expect(await annotations(name)).toEqual({ [TAKEOVER]: 'B', [FORCE]: 'true' });
  });

  it('--force on a target that is in sync needs no confirmation and sets no force', async () => {
    const name = await cluster();
    const r = await runCli(['takeover', name, '--to', 'B', '--force', '--no-wait', ...l.kubeArgs]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(await annotations(name)).toEqual({ [TAKEOVER]: 'B' });
  });

  it('--wait follows status until the target is primary', async () => {
    const name = await cluster();
    const running = runCli(['takeover', name, '--to', 'B', '--timeout', '30s', ...l.kubeArgs]);
    // Play the operator: acknowledge, then switch.
    await until(l, name, (o) => o['metadata']['annotations']?.[TAKEOVER] === 'B');
    await patchStatus(l, name, {
      targetPrimary: 'B',
      conditions: [
        ...healthyStatus()['conditions'],
        {
          type: 'TakeoverInProgress',
          status: 'True',
          reason: 'PlannedTakeover',
          message: 'planned takeover A -> B',
          lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        },
      ],
    });
    await new Promise((r) => setTimeout(r, 700));
    await patchStatus(l, name, { currentPrimary: 'B', epoch: 4 });
    const r = await running;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toContain(`${TAKEOVER}=B set`);
    expect(lines).toContain('  target primary: B');
    expect(lines.at(-1)).toBe('B is primary (epoch 4).');
  });

  it('--wait exits 3 when the operator refuses the intent (IntentRefused Event)', async () => {
    const name = await cluster();
    const running = runCli(['takeover', name, '--to', 'B', '--timeout', '30s', ...l.kubeArgs]);
    await until(l, name, (o) => o['metadata']['annotations']?.[TAKEOVER] === 'B');
    await l.core.createNamespacedEvent({
      namespace: NS,
      body: {
        metadata: { generateName: `${name}.` },
        involvedObject: {
          apiVersion: 'hanasr.io/v1alpha1',
          kind: 'HanaSystemReplication',
          name,
          namespace: NS,
        },
        type: 'Warning',
        reason: 'IntentRefused',
        message: `${TAKEOVER}=B refused: B is not in sync with A (SFAIL in this term)`,
        source: { component: 'hanasr-operator' },
      },
    });
    const r = await running;
    expect(r.code).toBe(3);
    expect(r.stdout).toContain(`  Warning IntentRefused: ${TAKEOVER}=B refused`);
    expect(r.stderr).toBe(
      `hanasr: takeover: the operator refused the takeover: ${TAKEOVER}=B refused: B is not in sync with A (SFAIL in this term)\n`,
    );
  });

  it('--wait exits 1 when the operator reports TakeoverFailed', async () => {
    const name = await cluster();
    const running = runCli(['takeover', name, '--to', 'B', '--timeout', '30s', ...l.kubeArgs]);
    await until(l, name, (o) => o['metadata']['annotations']?.[TAKEOVER] === 'B');
    await l.core.createNamespacedEvent({
      namespace: NS,
      body: {
        metadata: { generateName: `${name}.` },
        involvedObject: {
          apiVersion: 'hanasr.io/v1alpha1',
          kind: 'HanaSystemReplication',
          name,
          namespace: NS,
        },
        type: 'Warning',
        reason: 'TakeoverFailed',
        message: 'sr_takeover on B failed: TIMEOUT',
        source: { component: 'hanasr-operator' },
      },
    });
    const r = await running;
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('hanasr: takeover: takeover to B failed: sr_takeover on B failed: TIMEOUT\n');
  });

  it('--wait exits 5 when the target does not become primary within --timeout', async () => {
    const name = await cluster();
    const r = await runCli(['takeover', name, '--to', 'B', '--timeout', '1s', ...l.kubeArgs]);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(
      /^hanasr: takeover: timed out after 1s waiting for B to become primary \(current primary A\)/,
    );
    expect(await annotations(name)).toEqual({ [TAKEOVER]: 'B' });
  });
});

describe('hanasr maintenance, fence, register', () => {
  it('maintenance on|off merge-patches spec.maintenance', async () => {
    const name = await cluster();
    const on = await runCli(['maintenance', name, 'on', ...l.kubeArgs]);
    expect(on.code).toBe(0);
    expect(on.stdout).toContain(`hana/${name}: maintenance on (spec.maintenance=true)`);
    const after = await getCluster(l, name);
    expect(after['spec']['maintenance']).toBe(true);
    expect(after['spec']['sites']).toHaveLength(2); // a merge patch, not a replace
    expect(after['metadata']['generation']).toBe(2);
    const off = await runCli(['maintenance', name, 'off', ...l.kubeArgs]);
    expect(off.code).toBe(0);
    expect((await getCluster(l, name))['spec']['maintenance']).toBe(false);
  });

  it('maintenance rejects other words (2) and unknown clusters (4)', async () => {
    const bad = await runCli(['maintenance', 'x', 'maybe', ...l.kubeArgs]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.split('\n')[0]).toBe('hanasr: maintenance: expected on or off, got "maybe"');
    const missing = await runCli(['maintenance', 'nope', 'on', ...l.kubeArgs]);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toBe(
      'hanasr: maintenance: HanaSystemReplication "nope" not found in namespace "hana"\n',
    );
  });

  it('fence sets hanasr.io/fence on a secondary and refuses the primary', async () => {
    const name = await cluster();
    const primary = await runCli(['fence', name, 'A', ...l.kubeArgs]);
    expect(primary.code).toBe(3);
    expect(primary.stderr).toContain('refused: A is the current primary; run a planned takeover first');
    expect(await annotations(name)).toEqual({});
    const r = await runCli(['fence', name, 'B', ...l.kubeArgs]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^hanasr\.io\/fence=B set on HanaSystemReplication hana\/ha-\d+: the operator will fence B/,
    );
    expect(await annotations(name)).toEqual({ 'hanasr.io/fence': 'B' });
  });

  it('fence --release sets hanasr.io/fence-release (any site of the cluster)', async () => {
    const name = await cluster();
    const unknown = await runCli(['fence', name, 'Z', '--release', ...l.kubeArgs]);
    expect(unknown.code).toBe(3);
    const r = await runCli(['fence', name, 'B', '--release', ...l.kubeArgs]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^hanasr\.io\/fence-release=B set on HanaSystemReplication hana\/ha-\d+: the operator will release the fence of B/,
    );
    expect(await annotations(name)).toEqual({ 'hanasr.io/fence-release': 'B' });
  });

  it('register sets hanasr.io/register and refuses an unknown site', async () => {
    const name = await cluster();
    const unknown = await runCli(['register', name, 'Z', ...l.kubeArgs]);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toBe('hanasr: register: refused: unknown site "Z" (sites: A, B)\n');
    const r = await runCli(['register', name, 'B', ...l.kubeArgs]);
    expect(r.code).toBe(0);
    expect(await annotations(name)).toEqual({ 'hanasr.io/register': 'B' });
  });
});

describe('hanasr takeover --disaster (two regions, docs/dr.md)', () => {
  const regions = {
    sites: [
      { name: 'A', host: 'hana-a', region: 'eu-west' },
      { name: 'B', host: 'hana-b', region: 'eu-west' },
      { name: 'C', host: 'hana-c', region: 'eu-north' },
    ],
  };
  const drStatus = (): Obj => ({
    ...healthyStatus(),
    region: {
      generation: 1,
      active: 'eu-west',
      by: 'adopted',
      since: '2026-12-06T09:00:00Z',
      expectedLoss: [
        {
          site: 'C',
          lagSeconds: 3,
          lagBytes: 4096,
          reportAgeMinSeconds: 41,
          reportAgeMaxSeconds: 43,
          message: 'C was 3 s (4096 bytes) behind at the last report, 41-43 s ago (clock skew bound 1 s)',
        },
      ],
    },
  });
  const DISASTER = 'hanasr.io/disaster-takeover';
  const CONFIRM = 'hanasr.io/disaster-confirm';

  it('prints the expected loss, then refuses a wrong typed name (nothing written)', async () => {
    const name = await cluster(drStatus(), regions);
    const r = await runCli(['takeover', name, '--to', 'C', '--disaster', ...l.kubeArgs], { input: 'C\n' });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(
      'expected data loss: C was 3 s (4096 bytes) behind at the last report, 41-43 s ago',
    );
    expect(r.stderr).toContain(`confirmation "C" does not match "${name}"`);
    expect(await annotations(name)).toEqual({});
  });

  it('sets both annotations in one patch with the typed name (stdin or --confirm)', async () => {
    const name = await cluster(drStatus(), regions);
    const r = await runCli(['takeover', name, '--to', 'C', '--disaster', ...l.kubeArgs], {
      input: `${name}\n`,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(await annotations(name)).toEqual({ [DISASTER]: 'C', [CONFIRM]: name });
    const other = await cluster(drStatus(), regions);
    const r2 = await runCli([
      'takeover',
      other,
      '--to',
      'C',
      '--disaster',
      '--confirm',
      other,
      ...l.kubeArgs,
    ]);
    expect(r2.code, r2.stderr).toBe(0);
    expect(await annotations(other)).toEqual({ [DISASTER]: 'C', [CONFIRM]: other });
  });

  const SWITCHOVER = 'hanasr.io/region-switchover';
  const event = (name: string, type: string, reason: string, message: string) =>
    l.core.createNamespacedEvent({
      namespace: NS,
      body: {
        metadata: { generateName: `${name}.` },
        involvedObject: {
          apiVersion: 'hanasr.io/v1alpha1',
          kind: 'HanaSystemReplication',
          name,
          namespace: NS,
        },
        type,
        reason,
        message,
        source: { component: 'hanasr-operator' },
      },
    });

  it('without --disaster, a site of the other region is a region switchover: the annotation carries the generation and epoch status shows', async () => {
    const name = await cluster(drStatus(), regions);
    const r = await runCli(['takeover', name, '--to', 'C', '--no-wait', ...l.kubeArgs]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${SWITCHOVER}=C set`);
    expect(r.stdout).toContain('(region generation 1, epoch 3)');
    expect(await annotations(name)).toEqual({
      [SWITCHOVER]: 'C',
      'hanasr.io/region-switchover-generation': '1',
      'hanasr.io/region-switchover-epoch': '3',
    });
  });

  it('--wait follows the Events: exit 0 on the handover, 3 on a refusal or the abort', async () => {
    const outcomes: [string, string, string, number][] = [
      [
        'Normal',
        'RegionSwitchoverHandover',
        "C holds A's last log position 900: region eu-north is active",
        0,
      ],
      ['Warning', 'IntentRefused', `${SWITCHOVER}=C refused (stale_epoch: the request saw epoch 3)`, 3],
      ['Warning', 'RegionSwitchoverAborted', "switchover refused: C did not reach A's last log position", 3],
    ];
    for (const [type, reason, message, code] of outcomes) {
      // The status the CLI finds as it starts waiting: the operator drained (the first poll
      // prints what it waits for, once, before the Events).
      const waiting = 'waiting for A to stop once its log stands still and is shipped to C';
      const name = await cluster(
        {
          ...drStatus(),
          region: {
            ...(drStatus()['region'] as Obj),
            draining: true,
            switchover: {
              from: 'A',
              to: 'C',
              fromRegion: 'eu-west',
              toRegion: 'eu-north',
              waitingFor: waiting,
            },
          },
        },
        regions,
      );
      const running = runCli(['takeover', name, '--to', 'C', '--timeout', '30s', ...l.kubeArgs]);
      await until(l, name, (o) => o['metadata']['annotations']?.[SWITCHOVER] === 'C');
      await event(name, type, reason, message);
      const r = await running;
      expect(r.code, `${reason}: ${r.stderr}`).toBe(code);
      expect(r.stdout).toContain(`  draining: ${waiting}\n`);
      expect(r.stdout.split(`draining: ${waiting}`)).toHaveLength(2);
      expect(r.stdout).toContain(`  ${type} ${reason}: ${message}`);
    }
  });

  it('the refusal (exit 3, nothing written) stays where the operator cannot do it: no status.region, or --force', async () => {
    const { region: _r, ...noRegion } = drStatus();
    const unknown = await cluster(noRegion, regions);
    const r = await runCli(['takeover', unknown, '--to', 'C', '--no-wait', ...l.kubeArgs]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("the target region's store) is unknown");
    const name = await cluster(drStatus(), regions);
    const forced = await runCli([
      'takeover',
      name,
      '--to',
      'C',
      '--force',
      '--yes-i-know-data-may-be-lost',
      '--no-wait',
      ...l.kubeArgs,
    ]);
    expect(forced.code).toBe(3);
    expect(forced.stderr).toContain(
      'a planned region switchover (lossless or nothing: --force does not apply',
    );
    expect(await annotations(unknown)).toEqual({});
    expect(await annotations(name)).toEqual({});
  });

  it('refuses a site of the active region, and a resource without status.region', async () => {
    const name = await cluster(drStatus(), regions);
    const r = await runCli(['takeover', name, '--to', 'A', '--disaster', '--confirm', name, ...l.kubeArgs]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('A is in the active region eu-west: use a takeover without --disaster');
    const single = await cluster();
    const r2 = await runCli([
      'takeover',
      single,
      '--to',
      'B',
      '--disaster',
      '--confirm',
      single,
      ...l.kubeArgs,
    ]);
    expect(r2.code).toBe(3);
    expect(r2.stderr).toContain('status.region is empty');
    expect(await annotations(name)).toEqual({});
    expect(await annotations(single)).toEqual({});
  });
});
