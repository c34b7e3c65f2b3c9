/**
 * The one way every `hanasr` command reads its command line: a table declares each option once
 * (flag, environment variable, value placeholder, help text), Node's `util.parseArgs` splits the
 * argv into tokens, and this module turns the tokens into values (a flag wins over its variable),
 * the `--help` option list and the Markdown table of docs/ (checked for drift by a test).
 * Validation of the values is the command's own (zod, or its own checks).
 */
import { parseArgs as tokenize } from 'node:util';

export interface OptionSpec {
  /** Default 'string'. A string option takes a value (`--x v`, `--x=v`, `-x v`, `-xv`). */
  readonly type?: 'string' | 'boolean';
  /** The flag without dashes; default: the table key in kebab case. */
  readonly flag?: string;
  /** One-letter alias, without the dash. */
  readonly short?: string;
  /** The environment variable that sets it when the flag is not given (empty counts as unset). */
  readonly env?: string;
  /** Only from the environment, never a flag (secrets). */
  readonly envOnly?: boolean;
  /** The flag may be given several times; the values are joined with commas. */
  readonly multiple?: boolean;
  /** The allowed values of a string option. */
  readonly choices?: readonly string[];
  /** The value's placeholder in --help and docs (default VALUE). */
  readonly value?: string;
  readonly help: string;
  /** Never taken from the command line: the flag is refused with this reason (its value never echoed). */
  readonly refused?: string;
}

/** Options by the name the command reads them under. */
export type OptionTable = Readonly<Record<string, OptionSpec>>;

/** Accepted by every command: `--debug` (stack traces) and `-h`/`--help` (main prints the help). */
export const COMMON_OPTIONS: { readonly debug: OptionSpec; readonly help: OptionSpec } = {
  debug: { type: 'boolean', help: 'print stack traces on errors' },
  help: { type: 'boolean', short: 'h', help: 'print this help' },
};

export type OptionValue = string | boolean | undefined;

export interface ParsedOptions {
  /** By table key; a string option given several times holds its last value (joined if multiple). */
  readonly values: Readonly<Record<string, OptionValue>>;
  readonly positionals: readonly string[];
  /** The argv positions (from 0) of the positionals, for messages that must not echo them. */
  readonly positionalIndexes: readonly number[];
  /** Usage problems, one line each, in argv order; never a value of a refused flag. */
  readonly problems: readonly string[];
}

export interface ParseOptionsConfig {
  /** Variables read for options with `env` (default: none). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** How an unknown option is named in a problem: "unknown flag --x" or "unknown option --x". */
  readonly noun?: 'flag' | 'option';
}

export function flagOf(key: string, spec: OptionSpec): string {
  return spec.flag ?? key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/**
 * Reads argv against the table (plus COMMON_OPTIONS): `--flag v`, `--flag=v`, `-x v`, `-xv`,
 * `--no-flag` for booleans, positionals (all after `--` too), then the environment for options
 * not given. Collects every problem instead of stopping at the first.
 */
export function parseOptions(
  argv: readonly string[],
  table: OptionTable,
  config: ParseOptionsConfig = {},
): ParsedOptions {
  const all: OptionTable = { ...COMMON_OPTIONS, ...table };
  const byFlag = new Map<string, string>();
  const nodeOptions: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [key, spec] of Object.entries(all)) {
    if (spec.envOnly === true) continue;
    const flag = flagOf(key, spec);
    byFlag.set(flag, key);
    nodeOptions[flag] = {
      type: spec.type ?? 'string',
      ...(spec.short !== undefined ? { short: spec.short } : {}),
    };
  }
  const { tokens } = tokenize({
    args: [...argv],
    options: nodeOptions,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const noun = config.noun ?? 'option';
  const given: Record<string, string[] | boolean> = {};
  const positionals: string[] = [];
  const positionalIndexes: number[] = [];
  const problems: string[] = [];
  let lastShortIndex = -1;
  for (const token of tokens) {
    if (token.kind === 'positional') {
      positionals.push(token.value);
      positionalIndexes.push(token.index);
      continue;
    }
    if (token.kind === 'option-terminator') continue;
    const raw = argv[token.index]!;
    const isShort = !raw.startsWith('--');
    // A group of short flags (-hx): the first one took the rest as its (refused) value before.
    if (isShort && token.index === lastShortIndex) continue;
    if (isShort) lastShortIndex = token.index;
    // parseArgs names a known short option by its long name.
    const key = byFlag.get(token.name);
    const spec = key !== undefined ? all[key] : undefined;
    const shown = isShort ? raw.replace(/=.*$/, '') : `--${token.name}`;
    if (key === undefined || spec === undefined) {
      const negated = token.name.startsWith('no-') ? byFlag.get(token.name.slice(3)) : undefined;
      if (!isShort && negated !== undefined && all[negated]?.type === 'boolean') {
        if (token.value !== undefined) problems.push(`--${token.name} takes no value`);
        else given[negated] = false;
        continue;
      }
      problems.push(`unknown ${noun} ${shown}`);
      continue;
    }
    const flag = `--${flagOf(key, spec)}`;
    if (spec.refused !== undefined) {
      problems.push(`${raw.replace(/=.*$/, '')}: ${spec.refused}`);
      continue;
    }
    if ((spec.type ?? 'string') === 'boolean') {
      const groupRest = isShort && raw.length > 2 && !raw.startsWith('-', 2);
      if (token.value !== undefined || groupRest) problems.push(`${flag} takes no value`);
      else given[key] = true;
      continue;
    }
    let value = token.value;
    if (value === undefined) {
      problems.push(`${flag} needs a value`);
      continue;
    }
    if (isShort && token.inlineValue === true) value = value.replace(/^=/, '');
    if (spec.choices !== undefined && !spec.choices.includes(value)) {
      problems.push(`${flag} must be one of ${spec.choices.join(', ')} (got "${value}")`);
      continue;
    }
    const list = given[key];
    given[key] = Array.isArray(list) ? [...list, value] : [value];
  }
  const values: Record<string, OptionValue> = {};
  for (const [key, spec] of Object.entries(all)) {
    const g = given[key];
    if (Array.isArray(g)) values[key] = spec.multiple === true ? g.join(',') : g[g.length - 1];
    else if (g !== undefined) values[key] = g;
    else if (spec.env !== undefined) {
      const v = config.env?.[spec.env];
      if (v !== undefined && v !== '') values[key] = v;
    }
  }
  return { values, positionals, positionalIndexes, problems };
}

export function stringOption(values: Readonly<Record<string, OptionValue>>, key: string): string | undefined {
  const v = values[key];
  return typeof v === 'string' ? v : undefined;
}

function left(key: string, spec: OptionSpec): string {
  if (spec.envOnly === true) return spec.env ?? key;
  const flag = `--${flagOf(key, spec)}`;
  const names = spec.short !== undefined ? `-${spec.short}, ${flag}` : flag;
  return (spec.type ?? 'string') === 'boolean' ? names : `${names} ${spec.value ?? 'VALUE'}`;
}

function helpOf(spec: OptionSpec): string {
  const env = spec.env !== undefined && spec.envOnly !== true ? ` [${spec.env}]` : '';
  const only = spec.envOnly === true ? ' (environment only)' : '';
  return `${spec.help}${spec.multiple === true ? ' (repeatable)' : ''}${only}${env}`;
}

/** Words of `text` in lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/**
 * The --help option list: `  --flag VALUE   help [ENV]`, wrapped at 100 columns; a long flag
 * gets its help on the next lines. Refused flags are not listed.
 */
export function optionsHelp(table: OptionTable): string {
  const rows = Object.entries(table).filter(([, s]) => s.refused === undefined);
  const column = 29;
  const out: string[] = [];
  for (const [key, spec] of rows) {
    const l = `  ${left(key, spec)}`;
    const text = wrap(helpOf(spec), 100 - column);
    if (l.length < column - 1) {
      out.push(`${l.padEnd(column)}${text[0] ?? ''}`);
      for (const t of text.slice(1)) out.push(`${' '.repeat(column)}${t}`);
    } else {
      out.push(l);
      for (const t of text) out.push(`${' '.repeat(column)}${t}`);
    }
  }
  return out.join('\n');
}

/** The Markdown table of docs/: flag, environment variable, meaning. */
export function optionsMarkdown(table: OptionTable): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const rows = Object.entries(table)
    .filter(([, s]) => s.refused === undefined)
    .map(([key, spec]) => {
      const flag = spec.envOnly === true ? '' : `\`${left(key, spec)}\``;
      const env = spec.env !== undefined ? `\`${spec.env}\`` : '';
      const help = `${spec.help}${spec.multiple === true ? ' (repeatable)' : ''}`;
      return `| ${cell(flag)} | ${env} | ${cell(help)} |`;
    });
  return ['| Flag | Environment variable | Meaning |', '| --- | --- | --- |', ...rows].join('\n');
}
