import { createHash, getHashes, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { SignaturePacket } from 'openpgp';
import type { SignedData } from './streams.ts';

/* A detached v4 signature over binary data signs H(data || hashed part of the packet || 0x04 0xFF || its length,
 * 4 bytes big-endian) (RFC 4880, 5.2.4). The data is hashed here with node:crypto as it is read, one pass per
 * hash algorithm whatever the number of signatures, and openpgp then checks each signature against its digest:
 * a large image costs one native hash instead of openpgp's web-stream pipeline over every chunk. */

/** RFC 4880 hash algorithm numbers and node:crypto's names for them. */
const NODE_HASH: Readonly<Record<number, string>> = {
  1: 'md5',
  2: 'sha1',
  3: 'ripemd160',
  8: 'sha256',
  9: 'sha384',
  10: 'sha512',
  11: 'sha224',
  12: 'sha3-256',
  14: 'sha3-512',
};
/** Signature type 0x00: a signature of a binary document (what `gpg --detach-sign` and `appc sign` make). */
const BINARY_DOCUMENT = 0;

let available: Set<string> | undefined;

/** True when every packet can be checked from a digest made here: v4, over a binary document, with a hash
 * node:crypto has. Anything else (v5/v6 salted packets, text signatures) goes through openpgp's own reading. */
export function digestable(packets: readonly SignaturePacket[]): boolean {
  available ??= new Set(getHashes());
  return (
    packets.length > 0 &&
    packets.every((p) => {
      const name = NODE_HASH[p.hashAlgorithm ?? -1];
      return (
        p.version === 4 &&
        p.signatureType === BINARY_DOCUMENT &&
        p.signatureData !== null &&
        name !== undefined &&
        available?.has(name)
      );
    })
  );
}

/** Reads `data` once and returns, per packet, the digest its signature was made over. Stops with the source's
 * error, or with `aborted()` when `signal` fires. */
export async function digestsOf(
  data: SignedData,
  packets: readonly SignaturePacket[],
  signal: AbortSignal | undefined,
  aborted: (cause?: unknown) => Error,
): Promise<Uint8Array[]> {
  const hashes = new Map<number, Hash>();
  for (const p of packets) {
    const algo = p.hashAlgorithm as number;
    if (!hashes.has(algo)) hashes.set(algo, createHash(NODE_HASH[algo] as string));
  }
  const update = (chunk: Uint8Array) => {
    for (const h of hashes.values()) h.update(chunk);
  };
  signal?.throwIfAborted();
  if (data instanceof Uint8Array) update(data);
  else if (typeof data === 'string') {
    // a file is read into one buffer, over and over: a read stream's fresh 64 KiB buffers (joined again by the
    // stream when it holds several) cost a page fault per 4 KiB, more than hashing the bytes on some machines
    const fh = await open(data, 'r');
    try {
      const buf = Buffer.allocUnsafeSlow(1024 * 1024);
      for (;;) {
        if (signal?.aborted) throw aborted(signal.reason);
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        update(buf.subarray(0, bytesRead));
      }
    } finally {
      await fh.close();
    }
  } else {
    const source: AsyncIterable<Uint8Array> = data;
    // a stream that waits for bytes is torn down at once by an abort; any other source stops at its next chunk
    const onAbort = () => {
      if (source instanceof Readable) source.destroy(aborted(signal?.reason));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (source instanceof Readable) {
        // chunk by chunk as they come: an async iterator's read() joins all that is buffered into a fresh buffer
        // (finished: the end, an error, or a close before the end, even one that came before this call)
        source.on('data', update);
        await finished(source);
      } else {
        for await (const chunk of source) {
          if (signal?.aborted) throw aborted(signal.reason);
          update(chunk);
        }
      }
    } catch (e) {
      throw signal?.aborted ? aborted(e) : e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (source instanceof Readable && !source.readableEnded) source.destroy();
    }
    if (signal?.aborted) throw aborted(signal.reason);
  }
  return packets.map((p) => {
    const h = (hashes.get(p.hashAlgorithm as number) as Hash).copy();
    const hashed = p.signatureData as Uint8Array;
    const trailer = Buffer.alloc(6);
    trailer[0] = 4;
    trailer[1] = 0xff;
    trailer.writeUInt32BE(hashed.length, 2);
    h.update(hashed);
    h.update(trailer);
    return new Uint8Array(h.digest());
  });
}
