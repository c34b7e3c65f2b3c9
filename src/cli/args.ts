/**
 * The argv parser and error conventions shared by the DBA commands (status, takeover,
 * maintenance, fence, register, history, validate): flags, one-line errors, exit codes.
 */

/** The exit codes of every hanasr command (documented in docs/cli.md and each --help). */
export const EXIT = {
  ok: 0,
  /** The action failed, or the manifest is invalid. */
  failed: 1,
  /** Bad flags or arguments. */
  usage: 2,
  /** Refused as unsafe (not in sync, unknown site, already primary...). */
  refused: 3,
  /** The resource does not exist. */
  notFound: 4,
  /** Timed out, or the Kubernetes API cannot be reached. */
  unavailable: 5,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `Exit codes:
  0  ok
  1  failed (or, for validate, invalid)
  2  usage: unknown flag, missing or extra argument
  3  refused as unsafe (the message says why)
  4  not found
  5  timeout, or the Kubernetes API cannot be reached`;

/** An error that ends a command with a given exit code and one line on stderr. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(EXIT.usage, message);
    this.name = 'UsageError';
  }
}

export interface FlagSpec {
  readonly type: 'boolean' | 'string';
  /** One-letter alias, without the dash. */
  readonly short?: string;
  /** Allowed values of a string flag. */
  readonly choices?: readonly string[];
}

export interface ParsedArgs {
  readonly flags: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
}

/** Flags every command accepts. */
const COMMON: Record<string, FlagSpec> = {
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/**
 * Parses `--flag`, `--flag=value`, `--flag value`, `-x value`, `--no-flag` (booleans) and
 * positionals (everything after `--` is positional). Throws UsageError on an unknown flag or a
 * missing or disallowed value.
 */
export function parseArgs(argv: readonly string[], spec: Readonly<Record<string, FlagSpec>>): ParsedArgs {
  const all: Record<string, FlagSpec> = { ...COMMON, ...spec };
  const byShort = new Map<string, string>();
  for (const [name, f] of Object.entries(all)) if (f.short !== undefined) byShort.set(f.short, name);
  const flags: Record<string, string | boolean | undefined> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    } else if (arg.startsWith('-') && arg.length > 1) {
      const long = byShort.get(arg.slice(1, 2));
      if (long === undefined) throw new UsageError(`unknown flag ${arg}`);
      name = long;
      inline = arg.length > 2 ? arg.slice(2).replace(/^=/, '') : undefined;
    } else {
      positionals.push(arg);
      continue;
    }
    const f = all[name];
    if (f === undefined && name.startsWith('no-') && all[name.slice(3)]?.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      flags[name.slice(3)] = false;
      continue;
    }
    if (f === undefined) throw new UsageError(`unknown flag --${name}`);
    if (f.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      flags[name] = true;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`--${name} needs a value`);
      value = next;
      i++;
    }
    if (f.choices !== undefined && !f.choices.includes(value)) {
      throw new UsageError(`--${name} must be one of ${f.choices.join(', ')} (got "${value}")`);
    }
    flags[name] = value;
  }
  return { flags, positionals };
}

export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function boolFlag(args: ParsedArgs, name: string, fallback = false): boolean {
  const v = args.flags[name];
  return typeof v === 'boolean' ? v : fallback;
}

/** `300s`, `5m`, `1h`, `500ms` or a bare number of seconds, as milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (m === null) throw new UsageError(`${flag} must be a duration such as 30s, 5m or 500ms (got "${text}")`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const ms = unit === 'ms' ? n : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n * 3_600_000;
  if (ms <= 0) throw new UsageError(`${flag} must be positive`);
  return ms;
}

/** Exactly `count` positionals named by `names` (for the usage message). */
export function expectPositionals(args: ParsedArgs, names: readonly string[]): string[] {
  if (args.positionals.length < names.length) {
    throw new UsageError(`missing ${names.slice(args.positionals.length).join(' ')}`);
  }
  if (args.positionals.length > names.length) {
    throw new UsageError(`unexpected argument "${args.positionals[names.length]}"`);
  }
  return [...args.positionals];
}

/**
 * Runs a command body: a CliError becomes its exit code and one line on stderr (`hanasr: ...`),
 * a usage error adds a pointer to --help; a stack is printed only with --debug. Other errors
 * propagate to the dispatcher (exit 1).
 */
export async function runCommand(
  command: string,
  argv: readonly string[],
  body: () => Promise<number>,
): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    return await body();
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`hanasr: ${command}: ${err.message}\n`);
      if (err instanceof UsageError) process.stderr.write(`Run \`hanasr ${command} --help\` for usage.\n`);
      if (debug && err.stack !== undefined) process.stderr.write(err.stack + '\n');
      return err.exitCode;
    }
    throw err;
  }
}
