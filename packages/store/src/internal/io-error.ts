import { accessSync, constants } from 'node:fs';
import { StoreError } from '../errors.ts';

/** System error codes that say the store's file system refused a write (not that the input is bad). */
const SYSTEM_CODES = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'EROFS', 'EIO', 'EACCES', 'EPERM']);
/** SQLite's codes for the same (extended codes start with these). */
const SQLITE_CODES = ['SQLITE_FULL', 'SQLITE_READONLY', 'SQLITE_IOERR', 'SQLITE_CANTOPEN', 'SQLITE_PERM'];

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exhausted',
  EFBIG: 'the file is too large for the file system',
  EROFS: 'the file system is read-only',
  EIO: 'an I/O error',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  SQLITE_FULL: 'no space left on the device',
};

/** The system error behind a failure to open or write `dir`, found by asking for write access (so that the
 * CLI's exit status and message can name it); undefined when `dir` is writable. */
function probeWritable(dir: string): NodeJS.ErrnoException | undefined {
  try {
    accessSync(dir, constants.W_OK);
    return undefined;
  } catch (e) {
    return e as NodeJS.ErrnoException;
  }
}

/** Turns an error of the store's own file system (a full disk, a read-only mount, no permission; from Node or
 * SQLite) into `ERR_STORE_IO` naming `dir` and what to do; undefined for any other error (which passes on
 * unchanged). `doing` says what failed, e.g. "writing the image". A path outside `dir` is not the store's. */
export function storeIoError(e: unknown, dir: string, doing: string): StoreError | undefined {
  const err = e as NodeJS.ErrnoException | undefined;
  const code = typeof err?.code === 'string' ? err.code : '';
  const sqlite = SQLITE_CODES.find((c) => code.startsWith(c));
  const system =
    SYSTEM_CODES.has(code) && (err?.path === undefined || err.path === dir || err.path.startsWith(`${dir}/`));
  if (!sqlite && !system) return undefined;
  const probe = sqlite && sqlite !== 'SQLITE_FULL' ? probeWritable(dir) : undefined;
  const reasonCode = probe?.code ?? (sqlite === 'SQLITE_FULL' ? 'ENOSPC' : code);
  const reason = REASONS[reasonCode] ?? REASONS[sqlite ?? ''] ?? (err as Error).message;
  return new StoreError(
    `${dir}: ${doing} failed: ${reason} (${reasonCode}); nothing was changed in the store. ` +
      (reasonCode === 'ENOSPC' || reasonCode === 'EDQUOT' || reasonCode === 'EFBIG'
        ? 'Free space on its file system (appc image gc removes unused images), or use a store elsewhere (--dir).'
        : 'The store needs a directory it can write: remount it read-write or fix its owner and mode, or use a store elsewhere (--dir).'),
    { code: 'ERR_STORE_IO', file: dir, cause: probe ?? e },
  );
}
