import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeHeader, padding } from './tar-writer.ts';
import { HashThread, hashTarPieces, type TarPiece } from './tree-hash.ts';

const dir = mkdtempSync(join(tmpdir(), 'aci-tree-hash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// files of sizes around the thresholds and the (small) blocks used below
const sizes = [0, 1, 511, 512, 4095, 4096, 4097, 10_000, 65_535, 65_536, 70_000, 300_000, 1_048_577];
const files = sizes.map((size, i) => {
  const path = join(dir, `f${i}`);
  writeFileSync(path, randomBytes(size));
  return { path, name: `rootfs/f${i}`, size };
});

function pieces(): TarPiece[] {
  const out: TarPiece[] = files.map((f) => ({
    header: { name: f.name, type: 'file', mode: 0o644, uid: 0, gid: 0, size: f.size, mtime: 0 },
    file: f,
    pad: padding(f.size),
  }));
  const data = Buffer.from('{"acKind":"ImageManifest"}');
  out.push({
    head: encodeHeader({
      name: 'manifest',
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: data.length,
      mtime: 0,
    }),
    data,
    pad: padding(data.length),
  });
  out.push({ head: Buffer.alloc(1024), pad: 0 });
  return out;
}

function expected(): string {
  const h = createHash('sha512');
  for (const p of pieces()) {
    h.update(p.head ?? encodeHeader(p.header as NonNullable<TarPiece['header']>));
    if (p.file) h.update(readFileSync(p.file.path));
    if (p.data) h.update(p.data);
    h.update(Buffer.alloc(p.pad));
  }
  return h.digest('hex');
}

const shrank = (name: string) => Object.assign(new Error(`${name} shrank`), { code: 'SHRANK' });

describe('hashTarPieces (ACI-010)', () => {
  const want = expected();
  it.each([
    ['this thread reads every file', { mainReadBytes: Number.POSITIVE_INFINITY }],
    ['the worker reads every file', { mainReadBytes: 0, busyBlocks: Number.POSITIVE_INFINITY }],
    ['the split follows the worker', { mainReadBytes: 0, busyBlocks: 1 }],
    ['the default split', {}],
  ])('gives the SHA-512 of the stream: %s, with blocks of 1 MiB and of 4 KiB', async (_, split) => {
    expect(await hashTarPieces(pieces(), { shrank, ...split })).toBe(want);
    const thread = new HashThread({ blockBytes: 4096, slots: 2 });
    try {
      expect(await hashTarPieces(pieces(), { shrank, thread, ...split })).toBe(want);
      // the thread is ready for another computation once one succeeded
      expect(await hashTarPieces(pieces(), { shrank, thread, ...split })).toBe(want);
    } finally {
      await thread.close();
    }
  });

  it('reports a file that shrank or vanished, read on either thread, and leaves no file open', async () => {
    const before = readdirSync('/proc/self/fd').length;
    const small = join(dir, 'shrinks');
    writeFileSync(small, randomBytes(8192));
    const piece = (size: number): TarPiece => ({
      header: { name: 'rootfs/shrinks', type: 'file', mode: 0o644, uid: 0, gid: 0, size, mtime: 0 },
      file: { path: small, name: 'rootfs/shrinks', size },
      pad: padding(size),
    });
    truncateSync(small, 100);
    for (const split of [
      { mainReadBytes: Number.POSITIVE_INFINITY },
      { mainReadBytes: 0, busyBlocks: Number.POSITIVE_INFINITY },
    ])
      await expect(hashTarPieces([...pieces(), piece(8192)], { shrank, ...split })).rejects.toMatchObject({
        code: 'SHRANK',
      });
    const gone: TarPiece = {
      ...piece(8192),
      file: { path: join(dir, 'missing'), name: 'rootfs/missing', size: 8192 },
    };
    for (const split of [
      { mainReadBytes: Number.POSITIVE_INFINITY },
      { mainReadBytes: 0, busyBlocks: Number.POSITIVE_INFINITY },
    ])
      await expect(hashTarPieces([gone], { shrank, ...split })).rejects.toMatchObject({ code: 'ENOENT' });
    expect(readdirSync('/proc/self/fd').length).toBe(before);
  });
});
