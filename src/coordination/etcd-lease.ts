/**
 * One etcd lease, kept alive by our own loop on the injected clock (etcd3's Lease runs on real
 * timers, keeps renewing after Etcd3.close() and declares a lease lost on its own after 2 x TTL,
 * even though etcd cannot expire a lease while it has no raft leader).
 *
 * Every keepalive is a short stream with a deadline: open, send the ID, wait for one answer, end.
 * `lastRenewedAt()` is the monotonic clock reading at which the last confirmed keepalive was
 * *sent*: the server restarted the TTL after that instant, so the lease lives at least until
 * lastRenewedAt + TTL. A self-fencing agent can rely on that bound, and no wall-clock jump moves it.
 */
import { castGrpcError, type Etcd3 } from 'etcd3';
import type { Clock } from '../clock.js';
import { deadlineCall, isLeaseGone } from './etcd-errors.js';
import { CoordinationUnavailableError } from './port.js';

export type LeaseState = 'new' | 'alive' | 'lost' | 'revoked';

export interface EtcdLeaseOptions {
  readonly client: Etcd3;
  readonly clock: Clock;
  readonly ttlSeconds: number;
  readonly callTimeoutMs: number;
  /** Hosts in the pool: a keepalive tries up to that many (a dead member fails fast). */
  readonly hosts: number;
  readonly secrets: readonly string[];
  /** Called once when etcd says the lease is gone (expired or revoked by someone else). */
  readonly onLost?: (reason: string) => void;
  /** Called after every confirmed keepalive with lastRenewedAt. */
  readonly onRenewed?: (at: number) => void;
}

export class EtcdLease {
  private leaseId: string | null = null;
  private current: LeaseState = 'new';
  private renewedAt: number | null = null;
  private cancelTimer: () => void = () => undefined;
  private granting: Promise<string> | null = null;

  constructor(private readonly o: EtcdLeaseOptions) {
    if (!Number.isInteger(o.ttlSeconds) || o.ttlSeconds < 1) {
      throw new RangeError(`lease TTL must be a whole number of seconds >= 1, got ${o.ttlSeconds}`);
    }
  }

  get state(): LeaseState {
    return this.current;
  }

  /** The lease ID (decimal string), once granted. */
  get id(): string | null {
    return this.leaseId;
  }

  lastRenewedAt(): number | null {
    return this.renewedAt;
  }

  /** Grants the lease (once) and starts the keepalive loop. */
  grant(): Promise<string> {
    if (this.leaseId !== null && this.current === 'alive') return Promise.resolve(this.leaseId);
    if (this.current === 'lost' || this.current === 'revoked') {
      return Promise.reject(new CoordinationUnavailableError(`etcd lease is ${this.current}`));
    }
    this.granting ??= this.doGrant().finally(() => {
      this.granting = null;
    });
    return this.granting;
  }

  private async doGrant(): Promise<string> {
    const sentAt = this.o.clock.monotonic();
    const res = await deadlineCall(this.o.clock, this.o.callTimeoutMs, 'lease grant', this.o.secrets, () =>
      this.o.client.leaseClient.leaseGrant({ TTL: this.o.ttlSeconds, ID: 0 }),
    );
    if (res.error) throw new CoordinationUnavailableError(`etcd lease grant refused: ${res.error}`);
    if (this.current !== 'new') {
      // Revoked while the grant was in flight: give the fresh lease back right away.
      void this.o.client.leaseClient.leaseRevoke({ ID: res.ID }).catch(() => undefined);
      throw new CoordinationUnavailableError(`etcd lease is ${this.current}`);
    }
    this.leaseId = res.ID;
    this.current = 'alive';
    this.renewedAt = sentAt;
    this.schedule(this.interval());
    return res.ID;
  }

  /** Renews once now. Rejects with CoordinationUnavailableError when not confirmed in time. */
  async renew(): Promise<void> {
    const id = this.leaseId;
    if (id === null || this.current !== 'alive') {
      throw new CoordinationUnavailableError(
        `etcd lease is ${this.current === 'new' ? 'not granted yet' : this.current}`,
      );
    }
    const sentAt = this.o.clock.monotonic();
    const ttl = await deadlineCall(
      this.o.clock,
      this.o.callTimeoutMs,
      'lease keepalive',
      this.o.secrets,
      (signal) => this.keepaliveOnce(id, signal),
    );
    if (ttl <= 0) {
      this.markLost('etcd reports the lease expired');
      throw new CoordinationUnavailableError('etcd lease expired');
    }
    if (this.current !== 'alive') return;
    if (this.renewedAt === null || sentAt > this.renewedAt) this.renewedAt = sentAt;
    this.o.onRenewed?.(this.renewedAt);
  }

  /** Stops the keepalive loop and revokes the lease on the server (its keys go at once). */
  async revoke(): Promise<void> {
    const id = this.leaseId;
    const wasAlive = this.current === 'alive';
    this.current = 'revoked';
    this.cancelTimer();
    if (id === null || !wasAlive) return;
    try {
      await deadlineCall(this.o.clock, this.o.callTimeoutMs, 'lease revoke', this.o.secrets, () =>
        this.o.client.leaseClient.leaseRevoke({ ID: id }),
      );
    } catch (err) {
      if (err instanceof CoordinationUnavailableError && /lease not found/.test(err.message)) return;
      throw err;
    }
  }

  /** Stops the loop without revoking (the lease expires after its TTL). */
  abandon(): void {
    if (this.current === 'alive' || this.current === 'new') this.current = 'revoked';
    this.cancelTimer();
  }

  /** Marks the lease lost after a server said so (a put or txn naming it was refused). */
  markLost(reason: string): void {
    if (this.current !== 'alive') return;
    this.current = 'lost';
    this.cancelTimer();
    this.o.onLost?.(reason);
  }

  private interval(): number {
    // Three renewals per TTL, like etcd's Go client.
    return Math.max(100, Math.floor((this.o.ttlSeconds * 1000) / 3));
  }

  private schedule(delay: number): void {
    this.cancelTimer();
    this.cancelTimer = this.o.clock.setTimer(delay, () => void this.tick());
  }

  private async tick(): Promise<void> {
    if (this.current !== 'alive') return;
    const started = this.o.clock.monotonic();
    try {
      await this.renew();
    } catch {
      // A failed keepalive leaves lastRenewedAt where it was; the owner judges its age.
    }
    if (this.current !== 'alive') return;
    const elapsed = this.o.clock.monotonic() - started;
    // After a failure, try again soon rather than a full interval later.
    this.schedule(Math.max(0, this.interval() - elapsed));
  }

  /**
   * One keepalive round trip; returns the TTL etcd granted (0 = the lease is gone). Tries the
   * next host when one fails before the deadline (a stopped member refuses at once).
   */
  private async keepaliveOnce(id: string, signal: AbortSignal): Promise<number> {
    let last: unknown;
    for (let attempt = 0; attempt < Math.max(1, this.o.hosts); attempt++) {
      if (signal.aborted) break;
      try {
        return await this.keepaliveAttempt(id, signal);
      } catch (err) {
        last = err;
        if (isLeaseGone(err)) return 0;
      }
    }
    throw last ?? signal.reason;
  }

  private async keepaliveAttempt(id: string, signal: AbortSignal): Promise<number> {
    const stream = await this.o.client.leaseClient.leaseKeepAlive({
      deadline: Date.now() + this.o.callTimeoutMs,
    });
    return new Promise<number>((resolve, reject) => {
      let done = false;
      const finish = (fn: () => void) => {
        if (done) return;
        done = true;
        signal.removeEventListener('abort', onAbort);
        fn();
      };
      const onAbort = () =>
        finish(() => {
          stream.cancel();
          reject(signal.reason);
        });
      signal.addEventListener('abort', onAbort, { once: true });
      stream.on('data', (res) =>
        finish(() => {
          stream.end();
          resolve(Number(res.TTL));
        }),
      );
      stream.on('error', (err) => finish(() => reject(castGrpcError(err))));
      stream.on('end', () =>
        finish(() => reject(new CoordinationUnavailableError('keepalive stream ended'))),
      );
      stream.write({ ID: id });
    });
  }
}
