import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreError } from '../errors.ts';
import { isMissing, pidAlive } from './fs.ts';

/** A held lock file; `release()` removes it when it is still ours. */
export interface FileLock {
  readonly path: string;
  release(): void;
}

/** Options of {@link acquireLock}. */
export interface LockOptions {
  /** Give up after this long (default 10 minutes): `ERR_STORE_LOCKED`. */
  timeoutMs?: number;
  /** Poll interval while waiting (default 50 ms). */
  pollMs?: number;
  signal?: AbortSignal;
  /** What the lock guards, for messages. */
  what?: string;
}

// a lock file too young to have its owner line written yet is never judged stale
const EMPTY_GRACE_MS = 5_000;
// a breaker file older than this belongs to a process that died while breaking a stale lock
const BREAKER_STALE_MS = 10_000;

function ownerLine(): string {
  return `${process.pid} ${hostname()} ${Date.now()}\n`;
}

function readOwner(path: string): { text: string; mtimeMs: number } | undefined {
  try {
    const mtimeMs = statSync(path).mtimeMs;
    return { text: readFileSync(path, 'utf8'), mtimeMs };
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}

/** True when the owner written in a lock file cannot be running any more. */
function isStale(owner: { text: string; mtimeMs: number }): boolean {
  const [pid, host] = owner.text.trim().split(' ');
  if (!pid) return Date.now() - owner.mtimeMs > EMPTY_GRACE_MS;
  // a lock of another host (a shared filesystem) is never broken from here
  if (host !== undefined && host !== hostname()) return false;
  return !pidAlive(Number(pid));
}

function create(path: string): FileLock | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw e;
  }
  const line = ownerLine();
  try {
    writeSync(fd, line);
  } finally {
    closeSync(fd);
  }
  return {
    path,
    release() {
      const now = readOwner(path);
      if (now?.text === line) unlinkSync(path);
    },
  };
}

/** Removes a stale lock: one process at a time (an `O_EXCL` breaker file), re-reading the owner under it so a
 * fresh lock taken meanwhile is never removed. */
function breakIfStale(path: string): void {
  const owner = readOwner(path);
  if (!owner || !isStale(owner)) return;
  const breaker = `${path}.break`;
  let fd: number;
  try {
    fd = openSync(breaker, 'wx', 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const b = readOwner(breaker);
    if (b && Date.now() - b.mtimeMs > BREAKER_STALE_MS) {
      try {
        unlinkSync(breaker);
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
    }
    return;
  }
  try {
    const again = readOwner(path);
    if (again && again.text === owner.text && isStale(again)) {
      try {
        unlinkSync(path);
      } catch (e) {
        if (!isMissing(e)) throw e;
      }
    }
  } finally {
    closeSync(fd);
    unlinkSync(breaker);
  }
}

/** Takes the lock now, or returns undefined when a live process holds it (a stale lock is broken first). */
export function tryLock(path: string): FileLock | undefined {
  const lock = create(path);
  if (lock) return lock;
  breakIfStale(path);
  return create(path);
}

/** Takes the lock, waiting while a live process holds it; breaks locks of dead processes.
 * @throws {@link StoreError} `ERR_STORE_LOCKED` after `timeoutMs`, `ERR_STORE_ABORTED` on abort. */
export async function acquireLock(path: string, options: LockOptions = {}): Promise<FileLock> {
  const deadline = Date.now() + (options.timeoutMs ?? 10 * 60 * 1000);
  const poll = options.pollMs ?? 50;
  while (true) {
    const lock = tryLock(path);
    if (lock) return lock;
    if (options.signal?.aborted)
      throw new StoreError(`waiting for ${options.what ?? path} aborted.`, {
        code: 'ERR_STORE_ABORTED',
        file: path,
        cause: options.signal.reason,
      });
    if (Date.now() >= deadline) {
      const owner = readOwner(path)?.text.trim() ?? 'unknown';
      throw new StoreError(
        `${options.what ?? path} is locked by another process (${owner}: pid host time); wait for it to finish, or remove ${path} if that process is gone.`,
        { code: 'ERR_STORE_LOCKED', file: path },
      );
    }
    await sleep(poll).catch(() => {});
  }
}
