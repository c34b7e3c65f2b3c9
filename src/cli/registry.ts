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

export const COMMANDS: Readonly<
  Record<string, { readonly summary: string; load(): Promise<CommandModule> }>
> = {
  demo: {
    summary: 'start a whole landscape on this machine and show it live (npm start)',
    load: () => import('./commands/demo.js'),
  },
  simulate: {
    summary: 'play a failure scenario against HA settings in virtual time',
    load: () => import('./commands/simulate.js'),
  },
  agent: {
    summary: 'run the agent of one HANA site (sidecar or systemd service)',
    load: () => import('./commands/agent.js'),
  },
  operator: {
    summary: 'run the Kubernetes operator (one active replica, elected through etcd)',
    load: () => import('./commands/operator.js'),
  },
  'hana-sim': {
    summary: 'serve simulated HANA sites over the SQL wire protocol (127.0.0.1)',
    load: () => import('./commands/hana-sim.js'),
  },
  status: {
    summary: 'show a HanaSystemReplication: sites, roles, sync, lag, conditions',
    load: () => import('./commands/status.js'),
  },
  takeover: {
    summary: 'planned takeover to a site, refused when it is not safe',
    load: () => import('./commands/takeover.js'),
  },
  maintenance: {
    summary: 'turn maintenance mode on or off (observe, never act)',
    load: () => import('./commands/maintenance.js'),
  },
  fence: {
    summary: 'ask the operator to fence (stop) a site, or --release its fence',
    load: () => import('./commands/fence.js'),
  },
  register: {
    summary: 'ask the operator to register a former primary as secondary',
    load: () => import('./commands/register.js'),
  },
  explain: {
    summary: 'what each agent decides right now and why; --what-if FAULT predicts a failure',
    load: () => import('./commands/explain.js'),
  },
  history: {
    summary: 'list the takeovers of a HanaSystemReplication, newest first',
    load: () => import('./commands/history.js'),
  },
  validate: {
    summary: 'check HanaSystemReplication manifests offline (field and line)',
    load: () => import('./commands/validate.js'),
  },
};
