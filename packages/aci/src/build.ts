import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readFileSync, readSync, type Stats } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type ImageManifest, serializeImageManifest } from '@appc/schema';
import { type Compression, compress } from './compression.ts';
import { AciError } from './errors.ts';
import { decodeName, encodeName, fsPath, readDirNames, readLinkName } from './internal/names.ts';
import { checkOutput, type OutputOptions, writeAtomically } from './internal/output.ts';
import { END_BLOCKS, encodeHeader, padding, type TarWriteHeader } from './internal/tar-writer.ts';
import { HashThread, hashTarPieces, type TarPiece } from './internal/tree-hash.ts';
import { validateLayout } from './validate.ts';

/** gzip level `build` uses unless told otherwise (see {@link BuildOptions.gzipLevel}). */
export const DEFAULT_BUILD_GZIP_LEVEL = 5;

/** Options of {@link build}. */
export interface BuildOptions extends OutputOptions {
  /** Output compression (default `gzip`, ACI-014). */
  compression?: Compression;
  /** Reproducible output: entries sorted, mtimes clamped to `sourceDateEpoch`, no user or group names, the
   * manifest dated `sourceDateEpoch`. Two builds of the same tree give the same image ID. */
  deterministic?: boolean;
  /** Seconds since the epoch; default `SOURCE_DATE_EPOCH` from the environment, else 0 (deterministic only). */
  sourceDateEpoch?: number;
  /** Record every entry as owned by uid/gid 0 (user and group `root` unless deterministic). */
  ownerRoot?: boolean;
  /** Carry extended attributes (read with the `getfattr` program when it exists; default true). */
  xattrs?: boolean;
  /** zlib level of the gzip members (default 5: in 1 MiB members it compresses to the size `gzip -6` gives, within
   * a fraction of a percent on a mixed image tree, in three quarters of the time of level 6). */
  gzipLevel?: number;
  /** Called with the number of uncompressed tar bytes produced so far. */
  onProgress?: (bytes: number) => void;
}

/** What {@link build} produced. */
export interface BuildResult {
  imageId: string;
  manifest: ImageManifest;
  /** Size of the written (compressed) archive in bytes. */
  sizeBytes: number;
  /** Size of the uncompressed tar stream in bytes. */
  tarBytes: number;
}

interface NameMaps {
  users: Map<number, string>;
  groups: Map<number, string>;
}

function readNames(file: string): Map<number, string> {
  const out = new Map<number, string>();
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length >= 3 && f[0] && /^\d+$/.test(f[2] ?? '') && !out.has(Number(f[2])))
        out.set(Number(f[2]), f[0]);
    }
  } catch {
    // no names on this system: uid/gid numbers are enough
  }
  return out;
}

/** A name as getfattr prints it: its bytes, some of them as `\ooo` octal escapes ({@link decodeName}'s form). */
function unescapeGetfattr(raw: Buffer): string {
  if (!raw.includes(0x5c)) return decodeName(raw);
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as number;
    if (c === 0x5c && i + 3 < raw.length && /^[0-7]{3}$/.test(raw.toString('latin1', i + 1, i + 4))) {
      bytes.push(Number.parseInt(raw.toString('latin1', i + 1, i + 4), 8));
      i += 3;
    } else bytes.push(c);
  }
  return decodeName(Buffer.from(bytes));
}

/** Reads every extended attribute under `root` (symlinks not followed) with one `getfattr -R` run (Node has no
 * xattr API): by path as getfattr names it (`root` joined with the relative path; escapes decoded), then by
 * attribute name. Undefined when the program is missing. */
export async function readXattrs(root: string): Promise<Map<string, Map<string, Buffer>> | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'getfattr',
      ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'base64', '--absolute-names', root],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    const parts: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => parts.push(d));
    child.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? resolve(undefined) : reject(e)));
    child.on('close', () => {
      const out = new Map<string, Map<string, Buffer>>();
      let current: Map<string, Buffer> | undefined;
      // bytes, line by line: a file name may not be UTF-8
      const all = Buffer.concat(parts);
      for (let start = 0; start < all.length; ) {
        let end = all.indexOf(0x0a, start);
        if (end < 0) end = all.length;
        const raw = all.subarray(start, end);
        start = end + 1;
        if (raw.subarray(0, 8).toString('latin1') === '# file: ') {
          current = new Map();
          out.set(unescapeGetfattr(raw.subarray(8)), current);
          continue;
        }
        if (!current || raw.length === 0) continue;
        // an attribute: its name (a `=` in it is escaped), `=`, its value in base64 (or hex, or quoted text)
        const eq = raw.indexOf(0x3d);
        if (eq < 0) {
          current.set(unescapeGetfattr(raw), Buffer.alloc(0));
          continue;
        }
        const value = raw.toString('utf8', eq + 1);
        let bytes: Buffer;
        if (value.startsWith('0s')) bytes = Buffer.from(value.slice(2), 'base64');
        else if (value.startsWith('0x')) bytes = Buffer.from(value.slice(2), 'hex');
        else bytes = Buffer.from(value.replace(/^"|"$/g, ''), 'utf8');
        current.set(unescapeGetfattr(raw.subarray(0, eq)), bytes);
      }
      resolve(out);
    });
  });
}

/** Major and minor numbers of a device number (glibc's encoding). */
function devNumbers(rdev: number): { devmajor: number; devminor: number } {
  const d = BigInt(rdev);
  const major = Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn));
  const minor = Number((d & 0xffn) | ((d >> 12n) & ~0xffn));
  return { devmajor: major, devminor: minor };
}

interface WalkItem {
  /** Name in the archive. */
  name: string;
  /** Path on disk. */
  path: string;
  st: Stats;
}

/** Walks `rootfs` depth first in lexical (byte) order without following symlinks (ACI-014). Synchronous
 * calls on purpose: the thread pool is busy compressing, and a queued lstat per file would stall the walk. */
function* walk(layout: string): Generator<WalkItem> {
  const rootPath = join(layout, 'rootfs');
  yield { name: 'rootfs', path: rootPath, st: lstatSync(fsPath(rootPath)) };
  // the directories being listed, deepest last, each with its sorted names and the next one to take (one
  // generator and no path normalising per entry: this loop runs once per file of the tree)
  const open: { name: string; path: string; children: string[]; next: number }[] = [
    { name: 'rootfs', path: rootPath, children: sortByBytes(readDirNames(rootPath)), next: 0 },
  ];
  while (open.length > 0) {
    const dir = open[open.length - 1] as (typeof open)[number];
    if (dir.next === dir.children.length) {
      open.pop();
      continue;
    }
    const child = dir.children[dir.next++] as string;
    // dir.path is normalised and child is a single name
    const path = `${dir.path}/${child}`;
    const name = `${dir.name}/${child}`;
    const st = lstatSync(fsPath(path));
    yield { name, path, st };
    if (st.isDirectory()) open.push({ name, path, children: sortByBytes(readDirNames(path)), next: 0 });
  }
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(encodeName(a), encodeName(b));
}

/** Sorts names in the order of their bytes. Below U+D800, UTF-16 code units (what the default sort compares)
 * are in the same order as UTF-8 bytes, so only names with surrogates (bytes that were not UTF-8 among them,
 * internal/names.ts) or characters from U+E000 up need their bytes compared. */
function sortByBytes(names: string[]): string[] {
  return names.some((n) => /[\uD800-\uFFFF]/.test(n)) ? names.sort(byteOrder) : names.sort();
}

function shrank(name: string, path: string): AciError {
  return new AciError(
    `${name} shrank while the image was being built; build again from a tree that does not change.`,
    {
      code: 'ERR_ACI_SIZE_MISMATCH',
      requirement: 'ACI-014',
      file: path,
    },
  );
}

/** Reads a regular file's bytes in pieces, checking that it still has the size its header declared. */
function* fileData(path: string, size: number, name: string): Generator<Uint8Array> {
  if (size === 0) return;
  const fd = openSync(fsPath(path), 'r');
  try {
    let left = size;
    const chunk = Math.min(size, 1024 * 1024);
    while (left > 0) {
      const buf = Buffer.allocUnsafe(Math.min(chunk, left));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) throw shrank(name, path);
      left -= n;
      yield n === buf.length ? buf : buf.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

/** Extended attributes of a path on disk, when the layout's were read. */
type XattrLookup = (path: string) => ReadonlyMap<string, Buffer> | undefined;

/** The entries of the uncompressed tar stream of a layout, in order: rootfs walked in lexical order, then the
 * manifest last, then the end blocks. `build` and `imageIdOfLayout` both write exactly these bytes. */
function* tarPieces(
  layout: string,
  manifest: ImageManifest,
  options: BuildOptions,
  xattrsOf: XattrLookup,
): Generator<TarPiece> {
  const deterministic = options.deterministic ?? false;
  const epoch = resolveEpoch(options);
  const now = Math.floor(Date.now() / 1000);
  const names: NameMaps | undefined = deterministic
    ? undefined
    : { users: readNames('/etc/passwd'), groups: readNames('/etc/group') };
  const links = new Map<string, string>();
  for (const item of walk(layout)) {
    // a property read per entry; throwIfAborted itself is a call with checks
    if (options.signal?.aborted) options.signal.throwIfAborted();
    const st = item.st;
    let type: TarWriteHeader['type'];
    if (st.isDirectory()) type = 'dir';
    else if (st.isFile()) type = 'file';
    else if (st.isSymbolicLink()) type = 'symlink';
    else if (st.isCharacterDevice()) type = 'char';
    else if (st.isBlockDevice()) type = 'block';
    else if (st.isFIFO()) type = 'fifo';
    else continue; // sockets are skipped (ACI-014)
    const uid = options.ownerRoot ? 0 : st.uid;
    const gid = options.ownerRoot ? 0 : st.gid;
    const h: TarWriteHeader = {
      name: item.name,
      type,
      mode: st.mode & 0o7777,
      uid,
      gid,
      size: 0,
      mtime: deterministic ? Math.min(Math.floor(st.mtimeMs / 1000), epoch) : Math.floor(st.mtimeMs / 1000),
    };
    if (names) {
      h.uname = options.ownerRoot ? 'root' : (names.users.get(uid) ?? '');
      h.gname = options.ownerRoot ? 'root' : (names.groups.get(gid) ?? '');
    }
    const attrs = xattrsOf(item.path);
    if (attrs && attrs.size > 0) h.xattrs = attrs;
    if (type !== 'dir' && st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = links.get(key);
      if (first !== undefined) {
        h.type = 'hardlink';
        h.linkname = first;
        yield { header: h, pad: 0 };
        continue;
      }
      links.set(key, item.name);
    }
    if (type === 'symlink') h.linkname = readLinkName(item.path);
    if (type === 'char' || type === 'block') Object.assign(h, devNumbers(st.rdev));
    if (type !== 'file') {
      yield { header: h, pad: 0 };
      continue;
    }
    h.size = st.size;
    yield {
      header: h,
      file: { path: item.path, name: item.name, size: st.size },
      pad: padding(st.size),
    };
  }
  const body = Buffer.from(serializeImageManifest(manifest), 'utf8');
  const mtime = deterministic ? epoch : now;
  yield {
    head: encodeHeader({
      name: 'manifest',
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      ...(deterministic ? {} : { uname: 'root', gname: 'root' }),
      size: body.length,
      mtime,
    }),
    data: body,
    pad: padding(body.length),
  };
  yield { head: END_BLOCKS, pad: 0 };
}

/** Produces the uncompressed tar stream of a layout as pieces (headers, file chunks of up to 1 MiB, padding). */
async function* tarStream(
  layout: string,
  manifest: ImageManifest,
  options: BuildOptions,
  onSize: (n: number) => void,
): AsyncGenerator<Uint8Array> {
  const xattrs = options.xattrs === false ? undefined : await readXattrs(join(layout, 'rootfs'));
  let total = 0;
  const emit = (b: Uint8Array) => {
    total += b.length;
    onSize(total);
    return b;
  };
  for (const piece of tarPieces(layout, manifest, options, (p) => xattrs?.get(p))) {
    yield emit(piece.head ?? encodeHeader(piece.header as TarWriteHeader));
    if (piece.file)
      for (const chunk of fileData(piece.file.path, piece.file.size, piece.file.name)) yield emit(chunk);
    if (piece.data) yield emit(piece.data);
    if (piece.pad > 0) yield emit(Buffer.alloc(piece.pad));
  }
}

/** The largest epoch a header can carry exactly: a larger number has no exact decimal form in a PAX `mtime`. */
const MAX_EPOCH = Number.MAX_SAFE_INTEGER;

function resolveEpoch(options: BuildOptions): number {
  if (options.sourceDateEpoch !== undefined) {
    const epoch = Math.floor(options.sourceDateEpoch);
    // a safe integer lies within -MAX_EPOCH..MAX_EPOCH
    if (!Number.isSafeInteger(epoch))
      throw new AciError(
        `sourceDateEpoch ${options.sourceDateEpoch} is not a whole number of seconds from -${MAX_EPOCH} to ${MAX_EPOCH}; give a smaller one.`,
        { code: 'ERR_ACI_LIMIT', requirement: 'ACI-014' },
      );
    return epoch;
  }
  const env = process.env.SOURCE_DATE_EPOCH;
  if (env !== undefined && /^\d+$/.test(env) && Number(env) <= MAX_EPOCH) return Number(env);
  return 0;
}

/** Refuses an output inside the rootfs it archives: the walk would take the half-written archive into itself. */
async function checkOutsideRootfs(layoutDir: string, outFile: string): Promise<void> {
  const rootfs = await realpath(join(layoutDir, 'rootfs')).catch(() => undefined);
  const outDir = await realpath(dirname(resolve(outFile))).catch(() => undefined);
  if (rootfs === undefined || outDir === undefined) return;
  if (outDir === rootfs || outDir.startsWith(`${rootfs}/`))
    throw new AciError(
      `${outFile} is inside ${join(layoutDir, 'rootfs')}, so the archive would contain itself; write it outside rootfs.`,
      { code: 'ERR_ACI_OUTPUT_EXISTS', requirement: 'ACI-014', file: outFile },
    );
}

async function checkedLayout(dir: string): Promise<ImageManifest> {
  const { issues, manifest } = await validateLayout(dir, { oldVersion: 'warning' });
  const errors = issues.filter((i) => i.severity !== 'warning');
  if (errors.length > 0 || !manifest) {
    const lines = errors.slice(0, 8).map((i) => `  ${i.file ?? ''}${i.pointer}: ${i.message} [${i.code}]`);
    throw new AciError(`${dir} is not a valid image layout (ACI-009):\n${lines.join('\n')}`, {
      code: 'ERR_ACI_INVALID_LAYOUT',
      requirement: errors[0]?.requirement ?? 'ACI-009',
      pointer: errors[0]?.pointer,
      file: dir,
    });
  }
  return manifest;
}

/** Builds an image archive from an image layout directory (ACI-014): validates the layout first, stores modes
 * (setuid, setgid, sticky), owners, mtimes, xattrs (when `getfattr` exists), symlinks, hard links (second path
 * becomes a link to the first), devices and fifos (sockets skipped), writes the manifest last, and computes the
 * image ID in the same pass. gzip (parallel multi-member) by default. Writes to a temporary file beside `outFile`
 * and renames it at the end: a failed or aborted build leaves nothing behind.
 * @example
 * const { imageId } = await build('layout', 'app.aci', { deterministic: true, sourceDateEpoch: 1700000000 });
 * @throws {@link AciError} `ERR_ACI_INVALID_LAYOUT`, `ERR_ACI_BAD_EXTENSION`, `ERR_ACI_OUTPUT_EXISTS` (also for an
 * output inside the layout's rootfs), `ERR_ACI_LIMIT` (a `sourceDateEpoch` beyond 2^53 - 1), `ERR_ACI_ABORTED`,
 * `ERR_ACI_TOOL_MISSING` (xz, bzip2). */
export async function build(
  layoutDir: string,
  outFile: string,
  options: BuildOptions = {},
): Promise<BuildResult> {
  await checkOutput(outFile, options);
  const manifest = await checkedLayout(layoutDir);
  await checkOutsideRootfs(layoutDir, outFile);
  // a bad epoch is refused before anything is written
  if (options.deterministic) resolveEpoch(options);
  const hash = createHash('sha512');
  let tarBytes = 0;
  const progress = options.onProgress;
  const tar = tarStream(layoutDir, manifest, options, (n) => {
    tarBytes = n;
    progress?.(n);
  });
  async function* hashed(): AsyncGenerator<Uint8Array> {
    for await (const c of tar) {
      hash.update(c);
      yield c;
    }
  }
  const sizeBytes = await writeAtomically(
    outFile,
    compress(hashed(), options.compression ?? 'gzip', options.gzipLevel ?? DEFAULT_BUILD_GZIP_LEVEL),
    options.signal,
  );
  return { imageId: `sha512-${hash.digest('hex')}`, manifest, sizeBytes, tarBytes };
}

/** The image ID a layout would have if built with these options (`appc id DIR`): the tar stream is produced and
 * hashed but written nowhere. Meaningful for comparisons when `deterministic` is set. The tree is walked on this
 * thread while worker threads read the files and hash (internal/tree-hash.ts); extended attributes are read
 * (`getfattr`) meanwhile, and in the rare case that an entry laid out before they were known has some, the
 * stream is produced again from the start with them.
 * @throws {@link AciError} `ERR_ACI_INVALID_LAYOUT`. */
export async function imageIdOfLayout(
  layoutDir: string,
  options: Omit<BuildOptions, 'compression' | 'overwrite' | 'anyExtension'> = {},
): Promise<string> {
  // the hashing thread boots while the layout is checked
  const thread = new HashThread();
  try {
    return await layoutId(layoutDir, options, thread);
  } finally {
    await thread.close();
  }
}

async function layoutId(
  layoutDir: string,
  options: Omit<BuildOptions, 'compression' | 'overwrite' | 'anyExtension'>,
  thread: HashThread,
): Promise<string> {
  const manifest = await checkedLayout(layoutDir);
  const xattrs =
    options.xattrs === false ? Promise.resolve(undefined) : readXattrs(join(layoutDir, 'rootfs'));
  xattrs.catch(() => {}); // awaited below
  let known: Map<string, Map<string, Buffer>> | undefined | 'pending' = 'pending';
  xattrs.then(
    (m) => {
      known = m;
    },
    () => {},
  );
  const hash = (xattrsOf: XattrLookup) =>
    hashTarPieces(tarPieces(layoutDir, manifest, options, xattrsOf), {
      shrank,
      thread,
      ...(options.onProgress ? { onSize: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  const unchecked: string[] = [];
  let hex = await hash((path) => {
    if (known === 'pending') {
      unchecked.push(path);
      return undefined;
    }
    return known?.get(path);
  });
  const all = await xattrs;
  if (all && unchecked.some((p) => (all.get(p)?.size ?? 0) > 0)) hex = await hash((path) => all.get(path));
  return `sha512-${hex}`;
}
