/**
 * HANA SQL credentials: from a file (`user=` / `password=` lines, owner-only permissions), a
 * Kubernetes Secret mounted as files (`<dir>/user`, `<dir>/password`), or the environment.
 * Never from the command line. The password never appears in an error message.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';

export interface HanaCredentials {
  readonly user: string;
  readonly password: string;
}

export type CredentialSource =
  /** A file with `user=NAME` and `password=SECRET` lines; must not be readable by group or others. */
  | { readonly kind: 'file'; readonly path: string }
  /** A mounted Secret: one file per key (`user` or `username`, `password`). */
  | { readonly kind: 'secret'; readonly dir: string }
  /** Environment variables (default HANASR_HANA_USER / HANASR_HANA_PASSWORD). */
  | { readonly kind: 'env'; readonly userVar?: string; readonly passwordVar?: string };

export class CredentialError extends Error {
  constructor(
    readonly code: 'CREDENTIALS_MISSING' | 'CREDENTIALS_PERMISSIONS' | 'CREDENTIALS_FORMAT',
    message: string,
  ) {
    super(message);
    this.name = 'CredentialError';
  }
}

async function readSecretFile(file: string, rejectMode: number, what: string): Promise<string> {
  let info;
  try {
    info = await stat(file);
  } catch {
    throw new CredentialError('CREDENTIALS_MISSING', `${what} not found: ${file}`);
  }
  if (!info.isFile()) throw new CredentialError('CREDENTIALS_FORMAT', `${what} is not a file: ${file}`);
  if ((info.mode & rejectMode) !== 0) {
    throw new CredentialError(
      'CREDENTIALS_PERMISSIONS',
      `${what} ${file} has mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}: it must not be accessible to ${rejectMode === 0o077 ? 'group or others (chmod 600)' : 'writers other than its owner'}`,
    );
  }
  return readFile(file, 'utf8');
}

function parseCredentialFile(text: string, file: string): HanaCredentials {
  const values = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    // Never echo the line: it may hold the password.
    if (eq <= 0)
      throw new CredentialError('CREDENTIALS_FORMAT', `${file}: expected key=value lines (user=, password=)`);
    values.set(line.slice(0, eq).trim().toLowerCase(), line.slice(eq + 1).trim());
  }
  const user = values.get('user') ?? values.get('username');
  const password = values.get('password');
  if (!user || !password)
    throw new CredentialError('CREDENTIALS_FORMAT', `${file}: needs both user= and password=`);
  return { user, password };
}

export async function loadCredentials(
  source: CredentialSource,
  env: NodeJS.ProcessEnv = process.env,
): Promise<HanaCredentials> {
  switch (source.kind) {
    case 'file':
      return parseCredentialFile(await readSecretFile(source.path, 0o077, 'credentials file'), source.path);
    case 'secret': {
      // Secret volumes are 0644 unless defaultMode says otherwise: refuse only foreign writers.
      const userFile = path.join(source.dir, 'user');
      let user: string;
      try {
        user = await readSecretFile(userFile, 0o022, 'secret key');
      } catch (err) {
        if (!(err instanceof CredentialError) || err.code !== 'CREDENTIALS_MISSING') throw err;
        user = await readSecretFile(path.join(source.dir, 'username'), 0o022, 'secret key');
      }
      const password = await readSecretFile(path.join(source.dir, 'password'), 0o022, 'secret key');
      const u = user.replace(/\r?\n$/, '');
      const p = password.replace(/\r?\n$/, '');
      if (!u || !p)
        throw new CredentialError(
          'CREDENTIALS_FORMAT',
          `secret ${source.dir}: user and password must not be empty`,
        );
      return { user: u, password: p };
    }
    case 'env': {
      const userVar = source.userVar ?? 'HANASR_HANA_USER';
      const passwordVar = source.passwordVar ?? 'HANASR_HANA_PASSWORD';
      const user = env[userVar];
      const password = env[passwordVar];
      if (!user || !password)
        throw new CredentialError('CREDENTIALS_MISSING', `set ${userVar} and ${passwordVar}`);
      return { user, password };
    }
  }
}

/** Replaces every occurrence of a secret in a text (driver messages can echo connect strings). */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length > 0) out = out.split(s).join('***');
  return out;
}
