/**
 * The option reference of docs/cli.md, generated from the commands' option tables (the same
 * tables their parsers and --help read): `npm run gen:cli-docs` rewrites it, a test checks it.
 */
import { optionsMarkdown } from '../config/options.js';
import { COMMANDS, type CommandModule } from './registry.js';

/** Tools run through npm whose options come from a table too (their --help reads it as well). */
export const NPM_TOOLS: Readonly<
  Record<string, { readonly summary: string; load(): Promise<Pick<CommandModule, 'help' | 'options'>> }>
> = {
  'sim:fuzz': {
    summary: 'random fault schedules against random HA settings, every invariant checked, violations shrunk',
    load: () => import('../sim/fuzz/cli.js'),
  },
};

export const BEGIN = '<!-- BEGIN generated option reference (npm run gen:cli-docs) -->';
export const END = '<!-- END generated option reference -->';

/** One section per command: the flags, their environment variables and meanings. */
export async function optionReference(): Promise<string> {
  const sections: string[] = [];
  for (const [name, command] of Object.entries(COMMANDS)) {
    const mod = await command.load();
    const rows = Object.keys(mod.options).length > 0 ? optionsMarkdown(mod.options) : 'No options.';
    sections.push(`### \`hanasr ${name}\`\n\n${command.summary}.\n\n${rows}`);
  }
  for (const [name, tool] of Object.entries(NPM_TOOLS)) {
    const mod = await tool.load();
    sections.push(`### \`npm run ${name} --\`\n\n${tool.summary}.\n\n${optionsMarkdown(mod.options)}`);
  }
  const common =
    'Every command also takes `-h`, `--help` (print its help) and `--debug` (stack traces on errors).';
  return [BEGIN, '', common, '', sections.join('\n\n'), '', END].join('\n');
}

/** `markdown` with its generated reference replaced by `reference`; throws without the markers. */
export function withReference(markdown: string, reference: string): string {
  const a = markdown.indexOf(BEGIN);
  const b = markdown.indexOf(END);
  if (a < 0 || b < a) throw new Error('docs/cli.md has no generated option reference markers');
  return markdown.slice(0, a) + reference + markdown.slice(b + END.length);
}
