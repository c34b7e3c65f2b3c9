import { describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../src/agent/agent.js';
import {
  LineCollector,
  REDACTED,
  agentEventLogger,
  createLogger,
  parseLogLevel,
} from '../../src/observability/log.js';

const PASSWORD = 'S3cr3t-Passw0rd!';

function setup(level: 'debug' | 'info' | 'warn' = 'info', secrets: string[] = [PASSWORD]) {
  const out = new LineCollector();
  const logger = createLogger({ level, secrets, stream: out, fields: { component: 'test' } });
  return { out, logger };
}

/** Winston writes on the next tick. */
const flush = () => new Promise<void>((r) => setImmediate(r));

describe('JSON logs', () => {
  it('writes one JSON object per line with a constant message and the fields', async () => {
    const { out, logger } = setup();
    logger.info('takeover started', { cluster: 'hana.ha1', site: 'B', epoch: 4, reason: 'primary_failed' });
    logger.warn('lease renewal failed', { cluster: 'hana.ha1', site: 'A' });
    await flush();
    expect(out.lines).toHaveLength(2);
    const [first, second] = out.objects();
    expect(first).toMatchObject({
      level: 'info',
      message: 'takeover started',
      cluster: 'hana.ha1',
      site: 'B',
      epoch: 4,
      reason: 'primary_failed',
      component: 'test',
    });
    expect(typeof first?.['timestamp']).toBe('string');
    expect(second).toMatchObject({ level: 'warn', message: 'lease renewal failed' });
  });

  it('honours the configured level', async () => {
    const { out, logger } = setup('warn');
    logger.debug('probe detail');
    logger.info('probe ok');
    logger.warn('probe slow');
    logger.error('probe failed');
    await flush();
    expect(out.objects().map((o) => o['message'])).toEqual(['probe slow', 'probe failed']);
    expect(parseLogLevel('DEBUG')).toBe('debug');
    expect(parseLogLevel('verbose')).toBe('info');
    expect(parseLogLevel(undefined, 'warn')).toBe('warn');
  });

  it('a field named message does not replace the constant message', async () => {
    const { out, logger } = setup();
    logger.info('rw service moved', { message: 'variable text', to: 'B' });
    await flush();
    expect(out.objects()[0]).toMatchObject({ message: 'rw service moved', detail: 'variable text', to: 'B' });
  });

  it('child loggers add their fields to every line', async () => {
    const { out, logger } = setup();
    logger.child({ cluster: 'hana.ha1', site: 'A' }).info('probe ok', { durationSeconds: 0.2 });
    await flush();
    expect(out.objects()[0]).toMatchObject({ cluster: 'hana.ha1', site: 'A', durationSeconds: 0.2 });
  });
});

describe('redaction: no credential ever reaches the output', () => {
  it('removes credential-like keys anywhere in the object', async () => {
    const { out, logger } = setup('info', []);
    logger.info('connecting', {
      user: 'SYSTEM',
      password: 'hunter2hunter2',
      nested: { deeper: [{ pwd: 'pwd-value-1' }, { apiKey: 'key-value-2' }], token: 'tok-value-3' },
      headers: { Authorization: 'Bearer tok-value-4' },
      clientSecret: 'sec-value-5',
      HANA_PASSWORD: 'pw-value-6',
    });
    await flush();
    const line = out.lines.join('\n');
    for (const v of [
      'hunter2hunter2',
      'pwd-value-1',
      'key-value-2',
      'tok-value-3',
      'tok-value-4',
      'sec-value-5',
      'pw-value-6',
    ]) {
      expect(line).not.toContain(v);
    }
    const obj = out.objects()[0]!;
    expect(obj).toMatchObject({
      user: 'SYSTEM',
      password: REDACTED,
      clientSecret: REDACTED,
      HANA_PASSWORD: REDACTED,
    });
  });

  it('cuts registered secret values out of messages, fields under innocent keys and errors', async () => {
    const { out, logger } = setup();
    const err = new Error(`login failed for SYSTEM with ${PASSWORD}`);
    (err as Error & { connection?: unknown }).connection = { host: 'hana-a', pass: PASSWORD };
    logger.error(`connect string SYSTEM/${PASSWORD}@hana-a`, {
      error: err,
      command: `hdbsql -u SYSTEM -p ${PASSWORD} -n hana-a`,
      list: ['a', `x${PASSWORD}y`],
      cause: new Error('wrapped', { cause: new Error(`inner ${PASSWORD}`) }),
    });
    await flush();
    const line = out.lines.join('\n');
    expect(line).not.toContain(PASSWORD);
    const obj = out.objects()[0]!;
    expect(obj['message']).toBe(`connect string SYSTEM/${REDACTED}@hana-a`);
    expect(obj['command']).toBe(`hdbsql -u SYSTEM -p ${REDACTED} -n hana-a`);
    expect(obj['error']).toMatchObject({
      name: 'Error',
      message: `login failed for SYSTEM with ${REDACTED}`,
    });
  });

  it('secrets added after startup are redacted too; circular objects do not break the logger', async () => {
    const { out, logger } = setup('info', []);
    logger.addSecret('late-secret-value');
    const loop: Record<string, unknown> = { note: 'has late-secret-value inside' };
    loop['self'] = loop;
    logger.child({ site: 'A' }).info('state', { loop });
    await flush();
    expect(out.lines[0]).not.toContain('late-secret-value');
    expect(out.objects()[0]).toMatchObject({ loop: { self: '[Circular]' } });
  });

  it('an object shared by two fields is logged twice, not mistaken for a cycle', async () => {
    const { out, logger } = setup('info', []);
    const takeover = { from: 'A', to: 'B', password: 'hunter22' };
    logger.info('status', { lastTakeover: takeover, history: [takeover] });
    await flush();
    expect(out.objects()[0]).toMatchObject({
      lastTakeover: { from: 'A', to: 'B', password: REDACTED },
      history: [{ from: 'A', to: 'B', password: REDACTED }],
    });
  });
});

describe('agent events as log lines', () => {
  const base: Omit<AgentEvent, 'event' | 'action' | 'reason' | 'message'> = {
    t: Date.UTC(2026, 0, 5, 8),
    cluster: 'hana.ha1',
    site: 'B',
    epoch: 3,
  };

  it('logs every decision and action once, with its reason and a constant message', async () => {
    const { out, logger } = setup();
    const forwarded: AgentEvent[] = [];
    const onEvent = agentEventLogger(logger, (e) => forwarded.push(e));
    const events: AgentEvent[] = [
      {
        ...base,
        event: 'decision',
        action: 'takeover',
        reason: 'primary_failed',
        message: 'A failed 3 probes',
      },
      {
        ...base,
        event: 'action',
        action: 'takeover',
        reason: 'takeover_done',
        message: 'B is primary at epoch 4',
      },
      { ...base, event: 'refused', action: 'register', reason: 'stale_epoch', message: 'register refused' },
      { ...base, event: 'action-failed', action: 'fence', reason: 'fence_failed', message: 'stop timed out' },
    ];
    for (const e of events) onEvent(e);
    await flush();
    expect(forwarded).toEqual(events);
    expect(out.objects().map((o) => [o['level'], o['message'], o['decision'], o['reason']])).toEqual([
      ['info', 'agent decision', 'takeover', 'primary_failed'],
      ['info', 'agent action done', 'takeover', 'takeover_done'],
      ['warn', 'agent action refused', 'register', 'stale_epoch'],
      ['error', 'agent action failed', 'fence', 'fence_failed'],
    ]);
    expect(out.objects()[0]).toMatchObject({
      cluster: 'hana.ha1',
      site: 'B',
      epoch: 3,
      detail: 'A failed 3 probes',
    });
  });
});

describe('Redactor at any length', () => {
  it('cuts out a registered secret of one, two or three characters too', async () => {
    const { Redactor } = await import('../../src/observability/log.js');
    const r = new Redactor(['x', 'q7', 'k9z']);
    expect(r.text('axb q7 k9z!')).toBe(`a${REDACTED}b ${REDACTED} ${REDACTED}!`);
    expect(r.value({ detail: 'pw=q7' })).toEqual({ detail: `pw=${REDACTED}` });
  });

  it('a logger redacts a short secret added at any time', async () => {
    const { out, logger } = setup('info', []);
    logger.addSecret('Zq');
    logger.info('probe failed', { error: 'login Zq refused' });
    await flush();
    expect(out.lines.join('')).not.toContain('Zq');
  });
});

describe('log timestamps', () => {
  it('every line carries an ISO 8601 UTC timestamp to the millisecond', async () => {
    const { out, logger } = setup();
    const before = Date.now();
    logger.info('agent decision', { site: 'B' });
    await flush();
    const ts = String(out.objects()[0]?.['timestamp']);
    expect(ts).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(Date.parse(ts)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(ts)).toBeLessThanOrEqual(Date.now());
  });
});
