import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { computeImageId } from '@appc/aci';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore, TreeStore } from '../src/index.ts';
import { tempDir, writeAci } from './fixtures.ts';
import { Worker } from './workers.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function blobFiles(storeDir: string): string[] {
  const root = join(storeDir, 'blobs', 'sha512');
  const out: string[] = [];
  for (const shard of readdirSync(root))
    for (const f of readdirSync(join(root, shard))) out.push(`sha512-${f}`);
  return out.sort();
}

describe('two processes, one store', () => {
  it('putting the same image at once ends with one blob and one row', async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    // incompressible content makes a ~200 KB archive: with 4 KiB chunks and 2 ms pauses both puts overlap
    const file = await writeAci(t.dir, 'same.aci', {
      name: 'example.com/same',
      labels: { version: '1.0.0' },
      files: { 'data/blob': randomBytes(150_000).toString('base64') },
    });
    const storeDir = join(t.dir, 'store');
    const [a, b] = await Promise.all([Worker.start(storeDir), Worker.start(storeDir)]);
    cleanups.push(async () => {
      await a.kill();
      await b.kill();
    });
    a.send({ op: 'put', file, pauseMs: 2 });
    b.send({ op: 'put', file, pauseMs: 2 });
    // while both streams are in flight each process has its own temp file in the store
    const seen = new Set<string>();
    const until = Date.now() + 5_000;
    while (seen.size < 2 && Date.now() < until) {
      for (const f of readdirSync(join(storeDir, 'tmp'))) seen.add(f);
      await new Promise((r) => setTimeout(r, 5));
    }
    const [ra, rb] = await Promise.all([a.next(), b.next()]);
    expect(seen.size).toBe(2);
    expect(ra.ok && rb.ok).toBe(true);
    expect(ra.id).toBe(rb.id);
    expect([ra.stored, rb.stored].sort()).toEqual([false, true]);
    expect(blobFiles(storeDir)).toEqual([ra.id]);
    expect(readdirSync(join(storeDir, 'tmp'))).toEqual([]);
    const store = await openStore(storeDir);
    expect(store.list().map((i) => i.id)).toEqual([ra.id]);
    await store.verify(ra.id as string);
    store.close();
    await a.stop();
    await b.stop();
  });

  it('two processes rendering the same tree: one renders, the other waits and reuses it', async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    const storeDir = join(t.dir, 'store');
    const store = await openStore(storeDir);
    const base = await store.put(
      await writeAci(t.dir, 'base.aci', {
        name: 'example.com/base',
        labels: { version: '1.0.0' },
        files: { 'etc/base': 'b' },
      }),
    );
    const app = await store.put(
      await writeAci(t.dir, 'app.aci', {
        name: 'example.com/app',
        dependencies: [{ imageName: 'example.com/base' }],
        files: { 'bin/app': 'a', 'data/x': randomBytes(2_000_000).toString('hex') },
      }),
    );
    const [a, b] = await Promise.all([Worker.start(storeDir), Worker.start(storeDir)]);
    cleanups.push(async () => {
      await a.kill();
      await b.kill();
    });
    a.send({ op: 'render', id: app.image.id });
    b.send({ op: 'render', id: app.image.id });
    const [ra, rb] = await Promise.all([a.next(), b.next()]);
    expect(ra.ok && rb.ok).toBe(true);
    expect([ra.cached, rb.cached].sort()).toEqual([false, true]);
    expect(ra.rootfs).toBe(rb.rootfs);
    expect(existsSync(join(ra.rootfs as string, 'etc/base'))).toBe(true);
    expect(existsSync(join(ra.rootfs as string, 'bin/app'))).toBe(true);
    expect(readdirSync(join(storeDir, 'trees')).sort()).toEqual([app.image.id]);
    expect(base.stored).toBe(true);
    store.close();
    await a.stop();
    await b.stop();
  });
});

describe('kill -9 at random points', () => {
  it('a render killed midway leaves no usable half tree; its lock is broken and the next render completes', async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    const storeDir = join(t.dir, 'store');
    const store = await openStore(storeDir);
    cleanups.push(() => store.close());
    const files: Record<string, string> = {};
    for (let i = 0; i < 400; i++) files[`d${i % 20}/f${i}`] = randomBytes(4_000).toString('hex');
    const { image } = await store.put(await writeAci(t.dir, 'many.aci', { name: 'example.com/many', files }));
    const trees = new TreeStore(store, { lockTimeoutMs: 20_000 });
    let interrupted = 0;
    for (const delay of [30, 120, 250]) {
      const w = await Worker.start(storeDir);
      cleanups.push(() => w.kill());
      w.send({ op: 'render', id: image.id });
      await new Promise((r) => setTimeout(r, delay));
      await w.kill();
      // a kill during the render leaves its lock (of a dead pid) behind
      if (existsSync(join(storeDir, 'trees', `${image.id}.lock`))) interrupted++;
      const tree = await trees.get(image.id);
      if (tree) {
        // the render finished before the kill: the tree is whole
        expect(readdirSync(join(tree.rootfs, 'd0')).length).toBe(20);
        await trees.remove(image.id);
      } else {
        const rendered = await trees.render(image.id);
        expect(rendered.cached).toBe(false);
        expect(readdirSync(join(rendered.rootfs, 'd0')).length).toBe(20);
        await trees.remove(image.id);
      }
      expect(existsSync(join(storeDir, 'trees', `${image.id}.lock`))).toBe(false);
    }
    expect(interrupted).toBeGreaterThan(0);
  });

  it('never leaves a row without its complete blob; gc then removes every leftover', {
    tags: ['slow'],
  }, async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    const storeDir = join(t.dir, 'store');
    const files: string[] = [];
    for (let i = 0; i < 6; i++)
      files.push(
        await writeAci(t.dir, `img${i}.aci`, {
          name: `example.com/kill${i}`,
          labels: { version: `1.0.${i}` },
          files: { data: randomBytes(40_000 + i * 5_000).toString('base64') },
        }),
      );
    const delays = [0, 3, 15, 40, 90, 160, 250, 400];
    let progressed = 0;
    let killedMidPut = 0;
    for (const delay of delays) {
      const w = await Worker.start(storeDir);
      cleanups.push(() => w.kill());
      w.send({ op: 'loop', files: [...files.slice(delay % 6), ...files.slice(0, delay % 6)], pauseMs: 1 });
      await new Promise((r) => setTimeout(r, delay + Math.floor(Math.random() * 20)));
      await w.kill();
      while (true) {
        const line = await w.next(1).catch(() => undefined);
        if (!line) break;
        if (line.progress !== undefined) progressed++;
      }
      if (readdirSync(join(storeDir, 'tmp')).some((f) => f.startsWith(`put-${w.child.pid}-`))) killedMidPut++;
      // the strict invariant, read straight from the index before any reconcile: every row has its whole blob
      const db = new Database(join(storeDir, 'index.db'), { readonly: true, fileMustExist: true });
      const ids = db.prepare('SELECT id FROM images').pluck().all() as string[];
      db.close();
      for (const id of ids) {
        const hex = id.slice(7);
        const blob = join(storeDir, 'blobs', 'sha512', hex.slice(0, 2), hex);
        expect(existsSync(blob), `row ${id} without blob after kill at ${delay} ms`).toBe(true);
        expect(await computeImageId(blob)).toBe(id);
      }
      // every blob on disk is complete (it was moved in only after being written and synced)
      for (const id of blobFiles(storeDir)) {
        const hex = id.slice(7);
        expect(await computeImageId(join(storeDir, 'blobs', 'sha512', hex.slice(0, 2), hex))).toBe(id);
      }
    }
    expect(progressed).toBeGreaterThan(0);
    // most kills land while an archive is being received (the longest phase); each leaves its temp file
    expect(killedMidPut).toBeGreaterThan(0);
    const store = await openStore(storeDir);
    const report = await store.gc({ gracePeriodMs: 60 * 60 * 1000 });
    expect(report.removedImages).toEqual([]);
    expect(readdirSync(join(storeDir, 'tmp'))).toEqual([]);
    const rows = store
      .list()
      .map((i) => i.id)
      .sort();
    expect(blobFiles(storeDir)).toEqual(rows);
    for (const id of rows) await store.verify(id);
    // the store still takes and serves images
    const { image } = await store.put(files[0] as string);
    expect(store.get(image.id.slice(0, 20)).id).toBe(image.id);
    store.close();
  });
});
