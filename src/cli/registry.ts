/**
 * The subcommands of `hanasr`, each a module under ./commands loaded on demand. Every module
 * exports `run(argv)` (resolving to the exit code), `help` (its --help text) and `options` (its
 * option table: the parser, the option list of --help and the reference of docs/cli.md).
 */
import type { OptionTable } from '../config/options.js';

export interface CommandModule {
  run(argv: string[]): Promise<number>;
  readonly help: string;
  readonly options: OptionTable;
}

/** Each command's one-line summary, in the order of `hanasr --help`; its module below. */
const SUMMARIES: Readonly<Record<string, string>> = {
  demo: 'start a whole landscape on this machine and show it live (npm start)',
  simulate: 'play a failure scenario against HA settings in virtual time',
  agent: 'run the agent of one HANA site (sidecar or systemd service)',
  operator: 'run the Kubernetes operator (one active replica, elected through etcd)',
  'hana-sim': 'serve simulated HANA sites over the SQL wire protocol (127.0.0.1)',
  status: 'show a HanaSystemReplication: sites, roles, sync, lag, conditions',
  takeover: 'planned takeover to a site, refused when it is not safe',
  maintenance: 'turn maintenance mode on or off (observe, never act)',
  fence: 'ask the operator to fence (stop) a site, or --release its fence',
  register: 'ask the operator to register a former primary as secondary',
  explain: 'what each agent decides right now and why; --what-if FAULT predicts a failure',
  backup: 'show the backups (newest, age, readable, runs), or --now to request one',
  history: 'list the takeovers and backup runs of a HanaSystemReplication, newest first',
  validate: 'check HanaSystemReplication manifests offline (field and line)',
};

/** Each command's module (static imports, so bundlers and vitest see them). */
const MODULES: Readonly<Record<string, () => Promise<CommandModule>>> = {
  demo: () => import('./commands/demo.js'),
  simulate: () => import('./commands/simulate.js'),
  agent: () => import('./commands/agent.js'),
  operator: () => import('./commands/operator.js'),
  'hana-sim': () => import('./commands/hana-sim.js'),
  status: () => import('./commands/status.js'),
  takeover: () => import('./commands/takeover.js'),
  maintenance: () => import('./commands/maintenance.js'),
  fence: () => import('./commands/fence.js'),
  register: () => import('./commands/register.js'),
  explain: () => import('./commands/explain.js'),
  backup: () => import('./commands/backup.js'),
  history: () => import('./commands/history.js'),
  validate: () => import('./commands/validate.js'),
};

/** By name: the summary and the module, loaded on demand. */
export const COMMANDS: Readonly<
  Record<string, { readonly summary: string; load(): Promise<CommandModule> }>
> = Object.fromEntries(
  Object.entries(SUMMARIES).map(([name, summary]) => [name, { summary, load: MODULES[name]! }]),
);
