/** `hanasr validate FILE...`: checks manifests offline with the operator's own schema. */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import { API_VERSION, GROUP, KIND, objectMetaSchema } from '../../api/resource.js';
import { parseSpec, SpecValidationError, zodIssues } from '../../api/spec.js';
import { EXIT, parseArgs, runCommand, UsageError } from '../args.js';

export const help = `Usage: hanasr validate FILE... [options]

Checks HanaSystemReplication manifests offline, with the same schema the operator uses: the
YAML, apiVersion (${API_VERSION}) and kind (${KIND}), metadata.name, and the spec with
every cross-field rule (for example lease.ttlSeconds shorter than
replication.logShippingTimeoutSeconds). Files may hold several YAML documents (---); documents
of other API groups (a Namespace, a Secret) are skipped. Each problem is one line naming the
file, the line and the field:

  hsr.yaml:14: spec.lease.ttlSeconds: must be shorter than replication.logShippingTimeoutSeconds, ...

Reading FILE "-" reads stdin. No cluster is contacted.

Options:
  --debug     print stack traces on errors

Exit codes:
  0  every manifest is valid
  1  a manifest is invalid (each problem is printed on stderr)
  2  usage: no file given, a file cannot be read, unknown flag
`;

export interface Finding {
  readonly line: number | undefined;
  readonly path: string;
  readonly message: string;
}

export interface DocumentResult {
  /** 1-based position of the document in the file. */
  readonly index: number;
  readonly name: string | undefined;
  readonly skipped?: string;
  readonly findings: readonly Finding[];
}

function lineOfPath(doc: Document, lines: LineCounter, path: string): number | undefined {
  const keys: (string | number)[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g))
    keys.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  for (let n = keys.length; n >= 0; n--) {
    const node = (n === 0 ? doc.contents : doc.getIn(keys.slice(0, n), true)) as
      { range?: [number, number, number] } | null | undefined;
    if (node && typeof node === 'object' && Array.isArray(node.range))
      return lines.linePos(node.range[0]).line;
  }
  return undefined;
}

/** Validates every document of a YAML text; no I/O. */
export function validateText(text: string): DocumentResult[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false });
  if (!Array.isArray(docs)) {
    // An empty stream parses to an EmptyStream.
    return [
      { index: 1, name: undefined, findings: [{ line: undefined, path: '', message: 'no YAML document' }] },
    ];
  }
  const results: DocumentResult[] = [];
  docs.forEach((doc, i) => {
    const index = i + 1;
    const at = (path: string, message: string): Finding => ({
      line: lineOfPath(doc, lines, path),
      path,
      message,
    });
    if (doc.errors.length > 0) {
      const findings = doc.errors.map((e) => ({
        line: e.linePos?.[0]?.line ?? lines.linePos(e.pos[0]).line,
        path: '',
        message: `invalid YAML: ${e.message.split('\n')[0] ?? ''}`,
      }));
      results.push({ index, name: undefined, findings });
      return;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return; // an empty document (a trailing ---)
    if (typeof value !== 'object' || Array.isArray(value)) {
      results.push({ index, name: undefined, findings: [at('', 'a manifest must be a mapping')] });
      return;
    }
    const obj = value as Record<string, unknown>;
    const apiVersion = obj['apiVersion'];
    const kind = obj['kind'];
    const ours = kind === KIND || (typeof apiVersion === 'string' && apiVersion.startsWith(`${GROUP}/`));
    if (!ours) {
      results.push({
        index,
        name: undefined,
        skipped: `${typeof kind === 'string' ? kind : 'a document'} (${typeof apiVersion === 'string' ? apiVersion : 'no apiVersion'}) is not a ${KIND}`,
        findings: [],
      });
      return;
    }
    const findings: Finding[] = [];
    if (apiVersion !== API_VERSION) {
      findings.push(at('apiVersion', `must be ${API_VERSION} (got ${JSON.stringify(apiVersion ?? null)})`));
    }
    if (kind !== KIND) findings.push(at('kind', `must be ${KIND} (got ${JSON.stringify(kind ?? null)})`));
    const meta = objectMetaSchema.safeParse(obj['metadata']);
    if (!meta.success) {
      for (const issue of zodIssues(meta.error, 'metadata')) findings.push(at(issue.path, issue.message));
    }
    try {
      parseSpec(obj['spec'], 'spec');
    } catch (err) {
      if (!(err instanceof SpecValidationError)) throw err;
      for (const issue of err.issues) findings.push(at(issue.path, issue.message));
    }
    const name = meta.success ? meta.data.name : undefined;
    results.push({ index, name, findings });
  });
  return results;
}

async function readSource(file: string): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function run(argv: string[]): Promise<number> {
  return runCommand('validate', argv, async () => {
    const args = parseArgs(argv, {});
    if (args.positionals.length === 0) throw new UsageError('missing FILE');
    let exit: number = EXIT.ok;
    for (const file of args.positionals) {
      let text: string;
      try {
        text = await readSource(file);
      } catch (err) {
        process.stderr.write(
          `hanasr: validate: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`,
        );
        exit = EXIT.usage;
        continue;
      }
      const label = file === '-' ? '(stdin)' : file;
      const results = validateText(text);
      const multi = results.length > 1;
      for (const r of results) {
        const which = multi ? ` (document ${r.index})` : '';
        if (r.skipped !== undefined) {
          process.stdout.write(`${label}${which}: skipped: ${r.skipped}\n`);
        } else if (r.findings.length === 0) {
          process.stdout.write(`${label}${which}: ${KIND} ${r.name ?? ''} is valid\n`);
        } else {
          for (const f of r.findings) {
            process.stderr.write(
              `${label}${f.line !== undefined ? `:${f.line}` : ''}: ${f.path === '' ? '' : `${f.path}: `}${f.message}\n`,
            );
          }
          if (exit === EXIT.ok) exit = EXIT.failed;
        }
      }
    }
    return exit;
  });
}
