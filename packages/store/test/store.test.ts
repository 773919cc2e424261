import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hasCode } from '@appc/schema';
import { writeTar } from '@appc/vectors';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore, STORE_ERROR_CODES, type Store } from '../src/index.ts';
import { makeAci, tempDir, writeAci } from './fixtures.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function fresh(): Promise<{ dir: string; store: Store; storeDir: string }> {
  const t = await tempDir();
  const storeDir = join(t.dir, 'store');
  const store = await openStore(storeDir);
  cleanups.push(t.cleanup, () => store.close());
  return { dir: t.dir, store, storeDir };
}

async function rejects(p: Promise<unknown> | (() => unknown), code: string): Promise<Error> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(
      hasCode(e, code),
      `expected ${code}, got ${(e as { code?: string }).code}: ${(e as Error).message}`,
    ).toBe(true);
    return e as Error;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

describe('put and the on-disk layout', () => {
  it('keeps the archive as received under blobs/sha512/<2 hex>/<hex> and indexes it (ACI-010)', async () => {
    const { dir, store, storeDir } = await fresh();
    const file = await writeAci(dir, 'a.aci', {
      name: 'example.com/a',
      labels: { version: '1.0.0', os: 'linux', arch: 'amd64' },
      files: { 'bin/a': 'hello' },
    });
    const { image, stored, warnings } = await store.put(file, {
      sourceUrl: 'https://example.com/a-1.0.0.aci',
      etag: '"abc"',
      cacheMaxAgeSeconds: 600,
      signatureFingerprint: '0123456789abcdef0123456789abcdef01234567',
    });
    expect(stored).toBe(true);
    expect(warnings).toEqual([]);
    // the ID is the SHA-512 of the uncompressed tar: gunzip | sha512sum gives the same
    const hex = execFileSync('sh', ['-c', `gzip -dc '${file}' | sha512sum`])
      .toString()
      .split(' ')[0];
    expect(image.id).toBe(`sha512-${hex}`);
    const blob = join(storeDir, 'blobs', 'sha512', hex?.slice(0, 2) ?? '', hex ?? '');
    expect(store.blobPath(image.id)).toBe(blob);
    expect(await readFile(blob)).toEqual(await readFile(file));
    expect(image).toMatchObject({
      name: 'example.com/a',
      version: '1.0.0',
      compression: 'gzip',
      sizeBytes: (await stat(file)).size,
      sourceUrl: 'https://example.com/a-1.0.0.aci',
      signatureFingerprint: '0123456789abcdef0123456789abcdef01234567',
      labels: [
        { name: 'version', value: '1.0.0' },
        { name: 'os', value: 'linux' },
        { name: 'arch', value: 'amd64' },
      ],
    });
    expect(store.manifest(image.id).name).toBe('example.com/a');
    expect((await readdir(storeDir)).sort()).toEqual([
      'blobs',
      'index.db',
      'index.db-shm',
      'index.db-wal',
      'tmp',
      'trees',
    ]);
    expect(await readdir(join(storeDir, 'tmp'))).toEqual([]);
    const db = new Database(join(storeDir, 'index.db'), { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.prepare('SELECT name, value FROM labels ORDER BY pos').all()).toHaveLength(3);
    db.close();
  });

  it('reads gzip, bzip2, xz and plain tar, and archives made by GNU tar (ACI-006)', async () => {
    const { dir, store } = await fresh();
    for (const compression of ['gzip', 'bzip2', 'xz', 'none'] as const) {
      const file = await writeAci(dir, `c-${compression}.aci`, {
        name: `example.com/c-${compression}`,
        files: { x: compression },
        compression,
      });
      const { image } = await store.put(file);
      expect(image.compression).toBe(compression);
      expect(await readFile(store.blobPath(image.id))).toEqual(await readFile(file));
    }
    const layout = join(dir, 'layout');
    await mkdir(join(layout, 'rootfs', 'etc'), { recursive: true });
    await writeFile(join(layout, 'rootfs', 'etc', 'hello'), 'hi\n');
    await writeFile(
      join(layout, 'manifest'),
      JSON.stringify({ acKind: 'ImageManifest', acVersion: '0.8.11', name: 'example.com/gnu' }),
    );
    execFileSync('tar', ['-czf', join(dir, 'gnu.aci'), '-C', layout, 'manifest', 'rootfs']);
    const { image } = await store.put(join(dir, 'gnu.aci'));
    expect(image.name).toBe('example.com/gnu');
    expect(store.list()).toHaveLength(5);
  });

  it('takes a byte stream, and a second put of the same image keeps the first copy', async () => {
    const { dir, store } = await fresh();
    const file = await writeAci(dir, 's.aci', { name: 'example.com/s' });
    const first = await store.put(createReadStream(file), { file: 's.aci' });
    const again = await store.put(file, { sourceUrl: 'https://mirror.example/s.aci', etag: 'W/"1"' });
    expect(first.stored).toBe(true);
    expect(again.stored).toBe(false);
    expect(again.image.id).toBe(first.image.id);
    expect(store.getRemote('https://mirror.example/s.aci')?.imageId).toBe(first.image.id);
    expect(store.list()).toHaveLength(1);
  });

  it('refuses an image whose ID is not the expected one; nothing is stored (ACI-011)', async () => {
    const { dir, store, storeDir } = await fresh();
    const file = await writeAci(dir, 'x.aci', { name: 'example.com/x' });
    const e = await rejects(
      store.put(file, { expectedId: `sha512-${'0'.repeat(128)}` }),
      'ERR_STORE_ID_MISMATCH',
    );
    expect(e.message).toContain('ACI-011');
    expect(store.list()).toEqual([]);
    expect(await readdir(join(storeDir, 'tmp'))).toEqual([]);
    expect(await readdir(join(storeDir, 'blobs', 'sha512'))).toEqual([]);
    await rejects(store.put(file, { expectedId: 'sha512-abc' }), 'ERR_STORE_BAD_ID');
    const ok = await store.put(file);
    await store.rm(ok.image.id);
    expect((await store.put(file, { expectedId: ok.image.id })).stored).toBe(true);
  });

  it('stops reading past maxBytes (ERR_STORE_TOO_LARGE), even from an endless source', async () => {
    const { store, storeDir } = await fresh();
    // a valid tar whose last entry claims 1 TB, then zeros for ever: only the byte bound stops it
    const head = writeTar({
      entries: [
        {
          name: 'manifest',
          contents: JSON.stringify({ acKind: 'ImageManifest', acVersion: '0.8.11', name: 'example.com/big' }),
        },
        { name: 'rootfs/', type: 'dir' },
        { name: 'rootfs/big', contents: '', declaredSize: 1024 ** 4 },
      ],
      noEndBlocks: true,
    });
    let sent = 0;
    async function* endless() {
      yield head;
      while (true) {
        sent += 64 * 1024;
        yield Buffer.alloc(64 * 1024);
      }
    }
    await rejects(store.put(endless(), { maxBytes: 1024 * 1024 }), 'ERR_STORE_TOO_LARGE');
    expect(sent).toBeLessThan(2 * 1024 * 1024);
    expect(await readdir(join(storeDir, 'tmp'))).toEqual([]);
  });

  it('refuses invalid archives with every issue (ERR_STORE_INVALID_IMAGE)', async () => {
    const { dir, store } = await fresh();
    const bad = join(dir, 'bad.aci');
    const layout = join(dir, 'l');
    await mkdir(join(layout, 'rootfs'), { recursive: true });
    await writeFile(
      join(layout, 'manifest'),
      JSON.stringify({ acKind: 'ImageManifest', acVersion: '0.8.11', name: 'Not Valid' }),
    );
    execFileSync('tar', ['-czf', bad, '-C', layout, 'manifest', 'rootfs']);
    const e = (await rejects(store.put(bad), 'ERR_STORE_INVALID_IMAGE')) as Error & {
      issues: { code: string }[];
    };
    expect(e.issues.length).toBeGreaterThan(0);
    expect(e.message).toContain('bad.aci');
    await writeFile(join(dir, 'text.aci'), 'not an archive at all');
    const t = (await rejects(store.put(join(dir, 'text.aci')), 'ERR_STORE_INVALID_IMAGE')) as Error & {
      issues: { code: string }[];
    };
    expect(t.issues.map((i) => i.code)).toEqual(['ERR_ACI_BAD_COMPRESSION']);
    const trailing = Buffer.concat([
      makeAci({ name: 'example.com/t' }),
      Buffer.from('garbage after the end'),
    ]);
    const once = async function* () {
      yield trailing;
    };
    await rejects(store.put(once()), 'ERR_STORE_INVALID_IMAGE');
    expect(store.list()).toEqual([]);
  });

  it('aborts on signal (ERR_STORE_ABORTED)', async () => {
    const { dir, store } = await fresh();
    const file = await writeAci(dir, 'ab.aci', { name: 'example.com/ab' });
    const ac = new AbortController();
    ac.abort();
    await expect(store.put(file, { signal: ac.signal })).rejects.toThrow();
    const ac2 = new AbortController();
    const bytes = await readFile(file);
    async function* slow() {
      yield bytes.subarray(0, 10);
      ac2.abort();
      yield bytes.subarray(10);
    }
    await rejects(store.put(slow(), { signal: ac2.signal }), 'ERR_STORE_ABORTED');
    expect(store.list()).toEqual([]);
  });
});

describe('lookups (TYPES-006, DISC-009)', () => {
  it('finds by full ID and unique prefix; an ambiguous prefix lists the candidates', async () => {
    const { dir, store } = await fresh();
    const ids: string[] = [];
    for (let i = 0; i < 40; i++)
      ids.push((await store.put(await writeAci(dir, `p${i}.aci`, { name: `example.com/p${i}` }))).image.id);
    const id = ids[0] as string;
    expect(store.get(id).id).toBe(id);
    expect(store.get(id.toUpperCase().replace('SHA512', 'sha512')).id).toBe(id);
    expect(store.get(id.slice(0, 7 + 12)).id).toBe(id);
    // 40 IDs over 16 first digits: some first digit is shared
    const byFirst = new Map<string, string[]>();
    for (const x of ids) byFirst.set(x[7] as string, [...(byFirst.get(x[7] as string) ?? []), x]);
    const [digit, shared] = [...byFirst].find(([, v]) => v.length > 1) as [string, string[]];
    const e = (await rejects(() => store.get(`sha512-${digit}`), 'ERR_STORE_AMBIGUOUS_ID')) as Error & {
      candidates: string[];
    };
    expect(e.candidates.sort()).toEqual(shared.sort());
    expect(store.lookup(`sha512-${'f'.repeat(127)}`)).toBeUndefined();
    await rejects(() => store.get(`sha512-${'f'.repeat(128)}`), 'ERR_STORE_NOT_FOUND');
    await rejects(() => store.get('sha512-'), 'ERR_STORE_BAD_ID');
    await rejects(() => store.get('example.com/p1'), 'ERR_STORE_BAD_ID');
    expect(
      store
        .list({ idPrefix: `sha512-${digit}` })
        .map((i) => i.id)
        .sort(),
    ).toEqual(shared.sort());
  });

  it('finds by name and labels: all labels must match; newest SemVer version, then latest import', async () => {
    const { dir, store } = await fresh();
    const put = async (labels: Record<string, string>, extra = '') =>
      (
        await store.put(
          await writeAci(dir, `${JSON.stringify(labels)}${extra}.aci`, {
            name: 'example.com/app',
            labels,
            files: { x: extra },
          }),
        )
      ).image;
    const v1 = await put({ version: '1.0.0', os: 'linux' });
    const v10 = await put({ version: '1.10.0', os: 'linux' });
    const v2 = await put({ version: '1.2.0', os: 'linux' });
    const rc = await put({ version: '2.0.0-rc.1', os: 'linux' });
    const latest = await put({ version: 'latest', os: 'linux' });
    const darwin = await put({ version: '1.0.0', os: 'darwin' });
    expect(store.find({ name: 'example.com/app' })?.id).toBe(rc.id);
    expect(store.find({ name: 'example.com/app', labels: { os: 'darwin' } })?.id).toBe(darwin.id);
    expect(
      store.find({
        name: 'example.com/app',
        labels: [
          { name: 'version', value: '1.0.0' },
          { name: 'os', value: 'linux' },
        ],
      })?.id,
    ).toBe(v1.id);
    expect(store.find({ name: 'example.com/app', labels: { version: 'latest' } })?.id).toBe(latest.id);
    expect(store.find({ name: 'example.com/app', labels: { os: 'windows' } })).toBeUndefined();
    expect(store.find({ name: 'example.com/other' })).toBeUndefined();
    // same version twice: the later import wins
    const v10b = await put({ version: '1.10.0', os: 'linux' }, 'rebuilt');
    expect(store.find({ name: 'example.com/app', labels: { version: '1.10.0' } })?.id).toBe(v10b.id);
    expect(v10.id).not.toBe(v10b.id);
    const byName = store.list({ sort: 'name' }).map((i) => i.version);
    expect(byName).toEqual(['latest', '1.0.0', '1.0.0', '1.2.0', '1.10.0', '1.10.0', '2.0.0-rc.1']);
    expect(store.list({ sort: 'name', order: 'desc', limit: 2 }).map((i) => i.version)).toEqual([
      '2.0.0-rc.1',
      '1.10.0',
    ]);
    expect(store.list({ labels: { os: 'linux' } })).toHaveLength(6);
    expect(store.list({ sort: 'sizeBytes', limit: 1 })).toHaveLength(1);
    expect(v2.version).toBe('1.2.0');
  });
});

describe('remotes, touch, export, verify, rm', () => {
  it('records ETag and max-age per URL for a conditional re-fetch (DISC-013)', async () => {
    const { dir, store } = await fresh();
    const { image } = await store.put(await writeAci(dir, 'r.aci', { name: 'example.com/r' }), {
      sourceUrl: 'https://example.com/r.aci',
      etag: '"v1"',
      cacheMaxAgeSeconds: 60,
    });
    const r = store.getRemote('https://example.com/r.aci');
    expect(r).toMatchObject({ imageId: image.id, etag: '"v1"', cacheMaxAgeSeconds: 60 });
    expect((r?.expiresAt?.getTime() ?? 0) - (r?.downloadedAt.getTime() ?? 0)).toBe(60_000);
    const at = new Date('2030-01-01T00:00:00Z');
    const updated = store.setRemote('https://example.com/r.aci', {
      imageId: image.id.slice(0, 20),
      etag: '"v2"',
      downloadedAt: at,
    });
    expect(updated).toMatchObject({
      etag: '"v2"',
      cacheMaxAgeSeconds: undefined,
      expiresAt: undefined,
      downloadedAt: at,
    });
    expect(store.getRemote('https://example.com/none.aci')).toBeUndefined();
    await rejects(
      () => store.setRemote('https://x/y.aci', { imageId: `sha512-${'a'.repeat(128)}` }),
      'ERR_STORE_NOT_FOUND',
    );
    await store.rm(image.id);
    expect(store.getRemote('https://example.com/r.aci')).toBeUndefined();
  });

  it('exports byte for byte, verifies the stored bytes (ACI-024), removes image and blob', async () => {
    const { dir, store } = await fresh();
    const file = await writeAci(dir, 'e.aci', { name: 'example.com/e', compression: 'xz' });
    const { image } = await store.put(file);
    const out = join(dir, 'out.aci');
    await store.export(image.id, out);
    expect(await readFile(out)).toEqual(await readFile(file));
    await rejects(store.export(image.id, out), 'ERR_STORE_EXISTS');
    await store.export(image.id, out, { overwrite: true });
    await store.verify(image.id);
    const at = new Date('2031-05-05T00:00:00Z');
    store.touch(image.id, at);
    expect(store.get(image.id).lastUsedAt).toEqual(at);
    // damage the blob on disk: verify notices
    const blob = store.blobPath(image.id);
    const other = makeAci({ name: 'example.com/e', files: { changed: 'yes' }, compression: 'xz' });
    await writeFile(blob, other);
    const e = await rejects(store.verify(image.id), 'ERR_STORE_CORRUPT');
    expect(e.message).toContain('ACI-024');
    const removed = await store.rm(image.id.slice(0, 15));
    expect(removed.id).toBe(image.id);
    expect(existsSync(blob)).toBe(false);
    await rejects(() => store.get(image.id), 'ERR_STORE_NOT_FOUND');
  });

  it('a blob deleted behind its back: openBlob drops the row and says so (ERR_STORE_CORRUPT)', async () => {
    const { dir, store } = await fresh();
    const { image } = await store.put(await writeAci(dir, 'g.aci', { name: 'example.com/g' }));
    const { unlink } = await import('node:fs/promises');
    await unlink(store.blobPath(image.id));
    await rejects(store.export(image.id, join(dir, 'x.aci')), 'ERR_STORE_CORRUPT');
    expect(store.has(image.id)).toBe(false);
  });
});

describe('open, reconcile, gc', () => {
  it('reconciles on open: rows without blobs and blobs without rows go', async () => {
    const { dir, store, storeDir } = await fresh();
    const a = (await store.put(await writeAci(dir, 'a.aci', { name: 'example.com/a' }))).image;
    const b = (await store.put(await writeAci(dir, 'b.aci', { name: 'example.com/b' }))).image;
    store.close();
    const { unlink } = await import('node:fs/promises');
    await unlink(join(storeDir, 'blobs', 'sha512', a.id.slice(7, 9), a.id.slice(7)));
    const db = new Database(join(storeDir, 'index.db'));
    db.prepare('DELETE FROM images WHERE id = ?').run(b.id);
    db.close();
    const again = await openStore(storeDir);
    cleanups.push(() => again.close());
    expect(again.list()).toEqual([]);
    expect(existsSync(again.blobPath(b.id))).toBe(false);
  });

  it('removes images unused within the grace period (24 h default), temp files of dead processes, orphans', async () => {
    const { dir, store, storeDir } = await fresh();
    const old = (await store.put(await writeAci(dir, 'old.aci', { name: 'example.com/old' }))).image;
    const used = (await store.put(await writeAci(dir, 'used.aci', { name: 'example.com/used' }))).image;
    const kept = (await store.put(await writeAci(dir, 'kept.aci', { name: 'example.com/kept' }))).image;
    const day = 24 * 60 * 60 * 1000;
    const now = Date.now();
    store.touch(old.id, new Date(now - day - 1000));
    store.touch(kept.id, new Date(now - 3 * day));
    store.touch(used.id, new Date(now - day + 60_000));
    // a temp file of a process that is gone, and one of a live process (this one) that is recent
    const dead = execFileSync('sh', ['-c', 'echo $$']).toString().trim();
    await writeFile(join(storeDir, 'tmp', `put-${dead}-0011223344556677.partial`), 'half');
    await writeFile(join(storeDir, 'tmp', `put-${process.pid}-8899aabbccddeeff.partial`), 'in flight');
    const orphan = join(storeDir, 'blobs', 'sha512', 'ab', `ab${'c'.repeat(126)}`);
    await mkdir(join(storeDir, 'blobs', 'sha512', 'ab'), { recursive: true });
    await writeFile(orphan, 'orphan');
    const report = await store.gc({ keep: [kept.id] });
    expect(report.removedImages).toEqual([old.id]);
    expect(report.tempFilesRemoved).toBe(1);
    expect(report.orphanBlobsRemoved).toBe(1);
    expect(report.freedBytes).toBe(old.sizeBytes + 'orphan'.length);
    expect(
      store
        .list()
        .map((i) => i.id)
        .sort(),
    ).toEqual([used.id, kept.id].sort());
    expect(await readdir(join(storeDir, 'tmp'))).toEqual([`put-${process.pid}-8899aabbccddeeff.partial`]);
    // an old temp file goes even when its pid is alive
    const past = new Date(now - 7 * 60 * 60 * 1000);
    await utimes(join(storeDir, 'tmp', `put-${process.pid}-8899aabbccddeeff.partial`), past, past);
    expect((await store.gc({ keep: [kept.id] })).tempFilesRemoved).toBe(1);
    const all = await store.gc({ gracePeriodMs: 0, now: new Date(now + 1000) });
    expect(all.removedImages.sort()).toEqual([used.id, kept.id].sort());
  });

  it('refuses an index from a newer library and a file that is not SQLite', async () => {
    const { dir, store, storeDir } = await fresh();
    store.close();
    await rejects(() => store.list(), 'ERR_STORE_CLOSED');
    const db = new Database(join(storeDir, 'index.db'));
    db.pragma('user_version = 99');
    db.close();
    await rejects(openStore(storeDir), 'ERR_STORE_VERSION');
    const broken = join(dir, 'broken');
    await mkdir(broken);
    await writeFile(
      join(broken, 'index.db'),
      'this is not a database, it is long enough to have a header...............',
    );
    await rejects(openStore(broken), 'ERR_STORE_CORRUPT');
  });

  it('every documented code is in the README table', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    for (const code of STORE_ERROR_CODES) expect(readme).toContain(`\`${code}\``);
  });
});
