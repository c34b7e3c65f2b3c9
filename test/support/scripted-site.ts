/**
 * A scripted HANA site for agent tests in virtual time: probes answer what `health` is (after
 * `probeMs` of virtual time), a takeover makes it a writable primary (or fails, while
 * `failTakeover`), a stop or kill stops it.
 * Tests that need more (a hanging start, a stubborn stop) extend it.
 *
 * A probe honours its abort signal as the command adapter does: it stops waiting at once and
 * answers `abortedAnswer` (the adapter answers a failed health, each of its aborted commands being
 * an error), or rejects with the signal's reason when that is 'reject'. `aborted` counts those,
 * `inFlight`/`maxInFlight` show whether two probes ever ran at once.
 */
import type { VirtualClock } from '../../src/clock.js';
import type { HanaHealth } from '../../src/domain/types.js';
import type { HanaPort } from '../../src/hana/port.js';
import { link, primaryHealth, stoppedPrimaryHealth } from './observations.js';

export class ScriptedSite implements HanaPort {
  probes = 0;
  readonly probedAt: number[] = [];
  /** When each aborted probe was aborted. */
  readonly abortedAt: number[] = [];
  abortedAnswer: HanaHealth | 'reject' = 'reject';
  inFlight = 0;
  maxInFlight = 0;
  /** Takeovers asked for; while `failTakeover`, each fails as a failed hdbnsutil would. */
  takeovers = 0;
  failTakeover = false;
  constructor(
    public health: HanaHealth,
    protected readonly clock: VirtualClock,
    public probeMs = 0,
  ) {}
  async probe(signal?: AbortSignal): Promise<HanaHealth> {
    this.probes++;
    this.probedAt.push(this.clock.now());
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.probeMs > 0) await this.clock.sleep(this.probeMs, signal);
    } catch (err) {
      this.abortedAt.push(this.clock.now());
      if (this.abortedAnswer === 'reject') throw err;
      return this.abortedAnswer;
    } finally {
      this.inFlight--;
    }
    return this.health;
  }
  async takeover(): Promise<void> {
    this.takeovers++;
    if (this.failTakeover) throw new Error('hdbnsutil -sr_takeover exited 1');
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

/** A primary whose start brings it back, writable, with B in sync (a restart after a hand-back). */
export class StartablePrimary extends ScriptedSite {
  starts = 0;
  override async start(): Promise<void> {
    this.starts++;
    this.health = primaryHealth([link('B')]);
  }
}
