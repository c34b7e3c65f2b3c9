/**
 * Operator election: one active operator replica among N, through an etcd lease.
 *
 * Each candidate writes `<prefix>/election/<name>/<lease id>` (value: its identity) bound to its
 * own lease. The leader is the candidate whose key has the lowest creation revision, read with one
 * sorted range (`etcd3`'s Election.observe() can name the wrong leader when several candidate keys
 * arrive in one watch batch; a sorted read cannot). Once first, a key stays first until its lease
 * ends, so a leader only loses its place with its lease.
 *
 * A leader that cannot prove it is leader stops being one: `isLeader()` is true only while the
 * key was last seen first AND the lease was confirmed less than `ttl - callTimeout` ago, so it
 * turns false before etcd can expire the lease and let a standby in.
 */
import type { Clock } from '../clock.js';
import type { EtcdCoordination } from './etcd.js';
import type { EtcdLease } from './etcd-lease.js';
import { CoordinationUnavailableError } from './port.js';

export interface OperatorElectionOptions {
  /** This candidate's identity (pod name); shown as the leader's name. */
  readonly candidate: string;
  /** Election name (default "operator"). */
  readonly name?: string;
  /** Lease TTL (default: the adapter's leaseTtlSeconds). */
  readonly ttlSeconds?: number;
  /** How often the candidate reads the election (default TTL / 3). */
  readonly pollIntervalMs?: number;
  /** Called when this candidate starts or stops leading. */
  readonly onChange?: (leading: boolean) => void;
}

export interface ElectionLeader {
  readonly candidate: string;
  readonly key: string;
  readonly createRevision: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export class OperatorElection {
  private readonly clock: Clock;
  private readonly ttlSeconds: number;
  private readonly pollMs: number;
  private readonly validForMs: number;
  private readonly prefix: string;
  private lease: EtcdLease | null = null;
  private myKey: string | null = null;
  private first = false;
  private leading = false;
  private running = false;
  private cancelTimer: () => void = () => undefined;
  private cancelStepDown: () => void = () => undefined;
  private ticking: Promise<void> | null = null;

  constructor(
    private readonly etcd: EtcdCoordination,
    private readonly options: OperatorElectionOptions,
  ) {
    const name = options.name ?? 'operator';
    if (!NAME.test(name)) throw new RangeError(`election name must be 1-63 letters, digits, '.', '_' or '-'`);
    if (options.candidate.length === 0) throw new RangeError('candidate must not be empty');
    this.clock = etcd.clockSource;
    this.ttlSeconds = options.ttlSeconds ?? etcd.config.leaseTtlSeconds;
    this.pollMs = options.pollIntervalMs ?? Math.max(50, Math.floor((this.ttlSeconds * 1000) / 3));
    this.validForMs = this.ttlSeconds * 1000 - etcd.config.callTimeoutMs;
    if (this.validForMs <= 0) throw new RangeError('the lease TTL must be longer than the call timeout');
    this.prefix = `${etcd.config.keyPrefix}/election/${name}/`;
  }

  /**
   * Joins the election: grants a lease, writes the candidate key and starts watching (by polling).
   * Resolves once the candidate key exists; leadership is reported through onChange / isLeader().
   */
  async campaign(): Promise<void> {
    this.running = true;
    await this.join();
    this.schedule(0);
  }

  /** True only while this candidate leads and its lease is provably alive. */
  isLeader(): boolean {
    return this.running && this.first && this.leaseFresh();
  }

  /** The current leader as etcd orders the candidates (lowest creation revision), or null. */
  async leader(): Promise<ElectionLeader | null> {
    const res = await this.etcd.call('election leader', () =>
      this.etcd.client.kv.range({
        key: Buffer.from(this.prefix),
        range_end: rangeEnd(this.prefix),
        sort_order: 'Ascend',
        sort_target: 'Create',
        limit: 1,
      }),
    );
    const kv = res.kvs[0];
    if (!kv) return null;
    return {
      candidate: kv.value.toString('utf8'),
      key: kv.key.toString('utf8'),
      createRevision: kv.create_revision,
    };
  }

  /** Leaves the election: revokes the lease (the key goes at once) and stops polling. */
  async resign(): Promise<void> {
    this.running = false;
    this.cancelTimer();
    this.cancelStepDown();
    await this.ticking?.catch(() => undefined);
    const lease = this.lease;
    this.lease = null;
    this.myKey = null;
    this.first = false;
    this.report();
    if (lease) await lease.revoke();
  }

  /** Resolves when this candidate leads (or rejects when the signal aborts). */
  async waitForLeadership(signal?: AbortSignal): Promise<void> {
    while (!this.isLeader()) await this.clock.sleep(Math.min(this.pollMs, 50), signal);
  }

  private leaseFresh(): boolean {
    const at = this.lease?.state === 'alive' ? this.lease.lastRenewedAt() : null;
    return at !== null && this.clock.monotonic() - at < this.validForMs;
  }

  private async join(): Promise<void> {
    if (!this.lease || this.lease.state === 'lost' || this.lease.state === 'revoked') {
      this.lease?.abandon();
      this.lease = this.etcd.lease(this.ttlSeconds, { onLost: () => this.tickSoon() });
    }
    const id = await this.lease.grant();
    const key = `${this.prefix}${BigInt(id).toString(16)}`;
    await this.etcd.txn(
      'election campaign',
      [{ key: Buffer.from(key), target: 'Create', result: 'Equal', create_revision: 0 }],
      [{ request_put: { key: Buffer.from(key), value: Buffer.from(this.options.candidate), lease: id } }],
    );
    this.myKey = key;
  }

  private tickSoon(): void {
    if (this.running) this.schedule(0);
  }

  private schedule(delay: number): void {
    this.cancelTimer();
    this.cancelTimer = this.clock.setTimer(delay, () => {
      this.ticking = this.tick().finally(() => {
        this.ticking = null;
      });
    });
  }

  private async tick(): Promise<void> {
    if (!this.running) return;
    try {
      if (!this.lease || this.lease.state !== 'alive' || !this.myKey) {
        // The lease ended (partition longer than the TTL): join again at the back of the queue.
        this.first = false;
        this.report();
        await this.join();
      }
      const leader = await this.leader();
      this.first = leader !== null && leader.key === this.myKey;
    } catch (err) {
      // Unknown is never healthy, but a failed read does not move a key that was first: the
      // lease freshness check decides.
      if (!(err instanceof CoordinationUnavailableError)) this.first = false;
    }
    this.report();
    if (this.running) this.schedule(this.pollMs);
  }

  private report(): void {
    const now = this.isLeader();
    if (now !== this.leading) {
      this.leading = now;
      this.options.onChange?.(now);
    }
    // Step down exactly when the lease stops being provably alive, not at the next poll.
    this.cancelStepDown();
    const at = this.lease?.lastRenewedAt();
    if (now && at != null) {
      // At least a whole millisecond ahead, so that the re-check moves time even on a virtual clock.
      this.cancelStepDown = this.clock.setTimer(
        Math.max(1, Math.ceil(at + this.validForMs - this.clock.monotonic())),
        () => this.report(),
      );
    }
  }
}

function rangeEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  b[b.length - 1] = b[b.length - 1]! + 1;
  return b;
}
