/**
 * `hanasr agent`: the long-running agent next to one HANA site (sidecar or systemd service).
 */
import { AGENT_OPTIONS, AgentConfigError, configHelp, loadAgentConfig } from '../../agent/config.js';
import { fileOffsetClock } from '../../agent/clock-offset.js';
import { startAgentRuntime } from '../../agent/runtime.js';
import { realClock } from '../../clock.js';

/** Every option of the command (parser, --help and docs/cli.md). */
export const options = AGENT_OPTIONS;

export const help = `Usage: hanasr agent [options]

Runs the hanasr agent of one HANA site: probes the local HANA through hdbnsutil, sapcontrol,
HDBSettings.sh and SQL, looks at the peer sites directly, publishes its report under its etcd
lease, holds the leader key while its site is primary (fencing itself when it cannot renew it),
and takes over, registers or restarts as the decision rules say.

Every option can be given as a flag or as an environment variable (a flag wins). Passwords are
never taken from the command line: use a file, a mounted Secret or the environment.

Options (flag / environment variable):
${configHelp()}

The spec (HA settings) comes from --spec-file and, unless --spec-from-store false, from the copy
the operator publishes in the store, which wins when present and valid (re-read every
--spec-refresh-seconds). Without a spec file the agent waits until a spec is published.

Endpoints: GET /status (role, health summary, epoch, leader, fenced, last decision; no
credentials; needs the peer token: HMAC-signed for peer agents, or Authorization: Bearer),
/healthz (the loop ran within 3 probe intervals), /readyz (spec loaded and the store reached
recently), /metrics (Prometheus text: probe duration and failures, real lag per secondary, role,
landscape, lease renewals, fencing, takeovers, epoch), all on the status port; only /status is
authenticated. A peer whose /status answer is not signed with the shared token counts as unknown.
The status server binds 0.0.0.0 unless --status-host says otherwise, and logs the address bound.

For testing only: HANASR_CLOCK_OFFSET_FILE names a file holding an integer number of
milliseconds that this agent's wall clock runs off true time (re-read every 0.2 s, so writing
a new number is a clock jump; its monotonic clock and timers do not move). The chaos suite
(test/chaos) jumps agents' clocks with it. Never set it in production.

SIGTERM or SIGINT stops the loop, revokes the lease (a leader key held goes with it) and exits 0.

Exit codes: 0 stopped by a signal, 2 invalid configuration, 1 failed to start.
`;

export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let config;
  try {
    config = loadAgentConfig(argv, env);
  } catch (err) {
    if (err instanceof AgentConfigError) {
      process.stderr.write(
        `hanasr agent: ${err.problems.join('\n  ')}\n\nRun \`hanasr agent --help\` for the options.\n`,
      );
      return 2;
    }
    throw err;
  }
  const offsetFile = env.HANASR_CLOCK_OFFSET_FILE;
  const offset = offsetFile ? fileOffsetClock(realClock, offsetFile) : undefined;
  let runtime;
  try {
    runtime = await startAgentRuntime(config, { env, ...(offset ? { clock: offset.clock } : {}) });
  } catch (err) {
    offset?.stop();
    process.stderr.write(`hanasr agent: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  const rt = runtime;
  let onSignal: () => void = () => {};
  const signalled = new Promise<'signal'>((resolve) => {
    onSignal = () => resolve('signal');
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  // A failure to start (after the spec arrived) ends the process with 1; a signal with 0.
  const failed = rt.started.then(
    () => new Promise<never>(() => {}),
    (err: unknown) => err,
  );
  const outcome = await Promise.race([signalled, failed]);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  await rt.stop();
  offset?.stop();
  if (outcome === 'signal') return 0;
  process.stderr.write(
    `hanasr agent: failed to start: ${outcome instanceof Error ? outcome.message : String(outcome)}\n`,
  );
  return 1;
}
