import { crc32, deflateRaw, gunzip } from 'node:zlib';

/* Indexed gzip members. `build` cuts the tar stream into pieces and compresses each as its own gzip member
 * (RFC 1952 allows any number of members in one file; gunzip, GNU tar and zlib read them as one stream). Each
 * member we write carries, in the header's FEXTRA field, a subfield "AC" holding the member's total length, the
 * way BGZF does for genomics files. A reader that finds it knows where the next member starts without
 * inflating this one, so members can be inflated in parallel on the thread pool. Files from other tools have no
 * such subfield and are read by the ordinary streaming gunzip. */

/** Header length of an indexed member: 10 fixed bytes, XLEN (2), and one subfield: id (2), length (2), data (4). */
const HEADER_BYTES = 20;
const TRAILER_BYTES = 8;
/** Largest indexed member taken, compressed and inflated (ours hold 1 MiB of tar): a header or trailer that
 * claims more is hostile or foreign, and must not make a reader buffer or allocate without bound. */
export const MAX_INDEXED_MEMBER_BYTES = 16 * 1024 * 1024;

function header(total: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h[0] = 0x1f;
  h[1] = 0x8b;
  h[2] = 8; // deflate
  h[3] = 0x04; // FEXTRA
  // MTIME 0 (none), XFL 0, OS 255 (unknown), as a deterministic build needs
  h[9] = 255;
  h.writeUInt16LE(8, 10); // XLEN
  h[12] = 0x41; // 'A'
  h[13] = 0x43; // 'C'
  h.writeUInt16LE(4, 14);
  h.writeUInt32LE(total, 16);
  return h;
}

/** Total length of the indexed member starting at `b[0]`, or undefined when `b` does not start with one. */
export function indexedMemberLength(b: Uint8Array): number | undefined {
  if (b.length < HEADER_BYTES) return undefined;
  if (b[0] !== 0x1f || b[1] !== 0x8b || b[2] !== 8 || b[3] !== 0x04) return undefined;
  const v = Buffer.from(b.buffer, b.byteOffset, HEADER_BYTES);
  if (v.readUInt16LE(10) !== 8 || v[12] !== 0x41 || v[13] !== 0x43 || v.readUInt16LE(14) !== 4)
    return undefined;
  const total = v.readUInt32LE(16);
  return total >= HEADER_BYTES + TRAILER_BYTES + 2 && total <= MAX_INDEXED_MEMBER_BYTES ? total : undefined;
}

/** Compresses `data` into one indexed gzip member on the thread pool. */
export function encodeIndexedMember(data: Uint8Array, level: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // an output buffer above the worst case makes the member one thread-pool task
    deflateRaw(data, { level, chunkSize: data.length + (data.length >> 3) + 1024 }, (err, body) => {
      if (err) return reject(err);
      try {
        const total = HEADER_BYTES + body.length + TRAILER_BYTES;
        const out = Buffer.allocUnsafe(total);
        header(total).copy(out, 0);
        body.copy(out, HEADER_BYTES);
        out.writeUInt32LE(crc32(data), total - 8);
        out.writeUInt32LE(data.length >>> 0, total - 4);
        resolve(out);
      } catch (e) {
        reject(e);
      }
    });
  });
}

/** Inflates one indexed member and checks its CRC-32 and length; rejects with a message naming the member.
 * The whole member goes to zlib's gunzip, so the header is parsed and the CRC-32 and length in the trailer are
 * checked on the thread pool, not on the main thread. */
export function decodeIndexedMember(member: Buffer, index: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // the uncompressed size is in the trailer: one output buffer, one thread-pool task
    const size = member.readUInt32LE(member.length - 4);
    const limit = MAX_INDEXED_MEMBER_BYTES;
    gunzip(
      member,
      { chunkSize: Math.min(limit, Math.max(1024, size + 64)), maxOutputLength: limit },
      (err, data) => {
        if (err)
          return reject(
            Object.assign(new Error(`gzip member ${index}: ${err.message}`), { code: 'Z_DATA_ERROR' }),
          );
        if (data.length >>> 0 !== size)
          return reject(
            Object.assign(new Error(`gzip member ${index}: CRC-32 or length check failed`), {
              code: 'Z_DATA_ERROR',
            }),
          );
        resolve(data);
      },
    );
  });
}

/** Bytes collected from a stream, taken off the front in exact amounts. */
class ByteQueue {
  private chunks: Buffer[] = [];
  length = 0;
  push(c: Uint8Array): void {
    const b = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    if (b.length === 0) return;
    this.chunks.push(b);
    this.length += b.length;
  }
  /** The first `n` bytes (n <= length) without removing them; a copy when they span chunks (keep n small). */
  peek(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) return first.subarray(0, n);
    return this.copyFront(n, false);
  }
  /** Removes and returns the first `n` bytes (n <= length): a view when they lie in one chunk, else exactly
   * those bytes copied (the rest of the last chunk stays a view; nothing is joined twice). */
  take(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    this.length -= n;
    if (first.length >= n) {
      // a view, not a copy: chunks are never written to after they are queued
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    return this.copyFront(n, true);
  }
  private copyFront(n: number, remove: boolean): Buffer {
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    let i = 0;
    while (off < n) {
      const c = this.chunks[i] as Buffer;
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (remove && k < c.length) this.chunks[i] = c.subarray(k);
      else i++;
    }
    // in removing mode, chunks[0..i) were used up; a partly used one was replaced by its rest
    if (remove) this.chunks.splice(0, i);
    return out;
  }
  drain(): Buffer[] {
    const all = this.chunks;
    this.chunks = [];
    this.length = 0;
    return all;
  }
}

/** Inflates a gzip stream: indexed members in parallel (at most `concurrency` at once, output in order), and
 * from the first byte that is not an indexed member on, whatever `fallback` makes of the rest (the ordinary
 * streaming gunzip, which also reports truncation and damage as before). */
export async function* inflateIndexed(
  source: AsyncIterable<Uint8Array>,
  fallback: (rest: AsyncIterable<Uint8Array>) => AsyncIterable<Uint8Array>,
  concurrency: number,
): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  const q = new ByteQueue();
  const inFlight: Promise<Buffer>[] = [];
  let index = 0;
  let ended = false;
  const fill = async (n: number): Promise<boolean> => {
    while (q.length < n && !ended) {
      const r = await it.next();
      if (r.done) ended = true;
      else q.push(r.value);
    }
    return q.length >= n;
  };
  try {
    for (;;) {
      if (!(await fill(HEADER_BYTES))) break;
      const total = indexedMemberLength(q.peek(HEADER_BYTES));
      if (total === undefined || !(await fill(total))) break;
      const p = decodeIndexedMember(q.take(total), index++);
      p.catch(() => {}); // awaited in order below
      inFlight.push(p);
      while (inFlight.length >= concurrency) yield await (inFlight.shift() as Promise<Buffer>);
    }
    while (inFlight.length > 0) yield await (inFlight.shift() as Promise<Buffer>);
    if (q.length === 0 && ended) return;
    // the rest is not (or not only) indexed members: hand it, and what the source still holds, to the fallback
    const buffered = q.drain();
    async function* rest(): AsyncGenerator<Uint8Array> {
      yield* buffered;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    }
    yield* fallback(rest());
  } finally {
    await it.return?.();
  }
}
