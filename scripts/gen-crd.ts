/**
 * Writes the HanaSystemReplication CRD generated from the zod schemas into the Helm chart.
 * Run after changing src/api/spec.ts or src/api/resource.ts: `npx tsx scripts/gen-crd.ts`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CRD_FILE, renderCrdYaml } from '../src/api/crd.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const target = resolve(root, CRD_FILE);
mkdirSync(dirname(target), { recursive: true });
writeFileSync(target, renderCrdYaml());
console.log(`wrote ${CRD_FILE}`);
