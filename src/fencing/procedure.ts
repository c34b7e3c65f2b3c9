/**
 * A whole fence over any FenceAgent (real or simulated): `off` (or `on`), then `status` until the
 * agent reports the wanted power state, all within one deadline. Only a status answer of the
 * protocol confirms; an `off` that "succeeded" without a confirming status does not.
 *
 * Idempotent: the command is sent again when it failed or when status still shows the other
 * state (a second `off` of a node that is off does nothing), never more than once per poll.
 */
import type { Clock } from '../clock.js';
import type { FencingSpec } from '../api/spec.js';
import type { FenceAgent, FenceCallResult, FenceErrorCode, FenceOutcome } from './port.js';

export interface FenceProcedureOptions {
  readonly clock: Clock;
  /** The whole procedure must be confirmed within this (spec fencing.agent.timeoutSeconds). */
  readonly timeoutMs: number;
  /** One call's deadline (fencing.agent.callTimeoutSeconds); cut to what is left of the whole. */
  readonly callTimeoutMs: number;
  /** Pause between status polls (fencing.agent.statusIntervalSeconds). */
  readonly statusIntervalMs: number;
  /** Aborts the procedure (the agent stops, say); the outcome is then not confirmed. */
  readonly signal?: AbortSignal;
}

/** The procedure's timing from the spec's fence agent section. */
export function fenceTiming(
  agent: NonNullable<FencingSpec['agent']>,
): Pick<FenceProcedureOptions, 'timeoutMs' | 'callTimeoutMs' | 'statusIntervalMs'> {
  return {
    timeoutMs: agent.timeoutSeconds * 1000,
    callTimeoutMs: agent.callTimeoutSeconds * 1000,
    statusIntervalMs: agent.statusIntervalSeconds * 1000,
  };
}

/** Powers the node of `site` off and waits until the fence agent's status reports OFF. */
export function fenceOff(
  agent: FenceAgent,
  site: string,
  options: FenceProcedureOptions,
): Promise<FenceOutcome> {
  return drive(agent, site, 'off', options);
}

/** Powers the node of `site` on and waits until the fence agent's status reports ON. */
export function fenceOn(
  agent: FenceAgent,
  site: string,
  options: FenceProcedureOptions,
): Promise<FenceOutcome> {
  return drive(agent, site, 'on', options);
}

async function drive(
  agent: FenceAgent,
  site: string,
  want: 'off' | 'on',
  o: FenceProcedureOptions,
): Promise<FenceOutcome> {
  const { clock } = o;
  // startedAt/endedAt are wall times (they are published); the deadline runs on the monotonic
  // clock, so a wall-clock jump neither cuts the fence short nor stretches it.
  const startedAt = clock.now();
  const deadline = clock.monotonic() + o.timeoutMs;
  let calls = 0;
  let sendCommand = true;
  type Problem = { code: FenceErrorCode; message: string };
  /** The last off/on call's failure (cleared when one succeeds). */
  let commandError: Problem | undefined;
  /** The last status call's failure (cleared by any protocol answer). */
  let statusError: Problem | undefined;
  let aborted: Problem | undefined;
  let lastNote = `no answer from the fence agent within ${o.timeoutMs} ms`;

  const call = async (action: 'off' | 'on' | 'status'): Promise<FenceCallResult | null> => {
    const left = deadline - clock.monotonic();
    if (left <= 0) return null;
    if (o.signal?.aborted) {
      aborted = { code: 'ABORTED', message: `fencing ${site} aborted` };
      return null;
    }
    calls++;
    return agent.call(site, action, {
      timeoutMs: Math.min(o.callTimeoutMs, left),
      ...(o.signal ? { signal: o.signal } : {}),
    });
  };
  const end = (result: FenceOutcome['result'], message: string, code?: FenceErrorCode): FenceOutcome => ({
    site,
    action: want,
    result,
    startedAt,
    endedAt: clock.now(),
    calls,
    ...(code !== undefined ? { code } : {}),
    message,
  });

  for (;;) {
    if (sendCommand) {
      const r = await call(want);
      if (r === null) break;
      sendCommand = false;
      commandError = r.ok ? undefined : { code: r.code, message: r.message };
      if (!r.ok) sendCommand = true; // send it again after the next poll
    }
    const s = await call('status');
    if (s === null) break;
    if (s.ok && s.action === 'status') {
      if (s.power === want) {
        return end('confirmed', `${site}: power ${want.toUpperCase()} confirmed by the fence agent's status`);
      }
      lastNote = `${site}: the fence agent's status still reports ${s.power.toUpperCase()}`;
      statusError = undefined;
      sendCommand = true;
    } else if (!s.ok) {
      statusError = { code: s.code, message: s.message };
    }
    const pause = Math.min(o.statusIntervalMs, deadline - clock.monotonic());
    if (pause <= 0) break;
    try {
      await clock.sleep(pause, o.signal);
    } catch {
      aborted = { code: 'ABORTED', message: `fencing ${site} aborted` };
      break;
    }
  }
  const problem = aborted ?? commandError ?? statusError;
  if (problem !== undefined && problem.code !== 'TIMEOUT')
    return end('failed', problem.message, problem.code);
  return end(
    'timed-out',
    `${site}: power ${want.toUpperCase()} not confirmed within ${o.timeoutMs} ms (${problem?.message ?? lastNote})`,
    'TIMEOUT',
  );
}
