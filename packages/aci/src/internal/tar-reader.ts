import { AciError } from '../errors.ts';
import { decodeName } from './names.ts';

/* A small streaming tar reader. tar-stream (the design's first choice) was set aside for reading because it
 * rejects v7 headers unless told to accept unknown formats (and then loses the checksum-based check), buffers
 * PAX and GNU long-name records of any declared size in memory, and reports a declared size past the end of
 * the file as a generic stream error; this reader bounds every record, names the entry and offset in each
 * error, and hands out entry bodies as sub-arrays of the decompressed chunks without copying. */

/** Kind of a tar entry. `unknown` keeps the raw typeflag in {@link TarHeader.typeflag}. */
export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'unknown';

/** One tar entry's metadata after PAX, GNU long-name and global records have been applied. */
export interface TarHeader {
  /** Entry name as stored (not cleaned). */
  name: string;
  type: TarEntryType;
  /** Raw one-character typeflag. */
  typeflag: string;
  /** Permission and special bits (07777). */
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Bytes of data that follow the header. */
  size: number;
  /** Seconds since the epoch (fractional when a PAX record gives sub-seconds). */
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes from `SCHILY.xattr.*` (and `LIBARCHIVE.xattr.*`) PAX records, values as bytes. */
  xattrs: Map<string, Buffer>;
  /** Header dialect of the entry's own header block. */
  dialect: 'ustar' | 'gnu' | 'v7';
  /** True when PAX records applied to it. */
  pax: boolean;
  /** Offset of the entry's header block in the uncompressed stream. */
  offset: number;
}

/** Limits that keep hostile archives from using unbounded memory. */
export interface TarReaderLimits {
  /** Largest PAX record block accepted (default 1 MiB). */
  maxPaxBytes?: number;
  /** Largest GNU long name or long link accepted (default 64 KiB). */
  maxLongNameBytes?: number;
  /** Read the input to its end after the end blocks (default true), so that a hash upstream sees every byte and
   * damage past them (a bad gzip checksum) is found; false stops at the end blocks, as `tar` does. */
  drain?: boolean;
}

const BLOCK = 512;

/** Global PAX records (of every `g` header so far) that apply to each entry after them. */
const MAX_GLOBAL_RECORDS = 1000;

/** Bound (exclusive) of numeric PAX records: 2^63, the range of a 64-bit time_t, uid_t or off_t. */
const PAX_NUMBER_BOUND = 2 ** 63;

/** Parts a sparse file's map may have. */
const MAX_SPARSE_PARTS = 1_000_000;

/** Bytes of holes a sparse file may have: they are written out as zeros (see {@link readTar}). */
export const MAX_SPARSE_HOLE_BYTES = 1024 * 1024 * 1024;

/** Zeros handed out for the holes of sparse files; never written to. */
const ZEROS = new Uint8Array(64 * 1024);

/** Reads exact byte counts from an async iterable of chunks; counts consumed bytes. */
export class ByteSource {
  private readonly it: AsyncIterator<Uint8Array>;
  private buf: Uint8Array = new Uint8Array(0);
  private off = 0;
  private ended = false;
  /** Bytes consumed so far. */
  position = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async more(): Promise<boolean> {
    while (this.off >= this.buf.length) {
      if (this.ended) return false;
      const r = await this.it.next();
      if (r.done) {
        this.ended = true;
        return false;
      }
      this.buf = r.value;
      this.off = 0;
    }
    return true;
  }

  /** Exactly `n` bytes, `null` at a clean end (no byte left), or `{ partial }` when the input ends inside. */
  async read(n: number): Promise<Uint8Array | null | { partial: number }> {
    if (!(await this.more())) return null;
    if (this.buf.length - this.off >= n) {
      const out = this.buf.subarray(this.off, this.off + n);
      this.off += n;
      this.position += n;
      return out;
    }
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      if (!(await this.more())) return { partial: got };
      const take = Math.min(n - got, this.buf.length - this.off);
      out.set(this.buf.subarray(this.off, this.off + take), got);
      this.off += take;
      got += take;
      this.position += take;
    }
    return out;
  }

  /** Yields up to `n` bytes as sub-arrays; returns how many could not be read because the input ended. */
  async *chunks(n: number): AsyncGenerator<Uint8Array, number> {
    let left = n;
    while (left > 0) {
      if (!(await this.more())) return left;
      const take = Math.min(left, this.buf.length - this.off);
      const out = this.buf.subarray(this.off, this.off + take);
      this.off += take;
      this.position += take;
      left -= take;
      yield out;
    }
    return 0;
  }

  /** Skips up to `n` bytes; returns how many were missing. */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      if (!(await this.more())) return left;
      const take = Math.min(left, this.buf.length - this.off);
      this.off += take;
      this.position += take;
      left -= take;
    }
    return 0;
  }

  /** Reads and discards everything left (the bytes still pass through any hashing stage upstream). */
  async drain(): Promise<void> {
    while (await this.more()) {
      this.position += this.buf.length - this.off;
      this.off = this.buf.length;
    }
  }

  /** Stops the underlying iterator (closes files, kills child processes). */
  async close(): Promise<void> {
    await this.it.return?.();
  }
}

function cstring(b: Uint8Array, start: number, len: number): string {
  let end = start;
  const max = start + len;
  while (end < max && b[end] !== 0) end++;
  return decodeName(b, start, end);
}

function isZeroBlock(b: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

/** Parses a numeric header field: octal text (spaces and NULs around it), or GNU base-256 when the high bit
 * of the first byte is set. Returns NaN when the field is not a number. */
export function parseNumeric(b: Uint8Array, start: number, len: number): number {
  const first = b[start] ?? 0;
  if (first & 0x80) {
    // base-256, two's complement, big-endian; the first byte's 0x80 only marks the encoding. A negative number
    // (0x40 set: GNU tar and Python write mtimes before 1970 so) is read inverted, marker bit dropped after the
    // inversion: 0xff 0xff ... 0xfc is -4
    const negative = (first & 0x40) !== 0;
    let value = 0;
    for (let i = 0; i < len; i++) {
      let byte = b[start + i] ?? 0;
      if (negative) byte ^= 0xff;
      if (i === 0) byte &= 0x7f;
      value = value * 256 + byte;
      if (value > Number.MAX_SAFE_INTEGER) return Number.NaN;
    }
    return negative ? -(value + 1) : value;
  }
  let i = start;
  const end = start + len;
  while (i < end && (b[i] === 0x20 || b[i] === 0)) i++;
  let value = 0;
  let digits = 0;
  while (i < end) {
    const c = b[i] as number;
    if (c >= 0x30 && c <= 0x37) {
      value = value * 8 + (c - 0x30);
      digits++;
      i++;
    } else break;
  }
  while (i < end) {
    const c = b[i];
    if (c !== 0x20 && c !== 0) return Number.NaN;
    i++;
  }
  return digits === 0 ? 0 : value;
}

/** True when the 512-byte block's checksum field matches its content (unsigned or signed sum). */
export function checksumOk(b: Uint8Array): boolean {
  const stored = parseNumeric(b, 148, 8);
  if (Number.isNaN(stored)) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : (b[i] as number);
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  return stored === unsigned || stored === signed;
}

/** Header dialect of a block by its magic, or `v7` when there is none. */
export function dialectOf(b: Uint8Array): 'ustar' | 'gnu' | 'v7' {
  // "ustar\0" + "00" (POSIX) or "ustar " + " \0" (GNU)
  if (b[257] === 0x75 && b[258] === 0x73 && b[259] === 0x74 && b[260] === 0x61 && b[261] === 0x72) {
    if (b[262] === 0) return 'ustar';
    if (b[262] === 0x20 && b[263] === 0x20) return 'gnu';
    return 'ustar';
  }
  return 'v7';
}

/** True when a block looks like the first header of a tar file (ustar magic, or a valid v7 checksum). */
export function looksLikeTar(b: Uint8Array): boolean {
  if (b.length < BLOCK) return false;
  if (dialectOf(b) !== 'v7') return checksumOk(b);
  if (isZeroBlock(b)) return true;
  return checksumOk(b);
}

const TYPES: Record<string, TarEntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
  // a GNU incremental dump's directory (tar -g): its data is a listing of the names it held, skipped here; GNU tar
  // extracts it as a directory and Go's archive/tar reports it as one
  D: 'dir',
};

/** Types whose data, if any size is declared, is not stored after the header. */
const HEADER_ONLY = new Set<TarEntryType>(['hardlink', 'symlink', 'char', 'block', 'dir', 'fifo']);

/** Parses PAX records `LEN KEY=VALUE\n`; throws on any malformed record. */
export function parsePaxRecords(data: Uint8Array, where: () => string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let i = 0;
  while (i < buf.length) {
    if (buf[i] === 0) break; // padding some writers leave
    let sp = i;
    while (sp < buf.length && buf[sp] !== 0x20) sp++;
    const lenText = buf.toString('ascii', i, sp);
    const len = Number(lenText);
    if (!/^[0-9]+$/.test(lenText) || len < 5 || i + len > buf.length || buf[i + len - 1] !== 0x0a) {
      throw new AciError(`${where()}: malformed PAX record at byte ${i} of the extended header.`, {
        code: 'ERR_ACI_BAD_TAR_HEADER',
        requirement: 'ACI-015',
      });
    }
    const rec = buf.subarray(sp + 1, i + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) {
      throw new AciError(`${where()}: PAX record without "key=" at byte ${i} of the extended header.`, {
        code: 'ERR_ACI_BAD_TAR_HEADER',
        requirement: 'ACI-015',
      });
    }
    const key = rec.toString('utf8', 0, eq);
    const value = Buffer.from(rec.subarray(eq + 1));
    if (key === 'GNU.sparse.offset' || key === 'GNU.sparse.numbytes') {
      // GNU sparse format 0.0 repeats these two, in order: they are gathered as the map of format 0.1
      const map = out.get('GNU.sparse.map');
      out.set('GNU.sparse.map', map ? Buffer.concat([map, Buffer.from(','), value]) : value);
    } else out.set(key, value);
    i += len;
  }
  return out;
}

function truncated(what: string, offset: number): AciError {
  return new AciError(
    `the archive ends inside ${what} (at byte ${offset} of the uncompressed tar); the file is truncated or damaged — download or build it again.`,
    { code: 'ERR_ACI_TRUNCATED', requirement: 'ACI-015' },
  );
}

/** One entry handed out by {@link readTar}: metadata plus a body that must be read (or is skipped) before the
 * next entry is asked for. */
export interface TarEntry {
  header: TarHeader;
  /** The data bytes as chunks; throws `ERR_ACI_TRUNCATED` when the archive ends early. */
  body(): AsyncGenerator<Uint8Array>;
  /** The whole body, refusing more than `maxBytes`. */
  bytes(maxBytes: number): Promise<Buffer>;
}

/** Reads tar entries from uncompressed bytes: USTAR, GNU (long names `L`, long links `K`), PAX (`x` per file,
 * `g` global) and v7 headers (no magic, valid checksum) (ACI-015). Reads past the end blocks to the end of the
 * input so that a hashing stage upstream sees every byte (ACI-010). */
export async function* readTar(
  source: AsyncIterable<Uint8Array>,
  limits: TarReaderLimits = {},
): AsyncGenerator<TarEntry> {
  const maxPax = limits.maxPaxBytes ?? 1024 * 1024;
  const maxLong = limits.maxLongNameBytes ?? 64 * 1024;
  const src = new ByteSource(source);
  const global = new Map<string, Buffer>();
  let globalBytes = 0;
  let local = new Map<string, Buffer>();
  let longName: string | undefined;
  let longLink: string | undefined;
  let lastName = '';
  const where = (offset: number) =>
    `tar header at byte ${offset}${lastName ? ` (after entry "${lastName}")` : ''}`;
  const bad = (offset: number, what: string) =>
    new AciError(`${where(offset)}: ${what}`, { code: 'ERR_ACI_BAD_TAR_HEADER', requirement: 'ACI-015' });

  const readRecord = async (size: number, max: number, offset: number, what: string): Promise<Buffer> => {
    if (size > max)
      throw new AciError(
        `${where(offset)}: ${what} of ${size} bytes is larger than the limit of ${max} bytes; the archive is damaged or hostile.`,
        { code: 'ERR_ACI_LIMIT', requirement: 'ACI-015' },
      );
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    const data = await src.read(padded);
    if (data === null || !(data instanceof Uint8Array)) throw truncated(what, src.position);
    return Buffer.from(data.subarray(0, size));
  };

  /** Reads the map of a GNU sparse file (tar --sparse): from the header and its extension blocks (typeflag `S`),
   * from PAX records (formats 0.0 and 0.1), or from the head of the data (format 1.0, GNU tar's default for
   * PAX). Makes the header that of the regular file it stands for (`size` the real size, `name` the real
   * name); returns the map (offset and size of each stored part, in order) and the bytes stored after it. */
  const readSparseMap = async (
    h: TarHeader,
    block: Uint8Array,
    typeflag: string,
    records: Map<string, string>,
    offset: number,
  ): Promise<{ map: number[]; stored: number }> => {
    const map: number[] = [];
    let stored = h.size;
    let realsize: number;
    const numberOf = (text: string, what: string): number => {
      const n = Number(text);
      if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(n))
        throw bad(
          offset,
          `the sparse map of "${h.name}" has ${what} ${JSON.stringify(text.slice(0, 40))}, not a number.`,
        );
      return n;
    };
    const tooMany = () =>
      new AciError(
        `${where(offset)}: the sparse map of "${h.name}" has more than ${MAX_SPARSE_PARTS} parts; the archive is damaged or hostile.`,
        { code: 'ERR_ACI_LIMIT', requirement: 'ACI-015' },
      );
    if (typeflag === 'S') {
      const take = (b: Uint8Array, start: number, count: number) => {
        for (let i = 0; i < count; i++) {
          const o = start + i * 24;
          if (b[o] === 0) return;
          const at = parseNumeric(b, o, 12);
          const len = parseNumeric(b, o + 12, 12);
          if (Number.isNaN(at) || Number.isNaN(len) || at < 0 || len < 0)
            throw bad(offset, `the sparse map of "${h.name}" holds a part that is not a number.`);
          map.push(at, len);
        }
      };
      take(block, 386, 4);
      realsize = parseNumeric(block, 483, 12);
      if (Number.isNaN(realsize) || realsize < 0)
        throw bad(offset, `the real size of "${h.name}" is not a number.`);
      let extended = block[482] !== 0;
      while (extended) {
        const ext = await src.read(BLOCK);
        if (!(ext instanceof Uint8Array)) throw truncated('a GNU sparse extension block', src.position);
        take(ext, 0, 21);
        extended = ext[504] !== 0;
        if (map.length > 2 * MAX_SPARSE_PARTS) throw tooMany();
      }
    } else {
      const major = records.get('major');
      const size = records.get('realsize') ?? records.get('size');
      if (major === '1') {
        // the map heads the data, padded to a block: decimal numbers one a line, the count of parts, then the
        // offset and size of each
        let text = '';
        let consumed = 0;
        let count = -1;
        while (count < 0 || map.length < 2 * count) {
          if (consumed >= maxPax)
            throw new AciError(
              `${where(offset)}: the sparse map of "${h.name}" is larger than the limit of ${maxPax} bytes; the archive is damaged or hostile.`,
              { code: 'ERR_ACI_LIMIT', requirement: 'ACI-015' },
            );
          if (consumed + BLOCK > h.size)
            throw bad(offset, `the sparse map of "${h.name}" does not end within its data.`);
          const b = await src.read(BLOCK);
          if (!(b instanceof Uint8Array)) throw truncated(`the sparse map of "${h.name}"`, src.position);
          consumed += BLOCK;
          text += Buffer.from(b.buffer, b.byteOffset, BLOCK).toString('latin1');
          for (
            let nl = text.indexOf('\n');
            nl >= 0 && (count < 0 || map.length < 2 * count);
            nl = text.indexOf('\n')
          ) {
            const n = numberOf(text.slice(0, nl), 'an entry');
            text = text.slice(nl + 1);
            if (count >= 0) map.push(n);
            else if (n > MAX_SPARSE_PARTS) throw tooMany();
            else count = n;
          }
        }
        stored = h.size - consumed;
      } else if (records.has('map') && (major === undefined || major === '0')) {
        const text = records.get('map') as string;
        const parts = text === '' ? [] : text.split(',');
        if (parts.length % 2 !== 0)
          throw bad(offset, `the sparse map of "${h.name}" has an odd number of numbers.`);
        if (parts.length > 2 * MAX_SPARSE_PARTS) throw tooMany();
        for (const part of parts) map.push(numberOf(part, 'an entry'));
      } else
        throw new AciError(
          `${where(offset)}: "${h.name}" is a sparse file of a GNU format (${major ?? '?'}.${records.get('minor') ?? '?'}) this reader does not know; rebuild the archive without --sparse.`,
          { code: 'ERR_ACI_UNSUPPORTED_ENTRY', requirement: 'ACI-015' },
        );
      realsize = numberOf(size ?? '', 'a real size');
      const name = records.get('name');
      if (name) h.name = name;
    }
    let pos = 0;
    let sum = 0;
    for (let i = 0; i < map.length; i += 2) {
      const at = map[i] as number;
      const len = map[i + 1] as number;
      if (at < pos || at + len > realsize)
        throw bad(
          offset,
          `the sparse map of "${h.name}" has parts out of order or past its real size (${realsize}).`,
        );
      pos = at + len;
      sum += len;
    }
    if (sum !== stored)
      throw bad(offset, `the sparse map of "${h.name}" adds up to ${sum} bytes, but ${stored} are stored.`);
    h.type = 'file';
    h.size = realsize;
    return { map, stored };
  };

  try {
    for (;;) {
      const offset = src.position;
      const block = await src.read(BLOCK);
      if (block === null) break; // clean end without end blocks: accepted, as GNU tar and Go do
      if (!(block instanceof Uint8Array)) throw truncated('a header block', src.position);
      if (isZeroBlock(block)) {
        const next = await src.read(BLOCK);
        if (next === null) break;
        if (!(next instanceof Uint8Array)) throw truncated('the end-of-archive blocks', src.position);
        if (!isZeroBlock(next))
          throw bad(
            offset,
            'a single zero block is followed by more data; the archive is damaged (two zero blocks end a tar).',
          );
        break;
      }
      if (!checksumOk(block))
        throw bad(
          offset,
          'checksum mismatch: this is not a tar header (the archive is damaged, or it is compressed or encrypted in a way not recognised).',
        );
      const dialect = dialectOf(block);
      const typeflag = String.fromCharCode(block[156] as number);
      const size = parseNumeric(block, 124, 12);
      if (Number.isNaN(size) || size < 0) throw bad(offset, 'the size field is not a number.');
      if (typeflag === 'x' || typeflag === 'g') {
        const records = parsePaxRecords(await readRecord(size, maxPax, offset, 'a PAX extended header'), () =>
          where(offset),
        );
        if (typeflag === 'g') {
          for (const [k, v] of records) {
            const before = global.get(k);
            if (before) globalBytes -= k.length + before.length;
            if (v.length === 0) global.delete(k);
            else {
              global.set(k, v);
              globalBytes += k.length + v.length;
            }
          }
          // every entry after it carries them: their total is bounded as one PAX header is
          if (globalBytes > maxPax || global.size > MAX_GLOBAL_RECORDS)
            throw new AciError(
              `${where(offset)}: the global PAX records add up to ${global.size} records of ${globalBytes} bytes, more than ${MAX_GLOBAL_RECORDS} records or ${maxPax} bytes; the archive is damaged or hostile.`,
              { code: 'ERR_ACI_LIMIT', requirement: 'ACI-015' },
            );
        } else local = records;
        continue;
      }
      if (typeflag === 'L' || typeflag === 'K') {
        const data = await readRecord(size, maxLong, offset, 'a GNU long name');
        const end = data.indexOf(0);
        const text = decodeName(data, 0, end < 0 ? data.length : end);
        if (typeflag === 'L') longName = text;
        else longLink = text;
        continue;
      }
      if (typeflag === 'V') {
        // GNU volume label: not an entry
        const missing = await src.skip(Math.ceil(size / BLOCK) * BLOCK);
        if (missing > 0) throw truncated('a GNU volume label', src.position);
        continue;
      }
      const merged = new Map(global);
      for (const [k, v] of local) {
        if (v.length === 0) merged.delete(k);
        else merged.set(k, v);
      }
      const h: TarHeader = {
        name: cstring(block, 0, 100),
        type: TYPES[typeflag] ?? 'unknown',
        typeflag,
        mode: parseNumeric(block, 100, 8),
        uid: parseNumeric(block, 108, 8),
        gid: parseNumeric(block, 116, 8),
        uname: dialect === 'v7' ? '' : cstring(block, 265, 32),
        gname: dialect === 'v7' ? '' : cstring(block, 297, 32),
        size,
        mtime: parseNumeric(block, 136, 12),
        linkname: cstring(block, 157, 100),
        devmajor: dialect === 'v7' ? 0 : parseNumeric(block, 329, 8),
        devminor: dialect === 'v7' ? 0 : parseNumeric(block, 337, 8),
        xattrs: new Map(),
        dialect,
        pax: merged.size > 0,
        offset,
      };
      if (dialect === 'ustar') {
        const prefix = cstring(block, 345, 155);
        if (prefix) h.name = `${prefix}/${h.name}`;
      }
      for (const f of ['mode', 'uid', 'gid', 'mtime', 'devmajor', 'devminor'] as const) {
        if (Number.isNaN(h[f])) throw bad(offset, `the ${f} field of "${h.name}" is not a number.`);
      }
      h.mode &= 0o7777;
      if (longName !== undefined) h.name = longName;
      if (longLink !== undefined) h.linkname = longLink;
      longName = undefined;
      longLink = undefined;
      const sparseRecords = new Map<string, string>();
      for (const [key, value] of merged) {
        const text = () => value.toString('utf8');
        // size, uid and gid are whole numbers; mtime may have a fraction. Seconds must fit the 64 bits of a
        // time_t (the reference and GNU tar refuse the rest; no file system could take them)
        const num = (field: string, fraction: boolean) => {
          const t = text();
          const n = Number(t);
          if (!(fraction ? /^-?[0-9]+(\.[0-9]+)?$/ : /^-?[0-9]+$/).test(t) || !Number.isFinite(n))
            throw bad(
              offset,
              `PAX record ${field}=${JSON.stringify(t.slice(0, 40))} is not ${fraction ? 'a number' : 'a whole number'}.`,
            );
          if (Math.abs(n) >= PAX_NUMBER_BOUND)
            throw bad(offset, `PAX record ${field}=${JSON.stringify(t.slice(0, 40))} is out of range.`);
          return n;
        };
        // names are bytes (hdrcharset=BINARY, or a writer that did not recode them): kept as they are
        if (key === 'path') h.name = decodeName(value);
        else if (key === 'linkpath') h.linkname = decodeName(value);
        else if (key === 'size') h.size = num(key, false);
        else if (key === 'uid') h.uid = num(key, false);
        else if (key === 'gid') h.gid = num(key, false);
        else if (key === 'uname') h.uname = decodeName(value);
        else if (key === 'gname') h.gname = decodeName(value);
        else if (key === 'mtime') h.mtime = num(key, true);
        else if (key.startsWith('SCHILY.xattr.')) h.xattrs.set(key.slice(13), value);
        else if (key.startsWith('LIBARCHIVE.xattr.')) {
          // libarchive writes the attribute's name %-encoded
          let name: string;
          try {
            name = decodeURIComponent(key.slice(17));
          } catch {
            throw bad(
              offset,
              `PAX record ${JSON.stringify(key.slice(0, 60))} has a %-encoded attribute name that does not decode.`,
            );
          }
          h.xattrs.set(name, Buffer.from(value.toString('ascii'), 'base64'));
        } else if (key.startsWith('GNU.sparse.')) sparseRecords.set(key.slice(11), text());
      }
      local = new Map();
      if (!Number.isSafeInteger(h.size) || h.size < 0) throw bad(offset, 'the entry size is not valid.');
      if (h.type === 'file' && h.name.endsWith('/') && (typeflag === '0' || typeflag === '\0'))
        h.type = 'dir';
      // GNU sparse files (tar --sparse): the data of the non-hole parts is stored, the holes are given by a map
      const sparse =
        typeflag === 'S' || (sparseRecords.size > 0 && h.type === 'file')
          ? await readSparseMap(h, block, typeflag, sparseRecords, offset)
          : undefined;
      const dataSize = HEADER_ONLY.has(h.type) && typeflag !== 'D' ? 0 : h.size;
      // bytes of the entry's data in the archive (for a sparse file, the parts that are not holes)
      const stored = sparse ? sparse.stored : dataSize;
      const padding = (BLOCK - (stored % BLOCK)) % BLOCK;
      lastName = h.name;
      let left = stored;
      let started = false;
      const segment = async function* (n: number): AsyncGenerator<Uint8Array> {
        const it = src.chunks(n);
        for (;;) {
          const r = await it.next();
          if (r.done) {
            if (r.value > 0)
              throw truncated(`the data of "${h.name}" (declared ${stored} bytes)`, src.position);
            break;
          }
          left -= r.value.length;
          yield r.value;
        }
      };
      const body = async function* (): AsyncGenerator<Uint8Array> {
        if (started) throw new Error('tar entry body read twice');
        started = true;
        if (!sparse) {
          yield* segment(left);
          return;
        }
        // holes come out as zeros: the extraction writes them (it does not make holes)
        let pos = 0;
        let zeros = 0;
        const hole = function* (n: number): Generator<Uint8Array> {
          zeros += n;
          if (zeros > MAX_SPARSE_HOLE_BYTES)
            throw new AciError(
              `"${h.name}" is a sparse file of ${h.size} bytes whose holes, written out as zeros, would pass ${MAX_SPARSE_HOLE_BYTES} bytes; the archive is hostile, or holds a disk image that does not belong in a container image.`,
              { code: 'ERR_ACI_LIMIT', requirement: 'ACI-015', file: h.name },
            );
          for (let k = n; k > 0; k -= ZEROS.length) yield ZEROS.subarray(0, Math.min(k, ZEROS.length));
        };
        const map = sparse.map;
        for (let i = 0; i < map.length; i += 2) {
          const at = map[i] as number;
          const len = map[i + 1] as number;
          yield* hole(at - pos);
          yield* segment(len);
          pos = at + len;
        }
        yield* hole(h.size - pos);
      };
      const entry: TarEntry = {
        header: h,
        body,
        async bytes(maxBytes: number) {
          if (dataSize > maxBytes)
            throw new AciError(
              `"${h.name}" is ${dataSize} bytes, more than the limit of ${maxBytes} bytes.`,
              { code: 'ERR_ACI_LIMIT', requirement: 'ACI-015', file: h.name },
            );
          // copied as it comes: a chunk may be reused once the next one is asked for (see OpenAciOptions)
          const out = Buffer.allocUnsafe(dataSize);
          let at = 0;
          for await (const c of body()) {
            out.set(c, at);
            at += c.length;
          }
          return out;
        },
      };
      yield entry;
      if (left > 0) {
        const missing = await src.skip(left);
        if (missing > 0) throw truncated(`the data of "${h.name}" (declared ${h.size} bytes)`, src.position);
        left = 0;
      }
      if (padding > 0) {
        const missing = await src.skip(padding);
        if (missing > 0) throw truncated(`the padding after "${h.name}"`, src.position);
      }
    }
    if (longName !== undefined || longLink !== undefined || local.size > 0)
      throw truncated('an entry announced by a long-name or PAX record', src.position);
    if (limits.drain !== false) await src.drain();
  } finally {
    await src.close();
  }
}
