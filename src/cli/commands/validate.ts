/** `hanasr validate FILE...`: checks manifests offline with the operator's own schema. */
import { isMap, type LineCounter, type Document } from 'yaml';
import { API_VERSION, GROUP, KIND, objectMetaSchema, TOP_LEVEL_FIELDS } from '../../api/resource.js';
import { parseSpec, SpecValidationError, zodIssues } from '../../api/spec.js';
import { escapeControl, quote } from '../../quote.js';
import {
  documentToJs,
  errorLine,
  isEmptyDocument,
  MAX_YAML_CHARS,
  parseYamlDocuments,
  YamlInputError,
} from '../../yaml-input.js';
import { EXIT, parseArgs, runCommand, UsageError } from '../args.js';
import { readBounded } from '../read.js';
import type { OptionTable } from '../../config/options.js';

/** Every option of the command (none but --debug and --help). */
export const options: OptionTable = {};

export const help = `Usage: hanasr validate FILE... [options]

Checks HanaSystemReplication manifests offline, with the same schema the operator uses: the
YAML, apiVersion (${API_VERSION}) and kind (${KIND}), no other top-level field than
${TOP_LEVEL_FIELDS.join(', ')}, metadata.name and metadata.namespace (DNS labels), and the spec
with every cross-field rule (for example lease.ttlSeconds shorter than
replication.logShippingTimeoutSeconds, no replication source cycle). Files may hold several YAML
documents (---); documents of other API groups (a Namespace, a Secret) are skipped; a file
without any document (empty, only comments, only ---, only null) is an error, and so is one
larger than ${MAX_YAML_CHARS / 1024 / 1024} MiB, nested too deep or with aliases that expand too
much. Each problem is one line naming the file, the line and the field (values from the file
quoted, control characters escaped):

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

const NO_DOCUMENT =
  'no manifest: the file holds no YAML document (it is empty, or only comments, --- or null)';

/** A value from the file for a message: a string quoted, anything else as JSON, quoted. */
function shown(value: unknown): string {
  return typeof value === 'string' ? quote(value) : quote(JSON.stringify(value ?? null));
}

/** The line of a top-level key (the key itself, not its value, which may start a line later). */
function keyLine(doc: Document, lines: LineCounter, key: string): number | undefined {
  if (!isMap(doc.contents)) return undefined;
  for (const pair of doc.contents.items) {
    const k = pair.key as { value?: unknown; range?: [number, number, number] } | null;
    if (k && k.value === key && Array.isArray(k.range)) return lines.linePos(k.range[0]).line;
  }
  return undefined;
}

/** Validates every document of a YAML text; no I/O. Messages have their control characters escaped. */
export function validateText(text: string): DocumentResult[] {
  let docs: Document[];
  let lines: LineCounter;
  try {
    ({ docs, lines } = parseYamlDocuments(text));
  } catch (err) {
    if (!(err instanceof YamlInputError)) throw err;
    return [{ index: 1, name: undefined, findings: [{ line: err.line, path: '', message: err.message }] }];
  }
  const results: DocumentResult[] = [];
  let documents = 0;
  docs.forEach((doc, i) => {
    const index = i + 1;
    const at = (path: string, message: string): Finding => ({
      line: lineOfPath(doc, lines, path),
      path: escapeControl(path),
      message: escapeControl(message),
    });
    if (doc.errors.length > 0) {
      documents++;
      const findings = doc.errors.map((e) => ({
        line: errorLine(e, lines),
        path: '',
        message: escapeControl(`invalid YAML: ${e.message.split('\n')[0] ?? ''}`),
      }));
      results.push({ index, name: undefined, findings });
      return;
    }
    let value: unknown;
    try {
      value = documentToJs(doc);
    } catch (err) {
      if (!(err instanceof YamlInputError)) throw err;
      documents++;
      results.push({
        index,
        name: undefined,
        findings: [{ line: undefined, path: '', message: err.message }],
      });
      return;
    }
    if (isEmptyDocument(value)) return; // an empty document (a trailing ---); the file needs another
    documents++;
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
        skipped: escapeControl(
          `${typeof kind === 'string' ? kind : 'a document'} (${typeof apiVersion === 'string' ? apiVersion : 'no apiVersion'}) is not a ${KIND}`,
        ),
        findings: [],
      });
      return;
    }
    const findings: Finding[] = [];
    if (apiVersion !== API_VERSION) {
      findings.push(at('apiVersion', `must be ${API_VERSION} (got ${shown(apiVersion)})`));
    }
    if (kind !== KIND) findings.push(at('kind', `must be ${KIND} (got ${shown(kind)})`));
    for (const key of Object.keys(obj)) {
      if (!(TOP_LEVEL_FIELDS as readonly string[]).includes(key)) {
        findings.push({
          line: keyLine(doc, lines, key),
          path: escapeControl(key),
          message: `unknown field (a manifest has only ${TOP_LEVEL_FIELDS.join(', ')})`,
        });
      }
    }
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
  if (documents === 0)
    return [{ index: 1, name: undefined, findings: [{ line: undefined, path: '', message: NO_DOCUMENT }] }];
  return results;
}

export async function run(argv: string[]): Promise<number> {
  return runCommand('validate', argv, async () => {
    const args = parseArgs(argv, options);
    if (args.positionals.length === 0) throw new UsageError('missing FILE');
    let exit: number = EXIT.ok;
    for (const file of args.positionals) {
      const label = file === '-' ? '(stdin)' : escapeControl(file);
      let text: string | undefined;
      try {
        // At most one byte over the bound is read: a larger file is refused without reading it all.
        text = await readBounded(file === '-' ? process.stdin : file, MAX_YAML_CHARS);
      } catch (err) {
        process.stderr.write(
          `hanasr: validate: cannot read ${label}: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`,
        );
        exit = EXIT.usage;
        continue;
      }
      if (text === undefined) {
        process.stderr.write(`${label}: larger than ${MAX_YAML_CHARS / 1024 / 1024} MiB: not read\n`);
        if (exit === EXIT.ok) exit = EXIT.failed;
        continue;
      }
      const results = validateText(text);
      const multi = results.length > 1;
      for (const r of results) {
        const which = multi ? ` (document ${r.index})` : '';
        if (r.skipped !== undefined) {
          process.stdout.write(`${label}${which}: skipped: ${r.skipped}\n`);
        } else if (r.findings.length === 0) {
          process.stdout.write(`${label}${which}: ${KIND} ${escapeControl(r.name ?? '')} is valid\n`);
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
