/**
 * Values read from outside (a manifest, a scenario, a tool's output) reach error messages, logs,
 * Kubernetes status and terminals. `quote` is how they get there: in double quotes, cut to a
 * readable length, and with every control character escaped, so a value cannot forge a line,
 * move the cursor, recolour a terminal or reorder the text around it.
 */

/**
 * The C0 controls (newline, escape ...), DEL, the C1 controls (U+0080-U+009F, CSI among them), the
 * Unicode line and paragraph separators, the bidirectional controls and the byte-order mark.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

const SHORT: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

const escape = (c: string) => SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** The text with its control characters written as escapes (\n, \t, \u001b ...); no quotes added. */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, escape);
}

/** Most characters of a value shown in a message. */
export const QUOTE_MAX = 120;

/**
 * `"value"` for a message: backslashes and quotes escaped as in JSON, control characters escaped,
 * and a longer value cut after `max` characters with its length said (`"aaaa…" (5000 characters)`).
 */
export function quote(value: unknown, max = QUOTE_MAX): string {
  const text = typeof value === 'string' ? value : String(value);
  const cut = text.length > max ? text.slice(0, max) : text;
  const body = escapeControl(cut.replace(/["\\]/g, '\\$&'));
  return text.length > max ? `"${body}…" (${text.length} characters)` : `"${body}"`;
}

/**
 * A HANA identifier for SQL text (a database name from the manifest): checked against a strict
 * pattern (letters, digits, underscore; a letter first; at most 64) and written in double quotes.
 * Anything else throws: a name never reaches SQL text unchecked.
 */
export function sqlIdentifier(name: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(name))
    throw new Error(`not a valid SQL identifier: ${quote(name)}`);
  return `"${name}"`;
}

/**
 * A SQL string literal for a path or prefix (a backup destination from the manifest): only
 * letters, digits and _ . / - (no quote, no control character, at most 512), in single quotes.
 */
export function sqlPathLiteral(value: string): string {
  if (!/^[A-Za-z0-9_./-]{1,512}$/.test(value)) throw new Error(`not a valid backup path: ${quote(value)}`);
  return `'${value}'`;
}
