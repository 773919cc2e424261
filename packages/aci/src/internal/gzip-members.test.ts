import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { writeTar } from '@appc/vectors';
import { describe, expect, it } from 'vitest';
import { scratch } from '../../test/fixtures.ts';
import { openAci } from '../archive.ts';
import { decompress, gzipParallel, openDecompressed } from '../compression.ts';
import { encodeIndexedMember, indexedMemberLength, MAX_INDEXED_MEMBER_BYTES } from './gzip-members.ts';

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of it) out.push(Buffer.from(c));
  return Buffer.concat(out);
}
async function* once(b: Buffer, piece = 7777): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < b.length; i += piece) yield b.subarray(i, i + piece);
}
const data = Buffer.concat([Buffer.from('text '.repeat(300_000)), randomBytes(600_000)]);

describe('indexed gzip members (ACI-006, ACI-014)', () => {
  it('are one valid gzip file for zlib, and inflate back in parallel to the same bytes', async () => {
    const gz = await collect(gzipParallel(once(data), { chunkBytes: 256 * 1024 }));
    expect(indexedMemberLength(gz)).toBeGreaterThan(0);
    expect(gunzipSync(gz).equals(data)).toBe(true);
    expect((await collect(decompress(once(gz), 'gzip'))).equals(data)).toBe(true);
  });

  it('reads indexed members followed by an ordinary gzip member', async () => {
    const gz = Buffer.concat([
      await collect(gzipParallel(once(data), { chunkBytes: 256 * 1024 })),
      gzipSync(Buffer.from('tail')),
    ]);
    const out = await collect(decompress(once(gz), 'gzip'));
    expect(out.equals(Buffer.concat([data, Buffer.from('tail')]))).toBe(true);
  });

  it('refuses a damaged member and a file cut inside a member, with the archive codes', async () => {
    const gz = await collect(gzipParallel(once(data), { chunkBytes: 256 * 1024 }));
    const damaged = Buffer.from(gz);
    const at = (indexedMemberLength(gz) ?? 0) + 100;
    damaged.writeUInt8(damaged.readUInt8(at) ^ 0xff, at);
    await expect(collect(decompress(once(damaged), 'gzip'))).rejects.toMatchObject({
      code: 'ERR_ACI_BAD_COMPRESSION',
    });
    await expect(collect(decompress(once(gz.subarray(0, gz.length - 1000)), 'gzip'))).rejects.toMatchObject({
      code: expect.stringMatching(/^ERR_ACI_(TRUNCATED|BAD_COMPRESSION)$/),
    });
  });

  it('bounds what a hostile member may claim: a huge length or a bomb is refused, never buffered whole', async () => {
    const member = await encodeIndexedMember(Buffer.alloc(1 << 20), 6);
    const lying = Buffer.from(member);
    lying.writeUInt32LE(MAX_INDEXED_MEMBER_BYTES + 1, 16);
    expect(indexedMemberLength(lying)).toBeUndefined();
    // a member whose zeros inflate past the bound: 20 MiB of zeros deflate to about 20 KiB
    const bomb = await encodeIndexedMember(Buffer.alloc(20 * 1024 * 1024), 9);
    await expect(collect(decompress(once(bomb), 'gzip'))).rejects.toMatchObject({
      code: 'ERR_ACI_BAD_COMPRESSION',
    });
    const trailerLies = Buffer.from(member);
    trailerLies.writeUInt32LE(0xffffffff, trailerLies.length - 4);
    await expect(collect(decompress(once(trailerLies), 'gzip'))).rejects.toMatchObject({
      code: 'ERR_ACI_BAD_COMPRESSION',
    });
  });
});

describe('indexed gzip members read from a file, into reused buffers (ACI-006, ACI-010)', () => {
  // members of 1 MiB (what build writes), the last one shorter
  const big = Buffer.concat([Buffer.from('line of text\n'.repeat(200_000)), randomBytes(1_500_000)]);

  it('give the same bytes as the streaming reader, with and without reused chunks, and any tail after them', async () => {
    const { dir, cleanup } = await scratch();
    try {
      const gz = await collect(gzipParallel(once(big, 65536)));
      const file = join(dir, 'a.gz');
      await writeFile(file, gz);
      for (const reuseChunks of [false, true]) {
        const { compression, stream } = await openDecompressed(file, { reuseChunks });
        expect(compression).toBe('gzip');
        expect((await collect(stream)).equals(big)).toBe(true);
      }
      // an ordinary member after the indexed ones is read from its offset by the streaming gunzip
      const tailed = join(dir, 'b.gz');
      await writeFile(tailed, Buffer.concat([gz, gzipSync(Buffer.from('tail'))]));
      const { stream } = await openDecompressed(tailed, { reuseChunks: true });
      expect((await collect(stream)).equals(Buffer.concat([big, Buffer.from('tail')]))).toBe(true);
    } finally {
      await cleanup();
    }
  });

  it('refuse a file cut inside a member, cut after a member, or with a damaged member, with the archive codes', async () => {
    const { dir, cleanup } = await scratch();
    try {
      const gz = await collect(gzipParallel(once(big, 65536)));
      const first = indexedMemberLength(gz) ?? 0;
      const cases: [string, Buffer, RegExp][] = [
        ['cut-inside', gz.subarray(0, first + 5000), /^ERR_ACI_(TRUNCATED|BAD_COMPRESSION)$/],
        ['cut-header', gz.subarray(0, first + 10), /^ERR_ACI_(TRUNCATED|BAD_COMPRESSION)$/],
        ['garbage', Buffer.concat([gz, Buffer.from('not gzip at all')]), /^ERR_ACI_BAD_COMPRESSION$/],
      ];
      const damaged = Buffer.from(gz);
      damaged.writeUInt8(damaged.readUInt8(first + 100) ^ 0xff, first + 100);
      cases.push(['damaged', damaged, /^ERR_ACI_BAD_COMPRESSION$/]);
      for (const [name, bytes, code] of cases) {
        const file = join(dir, `${name}.gz`);
        await writeFile(file, bytes);
        const { stream } = await openDecompressed(file, { reuseChunks: true });
        await expect(collect(stream), name).rejects.toMatchObject({ code: expect.stringMatching(code) });
      }
    } finally {
      await cleanup();
    }
  });

  it('refuse a member whose trailer claims less than it inflates to, into a reused buffer or not', async () => {
    const { dir, cleanup } = await scratch();
    try {
      // 1 MiB of text whose trailer says 1,000 bytes: a reused 1 MiB buffer would take it, so the count decides
      const member = await encodeIndexedMember(Buffer.from('x'.repeat(1024 * 1024)), 6);
      const lying = Buffer.from(member);
      lying.writeUInt32LE(1000, lying.length - 4);
      const file = join(dir, 'lying.gz');
      await writeFile(file, lying);
      for (const reuseChunks of [false, true]) {
        const { stream } = await openDecompressed(file, { reuseChunks });
        await expect(collect(stream)).rejects.toMatchObject({ code: 'ERR_ACI_BAD_COMPRESSION' });
        await expect(collect(decompress(once(lying), 'gzip', { reuseChunks }))).rejects.toMatchObject({
          code: 'ERR_ACI_BAD_COMPRESSION',
        });
      }
    } finally {
      await cleanup();
    }
  });

  it('keep entry bytes whole when chunks are reused: a file spanning several members reads back intact', async () => {
    const { dir, cleanup } = await scratch();
    try {
      const data = randomBytes(3 * 1024 * 1024 + 12345);
      const tar = writeTar({
        entries: [
          { name: 'manifest', contents: '{}' },
          { name: 'rootfs', type: 'dir' },
          { name: 'rootfs/big', contentsBase64: data.toString('base64') },
        ],
      });
      const file = join(dir, 'x.aci');
      await writeFile(file, await collect(gzipParallel(once(Buffer.from(tar), 65536))));
      const archive = openAci(file, { reuseChunks: true });
      let got: Buffer | undefined;
      for await (const e of archive) if (e.path === 'rootfs/big') got = await e.bytes(data.length);
      expect(got?.equals(data)).toBe(true);
      expect(archive.imageId).toBe(`sha512-${createHash('sha512').update(tar).digest('hex')}`);
    } finally {
      await cleanup();
    }
  });
});
