/** Rewrites the option reference of docs/cli.md from the commands' option tables (src/cli/docs.ts). */
import { readFileSync, writeFileSync } from 'node:fs';
import { optionReference, withReference } from '../src/cli/docs.js';

const file = new URL('../docs/cli.md', import.meta.url);
writeFileSync(file, withReference(readFileSync(file, 'utf8'), await optionReference()));
