import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

/** Data to sign or verify: a file path, bytes in memory, or a stream of bytes (Node Readable, web stream,
 * async generator). */
export type SignedData = string | Uint8Array | AsyncIterable<Uint8Array>;

/** Turns data into what openpgp reads: bytes stay bytes, anything else becomes a web stream read lazily.
 * The returned `destroy` tears the source down (on abort or error). */
export function toOpenpgpInput(
  data: SignedData,
  signal?: AbortSignal,
): { input: Uint8Array | WebReadableStream<Uint8Array>; destroy: () => void; where: string } {
  if (data instanceof Uint8Array) return { input: data, destroy: () => {}, where: 'data' };
  const node: Readable =
    typeof data === 'string'
      ? createReadStream(data)
      : data instanceof Readable
        ? data
        : Readable.from(data, { objectMode: false });
  if (signal !== undefined) {
    const onAbort = () => node.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    node.once('close', () => signal.removeEventListener('abort', onAbort));
  }
  // openpgp's streams want Uint8Array chunks; Node gives Buffers, which are Uint8Arrays
  return {
    input: Readable.toWeb(node) as unknown as WebReadableStream<Uint8Array>,
    destroy: () => node.destroy(),
    where: typeof data === 'string' ? data : 'stream',
  };
}

/** Reads a web stream to its end, discarding the chunks (so that openpgp's hashing side sees every byte). */
export async function drain(stream: unknown): Promise<void> {
  if (stream instanceof Uint8Array || typeof stream === 'string') return;
  const reader = (stream as WebReadableStream<unknown>).getReader();
  try {
    for (;;) {
      const { done } = await reader.read();
      if (done) return;
    }
  } finally {
    reader.releaseLock();
  }
}

/** Reads a web stream of strings (or a string) to one string. */
export async function collectText(stream: unknown): Promise<string> {
  if (typeof stream === 'string') return stream;
  const parts: string[] = [];
  const reader = (stream as WebReadableStream<string>).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  return parts.join('');
}
