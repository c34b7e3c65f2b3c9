/** docs/cli.md's option reference is the one the commands' option tables give (their --help reads them too). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NPM_TOOLS, optionReference, withReference } from '../../src/cli/docs.js';
import { COMMANDS } from '../../src/cli/registry.js';
import { flagOf } from '../../src/config/options.js';

describe('docs/cli.md option reference', () => {
  it('matches the option tables (run npm run gen:cli-docs after changing a table)', async () => {
    const markdown = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');
    const reference = await optionReference();
    expect(withReference(markdown, reference)).toBe(markdown);
  });

  it("every command's --help lists every flag and variable of its table", async () => {
    for (const [name, command] of Object.entries({ ...COMMANDS, ...NPM_TOOLS })) {
      const mod = await command.load();
      for (const [key, spec] of Object.entries(mod.options)) {
        if (spec.refused !== undefined) continue;
        if (spec.envOnly !== true)
          expect(mod.help, `${name} --${flagOf(key, spec)}`).toContain(`--${flagOf(key, spec)}`);
        if (spec.env !== undefined) expect(mod.help, `${name} ${spec.env}`).toContain(spec.env);
      }
    }
  });
});
