import { decodeName, encodeName, hasRawBytes, nameByteLength } from './names.ts';

/** Metadata of one entry to write. */
export interface TarWriteHeader {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';
  mode: number;
  uid: number;
  gid: number;
  uname?: string;
  gname?: string;
  size: number;
  /** Whole seconds since the epoch. */
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes, written as `SCHILY.xattr.NAME` PAX records. */
  xattrs?: ReadonlyMap<string, Uint8Array>;
}

const TYPEFLAG = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
} as const;
const MAX_OCTAL_8 = 0o7777777;
const MAX_OCTAL_12 = 0o77777777777;

function writeOctal(b: Buffer, value: number, offset: number, width: number): void {
  b.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, width, 'ascii');
}

function paxRecord(key: string, value: Uint8Array): Buffer {
  const k = Buffer.from(` ${key}=`, 'utf8');
  const base = k.length + value.length + 1;
  let len = base + 1;
  while (String(len).length + base !== len) len = String(len).length + base;
  return Buffer.concat([Buffer.from(String(len), 'ascii'), k, value, Buffer.from('\n')]);
}

function splitName(name: string): { name: string; prefix: string } | undefined {
  const total = nameByteLength(name);
  if (total <= 100) return { name, prefix: '' };
  if (total > 256) return undefined;
  for (let i = name.indexOf('/'); i > 0; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (nameByteLength(prefix) <= 155 && nameByteLength(rest) <= 100 && rest.length > 0)
      return { name: rest, prefix };
  }
  return undefined;
}

function block(fields: {
  name: string;
  prefix: string;
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
}): Buffer {
  const b = Buffer.alloc(512);
  // names are bytes (internal/names.ts); the caller made each fit its field
  encodeName(fields.name).copy(b, 0, 0, 100);
  writeOctal(b, fields.mode, 100, 8);
  writeOctal(b, fields.uid, 108, 8);
  writeOctal(b, fields.gid, 116, 8);
  writeOctal(b, fields.size, 124, 12);
  writeOctal(b, fields.mtime, 136, 12);
  b.write(fields.typeflag, 156, 1, 'ascii');
  encodeName(fields.linkname).copy(b, 157, 0, 100);
  b.write('ustar\u000000', 257, 8, 'ascii');
  encodeName(fields.uname).copy(b, 265, 0, 32);
  encodeName(fields.gname).copy(b, 297, 0, 32);
  writeOctal(b, fields.devmajor, 329, 8);
  writeOctal(b, fields.devminor, 337, 8);
  if (fields.prefix) encodeName(fields.prefix).copy(b, 345, 0, 155);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += b[i] as number;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return b;
}

/** Encodes the header block(s) of one entry: a USTAR header, preceded by a PAX header when a value does not fit
 * (long names or link targets, large sizes or ids, long user names, xattrs). Deterministic: no atime, ctime or
 * process id is ever written. */
export function encodeHeader(h: TarWriteHeader): Buffer {
  const pax: Buffer[] = [];
  const uname = h.uname ?? '';
  const gname = h.gname ?? '';
  const linkname = h.linkname ?? '';
  let split = splitName(h.name);
  if (!split) {
    pax.push(paxRecord('path', encodeName(h.name)));
    split = { name: truncateBytes(h.name, 100), prefix: '' };
  }
  let linkField = linkname;
  if (nameByteLength(linkname) > 100) {
    pax.push(paxRecord('linkpath', encodeName(linkname)));
    linkField = truncateBytes(linkname, 100);
  }
  // a path or link target that is not UTF-8 is stored as its bytes, which POSIX says to mark as such
  if (pax.length > 0 && (hasRawBytes(h.name) || hasRawBytes(linkname)))
    pax.unshift(paxRecord('hdrcharset', Buffer.from('BINARY', 'ascii')));
  const num = (key: string, v: number, max: number) => {
    if (Number.isInteger(v) && v >= 0 && v <= max) return v;
    pax.push(paxRecord(key, Buffer.from(String(v), 'ascii')));
    return 0;
  };
  const size = num('size', h.size, MAX_OCTAL_12);
  const uid = num('uid', h.uid, MAX_OCTAL_8);
  const gid = num('gid', h.gid, MAX_OCTAL_8);
  const mtime = num('mtime', h.mtime, MAX_OCTAL_12);
  let unameField = uname;
  if (nameByteLength(uname) > 32) {
    pax.push(paxRecord('uname', encodeName(uname)));
    unameField = '';
  }
  let gnameField = gname;
  if (nameByteLength(gname) > 32) {
    pax.push(paxRecord('gname', encodeName(gname)));
    gnameField = '';
  }
  if (h.xattrs) {
    for (const [k, v] of [...h.xattrs].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)))
      pax.push(paxRecord(`SCHILY.xattr.${k}`, v));
  }
  const main = block({
    name: split.name,
    prefix: split.prefix,
    mode: h.mode & 0o7777,
    uid,
    gid,
    size,
    mtime,
    typeflag: TYPEFLAG[h.type],
    linkname: linkField,
    uname: unameField,
    gname: gnameField,
    devmajor: h.devmajor ?? 0,
    devminor: h.devminor ?? 0,
  });
  if (pax.length === 0) return main;
  const body = Buffer.concat(pax);
  const paxHeader = block({
    name: truncateBytes(`PaxHeader/${lastPart(h.name)}`, 100),
    prefix: '',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime: Math.max(0, Math.min(mtime, MAX_OCTAL_12)),
    typeflag: 'x',
    linkname: '',
    uname: '',
    gname: '',
    devmajor: 0,
    devminor: 0,
  });
  return Buffer.concat([paxHeader, body, Buffer.alloc(padding(body.length)), main]);
}

// the constant bytes of a USTAR header: magic and version, and the checksum field as spaces while summing
const USTAR_TEMPLATE = Buffer.alloc(512);
USTAR_TEMPLATE.write('ustar\u000000', 257, 8, 'ascii');
USTAR_TEMPLATE.fill(0x20, 148, 156);
let TEMPLATE_SUM = 0;
for (const byte of USTAR_TEMPLATE) TEMPLATE_SUM += byte;

/** Writes `value` as `width - 1` octal digits and a NUL at `at`; returns the sum of the bytes written. */
function putOctal(b: Uint8Array, at: number, value: number, width: number): number {
  let sum = 0;
  let v = value;
  for (let i = at + width - 2; i >= at; i--) {
    const digit = 0x30 + (v % 8);
    b[i] = digit;
    sum += digit;
    v = Math.floor(v / 8);
  }
  b[at + width - 1] = 0;
  return sum;
}

/** Writes a string field (UTF-8, at most `max` bytes, the caller checked that it fits); returns its byte sum. */
function putText(b: Buffer, at: number, text: string, max: number): number {
  if (text === '') return 0;
  const n = b.write(text, at, max, 'utf8');
  let sum = 0;
  for (let i = at; i < at + n; i++) sum += b[i] as number;
  return sum;
}

/** Writes the header of `h` straight into `target` at `at` (512 bytes, which must be there) when it is a single
 * USTAR block: a name and link target of up to 100 bytes, numbers and names that fit their fields, no xattrs.
 * Returns false, having written nothing, otherwise; {@link encodeHeader} then gives the header (with PAX
 * records). The bytes are those {@link encodeHeader} gives, without a 512-byte buffer of their own. */
export function encodeUstarInto(h: TarWriteHeader, target: Buffer, at: number): boolean {
  const linkname = h.linkname ?? '';
  const uname = h.uname ?? '';
  const gname = h.gname ?? '';
  if (
    (h.xattrs !== undefined && h.xattrs.size > 0) ||
    !fitsOctal(h.size, MAX_OCTAL_12) ||
    !fitsOctal(h.mtime, MAX_OCTAL_12) ||
    !fitsOctal(h.uid, MAX_OCTAL_8) ||
    !fitsOctal(h.gid, MAX_OCTAL_8) ||
    !fitsOctal(h.devmajor ?? 0, MAX_OCTAL_8) ||
    !fitsOctal(h.devminor ?? 0, MAX_OCTAL_8) ||
    Buffer.byteLength(h.name) > 100 ||
    (linkname !== '' && Buffer.byteLength(linkname) > 100) ||
    // bytes that are not UTF-8 (internal/names.ts): encodeHeader writes them
    hasRawBytes(h.name) ||
    (linkname !== '' && hasRawBytes(linkname)) ||
    (uname !== '' && Buffer.byteLength(uname) > 32) ||
    (gname !== '' && Buffer.byteLength(gname) > 32)
  )
    return false;
  USTAR_TEMPLATE.copy(target, at);
  let sum = TEMPLATE_SUM;
  sum += putText(target, at, h.name, 100);
  sum += putOctal(target, at + 100, h.mode & 0o7777, 8);
  sum += putOctal(target, at + 108, h.uid, 8);
  sum += putOctal(target, at + 116, h.gid, 8);
  sum += putOctal(target, at + 124, h.size, 12);
  sum += putOctal(target, at + 136, h.mtime, 12);
  const flag = TYPEFLAG[h.type].charCodeAt(0);
  target[at + 156] = flag;
  sum += flag;
  sum += putText(target, at + 157, linkname, 100);
  sum += putText(target, at + 265, uname, 32);
  sum += putText(target, at + 297, gname, 32);
  sum += putOctal(target, at + 329, h.devmajor ?? 0, 8);
  sum += putOctal(target, at + 337, h.devminor ?? 0, 8);
  // the checksum: six octal digits, a NUL and a space
  putOctal(target, at + 148, sum, 7);
  target[at + 155] = 0x20;
  return true;
}

function fitsOctal(v: number, max: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= max;
}

/** Zero bytes needed after `size` bytes of data to reach a block boundary. */
export function padding(size: number): number {
  return (512 - (size % 512)) % 512;
}

/** The two zero blocks that end an archive. */
export const END_BLOCKS: Buffer = Buffer.alloc(1024);

function lastPart(name: string): string {
  const trimmed = name.replace(/\/+$/, '');
  const i = trimmed.lastIndexOf('/');
  return i < 0 ? trimmed : trimmed.slice(i + 1);
}

function truncateBytes(s: string, max: number): string {
  const b = encodeName(s);
  if (b.length <= max) return s;
  // cut on a character boundary
  let end = max;
  while (end > 0 && ((b[end] as number) & 0xc0) === 0x80) end--;
  return decodeName(b, 0, end);
}
