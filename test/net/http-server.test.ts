/** The one HTTP server helper: body limits (413), JSON (400), authorization first, the address bound, deadlines. */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  HttpError,
  readJson,
  sendJson,
  startHttpServer,
  type RunningHttpServer,
} from '../../src/net/http-server.js';

let server: RunningHttpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
    signal: AbortSignal.timeout(5000),
  });

describe('startHttpServer', () => {
  it('answers 413 to a body over the limit, 400 to one that is not JSON, and runs the route otherwise', async () => {
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      handle: async (req, res) => sendJson(res, 200, { got: await readJson(req, 64) }),
    });
    const big = await post(server.url, JSON.stringify({ x: 'y'.repeat(100) }));
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({ error: 'request body too large' });
    // A body that does not say its length is cut off while it is read.
    const streamed = await fetch(server.url, {
      method: 'POST',
      body: new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode('"' + 'z'.repeat(200) + '"'));
          c.close();
        },
      }),
      duplex: 'half',
      signal: AbortSignal.timeout(5000),
    } as RequestInit);
    expect(streamed.status).toBe(413);
    const bad = await post(server.url, '{not json');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'the body is not JSON' });
    const ok = await post(server.url, '{"a":1}');
    expect(await ok.json()).toEqual({ got: { a: 1 } });
  });

  it('refuses before the route runs when authorize says so, and answers 500 without a stack', async () => {
    let ran = 0;
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      authorize: (req) =>
        req.headers.authorization === 'Bearer t' ? null : new HttpError(401, 'token required'),
      handle: () => {
        ran++;
        throw new Error('boom');
      },
    });
    const refused = await post(server.url, '{"a":1}');
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: 'token required' });
    expect(ran).toBe(0);
    const failed = await post(server.url, '{}', { authorization: 'Bearer t' });
    expect(failed.status).toBe(500);
    expect(await failed.text()).toBe('{"error":"boom"}');
    expect(ran).toBe(1);
  });

  it('says which address it bound (every interface: a loopback URL to reach it)', async () => {
    server = await startHttpServer({
      host: '0.0.0.0',
      port: 0,
      handle: (_req, res) => sendJson(res, 200, {}),
    });
    expect(server.address).toBe(`0.0.0.0:${server.port}`);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
  });

  it('cuts off a client that does not finish its headers within the deadline', async () => {
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      headersTimeoutMs: 300,
      requestTimeoutMs: 300,
      handle: (_req, res) => sendJson(res, 200, {}),
    });
    const socket = connect(server.port, '127.0.0.1');
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('close', () => resolve(text));
      // A guard against a hung test, not a timing assertion.
      setTimeout(() => socket.destroy(), 10_000);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });
});
