/**
 * Authentication between peer agents with a shared token (the same file on every agent of a
 * cluster, e.g. a mounted Kubernetes Secret). The token never crosses the network on a peer
 * check: both directions are proven with HMAC-SHA256 over a fresh nonce.
 *
 * - Request: `Authorization: HanasrHmac nonce="<32+ hex>", mac="<hex>"` with
 *   mac = HMAC(token, "hanasr-peer-request\n" + METHOD + "\n" + PATH + "\n" + nonce).
 * - Response: `X-Hanasr-Mac: <hex>` = HMAC(token, "hanasr-peer-response\n" + nonce + "\n" +
 *   STATUS + "\n" + BODY). A peer answer without a valid proof is not the peer's agent speaking
 *   (a spoofed address, a stale proxy, another cluster's agent) and counts as unknown.
 *
 * For people and scrapers, `Authorization: Bearer <token>` is accepted too (send it over
 * loopback or TLS only). Every comparison runs in constant time.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const PEER_AUTH_SCHEME = 'HanasrHmac';
export const RESPONSE_MAC_HEADER = 'x-hanasr-mac';
/** The shortest peer token accepted (`openssl rand -hex 32` makes 64 characters). */
export const MIN_PEER_TOKEN_LENGTH = 16;

const hmac = (token: string, text: string): Buffer =>
  createHmac('sha256', token).update(text, 'utf8').digest();

/** Constant-time equality of two strings of any length (compared as HMACs under a fresh key). */
export function safeEqual(a: string, b: string): boolean {
  const key = randomBytes(32);
  const ha = createHmac('sha256', key).update(a, 'utf8').digest();
  const hb = createHmac('sha256', key).update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

export function newNonce(): string {
  return randomBytes(16).toString('hex');
}

export function requestMac(token: string, method: string, path: string, nonce: string): string {
  return hmac(token, `hanasr-peer-request\n${method}\n${path}\n${nonce}`).toString('hex');
}

export function responseMac(token: string, nonce: string, status: number, body: string): string {
  return hmac(token, `hanasr-peer-response\n${nonce}\n${status}\n${body}`).toString('hex');
}

/** The Authorization header a peer check sends. */
export function authorizationHeader(token: string, method: string, path: string, nonce: string): string {
  return `${PEER_AUTH_SCHEME} nonce="${nonce}", mac="${requestMac(token, method, path, nonce)}"`;
}

export type RequestAuth =
  | { readonly ok: true; readonly nonce?: string }
  | { readonly ok: false; readonly why: 'missing' | 'invalid' };

const HMAC_HEADER = /^HanasrHmac\s+nonce="([0-9a-f]{32,128})",\s*mac="([0-9a-f]{64})"$/;

/** Checks a request's Authorization header against the token (Bearer or HanasrHmac). */
export function checkRequest(
  token: string,
  header: string | undefined,
  method: string,
  path: string,
): RequestAuth {
  if (header === undefined || header === '') return { ok: false, why: 'missing' };
  if (header.startsWith('Bearer ')) {
    return safeEqual(header.slice('Bearer '.length).trim(), token)
      ? { ok: true }
      : { ok: false, why: 'invalid' };
  }
  const m = HMAC_HEADER.exec(header.trim());
  if (!m) return { ok: false, why: 'invalid' };
  const nonce = m[1]!;
  return safeEqual(m[2]!, requestMac(token, method, path, nonce))
    ? { ok: true, nonce }
    : { ok: false, why: 'invalid' };
}

/** True when `mac` proves that the holder of `token` sent this status and body for `nonce`. */
export function checkResponse(
  token: string,
  nonce: string,
  status: number,
  body: string,
  mac: string | null,
): boolean {
  if (mac === null || !/^[0-9a-f]{64}$/.test(mac)) return false;
  return safeEqual(mac, responseMac(token, nonce, status, body));
}
