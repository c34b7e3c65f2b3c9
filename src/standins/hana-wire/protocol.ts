// Why this file is long: every part kind and type code of the HANA SQL network protocol the stand-in server speaks; one specification.
/**
 * The framing of SAP HANA's SQL Command Network Protocol, as SAP's "SQL Command Network
 * Protocol Reference" describes it: an initialization handshake, then messages made of a
 * 32-byte message header, segments (24-byte header) and parts (16-byte header, payload padded
 * to 8 bytes). All integers are little endian. Server side only: we decode requests and encode
 * replies.
 */

export const MESSAGE_HEADER_LENGTH = 32;
export const SEGMENT_HEADER_LENGTH = 24;
export const PART_HEADER_LENGTH = 16;
/** Size of the client's initialization request (0xFFFFFFFF, version, options). */
export const INIT_REQUEST_LENGTH = 14;

export const MessageType = {
  EXECUTEDIRECT: 2,
  PREPARE: 3,
  EXECUTE: 13,
  READLOB: 16,
  WRITELOB: 17,
  PING: 25,
  AUTHENTICATE: 65,
  CONNECT: 66,
  COMMIT: 67,
  ROLLBACK: 68,
  CLOSERESULTSET: 69,
  DROPSTATEMENTID: 70,
  FETCHNEXT: 71,
  DISCONNECT: 77,
  DBCONNECTINFO: 82,
} as const;

export const SegmentKind = { REQUEST: 1, REPLY: 2, ERROR: 5 } as const;

export const FunctionCode = {
  NIL: 0,
  DDL: 1,
  INSERT: 2,
  UPDATE: 3,
  DELETE: 4,
  SELECT: 5,
  FETCH: 10,
  COMMIT: 11,
  ROLLBACK: 12,
  CONNECT: 14,
  PING: 17,
  DISCONNECT: 18,
  CLOSECURSOR: 19,
} as const;

export const PartKind = {
  COMMAND: 3,
  RESULTSET: 5,
  ERROR: 6,
  STATEMENTID: 10,
  TRANSACTIONID: 11,
  ROWSAFFECTED: 12,
  RESULTSETID: 13,
  TOPOLOGYINFORMATION: 15,
  TABLENAME: 19,
  CLIENTCONTEXT: 29,
  PARAMETERS: 32,
  AUTHENTICATION: 33,
  SESSIONCONTEXT: 34,
  CLIENTID: 35,
  STATEMENTCONTEXT: 39,
  CONNECTOPTIONS: 42,
  COMMITOPTIONS: 43,
  FETCHOPTIONS: 44,
  FETCHSIZE: 45,
  PARAMETERMETADATA: 47,
  RESULTSETMETADATA: 48,
  CLIENTINFO: 57,
  TRANSACTIONFLAGS: 64,
  DBCONNECTINFO: 67,
} as const;

export const PartAttribute = {
  LASTPACKET: 1,
  NEXTPACKET: 2,
  FIRSTPACKET: 4,
  ROWNOTFOUND: 8,
  RESULTSETCLOSED: 16,
} as const;

/** Type codes (SAP's protocol reference, "Type Codes"). */
export const TypeCode = {
  NULL: 0,
  TINYINT: 1,
  SMALLINT: 2,
  INT: 3,
  BIGINT: 4,
  DECIMAL: 5,
  REAL: 6,
  DOUBLE: 7,
  CHAR: 8,
  VARCHAR: 9,
  NCHAR: 10,
  NVARCHAR: 11,
  BINARY: 12,
  VARBINARY: 13,
  DATE: 14,
  TIME: 15,
  TIMESTAMP: 16,
  BOOLEAN: 28,
  STRING: 29,
  NSTRING: 30,
  BSTRING: 33,
  VARCHAR2: 35,
  SHORTTEXT: 52,
  ALPHANUM: 55,
  LONGDATE: 61,
  SECONDDATE: 62,
  DAYDATE: 63,
  SECONDTIME: 64,
} as const;

/** The fixed-width numeric types: their width in bytes and how to read one (little-endian). */
export const FIXED_NUMBERS: ReadonlyMap<
  number,
  { readonly width: number; read(buf: Buffer, offset: number): number | bigint }
> = new Map([
  [TypeCode.TINYINT, { width: 1, read: (b: Buffer, o: number) => b.readUInt8(o) }],
  [TypeCode.SMALLINT, { width: 2, read: (b: Buffer, o: number) => b.readInt16LE(o) }],
  [TypeCode.INT, { width: 4, read: (b: Buffer, o: number) => b.readInt32LE(o) }],
  [TypeCode.BIGINT, { width: 8, read: (b: Buffer, o: number) => b.readBigInt64LE(o) }],
  [TypeCode.REAL, { width: 4, read: (b: Buffer, o: number) => b.readFloatLE(o) }],
  [TypeCode.DOUBLE, { width: 8, read: (b: Buffer, o: number) => b.readDoubleLE(o) }],
]);

export const ConnectOption = {
  CONNECTIONID: 1,
  COMPLETEARRAYEXECUTION: 2,
  CLIENTLOCALE: 3,
  SYSTEMID: 11,
  DATAFORMATVERSION: 12,
  SELECTFORUPDATESUPPORTED: 14,
  CLIENTDISTRIBUTIONMODE: 15,
  ENGINEDATAFORMATVERSION: 16,
  DISTRIBUTIONPROTOCOLVERSION: 17,
  SPLITBATCHCOMMANDS: 18,
  USETRANSACTIONFLAGSONLY: 19,
  IGNOREUNKNOWNPARTS: 21,
  DATAFORMATVERSION2: 23,
  FULLVERSIONSTRING: 44,
  DATABASENAME: 45,
  COMPRESSIONLEVELANDFLAGS: 49,
} as const;

export const TransactionFlag = {
  ROLLEDBACK: 0,
  COMMITTED: 1,
  WRITETRANSACTIONSTARTED: 4,
  NOWRITETRANSACTIONSTARTED: 5,
} as const;

export const ErrorLevel = { WARNING: 0, ERROR: 1, FATAL: 2 } as const;

export interface MessageHeader {
  readonly sessionId: bigint;
  readonly packetCount: number;
  readonly varPartLength: number;
  readonly varPartSize: number;
  readonly segmentCount: number;
  readonly packetOptions: number;
}

export interface RequestPart {
  readonly kind: number;
  readonly attributes: number;
  readonly argumentCount: number;
  readonly data: Buffer;
}

export interface RequestSegment {
  readonly messageType: number;
  readonly commit: boolean;
  readonly commandOptions: number;
  readonly parts: readonly RequestPart[];
}

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export function align8(n: number): number {
  return (n + 7) & ~7;
}

export function readMessageHeader(buf: Buffer): MessageHeader {
  if (buf.length < MESSAGE_HEADER_LENGTH) throw new ProtocolError('short message header');
  return {
    sessionId: buf.readBigInt64LE(0),
    packetCount: buf.readInt32LE(8),
    varPartLength: buf.readUInt32LE(12),
    varPartSize: buf.readUInt32LE(16),
    segmentCount: buf.readInt16LE(20),
    packetOptions: buf.readInt8(22),
  };
}

/** Decodes the segments of one request message (the bytes after the message header). */
export function readRequestSegments(varPart: Buffer, segmentCount: number): RequestSegment[] {
  const segments: RequestSegment[] = [];
  let offset = 0;
  for (let s = 0; s < segmentCount; s++) {
    if (offset + SEGMENT_HEADER_LENGTH > varPart.length) throw new ProtocolError('truncated segment header');
    const segmentLength = varPart.readInt32LE(offset);
    if (segmentLength < SEGMENT_HEADER_LENGTH) throw new ProtocolError('bad segment length');
    const partCount = varPart.readInt16LE(offset + 8);
    const kind = varPart.readInt8(offset + 12);
    if (kind !== SegmentKind.REQUEST) throw new ProtocolError(`unexpected segment kind ${kind}`);
    const messageType = varPart.readInt8(offset + 13);
    const commit = varPart.readInt8(offset + 14) !== 0;
    const commandOptions = varPart.readInt8(offset + 15);
    const end = offset + segmentLength;
    let p = offset + SEGMENT_HEADER_LENGTH;
    const parts: RequestPart[] = [];
    for (let i = 0; i < partCount; i++) {
      if (p + PART_HEADER_LENGTH > varPart.length) throw new ProtocolError('truncated part header');
      const partKind = varPart.readInt8(p);
      const attributes = varPart.readInt8(p + 1);
      let argumentCount = varPart.readInt16LE(p + 2);
      if (argumentCount === -1) argumentCount = varPart.readInt32LE(p + 4);
      const length = varPart.readInt32LE(p + 8);
      if (length < 0 || argumentCount < 0) throw new ProtocolError('bad part length');
      const start = p + PART_HEADER_LENGTH;
      if (start + length > varPart.length) throw new ProtocolError('truncated part');
      parts.push({
        kind: partKind,
        attributes,
        argumentCount,
        data: varPart.subarray(start, start + length),
      });
      p = start + align8(length);
    }
    segments.push({ messageType, commit, commandOptions, parts });
    offset = Math.max(end, p);
  }
  return segments;
}

export interface ReplyPart {
  readonly kind: number;
  readonly attributes?: number;
  readonly argumentCount: number;
  readonly data: Buffer;
}

function encodePart(part: ReplyPart, remaining: number): Buffer {
  const padded = align8(part.data.length);
  const out = Buffer.alloc(PART_HEADER_LENGTH + padded);
  out.writeInt8(part.kind, 0);
  out.writeUInt8(part.attributes ?? 0, 1);
  if (part.argumentCount > 0x7fff) {
    out.writeInt16LE(-1, 2);
    out.writeInt32LE(part.argumentCount, 4);
  } else {
    out.writeInt16LE(part.argumentCount, 2);
  }
  out.writeInt32LE(part.data.length, 8);
  out.writeInt32LE(Math.max(0, remaining), 12);
  part.data.copy(out, PART_HEADER_LENGTH);
  return out;
}

/** Packet size we announce as the buffer size of reply parts. */
export const REPLY_BUFFER_SIZE = 1 << 20;

/** Encodes a whole reply message (header, one segment, its parts). */
export function encodeReply(options: {
  sessionId: bigint;
  packetCount: number;
  kind: number;
  functionCode: number;
  parts: readonly ReplyPart[];
}): Buffer {
  let remaining = REPLY_BUFFER_SIZE - MESSAGE_HEADER_LENGTH - SEGMENT_HEADER_LENGTH;
  const parts: Buffer[] = [];
  for (const part of options.parts) {
    const encoded = encodePart(part, remaining - PART_HEADER_LENGTH);
    remaining -= encoded.length;
    parts.push(encoded);
  }
  const partsLength = parts.reduce((n, b) => n + b.length, 0);
  const segment = Buffer.alloc(SEGMENT_HEADER_LENGTH);
  segment.writeInt32LE(SEGMENT_HEADER_LENGTH + partsLength, 0);
  segment.writeInt32LE(0, 4);
  segment.writeInt16LE(parts.length, 8);
  segment.writeInt16LE(1, 10);
  segment.writeInt8(options.kind, 12);
  segment.writeInt8(0, 13);
  segment.writeInt16LE(options.functionCode, 14);
  const varPartLength = SEGMENT_HEADER_LENGTH + partsLength;
  const header = Buffer.alloc(MESSAGE_HEADER_LENGTH);
  header.writeBigInt64LE(options.sessionId, 0);
  header.writeInt32LE(options.packetCount, 8);
  header.writeUInt32LE(varPartLength, 12);
  header.writeUInt32LE(Math.max(varPartLength, REPLY_BUFFER_SIZE - MESSAGE_HEADER_LENGTH), 16);
  header.writeInt16LE(1, 20);
  return Buffer.concat([header, segment, ...parts]);
}

// ---- Part payload codecs -------------------------------------------------------------------

/** "Fields" (used by AUTHENTICATION): uint16 count, then per field a length indicator and bytes. */
export function readFields(data: Buffer): Buffer[] {
  let offset = 0;
  const count = data.readUInt16LE(offset);
  offset += 2;
  const fields: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    let length = data.readUInt8(offset);
    offset += 1;
    if (length === 0xf6) {
      length = data.readUInt16LE(offset);
      offset += 2;
    } else if (length === 0xf7) {
      length = data.readUInt32LE(offset);
      offset += 4;
    } else if (length === 0xff) {
      length = data.readUInt16BE(offset);
      offset += 2;
    } else if (length > 0xf5) {
      throw new ProtocolError(`bad field length indicator ${length}`);
    }
    if (offset + length > data.length) throw new ProtocolError('truncated field');
    fields.push(data.subarray(offset, offset + length));
    offset += length;
  }
  return fields;
}

export function writeFields(fields: readonly Buffer[]): Buffer {
  const chunks: Buffer[] = [];
  const count = Buffer.alloc(2);
  count.writeUInt16LE(fields.length, 0);
  chunks.push(count);
  for (const f of fields) {
    if (f.length <= 0xf5) {
      chunks.push(Buffer.from([f.length]));
    } else if (f.length <= 0xffff) {
      const l = Buffer.alloc(3);
      l[0] = 0xf6;
      l.writeUInt16LE(f.length, 1);
      chunks.push(l);
    } else {
      const l = Buffer.alloc(5);
      l[0] = 0xf7;
      l.writeUInt32LE(f.length, 1);
      chunks.push(l);
    }
    chunks.push(f);
  }
  return Buffer.concat(chunks);
}

export type OptionValue =
  | { readonly type: 'boolean'; readonly value: boolean }
  | { readonly type: 'int'; readonly value: number }
  | { readonly type: 'bigint'; readonly value: bigint }
  | { readonly type: 'double'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'bstring'; readonly value: Buffer };

/** Option parts (CONNECTOPTIONS, CLIENTCONTEXT, ...): key byte, type byte, value. */
export function readOptions(data: Buffer, count: number): Map<number, OptionValue> {
  const out = new Map<number, OptionValue>();
  let offset = 0;
  for (let i = 0; i < count && offset + 2 <= data.length; i++) {
    const key = data.readUInt8(offset);
    const type = data.readUInt8(offset + 1);
    offset += 2;
    const fixed = type !== TypeCode.REAL ? FIXED_NUMBERS.get(type) : undefined;
    if (fixed !== undefined) {
      const value = fixed.read(data, offset);
      offset += fixed.width;
      out.set(
        key,
        typeof value === 'bigint'
          ? { type: 'bigint', value }
          : { type: type === TypeCode.DOUBLE ? 'double' : 'int', value },
      );
      continue;
    }
    switch (type) {
      case TypeCode.BOOLEAN:
        out.set(key, { type: 'boolean', value: data.readUInt8(offset) !== 0 });
        offset += 1;
        break;
      case TypeCode.STRING:
      case TypeCode.NSTRING:
      case TypeCode.BSTRING: {
        const length = data.readInt16LE(offset);
        offset += 2;
        const bytes = data.subarray(offset, offset + length);
        offset += length;
        out.set(
          key,
          type === TypeCode.BSTRING
            ? { type: 'bstring', value: Buffer.from(bytes) }
            : { type: 'string', value: bytes.toString('utf8') },
        );
        break;
      }
      default:
        // An option type we cannot size: stop here rather than misread the rest.
        return out;
    }
  }
  return out;
}

export function writeOptions(options: ReadonlyMap<number, OptionValue>): Buffer {
  const chunks: Buffer[] = [];
  for (const [key, opt] of options) {
    switch (opt.type) {
      case 'boolean':
        chunks.push(Buffer.from([key, TypeCode.BOOLEAN, opt.value ? 1 : 0]));
        break;
      case 'int': {
        const b = Buffer.alloc(6);
        b[0] = key;
        b[1] = TypeCode.INT;
        b.writeInt32LE(opt.value, 2);
        chunks.push(b);
        break;
      }
      case 'bigint': {
        const b = Buffer.alloc(10);
        b[0] = key;
        b[1] = TypeCode.BIGINT;
        b.writeBigInt64LE(opt.value, 2);
        chunks.push(b);
        break;
      }
      case 'double': {
        const b = Buffer.alloc(10);
        b[0] = key;
        b[1] = TypeCode.DOUBLE;
        b.writeDoubleLE(opt.value, 2);
        chunks.push(b);
        break;
      }
      case 'string':
      case 'bstring': {
        const bytes = opt.type === 'string' ? Buffer.from(opt.value, 'utf8') : opt.value;
        const b = Buffer.alloc(4);
        b[0] = key;
        b[1] = opt.type === 'string' ? TypeCode.STRING : TypeCode.BSTRING;
        b.writeInt16LE(bytes.length, 2);
        chunks.push(b, bytes);
        break;
      }
    }
  }
  return Buffer.concat(chunks);
}

/** ERROR part payload: code, position, text length, level, SQLSTATE (5), text, padded to 8. */
export function writeError(err: {
  code: number;
  position?: number;
  level?: number;
  sqlState: string;
  message: string;
}): Buffer {
  const text = Buffer.from(err.message, 'utf8');
  const out = Buffer.alloc(align8(18 + text.length));
  out.writeInt32LE(err.code, 0);
  out.writeInt32LE(err.position ?? 0, 4);
  out.writeInt32LE(text.length, 8);
  out.writeInt8(err.level ?? ErrorLevel.ERROR, 12);
  out.write(err.sqlState.padEnd(5, '0').slice(0, 5), 13, 'ascii');
  text.copy(out, 18);
  return out;
}
