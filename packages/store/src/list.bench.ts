import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, bench, describe } from 'vitest';
import { openStore } from './index.ts';

// 1,000 index rows inserted straight into the index (the blobs do not matter to list())
const dir = mkdtempSync(join(tmpdir(), 'appc-store-bench-'));
const store = await openStore(dir, { reconcile: false });
{
  const db = new Database(join(dir, 'index.db'));
  const image = db.prepare(
    `INSERT INTO images (id, name, version, manifest, size_bytes, compression, imported_at, last_used_at)
     VALUES (?, ?, ?, ?, ?, 'gzip', ?, ?)`,
  );
  const label = db.prepare('INSERT INTO labels (image_id, name, value, pos) VALUES (?, ?, ?, ?)');
  db.transaction(() => {
    for (let i = 0; i < 1000; i++) {
      const id = `sha512-${i.toString(16).padStart(8, '0').repeat(16)}`;
      const name = `example.com/app${i % 50}`;
      const labels = [
        { name: 'version', value: `1.${i % 20}.0` },
        { name: 'os', value: 'linux' },
        { name: 'arch', value: i % 2 ? 'amd64' : 'arm64' },
      ];
      const manifest = JSON.stringify({ acKind: 'ImageManifest', acVersion: '0.8.11', name, labels });
      image.run(
        id,
        name,
        labels[0]?.value ?? null,
        manifest,
        10_000 + i,
        1_700_000_000_000 + i,
        1_700_000_000_000 + i,
      );
      labels.forEach((l, pos) => {
        label.run(id, l.name, l.value, pos);
      });
    }
  })();
  db.close();
}

afterAll(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('list() over 1,000 images', () => {
  bench('list(), by import time', () => {
    store.list();
  });
  bench('list({ sort: name }) (SemVer order in JS)', () => {
    store.list({ sort: 'name' });
  });
  bench('list({ name, labels })', () => {
    store.list({ name: 'example.com/app7', labels: { arch: 'amd64' } });
  });
  bench('find({ name }): newest version', () => {
    store.find({ name: 'example.com/app7' });
  });
});
