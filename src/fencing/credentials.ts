/**
 * Fence agent credentials (login, password, access keys...): never in the manifest, only on the
 * agent's host, read at every call (a rotated Secret is picked up):
 *
 * - a file of `name=value` lines (owner-only permissions, like the SQL credentials file), or
 * - a mounted Kubernetes Secret: one file per key (the Secret's `..data` machinery is skipped).
 *
 * A name applies to every site; `SITE.name` applies to that site only and wins (sites with
 * different BMC passwords: `A.password=...`, `B.password=...`). Values never appear in errors.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  FENCE_PARAMETER_KEY_PATTERN,
  FENCE_PARAMETER_VALUE_PATTERN,
  SITE_NAME_PATTERN,
} from '../api/spec.js';

export type FenceCredentialSource =
  /** `name=value` lines; must not be accessible to group or others (chmod 600). */
  | { readonly kind: 'file'; readonly path: string }
  /** A mounted Secret: one file per key (`password`, `A.password`...). */
  | { readonly kind: 'secret'; readonly dir: string };

export class FenceCredentialError extends Error {
  readonly code = 'FENCE_CREDENTIALS' as const;
  constructor(message: string) {
    super(message);
    this.name = 'FenceCredentialError';
  }
}

/** Keys whose values are secrets: registered with the log redactor and bound in length. */
export const FENCE_SECRET_KEY_PATTERN = /pass|secret|token|credential|private|access_key|api_?key/;

async function readChecked(file: string, rejectMode: number, what: string): Promise<string> {
  let info;
  try {
    info = await stat(file);
  } catch {
    throw new FenceCredentialError(`${what} not found: ${file}`);
  }
  if (!info.isFile()) throw new FenceCredentialError(`${what} is not a file: ${file}`);
  if ((info.mode & rejectMode) !== 0) {
    throw new FenceCredentialError(
      `${what} ${file} has mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}: ` +
        (rejectMode === 0o077
          ? 'it must not be accessible to group or others (chmod 600)'
          : 'it must not be writable by others'),
    );
  }
  try {
    return await readFile(file, 'utf8');
  } catch {
    throw new FenceCredentialError(`${what} cannot be read: ${file}`);
  }
}

/** Splits `SITE.name` / `name`; undefined when the name is not a valid option name. */
function parseName(raw: string): { site?: string; key: string } | undefined {
  const dot = raw.indexOf('.');
  const site = dot > 0 ? raw.slice(0, dot) : undefined;
  const key = dot > 0 ? raw.slice(dot + 1) : raw;
  if (site !== undefined && !SITE_NAME_PATTERN.test(site)) return undefined;
  if (!FENCE_PARAMETER_KEY_PATTERN.test(key) || key === 'action') return undefined;
  return site !== undefined ? { site, key } : { key };
}

/** The credentials for fencing `site`: the common entries, overridden by the site's own. */
export async function loadFenceCredentials(
  source: FenceCredentialSource,
  site: string,
): Promise<Record<string, string>> {
  const entries: { name: string; value: string; where: string }[] = [];
  if (source.kind === 'file') {
    const text = await readChecked(source.path, 0o077, 'fence credentials file');
    text.split(/\r?\n/).forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const eq = line.indexOf('=');
      // Never echo the line: it may hold a password.
      if (eq <= 0) throw new FenceCredentialError(`${source.path}:${i + 1}: expected a name=value line`);
      entries.push({
        name: line.slice(0, eq).trim(),
        value: line.slice(eq + 1).trim(),
        where: `${source.path}:${i + 1}`,
      });
    });
  } else {
    let names: string[];
    try {
      names = await readdir(source.dir);
    } catch {
      throw new FenceCredentialError(`fence credentials Secret not found: ${source.dir}`);
    }
    for (const name of names.filter((n) => !n.startsWith('.')).sort()) {
      const value = await readChecked(path.join(source.dir, name), 0o022, 'fence credentials key');
      entries.push({ name, value: value.replace(/\r?\n$/, ''), where: path.join(source.dir, name) });
    }
  }
  const common: Record<string, string> = {};
  const own: Record<string, string> = {};
  for (const e of entries) {
    const parsed = parseName(e.name);
    if (parsed === undefined) {
      throw new FenceCredentialError(
        `${e.where}: "${e.name}" is not an option name (lower-case letters, digits, _ and -, optionally SITE. before it; never action)`,
      );
    }
    if (!FENCE_PARAMETER_VALUE_PATTERN.test(e.value)) {
      throw new FenceCredentialError(
        `${e.where}: the value of ${parsed.key} must be one line without control characters`,
      );
    }
    if (parsed.site === undefined) common[parsed.key] = e.value;
    else if (parsed.site === site) own[parsed.key] = e.value;
  }
  return { ...common, ...own };
}
