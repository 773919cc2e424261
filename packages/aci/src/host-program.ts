// Host programs into an image layout: a program, the interpreter a script names, the dynamic loader and the shared
// libraries it loads (each followed through its symlinks), copied into the rootfs at the paths they have on this
// host. Getting an app's dependencies into an image was what hurt most with acbuild; this is the builder's answer
// for a program built or installed on the host.
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, open, readlink, realpath, stat, symlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, posix, resolve } from 'node:path';
import { AciError } from './errors.ts';

/** Options of {@link addHostPrograms}. */
export interface AddHostProgramsOptions {
  /** Where a program given by name (no `/`) is looked for; default `process.env.PATH`. */
  path?: string;
  /** Called with each host path once it is in the rootfs (the programs, interpreters, loaders, libraries and
   * the symlinks that lead to them). */
  onFile?: (hostPath: string) => void;
}

/** What {@link addHostPrograms} put into the rootfs. */
export interface AddHostProgramsResult {
  /** Host paths copied (files) or recreated (symlinks, with their targets as they were), in the order placed. */
  added: string[];
  /** Host paths the rootfs already had something at: left as they were. */
  kept: string[];
}

const MAX_LINKS = 40;
const MERGED_USR = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

function programError(message: string, file: string, cause?: unknown): AciError {
  return new AciError(message, {
    code: 'ERR_ACI_HOST_PROGRAM',
    requirement: 'ACI-009',
    file,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** A program given by name, looked up on `path` as a shell would; one with a `/` as it is. */
async function locate(program: string, path: string): Promise<string> {
  if (program.includes('/')) return resolve(program);
  for (const dir of path.split(':')) {
    if (dir === '' || !isAbsolute(dir)) continue;
    const candidate = join(dir, program);
    const st = await stat(candidate).catch(() => undefined);
    if (st?.isFile() && (st.mode & 0o111) !== 0) return candidate;
  }
  throw programError(`${program} was not found on the PATH (${path}); give its path.`, program);
}

/** The path inside `root` that host path `p` names, following the rootfs's own symlinks as a chroot would (an
 * absolute target starts again at `root`, `..` stops at it), except the last component. Never outside `root`. */
async function inside(root: string, p: string, depth = 0): Promise<string> {
  if (depth > MAX_LINKS) throw programError(`too many symbolic links under ${root} on the way to ${p}.`, p);
  const parts = posix.normalize(p).split('/').filter(Boolean);
  let at = '/';
  for (let i = 0; i < parts.length - 1; i++) {
    const next = posix.join(at, parts[i] as string);
    const st = await lstat(join(root, next)).catch(() => undefined);
    if (st?.isSymbolicLink()) {
      const target = await readlink(join(root, next));
      const base = posix.isAbsolute(target) ? target : posix.join(at, target);
      // posix.join and normalize keep a leading `/..` at `/`: the walk cannot leave the root
      return inside(root, posix.join(posix.normalize(`/${base}`), ...parts.slice(i + 1)), depth + 1);
    }
    at = next;
  }
  return join(root, posix.normalize(`/${posix.join(at, parts.at(-1) ?? '')}`));
}

/** The interpreter a script names (`#!/bin/sh -e` gives /bin/sh; `#!/usr/bin/env python3` gives /usr/bin/env
 * and the program python3), the dynamic loader an ELF program names (PT_INTERP; empty for a static one), or
 * nothing (a file of another kind). */
async function interpreterOf(
  file: string,
): Promise<{ kind: 'script' | 'elf'; path: string; program?: string } | undefined> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    const b = head.subarray(0, bytesRead);
    if (b.length > 2 && b[0] === 0x23 && b[1] === 0x21) {
      const line = b.subarray(2, b.indexOf(0x0a) < 0 ? b.length : b.indexOf(0x0a)).toString('utf8');
      const [path, arg] = line.trim().split(/\s+/);
      if (!path) return undefined;
      // env finds the real interpreter on the PATH when the script runs
      const program = posix.basename(path) === 'env' && arg && !arg.startsWith('-') ? arg : undefined;
      return { kind: 'script', path, ...(program ? { program } : {}) };
    }
    if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46) return undefined;
    const is64 = b[4] === 2;
    const le = b[5] === 1;
    // fields of the header and of the program header table, in the file's byte order
    const u16 = (buf: Buffer, o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
    const u32 = (buf: Buffer, o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
    const word = (buf: Buffer, o64: number, o32: number) =>
      is64 ? Number(le ? buf.readBigUInt64LE(o64) : buf.readBigUInt64BE(o64)) : u32(buf, o32);
    const phoff = word(b, 32, 28);
    const phentsize = u16(b, is64 ? 54 : 42);
    const phnum = u16(b, is64 ? 56 : 44);
    if (phnum > 512 || phentsize < (is64 ? 56 : 32)) return undefined;
    const table = Buffer.alloc(phentsize * phnum);
    await fh.read(table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) {
      const o = i * phentsize;
      if (u32(table, o) !== 3) continue; // PT_INTERP
      const offset = word(table, o + 8, o + 4);
      const size = word(table, o + 32, o + 16);
      if (size <= 1 || size > 4096) return undefined;
      const name = Buffer.alloc(size);
      await fh.read(name, 0, size, offset);
      const path = name.subarray(0, name.indexOf(0) < 0 ? size : name.indexOf(0)).toString('utf8');
      return path.startsWith('/') ? { kind: 'elf', path } : undefined;
    }
    return { kind: 'elf', path: '' }; // static
  } finally {
    await fh.close();
  }
}

/** The shared libraries a dynamically linked ELF file loads, as its loader lists them (`LOADER --list FILE`, what
 * ldd runs, for glibc and musl alike). */
async function librariesOf(loader: string, file: string): Promise<string[]> {
  const out = await new Promise<string>((ok, fail) => {
    execFile(loader, ['--list', file], { maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) fail(Object.assign(error, { stderr }));
      else ok(stdout);
    });
  }).catch((e: Error & { stderr?: string }) => {
    throw programError(
      `${file}: its loader ${loader} could not list its libraries (${(e.stderr || e.message).trim()}); is it a program for this machine?`,
      file,
      e,
    );
  });
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    const missing = /^\s*(\S+) => not found/.exec(line);
    if (missing)
      throw programError(
        `${file} needs ${missing[1]}, which this host does not have; install it first.`,
        file,
      );
    const m = /=>\s*(\/\S+)\s*\(/.exec(line) ?? /^\s*(\/\S+)\s*\(/.exec(line);
    if (m) libs.push(m[1] as string);
  }
  return libs;
}

/** Copies host programs into `rootfs` at their host paths, with what they need to start: the interpreter a script
 * names (with its own needs), the dynamic loader and every shared library the loader lists, and each symlink on
 * the way (the program's own, a library's `libz.so.1 -> libz.so.1.2.13`, a merged-/usr `/lib64 -> usr/lib64`),
 * so that the rootfs has them as this host does. A program is a path, or a name looked up on the PATH. What
 * the rootfs already has at a path is kept. Libraries loaded at run time with dlopen (NSS modules, plugins) are
 * not seen: name them too. Nothing is written outside `rootfs`: its own symlinks are followed as a chroot would.
 * @example
 * ```ts
 * const { added } = await addHostPrograms('layout/rootfs', ['/bin/sh', 'curl']);
 * ```
 * @throws {@link AciError} `ERR_ACI_HOST_PROGRAM` (a program or a library not found, a loader that fails),
 * `ERR_ACI_ROOTFS_NOT_DIR` (`rootfs` is a symlink). */
export async function addHostPrograms(
  rootfs: string,
  programs: readonly string[],
  options: AddHostProgramsOptions = {},
): Promise<AddHostProgramsResult> {
  const root = resolve(rootfs);
  const rootStat = await lstat(root).catch(() => undefined);
  // a symlinked rootfs would put the files wherever it leads, outside the layout (build refuses it as well)
  if (rootStat?.isSymbolicLink())
    throw new AciError(
      `${rootfs} is a symlink, which is not followed; make it a directory so that nothing is written outside the layout.`,
      { code: 'ERR_ACI_ROOTFS_NOT_DIR', requirement: 'ACI-009', file: rootfs },
    );
  if (!rootStat?.isDirectory())
    throw programError(`${rootfs} is not a directory; give a layout's rootfs directory.`, rootfs);
  const result: AddHostProgramsResult = { added: [], kept: [] };
  const searchPath = options.path ?? process.env.PATH ?? '/usr/bin:/bin';
  const placed = new Set<string>();
  const inspected = new Set<string>();
  const added = (p: string) => {
    result.added.push(p);
    options.onFile?.(p);
  };
  /** Recreates host symlink `p` at `dest` unless the rootfs has something there (noted as kept when
   * `noteKept`); returns the host path the link leads to. */
  const mirrorLink = async (p: string, dest: string, there: boolean, noteKept: boolean) => {
    const target = await readlink(p);
    if (!there) {
      await symlink(target, dest);
      added(p);
    } else if (noteKept) result.kept.push(p);
    return posix.resolve(dirname(p), target);
  };

  /** Makes host directory `d` exist in the rootfs, mirroring the host's symlinks on its way. */
  const ensureDir = async (d: string, depth = 0): Promise<void> => {
    if (d === '/' || placed.has(d)) return;
    if (depth > MAX_LINKS) throw programError(`too many symbolic links on the way to ${d}.`, d);
    await ensureDir(dirname(d), depth);
    const host = await lstat(d);
    const dest = await inside(root, d);
    const there = await lstat(dest).catch(() => undefined);
    if (host.isSymbolicLink()) {
      placed.add(d);
      await ensureDir(await mirrorLink(d, dest, there !== undefined, false), depth + 1);
      return;
    }
    // recursive: a symlink of the rootfs may lead to a directory it does not have yet (inside() followed every
    // component that exists, so none of those it creates is a symlink)
    if (!there) await mkdir(dest, { recursive: true, mode: host.mode & 0o7777 });
    else if (there.isSymbolicLink()) await mkdir(dirname(await inside(root, `${d}/x`)), { recursive: true });
    placed.add(d);
  };

  /** Puts host file `p` (a file, or a symlink and what it leads to) into the rootfs. */
  const place = async (p: string, depth = 0): Promise<void> => {
    if (placed.has(p)) return;
    if (depth > MAX_LINKS) throw programError(`too many symbolic links on the way to ${p}.`, p);
    placed.add(p);
    const host = await lstat(p).catch((e: unknown) => {
      throw programError(`${p} does not exist on this host.`, p, e);
    });
    await ensureDir(dirname(p));
    const dest = await inside(root, p);
    const there = await lstat(dest).catch(() => undefined);
    if (host.isSymbolicLink()) {
      await place(await mirrorLink(p, dest, there !== undefined, true), depth + 1);
      return;
    }
    if (!host.isFile()) throw programError(`${p} is not a regular file; only files are copied.`, p);
    if (there) {
      result.kept.push(p);
      return;
    }
    // never through a symlink the rootfs has at the last component: the lstat above saw nothing there
    await copyFile(p, dest, constants.COPYFILE_EXCL);
    await chmod(dest, host.mode & 0o7777);
    added(p);
  };

  /** A program and everything it needs to start. */
  const withNeeds = async (p: string, depth = 0): Promise<void> => {
    if (depth > 8) throw programError(`${p}: interpreters nest more than 8 deep.`, p);
    await place(p);
    const real = await realpath(p);
    if (inspected.has(real)) return;
    inspected.add(real);
    const interp = await interpreterOf(real);
    if (!interp || interp.path === '') return;
    if (interp.kind === 'script') {
      await withNeeds(interp.path, depth + 1);
      if (interp.program) await withNeeds(await locate(interp.program, searchPath), depth + 1);
      return;
    }
    await place(interp.path);
    for (const lib of await librariesOf(interp.path, real)) await place(lib);
  };

  for (const program of programs) {
    try {
      await withNeeds(await locate(program, searchPath));
      // a merged /usr (Debian 12 and most distributions: /bin -> usr/bin) is mirrored where the rootfs has the
      // directory behind it, so that /bin/sh works when `sh` was found as /usr/bin/sh
      for (const top of MERGED_USR) {
        const host = await lstat(top).catch(() => undefined);
        if (!host?.isSymbolicLink()) continue;
        const target = await readlink(top);
        if (!/^\/?usr\//.test(target)) continue;
        const behind = await lstat(await inside(root, posix.resolve('/', target))).catch(() => undefined);
        if (behind?.isDirectory()) await ensureDir(top);
      }
    } catch (e) {
      if (e instanceof AciError) throw e;
      const err = e as NodeJS.ErrnoException;
      throw programError(
        `${program}: could not be copied into ${rootfs}: ${err.message}; check what the rootfs has on the way.`,
        err.path ?? program,
        e,
      );
    }
  }
  return result;
}
