/**
 * A raw client of the SQL wire protocol for the hostile tests: frames requests byte by byte (no
 * driver in between), so tests can time the server's answer to a login and send malformed or
 * oversized messages.
 */
import net from 'node:net';
import { writeFields } from '../../../src/standins/hana-wire/protocol.js';

export interface RawPart {
  readonly kind: number;
  readonly data: Buffer;
  readonly argumentCount?: number;
}

const pad8 = (n: number) => (n + 7) & ~7;

/** One request message: header, one segment, its parts (padded to 8 bytes). */
export function frame(messageType: number, parts: readonly RawPart[], packetCount = 0): Buffer {
  const partBufs = parts.map((p) => {
    const header = Buffer.alloc(16);
    header.writeInt8(p.kind, 0);
    header.writeInt16LE(p.argumentCount ?? 1, 2);
    header.writeInt32LE(p.data.length, 8);
    header.writeInt32LE(pad8(p.data.length), 12);
    const body = Buffer.alloc(pad8(p.data.length));
    p.data.copy(body);
    return Buffer.concat([header, body]);
  });
  const segmentBody = Buffer.concat(partBufs);
  const segment = Buffer.alloc(24);
  segment.writeInt32LE(24 + segmentBody.length, 0);
  segment.writeInt16LE(parts.length, 8);
  segment.writeInt16LE(1, 10);
  segment.writeInt8(1, 12); // REQUEST
  segment.writeInt8(messageType, 13);
  const varPart = Buffer.concat([segment, segmentBody]);
  const header = Buffer.alloc(32);
  header.writeInt32LE(packetCount, 8);
  header.writeUInt32LE(varPart.length, 12);
  header.writeUInt32LE(varPart.length, 16);
  header.writeInt16LE(1, 20);
  return Buffer.concat([header, varPart]);
}

export const INIT = Buffer.from([0xff, 0xff, 0xff, 0xff, 4, 20, 0, 4, 1, 0, 0, 1, 1, 1]);

export class RawClient {
  private buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
  readonly ended: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      for (const w of this.waiters.splice(0)) w();
    });
    this.ended = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        for (const w of this.waiters.splice(0)) w();
        resolve();
      }),
    );
    socket.on('error', () => {});
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Reads exactly n bytes, or null when the server closed first or `ms` passed. */
  async read(n: number, ms = 10_000): Promise<Buffer | null> {
    const end = Date.now() + ms;
    while (this.buffer.length < n) {
      if (this.closed || Date.now() > end) return null;
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, end - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    const out = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    return out;
  }

  /** Reads one reply message (header and var part), or null. */
  async reply(ms = 10_000): Promise<Buffer | null> {
    const header = await this.read(32, ms);
    if (!header) return null;
    const body = await this.read(header.readUInt32LE(12), ms);
    return body ? Buffer.concat([header, body]) : null;
  }

  async handshake(): Promise<boolean> {
    this.socket.write(INIT);
    return (await this.read(8)) !== null;
  }

  write(data: Buffer): void {
    if (!this.closed) this.socket.write(data);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** AUTHENTICATE then CONNECT as `user` with a made-up proof; resolves the ms the CONNECT took. */
export async function failedLogin(port: number, user: string, method = 'SCRAMPBKDF2SHA256'): Promise<number> {
  const c = await RawClient.connect(port);
  try {
    if (!(await c.handshake())) throw new Error('no handshake');
    const challenge = Buffer.alloc(64, 7);
    c.write(
      frame(65, [
        {
          kind: 33,
          data: writeFields([Buffer.from(user), Buffer.from(method), challenge]),
        },
      ]),
    );
    if (!(await c.reply())) throw new Error('no challenge');
    const proof = Buffer.concat([Buffer.from([1, 0, 32]), Buffer.alloc(32, 9)]);
    const started = performance.now();
    c.write(frame(66, [{ kind: 33, data: writeFields([Buffer.from(user), Buffer.from(method), proof]) }], 1));
    if (!(await c.reply())) throw new Error('no answer to CONNECT');
    return performance.now() - started;
  } finally {
    c.close();
  }
}
