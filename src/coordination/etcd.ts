// Why this file is long: the whole Coordination port on etcd (sessions, leases, leader key transactions, records, watches) with a deadline on every call.
/**
 * The coordination port on etcd (v3 API through the `etcd3` package).
 *
 * Key layout under `<prefix>/clusters/<cluster>/`:
 *   leader          JSON LeaderRecord, bound to the holder's lease, created only if absent
 *   epoch           the last epoch granted (decimal), written in the same txn as the leader key
 *   last-leader     site of the last term
 *   handover        successor named by a leader that stepped down
 *   reports/<site>  JSON SiteReport, bound to the member's lease
 *   sync/<site>     JSON SyncRecord (outlives leases)
 *   lpt/<site>      last-primary timestamp, ms (outlives leases)
 *   lpe/<site>      the epoch of that stamp (outlives leases; written in the same txn)
 *   intents/<id>    JSON Intent (outlives leases)
 *   spec            JSON spec published by the operator (outlives leases)
 *   backup          JSON BackupState written by the leader at its epoch (outlives leases)
 *
 * Writes that carry an epoch are transactions comparing the epoch key and, for the leader's own
 * writes, that the leader key is bound to the writer's lease. Every unary call has a deadline;
 * streams (keepalives) have their own per-round-trip deadline.
 */
import { readFileSync } from 'node:fs';
import {
  Etcd3,
  type ICompare,
  type IKeyValue,
  type IOptions,
  type IRequestOp,
  type ITxnResponse,
} from 'etcd3';
import { realClock, type Clock } from '../clock.js';
import { parseEtcdConfig, type EtcdConfig, type EtcdConfigInput } from './config.js';
import { deadlineCall, isLeaseGone, passThrough, tryEachHostOnce } from './etcd-errors.js';
import { EtcdLease } from './etcd-lease.js';
import {
  CoordinationUnavailableError,
  nextMaintenanceGeneration,
  NotLeaderError,
  StaleEpochError,
  type BackupState,
  type ClusterChange,
  type ClusterState,
  type Coordination,
  type CoordinationSession,
  type FenceRecord,
  type Intent,
  type LeaderRecord,
  type RegionRecord,
  type RegionStore,
  type SiteReport,
  type StoreWatch,
  type SyncRecord,
  type WatchHandlers,
} from './port.js';
import type { WatchBuilder, Watcher } from 'etcd3';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

function checkName(kind: string, value: string): void {
  if (!NAME.test(value)) {
    throw new RangeError(
      `${kind} name must be 1-253 letters, digits, '.', '_' or '-' (got ${JSON.stringify(value)})`,
    );
  }
}

const enc = (s: string): Buffer => Buffer.from(s, 'utf8');

/** The end of a prefix range: the prefix with its last byte incremented. */
function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix, 'utf8');
  const end = Buffer.from(b);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** Keys of one cluster. */
export class ClusterKeys {
  readonly root: string;
  constructor(prefix: string, cluster: string) {
    checkName('cluster', cluster);
    this.root = `${prefix}/clusters/${cluster}/`;
  }
  get leader(): string {
    return `${this.root}leader`;
  }
  get epoch(): string {
    return `${this.root}epoch`;
  }
  get lastLeader(): string {
    return `${this.root}last-leader`;
  }
  get handover(): string {
    return `${this.root}handover`;
  }
  report(site: string): string {
    return `${this.root}reports/${site}`;
  }
  sync(site: string): string {
    return `${this.root}sync/${site}`;
  }
  lpt(site: string): string {
    return `${this.root}lpt/${site}`;
  }
  lpe(site: string): string {
    return `${this.root}lpe/${site}`;
  }
  intent(id: string): string {
    return `${this.root}intents/${id}`;
  }
  get backup(): string {
    return `${this.root}backup`;
  }
  fence(site: string): string {
    return `${this.root}fences/${site}`;
  }
}

// --- request builders (raw etcd v3 API) -------------------------------------------------------

const put = (key: string, value: string, lease?: string): IRequestOp => ({
  request_put: { key: enc(key), value: enc(value), ...(lease !== undefined ? { lease } : {}) },
});
const del = (key: string): IRequestOp => ({ request_delete_range: { key: enc(key) } });
const get = (key: string): IRequestOp => ({ request_range: { key: enc(key) } });
const absent = (key: string): ICompare => ({
  key: enc(key),
  target: 'Create',
  result: 'Equal',
  create_revision: 0,
});
const valueIs = (key: string, value: string): ICompare => ({
  key: enc(key),
  target: 'Value',
  result: 'Equal',
  value: enc(value),
});
const leaseIs = (key: string, lease: string): ICompare => ({
  key: enc(key),
  target: 'Lease',
  result: 'Equal',
  lease,
});
/** The epoch key holds `epoch` (epoch 0 = the key was never written). */
const epochIs = (keys: ClusterKeys, epoch: number): ICompare =>
  epoch === 0 ? absent(keys.epoch) : valueIs(keys.epoch, String(epoch));

function firstKv(res: ITxnResponse, index: number): IKeyValue | undefined {
  return res.responses[index]?.response_range?.kvs[0];
}

function parseEpoch(kv: IKeyValue | undefined): number {
  if (!kv) return 0;
  const n = Number(kv.value.toString('utf8'));
  if (!Number.isSafeInteger(n) || n < 0) throw new CoordinationUnavailableError('etcd epoch key is corrupt');
  return n;
}

function parseLeader(kv: IKeyValue | undefined): LeaderRecord | null {
  if (!kv) return null;
  try {
    const v = JSON.parse(kv.value.toString('utf8')) as Partial<LeaderRecord>;
    if (typeof v.site === 'string' && typeof v.epoch === 'number' && typeof v.since === 'number') {
      return { site: v.site, epoch: v.epoch, since: v.since };
    }
  } catch {
    // fall through
  }
  // A leader key we cannot read is not "no leader": unknown is never healthy.
  throw new CoordinationUnavailableError('etcd leader key is corrupt');
}

function parseJson<T>(kv: IKeyValue): T | undefined {
  try {
    return JSON.parse(kv.value.toString('utf8')) as T;
  } catch {
    return undefined;
  }
}

function decodeState(keys: ClusterKeys, kvs: readonly IKeyValue[]): ClusterState {
  let leader: LeaderRecord | null = null;
  let lastEpoch = 0;
  let lastLeader: string | undefined;
  let handoverTo: string | undefined;
  const reports: Record<string, SiteReport> = {};
  const sync: Record<string, SyncRecord> = {};
  const lpt: Record<string, number> = {};
  const lpe: Record<string, number> = {};
  const intents: Intent[] = [];
  const fences: Record<string, FenceRecord> = {};
  let spec: unknown;
  let maintenanceGeneration: number | undefined;
  let region: RegionRecord | undefined;
  let regionSync: Record<string, SyncRecord> | undefined;
  let backup: BackupState | undefined;
  for (const kv of kvs) {
    const rel = kv.key.toString('utf8').slice(keys.root.length);
    const slash = rel.indexOf('/');
    const head = slash < 0 ? rel : rel.slice(0, slash);
    const name = slash < 0 ? '' : rel.slice(slash + 1);
    switch (head) {
      case 'leader':
        leader = parseLeader(kv);
        break;
      case 'epoch':
        lastEpoch = parseEpoch(kv);
        break;
      case 'last-leader':
        lastLeader = kv.value.toString('utf8');
        break;
      case 'handover':
        handoverTo = kv.value.toString('utf8');
        break;
      case 'reports': {
        // An unreadable report is the same as a silent member: it counts against the site.
        const r = parseJson<SiteReport>(kv);
        if (r && name) reports[name] = r;
        break;
      }
      case 'sync': {
        const s = parseJson<SyncRecord>(kv);
        if (s && name) sync[name] = s;
        break;
      }
      case 'lpt': {
        const n = Number(kv.value.toString('utf8'));
        if (name && Number.isFinite(n)) lpt[name] = n;
        break;
      }
      case 'lpe': {
        const n = Number(kv.value.toString('utf8'));
        if (name && Number.isSafeInteger(n) && n > 0) lpe[name] = n;
        break;
      }
      case 'intents': {
        const i = parseJson<Intent>(kv);
        if (i) intents.push(i);
        break;
      }
      case 'fences': {
        const f = parseJson<FenceRecord>(kv);
        if (f && name) fences[name] = f;
        break;
      }
      case 'spec':
        spec = parseJson<unknown>(kv);
        break;
      case 'maintenance-generation': {
        const n = Number(kv.value.toString('utf8'));
        if (Number.isSafeInteger(n) && n >= 0) maintenanceGeneration = n;
        break;
      }
      case 'region':
        region = parseJson<RegionRecord>(kv);
        break;
      case 'region-sync':
        regionSync = parseJson<Record<string, SyncRecord>>(kv);
        break;
      case 'backup':
        backup = parseJson<BackupState>(kv);
        break;
      default:
        break;
    }
  }
  return {
    leader,
    lastEpoch: Math.max(lastEpoch, leader?.epoch ?? 0),
    ...(lastLeader !== undefined ? { lastLeader } : {}),
    ...(handoverTo !== undefined ? { handoverTo } : {}),
    reports,
    sync,
    lpt,
    ...(Object.keys(lpe).length > 0 ? { lpe } : {}),
    intents,
    ...(Object.keys(fences).length > 0 ? { fences } : {}),
    ...(spec !== undefined ? { spec } : {}),
    ...(maintenanceGeneration !== undefined ? { maintenanceGeneration } : {}),
    ...(region !== undefined ? { region } : {}),
    ...(regionSync !== undefined ? { regionSync } : {}),
    ...(backup !== undefined && Array.isArray(backup.runs) ? { backup } : {}),
  };
}

// --- watches ----------------------------------------------------------------------------------

/**
 * Opens an etcd watch as the port's StoreWatch: `signal` aborts the attempt (and cancels a watcher
 * that connects after it), every event goes to `onEvent`, and the first disconnect, error or end
 * cancels the watcher and is reported once through `onBroken` (etcd3 would reconnect on its own
 * and silently; the caller reopens and says so instead).
 */
async function openWatch(
  builder: WatchBuilder,
  onEvent: (kv: IKeyValue, type: 'put' | 'delete') => void,
  onBroken: (err: Error) => void,
  signal: AbortSignal,
): Promise<StoreWatch> {
  if (signal.aborted) throw new CoordinationUnavailableError('watch aborted before it started');
  const watcher: Watcher = builder.watcher();
  let done = false;
  let connected = false;
  let fail: (err: Error) => void = () => undefined;
  const cancel = () => {
    done = true;
    watcher.removeAllListeners('put').removeAllListeners('delete');
    void watcher.cancel().catch(() => undefined);
  };
  const broken = (err: Error) => {
    if (done) return;
    cancel();
    if (connected) onBroken(err);
    else fail(err);
  };
  watcher
    .on('error', (err: Error) =>
      broken(new CoordinationUnavailableError(`etcd watch failed: ${err.message}`)),
    )
    .on('end', () => broken(new CoordinationUnavailableError('etcd watch ended')))
    .on('disconnected', (err: Error) =>
      broken(new CoordinationUnavailableError(`etcd watch lost: ${err.message}`)),
    )
    .on('put', (kv: IKeyValue) => {
      if (!done) onEvent(kv, 'put');
    })
    .on('delete', (kv: IKeyValue) => {
      if (!done) onEvent(kv, 'delete');
    });
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      cancel();
      reject(new CoordinationUnavailableError('etcd watch not established before its deadline'));
    };
    fail = (err) => {
      signal.removeEventListener('abort', onAbort);
      reject(err);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    watcher.once('connected', () => {
      signal.removeEventListener('abort', onAbort);
      connected = true;
      resolve();
    });
  });
  return { close: cancel };
}

// --- the adapter ------------------------------------------------------------------------------

export interface EtcdCoordinationOptions {
  readonly clock?: Clock;
}

/** Builds etcd3 client options from a validated config (reads the TLS files). */
export function etcdClientOptions(config: EtcdConfig): IOptions {
  const deadlineMs = config.callTimeoutMs;
  return {
    hosts: [...config.endpoints],
    dialTimeout: deadlineMs,
    ...(config.tls
      ? {
          credentials: {
            rootCertificate: readFileSync(config.tls.caFile),
            ...(config.tls.keyFile ? { privateKey: readFileSync(config.tls.keyFile) } : {}),
            ...(config.tls.certFile ? { certChain: readFileSync(config.tls.certFile) } : {}),
          },
        }
      : {}),
    ...(config.auth ? { auth: { username: config.auth.username, password: config.auth.password } } : {}),
    // A deadline on every unary call, never on streams (it would kill a watch or keepalive).
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + deadlineMs }),
    faultHandling: { host: () => passThrough(), global: tryEachHostOnce(config.endpoints.length) },
  };
}

export class EtcdCoordination implements Coordination, RegionStore {
  readonly config: EtcdConfig;
  readonly client: Etcd3;
  private readonly clock: Clock;
  private readonly secrets: string[];
  private readonly sessions = new Set<EtcdSession>();
  private closed = false;

  constructor(config: EtcdConfigInput | EtcdConfig, options: EtcdCoordinationOptions = {}) {
    this.config = parseEtcdConfig(config);
    this.clock = options.clock ?? realClock;
    this.secrets = this.config.auth ? [this.config.auth.password] : [];
    this.client = new Etcd3(etcdClientOptions(this.config));
  }

  /** Runs one etcd call with the deadline; errors become CoordinationUnavailableError. */
  call<T>(what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new CoordinationUnavailableError('etcd client is closed'));
    return deadlineCall(this.clock, this.config.callTimeoutMs, what, this.secrets, fn);
  }

  keys(cluster: string): ClusterKeys {
    return new ClusterKeys(this.config.keyPrefix, cluster);
  }

  /** A lease with the adapter's deadline and clock (the operator election uses it too). */
  lease(ttlSeconds: number, hooks: { onLost?: (reason: string) => void } = {}): EtcdLease {
    return new EtcdLease({
      client: this.client,
      clock: this.clock,
      ttlSeconds,
      callTimeoutMs: this.config.callTimeoutMs,
      hosts: this.config.endpoints.length,
      secrets: this.secrets,
      ...hooks,
    });
  }

  get clockSource(): Clock {
    return this.clock;
  }

  txn(
    what: string,
    compare: ICompare[],
    success: IRequestOp[],
    failure: IRequestOp[] = [],
  ): Promise<ITxnResponse> {
    return this.call(what, () => this.client.kv.txn({ compare, success, failure }));
  }

  session(cluster: string, site: string, ttlSeconds?: number): EtcdSession {
    checkName('site', site);
    const session = new EtcdSession(
      this,
      this.keys(cluster),
      site,
      ttlSeconds ?? this.config.leaseTtlSeconds,
    );
    this.sessions.add(session);
    return session;
  }

  /** @internal */
  forget(session: EtcdSession): void {
    this.sessions.delete(session);
  }

  async read(cluster: string): Promise<ClusterState> {
    return this.readKeys(this.keys(cluster));
  }

  async readKeys(keys: ClusterKeys): Promise<ClusterState> {
    const res = await this.call('read', () =>
      this.client.kv.range({ key: enc(keys.root), range_end: prefixEnd(keys.root) }),
    );
    return decodeState(keys, res.kvs);
  }

  async addIntent(cluster: string, intent: Intent): Promise<void> {
    const keys = this.keys(cluster);
    checkName('intent id', intent.id);
    const res = await this.txn(
      'add intent',
      [epochIs(keys, intent.epoch)],
      [put(keys.intent(intent.id), JSON.stringify(intent))],
      [get(keys.epoch)],
    );
    if (!res.succeeded) throw new StaleEpochError(intent.epoch, parseEpoch(firstKv(res, 0)));
  }

  async removeIntent(cluster: string, id: string): Promise<void> {
    const keys = this.keys(cluster);
    checkName('intent id', id);
    await this.call('remove intent', () => this.client.kv.deleteRange({ key: enc(keys.intent(id)) }));
  }

  async publishSpec(cluster: string, spec: unknown): Promise<void> {
    const keys = this.keys(cluster);
    const specKey = `${keys.root}spec`;
    const genKey = `${keys.root}maintenance-generation`;
    // The spec and its maintenance generation in one transaction, on the revision read: a
    // concurrent publisher (a second operator replica) makes it fail, and it is read again.
    for (let attempt = 0; ; attempt++) {
      // One transaction of two reads: the spec and the number as of one revision.
      const read = await this.txn('read spec', [], [get(specKey), get(genKey)], []);
      const kv = firstKv(read, 0);
      const genKv = firstKv(read, 1);
      const current = kv === undefined ? undefined : parseJson<unknown>(kv);
      const g = genKv === undefined ? undefined : Number(genKv.value.toString('utf8'));
      const next = nextMaintenanceGeneration(
        current,
        g !== undefined && Number.isSafeInteger(g) && g >= 0 ? g : undefined,
        spec,
      );
      const compare: ICompare[] = [
        kv === undefined
          ? absent(specKey)
          : { key: enc(specKey), target: 'Mod', result: 'Equal', mod_revision: kv.mod_revision },
        genKv === undefined
          ? absent(genKey)
          : { key: enc(genKey), target: 'Mod', result: 'Equal', mod_revision: genKv.mod_revision },
      ];
      const txn = await this.txn(
        'publish spec',
        compare,
        [put(specKey, JSON.stringify(spec)), put(genKey, String(next))],
        [],
      );
      if (txn.succeeded) return;
      if (attempt >= 4) throw new Error('publish spec: the published spec kept changing under this write');
    }
  }

  async writeRegion(
    cluster: string,
    record: RegionRecord,
    expectedGeneration: number | null,
  ): Promise<boolean> {
    const key = `${this.keys(cluster).root}region`;
    const res = await this.call('read region', () => this.client.kv.range({ key: enc(key) }));
    const kv = res.kvs[0];
    const current = kv === undefined ? undefined : parseJson<RegionRecord>(kv);
    if ((current?.generation ?? null) !== expectedGeneration) return false;
    // Compare-and-set on the revision read: a writer in between makes this one fail.
    const compare: ICompare =
      kv === undefined
        ? absent(key)
        : { key: enc(key), target: 'Mod', result: 'Equal', mod_revision: kv.mod_revision };
    const txn = await this.txn('write region', [compare], [put(key, JSON.stringify(record))], []);
    return txn.succeeded;
  }

  async mirrorRegionSync(cluster: string, records: Readonly<Record<string, SyncRecord>>): Promise<void> {
    const key = `${this.keys(cluster).root}region-sync`;
    await this.call('mirror region sync', () =>
      this.client.kv.put({ key: enc(key), value: enc(JSON.stringify(records)) }),
    );
  }

  async writeBackup(cluster: string, site: string, epoch: number, state: BackupState): Promise<void> {
    const keys = this.keys(cluster);
    const res = await this.call('read leader', () => this.client.kv.range({ key: enc(keys.leader) }));
    const kv = res.kvs[0];
    const leader = parseLeader(kv);
    if (kv === undefined || leader === null || leader.site !== site || leader.epoch !== epoch) {
      if (leader !== null && leader.epoch !== epoch) throw new StaleEpochError(epoch, leader.epoch);
      throw new NotLeaderError(`${site} does not hold the leader key at epoch ${epoch}`);
    }
    const txn = await this.txn(
      'write backup',
      [
        epochIs(keys, epoch),
        { key: enc(keys.leader), target: 'Mod', result: 'Equal', mod_revision: kv.mod_revision },
      ],
      [put(keys.backup, JSON.stringify(state))],
      [get(keys.epoch)],
    );
    if (!txn.succeeded) {
      const actual = parseEpoch(firstKv(txn, 0));
      if (actual !== epoch) throw new StaleEpochError(epoch, actual);
      throw new NotLeaderError(
        `${site} lost the leader key at epoch ${epoch} while writing the backup record`,
      );
    }
  }

  async deleteCluster(cluster: string): Promise<void> {
    const keys = this.keys(cluster);
    await this.call('delete cluster', () =>
      this.client.kv.deleteRange({ key: enc(keys.root), range_end: prefixEnd(keys.root) }),
    );
  }

  /** Watches the leader key and the reports of every cluster under the prefix (one stream). */
  async watchClusters(handlers: WatchHandlers<[ClusterChange]>, signal: AbortSignal): Promise<StoreWatch> {
    if (this.closed) throw new CoordinationUnavailableError('etcd client is closed');
    const root = `${this.config.keyPrefix}/clusters/`;
    return openWatch(
      this.client.watch().prefix(root),
      (kv, type) => {
        const rel = kv.key.toString('utf8').slice(root.length);
        const parts = rel.split('/');
        const [cluster, head, site] = parts;
        if (cluster === undefined || cluster === '') return;
        if (head === 'leader' && parts.length === 2) handlers.onChange({ cluster, what: 'leader' });
        else if (head === 'reports' && site !== undefined && parts.length === 3) {
          const report = type === 'put' ? parseJson<unknown>(kv) : undefined;
          handlers.onChange({ cluster, what: 'report', site, ...(report !== undefined ? { report } : {}) });
        }
      },
      (err) => handlers.onBroken(err),
      signal,
    );
  }

  /** Revokes every open session's lease, then closes the client. */
  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.allSettled([...this.sessions].map((s) => s.close()));
    this.closed = true;
    this.client.close();
  }
}

export class EtcdSession implements CoordinationSession {
  private lease: EtcdLease | null = null;
  /**
   * The lease this session last bound the leader key to (acquire or seize), until released. Once
   * another lease replaced it, its last renewal is lastRenewedAt() until a key is bound again.
   */
  private keyLease: EtcdLease | null = null;
  private closed = false;

  constructor(
    private readonly owner: EtcdCoordination,
    private readonly keys: ClusterKeys,
    readonly site: string,
    private readonly ttlSeconds: number,
  ) {}

  /** Watches this cluster's leader key (CoordinationSession.watchLeader). */
  async watchLeader(handlers: WatchHandlers, signal: AbortSignal): Promise<StoreWatch> {
    if (this.closed) throw new CoordinationUnavailableError('session is closed');
    return openWatch(
      this.owner.client.watch().key(this.keys.leader),
      () => handlers.onChange(),
      (err) => handlers.onBroken(err),
      signal,
    );
  }

  /**
   * Grants a lease when there is none alive (first call, or after etcd said the old one expired)
   * and starts its keepalive loop. A new lease does not bring back a lost leader key.
   */
  async start(): Promise<void> {
    await this.leaseId();
  }

  private async leaseId(): Promise<string> {
    return (await this.liveLease()).id;
  }

  /** The live lease and its id (granted now if there is none). */
  private async liveLease(): Promise<{ lease: EtcdLease; id: string }> {
    if (this.closed) throw new CoordinationUnavailableError('session is closed');
    if (!this.lease || this.lease.state === 'lost' || this.lease.state === 'revoked') {
      // The keepalive loop stops when etcd says the lease is gone; take a new one right away so
      // reports keep flowing, as the in-memory adapter does.
      this.lease = this.owner.lease(this.ttlSeconds, {
        onLost: () => void this.leaseId().catch(() => undefined),
      });
    }
    const lease = this.lease;
    return { lease, id: await lease.grant() };
  }

  /** Id of the current lease, if granted (for tests and diagnostics). */
  currentLeaseId(): string | null {
    return this.lease?.state === 'alive' ? this.lease.id : null;
  }

  /**
   * When etcd last confirmed the current lease (the send time of that keepalive or grant), or
   * null; but once the lease the leader key was bound to ran out and another replaced it, that
   * lease's last renewal, until the key is bound again (CoordinationSession.lastRenewedAt).
   */
  lastRenewedAt(): number | null {
    const key = this.keyLease;
    if (key !== null && key !== this.lease) return key.lastRenewedAt();
    return this.lease?.lastRenewedAt() ?? null;
  }

  /**
   * Renews once now. When etcd said the lease expired, grants a new one instead (nothing that was
   * bound to the old lease comes back: not the leader key, not the report).
   */
  async renew(): Promise<void> {
    if (!this.lease || this.lease.state !== 'alive') {
      await this.leaseId();
      return;
    }
    const lease = this.lease;
    try {
      await lease.renew();
    } catch (err) {
      if (lease.state !== 'alive') {
        await this.leaseId();
        return;
      }
      throw err;
    }
  }

  read(): Promise<ClusterState> {
    return this.owner.readKeys(this.keys);
  }

  async publishReport(report: SiteReport): Promise<void> {
    const lease = await this.leaseId();
    try {
      await this.owner.call('publish report', () =>
        this.owner.client.kv.put({
          key: enc(this.keys.report(this.site)),
          value: enc(JSON.stringify(report)),
          lease,
        }),
      );
    } catch (err) {
      this.noticeLeaseLoss(err);
      throw err;
    }
  }

  /**
   * Creates the leader key if it is absent, the epoch is the expected one and no handover names
   * another site (a leader that stepped down for a planned takeover reserved the next term).
   */
  async acquireLeader(
    expectedLastEpoch: number,
    now: number,
    supersede?: string,
  ): Promise<LeaderRecord | null> {
    if (supersede !== undefined) checkName('site', supersede);
    const live = await this.liveLease();
    const lease = live.id;
    const record: LeaderRecord = { site: this.site, epoch: expectedLastEpoch + 1, since: now };
    const won = (): LeaderRecord => {
      this.keyLease = live.lease; // its renewals are the key's from now on
      return record;
    };
    const k = this.keys;
    const guard = [absent(k.leader), epochIs(k, expectedLastEpoch)];
    const writes = [
      put(k.leader, JSON.stringify(record), lease),
      put(k.epoch, String(record.epoch)),
      put(k.lastLeader, this.site),
      del(k.handover),
    ];
    try {
      // Common case: no handover pending.
      let res = await this.owner.txn('acquire leader', [...guard, absent(k.handover)], writes, [
        get(k.leader),
        get(k.handover),
      ]);
      if (res.succeeded) return won();
      if (this.isMine(firstKv(res, 0), lease, record)) return won(); // a retry found its own success
      const named = firstKv(res, 1)?.value.toString('utf8');
      if (firstKv(res, 0) || named === undefined) return null;
      // The handover names this site, or the one that can no longer complete it (supersede).
      if (named !== this.site && named !== supersede) return null;
      res = await this.owner.txn('acquire leader', [...guard, valueIs(k.handover, named)], writes, [
        get(k.leader),
      ]);
      if (res.succeeded || this.isMine(firstKv(res, 0), lease, record)) return won();
      return null;
    } catch (err) {
      this.noticeLeaseLoss(err);
      throw err;
    }
  }

  async seizeLeader(fromSite: string, expectedEpoch: number, now: number): Promise<LeaderRecord | null> {
    checkName('site', fromSite);
    const live = await this.liveLease();
    const lease = live.id;
    const k = this.keys;
    const res = await this.owner.txn('seize leader', [epochIs(k, expectedEpoch)], [get(k.leader)]);
    const held = parseLeader(firstKv(res, 0));
    const kv = firstKv(res, 0);
    if (!res.succeeded || held === null || kv === undefined) return null;
    if (held.site !== fromSite || held.epoch !== expectedEpoch) return null;
    const record: LeaderRecord = { site: this.site, epoch: expectedEpoch + 1, since: now };
    try {
      // Compare-and-set on the exact key revision read: the fenced holder's key, at its epoch.
      const put2 = await this.owner.txn(
        'seize leader',
        [
          epochIs(k, expectedEpoch),
          { key: Buffer.from(k.leader), target: 'Mod', result: 'Equal', mod_revision: kv.mod_revision },
        ],
        [
          put(k.leader, JSON.stringify(record), lease),
          put(k.epoch, String(record.epoch)),
          put(k.lastLeader, this.site),
          del(k.handover),
        ],
        [get(k.leader)],
      );
      if (put2.succeeded || this.isMine(firstKv(put2, 0), lease, record)) {
        this.keyLease = live.lease;
        return record;
      }
      return null;
    } catch (err) {
      this.noticeLeaseLoss(err);
      throw err;
    }
  }

  async recordFence(record: FenceRecord): Promise<void> {
    checkName('site', record.site);
    const k = this.keys;
    const res = await this.owner.txn(
      'record fence',
      [epochIs(k, record.epoch)],
      [put(k.fence(record.site), JSON.stringify(record))],
      [get(k.epoch)],
    );
    if (!res.succeeded) throw new StaleEpochError(record.epoch, parseEpoch(firstKv(res, 0)));
  }

  private isMine(kv: IKeyValue | undefined, lease: string, record: LeaderRecord): boolean {
    if (!kv || kv.lease !== lease) return false;
    const held = parseLeader(kv);
    return held !== null && held.site === record.site && held.epoch === record.epoch;
  }

  async releaseLeader(epoch: number, handoverTo?: string): Promise<void> {
    if (handoverTo !== undefined) checkName('site', handoverTo);
    const lease = await this.requireLease(epoch);
    const k = this.keys;
    const res = await this.owner.txn(
      'release leader',
      [epochIs(k, epoch), leaseIs(k.leader, lease)],
      [del(k.leader), handoverTo !== undefined ? put(k.handover, handoverTo) : del(k.handover)],
      [get(k.epoch), get(k.leader)],
    );
    if (!res.succeeded) this.refuse(res, epoch, 'release the leader key');
    this.keyLease = null;
  }

  async writeSync(epoch: number, records: readonly SyncRecord[]): Promise<void> {
    for (const r of records) checkName('site', r.site);
    await this.leaderWrite(
      'write sync',
      epoch,
      records.map((r) => put(this.keys.sync(r.site), JSON.stringify(r))),
    );
  }

  async stampPrimary(epoch: number, at: number): Promise<void> {
    await this.leaderWrite('stamp primary', epoch, [
      put(this.keys.lpt(this.site), String(at)),
      put(this.keys.lpe(this.site), String(epoch)),
    ]);
  }

  async completeIntent(id: string): Promise<void> {
    checkName('intent id', id);
    await this.owner.call('complete intent', () =>
      this.owner.client.kv.deleteRange({ key: enc(this.keys.intent(id)) }),
    );
  }

  /** Stops the keepalive loop without revoking: the lease runs out after its TTL. */
  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    this.owner.forget(this);
    this.lease?.abandon();
  }

  /** Revokes the lease first (the leader key and the report go at once), then stops. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const lease = this.lease;
    this.owner.forget(this);
    if (!lease) return;
    try {
      await lease.revoke();
    } finally {
      lease.abandon();
    }
  }

  /**
   * The live lease id. Without one this session cannot hold the key; a stale epoch is still
   * reported as such first (the more useful answer to "why was my action refused").
   */
  private async requireLease(epoch: number): Promise<string> {
    const id = this.lease?.state === 'alive' ? this.lease.id : null;
    if (id !== null) return id;
    const res = await this.owner.call('read epoch', () =>
      this.owner.client.kv.range({ key: enc(this.keys.epoch) }),
    );
    const current = res.kvs[0] ? parseEpoch(res.kvs[0]) : 0;
    if (current !== epoch) throw new StaleEpochError(epoch, current);
    throw new NotLeaderError(`site ${this.site} holds no live lease, so it cannot hold the leader key`);
  }

  private async leaderWrite(what: string, epoch: number, ops: IRequestOp[]): Promise<void> {
    const lease = await this.requireLease(epoch);
    const k = this.keys;
    const res = await this.owner.txn(what, [epochIs(k, epoch), leaseIs(k.leader, lease)], ops, [
      get(k.epoch),
      get(k.leader),
    ]);
    if (!res.succeeded) this.refuse(res, epoch, what);
  }

  /** Explains a refused epoch-guarded txn whose failure branch read [epoch, leader]. */
  private refuse(res: ITxnResponse, epoch: number, what: string): never {
    const actual = parseEpoch(firstKv(res, 0));
    if (actual !== epoch) throw new StaleEpochError(epoch, actual);
    const holder = parseLeader(firstKv(res, 1));
    throw new NotLeaderError(
      holder
        ? `site ${this.site} cannot ${what}: the leader key for epoch ${epoch} is not bound to its lease`
        : `site ${this.site} cannot ${what}: no leader key for epoch ${epoch} (the lease expired or was released)`,
    );
  }

  private noticeLeaseLoss(err: unknown): void {
    if (err instanceof CoordinationUnavailableError && /lease not found/.test(err.message)) {
      this.lease?.markLost('etcd refused a write naming the lease');
    } else if (isLeaseGone(err)) {
      this.lease?.markLost('etcd refused a write naming the lease');
    }
  }
}

/** Convenience: an adapter from an unvalidated config (throws EtcdConfigError). */
export function createEtcdCoordination(
  config: unknown,
  options: EtcdCoordinationOptions = {},
): EtcdCoordination {
  return new EtcdCoordination(parseEtcdConfig(config), options);
}
