import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CredentialError, loadCredentials, redact } from '../../../src/hana/sql/credentials.js';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'hanasr-cred-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SECRET = 'S3cret-Value!';

async function caught(p: Promise<unknown>): Promise<CredentialError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(CredentialError);
    return err as CredentialError;
  }
  throw new Error('expected a CredentialError');
}

describe('loadCredentials', () => {
  it('reads an owner-only file', async () => {
    const file = path.join(dir, 'hana.cred');
    await writeFile(file, `# HANA probe user\nuser=HANASR\npassword=${SECRET}\n`, { mode: 0o600 });
    expect(await loadCredentials({ kind: 'file', path: file })).toEqual({ user: 'HANASR', password: SECRET });
  });

  it('refuses a file readable by group or others, without echoing the password', async () => {
    const file = path.join(dir, 'hana.cred');
    await writeFile(file, `user=HANASR\npassword=${SECRET}\n`);
    await chmod(file, 0o644);
    const err = await caught(loadCredentials({ kind: 'file', path: file }));
    expect(err.code).toBe('CREDENTIALS_PERMISSIONS');
    expect(err.message).toContain('0644');
    expect(err.message).not.toContain(SECRET);
  });

  it('rejects a malformed file without echoing its lines', async () => {
    const file = path.join(dir, 'hana.cred');
    await writeFile(file, `HANASR ${SECRET}\n`, { mode: 0o600 });
    const err = await caught(loadCredentials({ kind: 'file', path: file }));
    expect(err.code).toBe('CREDENTIALS_FORMAT');
    expect(err.message).not.toContain(SECRET);
  });

  it('reads a mounted Kubernetes Secret (user or username key)', async () => {
    await writeFile(path.join(dir, 'username'), 'HANASR', { mode: 0o644 });
    await writeFile(path.join(dir, 'password'), `${SECRET}\n`, { mode: 0o400 });
    expect(await loadCredentials({ kind: 'secret', dir })).toEqual({ user: 'HANASR', password: SECRET });
  });

  it('refuses a Secret file writable by others', async () => {
    await writeFile(path.join(dir, 'user'), 'HANASR');
    await writeFile(path.join(dir, 'password'), SECRET);
    await chmod(path.join(dir, 'password'), 0o666);
    expect((await caught(loadCredentials({ kind: 'secret', dir }))).code).toBe('CREDENTIALS_PERMISSIONS');
  });

  it('reads the environment and says which variables are missing', async () => {
    expect(
      await loadCredentials({ kind: 'env' }, { HANASR_HANA_USER: 'U', HANASR_HANA_PASSWORD: SECRET }),
    ).toEqual({ user: 'U', password: SECRET });
    const err = await caught(loadCredentials({ kind: 'env' }, {}));
    expect(err.code).toBe('CREDENTIALS_MISSING');
    expect(err.message).toContain('HANASR_HANA_PASSWORD');
  });

  it('reports a missing file', async () => {
    expect((await caught(loadCredentials({ kind: 'file', path: path.join(dir, 'nope') }))).code).toBe(
      'CREDENTIALS_MISSING',
    );
  });
});

it('redact removes every occurrence of a secret', () => {
  expect(redact(`pwd=${SECRET};x=${SECRET}`, [SECRET])).toBe('pwd=***;x=***');
  expect(redact('nothing here', [''])).toBe('nothing here');
});
