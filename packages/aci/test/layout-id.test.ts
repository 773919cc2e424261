import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build, imageIdOfLayout } from '../src/index.ts';
import { makeTree, manifestText, run, scratch, type TreeNode } from './fixtures.ts';

let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir, cleanup } = await scratch());
});
afterAll(() => cleanup());

describe('imageIdOfLayout (ACI-010, ACI-014)', () => {
  it('ACI-010 is the SHA-512 of the tar a deterministic build writes, for files of every size', async () => {
    // small files are read on the main thread, large ones by the hashing thread, some across 2 MiB blocks
    const sizes = [0, 1, 511, 512, 513, 65_535, 65_536, 65_537, 2 * 1024 * 1024 - 1, 2 * 1024 * 1024];
    sizes.push(2 * 1024 * 1024 + 1, 5 * 1024 * 1024 + 3, 300, 700_000);
    const tree: Record<string, TreeNode> = {
      manifest: manifestText('example.com/sizes'),
      rootfs: { type: 'dir', mode: 0o755 },
    };
    sizes.forEach((n, i) => {
      tree[`rootfs/d${i % 3}/f${String(i).padStart(2, '0')}`] = { contents: randomBytes(n), mode: 0o644 };
    });
    tree['rootfs/d0/link'] = { type: 'symlink', target: 'f00' };
    const layout = join(dir, 'sizes');
    makeTree(layout, tree);
    const out = join(dir, 'sizes.aci');
    const epoch = 1_700_000_000;
    const r = await build(layout, out, { deterministic: true, sourceDateEpoch: epoch, compression: 'none' });
    // hashed here from the file, independently of both code paths
    const expected = `sha512-${createHash('sha512').update(readFileSync(out)).digest('hex')}`;
    expect(r.imageId).toBe(expected);
    const progress: number[] = [];
    const id = await imageIdOfLayout(layout, {
      deterministic: true,
      sourceDateEpoch: epoch,
      onProgress: (n) => progress.push(n),
    });
    expect(id).toBe(expected);
    expect(progress[progress.length - 1]).toBe(r.tarBytes);
  });

  it('ACI-014 entries are in the byte order of their UTF-8 names, with or without characters beyond U+D7FF', async () => {
    for (const [label, names] of [
      ['below U+D800', ['b', 'B', 'a.txt', 'a-b', 'é', 'z', '中', 'Z9', '_']],
      ['beyond', ['b', 'a', '\u{E000}', '\u{1F600}', '\u{FFFD}', 'é', '中', 'A']],
    ] as const) {
      const layout = join(dir, `order-${label}`);
      const tree: Record<string, TreeNode> = { manifest: manifestText('example.com/order') };
      for (const n of names) tree[`rootfs/${n}`] = n;
      makeTree(layout, tree);
      const out = join(dir, `order-${label}.aci`);
      await build(layout, out, { deterministic: true, compression: 'none' });
      const listed = run('tar', ['-tf', out]).toString('utf8').trim().split('\n');
      const expected = [...names]
        .map((n) => `rootfs/${n}`)
        .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      expect(listed).toEqual(['rootfs', ...expected, 'manifest']);
    }
  });

  it('ACI-014 an aborted computation stops with an AbortError and leaves no file open', async () => {
    const layout = join(dir, 'abort');
    makeTree(layout, {
      manifest: manifestText('example.com/abort'),
      'rootfs/a': { contents: randomBytes(3 * 1024 * 1024) },
      'rootfs/b': { contents: randomBytes(3 * 1024 * 1024) },
    });
    const before = readdirSync('/proc/self/fd').length;
    const ac = new AbortController();
    const p = imageIdOfLayout(layout, {
      signal: ac.signal,
      onProgress: (n) => {
        if (n > 1024 * 1024) ac.abort();
      },
    });
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    // the reading thread handed everything back before it was stopped: no file of the tree stays open
    expect(readdirSync('/proc/self/fd').length).toBe(before);
  });
});
