import { randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decompress, gzipParallel } from '../compression.ts';
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
