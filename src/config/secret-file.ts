/**
 * Secrets read from files (a mounted Secret, a file of mode 0600): the first line, refused when
 * the file is writable by others, empty or shorter than a minimum. Messages name the file and
 * never the secret.
 */
import { readFileSync, statSync } from 'node:fs';
import { MIN_SECRET_LENGTH } from '../observability/log.js';

export class SecretFileError extends Error {
  readonly code = 'SECRET_FILE_INVALID' as const;
  constructor(message: string) {
    super(message);
    this.name = 'SecretFileError';
  }
}

/** The first line of `file`; throws SecretFileError saying why it is refused. */
export function readSecretLine(file: string, minLength = MIN_SECRET_LENGTH): string {
  const cannotRead = (err: unknown) =>
    new SecretFileError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (err) {
    throw cannotRead(err);
  }
  if ((mode & 0o022) !== 0) throw new SecretFileError(`${file} is writable by group or others`);
  let line: string;
  try {
    line = readFileSync(file, 'utf8').split(/\r?\n/)[0] ?? '';
  } catch (err) {
    throw cannotRead(err);
  }
  if (line === '') throw new SecretFileError(`${file} is empty`);
  if (line.length < minLength)
    throw new SecretFileError(`the secret in ${file} is shorter than ${minLength} characters: refused`);
  return line;
}
