// Why this file is long: a stand-in: the HANA wire-protocol server (handshake, SCRAM, sessions, statements, limits against hostile clients).
/**
 * The HANA SQL wire-protocol simulator: a node:net server that real HANA clients
 * (@sap/hana-client, hdb) connect to. It speaks the initialization handshake, SCRAM
 * authentication, CONNECT with connect options, EXECUTEDIRECT, PREPARE/EXECUTE, FETCHNEXT,
 * CLOSERESULTSET, DROPSTATEMENTID, COMMIT, ROLLBACK and DISCONNECT, and answers SQL from a
 * tiny front end whose monitoring views come from a live SimSiteSnapshot.
 *
 * Site state drives the listener the way real HANA behaves: a stopped site (or a secondary
 * without read access, whose SQL ports are closed) refuses connections; a frozen site or a
 * down node accepts and stays silent.
 *
 * Hostile clients: a message announcing more than MAX_MESSAGE_BYTES closes its connection, a
 * connection that has not logged in within loginTimeoutMs is closed (unless the site is silent,
 * as a frozen HANA would not close it either), at most MAX_CONNECTIONS are open, and a login as
 * an unknown user computes the same SCRAM proof (against a dummy password) as a wrong password,
 * so the answer time does not tell which user names exist.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import type { SimSiteSnapshot } from '../hana-sim/snapshot.js';
import {
  ConnectOption,
  ErrorLevel,
  FunctionCode,
  INIT_REQUEST_LENGTH,
  MESSAGE_HEADER_LENGTH,
  MessageType,
  PartAttribute,
  PartKind,
  ProtocolError,
  SegmentKind,
  encodeReply,
  readFields,
  readMessageHeader,
  readOptions,
  readRequestSegments,
  writeError,
  writeFields,
  writeOptions,
  type OptionValue,
  type ReplyPart,
  type RequestPart,
  type RequestSegment,
} from './protocol.js';
import {
  newChallenge,
  scramMethods,
  serverProof,
  verifyClientProof,
  type ScramChallenge,
  type ScramMethod,
} from './scram.js';
import {
  CommitOutcomeUnknown,
  diffRows,
  memoryDatabase,
  type TableChange,
  type WireDatabase,
} from './database.js';
import {
  HanaSqlError,
  SqlErrorCode,
  describe,
  execute,
  isWrite,
  parseSql,
  type Catalog,
  type Parsed,
  type StoredTable,
} from './sql.js';
import { SIMULATED_HANA_VERSION, systemView } from './views.js';
import type { WireExtension } from './backup.js';
import {
  columnFraction,
  columnLength,
  encodeCell,
  readParameter,
  wireTypeCode,
  type Column,
  type SqlValue,
} from './values.js';

export interface WireFaults {
  /** Every reply (and the handshake) is delayed this many ms. */
  readonly delayMs?: number;
  /** 'connect': accept connections but never answer the handshake; 'queries': log in, then never answer a statement. */
  readonly hang?: 'connect' | 'queries';
  /** Reset (TCP RST) every connection at its next request. */
  readonly reset?: boolean;
  /** Stop listening: connects are refused. */
  readonly refuse?: boolean;
}

export interface HanaWireServerOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly snapshot: () => SimSiteSnapshot;
  /**
   * Where committed tables live (default: in this server's memory). `simSiteDatabase` keeps them
   * in the simulated site's log, so they replicate and take part in takeovers.
   */
  readonly database?: WireDatabase;
  /** Statements and views beyond the SQL subset (the backup statements: src/hana/wire/backup.ts). */
  readonly extension?: WireExtension;
  readonly faults?: WireFaults;
  /** Methods offered, in order of preference (default both, PBKDF2 first). */
  readonly authMethods?: readonly ScramMethod[];
  /** PBKDF2 iterations (HANA's default 15000). */
  readonly pbkdf2Iterations?: number;
  /** A connection not logged in after this long is closed (default 10 000 ms). */
  readonly loginTimeoutMs?: number;
}

export interface HanaWireServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
  setFault(faults: WireFaults): void;
  /** Open client connections right now. */
  connectionCount(): number;
  /** Client connections accepted since the start (a test counts how often a client connects). */
  connectionsAccepted(): number;
}

/** How often the server re-reads the site state to open or close its listener. */
const STATE_POLL_MS = 25;
/** Largest reply we build for one result-set chunk (bytes of row data). */
const MAX_CHUNK_BYTES = 256 * 1024;
const DEFAULT_FETCH_SIZE = 1000;
/** Largest request message accepted (var part); HANA clients send packets of 1 MiB at most by default. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** Open connections at most; more are closed at once. */
export const MAX_CONNECTIONS = 256;
const DEFAULT_LOGIN_TIMEOUT_MS = 10_000;
/** What an unknown user's proof is checked against (never accepted: the user check fails first). */
const DUMMY_PASSWORD = randomBytes(24).toString('base64');

/** Equality of two user names in time independent of where they differ. */
function sameUser(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

interface Cursor {
  readonly columns: readonly Column[];
  readonly rows: readonly (readonly SqlValue[])[];
  position: number;
}

interface Prepared {
  readonly parsed: Parsed;
  readonly columns: readonly Column[];
  readonly paramTypes: readonly Column[];
}

class SessionClosed extends Error {}

function siteAcceptsSql(s: SimSiteSnapshot): 'listen' | 'refuse' | 'silent' {
  if (!s.nodeUp || s.frozen || s.hung === true) return 'silent';
  if (!s.running) return 'refuse';
  const secondary = s.source !== undefined || (s.srMode !== 'primary' && s.srMode !== 'none');
  if (secondary && s.operationMode !== 'logreplay_readaccess') return 'refuse';
  return 'listen';
}

export async function startHanaWireServer(options: HanaWireServerOptions): Promise<HanaWireServer> {
  const host = options.host ?? '127.0.0.1';
  let faults: WireFaults = options.faults ?? {};
  let port = options.port;
  let closed = false;
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const database = options.database ?? memoryDatabase();
  let listening = false;
  let transition: Promise<void> = Promise.resolve();

  const server = net.createServer((socket) => {
    if (closed) {
      socket.destroy();
      return;
    }
    if (sockets.size >= MAX_CONNECTIONS) {
      socket.destroy();
      return;
    }
    // A site whose SQL port is closed (stopped, crashed, a secondary without read access) refuses
    // at once, not only at the next state poll: a client must never reach a stopped instance's data.
    if (safeState() === 'refuse') {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    accepted++;
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setNoDelay(true);
    new Session(socket, options, () => faults, database).start();
  });

  function safeState(): 'listen' | 'refuse' | 'silent' {
    try {
      return siteAcceptsSql(options.snapshot());
    } catch {
      return 'refuse';
    }
  }

  function listen(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.once('error', onError);
      server.listen({ host, port, exclusive: true }, () => {
        server.off('error', onError);
        const addr = server.address();
        if (addr && typeof addr === 'object') port = addr.port;
        listening = true;
        resolve();
      });
    });
  }

  function stopListening(dropConnections: boolean): Promise<void> {
    if (dropConnections) for (const s of sockets) s.destroy();
    if (!listening) return Promise.resolve();
    listening = false;
    return new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async function reconcile(): Promise<void> {
    if (closed) return;
    const state = safeState();
    const want = !faults.refuse && state !== 'refuse';
    if (want && !listening) await listen();
    else if (!want && listening) await stopListening(state === 'refuse');
    else if (state === 'refuse') for (const s of sockets) s.destroy();
  }

  // The first listen decides the port, even when the site starts refused.
  await listen();
  await reconcile();
  const poll = setInterval(() => {
    transition = transition.then(reconcile).catch(() => undefined);
  }, STATE_POLL_MS);
  poll.unref();

  return {
    host,
    get port() {
      return port;
    },
    connectionCount: () => sockets.size,
    connectionsAccepted: () => accepted,
    setFault(f: WireFaults) {
      faults = f;
      transition = transition.then(reconcile).catch(() => undefined);
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(poll);
      await transition;
      await stopListening(true);
    },
  };
}

class Session {
  private buffer: Buffer = Buffer.alloc(0);
  private initialized = false;
  private queue: Promise<void> = Promise.resolve();
  private alive = true;
  private sessionId = 0n;
  private user = '';
  private challenge: ScramChallenge | undefined;
  private authenticated = false;
  private dataFormatVersion = 1;
  private nextId = 1n;
  private readonly cursors = new Map<string, Cursor>();
  private readonly statements = new Map<string, Prepared>();
  /** The transaction's private copies of tables. */
  private pending = new Map<string, StoredTable>();
  /** The committed version each pending table started from (undefined: it did not exist). */
  private base = new Map<string, StoredTable | undefined>();
  /** The statement just run was DDL, which commits at once. */
  private ddl = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly options: HanaWireServerOptions,
    private readonly faults: () => WireFaults,
    private readonly db: WireDatabase,
  ) {}

  start(): void {
    let loginTimer: NodeJS.Timeout | undefined;
    const armLoginDeadline = () => {
      loginTimer = setTimeout(() => {
        if (this.authenticated || !this.alive) return;
        // A frozen site or a hung handshake stays silent, as real HANA would: not closed.
        if (this.silentNow()) return armLoginDeadline();
        this.socket.destroy();
      }, this.options.loginTimeoutMs ?? DEFAULT_LOGIN_TIMEOUT_MS);
      loginTimer.unref();
    };
    armLoginDeadline();
    this.socket.on('close', () => {
      this.alive = false;
      clearTimeout(loginTimer);
    });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  private silentNow(): boolean {
    const f = this.faults();
    if (f.hang === 'connect') return true;
    try {
      const s = this.options.snapshot();
      return !s.nodeUp || s.frozen;
    } catch {
      return true;
    }
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    try {
      for (;;) {
        if (!this.initialized) {
          if (this.buffer.length < INIT_REQUEST_LENGTH) return;
          const init = this.buffer.subarray(0, INIT_REQUEST_LENGTH);
          this.buffer = this.buffer.subarray(INIT_REQUEST_LENGTH);
          this.initialized = true;
          if (init.readInt32LE(0) !== -1) throw new ProtocolError('bad initialization request');
          this.enqueue(() => this.handshake());
          continue;
        }
        if (this.buffer.length < MESSAGE_HEADER_LENGTH) return;
        const header = readMessageHeader(this.buffer);
        if (header.varPartLength > MAX_MESSAGE_BYTES)
          throw new ProtocolError(`message of ${header.varPartLength} bytes is over the limit`);
        const total = MESSAGE_HEADER_LENGTH + header.varPartLength;
        if (this.buffer.length < total) return;
        const varPart = this.buffer.subarray(MESSAGE_HEADER_LENGTH, total);
        this.buffer = this.buffer.subarray(total);
        if (header.packetOptions & 2) throw new ProtocolError('compressed packets are not supported');
        const segments = readRequestSegments(varPart, header.segmentCount);
        this.enqueue(() => this.handle(header.packetCount, segments));
      }
    } catch {
      this.socket.destroy();
    }
  }

  private enqueue(task: () => Promise<void>): void {
    this.queue = this.queue.then(task).catch((err: unknown) => {
      if (!(err instanceof SessionClosed)) this.socket.destroy();
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (!this.alive) return reject(new SessionClosed());
      const t = setTimeout(() => {
        this.socket.off('close', onClose);
        resolve();
      }, ms);
      const onClose = () => {
        clearTimeout(t);
        reject(new SessionClosed());
      };
      this.socket.once('close', onClose);
    });
  }

  /** Applies faults and site state before any reply. */
  private async gate(kind: 'handshake' | 'login' | 'statement'): Promise<void> {
    for (;;) {
      if (!this.alive) throw new SessionClosed();
      const f = this.faults();
      if (f.reset) {
        this.socket.resetAndDestroy();
        throw new SessionClosed();
      }
      let silent = f.hang === 'connect' && kind === 'handshake';
      if (f.hang === 'queries' && kind === 'statement') silent = true;
      try {
        const s = this.options.snapshot();
        if (!s.nodeUp || s.frozen || s.hung === true) silent = true;
        // The instance stopped under an open connection: it drops, as the state poll would drop it
        // (up to STATE_POLL_MS later), before any answer from a stopped instance's data.
        else if (siteAcceptsSql(s) === 'refuse') {
          this.socket.destroy();
          throw new SessionClosed();
        }
      } catch (err) {
        if (err instanceof SessionClosed) throw err;
        silent = true;
      }
      if (!silent) break;
      await this.sleep(STATE_POLL_MS);
    }
    const delay = this.faults().delayMs ?? 0;
    if (delay > 0) await this.sleep(delay);
  }

  private async handshake(): Promise<void> {
    await this.gate('handshake');
    // product version 4.20, protocol version 4.1 (what HANA 2.0 answers)
    this.socket.write(Buffer.from([4, 20, 0, 4, 1, 0, 0, 0]));
  }

  private send(packetCount: number, kind: number, functionCode: number, parts: readonly ReplyPart[]): void {
    if (!this.alive) throw new SessionClosed();
    this.socket.write(encodeReply({ sessionId: this.sessionId, packetCount, kind, functionCode, parts }));
  }

  private sendError(packetCount: number, err: HanaSqlError): void {
    this.send(packetCount, SegmentKind.ERROR, FunctionCode.NIL, [
      {
        kind: PartKind.ERROR,
        argumentCount: 1,
        data: writeError({
          code: err.code,
          position: err.position,
          level: ErrorLevel.ERROR,
          sqlState: err.sqlState,
          message: err.message,
        }),
      },
    ]);
  }

  private async handle(packetCount: number, segments: RequestSegment[]): Promise<void> {
    const segment = segments[0];
    if (!segment) return;
    const type = segment.messageType;
    const login = type === MessageType.AUTHENTICATE || type === MessageType.CONNECT;
    await this.gate(login ? 'login' : 'statement');
    try {
      if (type === MessageType.AUTHENTICATE) return this.authenticate(packetCount, segment);
      if (type === MessageType.CONNECT) return this.connect(packetCount, segment);
      if (!this.authenticated)
        throw new HanaSqlError(SqlErrorCode.AUTHENTICATION_FAILED, 'authentication failed', '28000');
      switch (type) {
        case MessageType.EXECUTEDIRECT:
          return await this.executeDirect(packetCount, segment);
        case MessageType.PREPARE:
          return this.prepare(packetCount, segment);
        case MessageType.EXECUTE:
          return await this.executePrepared(packetCount, segment);
        case MessageType.FETCHNEXT:
          return this.fetchNext(packetCount, segment);
        case MessageType.CLOSERESULTSET: {
          const id = this.part(segment, PartKind.RESULTSETID);
          if (id) this.cursors.delete(id.data.toString('hex'));
          return this.send(packetCount, SegmentKind.REPLY, FunctionCode.CLOSECURSOR, []);
        }
        case MessageType.DROPSTATEMENTID: {
          const id = this.part(segment, PartKind.STATEMENTID);
          if (id) this.statements.delete(id.data.toString('hex'));
          return this.send(packetCount, SegmentKind.REPLY, FunctionCode.NIL, []);
        }
        case MessageType.COMMIT:
          await this.commit();
          return this.send(packetCount, SegmentKind.REPLY, FunctionCode.COMMIT, [
            this.transactionFlags(true),
          ]);
        case MessageType.ROLLBACK:
          this.rollback();
          return this.send(packetCount, SegmentKind.REPLY, FunctionCode.ROLLBACK, [
            this.transactionFlags(false),
          ]);
        case MessageType.DISCONNECT:
          this.rollback();
          this.send(packetCount, SegmentKind.REPLY, FunctionCode.DISCONNECT, []);
          this.socket.end();
          return;
        case MessageType.PING:
          return this.send(packetCount, SegmentKind.REPLY, FunctionCode.PING, []);
        default:
          throw new HanaSqlError(
            SqlErrorCode.FEATURE_NOT_SUPPORTED,
            `feature not supported: message type ${type}`,
          );
      }
    } catch (err) {
      if (err instanceof SessionClosed) throw err;
      if (err instanceof CommitOutcomeUnknown) {
        // The site went away before it acknowledged: so does the connection (the client cannot
        // tell whether the commit happened, as with real HANA).
        this.socket.destroy();
        throw new SessionClosed();
      }
      if (err instanceof HanaSqlError) {
        this.sendError(packetCount, err);
        if (err.code === SqlErrorCode.AUTHENTICATION_FAILED) this.socket.end();
        return;
      }
      if (err instanceof ProtocolError) {
        this.sendError(
          packetCount,
          new HanaSqlError(SqlErrorCode.FEATURE_NOT_SUPPORTED, `feature not supported: ${err.message}`),
        );
        return;
      }
      this.sendError(
        packetCount,
        new HanaSqlError(2, `general error: ${err instanceof Error ? err.message : String(err)}`),
      );
    }
  }

  private part(segment: RequestSegment, kind: number): RequestPart | undefined {
    return segment.parts.find((p) => p.kind === kind);
  }

  // ---- login --------------------------------------------------------------------------------

  private authenticate(packetCount: number, segment: RequestSegment): void {
    const auth = this.part(segment, PartKind.AUTHENTICATION);
    if (!auth) throw new ProtocolError('AUTHENTICATE without an authentication part');
    const fields = readFields(auth.data);
    this.user = fields[0]?.toString('utf8') ?? '';
    const offered = new Map<string, Buffer>();
    for (let i = 1; i + 1 < fields.length; i += 2) offered.set(fields[i]!.toString('ascii'), fields[i + 1]!);
    const method = (this.options.authMethods ?? scramMethods).find((m) => offered.has(m));
    if (!method) throw new HanaSqlError(SqlErrorCode.AUTHENTICATION_FAILED, 'authentication failed', '28000');
    const clientChallenge = offered.get(method)!;
    this.challenge = newChallenge(method, clientChallenge, this.options.pbkdf2Iterations);
    const challengeFields = [this.challenge.salt, this.challenge.serverKey];
    if (method === 'SCRAMPBKDF2SHA256') {
      const iterations = Buffer.alloc(4);
      iterations.writeUInt32BE(this.challenge.iterations, 0);
      challengeFields.push(iterations);
    }
    this.send(packetCount, SegmentKind.REPLY, FunctionCode.NIL, [
      {
        kind: PartKind.AUTHENTICATION,
        argumentCount: 1,
        data: writeFields([Buffer.from(method, 'ascii'), writeFields(challengeFields)]),
      },
    ]);
  }

  private connect(packetCount: number, segment: RequestSegment): void {
    const auth = this.part(segment, PartKind.AUTHENTICATION);
    const challenge = this.challenge;
    this.challenge = undefined;
    if (!auth || !challenge)
      throw new HanaSqlError(SqlErrorCode.AUTHENTICATION_FAILED, 'authentication failed', '28000');
    const fields = readFields(auth.data);
    const method = fields[1]?.toString('ascii');
    const proofFields = fields[2];
    // The same work whatever is wrong (user, method or proof): the proof is always checked, for
    // an unknown user against a dummy password, so the answer time reveals no user name.
    const knownUser = sameUser(this.user, this.options.user);
    // client proof: sub-field count (2 bytes), length byte, proof
    const clientProof =
      proofFields && proofFields.length >= 3
        ? proofFields.subarray(3, 3 + proofFields.readUInt8(2))
        : Buffer.alloc(0);
    const proofOk = verifyClientProof(
      challenge,
      knownUser ? this.options.password : DUMMY_PASSWORD,
      clientProof,
    );
    const ok = knownUser && method === challenge.method && proofOk;
    if (!ok) throw new HanaSqlError(SqlErrorCode.AUTHENTICATION_FAILED, 'authentication failed', '28000');

    const requested = this.part(segment, PartKind.CONNECTOPTIONS);
    const clientOptions = requested
      ? readOptions(requested.data, requested.argumentCount)
      : new Map<number, OptionValue>();
    const dfv =
      clientOptions.get(ConnectOption.DATAFORMATVERSION2) ??
      clientOptions.get(ConnectOption.DATAFORMATVERSION);
    this.dataFormatVersion = dfv && dfv.type === 'int' ? Math.min(dfv.value, 8) : 1;

    this.authenticated = true;
    this.sessionId = randomBytes(8).readBigInt64LE(0) & 0x7fffffffffffffffn || 1n;
    const snapshot = this.options.snapshot();
    const reply = new Map<number, OptionValue>([
      [ConnectOption.CONNECTIONID, { type: 'int', value: 200000 + Number(this.sessionId % 100000n) }],
      [ConnectOption.SYSTEMID, { type: 'string', value: snapshot.sid }],
      [ConnectOption.DATABASENAME, { type: 'string', value: snapshot.sid }],
      [ConnectOption.DATAFORMATVERSION, { type: 'int', value: this.dataFormatVersion }],
      [ConnectOption.DATAFORMATVERSION2, { type: 'int', value: this.dataFormatVersion }],
      [ConnectOption.FULLVERSIONSTRING, { type: 'string', value: SIMULATED_HANA_VERSION }],
      [ConnectOption.COMPLETEARRAYEXECUTION, { type: 'boolean', value: true }],
    ]);
    const proof = Buffer.alloc(3 + 32);
    proof.writeUInt16LE(1, 0);
    proof.writeUInt8(32, 2);
    serverProof(challenge, this.options.password).copy(proof, 3);
    this.send(packetCount, SegmentKind.REPLY, FunctionCode.CONNECT, [
      {
        kind: PartKind.AUTHENTICATION,
        argumentCount: 1,
        data: writeFields([Buffer.from(challenge.method, 'ascii'), proof]),
      },
      { kind: PartKind.CONNECTOPTIONS, argumentCount: reply.size, data: writeOptions(reply) },
    ]);
  }

  // ---- statements ---------------------------------------------------------------------------

  private catalog(): Catalog {
    const snapshot = this.options.snapshot();
    const key = (schema: string, name: string) => `${schema}.${name}`;
    const schema = this.user.toUpperCase();
    const committed = this.db.tables();
    const lookup = (k: string): StoredTable | undefined => this.pending.get(k) ?? committed.get(k);
    const touch = (k: string) => {
      if (!this.base.has(k)) this.base.set(k, committed.get(k));
    };
    return {
      defaultSchema: schema,
      now: () => new Date(snapshot.now),
      view: (ref, args) => systemView(ref, args, snapshot) ?? this.options.extension?.view(ref),
      table: (s, n) => lookup(key(s, n)),
      writable: (s, n) => {
        const k = key(s, n);
        const own = this.pending.get(k);
        if (own !== undefined) return own;
        const current = committed.get(k);
        if (!current) return undefined;
        touch(k);
        const copy: StoredTable = { ...current, rows: current.rows.map((r) => [...r]) };
        this.pending.set(k, copy);
        return copy;
      },
      // DDL commits at once (HANA's default DDL auto-commit), with the open transaction.
      create: (t) => {
        const k = key(t.schema, t.name);
        touch(k);
        this.pending.set(k, t);
        this.ddl = true;
      },
    };
  }

  /** The open transaction as changes against the versions it started from. */
  private changes(): TableChange[] {
    const out: TableChange[] = [];
    for (const [key, table] of this.pending) {
      const base = this.base.get(key);
      if (base === undefined) {
        out.push({ kind: 'create', key, table });
      } else {
        const { added, removed } = diffRows(base.rows, table.rows);
        if (added.length > 0 || removed.length > 0) out.push({ kind: 'rows', key, added, removed });
      }
    }
    return out;
  }

  private rollback(): void {
    this.pending.clear();
    this.base.clear();
    this.ddl = false;
  }

  /** Commits the open transaction (a conflict rolls it back and reaches the client as an error). */
  private async commit(): Promise<void> {
    const changes = this.changes();
    this.rollback();
    if (changes.length > 0) await this.db.commit(changes);
  }

  private transactionFlags(committed: boolean): ReplyPart {
    const flags = new Map<number, OptionValue>([[committed ? 1 : 0, { type: 'boolean', value: true }]]);
    return { kind: PartKind.TRANSACTIONFLAGS, argumentCount: 1, data: writeOptions(flags) };
  }

  private command(segment: RequestSegment): string {
    const part = this.part(segment, PartKind.COMMAND);
    if (!part) throw new ProtocolError('missing command part');
    return part.data.toString('utf8');
  }

  /** Writes wait while the primary is suspended or its log area is full (as real HANA blocks). */
  private async checkWrite(parsed: Parsed): Promise<void> {
    if (!isWrite(parsed)) return;
    for (;;) {
      const s = this.options.snapshot();
      if (s.source !== undefined || (s.srMode !== 'primary' && s.srMode !== 'none'))
        throw new HanaSqlError(
          SqlErrorCode.FEATURE_NOT_SUPPORTED,
          'feature not supported: DML and DDL are not allowed on a read-enabled secondary',
        );
      if (!s.suspended && !s.logAreaFull) return;
      await this.sleep(STATE_POLL_MS);
    }
  }

  private async executeDirect(packetCount: number, segment: RequestSegment): Promise<void> {
    const sql = this.command(segment);
    if (this.options.extension !== undefined && (await this.options.extension.statement(sql))) {
      const data = Buffer.alloc(4);
      return this.send(packetCount, SegmentKind.REPLY, FunctionCode.DDL, [
        { kind: PartKind.ROWSAFFECTED, argumentCount: 1, data },
      ]);
    }
    const parsed = parseSql(sql);
    if (parsed.paramCount > 0)
      throw new HanaSqlError(
        SqlErrorCode.SYNTAX_ERROR,
        'sql syntax error: parameters need a prepared statement',
      );
    await this.checkWrite(parsed);
    const fetchSize = this.fetchSize(segment);
    await this.run(packetCount, parsed, [[]], segment.commit, fetchSize);
  }

  private fetchSize(segment: RequestSegment): number {
    const part = this.part(segment, PartKind.FETCHSIZE);
    const n = part && part.data.length >= 4 ? part.data.readInt32LE(0) : DEFAULT_FETCH_SIZE;
    return n > 0 ? n : DEFAULT_FETCH_SIZE;
  }

  private async run(
    packetCount: number,
    parsed: Parsed,
    paramRows: readonly (readonly SqlValue[])[],
    autoCommit: boolean,
    fetchSize: number,
  ): Promise<void> {
    const catalog = this.catalog();
    let rowsAffected: number[] = [];
    let functionCode: number = FunctionCode.NIL;
    this.ddl = false;
    for (const params of paramRows) {
      const result = execute(parsed, catalog, params);
      switch (result.kind) {
        case 'rows':
          return this.sendRows(packetCount, result.columns, result.rows, fetchSize);
        case 'count':
          rowsAffected.push(result.rowsAffected);
          functionCode = FunctionCode[result.functionCode];
          break;
        case 'ddl':
          functionCode = FunctionCode.DDL;
          rowsAffected = [0];
          break;
      }
    }
    if (autoCommit || this.ddl) await this.commit();
    const data = Buffer.alloc(4 * rowsAffected.length);
    rowsAffected.forEach((n, i) => data.writeInt32LE(n, i * 4));
    this.send(packetCount, SegmentKind.REPLY, functionCode, [
      { kind: PartKind.ROWSAFFECTED, argumentCount: rowsAffected.length, data },
    ]);
  }

  private metadata(columns: readonly Column[]): ReplyPart {
    const names: Buffer[] = [];
    let textOffset = 0;
    const nameOffset = (text: string | undefined): number => {
      if (text === undefined) return -1;
      const bytes = Buffer.from(text, 'utf8');
      const at = textOffset;
      names.push(Buffer.from([bytes.length]), bytes);
      textOffset += 1 + bytes.length;
      return at;
    };
    const fixed = Buffer.alloc(24 * columns.length);
    columns.forEach((c, i) => {
      const o = i * 24;
      fixed.writeInt8(c.nullable === false ? 1 : 2, o);
      fixed.writeUInt8(wireTypeCode(c, this.dataFormatVersion), o + 1);
      fixed.writeInt16LE(columnFraction(c), o + 2);
      fixed.writeInt16LE(columnLength(c), o + 4);
      fixed.writeInt32LE(nameOffset(c.table), o + 8);
      fixed.writeInt32LE(nameOffset(c.schema), o + 12);
      fixed.writeInt32LE(nameOffset(c.name), o + 16);
      fixed.writeInt32LE(nameOffset(c.name), o + 20);
    });
    return {
      kind: PartKind.RESULTSETMETADATA,
      argumentCount: columns.length,
      data: Buffer.concat([fixed, ...names]),
    };
  }

  private sendRows(
    packetCount: number,
    columns: readonly Column[],
    rows: readonly (readonly SqlValue[])[],
    fetchSize: number,
  ): void {
    const id = Buffer.alloc(8);
    id.writeBigUInt64LE(this.nextId++, 0);
    const cursor: Cursor = { columns, rows, position: 0 };
    const chunk = this.chunk(cursor, fetchSize);
    if (chunk.last) chunk.attributes |= PartAttribute.RESULTSETCLOSED;
    else this.cursors.set(id.toString('hex'), cursor);
    if (!chunk.last || cursor.position > 0) chunk.attributes |= PartAttribute.FIRSTPACKET;
    this.send(packetCount, SegmentKind.REPLY, FunctionCode.SELECT, [
      this.metadata(columns),
      { kind: PartKind.RESULTSETID, argumentCount: 1, data: id },
      {
        kind: PartKind.RESULTSET,
        attributes: chunk.attributes,
        argumentCount: chunk.count,
        data: chunk.data,
      },
    ]);
  }

  private chunk(
    cursor: Cursor,
    fetchSize: number,
  ): { data: Buffer; count: number; last: boolean; attributes: number } {
    const buffers: Buffer[] = [];
    let bytes = 0;
    let count = 0;
    while (cursor.position < cursor.rows.length && count < fetchSize && bytes < MAX_CHUNK_BYTES) {
      const row = cursor.rows[cursor.position]!;
      cursor.columns.forEach((c, i) => {
        const cell = encodeCell(c, row[i] ?? null, this.dataFormatVersion);
        buffers.push(cell);
        bytes += cell.length;
      });
      cursor.position++;
      count++;
    }
    const last = cursor.position >= cursor.rows.length;
    let attributes = last ? PartAttribute.LASTPACKET : PartAttribute.NEXTPACKET;
    if (count === 0) attributes |= PartAttribute.ROWNOTFOUND;
    return { data: Buffer.concat(buffers), count, last, attributes };
  }

  private fetchNext(packetCount: number, segment: RequestSegment): void {
    const idPart = this.part(segment, PartKind.RESULTSETID);
    const key = idPart?.data.toString('hex') ?? '';
    const cursor = this.cursors.get(key);
    if (!cursor)
      throw new HanaSqlError(600, 'failed routed execution: invalid result set ID (closed or unknown)');
    const chunk = this.chunk(cursor, this.fetchSize(segment));
    if (chunk.last) {
      chunk.attributes |= PartAttribute.RESULTSETCLOSED;
      this.cursors.delete(key);
    }
    this.send(packetCount, SegmentKind.REPLY, FunctionCode.FETCH, [
      {
        kind: PartKind.RESULTSET,
        attributes: chunk.attributes,
        argumentCount: chunk.count,
        data: chunk.data,
      },
    ]);
  }

  private prepare(packetCount: number, segment: RequestSegment): void {
    const parsed = parseSql(this.command(segment));
    const { columns, paramTypes } = describe(parsed, this.catalog());
    const id = Buffer.alloc(8);
    id.writeBigUInt64LE(this.nextId++, 0);
    this.statements.set(id.toString('hex'), { parsed, columns, paramTypes });
    const parts: ReplyPart[] = [{ kind: PartKind.STATEMENTID, argumentCount: 1, data: id }];
    if (paramTypes.length) parts.push(this.parameterMetadata(paramTypes));
    if (columns.length) parts.push(this.metadata(columns));
    const st = parsed.statement.kind;
    const functionCode =
      st === 'select' ? FunctionCode.SELECT : st === 'insert' ? FunctionCode.INSERT : FunctionCode.DDL;
    this.send(packetCount, SegmentKind.REPLY, functionCode, parts);
  }

  private parameterMetadata(params: readonly Column[]): ReplyPart {
    const data = Buffer.alloc(16 * params.length);
    params.forEach((p, i) => {
      const o = i * 16;
      data.writeUInt8(p.nullable === false ? 1 : 2, o);
      data.writeUInt8(wireTypeCode(p, this.dataFormatVersion), o + 1);
      data.writeUInt8(1, o + 2); // IN
      data.writeInt32LE(-1, o + 4);
      data.writeInt16LE(columnLength(p), o + 8);
      data.writeInt16LE(columnFraction(p), o + 10);
    });
    return { kind: PartKind.PARAMETERMETADATA, argumentCount: params.length, data };
  }

  private async executePrepared(packetCount: number, segment: RequestSegment): Promise<void> {
    const idPart = this.part(segment, PartKind.STATEMENTID);
    const prepared = this.statements.get(idPart?.data.toString('hex') ?? '');
    if (!prepared)
      throw new HanaSqlError(
        SqlErrorCode.FEATURE_NOT_SUPPORTED,
        'invalid statement id: statement was dropped or never prepared',
      );
    const rows: SqlValue[][] = [];
    const params = this.part(segment, PartKind.PARAMETERS);
    const n = prepared.paramTypes.length;
    if (n > 0) {
      if (!params) throw new HanaSqlError(SqlErrorCode.SYNTAX_ERROR, 'sql syntax error: missing parameters');
      const reader = { offset: 0 };
      for (let r = 0; r < Math.max(1, params.argumentCount); r++) {
        const row: SqlValue[] = [];
        for (let i = 0; i < n; i++) row.push(readParameter(params.data, reader));
        rows.push(row);
      }
    } else rows.push([]);
    await this.checkWrite(prepared.parsed);
    await this.run(packetCount, prepared.parsed, rows, segment.commit, this.fetchSize(segment));
  }
}
