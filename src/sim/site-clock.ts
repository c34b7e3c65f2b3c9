/**
 * One clock per host in the simulator and the demo: an agent reads true time plus its site's
 * offset (skew-clock moves it), while its timers and its monotonic clock stay on the shared clock
 * (a real setTimeout and CLOCK_MONOTONIC are not moved by a wall-clock jump either). The lease's
 * "last renewed" time is a monotonic reading, so the agent's lease age is not moved either.
 */
import type { Clock } from '../clock.js';

export function siteClock(base: Clock, offsetMs: () => number): Clock {
  return {
    now: () => base.now() + offsetMs(),
    // skew-clock jumps the wall clock only: the host's monotonic clock does not move with it.
    monotonic: () => base.monotonic(),
    sleep: (ms, signal) => base.sleep(ms, signal),
    setTimer: (ms, fn, options) => base.setTimer(ms, fn, options),
    ...(base.abortController ? { abortController: () => base.abortController!() } : {}),
  };
}
