import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { compress, type TarEntrySpec, type TarSpec, writeTar } from '@appc/vectors';
import { expect } from 'vitest';
import { extract } from '../src/index.ts';

export type { TarEntrySpec, TarSpec };

/** A manifest as text. */
export function manifestText(name = 'example.com/app', extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ acKind: 'ImageManifest', acVersion: '0.8.11', name, ...extra });
}

/** Entries of a minimal valid image, plus `more`. */
export function imageEntries(more: TarEntrySpec[] = [], name = 'example.com/app'): TarEntrySpec[] {
  return [{ name: 'manifest', contents: manifestText(name) }, { name: 'rootfs', type: 'dir' }, ...more];
}

/** A scratch directory removed by the returned function. */
export async function scratch(prefix = 'aci-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes an archive described as data (any dialect, any compression, hostile ones included). */
export async function writeArchive(path: string, spec: TarSpec): Promise<string> {
  await writeFile(path, compress(writeTar(spec), spec.compression));
  return path;
}

/** A node of a layout tree. */
export type TreeNode =
  | string
  | {
      type?: 'file' | 'dir' | 'symlink' | 'hardlink' | 'fifo';
      contents?: string | Buffer;
      mode?: number;
      target?: string;
      mtime?: number;
      xattrs?: Record<string, string>;
    };

/** Creates files from a tree `{ 'manifest': '…', 'rootfs/bin/x': { contents, mode } }`; parents as needed.
 * Entries are created in key order (hard link targets first). */
export function makeTree(root: string, tree: Record<string, TreeNode>): void {
  mkdirSync(root, { recursive: true });
  const dirsWithMtime: [string, number][] = [];
  for (const [rel, node] of Object.entries(tree)) {
    const p = join(root, rel);
    const n = typeof node === 'string' ? { contents: node } : node;
    const type = n.type ?? 'file';
    mkdirSync(dirname(p), { recursive: true });
    if (type === 'dir') mkdirSync(p, { recursive: true });
    else if (type === 'file') writeFileSync(p, n.contents ?? '');
    else if (type === 'symlink') symlinkSync(n.target ?? '', p);
    else if (type === 'hardlink') linkSync(join(root, n.target ?? ''), p);
    else if (type === 'fifo') spawnSync('mkfifo', [p]);
    if (n.mode !== undefined && type !== 'symlink') chmodSync(p, n.mode);
    for (const [k, v] of Object.entries(n.xattrs ?? {})) {
      const r = spawnSync('setfattr', ['-n', k, '-v', v, p]);
      if (r.status !== 0) throw new Error(`setfattr failed: ${r.stderr}`);
    }
    if (n.mtime !== undefined) {
      if (type === 'dir') dirsWithMtime.push([p, n.mtime]);
      else if (type !== 'symlink') utimesSync(p, n.mtime, n.mtime);
    }
  }
  for (const [p, t] of dirsWithMtime) utimesSync(p, t, t);
}

/** One path of a tree snapshot. */
export interface TreeEntry {
  type: 'file' | 'dir' | 'symlink' | 'fifo' | 'char' | 'block' | 'other';
  mode: number;
  size?: number;
  sha256?: string;
  target?: string;
  mtime?: number;
  uid?: number;
  gid?: number;
  /** Index of the inode among the snapshot's multiply-linked files, so hard links compare equal. */
  link?: string;
}

/** Describes every path under `root` (not following symlinks): type, permission bits, sizes, content hashes,
 * link targets, mtimes (whole seconds, not for symlinks or directories unless asked), and hard-link groups. */
export function snapshot(
  root: string,
  options: { mtimes?: boolean; owners?: boolean } = {},
): Record<string, TreeEntry> {
  const out: Record<string, TreeEntry> = {};
  const inodes = new Map<string, string>();
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(p);
      const e: TreeEntry = { type: 'other', mode: st.mode & 0o7777 };
      if (st.isDirectory()) e.type = 'dir';
      else if (st.isFile()) {
        e.type = 'file';
        e.size = st.size;
        e.sha256 = createHash('sha256').update(readFileSync(p)).digest('hex');
      } else if (st.isSymbolicLink()) {
        e.type = 'symlink';
        e.target = readlinkSync(p);
        e.mode = 0;
      } else if (st.isFIFO()) e.type = 'fifo';
      else if (st.isCharacterDevice()) e.type = 'char';
      else if (st.isBlockDevice()) e.type = 'block';
      if (options.mtimes && e.type !== 'symlink' && e.type !== 'dir') e.mtime = Math.floor(st.mtimeMs / 1000);
      if (options.owners) {
        e.uid = st.uid;
        e.gid = st.gid;
      }
      if (!st.isDirectory() && st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        if (!inodes.has(key)) inodes.set(key, r);
        e.link = inodes.get(key) as string;
      }
      out[r] = e;
      if (st.isDirectory()) walk(p, r);
    }
  };
  walk(root, '');
  return out;
}

/** Runs a command; throws with its stderr when it fails. */
export function run(cmd: string, args: string[], options: { cwd?: string; input?: Buffer } = {}): Buffer {
  const r = spawnSync(cmd, args, { ...options, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.error ?? r.stderr.toString()}`);
  return r.stdout;
}

/** A stream of a tar with `count` empty regular files under rootfs/ (plus manifest and rootfs), generated as it
 * is read: nothing is held in memory. Headers are stamped from one template (fast enough for millions). */
export async function* manyEmptyEntries(count: number, sameName = false): AsyncGenerator<Uint8Array> {
  yield writeTar({ entries: imageEntries(), noEndBlocks: true });
  const template = writeTar({ entries: [{ name: '' }], noEndBlocks: true });
  let base = 0;
  for (let i = 0; i < 512; i++) base += i >= 148 && i < 156 ? 0x20 : (template[i] as number);
  const batch = 4096;
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    const out = Buffer.alloc(n * 512);
    for (let j = 0; j < n; j++) {
      const off = j * 512;
      template.copy(out, off, 0, 512);
      const name = sameName ? 'rootfs/same' : `rootfs/f${i + j}`;
      out.write(name, off, 'ascii');
      let sum = base;
      for (let k = 0; k < name.length; k++) sum += name.charCodeAt(k);
      out.write(`${sum.toString(8).padStart(6, '0')}\0 `, off + 148, 'ascii');
    }
    yield out;
  }
  yield Buffer.alloc(1024);
}

/** True when the `attr` tools work on the scratch file system (user xattrs supported). */
export function xattrsSupported(dir: string): boolean {
  const p = join(dir, '.xattr-probe');
  writeFileSync(p, '');
  const r = spawnSync('setfattr', ['-n', 'user.probe', '-v', '1', p]);
  return r.status === 0;
}

/** Whatever `extract` throws when it unpacks `file` into `parent`/out, after checking that it left nothing in
 * `parent` (made here, fresh). */
export async function refusedExtract(file: string, parent: string): Promise<unknown> {
  mkdirSync(parent);
  const e = await extract(file, join(parent, 'out')).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(readdirSync(parent)).toEqual([]);
  return e;
}
