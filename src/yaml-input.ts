/**
 * YAML from users (manifests for `hanasr validate`, scenarios for `hanasr simulate` and `demo`),
 * read so that no file can exhaust the process: a size bound and a nesting bound checked before
 * the parser sees the text (the `yaml` package has no option for either; a 100 KB file of nested
 * brackets runs it out of memory), its own alias limit (`maxAliasCount`) against alias bombs,
 * and error lines from its LineCounter.
 */
import { LineCounter, parseAllDocuments, parseDocument, type Document, type YAMLError } from 'yaml';

/** Most characters of a YAML file read (a Kubernetes object is at most about 1.5 MiB in etcd). */
export const MAX_YAML_CHARS = 1024 * 1024;
/** Most nested flow collections (`[` and `{`) in a YAML file; real manifests use a handful. */
export const MAX_YAML_FLOW_DEPTH = 64;
/** yaml's maxAliasCount: how much aliases may expand when the document is turned into data. */
export const MAX_YAML_ALIASES = 100;

/** A YAML text refused before or while turning it into data; `line` when one line is at fault. */
export class YamlInputError extends Error {
  readonly code = 'YAML_INPUT' as const;
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(message);
    this.name = 'YamlInputError';
  }
}

/**
 * The checks made before parsing: at most MAX_YAML_CHARS characters and MAX_YAML_FLOW_DEPTH nested
 * flow collections. Brackets inside quoted strings count too (a cheap, linear over-estimate).
 */
export function checkYamlText(text: string): void {
  if (text.length > MAX_YAML_CHARS)
    throw new YamlInputError(`larger than ${MAX_YAML_CHARS / 1024 / 1024} MiB: not read`);
  let depth = 0;
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) line++;
    else if (c === 91 || c === 123) {
      if (++depth > MAX_YAML_FLOW_DEPTH)
        throw new YamlInputError(`more than ${MAX_YAML_FLOW_DEPTH} nested [ or { : not read`, line);
    } else if ((c === 93 || c === 125) && depth > 0) depth--;
  }
}

/** The line of a YAML syntax error (its position through the LineCounter). */
export function errorLine(error: YAMLError, lines: LineCounter): number {
  return error.linePos?.[0]?.line ?? lines.linePos(error.pos[0]).line;
}

/** Every document of a text, after checkYamlText. */
export function parseYamlDocuments(text: string): { docs: Document[]; lines: LineCounter } {
  checkYamlText(text);
  const lines = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false });
  // An empty stream (nothing but blanks or comments) parses to an EmptyStream: no document.
  return { docs: Array.isArray(parsed) ? parsed : [], lines };
}

/** The one document of a text, after checkYamlText. */
export function parseYamlDocument(text: string): { doc: Document; lines: LineCounter } {
  checkYamlText(text);
  const lines = new LineCounter();
  return { doc: parseDocument(text, { lineCounter: lines, prettyErrors: false }), lines };
}

/** The document as data, aliases expanded at most MAX_YAML_ALIASES times. */
export function documentToJs(doc: Document): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (err) {
    // yaml throws a ReferenceError ("Excessive alias count ...") past maxAliasCount.
    if (err instanceof ReferenceError)
      throw new YamlInputError(
        `aliases expand to more than ${MAX_YAML_ALIASES} nodes (an alias bomb?): not read`,
      );
    throw err;
  }
}

/** Whether a document holds nothing: no content, or `null` / `~` / an empty `---`. */
export function isEmptyDocument(value: unknown): boolean {
  return value === null || value === undefined;
}
