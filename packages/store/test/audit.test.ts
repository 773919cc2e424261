// The store against failing sources and lost or damaged files: what a dropped download, a deleted index or a
// blob damaged on disk must (and must not) do to it.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DiscoveryError } from '@appc/discovery';
import { hasCode } from '@appc/schema';
import { openTrustStore } from '@appc/verify';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchImage, openStore, type Store } from '../src/index.ts';
import { openIndex } from '../src/internal/index-db.ts';
import { makeAci, tempDir } from './fixtures.ts';

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups) await c();
  cleanups = [];
});

async function* bytes(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b;
}

async function fresh(): Promise<{ dir: string; store: Store }> {
  const { dir, cleanup } = await tempDir();
  const store = await openStore(join(dir, 'images'));
  cleanups.push(async () => {
    store.close();
    await cleanup();
  });
  return { dir, store };
}

describe('store audit', () => {
  it('DISC-002: a source that fails midway throws its own error, not ERR_STORE_INVALID_IMAGE; nothing is left', async () => {
    const { store } = await fresh();
    const aci = makeAci({ name: 'example.com/cut', files: { big: 'x'.repeat(200_000) } });
    const dropped = new DiscoveryError('https://example.com/cut.aci: the download ended early; try again.', {
      code: 'ERR_DISC_TRUNCATED',
    });
    async function* source(): AsyncGenerator<Uint8Array> {
      yield aci.subarray(0, 100);
      throw dropped;
    }
    await expect(store.put(source(), { file: 'https://example.com/cut.aci' })).rejects.toBe(dropped);
    expect(store.list()).toEqual([]);
  });

  it('a missing or empty index is rebuilt from the stored archives; a damaged one is left out and removed', async () => {
    const { dir, store } = await fresh();
    const a = (await store.put(bytes(makeAci({ name: 'example.com/a', labels: { version: '1' } })))).image;
    const b = (await store.put(bytes(makeAci({ name: 'example.com/b' })))).image;
    store.close();
    const index = join(dir, 'images', 'index.db');
    for (const f of [index, `${index}-wal`, `${index}-shm`]) await rm(f, { force: true });
    const blobB = join(dir, 'images', 'blobs', 'sha512', b.id.slice(7, 9), b.id.slice(7));
    const damaged = await readFile(blobB);
    damaged[damaged.length - 12] = (damaged[damaged.length - 12] as number) ^ 0xff;
    await writeFile(blobB, damaged);
    await writeFile(index, '');
    const again = await openStore(join(dir, 'images'));
    cleanups.push(async () => again.close());
    expect(again.list().map((i) => i.id)).toEqual([a.id]);
    expect(again.get(a.id)).toMatchObject({ name: 'example.com/a', version: '1' });
    expect(existsSync(blobB)).toBe(false);
  });

  it('an unfinished index rebuild (killed, a full disk, another process at it) deletes no archive; the next open finishes it', async () => {
    const { dir, store } = await fresh();
    const a = (await store.put(bytes(makeAci({ name: 'example.com/a' })))).image;
    const b = (await store.put(bytes(makeAci({ name: 'example.com/b' })))).image;
    store.close();
    const images = join(dir, 'images');
    const index = join(images, 'index.db');
    for (const f of [index, `${index}-wal`, `${index}-shm`]) await rm(f, { force: true });
    // what a rebuild killed before it indexed anything leaves: its mark, and an index with tables and no rows
    await writeFile(join(images, 'index.rebuild'), '1\n');
    openIndex(index, 1000).close();
    const again = await openStore(images);
    cleanups.push(async () => again.close());
    expect(
      again
        .list()
        .map((i) => i.id)
        .sort(),
    ).toEqual([a.id, b.id].sort());
    expect(existsSync(join(images, 'index.rebuild'))).toBe(false);
    // another process's rebuild under way: its rows are not there yet, and a reconcile here leaves the archives
    await writeFile(join(images, 'index.rebuild'), '2\n');
    const db = new Database(index);
    db.prepare('DELETE FROM images').run();
    db.close();
    expect(again.reconcile().orphanBlobsRemoved).toBe(0);
    for (const id of [a.id, b.id])
      expect(existsSync(join(images, 'blobs', 'sha512', id.slice(7, 9), id.slice(7)))).toBe(true);
  });

  it('ACI-024: export refuses a blob that no longer gives its ID and leaves no file behind', async () => {
    const { dir, store } = await fresh();
    const { image } = await store.put(
      bytes(makeAci({ name: 'example.com/x', files: { f: 'y'.repeat(5000) } })),
    );
    const blob = join(dir, 'images', 'blobs', 'sha512', image.id.slice(7, 9), image.id.slice(7));
    const other = makeAci({ name: 'example.com/x', files: { f: 'z'.repeat(5000) } });
    await writeFile(blob, other);
    const out = join(dir, 'out.aci');
    const e = await store.export(image.id, out).catch((err: unknown) => err);
    expect(hasCode(e, 'ERR_STORE_CORRUPT')).toBe(true);
    expect((e as Error).message).toContain(`appc image rm ${image.id}`);
    expect(existsSync(out)).toBe(false);
    await writeFile(blob, makeAci({ name: 'example.com/x', files: { f: 'y'.repeat(5000) } }));
    await store.export(image.id, out);
    expect(await readFile(out)).toEqual(await readFile(blob));
    await expect(store.export(image.id, out)).rejects.toMatchObject({ code: 'ERR_STORE_EXISTS' });
    // a missing output directory is named, not the stored archive
    const nowhere = join(dir, 'absent', 'out.aci');
    await expect(store.export(image.id, nowhere)).rejects.toMatchObject({
      code: 'ENOENT',
      path: join(dir, 'absent'),
    });
    // an interrupted export is ERR_STORE_ABORTED (exit 2 in the CLI), and leaves nothing
    const stopped = new AbortController();
    stopped.abort();
    const aborted = await store
      .export(image.id, join(dir, 'stopped.aci'), { signal: stopped.signal })
      .catch((err: unknown) => err);
    expect(hasCode(aborted, 'ERR_STORE_ABORTED'), String(aborted)).toBe(true);
    expect((await readdir(dir)).filter((n) => n.includes('stopped'))).toEqual([]);
  });

  it('VERIFY-002: a FILE.asc that is a device is refused unread (a symlink to /dev/zero was read until memory ran out)', async () => {
    const { dir, store } = await fresh();
    const aci = join(dir, 'app.aci');
    await writeFile(aci, makeAci({ name: 'example.com/app' }));
    await symlink('/dev/zero', `${aci}.asc`);
    const e = await fetchImage(store, aci, { trust: openTrustStore({ localDir: join(dir, 'etc') }) }).catch(
      (err: unknown) => err,
    );
    expect(hasCode(e, 'ERR_STORE_UNSIGNED')).toBe(true);
    expect((e as Error).message).toContain(`${aci}.asc is not a regular file`);
    expect(store.list()).toEqual([]);
  });

  it('ACI-006: fetching a device or a directory as a file is refused before anything is written (/dev/zero filled the store); a pipe is read', async () => {
    const { dir, store } = await fresh();
    const device = await fetchImage(store, '/dev/zero', { insecure: { image: true } }).catch(
      (err: unknown) => err,
    );
    expect(hasCode(device, 'ERR_STORE_INVALID_IMAGE'), String(device)).toBe(true);
    expect((device as Error).message).toContain('/dev/zero is not a regular file');
    // a pipe (appc fetch /dev/stdin, <(...)) is read as a file is
    const fifo = join(dir, 'app.fifo');
    execFileSync('mkfifo', [fifo]);
    const writer = writeFile(fifo, makeAci({ name: 'example.com/piped' }));
    const piped = await fetchImage(store, fifo, { insecure: { image: true } });
    await writer;
    expect(piped.image.name).toBe('example.com/piped');
    // a directory is Node's EISDIR naming it, as a read of it is (the CLI then says to build the layout first)
    const directory = await fetchImage(store, dir, { insecure: { image: true } }).catch(
      (err: unknown) => err,
    );
    expect(directory).toMatchObject({ code: 'EISDIR', path: dir });
    expect(await readdir(join(dir, 'images', 'tmp'))).toEqual([]);
  });
});
