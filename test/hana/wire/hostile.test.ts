/**
 * `hanasr hana-sim`'s wire server against hostile clients: oversized messages are cut off, idle
 * unauthenticated connections are closed, a login with an unknown user costs the same as one with
 * a wrong password (no user enumeration by timing), malformed frames close only their own
 * connection, and after any of it the server still serves a real driver. Fuzzing is bounded in
 * runs and time.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { startHanaWireServer, type HanaWireServer } from '../../../src/standins/hana-wire/server.js';
import { PASSWORD, USER, connectHanaClient, primarySnapshot } from './helpers.js';
import { INIT, RawClient, failedLogin, frame } from './raw-client.js';

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function server(
  extra: Partial<Parameters<typeof startHanaWireServer>[0]> = {},
): Promise<HanaWireServer> {
  const s = await startHanaWireServer({
    port: 0,
    user: USER,
    password: PASSWORD,
    snapshot: () => primarySnapshot(),
    ...extra,
  });
  closers.push(() => s.close());
  return s;
}

/** A real driver still logs in and reads DUMMY. */
async function stillServes(port: number): Promise<void> {
  const client = await connectHanaClient(port);
  try {
    expect(await client.exec('SELECT * FROM DUMMY')).toEqual([{ DUMMY: 'X' }]);
  } finally {
    await client.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('hana-sim wire server under hostile clients', () => {
  it('closes a connection whose message announces more than the size cap', async () => {
    const s = await server();
    const c = await RawClient.connect(s.port);
    expect(await c.handshake()).toBe(true);
    const header = Buffer.alloc(32);
    header.writeUInt32LE(64 * 1024 * 1024, 12); // 64 MiB announced
    header.writeInt16LE(1, 20);
    c.write(header);
    c.write(Buffer.alloc(64 * 1024, 1));
    await Promise.race([c.ended, new Promise((r) => setTimeout(r, 3000))]);
    expect(c.closed).toBe(true);
    await stillServes(s.port);
  });

  it('closes an unauthenticated connection that stays idle past the login deadline', async () => {
    const s = await server({ loginTimeoutMs: 300 });
    const silent = await RawClient.connect(s.port);
    const handshaken = await RawClient.connect(s.port);
    expect(await handshaken.handshake()).toBe(true);
    await Promise.race([
      Promise.all([silent.ended, handshaken.ended]),
      new Promise((r) => setTimeout(r, 5000)),
    ]);
    expect([silent.closed, handshaken.closed]).toEqual([true, true]);
    // A logged-in session is not cut by that deadline.
    const client = await connectHanaClient(s.port);
    await new Promise((r) => setTimeout(r, 600));
    expect(await client.exec('SELECT * FROM DUMMY')).toEqual([{ DUMMY: 'X' }]);
    await client.close();
  });

  it('an unknown user takes as long to refuse as a wrong password (no user enumeration by timing)', async () => {
    // Many PBKDF2 iterations make the server's proof check the bulk of the answer time.
    const s = await server({ authMethods: ['SCRAMPBKDF2SHA256'], pbkdf2Iterations: 200_000 });
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 5; i++) {
      known.push(await failedLogin(s.port, USER));
      unknown.push(await failedLogin(s.port, `NOBODY_${i}`));
    }
    expect(median(unknown)).toBeGreaterThan(0.5 * median(known));
    expect(median(known)).toBeGreaterThan(0.5 * median(unknown));
  });

  it('a malformed frame closes its own connection quickly; the server keeps serving', async () => {
    const s = await server();
    const c = await RawClient.connect(s.port);
    expect(await c.handshake()).toBe(true);
    // 32767 segments whose negative lengths would walk the same bytes over and over.
    const varPart = Buffer.alloc(24 + 16);
    varPart.writeInt32LE(-24, 0);
    varPart.writeInt16LE(32767, 8);
    varPart.writeInt8(1, 12);
    varPart.writeInt8(2, 13);
    varPart.writeInt8(3, 24); // part: COMMAND
    varPart.writeInt32LE(-40, 24 + 8);
    const header = Buffer.alloc(32);
    header.writeUInt32LE(varPart.length, 12);
    header.writeInt16LE(32767, 20);
    const started = performance.now();
    c.write(Buffer.concat([header, varPart]));
    await Promise.race([c.ended, new Promise((r) => setTimeout(r, 5000))]);
    expect(c.closed).toBe(true);
    expect(performance.now() - started).toBeLessThan(5000);
    await stillServes(s.port);
  });

  it('fuzz: random frames and bytes never take the server down (bounded)', async () => {
    const s = await server({ loginTimeoutMs: 2000 });
    const message = fc.oneof(
      fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
      fc
        .record({
          type: fc.integer({ min: -128, max: 127 }),
          parts: fc.array(
            fc.record({
              kind: fc.integer({ min: -128, max: 127 }),
              data: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
              argumentCount: fc.integer({ min: -1, max: 40 }),
            }),
            { maxLength: 4 },
          ),
        })
        .map(({ type, parts }) => frame(type, parts)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(message, { minLength: 1, maxLength: 4 }),
        async (init, messages) => {
          const c = await RawClient.connect(s.port);
          try {
            if (init) c.write(INIT);
            for (const m of messages) c.write(m);
            await c.read(1, 50);
          } finally {
            c.close();
          }
        },
      ),
      { numRuns: 60, interruptAfterTimeLimit: 20_000, seed: 20261206 },
    );
    await stillServes(s.port);
  }, 60_000);
});
