/**
 * A HanaPort for a simulated site that goes the way real HANA goes: the command adapter runs
 * hdbnsutil / sapcontrol / HDBSettings.sh, answered in-process by the simulator with the same
 * text, then parsed. Lag comes from the monitoring-view numbers the SQL probe would read.
 */
import type { HanaSystemReplicationSpec } from '../../api/spec.js';
import type { Clock } from '../../clock.js';
import { HanaCommandAdapter } from '../../hana/commands/adapter.js';
import type { HanaPort } from '../../hana/port.js';
import { SimCommandRunner } from './commands.js';
import type { SimSiteControl } from './snapshot.js';

export function simCommandPort(
  spec: HanaSystemReplicationSpec,
  site: string,
  control: SimSiteControl,
  clock: Clock,
): HanaPort {
  return new HanaCommandAdapter({
    sid: spec.sid,
    instanceNumber: spec.instanceNumber,
    siteName: site,
    commandTimeoutMs: spec.probes.timeoutSeconds * 1000,
    runner: new SimCommandRunner(control, clock),
    clock,
    lagSource: {
      replicationLag: async () => {
        const snap = control.snapshot();
        if (!snap.nodeUp || !snap.running) throw new Error('SQL connection refused');
        if (snap.sqlProbeBroken) throw new Error('SQL lag query failed (monitoring views unavailable)');
        // A hung instance accepts the connection and answers nothing: the caller's deadline ends it.
        if (snap.hung === true) return new Promise<never>(() => {});
        return new Map(
          snap.links.map((l) => [
            l.secondarySite,
            {
              lagSeconds: Math.max(0, (l.lastLogPositionTime - l.shippedLogPositionTime) / 1000),
              lagBytes: Math.max(0, (l.lastLogPosition - l.shippedLogPosition) * 64),
              // The simulator keeps one log stream per link: one volume.
              positions: [
                { volume: 'indexserver/1', last: l.lastLogPosition, shipped: l.shippedLogPosition },
              ],
            },
          ]),
        );
      },
    },
  });
}
