/**
 * Typed values on the wire: result-set cells (no type prefix, per-type NULL encodings) and
 * input parameters (one type-code byte before each value, type | 0x80 for NULL), as SAP's
 * protocol reference defines them.
 */
import { FIXED_NUMBERS, ProtocolError, TypeCode } from './protocol.js';

/** The SQL types our front end knows. */
export type SqlType =
  'NVARCHAR' | 'VARCHAR' | 'INTEGER' | 'BIGINT' | 'TINYINT' | 'DOUBLE' | 'DECIMAL' | 'TIMESTAMP' | 'BOOLEAN';

/** A value inside the simulator. TIMESTAMP is a Date; DECIMAL is its decimal text. */
export type SqlValue = string | number | bigint | boolean | Date | null;

export interface Column {
  readonly name: string;
  readonly type: SqlType;
  /** NVARCHAR length or DECIMAL precision */
  readonly length?: number;
  /** DECIMAL scale */
  readonly scale?: number;
  readonly nullable?: boolean;
  readonly table?: string;
  readonly schema?: string;
}

/** Data format version from which TIMESTAMP travels as LONGDATE (SAP: "extended date/time support"). */
const LONGDATE_FROM_VERSION = 3;

export function wireTypeCode(column: Column, dataFormatVersion: number): number {
  switch (column.type) {
    case 'NVARCHAR':
      return TypeCode.NVARCHAR;
    case 'VARCHAR':
      return TypeCode.VARCHAR;
    case 'INTEGER':
      return TypeCode.INT;
    case 'BIGINT':
      return TypeCode.BIGINT;
    case 'TINYINT':
      return TypeCode.TINYINT;
    case 'DOUBLE':
      return TypeCode.DOUBLE;
    case 'DECIMAL':
      return TypeCode.DECIMAL;
    case 'TIMESTAMP':
      return dataFormatVersion >= LONGDATE_FROM_VERSION ? TypeCode.LONGDATE : TypeCode.TIMESTAMP;
    case 'BOOLEAN':
      return TypeCode.BOOLEAN;
  }
}

export function columnLength(column: Column): number {
  switch (column.type) {
    case 'NVARCHAR':
    case 'VARCHAR':
      return column.length ?? 5000;
    case 'INTEGER':
      return 10;
    case 'BIGINT':
      return 19;
    case 'TINYINT':
      return 3;
    case 'DOUBLE':
      return 15;
    case 'DECIMAL':
      return column.length ?? 34;
    case 'TIMESTAMP':
      return 27;
    case 'BOOLEAN':
      return 1;
  }
}

export function columnFraction(column: Column): number {
  if (column.type === 'DECIMAL') return column.scale ?? 32767;
  if (column.type === 'TIMESTAMP') return 7;
  return 0;
}

// ---- dates ---------------------------------------------------------------------------------

/** Days from 0001-01-01 to 1970-01-01 in the proleptic Gregorian calendar. */
const DAYS_TO_EPOCH = 719162n;
const TICKS_PER_MS = 10000n;
const MS_PER_DAY = 86400000n;
/** LONGDATE's NULL: 9999-12-31 23:59:59.9999999 + 2 ticks. */
const LONGDATE_NULL = 3155380704000000001n;

function longdate(date: Date): bigint {
  return (BigInt(date.getTime()) + DAYS_TO_EPOCH * MS_PER_DAY) * TICKS_PER_MS + 1n;
}

function fromLongdate(value: bigint): Date {
  return new Date(Number((value - 1n) / TICKS_PER_MS - DAYS_TO_EPOCH * MS_PER_DAY));
}

// ---- decimal128 (IEEE 754 BID, as HANA's DECIMAL) --------------------------------------------

const DECIMAL_EXPONENT_BIAS = 6176;

export function encodeDecimal(text: string): Buffer {
  const m = /^([+-])?(\d*)(?:\.(\d*))?$/.exec(text.trim());
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new ProtocolError(`not a decimal: ${text}`);
  const negative = m[1] === '-';
  const fraction = m[3] ?? '';
  const coefficient = BigInt((m[2] ?? '') + fraction || '0');
  const exponent = -fraction.length + DECIMAL_EXPONENT_BIAS;
  let bits = coefficient | (BigInt(exponent) << 113n);
  if (negative) bits |= 1n << 127n;
  const out = Buffer.alloc(16);
  out.writeBigUInt64LE(bits & 0xffffffffffffffffn, 0);
  out.writeBigUInt64LE(bits >> 64n, 8);
  return out;
}

export function decodeDecimal(buf: Buffer, offset: number): string | null {
  if ((buf.readUInt8(offset + 15) & 0x70) === 0x70) return null;
  const bits = buf.readBigUInt64LE(offset) | (buf.readBigUInt64LE(offset + 8) << 64n);
  const negative = bits >> 127n === 1n;
  const exponent = Number((bits >> 113n) & 0x3fffn) - DECIMAL_EXPONENT_BIAS;
  const coefficient = bits & ((1n << 113n) - 1n);
  let digits = coefficient.toString();
  if (exponent >= 0) digits += '0'.repeat(exponent);
  else {
    const scale = -exponent;
    digits = digits.padStart(scale + 1, '0');
    digits = `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  }
  return negative ? `-${digits}` : digits;
}

function decimalNull(): Buffer {
  const out = Buffer.alloc(16);
  out[15] = 0x70;
  return out;
}

// ---- result-set cells -----------------------------------------------------------------------

function lengthIndicator(length: number): Buffer {
  if (length <= 245) return Buffer.from([length]);
  if (length <= 0x7fff) {
    const b = Buffer.alloc(3);
    b[0] = 246;
    b.writeInt16LE(length, 1);
    return b;
  }
  const b = Buffer.alloc(5);
  b[0] = 247;
  b.writeInt32LE(length, 1);
  return b;
}

function asNumber(value: SqlValue): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string') return Number(value);
  if (value instanceof Date) return value.getTime();
  return 0;
}

function asBigInt(value: SqlValue): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'string') return BigInt(value);
  return BigInt(Math.trunc(asNumber(value)));
}

function asText(value: SqlValue): string {
  if (value instanceof Date) return value.toISOString().replace('T', ' ').replace('Z', '');
  return String(value);
}

/** Encodes one cell of a result set row. */
export function encodeCell(column: Column, value: SqlValue, dataFormatVersion: number): Buffer {
  switch (column.type) {
    case 'NVARCHAR':
    case 'VARCHAR': {
      if (value === null) return Buffer.from([0xff]);
      const bytes = Buffer.from(asText(value), 'utf8');
      return Buffer.concat([lengthIndicator(bytes.length), bytes]);
    }
    case 'INTEGER': {
      const b = Buffer.alloc(5);
      if (value === null) return b.subarray(0, 1);
      b[0] = 1;
      b.writeInt32LE(asNumber(value) | 0, 1);
      return b;
    }
    case 'TINYINT': {
      if (value === null) return Buffer.from([0]);
      return Buffer.from([1, asNumber(value) & 0xff]);
    }
    case 'BIGINT': {
      const b = Buffer.alloc(9);
      if (value === null) return b.subarray(0, 1);
      b[0] = 1;
      b.writeBigInt64LE(asBigInt(value), 1);
      return b;
    }
    case 'DOUBLE': {
      const b = Buffer.alloc(8, 0xff);
      if (value !== null) b.writeDoubleLE(asNumber(value), 0);
      return b;
    }
    case 'DECIMAL':
      return value === null ? decimalNull() : encodeDecimal(asText(value));
    case 'BOOLEAN':
      if (value === null) return Buffer.from([1]);
      return Buffer.from([value === true || value === 1 || value === 'TRUE' ? 2 : 0]);
    case 'TIMESTAMP': {
      const date = value === null ? null : value instanceof Date ? value : new Date(asNumber(value));
      if (dataFormatVersion >= LONGDATE_FROM_VERSION) {
        const b = Buffer.alloc(8);
        b.writeBigInt64LE(date === null ? LONGDATE_NULL : longdate(date), 0);
        return b;
      }
      const b = Buffer.alloc(8);
      if (date === null) return b;
      b.writeUInt16LE(date.getUTCFullYear() | 0x8000, 0);
      b[2] = date.getUTCMonth();
      b[3] = date.getUTCDate();
      b[4] = date.getUTCHours() | 0x80;
      b[5] = date.getUTCMinutes();
      b.writeUInt16LE(date.getUTCSeconds() * 1000 + date.getUTCMilliseconds(), 6);
      return b;
    }
  }
}

// ---- input parameters -----------------------------------------------------------------------

export interface ParamReader {
  offset: number;
}

function readLength(buf: Buffer, r: ParamReader): number {
  const first = buf.readUInt8(r.offset);
  r.offset += 1;
  if (first <= 245) return first;
  if (first === 246) {
    const l = buf.readInt16LE(r.offset);
    r.offset += 2;
    return l;
  }
  if (first === 247) {
    const l = buf.readInt32LE(r.offset);
    r.offset += 4;
    return l;
  }
  throw new ProtocolError(`bad length indicator ${first}`);
}

/** Reads one type-prefixed input parameter value. */
export function readParameter(buf: Buffer, r: ParamReader): SqlValue {
  const code = buf.readUInt8(r.offset);
  r.offset += 1;
  if (code === TypeCode.NULL || code & 0x80) return null;
  const fixed = FIXED_NUMBERS.get(code);
  if (fixed !== undefined) {
    const v = fixed.read(buf, r.offset);
    r.offset += fixed.width;
    return v;
  }
  switch (code) {
    case TypeCode.DECIMAL: {
      const v = decodeDecimal(buf, r.offset);
      r.offset += 16;
      return v;
    }
    case TypeCode.BOOLEAN: {
      const v = buf.readUInt8(r.offset);
      r.offset += 1;
      return v === 1 ? null : v === 2;
    }
    case TypeCode.CHAR:
    case TypeCode.VARCHAR:
    case TypeCode.NCHAR:
    case TypeCode.NVARCHAR:
    case TypeCode.STRING:
    case TypeCode.NSTRING:
    case TypeCode.SHORTTEXT:
    case TypeCode.ALPHANUM:
    case TypeCode.VARCHAR2:
    case TypeCode.BINARY:
    case TypeCode.VARBINARY:
    case TypeCode.BSTRING: {
      const length = readLength(buf, r);
      const v = buf.toString('utf8', r.offset, r.offset + length);
      r.offset += length;
      return v;
    }
    case TypeCode.LONGDATE: {
      const v = buf.readBigInt64LE(r.offset);
      r.offset += 8;
      return v === LONGDATE_NULL || v === 0n ? null : fromLongdate(v);
    }
    case TypeCode.SECONDDATE: {
      const v = buf.readBigInt64LE(r.offset);
      r.offset += 8;
      return new Date(Number((v - 1n - DAYS_TO_EPOCH * 86400n) * 1000n));
    }
    case TypeCode.TIMESTAMP: {
      const year = buf.readUInt16LE(r.offset) & 0x3fff;
      const month = buf.readUInt8(r.offset + 2);
      const day = buf.readUInt8(r.offset + 3);
      const hour = buf.readUInt8(r.offset + 4) & 0x7f;
      const minute = buf.readUInt8(r.offset + 5);
      const ms = buf.readUInt16LE(r.offset + 6);
      r.offset += 8;
      return new Date(Date.UTC(year, month, day, hour, minute, 0, ms));
    }
    case TypeCode.DATE: {
      const year = buf.readUInt16LE(r.offset) & 0x3fff;
      const month = buf.readUInt8(r.offset + 2);
      const day = buf.readUInt8(r.offset + 3);
      r.offset += 4;
      return new Date(Date.UTC(year, month, day));
    }
    default:
      throw new ProtocolError(`unsupported parameter type code ${code}`);
  }
}
