import { spawnSync } from 'node:child_process';
import { chmodSync, lchownSync, lutimesSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { AciError } from '../errors.ts';
import { encodeName, fsPath, hasRawBytes, nameByteLength } from './names.ts';
import { parentOf } from './paths.ts';
import type { TarEntryType, TarHeader } from './tar-reader.ts';
import { WriteQueue } from './write-worker.ts';

/** How an {@link Unpacker} treats what is already at a path. */
export type ReplacePolicy = 'refuse' | 'replace';

/** A directory's metadata, set at the end (keyed by its path relative to the root: an absolute path kept per
 * directory would be a fresh copy of each, thousands of bytes for a deep one). */
interface DirMeta {
  mode: number;
  mtime: number;
  /** Made only because entries below it came first (`rootfs/a/b` before `rootfs/a`); an entry of its own may
   * still come, and then gives it its mode and mtime. */
  implied: boolean;
}

/** A time for utimes: Node takes a negative number of seconds for "now", a Date before 1970 as it is. */
function timeOf(seconds: number): number | Date {
  return seconds < 0 ? new Date(seconds * 1000) : seconds;
}

/** Seconds a file time is clamped to (either way): a JavaScript Date's range, year 275760; Node cannot pass times
 * beyond it (a base-256 or PAX mtime can be up to 2^63), and file systems clamp far earlier (ext4: year 2446). */
const MAX_TIME_SECONDS = 8.64e12;

/** Longest path the kernel takes (PATH_MAX, 4096 bytes with the final NUL). */
const MAX_PATH_BYTES = 4095;

/** True for a uid or gid a file can have. */
function validId(id: number): boolean {
  return Number.isSafeInteger(id) && id >= 0 && id <= MAX_ID;
}

/** Extended attributes queued for `setfattr` before they are set (see {@link Unpacker.queueXattrs}). */
const XATTR_BATCH_BYTES = 8 * 1024 * 1024;

/** Longest name of one path element the file systems of Linux take (NAME_MAX). */
const MAX_NAME_BYTES = 255;

/** Largest uid or gid Linux can give a file (uid_t is 32 bits; 4294967295 is the "-1" of chown, no owner). */
const MAX_ID = 0xfffffffe;

/** Writes entries under a root directory that this process created and owns exclusively (a fresh temporary
 * directory), so the only things in it are what the unpacker itself laid down: it tracks every path it created
 * and never writes through a symlink (ACI-012). Regular files are opened with O_EXCL|O_NOFOLLOW. Every decision
 * is made here, on the main thread, in archive order; the resulting file-system calls (synchronous ones: on
 * small files they are several times faster than a thread-pool round trip per call) run in the same order on
 * one writer thread (internal/write-worker.ts), so that writing overlaps with decompression, hashing and
 * parsing. Call {@link Unpacker.finish} at the end, or {@link Unpacker.close} when giving up, before the root is
 * moved or removed. */
export class Unpacker {
  private readonly types = new Map<string, TarEntryType>([['.', 'dir']]);
  private readonly dirs = new Map<string, DirMeta>();
  private readonly xattrDump: Buffer[] = [];
  private xattrBytes = 0;
  /** Entries whose extended attributes could not be restored because `setfattr` is missing. */
  private xattrsMissed = 0;
  private xattrFailure: string | undefined;
  readonly warnings: string[] = [];
  /** Set once a time out of range was clamped (reported once). */
  private timesClamped = false;
  readonly privileged: boolean;
  readonly preserveOwnership: boolean;

  readonly root: string;
  private readonly queue = new WriteQueue();
  constructor(
    root: string,
    options: { preserveOwnership?: boolean; replace: ReplacePolicy; xattrs?: boolean },
  ) {
    this.root = root;
    this.privileged = process.getuid?.() === 0;
    this.preserveOwnership = options.preserveOwnership ?? this.privileged;
    this.replace = options.replace;
    this.xattrs = options.xattrs ?? true;
  }
  private readonly replace: ReplacePolicy;
  private readonly xattrs: boolean;
  private defaults: { uid: number; gid: number; umask: number | undefined } | undefined;

  /** The owner a file created here gets (this process's; the group is not inherited, since nothing under the
   * root is setgid while it is written), and the umask open() applies. Checked once, on first use. */
  private creation(): { uid: number; gid: number; umask: number | undefined } {
    if (!this.defaults) {
      const st = statSync(this.root);
      const inherits = (st.mode & 0o2000) !== 0;
      this.defaults = {
        uid: process.geteuid?.() ?? -1,
        gid: inherits ? -1 : (process.getegid?.() ?? -1),
        umask: currentUmask(),
      };
    }
    return this.defaults;
  }

  /** Whether the owner must be set: not when the entry's owner is the one a new file gets anyway. */
  private needsChown(h: TarHeader): boolean {
    if (!this.preserveOwnership) return false;
    const d = this.creation();
    return !(h.uid === d.uid && h.gid === d.gid);
  }

  /** Whether the mode must be set after open(): special bits (which a chown would also clear), or bits the
   * umask takes away from the mode given to open(). */
  private needsChmod(mode: number, chown: boolean): boolean {
    const umask = this.creation().umask;
    return chown || umask === undefined || (mode & 0o7000) !== 0 || (mode & umask) !== 0;
  }

  /** Type of what the unpacker laid down at `rel`, if anything. */
  typeAt(rel: string): TarEntryType | undefined {
    return this.types.get(rel);
  }

  private abs(rel: string): string {
    return rel === '.' ? this.root : join(this.root, rel);
  }

  private fail(code: 'ERR_ACI_PATH_ESCAPE' | 'ERR_ACI_PATH_CONFLICT', rel: string, message: string): never {
    throw new AciError(message, { code, requirement: 'ACI-012', file: rel });
  }

  /** Makes sure every ancestor of `rel` is a real directory laid down by us. */
  private ensureParents(rel: string): void {
    const missing: string[] = [];
    for (let p = parentOf(rel); p !== '.'; p = parentOf(p)) {
      const t = this.types.get(p);
      if (t === 'dir') break;
      if (t !== undefined) {
        if (this.replace === 'refuse')
          this.fail(
            t === 'symlink' ? 'ERR_ACI_PATH_ESCAPE' : 'ERR_ACI_PATH_CONFLICT',
            rel,
            `"${rel}" lies under "${p}", which is a ${t}; extraction never writes through a symlink or a file.`,
          );
        // a later layer replaces what an earlier one put there (ACI-021): the link or file goes
        this.remove(p);
      }
      missing.push(p);
    }
    for (let i = missing.length - 1; i >= 0; i--) {
      const p = missing[i] as string;
      this.queue.op({ t: 'mkdir', abs: this.abs(p) });
      this.types.set(p, 'dir');
      this.dirs.set(p, { mode: 0o755, mtime: 0, implied: true });
    }
  }

  private remove(rel: string): void {
    const t = this.types.get(rel);
    if (t === 'dir') {
      this.queue.op({ t: 'rm', abs: this.abs(rel) });
      const prefix = `${rel}/`;
      for (const k of [...this.types.keys()]) if (k.startsWith(prefix)) this.types.delete(k);
      for (const k of [...this.dirs.keys()]) if (k === rel || k.startsWith(prefix)) this.dirs.delete(k);
    } else this.queue.op({ t: 'unlink', abs: this.abs(rel) });
    this.types.delete(rel);
  }

  private mode(h: TarHeader): number {
    // setuid/setgid only make sense with the owner they were meant for (ACI-012)
    return this.preserveOwnership ? h.mode & 0o7777 : h.mode & 0o1777;
  }

  /** Lays down one entry at `rel` (cleaned, relative to the root; `.` is the root itself). */
  async put(
    rel: string,
    header: TarHeader,
    body: () => AsyncGenerator<Uint8Array>,
    resolveLink: (linkname: string) => string | undefined,
  ): Promise<void> {
    // a time no file can take (a base-256 or PAX mtime reaches 2^63 s) is set as near as it can be, as the kernel
    // does with one past the file system's range
    const h = Math.abs(header.mtime) > MAX_TIME_SECONDS ? this.clampTime(header) : header;
    if (this.preserveOwnership) this.checkOwner(h);
    if (rel === '.') {
      if (h.type === 'dir') this.dirs.set('.', { mode: this.mode(h), mtime: h.mtime, implied: false });
      this.chownPath(this.root, h);
      return;
    }
    const abs = this.abs(rel);
    if (abs.length > MAX_PATH_BYTES / 3 && nameByteLength(abs) > MAX_PATH_BYTES)
      throw new AciError(
        `"${rel.slice(0, 120)}…" is ${nameByteLength(rel)} bytes long: written under ${this.root}, its path would pass the ${MAX_PATH_BYTES} bytes Linux takes (PATH_MAX); no tool can create it.`,
        { code: 'ERR_ACI_LIMIT', requirement: 'ACI-012', file: h.name.slice(0, 200) },
      );
    // a name of more than 255 bytes is possible only when some character takes three bytes or more
    if (rel.length > MAX_NAME_BYTES / 3)
      for (const name of rel.split('/'))
        if (name.length > MAX_NAME_BYTES / 3 && nameByteLength(name) > MAX_NAME_BYTES)
          throw new AciError(
            `"${rel.slice(0, 120)}${rel.length > 120 ? '…' : ''}" has a name of ${nameByteLength(name)} bytes; Linux file systems take at most ${MAX_NAME_BYTES} (NAME_MAX), so no tool can create it.`,
            { code: 'ERR_ACI_LIMIT', requirement: 'ACI-012', file: h.name.slice(0, 200) },
          );
    this.ensureParents(rel);
    const existing = this.types.get(rel);
    // a directory made for the entries below it that came first gets its own entry now (GNU tar --no-recursion
    // with `find -depth` order, or any writer that lists a directory after its contents)
    const impliedDir = existing === 'dir' && this.dirs.get(rel)?.implied === true;
    if (existing !== undefined && !(impliedDir && h.type === 'dir')) {
      if (this.replace === 'refuse')
        this.fail(
          'ERR_ACI_PATH_CONFLICT',
          rel,
          impliedDir
            ? `"${rel}" is a ${h.type} entry, but earlier entries lie under it, which made it a directory; an archive cannot hold both.`
            : `"${rel}" was already written by an earlier entry.`,
        );
      if (!(existing === 'dir' && h.type === 'dir')) this.remove(rel);
    }
    switch (h.type) {
      case 'dir': {
        if (existing !== 'dir') this.queue.op({ t: 'mkdir', abs });
        this.types.set(rel, 'dir');
        this.dirs.set(rel, { mode: this.mode(h), mtime: h.mtime, implied: false });
        this.chownPath(abs, h);
        break;
      }
      case 'file': {
        // created with its permission bits (nobody else can reach it: the root is this process's private
        // directory); owner and mode are set after the data only when creation did not already give them
        const mode = this.mode(h);
        const chown = this.needsChown(h);
        this.queue.op({ t: 'open', abs, mode: mode & 0o777 });
        this.types.set(rel, 'file');
        // the writer thread closes the file at the next `close`; if reading the body fails, the extraction
        // fails as a whole, and close() makes the writer stop (it closes what it holds) before the root goes
        for await (const chunk of body()) await this.queue.write(chunk);
        this.queue.op({
          t: 'close',
          chown,
          uid: h.uid,
          gid: h.gid,
          chmod: this.needsChmod(mode, chown),
          mode,
          mtime: h.mtime,
        });
        await this.beforeEpoch(abs, h.mtime, utimesSync);
        break;
      }
      case 'symlink': {
        if (h.linkname.length > MAX_PATH_BYTES / 3 && nameByteLength(h.linkname) > MAX_PATH_BYTES)
          throw new AciError(
            `symlink "${rel.slice(0, 120)}${rel.length > 120 ? '…' : ''}" has a target of ${nameByteLength(h.linkname)} bytes; Linux takes at most ${MAX_PATH_BYTES} (PATH_MAX), so no tool can create it. Shorten the target in the image.`,
            { code: 'ERR_ACI_LIMIT', requirement: 'ACI-005', file: h.name.slice(0, 200) },
          );
        this.queue.op({
          t: 'symlink',
          abs,
          target: h.linkname,
          chown: this.needsChown(h),
          uid: h.uid,
          gid: h.gid,
          mtime: h.mtime,
        });
        await this.beforeEpoch(abs, h.mtime, lutimesSync);
        this.types.set(rel, 'symlink');
        break;
      }
      case 'hardlink': {
        const target = resolveLink(h.linkname);
        const t = target === undefined ? undefined : this.types.get(target);
        if (target === undefined || t === undefined || t === 'dir')
          throw new AciError(
            `hard link "${h.name}" points to "${h.linkname}", which is not a file laid down by this image.`,
            { code: 'ERR_ACI_BAD_HARDLINK', requirement: 'ACI-012', file: h.name },
          );
        this.queue.op({ t: 'link', abs, target: this.abs(target) });
        this.types.set(rel, t);
        break;
      }
      case 'char':
      case 'block':
      case 'fifo': {
        if (h.type !== 'fifo' && !this.privileged)
          throw new AciError(
            `"${h.name}" is a ${h.type === 'char' ? 'character' : 'block'} device (${h.devmajor}:${h.devminor}); only root may create device nodes. Extract as root, or leave devices out of the image (the executor provides /dev).`,
            { code: 'ERR_ACI_DEVICE_UNPRIVILEGED', requirement: 'ACI-012', file: h.name },
          );
        // mknod and mkfifo take their path as an argument, which is text
        if (hasRawBytes(abs))
          throw new AciError(
            `"${h.name}" is a ${h.type} whose name is not UTF-8; this tool creates devices and fifos with mknod, whose arguments must be text. Rename it in the image.`,
            { code: 'ERR_ACI_UNSUPPORTED_ENTRY', requirement: 'ACI-005', file: h.name },
          );
        // rare: run on this thread once everything before it was done
        await this.queue.drain();
        const mode = this.mode(h).toString(8);
        const args =
          h.type === 'fifo'
            ? ['-m', mode, abs]
            : ['-m', mode, abs, h.type === 'char' ? 'c' : 'b', String(h.devmajor), String(h.devminor)];
        const program = h.type === 'fifo' ? 'mkfifo' : 'mknod';
        const r = spawnSync(program, args, { stdio: ['ignore', 'ignore', 'pipe'] });
        if (r.error || r.status !== 0)
          throw new AciError(
            `could not create "${h.name}" with ${program}: ${r.error?.message ?? r.stderr.toString().trim()}.`,
            {
              code:
                (r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT'
                  ? 'ERR_ACI_TOOL_MISSING'
                  : 'ERR_ACI_TOOL_FAILED',
              requirement: 'ACI-005',
              file: h.name,
            },
          );
        this.types.set(rel, h.type);
        if (this.preserveOwnership) lchownSync(abs, h.uid, h.gid);
        chmodSync(abs, this.mode(h));
        utimesSync(abs, timeOf(h.mtime), timeOf(h.mtime));
        break;
      }
      default:
        throw new AciError(`"${h.name}" has tar type "${h.typeflag}", which cannot be extracted.`, {
          code: 'ERR_ACI_UNSUPPORTED_ENTRY',
          requirement: 'ACI-015',
          file: h.name,
        });
    }
    if (this.xattrs && h.xattrs.size > 0 && h.type !== 'hardlink') await this.queueXattrs(abs, h.xattrs);
  }

  /** The header with its mtime clamped to {@link MAX_TIME_SECONDS}; the first such entry is named in a warning. */
  private clampTime(h: TarHeader): TarHeader {
    if (!this.timesClamped)
      this.warnings.push(
        `"${h.name.slice(0, 200)}" has mtime ${h.mtime} s, out of the range a file can take; it (and any other such entry) got the nearest time that can be.`,
      );
    this.timesClamped = true;
    return { ...h, mtime: Math.sign(h.mtime) * MAX_TIME_SECONDS };
  }

  /** Refuses an owner no Linux file can have (a GNU base-256 or PAX uid beyond 32 bits, or a negative one)
   * before any call would fail on it or, worse, take it as "no change". */
  private checkOwner(h: TarHeader): void {
    const bad = !validId(h.uid) ? ['uid', h.uid] : !validId(h.gid) ? ['gid', h.gid] : undefined;
    if (bad)
      throw new AciError(
        `"${h.name}" has ${bad[0]} ${bad[1]}, which no file can have on Linux (0..${MAX_ID}); rebuild the image with real owners, or extract without keeping ownership.`,
        { code: 'ERR_ACI_UNSUPPORTED_ENTRY', requirement: 'ACI-005', file: h.name },
      );
  }

  /** A time before 1970 set again once the writer thread is done with the path: its times are given in seconds,
   * and Node takes a negative number of seconds for "now". Rare: waiting for the writer costs nothing else. */
  private async beforeEpoch(
    abs: string,
    mtime: number,
    set: (path: string | Buffer, atime: Date, mtime: Date) => void,
  ): Promise<void> {
    if (mtime >= 0) return;
    await this.queue.drain();
    set(fsPath(abs), timeOf(mtime) as Date, timeOf(mtime) as Date);
  }

  private chownPath(abs: string, h: TarHeader): void {
    if (this.needsChown(h)) this.queue.op({ t: 'lchown', abs, uid: h.uid, gid: h.gid });
  }

  /** Queues the attributes of one path for `setfattr --restore`; past {@link XATTR_BATCH_BYTES} they are set at
   * once (each entry may carry a PAX header of 1 MiB of them: held until the end, a small archive of many such
   * entries would hold gigabytes). */
  private async queueXattrs(abs: string, xattrs: Map<string, Buffer>): Promise<void> {
    const lines = [`# file: ${escapeForSetfattr(abs)}`];
    for (const [k, v] of xattrs) lines.push(`${escapeForSetfattr(k)}=0s${v.toString('base64')}`);
    const text = Buffer.from(`${lines.join('\n')}\n\n`, 'utf8');
    this.xattrDump.push(text);
    this.xattrBytes += text.length;
    if (this.xattrBytes >= XATTR_BATCH_BYTES) {
      await this.queue.drain();
      this.restoreXattrs();
    }
  }

  /** Sets the queued attributes with one `setfattr --restore` run; every path named exists by now. */
  private restoreXattrs(): void {
    if (this.xattrDump.length === 0) return;
    const count = this.xattrDump.length;
    const input = Buffer.concat(this.xattrDump);
    this.xattrDump.length = 0;
    this.xattrBytes = 0;
    const r = spawnSync('setfattr', ['-h', '--restore=-'], { input, stdio: ['pipe', 'ignore', 'pipe'] });
    if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') this.xattrsMissed += count;
    else if (r.error) this.xattrFailure ??= `setfattr failed: ${r.error.message}`.slice(0, 500);
    else if (r.status !== 0)
      this.xattrFailure ??=
        r.stderr.toString().trim().slice(0, 500) || `setfattr exited with status ${r.status}`;
  }

  /** Waits until every queued write is done, sets extended attributes (one `setfattr --restore` run), then
   * directory modes and mtimes, deepest first, and stops the writer thread. Throws the first write failure. */
  async finish(): Promise<void> {
    try {
      await this.queue.drain();
    } finally {
      await this.queue.close();
    }
    this.restoreXattrs();
    if (this.xattrsMissed > 0)
      this.warnings.push(
        `${this.xattrsMissed} entries carry extended attributes that were not restored: the "setfattr" program is missing (Debian: apt-get install attr).`,
      );
    if (this.xattrFailure !== undefined)
      this.warnings.push(`some extended attributes were not restored: ${this.xattrFailure}`);
    const list = [...this.dirs].sort((a, b) =>
      a[0] === '.' ? 1 : b[0] === '.' ? -1 : b[0].length - a[0].length,
    );
    for (const [rel, d] of list) {
      const abs = fsPath(this.abs(rel));
      chmodSync(abs, d.mode);
      if (!d.implied) utimesSync(abs, timeOf(d.mtime), timeOf(d.mtime));
    }
  }

  /** Stops the writer thread without finishing (after a failure); once this returns, nothing more is written
   * under the root, which may then be removed. Safe to call more than once, and after {@link finish}. */
  async close(): Promise<void> {
    await this.queue.close();
  }
}

/** The process's umask, read without changing it (Linux: /proc/self/status); undefined when unknown. */
function currentUmask(): number | undefined {
  try {
    const m = /^Umask:\s*([0-7]+)$/m.exec(readFileSync('/proc/self/status', 'latin1'));
    return m ? Number.parseInt(m[1] as string, 8) : undefined;
  } catch {
    return undefined;
  }
}

/** Escapes a name the way getfattr prints and setfattr --restore reads it (octal escapes). */
function escapeForSetfattr(s: string): string {
  let out = '';
  for (const byte of encodeName(s)) {
    if (byte <= 0x20 || byte === 0x5c || byte === 0x3d || byte >= 0x7f)
      out += `\\${byte.toString(8).padStart(3, '0')}`;
    else out += String.fromCharCode(byte);
  }
  return out;
}
