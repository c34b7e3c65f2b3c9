/** `hanasr demo`: a whole landscape on this machine, live; optionally a scenario played in real time. */
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { optionsHelp, parseOptions, stringOption, type OptionTable } from '../../config/options.js';
import { startDemo, type Demo } from '../../demo/landscape.js';
import { startView } from '../../demo/view.js';
import { SpecValidationError } from '../../api/spec.js';
import { checkExpectations, resolveExpect } from '../../sim/expectations.js';
import { applyFault, resolveFault } from '../../sim/faults.js';
import {
  controlCall,
  demoState,
  findRunningDemo,
  startControl,
  type DemoFile,
  type DemoState,
} from '../../demo/control.js';
import { isSiteRole, parseScenario, ScenarioError, type Scenario } from '../../sim/scenario.js';

/** Every option of `hanasr demo`, declared once (parser, --help and docs/cli.md). */
export const options = {
  manifest: {
    value: 'FILE',
    help: 'HanaSystemReplication manifest (default examples/hsr.yaml; also as the one argument: hanasr demo examples/hsr-dr.yaml)',
  },
  scenario: {
    value: 'FILE',
    help:
      "play this scenario's faults in real time and check its expectations after durationSeconds; its clock starts once the landscape has settled " +
      '(a writable leader, every other site an ACTIVE secondary, the agents agreeing; at most 180s), and role words in it (site: primary) are resolved then. ' +
      "When a demo is already running (npm start, same --state-dir) the faults go to that landscape and its HA settings apply; otherwise a landscape is started with the scenario's cluster settings",
  },
  standalone: { type: 'boolean', help: 'with --scenario: always start a landscape of its own' },
  exit: {
    type: 'boolean',
    help: 'with a landscape of its own: stop after the verdict (exit 0 passed, 1 failed); attached to a running demo, the command always ends there',
  },
  coordination: {
    choices: ['auto', 'etcd', 'memory'],
    value: 'MODE',
    help: 'auto (default: etcd when on PATH), etcd, or memory',
  },
  stateDir: {
    value: 'DIR',
    help:
      "kubeconfig, etcd data, the operator log and demo.json (default $TMPDIR/hanasr-demo); made fresh with mode 0700 on every start (an earlier demo's directory is emptied; " +
      "a symlink, another user's or a directory hanasr did not make is refused). demo.json (mode 0600) holds the control endpoint's address and token",
  },
  apiPort: { value: 'PORT', help: 'port of the embedded Kubernetes API (default: any free port)' },
  plain: { type: 'boolean', help: 'plain lines even on a terminal (no redrawing)' },
} as const satisfies OptionTable;

export const help = `Usage: hanasr demo [MANIFEST | --manifest FILE] [--scenario FILE [--exit]] [options]

Starts a whole hanasr landscape on this machine and shows it live until Ctrl-C:
the embedded Kubernetes API (a kubeconfig is written and printed), the coordination store (a
local etcd when the etcd binary is on PATH, else in memory), one simulated HANA site per site
of the manifest, each with its agent (with spec.backup, also simulated backups, which the
primary's agent takes: hanasr backup <name> shows them), and the operator. The manifest is applied as with
kubectl apply. Applications reach the simulated sites over HANA's SQL protocol: a read-write
endpoint that follows the <name>-rw Service, and one endpoint per site (the "sql" line; user
APPUSER, the password in <state-dir>/sql-password; docs/apps.md). While it runs, use the real
tools against it:
  kubectl --kubeconfig <printed path> get hsr -n <namespace>
  hanasr status <name> -n <namespace> --kubeconfig <printed path>
  hanasr takeover <name> --to B -n <namespace> --kubeconfig <printed path>

Two regions (sites[].region, e.g. examples/hsr-dr.yaml; docs/dr.md): each region gets its own
Kubernetes API (kubeconfig-<region>), its own store (a local etcd each) and its own operator,
which reads the other region's store read only; each agent uses its region's store and reads the
other's. The screen shows both regions, which is active, and the DR link's mode and lag. Faults
region-down, region-up, cut-region-link, restore-region-link and disaster-takeover (hanasr demo
--scenario) act on that wiring; the disaster takeover itself is
  hanasr takeover <name> --to C --disaster -n <namespace> --kubeconfig <DR region's kubeconfig>

Options:
${optionsHelp(options)}

Environment:
  TMPDIR                     where the default state directory goes

Exit codes: 0 stopped cleanly (or the scenario passed), 1 the scenario failed or the demo could
not start, 2 invalid options, manifest or scenario.
`;

interface Args {
  manifest: string;
  scenario?: string;
  exit: boolean;
  coordination: 'auto' | 'etcd' | 'memory';
  stateDir: string;
  apiPort?: number;
  plain: boolean;
  standalone: boolean;
}

function parseArgs(argv: string[]): Args | string {
  const parsed = parseOptions(argv, options);
  if (parsed.problems.length > 0) return parsed.problems[0]!;
  if (parsed.positionals.length > 1) return `unexpected argument "${parsed.positionals[1]}"`;
  const v = parsed.values;
  const positional = parsed.positionals[0];
  if (positional !== undefined && stringOption(v, 'manifest') !== undefined)
    return 'give the manifest once: as the argument or with --manifest';
  const a: Args = {
    manifest: positional ?? stringOption(v, 'manifest') ?? 'examples/hsr.yaml',
    exit: v.exit === true,
    coordination: (stringOption(v, 'coordination') ?? 'auto') as Args['coordination'],
    stateDir: stringOption(v, 'stateDir') ?? join(tmpdir(), 'hanasr-demo'),
    plain: v.plain === true,
    standalone: v.standalone === true,
  };
  const scenario = stringOption(v, 'scenario');
  if (scenario !== undefined) a.scenario = scenario;
  const apiPort = stringOption(v, 'apiPort');
  if (apiPort !== undefined) {
    const port = Number(apiPort);
    if (!/^\d+$/.test(apiPort) || port > 65535) return '--api-port must be a port number';
    a.apiPort = port;
  }
  if (a.exit && a.scenario === undefined) return '--exit goes with --scenario';
  if (a.standalone && a.scenario === undefined) return '--standalone goes with --scenario';
  return a;
}

/** The manifest a scenario stands for: its cluster settings as a HanaSystemReplication. */
function manifestOf(scenario: Scenario): Record<string, unknown> {
  const name =
    scenario.name
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 63) || 'demo';
  return {
    apiVersion: 'hanasr.io/v1alpha1',
    kind: 'HanaSystemReplication',
    metadata: { name, namespace: 'default' },
    spec: scenario.cluster,
  };
}

/** What the scenario player needs: a landscape in this process, or one `npm start` runs. */
interface Driver {
  /** Applies the fault; resolves to the site it hit (a role word resolved), if any. */
  fault(f: Scenario['faults'][number]): Promise<string | undefined>;
  state(): Promise<DemoState>;
  note(text: string, site?: string): void;
}

/** How long a scenario waits for the landscape to settle before its clock starts. */
const SETTLE_TIMEOUT_MS = 180_000;

/**
 * Waits until the landscape is settled (a leader that takes writes, every other site an ACTIVE
 * secondary), as `hanasr simulate` starts from one: right after a planned takeover the former
 * primary is still being registered and catching up. Gives up after a bound and says so.
 */
async function waitSettled(driver: Driver, timeoutMs: number): Promise<DemoState> {
  const deadline = Date.now() + timeoutMs;
  let said = false;
  for (;;) {
    const s = await driver.state().catch(() => null);
    if (s?.settled) return s;
    if (!said) {
      driver.note('waiting for the landscape to settle (a writable leader, every secondary ACTIVE)');
      said = true;
    }
    if (Date.now() >= deadline) {
      driver.note(`not settled after ${Math.round(timeoutMs / 1000)}s: starting anyway`);
      return s ?? (await driver.state());
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function playScenario(
  driver: Driver,
  scenario: Scenario,
  settleMs = SETTLE_TIMEOUT_MS,
): Promise<boolean> {
  const start = await waitSettled(driver, settleMs);
  // Role words in `expect` name the sites that had the role now, at the start.
  const expect = resolveExpect(scenario.expect, start.roles);
  const startedAt = Date.now();
  driver.note(
    `scenario ${scenario.name}: ${scenario.faults.length} fault(s) over ${scenario.durationSeconds}s, ` +
      `starting with primary ${start.roles.primary ?? '(none)'}` +
      (start.roles.secondary !== null ? `, secondary ${start.roles.secondary}` : ''),
  );
  let takeovers = 0;
  let holder: string | null = null;
  const sample = async () => {
    const s = await driver.state().catch(() => null);
    const leader = s?.leader ?? null;
    if (leader !== null && leader !== holder) {
      if (holder !== null) takeovers++;
      holder = leader;
    }
  };
  await sample();
  const sampler = setInterval(() => void sample(), 200);
  const timers = scenario.faults.map((f) =>
    setTimeout(() => {
      driver
        .fault(f)
        .then((site) => {
          const role = site !== undefined && site !== f.site ? ` (the ${f.site})` : '';
          driver.note(`fault ${f.action}${site ? ` on ${site}${role}` : ''}`, site ?? '*');
        })
        .catch((err: unknown) =>
          driver.note(
            `fault ${f.action} refused: ${err instanceof Error ? err.message : String(err)}`,
            f.site ?? '*',
          ),
        );
    }, f.atSeconds * 1000),
  );
  await new Promise((r) =>
    setTimeout(r, Math.max(0, startedAt + scenario.durationSeconds * 1000 - Date.now())),
  );
  timers.forEach(clearTimeout);
  clearInterval(sampler);
  await sample();
  const end = await driver.state();
  const primary = end.leader !== null && end.writable.includes(end.leader) ? end.leader : null;
  const results = checkExpectations(expect, {
    primary,
    takeovers,
    lostCommittedWrites: end.lostCommittedWrites,
    maxConcurrentPrimaries: end.maxConcurrentWritable,
    replicationStatus: primary ? end.replicationStatus : 'UNKNOWN',
    writeUnavailableSeconds: end.writeUnavailableSeconds,
  });
  const passed = results.every((r) => r.ok);
  for (const r of results) {
    driver.note(
      `${r.ok ? 'ok  ' : 'FAIL'} ${r.key}: expected ${JSON.stringify(r.expected)}` +
        `${r.note !== undefined ? ` (${r.note})` : ''}, got ${JSON.stringify(r.actual)}`,
    );
  }
  driver.note(`scenario ${scenario.name} ${passed ? 'PASSED' : 'FAILED'}`);
  return passed;
}

/** Plays a scenario against the demo that `npm start` runs (another process). */
async function playAttached(running: DemoFile, scenario: Scenario): Promise<number> {
  const out = process.stdout;
  const state = await controlCall<DemoState>(`${running.controlUrl}/state`, running.token, 'GET');
  const named = [
    ...scenario.faults.map((f) => f.site),
    ...(scenario.expect.primary !== undefined && scenario.expect.primary !== null
      ? [scenario.expect.primary]
      : []),
  ];
  const missing = [...new Set(named)].filter(
    (s): s is string => s !== undefined && !isSiteRole(s) && !state.sites.includes(s),
  );
  if (missing.length > 0) {
    process.stderr.write(
      `hanasr demo: the running landscape has no site ${missing.join(', ')} (it has ${state.sites.join(', ')})\n`,
    );
    return 2;
  }
  out.write(
    `playing ${scenario.name} against the running demo (${running.namespace}/${running.name}, pid ${running.pid}); ` +
      `its own HA settings apply, not the scenario's cluster block\n`,
  );
  const note = (text: string, site = '*') =>
    out.write(`${new Date().toISOString().slice(11, 23)}  ${site.padEnd(4)} ${text}\n`);
  const passed = await playScenario(
    {
      fault: async (f) =>
        (await controlCall<{ site?: string }>(`${running.controlUrl}/fault`, running.token, 'POST', f)).site,
      state: () => controlCall<DemoState>(`${running.controlUrl}/state`, running.token, 'GET'),
      note,
    },
    scenario,
  );
  return passed ? 0 : 1;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (typeof args === 'string') {
    process.stderr.write(`hanasr demo: ${args}\n`);
    return 2;
  }
  let manifest: Record<string, unknown>;
  let scenario: Scenario | undefined;
  try {
    if (args.scenario !== undefined) {
      scenario = parseScenario(await readFile(args.scenario, 'utf8'), args.scenario);
      manifest = manifestOf(scenario);
    } else {
      manifest = parse(await readFile(args.manifest, 'utf8')) as Record<string, unknown>;
      if (typeof manifest !== 'object' || manifest === null)
        throw new ScenarioError(`${args.manifest}: not a manifest`);
    }
  } catch (err) {
    if (err instanceof ScenarioError || (err as NodeJS.ErrnoException).code !== undefined) {
      process.stderr.write(`hanasr demo: ${err instanceof Error ? err.message : String(err)}\n`);
      return 2;
    }
    throw err;
  }

  if (scenario && !args.standalone) {
    const running = await findRunningDemo(args.stateDir);
    if (running) return playAttached(running, scenario);
  }

  let demo: Demo;
  try {
    demo = await startDemo({
      manifest,
      stateDir: args.stateDir,
      coordination: args.coordination,
      ...(args.apiPort !== undefined ? { apiPort: args.apiPort } : {}),
      ...(scenario
        ? {
            initialPrimary: scenario.initialPrimary,
            seed: scenario.seed,
            writesPerSecond: scenario.workload.writesPerSecond,
            ...(scenario.nodes?.bootSeconds !== undefined ? { bootSeconds: scenario.nodes.bootSeconds } : {}),
            ...(scenario.nodes?.watchdogTimeoutSeconds !== undefined
              ? { watchdogTimeoutSeconds: scenario.nodes.watchdogTimeoutSeconds }
              : {}),
            ...(scenario.nodes?.sites !== undefined ? { nodeSites: scenario.nodes.sites } : {}),
            ...(scenario.backups !== undefined ? { backups: scenario.backups } : {}),
          }
        : {}),
    });
  } catch (err) {
    if (err instanceof SpecValidationError) {
      process.stderr.write(`hanasr demo: invalid manifest ${args.manifest}: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`hanasr demo: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }

  const out = process.stdout;
  const tty = out.isTTY === true && !args.plain;
  if (!tty) {
    out.write(
      `Kubernetes API ${demo.apiUrl}\nkubeconfig ${demo.kubeconfigPath}\ncoordination ${demo.coordinationDescription}\n` +
        (demo.regions ?? [])
          .map(
            (r) =>
              `region ${r.region}: Kubernetes API ${r.apiUrl}, kubeconfig ${r.kubeconfigPath}, coordination ${r.coordinationDescription}\n`,
          )
          .join('') +
        `sql ${demo.sql.rw} (read-write, follows the ${demo.name}-rw Service; per site ` +
        `${Object.entries(demo.sql.sites)
          .map(([site, at]) => `${site} ${at}`)
          .join(', ')}; user ${demo.sql.user}, password in ${demo.sql.passwordFile})\n`,
    );
  }
  const stopControl = await startControl(demo, args.stateDir);
  const view = startView(demo, out, tty);
  let stopping = false;
  const stop = async (code: number): Promise<number> => {
    if (stopping) return code;
    stopping = true;
    view.stop();
    await stopControl();
    await demo.stop();
    out.write('hanasr demo: stopped; nothing left running\n');
    return code;
  };

  return new Promise<number>((resolve) => {
    const onSignal = () => void stop(0).then(resolve);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    if (scenario) {
      const driver: Driver = {
        fault: async (f) => {
          const resolved = await resolveFault(demo.target, f);
          await applyFault(demo.target, resolved);
          return resolved.site;
        },
        state: () => demoState(demo),
        note: (text, site) => demo.note(text, site),
      };
      void playScenario(driver, scenario).then((passed) => {
        if (args.exit) {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          void stop(passed ? 0 : 1).then(resolve);
        }
      });
    }
  });
}
