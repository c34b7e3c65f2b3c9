#!/usr/bin/env node
/**
 * The `hanasr` command: one module per subcommand under ./commands, loaded on demand.
 * Each module exports `run(argv: string[]): Promise<number>` (the exit code) and `help: string`.
 */
const commands: Record<
  string,
  { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number>; help: string }> }
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
  backup: {
    summary: 'show the backups (newest, age, readable, runs), or --now to request one',
    load: () => import('./commands/backup.js'),
  },
  history: {
    summary: 'list the takeovers and backup runs of a HanaSystemReplication, newest first',
    load: () => import('./commands/history.js'),
  },
  validate: {
    summary: 'check HanaSystemReplication manifests offline (field and line)',
    load: () => import('./commands/validate.js'),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'Usage: hanasr <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    "Run `hanasr <command> --help` for a command's options.",
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  const entry = commands[name];
  if (!entry) {
    process.stderr.write(`hanasr: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  const mod = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(mod.help.trimEnd() + '\n');
    return 0;
  }
  return mod.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const debug = process.argv.includes('--debug');
    const message = err instanceof Error ? (debug ? (err.stack ?? err.message) : err.message) : String(err);
    process.stderr.write(`hanasr: ${message}\n`);
    process.exitCode = 1;
  },
);
