/**
 * A scripted HANA site for agent tests in virtual time: probes answer what `health` is (after
 * `probeMs` of virtual time), a takeover makes it a writable primary, a stop or kill stops it.
 * Tests that need more (a hanging start, a stubborn stop) extend it.
 */
import type { VirtualClock } from '../../src/clock.js';
import type { HanaHealth } from '../../src/domain/types.js';
import type { HanaPort } from '../../src/hana/port.js';
import { primaryHealth, stoppedPrimaryHealth } from './observations.js';

export class ScriptedSite implements HanaPort {
  probes = 0;
  readonly probedAt: number[] = [];
  constructor(
    public health: HanaHealth,
    protected readonly clock: VirtualClock,
    public probeMs = 0,
  ) {}
  async probe(): Promise<HanaHealth> {
    this.probes++;
    this.probedAt.push(this.clock.now());
    if (this.probeMs > 0) await this.clock.sleep(this.probeMs);
    return this.health;
  }
  async takeover(): Promise<void> {
    this.health = primaryHealth([]);
  }
  async register(): Promise<void> {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {
    this.health =
      this.health.srRole === 'primary' ? stoppedPrimaryHealth() : { ...this.health, running: false };
  }
  async kill(): Promise<void> {
    await this.stop();
  }
}
