/**
 * Error plumbing of the etcd adapter: every failure of a call becomes a
 * CoordinationUnavailableError (or passes through when it is already one of the port's errors),
 * and no message carries a credential.
 */
import { EtcdLeaseInvalidError, GRPCDeadlineExceededError, isRecoverableError, type IOptions } from 'etcd3';
import { TimeoutError, withTimeout, type Clock } from '../clock.js';
import { CoordinationUnavailableError, NotLeaderError, StaleEpochError } from './port.js';

/** Removes every secret from a message (a password can show up in an echoed request). */
export function scrub(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join('<redacted>');
  return out;
}

/** The lease named in a request is gone on the server (expired or revoked). */
export function isLeaseGone(err: unknown): boolean {
  return err instanceof EtcdLeaseInvalidError;
}

export function toCoordinationError(what: string, err: unknown, secrets: readonly string[]): Error {
  if (
    err instanceof StaleEpochError ||
    err instanceof NotLeaderError ||
    err instanceof CoordinationUnavailableError ||
    err instanceof RangeError
  ) {
    return err;
  }
  if (err instanceof TimeoutError) {
    return new CoordinationUnavailableError(`etcd ${what}: no answer within ${err.ms} ms`);
  }
  const name = err instanceof Error ? err.constructor.name || err.name : 'Error';
  const detail = err instanceof Error ? err.message : String(err);
  // The cause is kept out: it could hold request parameters. Name and message are enough.
  return new CoordinationUnavailableError(scrub(`etcd ${what} failed: ${name}: ${detail}`, secrets));
}

/**
 * Runs one call with the adapter's deadline on the injected clock and maps its errors. The gRPC
 * deadline set in defaultCallOptions is the same length, so the request is also cancelled on
 * the wire.
 */
export async function deadlineCall<T>(
  clock: Clock,
  ms: number,
  what: string,
  secrets: readonly string[],
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  try {
    return await withTimeout(clock, ms, `etcd ${what}`, fn);
  } catch (err) {
    throw toCoordinationError(what, err, secrets);
  }
}

type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

const noEvent = () => ({ dispose: () => undefined });

/**
 * etcd3's default policies retry three times and open a 5 s circuit breaker per host after three
 * failures; the breaker keeps answering "broken" for 5 s after quorum is back, longer than a short
 * lease. Ours: try each host at most once per call on a recoverable error other than a deadline
 * (the deadline already spent the call's budget), no breaker.
 */
export function tryEachHostOnce(hosts: number): Policy {
  const policy = {
    onSuccess: noEvent,
    onFailure: noEvent,
    async execute<T>(
      fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T,
      signal?: AbortSignal,
    ): Promise<T> {
      const context = { signal: signal ?? new AbortController().signal };
      let last: unknown;
      for (let attempt = 0; attempt < Math.max(1, hosts); attempt++) {
        try {
          return await fn(context);
        } catch (err) {
          last = err;
          if (!(err instanceof Error) || !isRecoverableError(err) || err instanceof GRPCDeadlineExceededError)
            throw err;
        }
      }
      throw last;
    },
  };
  return policy as unknown as Policy;
}

/** Host policy: pass through (no circuit breaker). */
export function passThrough(): Policy {
  const policy = {
    onSuccess: noEvent,
    onFailure: noEvent,
    // async: etcd3's markFailed() calls execute() with a function that throws synchronously.
    async execute<T>(
      fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T,
      signal?: AbortSignal,
    ): Promise<T> {
      return await fn({ signal: signal ?? new AbortController().signal });
    },
  };
  return policy as unknown as Policy;
}
