/**
 * The TCP proxy's slow mode (the chaos suite's slow links): every chunk arrives at least the
 * delay late, each way, and the byte stream keeps its order across a change of delay and a heal.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpProxy } from '../../src/net/tcp-proxy.js';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function echoServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  open.push({ close: () => new Promise<void>((r) => server.close(() => r())) });
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0 };
}

function client(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
    open.push({ close: () => s.destroy() });
  });
}

describe('TcpProxy slow mode', () => {
  it('delays each direction and keeps the bytes in order through a change of delay and a heal', async () => {
    const { port } = await echoServer();
    const proxy = await TcpProxy.start(`127.0.0.1:${port}`);
    open.push(proxy);
    const s = await client(proxy.port);
    let received = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (received += d));

    proxy.slow(150);
    expect(proxy.mode).toBe('slow');
    const sent = Date.now();
    s.write('a');
    await new Promise<void>((r) => {
      const t = setInterval(() => {
        if (received === 'a') {
          clearInterval(t);
          r();
        }
      }, 5);
    });
    // Out and back: at least the delay each way.
    expect(Date.now() - sent).toBeGreaterThanOrEqual(290);

    // A long delay, then a short one, then none: nothing overtakes what was sent before it.
    proxy.slow(300);
    s.write('b');
    proxy.slow(10);
    s.write('c');
    await proxy.heal();
    s.write('d');
    await new Promise<void>((r) => {
      const t = setInterval(() => {
        if (received.length === 4) {
          clearInterval(t);
          r();
        }
      }, 5);
    });
    expect(received).toBe('abcd');
    expect(() => proxy.slow(-1)).toThrow(RangeError);
  });
});
