/** Reading input files of the CLI with a size bound. */
import { open } from 'node:fs/promises';

/**
 * The text of a file (a path) or a stream (stdin), UTF-8, when it has at most `maxBytes` bytes;
 * undefined when it has more. At most maxBytes + 1 bytes are read, so a huge file or an endless
 * stream (/dev/zero) is refused at once instead of filling the memory.
 */
export async function readBounded(
  source: string | AsyncIterable<Buffer | string>,
  maxBytes: number,
): Promise<string | undefined> {
  if (typeof source === 'string') {
    const handle = await open(source, 'r');
    try {
      const buffer = Buffer.alloc(maxBytes + 1);
      let length = 0;
      while (length < buffer.length) {
        const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
        if (bytesRead === 0) break;
        length += bytesRead;
      }
      return length > maxBytes ? undefined : buffer.subarray(0, length).toString('utf8');
    } finally {
      await handle.close();
    }
  }
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of source) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    chunks.push(bytes);
    length += bytes.length;
    if (length > maxBytes) return undefined;
  }
  return Buffer.concat(chunks).toString('utf8');
}
