import { isUtf8 } from 'node:buffer';
import { readdirSync, readlinkSync } from 'node:fs';

/* File names as tar and Linux keep them are bytes, not text: GNU tar and Python's tarfile write whatever bytes a
 * name has, Latin-1 ones included. Here a name is a string all the same, so that the checks, maps and joins of
 * the rest of the package stay string code: its bytes are read as UTF-8, and each byte that is not part of valid
 * UTF-8 becomes one lone low surrogate, U+DC80..U+DCFF (the byte plus 0xDC00, as Python's "surrogateescape"
 * does). Valid UTF-8 never decodes to a lone surrogate, so no two byte strings give the same name, and
 * {@link encodeName} gives the bytes back. File-system calls take such a name as a Buffer ({@link fsPath}). */

/** A byte that was not valid UTF-8, kept as a lone low surrogate (not one half of a surrogate pair). */
const ESCAPED = /(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/;

/** Length of the UTF-8 sequence a lead byte starts (0 when it cannot start one). */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/** Whether bytes `i..i+n` of `b` are one valid UTF-8 sequence (no overlong form, no surrogate, at most
 * U+10FFFF). */
function validSequence(b: Uint8Array, i: number, n: number, end: number): boolean {
  if (i + n > end) return false;
  for (let k = 1; k < n; k++) if (((b[i + k] as number) & 0xc0) !== 0x80) return false;
  const lead = b[i] as number;
  const second = b[i + 1] as number;
  if (n === 3) {
    if (lead === 0xe0 && second < 0xa0) return false; // overlong
    if (lead === 0xed && second >= 0xa0) return false; // a surrogate
  }
  if (n === 4) {
    if (lead === 0xf0 && second < 0x90) return false; // overlong
    if (lead === 0xf4 && second >= 0x90) return false; // above U+10FFFF
  }
  return true;
}

/** The name bytes `start..end` of `b` stand for: UTF-8, with each byte outside valid UTF-8 kept as U+DC00 plus
 * the byte. */
export function decodeName(b: Uint8Array, start = 0, end = b.length): string {
  const view = Buffer.from(b.buffer, b.byteOffset + start, end - start);
  if (isUtf8(view)) return view.toString('utf8');
  let out = '';
  let run = start; // start of the valid bytes not yet added
  let i = start;
  while (i < end) {
    const n = sequenceLength(b[i] as number);
    if (n > 0 && validSequence(b, i, n, end)) {
      i += n;
      continue;
    }
    if (run < i) out += Buffer.from(b.buffer, b.byteOffset + run, i - run).toString('utf8');
    out += String.fromCharCode(0xdc00 + (b[i] as number));
    i++;
    run = i;
  }
  if (run < end) out += Buffer.from(b.buffer, b.byteOffset + run, end - run).toString('utf8');
  return out;
}

/** Whether a name holds bytes that were not UTF-8 ({@link decodeName}). */
export function hasRawBytes(name: string): boolean {
  return ESCAPED.test(name);
}

/** A name for a message: each byte that is not UTF-8 shown as `\xHH` (a terminal would show U+FFFD for it). */
export function displayName(name: string): string {
  return name.replace(
    new RegExp(ESCAPED.source, 'g'),
    (c) => `\\x${(c.charCodeAt(0) - 0xdc00).toString(16).toUpperCase()}`,
  );
}

/** A path for node:fs: the string itself, or the bytes it stands for ({@link decodeName} undone) when it holds
 * bytes that were not UTF-8. Self-contained: the worker threads run its source. */
export function fsPath(path: string): string | Buffer {
  if (!/(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/.test(path)) return path;
  const parts: Buffer[] = [];
  let run = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = path.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++; // a pair: one character, kept as it is
      continue;
    }
    if (c >= 0xdc80 && c <= 0xdcff) {
      if (run < i) parts.push(Buffer.from(path.slice(run, i), 'utf8'));
      parts.push(Buffer.of(c - 0xdc00));
      run = i + 1;
    }
  }
  if (run < path.length) parts.push(Buffer.from(path.slice(run), 'utf8'));
  return Buffer.concat(parts);
}

/** The bytes a name stands for ({@link decodeName} undone). */
export function encodeName(name: string): Buffer {
  const p = fsPath(name);
  return typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
}

/** Length in bytes of a name on disk. */
export function nameByteLength(name: string): number {
  return hasRawBytes(name) ? encodeName(name).length : Buffer.byteLength(name);
}

/** {@link fsPath} as source text, for the worker threads that run plain JavaScript. */
export const FS_PATH_SOURCE = fsPath.toString();

/** The names in a directory ({@link decodeName}'s form). Read as text first, which is faster; only a directory
 * where that gave U+FFFD, the mark of bytes that were not UTF-8, is read again as bytes. */
export function readDirNames(path: string): string[] {
  const names = readdirSync(fsPath(path));
  if (!names.some((n) => n.includes('\uFFFD'))) return names;
  return readdirSync(fsPath(path), { encoding: 'buffer' }).map((b) => decodeName(b));
}

/** A symlink's target ({@link decodeName}'s form). */
export function readLinkName(path: string): string {
  const target = readlinkSync(fsPath(path));
  return target.includes('\uFFFD') ? decodeName(readlinkSync(fsPath(path), { encoding: 'buffer' })) : target;
}
