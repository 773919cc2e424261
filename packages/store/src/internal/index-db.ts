import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { StoreError } from '../errors.ts';
import { storeIoError } from './io-error.ts';

let addonPath: string | undefined | null = null;

/** better-sqlite3's compiled addon, when it is where its build puts it: given to the constructor, it spares the
 * `bindings` package's search of a dozen candidate paths (and lets a bundler inline the library's JavaScript). */
function nativeBinding(): string | undefined {
  if (addonPath === null) {
    addonPath = undefined;
    try {
      const dir = dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json'));
      const file = join(dir, 'build', 'Release', 'better_sqlite3.node');
      if (existsSync(file)) addonPath = file;
    } catch {
      // not resolvable from here: better-sqlite3 finds its addon itself
    }
  }
  return addonPath;
}

/** Version of the index layout written by this library (`PRAGMA user_version`). */
export const INDEX_VERSION = 1;

const SCHEMA_V1 = `
CREATE TABLE images (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  version TEXT,
  manifest TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  compression TEXT NOT NULL,
  imported_at INTEGER NOT NULL,
  last_used_at INTEGER NOT NULL,
  source_url TEXT,
  signature_fingerprint TEXT
) STRICT;
CREATE INDEX images_name ON images(name);
CREATE INDEX images_last_used ON images(last_used_at);
CREATE TABLE labels (
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  pos INTEGER NOT NULL,
  PRIMARY KEY (image_id, name)
) STRICT, WITHOUT ROWID;
CREATE INDEX labels_name_value ON labels(name, value);
CREATE TABLE remotes (
  url TEXT PRIMARY KEY NOT NULL,
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  etag TEXT,
  cache_max_age INTEGER,
  downloaded_at INTEGER NOT NULL
) STRICT;
CREATE INDEX remotes_image ON remotes(image_id);
`;

/** True for SQLite's "database is locked/busy" errors. */
export function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown } | undefined)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || code === 'SQLITE_BUSY_SNAPSHOT';
}

/** Turns a busy error into `ERR_STORE_LOCKED`; other errors pass unchanged. */
export function mapBusy(e: unknown, file: string): unknown {
  if (!isBusy(e)) return e;
  return new StoreError(
    `${file}: the image index stayed locked by another process past the busy timeout; retry, or raise busyTimeoutMs.`,
    { code: 'ERR_STORE_LOCKED', file, cause: e },
  );
}

/** Opens (creating when needed) the index: WAL journal, busy timeout, foreign keys, schema migrated. */
export function openIndex(file: string, busyTimeoutMs: number): Database.Database {
  const addon = nativeBinding();
  let opened: Database.Database | undefined;
  try {
    const db = new Database(file, { timeout: busyTimeoutMs, ...(addon ? { nativeBinding: addon } : {}) });
    opened = db;
    // WAL lets readers run beside one writer across processes; the mode persists in the file
    if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode never corrupts; a power cut may lose the last commits, which leaves orphan blobs
    // that reconcile removes, never rows without blobs
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    const migrate = db.transaction(() => {
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version > INDEX_VERSION)
        throw new StoreError(
          `${file}: the image index has layout version ${version}, newer than this library understands (${INDEX_VERSION}); upgrade @appc/store.`,
          { code: 'ERR_STORE_VERSION', file },
        );
      if (version === 0) {
        db.exec(SCHEMA_V1);
        db.pragma(`user_version = ${INDEX_VERSION}`);
      }
    });
    // the write lock is taken only when the layout may need creating or refusing: a process that merely opens
    // an index already at this version (every run of the CLI) does not queue behind another's write
    if (db.pragma('user_version', { simple: true }) !== INDEX_VERSION) migrate.immediate();
    return db;
  } catch (e) {
    opened?.close();
    const io = storeIoError(e, dirname(file), 'opening the image index');
    if (io) throw io;
    if (
      (e as { code?: unknown }).code === 'SQLITE_NOTADB' ||
      (e as { code?: unknown }).code === 'SQLITE_CORRUPT'
    )
      throw new StoreError(
        `${file}: the image index is not a readable SQLite database (${(e as Error).message}); move it away (mv ${file} ${file}.damaged): the next command rebuilds it from the stored images.`,
        { code: 'ERR_STORE_CORRUPT', file, cause: e },
      );
    throw mapBusy(e, file);
  }
}
