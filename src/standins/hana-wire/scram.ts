/**
 * Server side of HANA's SCRAM password methods (SCRAMSHA256 and SCRAMPBKDF2SHA256), after SAP's
 * protocol reference: the client sends a 64-byte challenge, the server answers with a salt and
 * a server key (and, for PBKDF2, an iteration count); the client proves it knows the password;
 * the server answers with its own proof.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export type ScramMethod = 'SCRAMSHA256' | 'SCRAMPBKDF2SHA256';
export const scramMethods: readonly ScramMethod[] = ['SCRAMPBKDF2SHA256', 'SCRAMSHA256'];

/** HANA's default iteration count for SCRAMPBKDF2SHA256 (password_hash_iterations). */
export const DEFAULT_PBKDF2_ITERATIONS = 15000;

const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();
const hmac = (key: Buffer, data: Buffer): Buffer => createHmac('sha256', key).update(data).digest();

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

export interface ScramChallenge {
  readonly method: ScramMethod;
  readonly salt: Buffer;
  readonly serverKey: Buffer;
  readonly iterations: number;
  readonly clientChallenge: Buffer;
}

export function newChallenge(
  method: ScramMethod,
  clientChallenge: Buffer,
  iterations = DEFAULT_PBKDF2_ITERATIONS,
): ScramChallenge {
  return { method, salt: randomBytes(16), serverKey: randomBytes(48), iterations, clientChallenge };
}

function saltedPassword(c: ScramChallenge, password: string): Buffer {
  const pw = Buffer.from(password, 'utf8');
  return c.method === 'SCRAMPBKDF2SHA256'
    ? pbkdf2Sync(pw, c.salt, c.iterations, 32, 'sha256')
    : hmac(pw, c.salt);
}

/** The client proof a client knowing `password` sends. */
export function expectedClientProof(c: ScramChallenge, password: string): Buffer {
  const key = sha256(saltedPassword(c, password));
  const signature = hmac(sha256(key), Buffer.concat([c.salt, c.serverKey, c.clientChallenge]));
  return xor(signature, key);
}

export function verifyClientProof(c: ScramChallenge, password: string, proof: Buffer): boolean {
  const expected = expectedClientProof(c, password);
  return proof.length === expected.length && timingSafeEqual(proof, expected);
}

/** The server proof: shows the client that the server knows the password too. */
export function serverProof(c: ScramChallenge, password: string): Buffer {
  const verifier = hmac(saltedPassword(c, password), c.salt);
  return hmac(verifier, Buffer.concat([c.clientChallenge, c.salt, c.serverKey]));
}
