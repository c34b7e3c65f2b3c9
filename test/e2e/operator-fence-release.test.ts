/**
 * The runbook's fencing steps end to end, through the built `hanasr` CLI, the operator and the
 * agents: after a takeover, "fence, then register" the former primary (HanaSRTwoPrimaries), and
 * "fence, then release" a secondary. A fence request is reported only once the stop is confirmed
 * (Fenced), and it ends: register releases it, `hanasr fence NAME SITE --release` releases it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli } from '../cli/support.js';
import { cond, startRig, until, type Obj, type Rig } from './operator-harness.js';

let rig: Rig;
let dir: string;
let kubeArgs: string[];

beforeAll(async () => {
  ensureBuilt();
  // StartSystem takes 2 s here (30 s by default), so a registered site comes back quickly.
  rig = await startRig({ startSeconds: 2 });
  dir = mkdtempSync(join(tmpdir(), 'hanasr-fence-'));
  rig.server.writeKubeconfig(join(dir, 'kubeconfig'));
  kubeArgs = ['--kubeconfig', join(dir, 'kubeconfig'), '-n', 'hana'];
}, 180_000);

afterAll(async () => {
  await rig.stop();
  rmSync(dir, { recursive: true, force: true });
});

const site = (o: Obj, name: string): Obj | undefined =>
  (o['status']?.['sites'] as Obj[] | undefined)?.find((s) => s['name'] === name);
const intents = async () => (await rig.store.read('hana.ha1')).intents;

describe('operator e2e: fence, then register; fence, then release', () => {
  it('after a takeover, the former primary is fenced, then registered as secondary: the fence ends', async () => {
    await rig.waitFor((x) => cond(x, 'Ready')?.[0] === 'True' && x['status']?.['currentPrimary'] === 'A');
    await until(
      'B in sync',
      () => rig.store.read('hana.ha1'),
      (st) => st.sync['B']?.state === 'SOK',
    );
    rig.landscape.model.crashInstance('A');
    await rig.waitFor(
      (x) => x['status']?.['currentPrimary'] === 'B' && cond(x, 'Ready')?.[0] === 'True',
      20_000,
    );

    // hanasr fence ha1 A: A is stopped already; the agent confirms the stop and reports fenced.
    // A's agent may report it fenced already (it stepped down when A crashed), so Fenced=True
    // alone does not show that the request arrived: wait for the operator to accept it first.
    const fence = await runCli(['fence', 'ha1', 'A', ...kubeArgs]);
    expect(fence.code, fence.stderr).toBe(0);
    await until(
      'FenceRequested',
      () => rig.eventReasons(),
      (reasons) => reasons.includes('FenceRequested'),
    );
    expect((await intents()).map((i) => i.kind)).toEqual(['fence']);
    let o = await rig.waitFor((x) => cond(x, 'Fenced')?.[0] === 'True' && site(x, 'A')?.['fenced'] === true);

    // hanasr register ha1 A: registered as secondary of B and started; the fence request is gone.
    const register = await runCli(['register', 'ha1', 'A', ...kubeArgs]);
    expect(register.code, register.stderr).toBe(0);
    o = await rig.waitFor(
      (x) =>
        site(x, 'A')?.['role'] === 'secondary' &&
        site(x, 'A')?.['fenced'] !== true &&
        cond(x, 'Fenced')?.[0] === 'False',
      20_000,
    );
    expect(o['status']['currentPrimary']).toBe('B');
    await until('no intent left', intents, (list) => list.length === 0);
    await until(
      'A running as secondary of B',
      async () => rig.landscape.model.site('A').snapshot(),
      (s) => s.running && s.source?.site === 'B',
      20_000,
    );
    const reasons = await rig.eventReasons();
    expect(reasons).toEqual(expect.arrayContaining(['RegisterRequested', 'FenceReleased']));
  }, 90_000);

  it('a fenced secondary is released with hanasr fence --release and started again', async () => {
    // Releasing a site without a fence request is refused.
    const none = await runCli(['fence', 'ha1', 'A', '--release', ...kubeArgs]);
    expect(none.code, none.stderr).toBe(0);
    await until(
      'IntentRefused for the release',
      () => rig.events(),
      (evs) =>
        evs.some(
          (e) =>
            e['reason'] === 'IntentRefused' &&
            String(e['message']).includes('has no fence request to release'),
        ),
    );

    const fence = await runCli(['fence', 'ha1', 'A', ...kubeArgs]);
    expect(fence.code, fence.stderr).toBe(0);
    await rig.waitFor((x) => site(x, 'A')?.['fenced'] === true && cond(x, 'Fenced')?.[0] === 'True', 20_000);
    expect(rig.landscape.model.site('A').snapshot().running).toBe(false);

    const release = await runCli(['fence', 'ha1', 'A', '--release', ...kubeArgs]);
    expect(release.code, release.stderr).toBe(0);
    expect(release.stdout).toContain('hanasr.io/fence-release=A set');
    await until('no intent left', intents, (list) => list.length === 0);
    await rig.waitFor((x) => cond(x, 'Fenced')?.[0] === 'False' && site(x, 'A')?.['fenced'] !== true, 20_000);
    await until(
      'A running as secondary again',
      async () => rig.landscape.model.site('A').snapshot(),
      (s) => s.running && s.srMode !== 'primary',
      20_000,
    );
    expect((await rig.get())['status']['currentPrimary']).toBe('B');
    expect(
      (await rig.events()).some(
        (e) => e['reason'] === 'FenceReleased' && String(e['message']).includes('hanasr.io/fence-release=A'),
      ),
    ).toBe(true);
  }, 90_000);
});
