import { describe, expect, it } from 'vitest';
import { EtcdConfigError, parseEtcdConfig, redactEtcdConfig } from '../../src/coordination/config.js';
import { EtcdCoordination } from '../../src/coordination/etcd.js';
import { CoordinationUnavailableError } from '../../src/coordination/port.js';

function problems(input: unknown): string[] {
  try {
    parseEtcdConfig(input);
  } catch (err) {
    expect(err).toBeInstanceOf(EtcdConfigError);
    return [...(err as EtcdConfigError).problems];
  }
  throw new Error('expected the config to be refused');
}

describe('etcd configuration', () => {
  it('fills defaults', () => {
    expect(parseEtcdConfig({ endpoints: ['http://127.0.0.1:2379'] })).toEqual({
      endpoints: ['http://127.0.0.1:2379'],
      leaseTtlSeconds: 10,
      keyPrefix: '/hanasr',
      callTimeoutMs: 1000,
    });
  });

  it('names the field of every problem', () => {
    expect(problems({ endpoints: [] })).toEqual(['endpoints: needs at least one etcd endpoint']);
    expect(problems({ endpoints: ['etcd:2379'] })[0]).toMatch(/^endpoints\.0: must be a URL/);
    expect(problems({ endpoints: ['http://a:1'], leaseTtlSeconds: 0.5 })[0]).toMatch(/^leaseTtlSeconds: /);
    expect(problems({ endpoints: ['http://a:1'], keyPrefix: 'hanasr/' })[0]).toMatch(
      /^keyPrefix: must start/,
    );
    expect(problems({ endpoints: ['http://a:1', 'https://b:2'] })).toEqual([
      'endpoints: mixes http:// and https:// endpoints',
    ]);
    expect(problems({ endpoints: ['https://a:1'], tls: { caFile: '/ca', certFile: '/c' } })).toEqual([
      'tls: certFile and keyFile go together: give both or neither',
    ]);
    expect(problems({ endpoints: ['http://a:1'], tls: { caFile: '/ca' } })).toEqual([
      'tls: is set but the endpoints use http://',
    ]);
    expect(problems({ endpoints: ['http://a:1'], leaseTtlSeconds: 1, callTimeoutMs: 800 })[0]).toMatch(
      /^callTimeoutMs: must be at most half of leaseTtlSeconds/,
    );
    expect(problems({ endpoints: ['http://a:1'], pasword: 'x' })).toEqual([
      '(config): unknown field(s) pasword',
    ]);
  });

  it('never echoes the password, in errors or in the redacted form', () => {
    const secret = 'hunter2-Sup3rSecret';
    const errs = problems({
      endpoints: ['http://a:1'],
      auth: { username: 'hanasr', password: 42 },
      leaseTtlSeconds: secret,
    });
    expect(errs.join('\n')).not.toContain(secret);
    const config = parseEtcdConfig({
      endpoints: ['http://a:1'],
      auth: { username: 'hanasr', password: secret },
    });
    expect(JSON.stringify(redactEtcdConfig(config))).not.toContain(secret);
    expect(redactEtcdConfig(config)).toMatchObject({ auth: { username: 'hanasr', password: '<redacted>' } });
  });

  it('an unreachable etcd with a password: the error is a timeout that does not carry the password', async () => {
    const secret = 'pw-Never-In-Logs-77';
    // Port 9 on loopback: nothing listens; the client fails within the deadline.
    const c = new EtcdCoordination({
      endpoints: ['http://127.0.0.1:9'],
      auth: { username: 'hanasr', password: secret },
      callTimeoutMs: 200,
      leaseTtlSeconds: 1,
    });
    try {
      const err = await c.read('x').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CoordinationUnavailableError);
      expect(String((err as Error).message)).not.toContain(secret);
      expect(String((err as Error).stack)).not.toContain(secret);
    } finally {
      await c.close();
    }
  });
});
