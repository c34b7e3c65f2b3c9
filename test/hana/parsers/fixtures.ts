import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../../fixtures/hana/', import.meta.url));

export function fixture(name: string): string {
  return readFileSync(dir + name, 'utf8');
}

/** The text cut after `fraction` of its lines (at least one line removed). */
export function truncate(text: string, keepLines: number): string {
  return text.split('\n').slice(0, keepLines).join('\n');
}
