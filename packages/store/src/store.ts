import { randomBytes } from 'node:crypto';
import {
  constants,
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import {
  copyFile,
  mkdir,
  open,
  readdir,
  rename,
  rm as rmPath,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { validateArchive } from '@appc/aci';
import {
  AppcError,
  compareVersionLabels,
  type ImageManifest,
  type Issue,
  isImageId,
  type Label,
} from '@appc/schema';
import type Database from 'better-sqlite3';
import { StoreError } from './errors.ts';
import { fsyncDir, fsyncDirSync, isMissing, pidAlive } from './internal/fs.ts';
import { mapBusy, openIndex } from './internal/index-db.ts';
import { storeIoError } from './internal/io-error.ts';
import { removeTreeIfUnlocked } from './internal/trees.ts';

/** Default grace period of {@link Store.gc}: images unused for 24 hours go, as rkt's `image gc` did. */
export const DEFAULT_GC_GRACE_PERIOD_MS = 24 * 60 * 60 * 1000;

const HOUR_MS = 60 * 60 * 1000;
const HEX128 = /^[0-9a-f]{128}$/;

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /** How long a write waits for another process's transaction (default 10 000 ms); past it: `ERR_STORE_LOCKED`. */
  busyTimeoutMs?: number;
  /** Drop index rows whose blob is missing and blobs without a row when opening (default true). */
  reconcile?: boolean;
}

/** A stored image as the index describes it. */
export interface StoredImage {
  /** Image ID (ACI-010): `sha512-` and 128 hex digits of the uncompressed tar. */
  id: string;
  name: string;
  /** The manifest's labels, in manifest order. */
  labels: Label[];
  /** Value of the `version` label, when there is one. */
  version: string | undefined;
  /** Bytes of the stored archive, exactly as received (compressed as it came). */
  sizeBytes: number;
  compression: 'gzip' | 'bzip2' | 'xz' | 'none';
  importedAt: Date;
  lastUsedAt: Date;
  /** Where the image was downloaded from, when `put` was told. */
  sourceUrl: string | undefined;
  /** Fingerprint of the key whose signature was checked on import, when `put` was told. */
  signatureFingerprint: string | undefined;
}

/** Options of {@link Store.put}. */
export interface PutOptions {
  /** Refuse the image unless its ID is this (ACI-011): `ERR_STORE_ID_MISMATCH`, nothing stored. */
  expectedId?: string;
  /** Refuse a source longer than this many bytes as received (`ERR_STORE_TOO_LARGE`). */
  maxBytes?: number;
  /** URL the bytes came from; recorded on the image and as a remote (see {@link Store.getRemote}). */
  sourceUrl?: string;
  /** HTTP ETag of the download, kept for conditional re-fetch (DISC-013). */
  etag?: string;
  /** Cache-Control max-age of the download, in seconds. */
  cacheMaxAgeSeconds?: number;
  /** Fingerprint of the key whose detached signature was verified before `put`. */
  signatureFingerprint?: string;
  /** Name used in messages when the source is a stream. */
  file?: string;
  /** Called once the archive is whole, valid and hashed, before anything is committed: a throw refuses the
   * image and nothing is stored (the fetch pipeline checks DISC-009 and the signature here). It returns the
   * fingerprint of the key whose signature it checked, if any. `path` is the received file, readable until it returns. */
  check?: (candidate: PutCandidate) => Promise<{ signatureFingerprint?: string | undefined }>;
  signal?: AbortSignal;
}

/** What {@link PutOptions.check} is shown. */
export interface PutCandidate {
  /** The archive exactly as received (a temporary file of the store). */
  path: string;
  imageId: string;
  manifest: ImageManifest;
  compression: StoredImage['compression'];
  sizeBytes: number;
}

/** What {@link Store.put} did. */
export interface PutResult {
  image: StoredImage;
  /** False when the image was already in the store (the new bytes were dropped). */
  stored: boolean;
  /** Warnings of the archive check (an old acVersion, for instance). */
  warnings: Issue[];
}

/** A label filter: `[{name, value}]` or `{ name: value }`. */
export type LabelQuery = Label[] | Record<string, string>;

/** What {@link Store.find} looks for. */
export interface FindQuery {
  name: string;
  /** Every label given must be present with the same value (DISC-009). */
  labels?: LabelQuery;
}

/** Options of {@link Store.list}. */
export interface ListOptions {
  name?: string;
  labels?: LabelQuery;
  /** Only IDs starting with this (`sha512-` and hex digits). */
  idPrefix?: string;
  /** Default `importedAt`. `name` orders by name, then version (SemVer), then import time. */
  sort?: 'importedAt' | 'lastUsedAt' | 'name' | 'sizeBytes' | 'id';
  order?: 'asc' | 'desc';
  limit?: number;
}

/** Where an image was downloaded from, for a conditional re-fetch (DISC-013). */
export interface RemoteInfo {
  url: string;
  imageId: string;
  etag: string | undefined;
  cacheMaxAgeSeconds: number | undefined;
  downloadedAt: Date;
  /** `downloadedAt` + max-age; undefined when no max-age was given. */
  expiresAt: Date | undefined;
}

/** What {@link Store.setRemote} records. */
export interface SetRemoteOptions {
  imageId: string;
  etag?: string;
  cacheMaxAgeSeconds?: number;
  /** Default: now. */
  downloadedAt?: Date;
}

/** Options of {@link Store.gc}. */
export interface GcOptions {
  /** Images not used for this long are removed (default 24 h). */
  gracePeriodMs?: number;
  /** Image IDs never removed (images of pods that exist, for instance). */
  keep?: Iterable<string>;
  /** Temporary files of live processes older than this are removed too (default 6 h). */
  tempMaxAgeMs?: number;
  /** Default: now. */
  now?: Date;
}

/** What {@link Store.gc} removed. */
export interface GcReport {
  removedImages: string[];
  /** Bytes of the blobs of removed images and orphan blobs. */
  freedBytes: number;
  tempFilesRemoved: number;
  orphanBlobsRemoved: number;
  /** Index rows dropped because their blob was missing. */
  rowsWithoutBlobRemoved: number;
}

/** What a reconcile pass fixed. */
export interface ReconcileReport {
  orphanBlobsRemoved: number;
  rowsWithoutBlobRemoved: number;
  freedBytes: number;
}

interface ImageRow {
  id: string;
  name: string;
  version: string | null;
  size_bytes: number;
  compression: string;
  imported_at: number;
  last_used_at: number;
  source_url: string | null;
  signature_fingerprint: string | null;
  labels: string;
}

const ROW_COLUMNS = `id, name, version, size_bytes, compression, imported_at, last_used_at,
  source_url, signature_fingerprint,
  (SELECT json_group_array(json_object('name', l.name, 'value', l.value))
     FROM (SELECT name, value FROM labels WHERE image_id = images.id ORDER BY pos) AS l) AS labels`;

function toImage(r: ImageRow): StoredImage {
  return {
    id: r.id,
    name: r.name,
    labels: JSON.parse(r.labels) as Label[],
    version: r.version ?? undefined,
    sizeBytes: r.size_bytes,
    compression: r.compression as StoredImage['compression'],
    importedAt: new Date(r.imported_at),
    lastUsedAt: new Date(r.last_used_at),
    sourceUrl: r.source_url ?? undefined,
    signatureFingerprint: r.signature_fingerprint ?? undefined,
  };
}

function labelPairs(q: LabelQuery | undefined): Label[] {
  if (!q) return [];
  if (Array.isArray(q)) return q;
  return Object.entries(q).map(([name, value]) => ({ name, value }));
}

/** Writes every byte of `chunks` in order, with as few system calls as the kernel allows (writev). */
async function writeAll(fh: Awaited<ReturnType<typeof open>>, chunks: Uint8Array[]): Promise<void> {
  let rest = chunks.filter((c) => c.length > 0);
  while (rest.length > 0) {
    let { bytesWritten } = await fh.writev(rest);
    // a short write: drop what was written, keep the rest of a partly written chunk
    while (rest.length > 0 && bytesWritten >= (rest[0] as Uint8Array).length) {
      bytesWritten -= (rest[0] as Uint8Array).length;
      rest = rest.slice(1);
    }
    if (bytesWritten > 0) rest[0] = (rest[0] as Uint8Array).subarray(bytesWritten);
  }
}

function describeIssues(issues: Issue[]): string {
  const lines = issues.slice(0, 5).map((i) => {
    const where = `${i.file !== undefined && !i.message.startsWith(i.file) ? `${i.file}: ` : ''}${i.pointer ? `${i.pointer}: ` : ''}`;
    return `  ${where}${i.message} [${i.code}]`;
  });
  const more = issues.length > 5 ? `\n  … and ${issues.length - 5} more (see error.issues)` : '';
  return `${lines.join('\n')}${more}`;
}

/** Parses a user's image reference: a full ID or `sha512-` and at least one hex digit. */
function parseIdOrPrefix(value: string): { full: boolean; id: string } {
  const v = value.trim().toLowerCase();
  if (isImageId(v)) return { full: true, id: v };
  if (/^sha512-[0-9a-f]{1,127}$/.test(v)) return { full: false, id: v };
  throw new StoreError(
    `"${value}" is not an image ID: use "sha512-" followed by hex digits (the full 128, or a unique prefix) (TYPES-006).`,
    { code: 'ERR_STORE_BAD_ID', requirement: 'TYPES-006' },
  );
}

/** A content-addressed image store: blobs as files named by image ID, an SQLite index beside them.
 * Queries are synchronous (SQLite through better-sqlite3); operations that move blob bytes return promises.
 * Several processes may use one store at once. */
export class Store {
  /** Absolute path of the store directory. */
  readonly dir: string;
  private readonly database: Database.Database;
  private readonly indexFile: string;
  private closed = false;

  /** Use {@link openStore}. */
  constructor(dir: string, database: Database.Database) {
    this.dir = dir;
    this.database = database;
    this.indexFile = join(dir, 'index.db');
  }

  private get db(): Database.Database {
    if (this.closed)
      throw new StoreError(`the store at ${this.dir} was closed; open it again with openStore().`, {
        code: 'ERR_STORE_CLOSED',
        file: this.dir,
      });
    return this.database;
  }

  /** Directory of temporary files (same filesystem as the blobs, so a rename moves a file into place). */
  get tmpDir(): string {
    return join(this.dir, 'tmp');
  }

  /** Path of the blob (the archive as received) of a full image ID; the file exists when the image is stored. */
  blobPath(id: string): string {
    if (!isImageId(id))
      throw new StoreError(
        `"${id}" is not a full image ID (sha512- and 128 lower-case hex digits, TYPES-006).`,
        {
          code: 'ERR_STORE_BAD_ID',
          requirement: 'TYPES-006',
        },
      );
    const hex = id.slice('sha512-'.length);
    return join(this.dir, 'blobs', 'sha512', hex.slice(0, 2), hex);
  }

  /** Runs a write transaction that takes SQLite's write lock first (so other processes wait on the busy timeout). */
  private write<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } catch (e) {
      throw mapBusy(e, this.indexFile);
    }
  }

  /** Imports an ACI: streams the source (a file path or bytes) once into a temporary file in the store, while
   * decompressing, hashing (image ID, ACI-010) and checking the archive; then moves the file into place and
   * indexes it in one transaction. The archive is kept exactly as received, compressed as it came, so that a
   * detached signature over it still checks. Putting an image already stored keeps the stored copy.
   * @example
   * const { image } = await store.put('app.aci', { expectedId });
   * @throws {@link StoreError} `ERR_STORE_INVALID_IMAGE` (with every issue), `ERR_STORE_ID_MISMATCH` (ACI-011),
   * `ERR_STORE_TOO_LARGE`, `ERR_STORE_ABORTED`, `ERR_STORE_LOCKED`, `ERR_STORE_IO` (a full disk, a read-only
   * store); the compression errors of `@appc/aci`; a failure of the source itself (a dropped download, an
   * unreadable file) as the source threw it. */
  async put(source: string | AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<PutResult> {
    const name = options.file ?? (typeof source === 'string' ? source : 'the image stream');
    try {
      return await this.putOnce(source, options, name);
    } catch (e) {
      // a full disk or a read-only store is not a verdict on the image
      throw storeIoError(e, this.dir, `storing ${name}`) ?? e;
    }
  }

  private async putOnce(
    source: string | AsyncIterable<Uint8Array>,
    options: PutOptions,
    name: string,
  ): Promise<PutResult> {
    const db = this.db;
    if (options.expectedId !== undefined && !isImageId(options.expectedId))
      throw new StoreError(
        `expected image ID "${options.expectedId}" is not a full image ID (sha512- and 128 lower-case hex digits); a shortened or placeholder ID never matches a stored image (TYPES-006).`,
        { code: 'ERR_STORE_BAD_ID', requirement: 'TYPES-006', file: name },
      );
    const signal = options.signal;
    signal?.throwIfAborted();
    await mkdir(this.tmpDir, { recursive: true });
    const tmp = join(this.tmpDir, `put-${process.pid}-${randomBytes(8).toString('hex')}.partial`);
    const fh = await open(tmp, 'wx', 0o644);
    let keepTmp = false;
    let writing: Promise<void> = Promise.resolve();
    try {
      const max = options.maxBytes ?? Number.POSITIVE_INFINITY;
      let received = 0;
      let exhausted = false;
      let failure: unknown;
      const raw = typeof source === 'string' ? createReadStream(source) : source;
      const iterator = raw[Symbol.asyncIterator]();
      // chunks are written in batches of 1 MiB (one writev each, nothing copied); one batch is written while the
      // next is read and checked, and the file is complete once the last flush has resolved
      let pending: Uint8Array[] = [];
      let pendingBytes = 0;
      const flush = async (last = false) => {
        await writing;
        const batch = pending;
        pending = [];
        pendingBytes = 0;
        writing = writeAll(fh, batch);
        writing.catch(() => {}); // awaited by the next flush; never unhandled if a failure ends the put first
        if (last) await writing;
      };
      const tee = async function* (): AsyncGenerator<Uint8Array> {
        while (true) {
          let next: IteratorResult<Uint8Array>;
          try {
            next = await iterator.next();
          } catch (e) {
            // the source failed (a dropped connection, a truncated download, an unreadable file): that is the
            // error, with its own code, not a verdict on the archive
            failure = e;
            throw e;
          }
          if (next.done) {
            await flush(true);
            exhausted = true;
            return;
          }
          const chunk = next.value;
          received += chunk.length;
          if (received > max) {
            failure = new StoreError(
              `${name}: more than ${max} bytes received; the image is larger than allowed (maxBytes). Raise the limit if the image is expected to be this big.`,
              { code: 'ERR_STORE_TOO_LARGE', file: name },
            );
            throw failure;
          }
          pending.push(chunk);
          pendingBytes += chunk.length;
          if (pendingBytes >= 1024 * 1024) await flush();
          yield chunk;
        }
      };
      let result: Awaited<ReturnType<typeof validateArchive>>;
      try {
        const { validateArchive } = await import('@appc/aci');
        result = await validateArchive(tee(), { file: name, ...(signal ? { signal } : {}) });
      } catch (e) {
        throw failure ?? this.mapAbort(e, name, signal);
      }
      if (failure) throw failure;
      const errors = result.issues.filter((i) => i.severity !== 'warning');
      if (errors.length === 0 && !exhausted) {
        // the archive ended before the input did: bytes the image ID would not cover
        const rest = await iterator.next();
        if (!rest.done) {
          await iterator.return?.();
          errors.push({
            code: 'ERR_STORE_INVALID_IMAGE',
            pointer: '',
            requirement: 'ACI-010',
            message:
              'data follows the end of the compressed archive; the file is damaged or not one archive.',
            file: name,
          });
        }
      }
      if (errors.length > 0 || !result.imageId || !result.manifest)
        throw new StoreError(`${name} is not a valid ACI; nothing was stored:\n${describeIssues(errors)}`, {
          code: 'ERR_STORE_INVALID_IMAGE',
          requirement: errors[0]?.requirement,
          pointer: errors[0]?.pointer,
          file: name,
          issues: result.issues,
        });
      const imageId = result.imageId;
      if (options.expectedId !== undefined && options.expectedId !== imageId)
        throw new StoreError(
          `${name} has image ID ${imageId}, not the expected ${options.expectedId}; nothing was stored (ACI-011). The source served other bytes than the ones referenced.`,
          { code: 'ERR_STORE_ID_MISMATCH', requirement: 'ACI-011', file: name },
        );
      await flush(true); // the archive may end before the source says so: what the tee holds is still the image's
      await fh.sync();
      await fh.close();
      const manifest = result.manifest;
      let signatureFingerprint = options.signatureFingerprint;
      if (options.check) {
        const verdict = await options.check({
          path: tmp,
          imageId,
          manifest,
          compression: result.compression ?? 'none',
          sizeBytes: received,
        });
        signatureFingerprint = verdict.signatureFingerprint ?? signatureFingerprint;
        signal?.throwIfAborted();
      }
      const blob = this.blobPath(imageId);
      await mkdir(dirname(blob), { recursive: true });
      const now = Date.now();
      const version = manifest.labels?.find((l) => l.name === 'version')?.value;
      const stored = this.write(() => {
        const row = db.prepare('SELECT id FROM images WHERE id = ?').get(imageId);
        let fresh = false;
        if (!row || !existsSync(blob)) {
          // under SQLite's write lock: no other process moves this blob or writes its row meanwhile
          if (row) db.prepare('DELETE FROM images WHERE id = ?').run(imageId);
          mkdirSync(dirname(blob), { recursive: true });
          renameSync(tmp, blob);
          keepTmp = true;
          fsyncDirSync(dirname(blob));
          db.prepare(
            `INSERT INTO images (id, name, version, manifest, size_bytes, compression, imported_at,
               last_used_at, source_url, signature_fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          ).run(
            imageId,
            manifest.name,
            version ?? null,
            JSON.stringify(manifest),
            received,
            result.compression ?? 'none',
            now,
            now,
            options.sourceUrl ?? null,
            signatureFingerprint ?? null,
          );
          const insertLabel = db.prepare(
            'INSERT OR REPLACE INTO labels (image_id, name, value, pos) VALUES (?, ?, ?, ?)',
          );
          for (const [i, l] of (manifest.labels ?? []).entries())
            insertLabel.run(imageId, l.name, l.value, i);
          fresh = true;
        } else {
          if (signatureFingerprint !== undefined)
            db.prepare(
              'UPDATE images SET signature_fingerprint = ? WHERE id = ? AND signature_fingerprint IS NULL',
            ).run(signatureFingerprint, imageId);
          if (options.sourceUrl !== undefined)
            db.prepare('UPDATE images SET source_url = ? WHERE id = ? AND source_url IS NULL').run(
              options.sourceUrl,
              imageId,
            );
        }
        if (options.sourceUrl !== undefined)
          this.upsertRemote(options.sourceUrl, { imageId, ...remoteOf(options) });
        return fresh;
      });
      if (!stored) await unlink(tmp).catch(() => {});
      return {
        image: this.get(imageId),
        stored,
        warnings: result.issues.filter((i) => i.severity === 'warning'),
      };
    } finally {
      await writing.catch(() => {}); // no write in flight when the file is closed
      await fh.close().catch(() => {});
      if (!keepTmp) await unlink(tmp).catch(() => {});
    }
  }

  private mapAbort(e: unknown, name: string, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted || (e instanceof AppcError && e.code === 'ERR_ACI_ABORTED'))
      return new StoreError(`${name}: import aborted; nothing was stored.`, {
        code: 'ERR_STORE_ABORTED',
        file: name,
        cause: signal?.reason ?? e,
      });
    return e;
  }

  /** Looks an image up by full ID or by a unique prefix (`sha512-` and a few hex digits; TYPES-006).
   * @throws {@link StoreError} `ERR_STORE_NOT_FOUND`, `ERR_STORE_AMBIGUOUS_ID` (with `candidates`), `ERR_STORE_BAD_ID`. */
  get(idOrPrefix: string): StoredImage {
    const found = this.lookup(idOrPrefix);
    if (!found)
      throw new StoreError(
        `no image ${idOrPrefix} in the store at ${this.dir}; list what it holds with appc image list, or fetch the image (appc fetch).`,
        { code: 'ERR_STORE_NOT_FOUND', requirement: 'TYPES-006', file: this.dir },
      );
    return found;
  }

  /** Like {@link Store.get}, but undefined when there is no match (an ambiguous prefix still throws). */
  lookup(idOrPrefix: string): StoredImage | undefined {
    const ref = parseIdOrPrefix(idOrPrefix);
    if (ref.full) {
      const row = this.db.prepare(`SELECT ${ROW_COLUMNS} FROM images WHERE id = ?`).get(ref.id) as
        | ImageRow
        | undefined;
      return row ? toImage(row) : undefined;
    }
    const rows = this.db
      .prepare(`SELECT ${ROW_COLUMNS} FROM images WHERE id GLOB ? ORDER BY id LIMIT 11`)
      .all(`${ref.id}*`) as ImageRow[];
    if (rows.length > 1) {
      const candidates = rows.slice(0, 10).map((r) => r.id);
      throw new StoreError(
        `image ID prefix ${ref.id} matches ${rows.length > 10 ? 'more than 10' : rows.length} images; give more digits. Candidates:\n${candidates.map((c) => `  ${c.slice(0, 7 + 12)}… ${rows.find((r) => r.id === c)?.name ?? ''}`).join('\n')}`,
        { code: 'ERR_STORE_AMBIGUOUS_ID', requirement: 'TYPES-006', file: this.dir, candidates },
      );
    }
    const row = rows[0];
    return row ? toImage(row) : undefined;
  }

  /** True when the full image ID is stored. */
  has(id: string): boolean {
    return isImageId(id) && this.db.prepare('SELECT 1 FROM images WHERE id = ?').get(id) !== undefined;
  }

  /** The stored image with this name whose labels include every label given (DISC-009); among several, the
   * highest `version` (SemVer order; any SemVer above other values), then the latest import. Undefined when
   * none matches (fetch it then). */
  find(query: FindQuery): StoredImage | undefined {
    const all = this.list({ name: query.name, ...(query.labels ? { labels: query.labels } : {}) });
    let best: StoredImage | undefined;
    for (const img of all) {
      if (
        !best ||
        compareVersionLabels(img.version, best.version) > 0 ||
        (compareVersionLabels(img.version, best.version) === 0 &&
          img.importedAt.getTime() >= best.importedAt.getTime())
      )
        best = img;
    }
    return best;
  }

  /** Lists stored images, filtered by name, labels (all must match) or ID prefix, sorted. */
  list(options: ListOptions = {}): StoredImage[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (options.name !== undefined) {
      where.push('name = ?');
      args.push(options.name);
    }
    for (const l of labelPairs(options.labels)) {
      where.push('EXISTS (SELECT 1 FROM labels WHERE image_id = images.id AND name = ? AND value = ?)');
      args.push(l.name, l.value);
    }
    if (options.idPrefix !== undefined) {
      const ref = parseIdOrPrefix(options.idPrefix);
      where.push('id GLOB ?');
      args.push(`${ref.id}*`);
    }
    const order = options.order === 'desc' ? 'DESC' : 'ASC';
    const sort = options.sort ?? 'importedAt';
    const column = {
      importedAt: 'imported_at',
      lastUsedAt: 'last_used_at',
      sizeBytes: 'size_bytes',
      id: 'id',
      name: 'name',
    }[sort];
    const sql = `SELECT ${ROW_COLUMNS} FROM images${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${column} ${order}, id ${order}${
      options.limit !== undefined && sort !== 'name' ? ` LIMIT ${Math.max(0, Math.floor(options.limit))}` : ''
    }`;
    let images = (this.db.prepare(sql).all(...args) as ImageRow[]).map(toImage);
    if (sort === 'name') {
      const sign = order === 'DESC' ? -1 : 1;
      images.sort(
        (a, b) =>
          sign *
          ((a.name < b.name ? -1 : a.name > b.name ? 1 : 0) ||
            compareVersionLabels(a.version, b.version) ||
            a.importedAt.getTime() - b.importedAt.getTime()),
      );
      if (options.limit !== undefined) images = images.slice(0, Math.max(0, Math.floor(options.limit)));
    }
    return images;
  }

  /** The image manifest of a stored image, as it was validated on import.
   * @throws {@link StoreError} as {@link Store.get}. */
  manifest(idOrPrefix: string): ImageManifest {
    const { id } = this.get(idOrPrefix);
    const row = this.db.prepare('SELECT manifest FROM images WHERE id = ?').get(id) as { manifest: string };
    return JSON.parse(row.manifest) as ImageManifest;
  }

  /** Records a use of an image (what {@link Store.gc}'s grace period measures from). */
  touch(idOrPrefix: string, at: Date = new Date()): void {
    const { id } = this.get(idOrPrefix);
    this.write(() =>
      this.db.prepare('UPDATE images SET last_used_at = ? WHERE id = ?').run(at.getTime(), id),
    );
  }

  /** The path of a stored image's blob, checked to exist.
   * @throws {@link StoreError} `ERR_STORE_CORRUPT` when the index has the image and the file is gone (the row is
   * dropped then), and the errors of {@link Store.get}. */
  async openBlob(idOrPrefix: string): Promise<{ image: StoredImage; path: string }> {
    const image = this.get(idOrPrefix);
    const path = this.blobPath(image.id);
    try {
      await stat(path);
    } catch (e) {
      if (!isMissing(e)) throw e;
      this.write(() => {
        if (!existsSync(path)) this.db.prepare('DELETE FROM images WHERE id = ?').run(image.id);
      });
      throw new StoreError(
        `${image.id} (${image.name}) was indexed but its archive ${path} is missing; the entry was dropped — fetch the image again.`,
        { code: 'ERR_STORE_CORRUPT', file: path, cause: e },
      );
    }
    return { image, path };
  }

  /** Writes a stored image to `outFile` as an ACI: byte for byte what was imported, checked on the way out: the
   * copy is written beside `outFile`, re-hashed, and moved into place only when it still gives the image's ID
   * (ACI-024), so a blob damaged on disk is never handed on as the image.
   * @throws {@link StoreError} `ERR_STORE_EXISTS` when `outFile` exists and `overwrite` is not set,
   * `ERR_STORE_CORRUPT` when the stored archive no longer gives its ID (nothing is written). */
  async export(
    idOrPrefix: string,
    outFile: string,
    options: { overwrite?: boolean; signal?: AbortSignal } = {},
  ): Promise<StoredImage> {
    const { image, path } = await this.openBlob(idOrPrefix);
    const exists = () =>
      new StoreError(`${outFile} exists; remove it or pass overwrite.`, {
        code: 'ERR_STORE_EXISTS',
        file: outFile,
      });
    if (!options.overwrite && existsSync(outFile)) throw exists();
    // a missing output directory is named as such (copyFile's error would name the stored archive first)
    await stat(dirname(outFile));
    const tmp = join(dirname(outFile), `.${basename(outFile)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await copyFile(path, tmp, constants.COPYFILE_EXCL);
      await this.checkHash(image, tmp, path, options.signal);
      if (!options.overwrite && existsSync(outFile)) throw exists();
      await rename(tmp, outFile);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.path === tmp) {
        err.path = outFile;
        err.message = err.message.split(tmp).join(outFile);
      }
      throw e;
    } finally {
      await unlink(tmp).catch(() => {});
    }
    return image;
  }

  /** Re-hashes a stored image's blob and checks it against its ID (ACI-024).
   * @throws {@link StoreError} `ERR_STORE_CORRUPT` when the bytes no longer give the ID. */
  async verify(idOrPrefix: string, options: { signal?: AbortSignal } = {}): Promise<StoredImage> {
    const { image, path } = await this.openBlob(idOrPrefix);
    await this.checkHash(image, path, path, options.signal);
    return image;
  }

  /** Throws `ERR_STORE_CORRUPT` (naming `blob`, the stored archive) unless `file` gives the image's ID. */
  private async checkHash(
    image: StoredImage,
    file: string,
    blob: string,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    let actual: string;
    try {
      const { computeImageId } = await import('@appc/aci');
      actual = await computeImageId(file, signal ? { signal } : {});
    } catch (e) {
      if (signal?.aborted)
        throw new StoreError(`${blob}: the check of ${image.id} was interrupted; nothing was written.`, {
          code: 'ERR_STORE_ABORTED',
          file: blob,
          cause: signal.reason ?? e,
        });
      throw new StoreError(
        `${blob}: the stored archive of ${image.id} (${image.name}) cannot be read (${(e as Error).message}); it was damaged on disk — remove it (appc image rm ${image.id}) and fetch it again (ACI-024).`,
        { code: 'ERR_STORE_CORRUPT', requirement: 'ACI-024', file: blob, cause: e },
      );
    }
    if (actual !== image.id)
      throw new StoreError(
        `${blob}: the stored archive hashes to ${actual}, not ${image.id} (${image.name}); it was damaged on disk — remove it (appc image rm ${image.id}) and fetch it again (ACI-024).`,
        { code: 'ERR_STORE_CORRUPT', requirement: 'ACI-024', file: blob },
      );
  }

  /** Removes an image: its index row (labels, remotes) and blob, and its rendered tree when no one holds its lock.
   * @throws {@link StoreError} as {@link Store.get}. */
  async rm(idOrPrefix: string): Promise<StoredImage> {
    const image = this.get(idOrPrefix);
    this.removeImage(image.id);
    await fsyncDir(dirname(this.blobPath(image.id))).catch(() => {});
    await removeTreeIfUnlocked(this.dir, image.id);
    return image;
  }

  /** Removes an image in two write transactions: the row first (committed), then the blob if no row came back
   * meanwhile. A crash between the two leaves an orphan blob (reconcile removes it), never a row without its
   * blob; a put of the same image between the two keeps its fresh blob. `stillWanted` (checked under the lock)
   * cancels the removal. Returns the bytes freed, or -1 when nothing was removed. */
  private removeImage(id: string, cancel?: (lastUsedAt: number) => boolean): number {
    const blob = this.blobPath(id);
    const size = this.write(() => {
      const row = this.db.prepare('SELECT size_bytes, last_used_at FROM images WHERE id = ?').get(id) as
        | { size_bytes: number; last_used_at: number }
        | undefined;
      if (!row || cancel?.(row.last_used_at)) return -1;
      this.db.prepare('DELETE FROM images WHERE id = ?').run(id);
      return row.size_bytes;
    });
    if (size < 0) return size;
    this.write(() => {
      if (this.db.prepare('SELECT 1 FROM images WHERE id = ?').get(id) !== undefined) return;
      try {
        unlinkSync(blob);
      } catch (e) {
        if (!isMissing(e)) throw e;
      }
      try {
        rmdirSync(dirname(blob));
      } catch {
        // not empty, or gone: both fine
      }
    });
    return size;
  }

  /** The remote an image was downloaded from, by URL, for an ETag / max-age check before re-fetching (DISC-013). */
  getRemote(url: string): RemoteInfo | undefined {
    const r = this.db
      .prepare('SELECT url, image_id, etag, cache_max_age, downloaded_at FROM remotes WHERE url = ?')
      .get(url) as
      | {
          url: string;
          image_id: string;
          etag: string | null;
          cache_max_age: number | null;
          downloaded_at: number;
        }
      | undefined;
    if (!r) return undefined;
    return {
      url: r.url,
      imageId: r.image_id,
      etag: r.etag ?? undefined,
      cacheMaxAgeSeconds: r.cache_max_age ?? undefined,
      downloadedAt: new Date(r.downloaded_at),
      expiresAt: r.cache_max_age === null ? undefined : new Date(r.downloaded_at + r.cache_max_age * 1000),
    };
  }

  /** Records (or replaces) where an image was downloaded from; a `304 Not Modified` re-check updates it.
   * @throws {@link StoreError} `ERR_STORE_NOT_FOUND` when the image is not stored. */
  setRemote(url: string, options: SetRemoteOptions): RemoteInfo {
    const { id } = this.get(options.imageId);
    this.write(() => this.upsertRemote(url, { ...options, imageId: id }));
    return this.getRemote(url) as RemoteInfo;
  }

  private upsertRemote(url: string, o: SetRemoteOptions): void {
    this.db
      .prepare(
        `INSERT INTO remotes (url, image_id, etag, cache_max_age, downloaded_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(url) DO UPDATE SET image_id = excluded.image_id, etag = excluded.etag,
           cache_max_age = excluded.cache_max_age, downloaded_at = excluded.downloaded_at`,
      )
      .run(
        url,
        o.imageId,
        o.etag ?? null,
        o.cacheMaxAgeSeconds === undefined ? null : Math.max(0, Math.floor(o.cacheMaxAgeSeconds)),
        (o.downloadedAt ?? new Date()).getTime(),
      );
  }

  /** Indexes every stored archive that has no row, as a put of it would (its ID checked against its file name);
   * an archive that is not a valid ACI or does not hash to its name is left for {@link Store.reconcile}.
   * `openStore` runs it when it finds the index missing or empty; the signature and source of each image, which
   * only the index held, are not recovered. Returns how many images were indexed. */
  async reindexBlobs(): Promise<number> {
    const root = join(this.dir, 'blobs', 'sha512');
    let shards: string[] = [];
    try {
      shards = await readdir(root);
    } catch (e) {
      if (!isMissing(e)) throw e;
    }
    let indexed = 0;
    for (const shard of shards.sort()) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      const names = await readdir(join(root, shard)).catch(() => [] as string[]);
      for (const hex of names.sort()) {
        const id = `sha512-${hex}`;
        if (!HEX128.test(hex) || !hex.startsWith(shard) || this.has(id)) continue;
        const file = join(root, shard, hex);
        try {
          await this.put(file, { expectedId: id, file });
          indexed++;
        } catch (e) {
          // a damaged archive stays unindexed (reconcile removes it); a store that cannot be written stops here
          const code = (e as { code?: unknown }).code;
          if (code === 'ERR_STORE_IO' || code === 'ERR_STORE_LOCKED' || code === 'ERR_STORE_CLOSED') throw e;
        }
      }
    }
    return indexed;
  }

  /** Makes index and blobs agree: drops rows whose blob is missing and blobs no row names (those are kept while an
   * index rebuild is unfinished, see {@link openStore}). Runs under the
   * index's write lock, so a concurrent put (which moves its blob in under the same lock) is never disturbed. */
  reconcile(): ReconcileReport {
    const root = join(this.dir, 'blobs', 'sha512');
    return this.write(() => {
      const report: ReconcileReport = { orphanBlobsRemoved: 0, rowsWithoutBlobRemoved: 0, freedBytes: 0 };
      const ids = new Set(this.db.prepare('SELECT id FROM images').pluck().all() as string[]);
      for (const id of ids) {
        if (!existsSync(this.blobPath(id))) {
          this.db.prepare('DELETE FROM images WHERE id = ?').run(id);
          report.rowsWithoutBlobRemoved++;
        }
      }
      let shards: string[] = [];
      try {
        // while an index rebuild is unfinished, an archive without a row is one still to index, not an orphan
        if (!existsSync(rebuildMark(this.dir))) shards = readdirSync(root);
      } catch (e) {
        if (!isMissing(e)) throw e;
      }
      for (const shard of shards) {
        if (!/^[0-9a-f]{2}$/.test(shard)) continue;
        let names: string[] = [];
        try {
          names = readdirSync(join(root, shard));
        } catch (e) {
          if (!isMissing(e) && (e as NodeJS.ErrnoException).code !== 'ENOTDIR') throw e;
        }
        for (const hex of names) {
          if (!HEX128.test(hex) || !hex.startsWith(shard) || ids.has(`sha512-${hex}`)) continue;
          const file = join(root, shard, hex);
          try {
            const size = statSizeSync(file);
            unlinkSync(file);
            report.orphanBlobsRemoved++;
            report.freedBytes += size;
          } catch (e) {
            if (!isMissing(e)) throw e;
          }
        }
      }
      return report;
    });
  }

  /** Garbage collection: removes images not used within the grace period (rkt's `image gc`, 24 h by default)
   * unless kept, temporary files of dead processes (or older than `tempMaxAgeMs`), orphan blobs and rows
   * whose blob is missing. */
  async gc(options: GcOptions = {}): Promise<GcReport> {
    const now = (options.now ?? new Date()).getTime();
    const grace = options.gracePeriodMs ?? DEFAULT_GC_GRACE_PERIOD_MS;
    const keep = new Set(options.keep ?? []);
    const fixed = this.reconcile();
    const report: GcReport = {
      removedImages: [],
      freedBytes: fixed.freedBytes,
      tempFilesRemoved: await this.removeStaleTemp(now, options.tempMaxAgeMs ?? 6 * HOUR_MS),
      orphanBlobsRemoved: fixed.orphanBlobsRemoved,
      rowsWithoutBlobRemoved: fixed.rowsWithoutBlobRemoved,
    };
    const old = this.db
      .prepare('SELECT id FROM images WHERE last_used_at < ? ORDER BY last_used_at')
      .pluck()
      .all(now - grace) as string[];
    for (const id of old) {
      if (keep.has(id)) continue;
      // re-checked under the write lock: a touch by another process since the query keeps the image
      const freed = this.removeImage(id, (lastUsedAt) => lastUsedAt >= now - grace);
      if (freed < 0) continue;
      report.removedImages.push(id);
      report.freedBytes += freed;
      await removeTreeIfUnlocked(this.dir, id);
    }
    return report;
  }

  private async removeStaleTemp(now: number, maxAgeMs: number): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.tmpDir);
    } catch (e) {
      if (isMissing(e)) return 0;
      throw e;
    }
    let removed = 0;
    for (const n of names) {
      const file = join(this.tmpDir, n);
      const pid = Number(/^put-(\d+)-/.exec(n)?.[1] ?? Number.NaN);
      let old = false;
      try {
        old = now - (await stat(file)).mtimeMs > maxAgeMs;
      } catch (e) {
        if (isMissing(e)) continue;
        throw e;
      }
      if (!old && pidAlive(pid) && pid !== process.pid) continue;
      if (!old && pid === process.pid) continue; // our own put in progress
      await rmPath(file, { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  /** Closes the index; later calls throw `ERR_STORE_CLOSED`. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.database.close();
  }
}

function statSizeSync(file: string): number {
  // only for reporting; a failed stat counts as 0 bytes
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function remoteOf(o: PutOptions): Omit<SetRemoteOptions, 'imageId'> {
  return {
    ...(o.etag !== undefined ? { etag: o.etag } : {}),
    ...(o.cacheMaxAgeSeconds !== undefined ? { cacheMaxAgeSeconds: o.cacheMaxAgeSeconds } : {}),
  };
}

/** Opens (creating when needed) the image store in `dir`: `blobs/`, `index.db` (SQLite, WAL), `tmp/`, `trees/`.
 * By default rows whose blob is missing and blobs without a row are reconciled first.
 * @example
 * const store = await openStore('/var/lib/appc/images');
 * const { image } = await store.put('app.aci');
 * console.log(store.find({ name: image.name })?.id);
 * store.close();
 * @throws {@link StoreError} `ERR_STORE_VERSION` for an index written by a newer library, `ERR_STORE_CORRUPT`
 * for an index that is not SQLite, `ERR_STORE_LOCKED`. */
export async function openStore(dir: string, options: OpenStoreOptions = {}): Promise<Store> {
  const root = resolve(dir);
  await mkdir(join(root, 'blobs', 'sha512'), { recursive: true });
  await mkdir(join(root, 'tmp'), { recursive: true });
  await mkdir(join(root, 'trees'), { recursive: true });
  const indexFile = join(root, 'index.db');
  const mark = rebuildMark(root);
  // an index to be made beside stored archives (it was deleted, moved away or truncated), or a rebuild that did not
  // finish (killed, a full disk, another process at it now): the archives are indexed again rather than taken for
  // orphans, which the reconcile below would delete. The mark is written before the index exists and removed only
  // once every archive is indexed; while it is there no open deletes an orphan archive.
  const rebuild = isMissingOrEmpty(indexFile) || existsSync(mark);
  if (rebuild) {
    try {
      await writeFile(mark, `${process.pid}\n`);
    } catch (e) {
      throw storeIoError(e, root, 'marking the index for a rebuild') ?? e;
    }
  }
  const db = openIndex(indexFile, options.busyTimeoutMs ?? 10_000);
  const store = new Store(root, db);
  try {
    if (rebuild) {
      await store.reindexBlobs();
      await rmPath(mark, { force: true });
    }
    if (options.reconcile ?? true) store.reconcile();
  } catch (e) {
    store.close();
    throw e;
  }
  return store;
}

/** The file that says an index rebuild is under way or unfinished ({@link openStore}). */
function rebuildMark(root: string): string {
  return join(root, 'index.rebuild');
}

function isMissingOrEmpty(file: string): boolean {
  try {
    return statSync(file).size === 0;
  } catch (e) {
    if (isMissing(e)) return true;
    throw e;
  }
}
