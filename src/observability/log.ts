/**
 * Structured logs: winston, one JSON object per line, constant messages with the variable data
 * in fields (cluster, site, epoch, decision, reason...). A redaction layer runs before the JSON
 * is written: values under credential-like keys (password, pwd, token, secret, authorization,
 * api key, credentials) are replaced, and any value registered as a secret (at startup, or later
 * with addSecret) is cut out of every string, the message and error texts included.
 */
import { Writable } from 'node:stream';
import winston from 'winston';
import type { AgentEvent } from '../agent/agent.js';

export const REDACTED = '[REDACTED]';
/**
 * The shortest password or token hanasr accepts (HANA's own minimal_password_length default is
 * 8): every secret is redacted at any length, and one this short would make redaction cut
 * ordinary words out of the logs.
 */
export const MIN_SECRET_LENGTH = 8;
export const logLevels = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof logLevels)[number];
export type LogFields = Record<string, unknown>;

/** Keys whose values are never logged, wherever they appear in the object. */
export const SECRET_KEY_PATTERN =
  /pass(word|wd|phrase)?$|^pwd$|pwd|token|secret|authorization|api[-_]?key|credential|private[-_]?key|cookie/i;

export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  log(level: LogLevel, message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (shares the secrets and the output). */
  child(fields: LogFields): Logger;
  /** Registers a value that must never appear in a log line (a password read at startup...). */
  addSecret(value: string): void;
}

export interface LoggerOptions {
  /** Lowest level written (default info). */
  readonly level?: LogLevel;
  /** Values to cut out of every line. */
  readonly secrets?: readonly string[];
  /** Where the lines go (default stdout). */
  readonly stream?: NodeJS.WritableStream;
  /** Fields on every line (component, version...). */
  readonly fields?: LogFields;
}

/** Reads a level name (HANASR_LOG_LEVEL...), falling back to info on anything unknown. */
export function parseLogLevel(value: string | undefined, fallback: LogLevel = 'info'): LogLevel {
  const v = value?.trim().toLowerCase();
  return (logLevels as readonly string[]).includes(v ?? '') ? (v as LogLevel) : fallback;
}

/** The redaction rules, usable on their own (e.g. before putting an object in an Event). */
export class Redactor {
  private readonly secrets = new Set<string>();

  constructor(secrets: readonly string[] = []) {
    for (const s of secrets) this.add(s);
  }

  /**
   * Registers a secret of any length: it is cut out wherever it appears. (Short secrets would
   * blank out ordinary words, so the places that read credentials refuse ones shorter than
   * MIN_SECRET_LENGTH instead of weakening this.)
   */
  add(value: string): void {
    if (value.length > 0) this.secrets.add(value);
  }

  /** A string with every registered secret replaced (the longest first, so no part of one survives). */
  text(value: string): string {
    let out = value;
    const longestFirst = [...this.secrets].sort((a, b) => b.length - a.length);
    for (const s of longestFirst) if (out.includes(s)) out = out.split(s).join(REDACTED);
    return out;
  }

  /**
   * A deep copy of `value` that holds no credential; errors become plain objects. Only a real
   * cycle (an object inside itself) becomes "[Circular]"; an object shared by two fields is
   * copied twice.
   */
  value(value: unknown, ancestors: WeakSet<object> = new WeakSet()): unknown {
    if (typeof value === 'string') return this.text(value);
    if (typeof value === 'bigint') return value.toString();
    if (typeof value !== 'object' || value === null) return value;
    if (ancestors.has(value)) return '[Circular]';
    ancestors.add(value);
    try {
      return this.copy(value, ancestors);
    } finally {
      ancestors.delete(value);
    }
  }

  private copy(value: object, seen: WeakSet<object>): unknown {
    if (value instanceof Error) return this.error(value, seen);
    if (value instanceof Date) return value.toISOString();
    if (Buffer.isBuffer(value)) return `[Buffer ${value.length} bytes]`;
    if (Array.isArray(value)) return value.map((v) => this.value(v, seen));
    if (value instanceof Map) return this.value(Object.fromEntries(value), seen);
    if (value instanceof Set) return this.value([...value], seen);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = SECRET_KEY_PATTERN.test(k) && v !== undefined && v !== null ? REDACTED : this.value(v, seen);
    }
    return out;
  }

  private error(err: Error, seen: WeakSet<object>): Record<string, unknown> {
    const out: Record<string, unknown> = { name: err.name, message: this.text(err.message) };
    if (err.stack !== undefined) out['stack'] = this.text(err.stack);
    for (const [k, v] of Object.entries(err)) {
      out[k] = SECRET_KEY_PATTERN.test(k) && v !== undefined && v !== null ? REDACTED : this.value(v, seen);
    }
    if (err.cause !== undefined) out['cause'] = this.value(err.cause, seen);
    return out;
  }
}

/** Creates a JSON logger with redaction. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const redactor = new Redactor(options.secrets ?? []);
  const redact = winston.format((info) => {
    const clean = redactor.value({ ...info }) as Record<string, unknown>;
    for (const key of Object.keys(info)) delete (info as Record<string, unknown>)[key];
    Object.assign(info, clean);
    return info;
  });
  const stream = options.stream ?? process.stdout;
  const logger = winston.createLogger({
    level: options.level ?? 'info',
    levels: { error: 0, warn: 1, info: 2, debug: 3 },
    format: winston.format.combine(winston.format.timestamp(), redact(), winston.format.json()),
    defaultMeta: options.fields ?? {},
    transports: [new winston.transports.Stream({ stream: stream as Writable })],
  });
  return wrap(logger, redactor, {});
}

function wrap(logger: winston.Logger, redactor: Redactor, base: LogFields): Logger {
  const log = (level: LogLevel, message: string, fields: LogFields = {}): void => {
    // `message` and `level` are ours: a field of that name must not replace them.
    const { message: _m, level: _l, ...rest } = { ...base, ...fields };
    const extra = _m !== undefined ? { detail: _m } : {};
    logger.log(level, message, { ...rest, ...extra });
  };
  return {
    error: (m, f) => log('error', m, f),
    warn: (m, f) => log('warn', m, f),
    info: (m, f) => log('info', m, f),
    debug: (m, f) => log('debug', m, f),
    log,
    child: (fields) => wrap(logger, redactor, { ...base, ...fields }),
    addSecret: (value) => redactor.add(value),
  };
}

/** A logger that drops everything (the default where none is configured). */
export const silentLogger: Logger = {
  error: () => {},
  warn: () => {},
  info: () => {},
  debug: () => {},
  log: () => {},
  child: () => silentLogger,
  addSecret: () => {},
};

/** The operator's `LogFn` shape over a Logger. */
export function logFn(
  logger: Logger,
): (level: 'info' | 'warn' | 'error', message: string, fields: LogFields) => void {
  return (level, message, fields) => logger.log(level, message, fields);
}

/** The constant message of each kind of agent event. */
export const AGENT_EVENT_MESSAGES: Readonly<Record<string, string>> = {
  decision: 'agent decision',
  action: 'agent action done',
  'action-failed': 'agent action failed',
  refused: 'agent action refused',
  'store-write-failed': 'coordination store write failed',
  'store-write-recovered': 'coordination store write recovered',
  'cycle-superseded': 'agent cycle superseded',
  'leader-key-changed': 'agent woken by the leader key',
};

/**
 * One log line per agent event: the Agent emits a decision only when it differs from the last
 * one and every action result once, so every decision is logged once with its reason.
 */
export function logAgentEvent(logger: Logger, event: AgentEvent): void {
  const level: LogLevel =
    event.event === 'action-failed'
      ? 'error'
      : event.event === 'refused' || event.event === 'store-write-failed'
        ? 'warn'
        : 'info';
  logger.log(level, AGENT_EVENT_MESSAGES[event.event] ?? 'agent event', {
    cluster: event.cluster,
    site: event.site,
    epoch: event.epoch,
    event: event.event,
    decision: event.action,
    reason: event.reason,
    detail: event.message,
    at: new Date(event.t).toISOString(),
  });
}

/** An AgentOptions.onEvent that logs (and forwards to `next`, when given). */
export function agentEventLogger(logger: Logger, next?: (e: AgentEvent) => void): (e: AgentEvent) => void {
  return (e) => {
    logAgentEvent(logger, e);
    next?.(e);
  };
}

/** A stream that collects lines, for tests and the CLI's --json capture. */
export class LineCollector extends Writable {
  readonly lines: string[] = [];
  private buf = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: (error?: Error | null) => void): void {
    this.buf += chunk.toString();
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      this.lines.push(this.buf.slice(0, nl));
      this.buf = this.buf.slice(nl + 1);
    }
    cb();
  }
  /** Every line parsed as JSON. */
  objects(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}
