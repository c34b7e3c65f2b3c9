/** Waiting in real time, for the rigs of tests and benches. */

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `probe` every `everyMs` until it gives a value; throws naming `what` after `timeoutMs`. */
export async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  everyMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** `until` with a rig's own defaults: how long to wait, and how often to look. */
export function poller(defaults: { readonly timeoutMs: number; readonly everyMs: number }) {
  return <T>(
    what: string,
    probe: () => T | undefined | Promise<T | undefined>,
    timeoutMs = defaults.timeoutMs,
    everyMs = defaults.everyMs,
  ): Promise<T> => until(what, probe, timeoutMs, everyMs);
}
