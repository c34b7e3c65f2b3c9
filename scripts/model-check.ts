/**
 * `npm run model-check`: checks the protocol model (model/hanasr.pml) with spin.
 *
 * For each configuration: `spin -a` with its -D switches, gcc, ./pan, in a temporary directory;
 * the figures (states, depth, memory, time) are pan's own. A configuration expects either no
 * violation ("safe": the properties hold in every state explored) or a counterexample
 * ("violation": the mutations, today's-code findings, documented limits and the takeover
 * reachability checks). A counterexample is replayed (`pan -r -S`) and the model's narration of
 * it printed, ticks numbered. Exit code 0 when every configuration gave what it expects, 1
 * otherwise, 2 for a usage error or a missing tool (on Debian: apt-get install spin gcc).
 *
 * Usage: tsx scripts/model-check.ts [--deep] [--only NAME,...] [--group GROUP] [--list]
 *                                   [--jobs N] [--keep] [--json FILE] [--quiet]
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const MODEL = join(root, 'model', 'hanasr.pml');

export type Group = 'safe' | 'reach' | 'finding' | 'limit' | 'mutation';

export interface ModelConfig {
  readonly name: string;
  readonly group: Group;
  /** safe: no violation in any state explored; violation: spin must report one. */
  readonly expect: 'safe' | 'violation';
  /** exhaustive: every reachable state (hash-compact storage); bitstate: supertrace, partial. */
  readonly search: 'exhaustive' | 'bitstate';
  /** bitstate: stop after this many seconds (pan prints its figures on SIGINT). */
  readonly seconds?: number;
  /** Only with --deep (larger budgets; not run in CI). */
  readonly deep?: boolean;
  /** A counterexample search that visits millions of states: compile pan with -O2. */
  readonly heavy?: boolean;
  /** -D switches of model/hanasr.pml; a later NAME=value overrides an earlier one. */
  readonly defines: readonly string[];
  readonly what: string;
}

/** Agent faults with their remedies: node watchdog and fence agents. */
const AGENTS = ['AGENTFAULTS', 'NODEFREEZE', 'WATCHDOG', 'FENCEAGENT'];

/**
 * An agent restarted under a hung primary, deciding first as its key runs out, with the successor
 * on the older rule (no wait for the stop sent): two-sites-restart-first and the mutation
 * MUT_UNKNOWN_KEY_LOST_WAIT, which must differ only in that mutation.
 */
const RESTART_FIRST_DEFINES = [
  'ASYNC',
  'NOFAILSAFE',
  'AGENTRESTART',
  'HFREEZE',
  'RESTART_FIRST',
  'TODAY_RESTART_RACE',
  'MAXF=2',
  'MAXL=0',
];

function mutation(
  flag: string,
  extra: readonly string[],
  what: string,
  more: Partial<Pick<ModelConfig, 'search' | 'seconds' | 'deep' | 'heavy'>> = {},
): ModelConfig {
  return {
    name: flag.toLowerCase().replaceAll('_', '-'),
    group: 'mutation',
    expect: 'violation',
    search: 'exhaustive',
    ...more,
    defines: [flag, 'MAXF=1', 'MAXL=1', ...extra],
    what,
  };
}

export const CONFIGS: readonly ModelConfig[] = [
  // ---- the intended protocol: must hold ----
  {
    name: 'two-sites',
    group: 'safe',
    expect: 'safe',
    search: 'exhaustive',
    defines: ['MAXF=2', 'MAXL=1'],
    what: '2 sites: HANA crash, node crash, site cut off, store outage (2 faults), 1 lost message',
  },
  {
    name: 'two-sites-hang-lag',
    group: 'safe',
    expect: 'safe',
    search: 'exhaustive',
    defines: ['HFREEZE', 'STALL', 'MAXF=1', 'MAXL=1'],
    what: '+ HANA hangs (commands land at the thaw), slow replication (lag seen or unknown)',
  },
  {
    name: 'two-sites-skew-planned',
    group: 'safe',
    expect: 'safe',
    search: 'exhaustive',
    defines: ['SKEW', 'PLANNED', 'MAXF=1', 'MAXL=1'],
    what: '+ clocks skewed up to the bound, planned takeover (handover, --suspendPrimary)',
  },
  {
    name: 'two-sites-agent-restart',
    group: 'safe',
    expect: 'safe',
    search: 'exhaustive',
    defines: ['AGENTRESTART', 'HFREEZE', 'MAXF=2', 'MAXL=0'],
    what: '+ agents crash and are restarted at once, HANA hangs; no watchdog',
  },
  {
    name: 'two-sites-watchdog-fence',
    group: 'safe',
    expect: 'safe',
    search: 'exhaustive',
    defines: [...AGENTS, 'HFREEZE', 'MAXF=1', 'MAXL=1'],
    what: '+ agent killed (stays down) or frozen, node freeze; node watchdog and fence agents',
  },
  {
    name: 'two-sites-fence-live-leader',
    group: 'safe',
    expect: 'safe',
    search: 'exhaustive',
    defines: [...AGENTS, 'FENCELIVE', 'HFREEZE', 'MAXF=1', 'MAXL=1'],
    what: '+ the fence agent may fire at a live leader (its silence is counted in time, a slow one lags)',
  },
  {
    name: 'two-sites-async',
    group: 'safe',
    expect: 'safe',
    search: 'exhaustive',
    defines: ['ASYNC', 'NOFAILSAFE', ...AGENTS, 'MAXF=1', 'MAXL=1'],
    what: 'async replication (P1 only), variant without failsafe; agent faults, watchdog, fencing',
  },
  {
    name: 'two-sites-async-failed-stops',
    group: 'safe',
    expect: 'safe',
    search: 'exhaustive',
    defines: ['ASYNC', 'NOFAILSAFE', 'WATCHDOG', 'MAXF=1', 'MAXL=2'],
    what: 'async, no failsafe, watchdog: two stops may fail (the feed-without-renewal mutation, without it)',
  },
  {
    // TODAY_ORPHAN_KEY_MINE is the code's rule (the key is "mine" when it names this site):
    // safe because every write under the key, the SFAIL records before a primary starts among
    // them, is a transaction on the key's own lease (model/README.md).
    name: 'orphan-key-mine-with-sfail',
    group: 'safe',
    expect: 'safe',
    search: 'exhaustive',
    deep: true,
    heavy: true,
    defines: ['TODAY_ORPHAN_KEY_MINE', 'AGENTRESTART', 'MAXF=2', 'MAXL=1'],
    what: "the code's key-is-mine rule with the SFAIL records before a start, on a restarted agent",
  },
  {
    name: 'two-sites-many-cycles',
    group: 'safe',
    expect: 'safe',
    search: 'bitstate',
    seconds: 30,
    defines: ['MANYCYCLES', 'HFREEZE', 'STALL', 'MAXF=2', 'MAXL=1'],
    what: 'agents may run several cycles in a tick; HANA hangs, slow replication',
  },
  // The configurations of finding-unknown-probe and finding-cycle-bound with the rule that closed
  // each (the end of the old primary's writes: seen down or its stop confirmed, else now).
  {
    name: 'two-sites-unknown-probe',
    group: 'safe',
    expect: 'safe',
    search: 'exhaustive',
    deep: true,
    heavy: true,
    defines: ['HFREEZE', 'STALL', 'MAXF=2', 'MAXL=1'],
    what: 'probes that time out on a writable primary, a slow link: writes end at the confirmed stop',
  },
  // Model hole 3's rule with the keepalive apart from the cycle's read (model/README.md).
  {
    name: 'two-sites-regrant',
    group: 'safe',
    expect: 'safe',
    search: 'exhaustive',
    deep: true,
    heavy: true,
    defines: ['KEEPALIVE_APART', 'ONLYA', 'WATCHDOG', 'MAXF=1', 'MAXL=3'],
    what: "the keepalive renews while reads are lost; a lease granted after the key's ran out is no renewal",
  },
  {
    name: 'two-sites-cycle-bound',
    group: 'safe',
    expect: 'safe',
    search: 'bitstate',
    seconds: 60,
    defines: ['MANYCYCLES', 'NODEFREEZE', 'WATCHDOG', 'MAXF=2', 'MAXL=0'],
    what: 'cycles of any length, node freezes, the watchdog: writes end when the primary was seen down',
  },
  // The rules of stop 21 (model/README.md): each configuration is its mutation's without it.
  {
    // The in-sync re-check of a retried plain takeover (actions.ts inSyncAgain()). Where it matters
    // a primary writes without its agent and no watchdog (the documented limit): P1 is off there.
    name: 'two-sites-retried-promotion',
    group: 'safe',
    expect: 'safe',
    search: 'exhaustive',
    deep: true,
    heavy: true,
    defines: ['AGENTFAULTS', 'ONLYA', 'P2ONLY', 'MAXF=3', 'MAXL=0'],
    what: 'agent killed, site cut off, store outage: a retried plain takeover asks the in-sync rule again (P2)',
  },
  {
    name: 'two-sites-restart-first',
    group: 'safe',
    expect: 'safe',
    search: 'exhaustive',
    heavy: true,
    defines: RESTART_FIRST_DEFINES,
    what: 'an agent restarted under a hung primary as its key runs out stops it (local_state_unknown_key_lost), deciding first, with the successor not waiting for its stop sent',
  },
  {
    name: 'two-sites-restart-race',
    group: 'safe',
    expect: 'safe',
    search: 'exhaustive',
    heavy: true,
    defines: ['ASYNC', 'NOFAILSAFE', 'AGENTRESTART', 'HFREEZE', 'MAXF=2', 'MAXL=0'],
    what: 'an agent restarted under a hung primary, the successor deciding first: it waits for that agent to report its stop sent (former_primary_stop_not_sent)',
  },
  {
    name: 'two-sites-by-hand',
    group: 'safe',
    expect: 'safe',
    search: 'bitstate',
    seconds: 120,
    deep: true,
    defines: ['BYHAND', 'AGENTFAULTS', 'WATCHDOG', 'FENCEAGENT', 'ONLYA', 'MAXF=3', 'MAXL=0'],
    what: 'a primary started by hand next to the leader, its agent dead: fenced within a cycle in charge',
  },
  {
    name: 'two-sites-maintenance',
    group: 'safe',
    expect: 'safe',
    search: 'exhaustive',
    heavy: true,
    defines: ['MAINT', 'MAXF=1', 'MAXL=1'],
    what: 'maintenance set and cleared at any time, also between two cycles: nothing starts in it, one writer (the maintenance generation), no lost commit',
  },
  {
    name: 'three-sites',
    group: 'safe',
    expect: 'safe',
    search: 'exhaustive',
    defines: ['N=3', 'MAXF=1', 'MAXL=1'],
    what: '3 sites (multitarget): the faults of two-sites, 1 fault, 1 lost message',
  },
  {
    name: 'three-sites-watchdog-fence',
    group: 'safe',
    expect: 'safe',
    search: 'bitstate',
    seconds: 30,
    defines: ['N=3', ...AGENTS, 'HFREEZE', 'STALL', 'MAXF=2', 'MAXL=1'],
    what: '3 sites: agent faults, node freeze, HANA hang, slow links; watchdog and fence agents',
  },
  {
    name: 'deep-two-sites',
    group: 'safe',
    expect: 'safe',
    search: 'exhaustive',
    deep: true,
    defines: ['HFREEZE', 'STALL', 'SKEW', 'PLANNED', 'MAXF=2', 'MAXL=1'],
    what: '2 sites: every HANA, network and clock switch; 2 faults, 1 lost message',
  },
  {
    name: 'two-sites-skew-worst',
    group: 'safe',
    expect: 'safe',
    search: 'exhaustive',
    defines: ['SKEW', 'SKEWFIXED', 'STALL', 'MAXF=2', 'MAXL=1'],
    what: "2 sites: A's clock a tick ahead (the skew mutation's configuration, without it)",
  },
  {
    name: 'deep-two-sites-skew',
    group: 'safe',
    expect: 'safe',
    search: 'exhaustive',
    deep: true,
    defines: ['SKEW', 'STALL', 'PLANNED', 'MAXF=2', 'MAXL=1'],
    what: '2 sites: every clock offset within the bound, slow links, planned takeover; 2 faults',
  },
  {
    name: 'deep-two-sites-agents',
    group: 'safe',
    expect: 'safe',
    search: 'exhaustive',
    deep: true,
    defines: [...AGENTS, 'AGENTRESTART', 'HFREEZE', 'STALL', 'MAXF=2', 'MAXL=1'],
    what: '2 sites: every agent fault, watchdog and fence agents, HANA hang, slow link; 2 faults',
  },
  {
    name: 'deep-two-sites-async',
    group: 'safe',
    expect: 'safe',
    search: 'exhaustive',
    deep: true,
    defines: ['ASYNC', 'NOFAILSAFE', ...AGENTS, 'PLANNED', 'MAXF=2', 'MAXL=1'],
    what: 'async (P1), no failsafe: agent faults, watchdog, fencing, planned takeover; 2 faults',
  },
  {
    name: 'deep-three-sites',
    group: 'safe',
    expect: 'safe',
    search: 'bitstate',
    seconds: 600,
    deep: true,
    defines: ['N=3', ...AGENTS, 'HFREEZE', 'STALL', 'PLANNED', 'MAXF=2', 'MAXL=2'],
    what: '3 sites: every switch, 2 faults, 2 lost messages',
  },
  // ---- the model is not safe because nothing moves ----
  {
    name: 'reach-takeover',
    group: 'reach',
    expect: 'violation',
    search: 'exhaustive',
    defines: ['REACH_TAKEOVER', 'MAXF=1', 'MAXL=0'],
    what: 'some execution takes over (2 sites)',
  },
  {
    name: 'reach-takeover-three-sites',
    group: 'reach',
    expect: 'violation',
    search: 'exhaustive',
    defines: ['N=3', 'REACH_TAKEOVER', 'MAXF=1', 'MAXL=0'],
    what: 'some execution takes over (3 sites)',
  },
  {
    name: 'reach-takeover-silent',
    group: 'reach',
    expect: 'violation',
    search: 'exhaustive',
    defines: ['REACH_SILENT', 'MAXF=1', 'MAXL=0'],
    what: 'some execution takes over from a silent primary (node lost, lease run out)',
  },
  {
    name: 'reach-handover-won-back',
    group: 'reach',
    expect: 'violation',
    search: 'exhaustive',
    defines: ['PLANNED', 'REACH_WONBACK', 'MAXF=2', 'MAXL=1'],
    what: 'some execution wins the key back over a handover its target would refuse (refusedHandover)',
  },
  {
    name: 'reach-never-took-over',
    group: 'reach',
    expect: 'violation',
    search: 'exhaustive',
    defines: ['REACH_NEVERTOOK', ...AGENTS, 'MAXF=2', 'MAXL=0'],
    what: 'some execution has a stopped primary take the key after a last leader that never took over',
  },
  {
    name: 'reach-last-leader-retries',
    group: 'reach',
    expect: 'violation',
    search: 'exhaustive',
    defines: ['REACH_RETRY', ...AGENTS, 'MAXF=2', 'MAXL=0'],
    what: 'some execution has a last leader that never took over take the key again (retry or hand back)',
  },
  // ---- today's code: a PROPOSED rule switched back ----
  {
    name: 'finding-start-keeps-sok',
    group: 'finding',
    expect: 'violation',
    search: 'exhaustive',
    defines: ['TODAY_START_KEEPS_SOK', 'MAXF=2', 'MAXL=1'],
    what: 'a primary started locally commits alone while its secondaries stay SOK',
  },
  {
    name: 'finding-start-under-old-key',
    group: 'finding',
    expect: 'violation',
    search: 'exhaustive',
    defines: ['TODAY_ORPHAN_KEY_MINE', 'TODAY_START_KEEPS_SOK', 'AGENTRESTART', 'MAXF=2', 'MAXL=1'],
    what: "a restarted agent takes its previous session's key for its own and starts HANA under it",
  },
  {
    name: 'finding-unknown-probe',
    group: 'finding',
    expect: 'violation',
    search: 'exhaustive',
    deep: true,
    heavy: true,
    defines: ['TODAY_UNKNOWN_PROBE_NOT_WRITING', 'HFREEZE', 'STALL', 'MAXF=2', 'MAXL=1'],
    what: 'a timed-out probe of a writable primary counts as "stopped writing at the last good one"',
  },
  {
    name: 'finding-cycle-bound',
    group: 'finding',
    expect: 'violation',
    search: 'exhaustive',
    deep: true,
    heavy: true,
    defines: ['TODAY_CYCLE_BOUND', 'MANYCYCLES', 'NODEFREEZE', 'WATCHDOG', 'MAXF=2', 'MAXL=0'],
    what: 'lastWritableAt + one cycle taken as the end of writes; two probes can be further apart',
  },
  {
    name: 'finding-silent-no-margin',
    group: 'finding',
    expect: 'violation',
    search: 'exhaustive',
    heavy: true,
    defines: ['TODAY_SILENT_NO_MARGIN', 'STALL', 'MAXF=2', 'MAXL=1'],
    what: 'takeover from a silent primary until the last moment before it may commit alone',
  },
  {
    name: 'finding-regrant-renews',
    group: 'finding',
    expect: 'violation',
    search: 'exhaustive',
    deep: true,
    heavy: true,
    // Its counterexample (a failed stop without a watchdog after a takeover) is not the switch's:
    // the same configuration finds it without the switch (model/README.md).
    defines: ['TODAY_REGRANT_RENEWS', 'STALL', 'MAXF=2', 'MAXL=2'],
    what: 'a lease granted after the old one ran out resets lastRenewedAt',
  },
  {
    name: 'finding-restart-race',
    group: 'finding',
    expect: 'violation',
    search: 'exhaustive',
    defines: ['ASYNC', 'NOFAILSAFE', 'AGENTRESTART', 'HFREEZE', 'TODAY_RESTART_RACE', 'MAXF=2', 'MAXL=0'],
    what: 'without former_primary_stop_not_sent (or an agent of an earlier version): the successor decides before the restarted agent, the hung primary thaws before its stop lands',
  },
  {
    // Not a switched-back rule: P1 with maintenance set and cleared at any time (model/README.md).
    name: 'finding-maintenance-single-writer',
    group: 'finding',
    expect: 'violation',
    search: 'exhaustive',
    defines: ['MAINT', 'TODAY_NO_MGEN', 'MAXF=1', 'MAXL=1'],
    what: 'without the maintenance generation: maintenance flipped between cycles, a leader cut off in maintenance fences nothing, a successor takes over',
  },
  // ---- documented limits ----
  {
    name: 'limit-agent-down-no-watchdog',
    group: 'limit',
    expect: 'violation',
    search: 'exhaustive',
    defines: ['AGENTFAULTS', 'MAXF=1', 'MAXL=1'],
    what: 'without a node watchdog a primary whose agent is down is not fenced (README limit)',
  },
  {
    name: 'limit-async-failsafe',
    group: 'limit',
    expect: 'violation',
    search: 'exhaustive',
    defines: ['ASYNC', 'MAXF=1', 'MAXL=1'],
    what: 'async replication with the failsafe: two writers after a takeover',
  },
  // ---- mutations of the protocol: each must be caught ----
  mutation('MUT_NO_CAS', ['ONLYA'], 'the leader key is taken without compare-and-set'),
  mutation('MUT_NO_SELF_FENCE', ['MAXL=0'], 'a leader that cannot renew its lease keeps running'),
  mutation('MUT_FAILSAFE_BLIND', ['MAXL=0'], 'the failsafe keeps a cut-off primary without seeing its peers'),
  mutation('MUT_UNKNOWN_LAG_ZERO', ['STALL', 'MAXF=2', 'ONLYA'], 'an unknown lag is taken as zero lag'),
  mutation(
    'MUT_UNKNOWN_LOCAL_NOSTOP',
    ['HFREEZE', 'AGENTRESTART', 'MAXF=2'],
    'a non-leader whose own HANA state is unknown does not stop it',
  ),
  mutation(
    'MUT_BLIND_PROMOTION',
    ['ASYNC', 'NOFAILSAFE', 'PLANNED', 'MAXF=2'],
    'a failed --suspendPrimary handshake becomes a plain takeover although the peer is unknown',
  ),
  mutation(
    'MUT_RELEASE_BEFORE_STOP',
    ['ASYNC', 'NOFAILSAFE', 'MAXL=2'],
    'a failed primary hands on the key although its stop failed',
  ),
  mutation(
    'MUT_WATCHDOG_TOO_LONG',
    ['ASYNC', 'NOFAILSAFE', 'AGENTFAULTS', 'WATCHDOG'],
    'node watchdog timeout longer than the lease TTL',
  ),
  mutation(
    'MUT_FEED_WITHOUT_RENEWAL',
    ['ASYNC', 'NOFAILSAFE', 'WATCHDOG', 'MAXL=2', 'ONLYA'],
    'the node watchdog is fed while the agent process runs, whether its lease was renewed or not',
  ),
  mutation(
    'MUT_TRUST_UNCONFIRMED_FENCE',
    ['ASYNC', 'NOFAILSAFE', 'AGENTFAULTS', 'WATCHDOG', 'FENCEAGENT', 'ONLYA'],
    'a takeover proceeds after a fence that was not confirmed',
  ),
  mutation(
    'MUT_NO_INSYNC_RECHECK',
    ['AGENTFAULTS', 'ONLYA', 'P2ONLY', 'MAXF=3', 'MAXL=0'],
    'a retried plain takeover is carried out on the trust of its first decision',
    { heavy: true },
  ),
  mutation(
    'MUT_UNKNOWN_KEY_LOST_WAIT',
    RESTART_FIRST_DEFINES,
    'the last leader whose key ran out waits instead of stopping an instance it cannot read',
  ),
  mutation(
    'MUT_NO_ROGUE_FENCE',
    ['BYHAND', 'AGENTFAULTS', 'WATCHDOG', 'FENCEAGENT', 'ONLYA', 'MAXF=3', 'MAXL=0'],
    'the leader does not fence a writable primary no agent reports for',
  ),
  mutation('MUT_ACT_IN_MAINTENANCE', ['MAINT', 'MAXL=0'], 'an agent acts in maintenance mode'),
  mutation(
    'MUT_NO_SKEW_ALLOWANCE',
    ['SKEW', 'SKEWFIXED', 'STALL', 'MAXF=2'],
    'times of two hosts compared without the clock.maxSkewSeconds allowance',
    { heavy: true },
  ),
  mutation('MUT_SOK_ANY_EPOCH', ['N=3', 'MAXF=2', 'MAXL=0'], 'a SOK record of an older term is trusted', {
    search: 'bitstate',
    seconds: 600,
    deep: true,
  }),
  mutation(
    'MUT_NO_EPOCH_RECHECK',
    ['MANYCYCLES', 'MAXF=0', 'MAXL=3'],
    'start, register and promote without re-checking the epoch',
    { search: 'bitstate', seconds: 300, deep: true },
  ),
];

export interface PanFigures {
  readonly errors: number | null;
  readonly states: number | null;
  readonly transitions: number | null;
  readonly depth: number | null;
  readonly memoryMb: number | null;
  readonly seconds: number | null;
  readonly incomplete: boolean;
  readonly assertion: string | null;
}

function num(re: RegExp, text: string): number | null {
  const m = re.exec(text);
  return m?.[1] !== undefined ? Number(m[1]) : null;
}

/** pan's summary, as numbers. */
export function parsePan(text: string): PanFigures {
  return {
    errors: num(/errors: (\d+)/, text),
    states: num(/^\s*([\d.e+]+) states, stored/m, text),
    transitions: num(/^\s*([\d.e+]+) transitions/m, text),
    depth: num(/depth reached (\d+)/, text),
    memoryMb: num(/^\s*([\d.]+)\s+total actual memory usage/m, text),
    seconds: num(/elapsed time ([\d.e+]+) seconds/, text),
    incomplete: /Search not completed/.test(text),
    assertion: /assertion violated\s+(.*?)(?: \(at depth|\n)/.exec(text)?.[1]?.trim() ?? null,
  };
}

/** The model's narration of a replayed trail: one line per event, ticks numbered, repeats folded. */
export function narrate(replay: string): string[] {
  const lines: string[] = [];
  let t = 0;
  let last = '';
  const lastRecord = new Map<string, string>();
  for (const raw of replay.split('\n')) {
    const line = raw.trim();
    if (line === '-- tick') {
      t++;
      continue;
    }
    if (!/^[A-C-]: /.test(line)) continue;
    const rec = /^([A-C]): records ([A-C]) (.*)$/.exec(line);
    if (rec) {
      const key = `${rec[1]}>${rec[2]}`;
      if (lastRecord.get(key) === rec[3]) continue;
      lastRecord.set(key, rec[3] ?? '');
    }
    const text = `t=${t} ${line}`;
    if (text === last) continue;
    last = text;
    lines.push(text);
  }
  return lines;
}

/** Later -D switches override earlier ones of the same name (MAXF, MAXL). */
export function effectiveDefines(defines: readonly string[]): string[] {
  const byName = new Map<string, string>();
  for (const d of defines) {
    const name = d.split('=')[0] ?? d;
    byName.delete(name);
    byName.set(name, d);
  }
  return [...byName.values()];
}

interface RunResult {
  readonly code: number | null;
  readonly out: string;
  readonly interrupted: boolean;
}

/** Runs a command (argument array, no shell); `seconds`: SIGINT then (30 s later) SIGKILL. */
function run(cmd: string, args: readonly string[], cwd: string, seconds?: number): Promise<RunResult> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let interrupted = false;
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const soft =
      seconds !== undefined
        ? setTimeout(() => {
            interrupted = true;
            child.kill('SIGINT');
          }, seconds * 1000)
        : null;
    // Nothing here runs for ever: an exhaustive run that outgrows its memory limit stops itself.
    const hard = setTimeout(() => child.kill('SIGKILL'), ((seconds ?? 1800) + 30) * 1000);
    child.on('error', (err) => {
      out += String(err);
    });
    child.on('close', (code) => {
      if (soft) clearTimeout(soft);
      clearTimeout(hard);
      done({ code, out, interrupted });
    });
  });
}

export interface CheckResult extends Partial<PanFigures> {
  readonly config: ModelConfig;
  readonly defines: readonly string[];
  readonly ok: boolean;
  readonly verdict: string;
  readonly interrupted?: boolean;
  readonly wallSeconds: number;
  readonly trail: readonly string[];
  readonly output?: string;
  readonly dir?: string;
}

export async function checkConfig(config: ModelConfig, keep = false): Promise<CheckResult> {
  const dir = mkdtempSync(join(tmpdir(), `hanasr-model-${config.name}-`));
  const defines = effectiveDefines(config.defines);
  const started = Date.now();
  const base = { config, defines, trail: [] as string[], ...(keep ? { dir } : {}) };
  const wall = () => (Date.now() - started) / 1000;
  try {
    copyFileSync(MODEL, join(dir, 'hanasr.pml'));
    const gen = await run('spin', [...defines.map((d) => `-D${d}`), '-a', 'hanasr.pml'], dir);
    if (gen.code !== 0) {
      return { ...base, ok: false, verdict: 'spin -a failed', output: gen.out, wallSeconds: wall() };
    }
    // A counterexample expected early needs no optimised pan: -O0 compiles in a fifth of the time.
    const level =
      config.expect === 'violation' && config.search === 'exhaustive' && !config.heavy ? '-O0' : '-O2';
    const storage = config.search === 'bitstate' ? '-DBITSTATE' : '-DHC4';
    const build = await run('gcc', [level, storage, '-DSAFETY', '-DMEMLIM=2048', '-o', 'pan', 'pan.c'], dir);
    if (build.code !== 0) {
      return { ...base, ok: false, verdict: 'gcc failed', output: build.out, wallSeconds: wall() };
    }
    const args = config.search === 'bitstate' ? ['-m100000', '-w29', '-k3'] : ['-m100000', '-w24'];
    const seconds = config.search === 'bitstate' ? config.seconds : undefined;
    const pan = await run('./pan', args, dir, seconds);
    const figures = parsePan(pan.out);
    const found = (figures.errors ?? 0) > 0;
    const trail = found ? narrate((await run('./pan', ['-r', '-S'], dir)).out) : [];
    const complete = !figures.incomplete && !pan.interrupted && figures.errors !== null;
    let ok: boolean;
    let verdict: string;
    if (config.expect === 'safe') {
      ok = !found && figures.errors !== null && (config.search === 'bitstate' || complete);
      if (found) verdict = 'VIOLATION';
      else if (figures.errors === null) verdict = 'no summary from pan';
      else if (config.search === 'bitstate')
        verdict = pan.interrupted
          ? `no violation (bitstate, ${config.seconds} s budget)`
          : 'no violation (bitstate)';
      else verdict = complete ? 'no violation (exhaustive)' : 'INCOMPLETE (memory limit)';
    } else {
      ok = found;
      verdict = found ? 'counterexample' : 'NOT CAUGHT';
    }
    return {
      ...base,
      ...figures,
      ok,
      verdict,
      interrupted: pan.interrupted,
      trail,
      wallSeconds: wall(),
      ...(ok ? {} : { output: pan.out.slice(-3000) }),
    };
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

interface Options {
  deep: boolean;
  only: string[] | null;
  group: string | null;
  list: boolean;
  keep: boolean;
  json: string | null;
  quiet: boolean;
  jobs: number;
}

function usage(message?: string): never {
  if (message) process.stderr.write(`model-check: ${message}\n`);
  process.stderr.write(
    'usage: npm run model-check -- [--deep] [--only NAME,...] [--group safe|reach|finding|limit|mutation]\n' +
      '                              [--list] [--jobs N] [--keep] [--json FILE] [--quiet]\n',
  );
  process.exit(2);
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = {
    deep: false,
    only: null,
    group: null,
    list: false,
    keep: false,
    json: null,
    quiet: false,
    jobs: Math.min(2, availableParallelism()),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (what: string): string => argv[++i] ?? usage(`${a} needs ${what}`);
    if (a === '--deep') o.deep = true;
    else if (a === '--list') o.list = true;
    else if (a === '--keep') o.keep = true;
    else if (a === '--quiet') o.quiet = true;
    else if (a === '--only') o.only = value('a name').split(',');
    else if (a === '--group') o.group = value('a group');
    else if (a === '--json') o.json = value('a file');
    else if (a === '--jobs') {
      o.jobs = Number(value('a number'));
      if (!Number.isInteger(o.jobs) || o.jobs < 1) usage('--jobs needs a positive integer');
    } else if (a === '--help' || a === '-h') usage();
    else usage(`unknown argument ${a}`);
  }
  return o;
}

function tool(name: string, args: readonly string[]): string {
  const r = spawnSync(name, args, { encoding: 'utf8' });
  if (r.error) usage(`${name} not found; on Debian: apt-get install spin gcc`);
  return `${r.stdout}${r.stderr}`.split('\n')[0]?.trim() ?? name;
}

const fmtStates = (n: number | null | undefined): string =>
  n === null || n === undefined
    ? '-'
    : n >= 1e6
      ? `${(n / 1e6).toFixed(2)}M`
      : n >= 1e3
        ? `${(n / 1e3).toFixed(1)}k`
        : String(n);

const row = (cells: readonly (string | number)[]): string =>
  cells.map((c, i) => String(c).padEnd([34, 10, 8, 6, 6, 8, 5, 0][i] ?? 0)).join(' ');

async function main(): Promise<void> {
  // `--list | head` closes the pipe early: not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const opts = parseArgs(process.argv.slice(2));
  let configs = CONFIGS.filter((c) => opts.deep || !c.deep);
  if (opts.group) configs = configs.filter((c) => c.group === opts.group);
  if (opts.only) {
    const unknown = opts.only.filter((n) => !CONFIGS.some((c) => c.name === n));
    if (unknown.length) usage(`unknown configuration ${unknown.join(', ')} (see --list)`);
    configs = CONFIGS.filter((c) => opts.only?.includes(c.name));
  }
  if (opts.list) {
    for (const c of CONFIGS) {
      const flags = effectiveDefines(c.defines).map((d) => `-D${d}`);
      process.stdout.write(
        `${c.name.padEnd(34)} ${c.group.padEnd(9)} ${c.search.padEnd(10)} ${c.deep ? 'deep ' : ''}${flags.join(' ')}\n` +
          `    ${c.what}\n`,
      );
    }
    return;
  }
  const spin = tool('spin', ['-V']);
  tool('gcc', ['--version']);
  readFileSync(MODEL);
  process.stdout.write(`${spin}; ${configs.length} configuration(s), ${opts.jobs} at a time\n\n`);
  process.stdout.write(
    row(['configuration', 'search', 'states', 'depth', 'MB', 'seconds', 'ok', 'result']) + '\n',
  );

  // Up to `jobs` configurations at a time; results printed in the order of the list.
  const promises: Promise<CheckResult>[] = [];
  let next = 0;
  const gates = configs.map(() => {
    let open: () => void = () => {};
    const opened = new Promise<void>((r) => (open = r));
    return { opened, open };
  });
  const startNext = (): void => {
    const k = next++;
    const cfg = configs[k];
    if (!cfg) return;
    promises[k] = checkConfig(cfg, opts.keep).finally(startNext);
    gates[k]?.open();
  };
  for (let j = 0; j < Math.min(opts.jobs, configs.length); j++) startNext();

  const results: CheckResult[] = [];
  for (let k = 0; k < configs.length; k++) {
    await gates[k]?.opened;
    const r = await (promises[k] as Promise<CheckResult>);
    results.push(r);
    const c = r.config;
    process.stdout.write(
      row([
        c.name,
        c.search,
        fmtStates(r.states),
        r.depth ?? '-',
        r.memoryMb == null ? '-' : Math.round(r.memoryMb),
        r.seconds == null ? '-' : r.seconds.toFixed(1),
        r.ok ? 'ok' : 'FAIL',
        r.verdict,
      ]) + '\n',
    );
    if (r.trail.length > 0 && (!opts.quiet || !r.ok)) {
      process.stdout.write(`    ${c.what}\n    spin: assertion violated: ${r.assertion ?? '?'}\n`);
      const shown = r.trail.length > 40 ? ['...', ...r.trail.slice(-40)] : r.trail;
      for (const l of shown) process.stdout.write(`      ${l}\n`);
    }
    if (!r.ok && r.output) process.stdout.write(r.output.split('\n').slice(-30).join('\n') + '\n');
    if (r.dir) process.stdout.write(`    kept in ${r.dir}\n`);
  }
  const failed = results.filter((r) => !r.ok);
  const wall = results.reduce((s, r) => s + r.wallSeconds, 0);
  process.stdout.write(
    `\n${results.length - failed.length} of ${results.length} configuration(s) as expected (${wall.toFixed(0)} s of work)` +
      (failed.length ? `; NOT as expected: ${failed.map((r) => r.config.name).join(', ')}` : '') +
      '\n',
  );
  if (opts.json) {
    const out = results.map((r) => ({
      name: r.config.name,
      group: r.config.group,
      expect: r.config.expect,
      search: r.config.search,
      defines: r.defines,
      ok: r.ok,
      verdict: r.verdict,
      states: r.states ?? null,
      depth: r.depth ?? null,
      memoryMb: r.memoryMb ?? null,
      seconds: r.seconds ?? null,
      assertion: r.assertion ?? null,
      trail: r.trail,
    }));
    writeFileSync(opts.json, JSON.stringify(out, null, 2) + '\n');
  }
  process.exitCode = failed.length ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
