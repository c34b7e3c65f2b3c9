/** Shared helpers of the coordination tests (not a test file). */
import { EtcdCoordination } from '../../src/coordination/etcd.js';
import type { EtcdConfigInput } from '../../src/coordination/config.js';
import type { SiteReport } from '../../src/domain/types.js';
import { unknownHealth } from '../../src/domain/types.js';

let seq = 0;
/** A cluster name no other test in this process uses. */
export function uniqueCluster(tag: string): string {
  seq += 1;
  return `${tag}-${process.pid}-${seq}`;
}

export function coordination(
  endpoints: readonly string[],
  extra: Partial<EtcdConfigInput> = {},
): EtcdCoordination {
  return new EtcdCoordination({
    endpoints: [...endpoints],
    keyPrefix: '/hanasr-test',
    leaseTtlSeconds: 2,
    callTimeoutMs: 500,
    ...extra,
  });
}

export function report(site: string, epoch = 0): SiteReport {
  return {
    site,
    observedAt: Date.now(),
    health: unknownHealth('test'),
    failedProbes: 0,
    lastWritableAt: null,
    epoch,
    leader: false,
    fenced: false,
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `probe` every `everyMs` until it returns a value other than undefined, or throws. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 10_000,
  everyMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Runs fn and reports how it settled and how long it took (ms). */
export async function settleTimed<T>(
  fn: () => Promise<T>,
): Promise<{ ok: true; value: T; ms: number } | { ok: false; error: unknown; ms: number }> {
  const start = Date.now();
  try {
    const value = await fn();
    return { ok: true, value, ms: Date.now() - start };
  } catch (error) {
    return { ok: false, error, ms: Date.now() - start };
  }
}
