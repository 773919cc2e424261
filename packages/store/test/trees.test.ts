import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hasCode } from '@appc/schema';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createStoreImageProvider,
  gcTrees,
  openStore,
  renderTree,
  type Store,
  TreeStore,
} from '../src/index.ts';
import { type TinyImage, tempDir, writeAci } from './fixtures.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function fresh(): Promise<{ dir: string; store: Store }> {
  const t = await tempDir();
  const store = await openStore(join(t.dir, 'store'));
  cleanups.push(t.cleanup, () => store.close());
  return { dir: t.dir, store };
}

async function add(store: Store, dir: string, image: TinyImage): Promise<string> {
  const file = await writeAci(
    dir,
    `${image.name.replace(/\W/g, '_')}-${Object.values(image.labels ?? {}).join('_')}.aci`,
    image,
  );
  return (await store.put(file)).image.id;
}

async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error('expected a rejection');
}

/** A pid that is certainly not running: a shell that has exited. */
function deadPid(): number {
  return Number(execFileSync('sh', ['-c', 'echo $$']).toString().trim());
}

describe('tree cache (ACI-020..ACI-024)', () => {
  it('renders an image with its dependencies from the store, once; the marker comes last', async () => {
    const { dir, store } = await fresh();
    await add(store, dir, {
      name: 'example.com/base',
      labels: { version: '1.0.0' },
      files: { 'etc/os': 'old', 'etc/keep': 'k' },
    });
    await add(store, dir, {
      name: 'example.com/base',
      labels: { version: '1.2.0' },
      files: { 'etc/os': 'new' },
    });
    const app = await add(store, dir, {
      name: 'example.com/app',
      dependencies: [{ imageName: 'example.com/base' }],
      files: { 'bin/app': 'run me' },
    });
    store.touch(app, new Date(0));
    const trees = new TreeStore(store);
    const first = await trees.render(app.slice(0, 20));
    expect(first.cached).toBe(false);
    expect(first.rootfs).toBe(join(store.dir, 'trees', app, 'rootfs'));
    // the newest base (1.2.0) was chosen
    expect(await readFile(join(first.rootfs, 'etc/os'), 'utf8')).toBe('new');
    expect(existsSync(join(first.rootfs, 'etc/keep'))).toBe(false);
    expect(await readFile(join(first.rootfs, 'bin/app'), 'utf8')).toBe('run me');
    expect(first.layers).toHaveLength(2);
    expect(first.layers[1]).toBe(app);
    expect(JSON.parse(await readFile(join(store.dir, 'trees', app, 'rendered.json'), 'utf8')).imageId).toBe(
      app,
    );
    expect(store.get(app).lastUsedAt.getTime()).toBeGreaterThan(0);
    const second = await trees.render(app);
    expect(second.cached).toBe(true);
    expect(await renderTree(store, app)).toBe(first.rootfs);
    expect(await trees.list()).toEqual([app]);
  });

  it('a missing dependency is a clear error saying to fetch it; nothing is left', async () => {
    const { dir, store } = await fresh();
    const app = await add(store, dir, {
      name: 'example.com/app',
      dependencies: [{ imageName: 'example.com/absent', labels: [{ name: 'version', value: '2.0.0' }] }],
    });
    const e = await codeOf(renderTree(store, app));
    expect(e.code).toBe('ERR_ACI_DEPENDENCY_NOT_FOUND');
    expect(e.message).toContain('fetch it first');
    expect(e.message).toContain('example.com/absent:2.0.0');
    expect(await readdir(join(store.dir, 'trees'))).toEqual([]);
  });

  it('the provider honours a dependency imageID: full and matching only (ACI-011, TYPES-006)', async () => {
    const { dir, store } = await fresh();
    const v1 = await add(store, dir, {
      name: 'example.com/lib',
      labels: { version: '1.0.0' },
      files: { lib: '1' },
    });
    await add(store, dir, { name: 'example.com/lib', labels: { version: '2.0.0' }, files: { lib: '2' } });
    const provider = createStoreImageProvider(store);
    expect((await provider.resolve({ imageName: 'example.com/lib', imageID: v1 })).imageId).toBe(v1);
    expect((await provider.resolve({ imageName: 'example.com/lib' })).imageId).not.toBe(v1);
    for (const imageID of [v1.slice(0, 30), `sha512-${'0'.repeat(128)}`])
      expect((await codeOf(provider.resolve({ imageName: 'example.com/lib', imageID }))).code).toBe(
        'ERR_ACI_DEPENDENCY_NOT_FOUND',
      );
    // right ID, wrong name: not this dependency
    expect((await codeOf(provider.resolve({ imageName: 'example.com/other', imageID: v1 }))).code).toBe(
      'ERR_ACI_DEPENDENCY_NOT_FOUND',
    );
    const app = await add(store, dir, {
      name: 'example.com/pinned',
      dependencies: [{ imageName: 'example.com/lib', imageID: v1 }],
    });
    expect(await readFile(join(await renderTree(store, app), 'lib'), 'utf8')).toBe('1');
  });

  it('breaks the lock of a dead process; waits for a live one until the timeout (ERR_STORE_LOCKED)', async () => {
    const { dir, store } = await fresh();
    const app = await add(store, dir, { name: 'example.com/locked', files: { a: 'a' } });
    const lock = join(store.dir, 'trees', `${app}.lock`);
    await writeFile(lock, `${process.pid} ${(await import('node:os')).hostname()} ${Date.now()}\n`);
    const e = await codeOf(new TreeStore(store, { lockTimeoutMs: 300 }).render(app));
    expect(e.code).toBe('ERR_STORE_LOCKED');
    expect(e.message).toContain(String(process.pid));
    await writeFile(lock, `${deadPid()} ${(await import('node:os')).hostname()} ${Date.now()}\n`);
    const tree = await new TreeStore(store, { lockTimeoutMs: 300 }).render(app);
    expect(existsSync(join(tree.rootfs, 'a'))).toBe(true);
    expect(existsSync(lock)).toBe(false);
  });

  it('a half-rendered tree is never used: render replaces it, gcTrees removes it', async () => {
    const { dir, store } = await fresh();
    const app = await add(store, dir, { name: 'example.com/half', files: { real: 'yes' } });
    const other = await add(store, dir, { name: 'example.com/other', files: { o: 'o' } });
    // a tree dir without marker, as a process killed while rendering leaves it, plus a render temp dir
    await mkdir(join(store.dir, 'trees', app, 'rootfs'), { recursive: true });
    await writeFile(join(store.dir, 'trees', app, 'rootfs', 'partial'), '');
    await mkdir(join(store.dir, 'trees', `.${other}.render-abc123`, 'rootfs'), { recursive: true });
    const trees = new TreeStore(store);
    expect(await trees.get(app)).toBeUndefined();
    expect(await trees.list()).toEqual([]);
    const tree = await trees.render(app);
    expect(existsSync(join(tree.rootfs, 'partial'))).toBe(false);
    expect(existsSync(join(tree.rootfs, 'real'))).toBe(true);
    const report = await gcTrees(store);
    expect(report).toEqual({ removed: [], incompleteRemoved: 1 });
    expect((await readdir(join(store.dir, 'trees'))).sort()).toEqual([app]);
  });

  it('gcTrees removes unused trees and trees of removed images, keeps the ones asked', async () => {
    const { dir, store } = await fresh();
    const a = await add(store, dir, { name: 'example.com/a', files: { a: 'a' } });
    const b = await add(store, dir, { name: 'example.com/b', files: { b: 'b' } });
    const c = await add(store, dir, { name: 'example.com/c', files: { c: 'c' } });
    const trees = new TreeStore(store);
    for (const id of [a, b, c]) await trees.render(id);
    const old = new Date(Date.now() - 2 * 24 * 60 * 60 * 1000);
    for (const id of [a, b]) await utimes(join(store.dir, 'trees', id, 'rendered.json'), old, old);
    const report = await trees.gc({ keep: [b] });
    expect(report.removed).toEqual([a]);
    expect((await trees.list()).sort()).toEqual([b, c].sort());
    // rm takes the image's tree along when nobody renders it
    await store.rm(c);
    expect(await trees.list()).toEqual([b]);
    // while a render holds the lock, rm leaves the tree; the next gc removes it once the image is gone
    const lock = join(store.dir, 'trees', `${b}.lock`);
    await writeFile(lock, `${process.pid} ${(await import('node:os')).hostname()} ${Date.now()}\n`);
    await store.rm(b);
    expect(await readdir(join(store.dir, 'trees'))).toContain(b);
    expect((await trees.gc()).removed).toEqual([]);
    const { unlink } = await import('node:fs/promises');
    await unlink(lock);
    expect((await trees.gc()).removed).toEqual([b]);
    expect(await readdir(join(store.dir, 'trees'))).toEqual([]);
    // a collected tree renders again on demand; a removed image cannot
    expect((await trees.render(a)).cached).toBe(false);
    expect(hasCode(await codeOf(trees.render(b)), 'ERR_STORE_NOT_FOUND')).toBe(true);
  });
});
