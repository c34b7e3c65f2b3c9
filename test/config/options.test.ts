/** The one command-line convention: a table of options read through util.parseArgs. */
import { describe, expect, it } from 'vitest';
import { optionsHelp, optionsMarkdown, parseOptions, type OptionTable } from '../../src/config/options.js';

const TABLE: OptionTable = {
  namespace: { short: 'n', value: 'NS', help: 'the namespace' },
  output: { short: 'o', choices: ['table', 'json'], help: 'the format' },
  force: { type: 'boolean', help: 'go ahead' },
  peerStatus: { env: 'X_PEER_STATUS', multiple: true, help: 'peer status URLs' },
  specFile: { env: 'X_SPEC_FILE', help: 'the spec' },
  token: { env: 'X_TOKEN', envOnly: true, help: 'a secret' },
  password: { help: '', refused: 'passwords are never taken from the command line' },
};

describe('parseOptions', () => {
  it('reads long, inline, short and negated forms, and positionals after --', () => {
    const p = parseOptions(
      ['NAME', '--namespace', 'a', '-ojson', '--no-force', '--spec-file=/f', '--', '--not-a-flag'],
      TABLE,
    );
    expect(p.values).toMatchObject({ namespace: 'a', output: 'json', force: false, specFile: '/f' });
    expect(p.positionals).toEqual(['NAME', '--not-a-flag']);
    expect(p.problems).toEqual([]);
    expect(parseOptions(['-n', 'b', '-o=table'], TABLE).values).toMatchObject({
      namespace: 'b',
      output: 'table',
    });
  });

  it('lets a flag win over its variable, joins repeated flags, ignores empty variables', () => {
    const env = { X_SPEC_FILE: '/env', X_PEER_STATUS: 'A=x', X_TOKEN: 'secret-token' };
    const p = parseOptions(['--spec-file', '/flag', '--peer-status', 'B=1', '--peer-status=C=2'], TABLE, {
      env,
    });
    expect(p.values).toMatchObject({ specFile: '/flag', peerStatus: 'B=1,C=2', token: 'secret-token' });
    expect(parseOptions([], TABLE, { env: { X_SPEC_FILE: '' } }).values.specFile).toBeUndefined();
  });

  it('collects every problem, naming flags the way the command asks, never a refused value', () => {
    const p = parseOptions(
      ['--bogus', 'x', '--force=yes', '-o', 'xml', '--password', 'Hidden-1', '--token', 't', '--namespace'],
      TABLE,
      { noun: 'flag' },
    );
    expect(p.problems).toEqual([
      'unknown flag --bogus',
      '--force takes no value',
      '--output must be one of table, json (got "xml")',
      '--password: passwords are never taken from the command line',
      'unknown flag --token',
      '--namespace needs a value',
    ]);
    expect(p.positionals).toEqual(['x', 't']);
    expect(p.problems.join()).not.toContain('Hidden-1');
    expect(parseOptions(['-z'], TABLE).problems).toEqual(['unknown option -z']);
  });

  it('renders --help and the docs table from the same rows', () => {
    const help = optionsHelp(TABLE);
    expect(help).toContain('  -n, --namespace NS');
    expect(help).toContain('peer status URLs (repeatable) [X_PEER_STATUS]');
    expect(help).toContain('  X_TOKEN');
    expect(help).not.toContain('--password');
    const md = optionsMarkdown(TABLE);
    expect(md).toContain('| `-o, --output VALUE` |  | the format |');
    expect(md).toContain('|  | `X_TOKEN` | a secret |');
  });
});
