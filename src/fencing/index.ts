/**
 * The fencing adapters of one agent host, built from its configuration and the spec: the Linux
 * watchdog named by spec.fencing.watchdog.device and the fence agent named by
 * spec.fencing.agent.command (found in the host's fence agent directory, with the host's
 * credentials). See ./port.ts for the ports and src/domain/fencing.ts for the rules.
 */
import type { HanaSystemReplicationSpec } from '../api/spec.js';
import type { FenceCredentialSource } from './credentials.js';
import { CommandFenceAgent } from './fence-agent.js';
import type { FenceAgent, Watchdog } from './port.js';
import { DeviceWatchdog } from './watchdog-device.js';

export * from './port.js';
export { fenceOff, fenceOn, fenceTiming, type FenceProcedureOptions } from './procedure.js';
export { CommandFenceAgent, DEFAULT_FENCE_AGENT_DIR, fenceEnvironment } from './fence-agent.js';
export { DeviceWatchdog } from './watchdog-device.js';
export { loadFenceCredentials, FenceCredentialError, type FenceCredentialSource } from './credentials.js';

export interface FencingAdapters {
  /**
   * The watchdog for the spec's device now (one adapter per device path: a spec that names
   * another device gets another adapter; disarm the old one first). Undefined without a spec.
   */
  watchdog(): Watchdog | undefined;
  /** The fence agent; every call reads spec.fencing.agent (NOT_CONFIGURED when absent). */
  readonly fenceAgent: FenceAgent;
}

export interface FencingAdapterOptions {
  readonly spec: () => HanaSystemReplicationSpec | undefined;
  readonly agentDir: string;
  readonly credentials?: FenceCredentialSource;
  /** Registers a secret with the log redactor (and the status pages). */
  readonly addSecret?: (secret: string) => void;
}

export function createFencingAdapters(o: FencingAdapterOptions): FencingAdapters {
  const watchdogs = new Map<string, DeviceWatchdog>();
  return {
    watchdog: () => {
      const device = o.spec()?.fencing.watchdog.device;
      if (device === undefined) return undefined;
      let wd = watchdogs.get(device);
      if (wd === undefined) {
        wd = new DeviceWatchdog({ device });
        watchdogs.set(device, wd);
      }
      return wd;
    },
    fenceAgent: new CommandFenceAgent({
      spec: () => o.spec()?.fencing.agent,
      agentDir: o.agentDir,
      ...(o.credentials !== undefined ? { credentials: o.credentials } : {}),
      ...(o.addSecret !== undefined ? { addSecret: o.addSecret } : {}),
    }),
  };
}
