import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';

/** One tar entry described as data; every field but `name` is optional. */
export interface TarEntrySpec {
  name: string;
  /** `file` (default), `dir`, `symlink`, `hardlink`, `fifo`, `char`, `block`, or a raw one-character typeflag. */
  type?: string;
  /** Octal text (`"0755"`) or a number. Defaults: 0644 for files, 0755 for directories, 0777 for symlinks. */
  mode?: string | number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  /** Seconds since the epoch (default 0). */
  mtime?: number;
  contents?: string;
  contentsBase64?: string;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Size written in the header instead of the real one (truncation and overrun cases). */
  declaredSize?: number;
  /** Records of a per-file PAX header written before this entry. */
  pax?: Record<string, string>;
  /** Write a wrong header checksum. */
  badChecksum?: boolean;
}

/** A whole archive described as data. */
export interface TarSpec {
  entries: TarEntrySpec[];
  /** Header dialect: `ustar` (default; long names split into prefix), `gnu` (long names as `L`/`K` records),
   * `pax` (long names as PAX records), `v7` (no magic, names of at most 100 bytes). */
  format?: 'ustar' | 'gnu' | 'pax' | 'v7';
  compression?: 'none' | 'gzip' | 'bzip2' | 'xz';
  /** Cut the uncompressed tar to this many bytes. */
  truncateAt?: number;
  /** Leave out the two zero blocks at the end. */
  noEndBlocks?: boolean;
}

const TYPEFLAGS: Record<string, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function modeOf(e: TarEntrySpec, type: string): number {
  if (typeof e.mode === 'number') return e.mode;
  if (typeof e.mode === 'string') return Number.parseInt(e.mode, 8);
  return type === '5' ? 0o755 : type === '2' ? 0o777 : 0o644;
}

/** The bytes of a name: UTF-8, but each lone surrogate U+DC80..U+DCFF stands for one byte that is not UTF-8 (the
 * byte plus 0xDC00), as @appc/aci reads such names; a vector's JSON writes it as `\udce9`. */
function nameBytes(name: string): Buffer {
  const parts = name.split(/((?<![\uD800-\uDBFF])[\uDC80-\uDCFF])/);
  return Buffer.concat(
    parts.map((part, i) =>
      i % 2 === 1 ? Buffer.of(part.charCodeAt(0) - 0xdc00) : Buffer.from(part, 'utf8'),
    ),
  );
}

function header(fields: {
  name: string;
  prefix?: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  magic: 'ustar' | 'gnu' | 'v7';
  badChecksum?: boolean;
}): Buffer {
  const b = Buffer.alloc(512);
  nameBytes(fields.name).copy(b, 0, 0, 100);
  b.write(octal(fields.mode, 8), 100, 'ascii');
  b.write(octal(fields.uid, 8), 108, 'ascii');
  b.write(octal(fields.gid, 8), 116, 'ascii');
  b.write(octal(fields.size, 12), 124, 'ascii');
  b.write(octal(fields.mtime, 12), 136, 'ascii');
  b.write(fields.typeflag, 156, 1, 'ascii');
  nameBytes(fields.linkname).copy(b, 157, 0, 100);
  if (fields.magic !== 'v7') {
    if (fields.magic === 'ustar') b.write('ustar\u000000', 257, 'ascii');
    else b.write('ustar  \0', 257, 'ascii');
    b.write(fields.uname, 265, 32, 'utf8');
    b.write(fields.gname, 297, 32, 'utf8');
    b.write(octal(fields.devmajor, 8), 329, 'ascii');
    b.write(octal(fields.devminor, 8), 337, 'ascii');
    if (fields.prefix) b.write(fields.prefix, 345, 155, 'utf8');
  }
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  if (fields.badChecksum) sum += 1;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return b;
}

function padded(data: Buffer): Buffer[] {
  const rest = data.length % 512;
  return rest === 0 ? [data] : [data, Buffer.alloc(512 - rest)];
}

function paxRecords(records: Record<string, string>): Buffer {
  let out = '';
  for (const [key, value] of Object.entries(records)) {
    const body = ` ${key}=${value}\n`;
    let len = Buffer.byteLength(body) + 1;
    while (String(len).length + Buffer.byteLength(body) !== len)
      len = String(len).length + Buffer.byteLength(body);
    out += `${len}${body}`;
  }
  return Buffer.from(out, 'utf8');
}

/** Splits a long name into USTAR prefix and name, or returns undefined when it does not fit. */
function splitUstar(name: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(name) <= 100) return { prefix: '', name };
  for (let i = name.length - 1; i > 0; i--) {
    if (name[i] !== '/') continue;
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest.length > 0)
      return { prefix, name: rest };
  }
  return undefined;
}

/** Writes an uncompressed tar from a description, byte for byte as described (hostile cases included). */
export function writeTar(spec: TarSpec): Buffer {
  const format = spec.format ?? 'ustar';
  const magic = format === 'gnu' ? 'gnu' : format === 'v7' ? 'v7' : 'ustar';
  const blocks: Buffer[] = [];
  const base = { uid: 0, gid: 0, mtime: 0, uname: '', gname: '', devmajor: 0, devminor: 0, magic } as const;
  for (const e of spec.entries) {
    const typeflag = TYPEFLAGS[e.type ?? 'file'] ?? e.type ?? '0';
    const data =
      e.contentsBase64 !== undefined
        ? Buffer.from(e.contentsBase64, 'base64')
        : Buffer.from(e.contents ?? '', 'utf8');
    const linkname = e.linkname ?? '';
    let name = e.name;
    let prefix = '';
    const pax: Record<string, string> = { ...e.pax };
    if (Buffer.byteLength(name) > 100) {
      const split = format === 'ustar' || format === 'pax' ? splitUstar(name) : undefined;
      if (split && format === 'ustar') ({ prefix, name } = split);
      else if (format === 'pax') pax.path = e.name;
      else if (format === 'gnu') {
        const long = Buffer.from(`${e.name}\0`, 'utf8');
        blocks.push(
          header({ ...base, name: '././@LongLink', mode: 0, size: long.length, typeflag: 'L', linkname: '' }),
          ...padded(long),
        );
      } else throw new Error(`tar fixture: name "${e.name}" is too long for the ${format} format`);
      if (format !== 'ustar') name = e.name.slice(0, 100);
    }
    if (Buffer.byteLength(linkname) > 100) {
      if (format === 'pax') pax.linkpath = linkname;
      else if (format === 'gnu') {
        const long = Buffer.from(`${linkname}\0`, 'utf8');
        blocks.push(
          header({ ...base, name: '././@LongLink', mode: 0, size: long.length, typeflag: 'K', linkname: '' }),
          ...padded(long),
        );
      } else throw new Error(`tar fixture: link target of "${e.name}" is too long for the ${format} format`);
    }
    if (Object.keys(pax).length > 0) {
      const body = paxRecords(pax);
      blocks.push(
        header({
          ...base,
          name: `PaxHeaders/${name.slice(0, 80)}`,
          mode: 0o644,
          size: body.length,
          typeflag: 'x',
          linkname: '',
        }),
        ...padded(body),
      );
    }
    const size = typeflag === '0' || typeflag === '7' || typeflag === '\0' ? data.length : 0;
    blocks.push(
      header({
        ...base,
        name,
        prefix,
        mode: modeOf(e, typeflag),
        uid: e.uid ?? 0,
        gid: e.gid ?? 0,
        mtime: e.mtime ?? 0,
        uname: e.uname ?? '',
        gname: e.gname ?? '',
        devmajor: e.devmajor ?? 0,
        devminor: e.devminor ?? 0,
        size: e.declaredSize ?? size,
        typeflag,
        linkname: linkname.slice(0, 100),
        badChecksum: e.badChecksum ?? false,
      }),
    );
    if (size > 0) blocks.push(...padded(data));
  }
  if (!spec.noEndBlocks) blocks.push(Buffer.alloc(1024));
  const tar = Buffer.concat(blocks);
  return spec.truncateAt === undefined ? tar : tar.subarray(0, spec.truncateAt);
}

/** Compresses with gzip (node:zlib) or the system `xz` / `bzip2` programs. */
export function compress(data: Buffer, compression: TarSpec['compression']): Buffer {
  if (!compression || compression === 'none') return data;
  if (compression === 'gzip') return gzipSync(data);
  const r = spawnSync(compression, ['-c'], { input: data, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${compression} failed: ${r.error?.message ?? r.stderr.toString()}`);
  return r.stdout;
}

/** Writes the archive a vector describes (`input.entries`, `input.format`, `input.compression`, ...) to `outPath`. */
export async function materializeArchive(
  vector: { input: Record<string, unknown> },
  outPath: string,
): Promise<string> {
  const spec = vector.input as unknown as TarSpec;
  await writeFile(outPath, compress(writeTar(spec), spec.compression));
  return outPath;
}
