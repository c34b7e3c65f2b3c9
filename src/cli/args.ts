/**
 * The argv parser and error conventions shared by the DBA commands (status, takeover,
 * maintenance, fence, register, history, validate): flags, one-line errors, exit codes.
 */
import { parseOptions, type OptionSpec, type OptionTable, type OptionValue } from '../config/options.js';

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

/** A command's options: see ./options.ts (one table gives the parser, --help and docs). */
export type FlagSpec = OptionSpec;

export interface ParsedArgs {
  readonly flags: Readonly<Record<string, OptionValue>>;
  readonly positionals: readonly string[];
}

/**
 * Parses argv against the command's option table (see src/config/options.ts), then the
 * environment variables the table names; throws UsageError naming the first problem (an unknown
 * flag, a missing or disallowed value).
 */
export function parseArgs(
  argv: readonly string[],
  spec: OptionTable,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ParsedArgs {
  const parsed = parseOptions(argv, spec, { noun: 'flag', env });
  if (parsed.problems.length > 0) throw new UsageError(parsed.problems[0]!);
  return { flags: parsed.values, positionals: parsed.positionals };
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
