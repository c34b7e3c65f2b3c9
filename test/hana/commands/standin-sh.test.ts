/**
 * The shell stand-ins (src/standins/hana-sim/bin-sh: curl and jq, for benches that want hanasr's
 * own cost apart from a Node.js start-up per tool) answer byte for byte what the Node.js ones
 * (src/standins/hana-sim/bin) answer, exit code included, for the probe's and the actions'
 * commands, and fail the same way when the simulator is not there.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../src/clock.js';
import {
  startSimControlServer,
  type SimControlServer,
} from '../../../src/standins/hana-sim/control-server.js';
import { SimLandscape } from '../../../src/standins/hana-sim/model.js';
import type { SimSiteControl } from '../../../src/standins/hana-sim/snapshot.js';
import { MODEL_OPTIONS } from './adapter-suite.js';

const dir = (d: string) => fileURLToPath(new URL(`../../../src/standins/hana-sim/${d}/`, import.meta.url));
const NODE_BIN = dir('bin');
const SH_BIN = dir('bin-sh');

interface Answer {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(bin: string, argv: readonly string[], env: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin + argv[0]!, argv.slice(1), { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let landscape: SimLandscape;
let server: SimControlServer;

beforeAll(async () => {
  landscape = new SimLandscape({
    ...MODEL_OPTIONS,
    sites: [...MODEL_OPTIONS.sites],
    clock: new VirtualClock(Date.UTC(2026, 0, 5, 8, 0, 0)),
  });
  const controls = new Map<string, SimSiteControl>(
    MODEL_OPTIONS.sites.map((s) => [s.name, landscape.site(s.name)]),
  );
  server = await startSimControlServer(controls);
});

afterAll(async () => {
  await server.close();
  landscape.dispose();
});

const primary = MODEL_OPTIONS.initialPrimary;
const secondary = MODEL_OPTIONS.sites.find((s) => s.name !== primary)!.name;

describe('shell stand-ins against the Node.js ones', () => {
  const commands: [string, string[]][] = [
    [primary, ['hdbnsutil', '-sr_state', '--sapcontrol=1']],
    [secondary, ['hdbnsutil', '-sr_state', '--sapcontrol=1']],
    [primary, ['sapcontrol', '-nr', '00', '-function', 'GetProcessList']],
    [primary, ['HDBSettings.sh', 'landscapeHostConfiguration.py']],
    [primary, ['HDBSettings.sh', 'systemReplicationStatus.py']],
    [secondary, ['HDBSettings.sh', 'systemReplicationStatus.py']],
    [primary, ['hdbnsutil', '-no_such_option', 'it "quoted" \\ back']],
  ];
  it.each(commands)('%s: %j answers the same', async (site, argv) => {
    const env = { HANASR_SIM_URL: server.url, HANASR_SIM_SITE: site };
    const [viaNode, viaSh] = await Promise.all([run(NODE_BIN, argv, env), run(SH_BIN, argv, env)]);
    expect(viaNode.stdout.length + viaNode.stderr.length).toBeGreaterThan(0);
    expect(viaSh).toEqual(viaNode);
  });

  it('an unknown site, a missing environment and an unreachable simulator fail (exit code not 0)', async () => {
    const argv = ['sapcontrol', '-nr', '00', '-function', 'GetProcessList'];
    for (const env of [
      { HANASR_SIM_URL: server.url, HANASR_SIM_SITE: 'Nowhere' },
      { HANASR_SIM_URL: '', HANASR_SIM_SITE: '' },
      { HANASR_SIM_URL: 'http://127.0.0.1:9', HANASR_SIM_SITE: primary },
    ]) {
      const [viaNode, viaSh] = await Promise.all([run(NODE_BIN, argv, env), run(SH_BIN, argv, env)]);
      expect(viaSh.code, viaSh.stderr).toBe(viaNode.code);
      expect(viaSh.code).not.toBe(0);
      expect(viaSh.stdout).toBe('');
      expect(viaSh.stderr).toMatch(/^sapcontrol: /);
    }
  });
});
