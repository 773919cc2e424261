import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { pipeline as pipelineCb, Readable } from 'node:stream';
import { createGunzip, gzipSync, type ZlibOptions } from 'node:zlib';
import { AciError } from './errors.ts';
import {
  encodeIndexedMember,
  indexedMemberLength,
  inflateIndexed,
  inflateIndexedFile,
  MAX_INDEXED_MEMBER_BYTES,
  OutputPool,
} from './internal/gzip-members.ts';
import { looksLikeTar } from './internal/tar-reader.ts';

/** What {@link detectCompression} finds at the start of a file. `none` is a plain tar. */
export type DetectedCompression = 'gzip' | 'bzip2' | 'xz' | 'none' | 'openpgp' | 'unknown';

/** Compressions an archive may use (ACI-006). */
export type Compression = 'gzip' | 'bzip2' | 'xz' | 'none';

/** Tells the compression of an archive from its first bytes (ACI-006: by content, never by name); give at
 * least 512 bytes (or the whole file when shorter). A plain tar is recognised by its `ustar` magic or, for a
 * pre-POSIX v7 tar, by a valid header checksum. OpenPGP data (ACI-007, binary or ASCII-armored) is `openpgp`. */
export function detectCompression(bytes: Uint8Array): DetectedCompression {
  const b = bytes;
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
  if (b.length >= 3 && b[0] === 0x42 && b[1] === 0x5a && b[2] === 0x68) return 'bzip2';
  if (
    b.length >= 6 &&
    b[0] === 0xfd &&
    b[1] === 0x37 &&
    b[2] === 0x7a &&
    b[3] === 0x58 &&
    b[4] === 0x5a &&
    b[5] === 0x00
  )
    return 'xz';
  if (looksLikeTar(b)) return 'none';
  if (isOpenPgp(b)) return 'openpgp';
  return 'unknown';
}

function isOpenPgp(b: Uint8Array): boolean {
  const head = Buffer.from(b.buffer, b.byteOffset, Math.min(b.length, 64)).toString('latin1');
  if (head.startsWith('-----BEGIN PGP MESSAGE-----')) return true;
  const first = b[0];
  if (first === undefined || (first & 0x80) === 0) return false;
  let tag: number;
  let body: number;
  if (first & 0x40) {
    tag = first & 0x3f; // new format
    const l = b[1] ?? 0;
    body = l < 192 ? 2 : l < 224 ? 3 : l === 255 ? 6 : 2;
  } else {
    tag = (first >> 2) & 0x0f; // old format
    const lt = first & 3;
    body = lt === 0 ? 2 : lt === 1 ? 3 : lt === 2 ? 5 : 1;
  }
  const version = b[body];
  // 3: symmetric-key encrypted session key (gpg -c), 1: public-key encrypted session key, 18: SEIPD
  if (tag === 3) return version === 4 || version === 5 || version === 6;
  if (tag === 1) return version === 3 || version === 6;
  if (tag === 18) return version === 1 || version === 2;
  return false;
}

/** Names a compression or container format an ACI may not use, from its magic bytes, for a clearer refusal. */
function foreignFormat(b: Uint8Array): string | undefined {
  const starts = (...m: number[]) => m.every((x, i) => b[i] === x);
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return 'zstd-compressed data';
  if (starts(0x04, 0x22, 0x4d, 0x18)) return 'lz4-compressed data';
  if (starts(0x1f, 0x9d)) return 'data compressed with compress(1) (.Z)';
  if (starts(0x5d, 0x00, 0x00)) return 'lzma-compressed data (the old .lzma format, not xz)';
  if (starts(0x50, 0x4b, 0x03, 0x04)) return 'a zip file';
  if (starts(0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c)) return 'a 7z file';
  return undefined;
}

/** Peeks at least `n` bytes of a source; returns them and a source that yields them again, then the rest. */
export async function peek(
  source: AsyncIterable<Uint8Array>,
  n: number,
): Promise<{ head: Uint8Array; source: AsyncIterable<Uint8Array> }> {
  const it = source[Symbol.asyncIterator]();
  const got: Uint8Array[] = [];
  let len = 0;
  let done = false;
  while (len < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    got.push(r.value);
    len += r.value.length;
  }
  const head = got.length === 1 ? (got[0] as Uint8Array) : Buffer.concat(got);
  async function* rest(): AsyncGenerator<Uint8Array> {
    try {
      for (const g of got) yield g;
      if (done) return;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    } finally {
      if (!done) await it.return?.();
    }
  }
  return { head, source: rest() };
}

/** A readable file as chunks of up to 1 MiB, from byte `start` on. */
export function fileSource(file: string, signal?: AbortSignal, start = 0): AsyncIterable<Uint8Array> {
  // large reads: an indexed gzip member (about 0.4 MiB) straddles two of them less often, and fewer are joined by a copy
  return createReadStream(file, { highWaterMark: 1024 * 1024, start, ...(signal ? { signal } : {}) });
}

/** Passes bytes through an external program (`xz`, `bzip2`) and yields its output. The child is killed when the
 * consumer stops early or anything fails; a missing program is `ERR_ACI_TOOL_MISSING`. */
export async function* throughProgram(
  program: string,
  args: string[],
  source: AsyncIterable<Uint8Array>,
  what: string,
): AsyncGenerator<Uint8Array> {
  const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let spawnError: NodeJS.ErrnoException | undefined;
  let stderr = '';
  child.on('error', (e) => {
    spawnError = e;
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 2000) stderr += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  let feedError: unknown;
  const feeding = new Promise<void>((resolve) => {
    pipelineCb(Readable.from(source, { objectMode: false }), child.stdin, (err) => {
      if (err && (err as NodeJS.ErrnoException).code !== 'EPIPE') feedError = err;
      resolve();
    });
  });
  const missing = () =>
    new AciError(
      `${what} needs the "${program}" program, which was not found on PATH; install it (Debian: apt-get install ${program === 'xz' ? 'xz-utils' : program}).`,
      { code: 'ERR_ACI_TOOL_MISSING', requirement: 'ACI-006', cause: spawnError },
    );
  let finished = false;
  try {
    for await (const chunk of child.stdout) yield chunk as Buffer;
    const { code, signal } = await exited;
    await feeding;
    if (spawnError) throw spawnError.code === 'ENOENT' ? missing() : spawnError;
    if (code !== 0) throw programFailure(program, args, what, signal ?? code, stderr);
    if (feedError) throw feedError;
    finished = true;
  } catch (e) {
    if (spawnError?.code === 'ENOENT') throw missing();
    throw e;
  } finally {
    if (!finished && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    child.stdout.destroy();
    child.stdin.destroy();
  }
}

/** The error of a compression program that failed. When it decompressed and exited on its own, the data is to
 * blame: cut short (`ERR_ACI_TRUNCATED`) or damaged (`ERR_ACI_BAD_COMPRESSION`), as for gzip; otherwise (killed,
 * or compressing) the program failed (`ERR_ACI_TOOL_FAILED`). The message keeps the program's first line. */
function programFailure(
  program: string,
  args: string[],
  what: string,
  status: number | NodeJS.Signals | null,
  stderr: string,
): AciError {
  const first = (stderr.split('\n').find((l) => l.trim() !== '') ?? '').trim();
  // "xz: (stdin): Unexpected end of input", "bzip2: Compressed file ends unexpectedly;"
  const said = first.replace(/^[a-z0-9]+: (\(stdin\): )?/, '').replace(/[;.]$/, '') || 'no message';
  if (args[0]?.startsWith('-d') && typeof status === 'number') {
    if (/unexpected end of input|ends unexpectedly/i.test(said))
      return new AciError(
        `${what}: the ${program} data ends early (${program}: ${said}); the archive is truncated — download or build it again.`,
        { code: 'ERR_ACI_TRUNCATED', requirement: 'ACI-006' },
      );
    return new AciError(
      `${what}: the ${program} data is damaged (${program}: ${said}); download or build the archive again.`,
      { code: 'ERR_ACI_BAD_COMPRESSION', requirement: 'ACI-006' },
    );
  }
  return new AciError(
    `${what}: "${program} ${args.join(' ')}" failed (${typeof status === 'number' ? `exit status ${status}` : status}): ${said}.`,
    { code: 'ERR_ACI_TOOL_FAILED', requirement: 'ACI-006' },
  );
}

/** The streaming gunzip for gzip data that is not (or no longer) made of indexed members. */
function gunzipStream(rest: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  // a deep buffer lets decompression run ahead on the thread pool while the consumer writes files
  // (stream options are accepted by zlib constructors though ZlibOptions does not list them);
  // pipeline destroys every stage when one fails or when the consumer stops reading the last one
  return pipelineCb(
    Readable.from(rest, { objectMode: false }),
    createGunzip({ chunkSize: 1024 * 1024, highWaterMark: 8 * 1024 * 1024 } as ZlibOptions),
    () => {},
  );
}

/** Indexed members inflated at once on the thread pool. */
function inflateConcurrency(): number {
  return Math.max(2, availableParallelism() * 2);
}

/** Options of {@link decompress} and {@link openDecompressed}. */
export interface DecompressOptions {
  /** Reuse the memory of a chunk once the next chunk is asked for (indexed gzip members only): each chunk is then
   * valid only until the consumer asks for the next one. For a consumer that hashes, parses or copies each chunk
   * before asking for more, this spares a fresh buffer (a page fault per 4 KiB) per MiB of output. Default false. */
  reuseChunks?: boolean;
}

/** Decompresses a source of the given compression (gzip with node:zlib, xz and bzip2 with the system programs). */
export function decompress(
  source: AsyncIterable<Uint8Array>,
  compression: Compression,
  options: DecompressOptions = {},
): AsyncIterable<Uint8Array> {
  switch (compression) {
    case 'none':
      return source;
    case 'gzip':
      // members written by our build are indexed and inflate in parallel; anything else streams through gunzip
      return zlibErrors(
        inflateIndexed(
          source,
          gunzipStream,
          inflateConcurrency(),
          options.reuseChunks ? new OutputPool() : undefined,
        ),
      );
    case 'xz':
      return throughProgram('xz', ['-dc'], source, 'reading an xz-compressed archive');
    case 'bzip2':
      return throughProgram('bzip2', ['-dc'], source, 'reading a bzip2-compressed archive');
  }
}

async function* zlibErrors(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    yield* source;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'Z_BUF_ERROR')
      throw new AciError(
        'the gzip data ends early (unexpected end of file); the archive is truncated — download or build it again.',
        { code: 'ERR_ACI_TRUNCATED', requirement: 'ACI-006', cause: e },
      );
    if (typeof code === 'string' && code.startsWith('Z_'))
      throw new AciError(
        `the gzip data is damaged (${(e as Error).message}); download or build the archive again.`,
        {
          code: 'ERR_ACI_BAD_COMPRESSION',
          requirement: 'ACI-006',
          cause: e,
        },
      );
    throw e;
  }
}

/** Options of {@link gzipParallel}. */
export interface GzipParallelOptions {
  /** zlib level (default 6, as `gzip -6`; 4 or 5 are faster and stay within about 1 % of its size). */
  level?: number;
  /** Uncompressed bytes per gzip member (default 1 MiB, at most 8 MiB). */
  chunkBytes?: number;
  /** Members compressed at once on the libuv thread pool (default: CPUs, between 2 and 8). */
  concurrency?: number;
}

/** Compresses as a multi-member gzip: the input is cut every `chunkBytes` (at fixed offsets, so the output is
 * deterministic), each piece is compressed on the thread pool while the next ones are read, and the members
 * are written in order. gunzip, GNU tar and node:zlib read the result as one stream. */
export async function* gzipParallel(
  source: AsyncIterable<Uint8Array>,
  options: GzipParallelOptions = {},
): AsyncGenerator<Buffer> {
  const level = options.level ?? 6;
  // readers take indexed members up to MAX_INDEXED_MEMBER_BYTES; half of it leaves room for incompressible data
  const chunkBytes = Math.min(options.chunkBytes ?? 1024 * 1024, MAX_INDEXED_MEMBER_BYTES / 2);
  const concurrency = options.concurrency ?? Math.min(8, Math.max(4, availableParallelism() * 2));
  const queue: Promise<Buffer>[] = [];
  let block = Buffer.allocUnsafe(chunkBytes);
  let fill = 0;
  let emitted = false;
  const submit = (data: Buffer) => {
    // each member records its own length, so readers can inflate members in parallel (internal/gzip-members.ts)
    const p = encodeIndexedMember(data, level);
    p.catch(() => {}); // awaited in order below; this only keeps a later rejection from being "unhandled"
    queue.push(p);
  };
  for await (const chunk of source) {
    let off = 0;
    while (off < chunk.length) {
      const take = Math.min(chunk.length - off, chunkBytes - fill);
      block.set(chunk.subarray(off, off + take), fill);
      fill += take;
      off += take;
      if (fill === chunkBytes) {
        submit(block);
        block = Buffer.allocUnsafe(chunkBytes);
        fill = 0;
        while (queue.length >= concurrency) {
          emitted = true;
          yield await (queue.shift() as Promise<Buffer>);
        }
      }
    }
  }
  if (fill > 0) submit(block.subarray(0, fill));
  while (queue.length > 0) {
    emitted = true;
    yield await (queue.shift() as Promise<Buffer>);
  }
  if (!emitted) yield gzipSync(Buffer.alloc(0), { level });
}

/** Compresses a tar byte stream for writing: parallel gzip, the `xz`/`bzip2` programs, or nothing. */
export function compress(
  source: AsyncIterable<Uint8Array>,
  compression: Compression,
  gzipLevel?: number,
): AsyncIterable<Uint8Array> {
  switch (compression) {
    case 'none':
      return source;
    case 'gzip':
      return gzipParallel(source, gzipLevel === undefined ? {} : { level: gzipLevel });
    case 'xz':
      return throughProgram('xz', ['-c', '-6'], source, 'writing an xz-compressed archive');
    case 'bzip2':
      return throughProgram('bzip2', ['-c', '-9'], source, 'writing a bzip2-compressed archive');
  }
}

/** What an archive is read from: a file's path, its bytes in memory, or a stream of them. */
export type AciSource = string | Uint8Array | AsyncIterable<Uint8Array>;

/** Bytes in memory as a stream of one chunk; other sources as they are. */
async function* bytesSource(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/** Opens a file or byte source, recognises its compression by content and returns the decompressed bytes.
 * @throws {@link AciError} `ERR_ACI_ENCRYPTED` for OpenPGP data (ACI-007), `ERR_ACI_BAD_COMPRESSION` for
 * anything that is neither gzip, bzip2, xz nor tar. */
export async function openDecompressed(
  source: AciSource,
  options: { signal?: AbortSignal; file?: string } & DecompressOptions = {},
): Promise<{ compression: Compression; stream: AsyncIterable<Uint8Array> }> {
  const file = options.file ?? (typeof source === 'string' ? source : undefined);
  if (typeof source === 'string') {
    const indexed = await openIndexedFile(source, options.signal, options.reuseChunks ?? false);
    if (indexed) return { compression: 'gzip', stream: indexed };
  }
  const raw =
    typeof source === 'string'
      ? fileSource(source, options.signal)
      : source instanceof Uint8Array
        ? bytesSource(source)
        : source;
  const { head, source: all } = await peek(raw, 512);
  const kind = detectCompression(head);
  if (kind === 'openpgp' || kind === 'unknown') {
    // stop reading the input
    await (all as AsyncGenerator<Uint8Array>).return?.(undefined);
    if (kind === 'openpgp')
      throw new AciError(
        `${file ?? 'the archive'} is OpenPGP-encrypted (ACI-007); decrypt it first (gpg --decrypt), then use the .aci it contains.`,
        { code: 'ERR_ACI_ENCRYPTED', requirement: 'ACI-007', file },
      );
    throw new AciError(
      head.length === 0
        ? `${file ?? 'the archive'} is empty; an ACI is a tar file, possibly compressed with gzip, bzip2 or xz.`
        : foreignFormat(head) !== undefined
          ? `${file ?? 'the archive'} is ${foreignFormat(head)}, which an image archive may not be: an ACI is a tar file, plain or compressed with gzip, bzip2 or xz (ACI-006); decompress it and compress the tar again with one of those.`
          : `${file ?? 'the archive'} is not an image archive: its first bytes are neither gzip, bzip2, xz nor a tar header (ACI-006).`,
      { code: 'ERR_ACI_BAD_COMPRESSION', requirement: 'ACI-006', file },
    );
  }
  return {
    compression: kind,
    stream: decompress(all, kind, options.reuseChunks ? { reuseChunks: true } : {}),
  };
}

/** A file that starts with an indexed gzip member (what our build writes) is read member by member at known
 * offsets into reused buffers (internal/gzip-members.ts); undefined for any other file. */
async function openIndexedFile(
  path: string,
  signal: AbortSignal | undefined,
  reuseChunks: boolean,
): Promise<AsyncIterable<Uint8Array> | undefined> {
  const fh = await open(path, 'r');
  try {
    // a device (/dev/zero, a disk) is no image file, and one may never end
    const st = await fh.stat();
    if (st.isCharacterDevice() || st.isBlockDevice())
      throw new AciError(
        `${path} is a device, not a file; an ACI is a file holding a tar, plain or compressed with gzip, bzip2 or xz (ACI-006).`,
        { code: 'ERR_ACI_BAD_COMPRESSION', requirement: 'ACI-006', file: path },
      );
    const head = Buffer.alloc(64);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    if (indexedMemberLength(head.subarray(0, bytesRead)) === undefined) {
      await fh.close();
      return undefined;
    }
  } catch (e) {
    await fh.close();
    // a directory opens, and its read fails without naming it
    if ((e as NodeJS.ErrnoException).code === 'EISDIR') (e as NodeJS.ErrnoException).path ??= path;
    throw e;
  }
  return zlibErrors(
    inflateIndexedFile(
      fh,
      (start) => fileSource(path, signal, start),
      gunzipStream,
      inflateConcurrency(),
      signal,
      reuseChunks ? new OutputPool() : undefined,
    ),
  );
}

/** A stage that feeds a hash and passes bytes on unchanged. */
export async function* hashThrough(
  source: AsyncIterable<Uint8Array>,
  hash: { update(data: Uint8Array): unknown },
): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    hash.update(chunk);
    yield chunk;
  }
}

/** What a file is, from its first bytes, as `validate` needs to know (ACI-016): an archive (`gzip`, `bzip2`,
 * `xz`, `tar`), OpenPGP data, UTF-8 `text` (taken as a manifest), or `unknown`. */
export type FileKind = 'gzip' | 'bzip2' | 'xz' | 'tar' | 'openpgp' | 'text' | 'unknown';

/** Sniffs a file's kind from its first bytes (give 512 or the whole file when shorter). */
export function sniffFileKind(bytes: Uint8Array): FileKind {
  const c = detectCompression(bytes);
  if (c === 'none') return 'tar';
  if (c !== 'unknown') return c;
  if (bytes.length === 0 || bytes.includes(0)) return 'unknown';
  try {
    // a cut in the middle of a multi-byte character at the end is fine
    new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, Math.max(0, bytes.length - 3)));
    return 'text';
  } catch {
    return 'unknown';
  }
}
