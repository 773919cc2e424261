import type { FileHandle } from 'node:fs/promises';
import { crc32, createGunzip, deflateRaw, type Gunzip, gunzip } from 'node:zlib';

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

/** The error of a member that does not inflate to what its trailer says. */
function memberError(index: number, what: string): Error {
  return Object.assign(new Error(`gzip member ${index}: ${what}`), { code: 'Z_DATA_ERROR' });
}

/** Inflates one indexed member and checks its CRC-32 and length; rejects with a message naming the member.
 * The whole member goes to zlib's gunzip, so the header is parsed and the CRC-32 and length in the trailer are
 * checked on the thread pool, not on the main thread. With `out` (at least the uncompressed size + 64 bytes),
 * the bytes are inflated into it (see {@link OutputPool}) and the result is a view of it. */
export function decodeIndexedMember(member: Buffer, index: number, out?: Buffer): Promise<Buffer> {
  // the uncompressed size is in the trailer: one output buffer, one thread-pool task
  const size = member.readUInt32LE(member.length - 4);
  if (out && out.length >= size + 64) {
    const z = createGunzip({ chunkSize: 64 }) as Gunzip & ZlibOutput;
    if (typeof z._chunkSize === 'number' && typeof z._outOffset === 'number' && Buffer.isBuffer(z._outBuffer))
      return decodeInto(z, member, index, size, out);
    z.close();
  }
  return new Promise((resolve, reject) => {
    const limit = MAX_INDEXED_MEMBER_BYTES;
    gunzip(
      member,
      { chunkSize: Math.min(limit, Math.max(1024, size + 64)), maxOutputLength: limit },
      (err, data) => {
        if (err) return reject(memberError(index, err.message));
        if (data.length >>> 0 !== size) return reject(memberError(index, 'CRC-32 or length check failed'));
        resolve(data);
      },
    );
  });
}

/** The fields through which a node:zlib stream writes into its output buffer (internal to node:zlib). Checked
 * before use; without them a member inflates the ordinary way. */
interface ZlibOutput {
  _outBuffer: Buffer;
  _outOffset: number;
  _chunkSize: number;
}

function decodeInto(
  z: Gunzip & ZlibOutput,
  member: Buffer,
  index: number,
  size: number,
  out: Buffer,
): Promise<Buffer> {
  // zlib writes from _outOffset on and takes a new buffer of _chunkSize only when this one is full, which the
  // extra 64 bytes prevent for a member that is what its trailer says; a member that inflates to more than that
  // is refused as soon as it does, so a bomb allocates at most one more chunk
  z._outBuffer = out;
  z._outOffset = 0;
  z._chunkSize = out.length;
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    let settled = false;
    const fail = (what: string) => {
      if (settled) return;
      settled = true;
      z.destroy();
      reject(memberError(index, what));
    };
    z.on('data', (d: Buffer) => {
      got += d.length;
      if (got > size) fail('CRC-32 or length check failed');
      else parts.push(d);
    });
    z.on('error', (e) => fail(e.message));
    z.on('end', () => {
      if (settled) return;
      if (got !== size) return fail('CRC-32 or length check failed');
      settled = true;
      resolve(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, got));
    });
    z.end(member);
  });
}

/** Output buffers of members, reused when the reader's consumer is done with each chunk before it asks for the
 * next (a fresh buffer costs a page fault per 4 KiB on first use). Members of our build hold 1 MiB of tar; a
 * larger member gets a buffer of its own. */
export class OutputPool {
  private readonly free: Buffer[] = [];
  static readonly BYTES = 1024 * 1024 + 4096;
  take(size: number): Buffer | undefined {
    if (size + 64 > OutputPool.BYTES) return undefined;
    return this.free.pop() ?? Buffer.allocUnsafeSlow(OutputPool.BYTES);
  }
  give(b: Buffer | undefined): void {
    if (b) this.free.push(b);
  }
}

/** A member being inflated, and the pooled buffer it inflates into (if any). */
interface Decoding {
  data: Promise<Buffer>;
  out: Buffer | undefined;
}

/** Starts inflating a member, into a pooled buffer when there is a pool. */
function startDecode(member: Buffer, index: number, outputs: OutputPool | undefined): Decoding {
  const out = outputs?.take(member.readUInt32LE(member.length - 4));
  const data = decodeIndexedMember(member, index, out);
  data.catch(() => {}); // awaited in order by the reader; this only keeps a rejection from being "unhandled"
  return { data, out };
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
   * those bytes copied (the rest of the last chunk stays a view; nothing is joined twice), into a buffer of at
   * least `n` bytes from `into` when given. */
  take(n: number, into?: (n: number) => Buffer): Buffer {
    const first = this.chunks[0] as Buffer;
    this.length -= n;
    if (first.length >= n) {
      // a view, not a copy: chunks are never written to after they are queued
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    return this.copyFront(n, true, into);
  }
  private copyFront(n: number, remove: boolean, into?: (n: number) => Buffer): Buffer {
    const out = into ? into(n).subarray(0, n) : Buffer.allocUnsafe(n);
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
  outputs?: OutputPool,
): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  const q = new ByteQueue();
  // members that straddle two chunks of the source are copied into reused buffers
  const inputs = new InputPool();
  const inFlight: Decoding[] = [];
  // with a pool, a chunk's buffer is taken back when the consumer asks for the next chunk
  async function* emit(d: Decoding): AsyncGenerator<Uint8Array> {
    yield await d.data;
    outputs?.give(d.out);
  }
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
      let pooled: Buffer | undefined;
      const member = q.take(total, (n) => {
        pooled = inputs.take(n);
        return pooled;
      });
      const d = startDecode(member, index++, outputs);
      if (pooled) {
        const b = pooled;
        // the copy is free again once zlib is done with it, whatever the outcome
        d.data.then(
          () => inputs.give(b),
          () => inputs.give(b),
        );
      }
      inFlight.push(d);
      while (inFlight.length >= concurrency) yield* emit(inFlight.shift() as Decoding);
    }
    while (inFlight.length > 0) yield* emit(inFlight.shift() as Decoding);
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

/** Input buffers of {@link inflateIndexedFile}, reused: a fresh buffer costs a page fault per 4 KiB on first
 * use, which on some machines costs more than reading the bytes into it. */
class InputPool {
  private readonly free: Buffer[] = [];
  take(n: number): Buffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i] as Buffer;
      if (b.length >= n && (best < 0 || b.length < (this.free[best] as Buffer).length)) best = i;
    }
    if (best >= 0) return this.free.splice(best, 1)[0] as Buffer;
    // whole 256 KiB steps above 1 MiB: the members of one archive share a few sizes
    const step = 256 * 1024;
    return Buffer.allocUnsafeSlow(Math.max(1024 * 1024 + step, Math.ceil(n / step) * step));
  }
  give(b: Buffer): void {
    this.free.push(b);
  }
}

/** Reads `n` bytes at `pos` (fewer at the end of the file). */
async function readAt(fh: FileHandle, buf: Buffer, n: number, pos: number): Promise<number> {
  let got = 0;
  while (got < n) {
    const { bytesRead } = await fh.read(buf, got, n - got, pos + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

/** {@link inflateIndexed} for an open file, which it closes when done: each indexed member is read at its
 * offset, with the next member's header, into a reused buffer that goes back to the pool once the member is
 * inflated; no byte is copied on this thread. From the first byte that is not an indexed member on (or a member
 * cut short), `fallback` gets what `restOf(offset)` reads from there, as {@link inflateIndexed} does. */
export async function* inflateIndexedFile(
  fh: FileHandle,
  restOf: (offset: number) => AsyncIterable<Uint8Array>,
  fallback: (rest: AsyncIterable<Uint8Array>) => AsyncIterable<Uint8Array>,
  concurrency: number,
  signal?: AbortSignal,
  outputs?: OutputPool,
): AsyncGenerator<Uint8Array> {
  const pool = new InputPool();
  const inFlight: Decoding[] = [];
  async function* emit(d: Decoding): AsyncGenerator<Uint8Array> {
    yield await d.data;
    outputs?.give(d.out);
  }
  let index = 0;
  // the member at `pos` and, after it, the next member's header
  type Read = { buf: Buffer; total: number; got: number; pos: number };
  const readMember = async (pos: number, total: number): Promise<Read> => {
    const buf = pool.take(total + HEADER_BYTES);
    try {
      return { buf, total, got: await readAt(fh, buf, total + HEADER_BYTES, pos), pos };
    } catch (e) {
      pool.give(buf);
      throw e;
    }
  };
  const head = Buffer.allocUnsafe(HEADER_BYTES);
  let next: Promise<Read> | undefined;
  let fallbackAt: number | undefined;
  try {
    const got = await readAt(fh, head, HEADER_BYTES, 0);
    const first = got === HEADER_BYTES ? indexedMemberLength(head) : undefined;
    if (first === undefined) fallbackAt = 0;
    else next = readMember(0, first);
    while (next) {
      signal?.throwIfAborted();
      const r = await next;
      next = undefined;
      if (r.got < r.total) {
        // cut inside the member: the streaming gunzip reports it as before
        pool.give(r.buf);
        fallbackAt = r.pos;
        break;
      }
      const nextPos = r.pos + r.total;
      const following =
        r.got === r.total + HEADER_BYTES ? indexedMemberLength(r.buf.subarray(r.total)) : undefined;
      if (following !== undefined) next = readMember(nextPos, following);
      else if (r.got > r.total) fallbackAt = nextPos;
      const d = startDecode(r.buf.subarray(0, r.total), index++, outputs);
      const buf = r.buf;
      // the input buffer is free once zlib is done with it, whatever the outcome
      d.data.then(
        () => pool.give(buf),
        () => pool.give(buf),
      );
      inFlight.push(d);
      while (inFlight.length >= concurrency) yield* emit(inFlight.shift() as Decoding);
    }
    while (inFlight.length > 0) yield* emit(inFlight.shift() as Decoding);
    if (fallbackAt !== undefined) yield* fallback(restOf(fallbackAt));
  } finally {
    // a read started for the next member must end before the file is closed
    await next?.catch(() => undefined);
    await fh.close();
  }
}
