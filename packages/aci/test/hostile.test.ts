import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { hasCode } from '@appc/schema';
import { writeTar } from '@appc/vectors';
import { describe, expect, it } from 'vitest';
import { computeImageId, openAci, readManifest, validateArchive } from '../src/index.ts';
import { imageEntries, manyEmptyEntries } from './fixtures.ts';

function once(...chunks: Uint8Array[]): AsyncIterable<Uint8Array> {
  return Readable.from(chunks);
}

/** A header block claiming `size` bytes of typeflag `type`, with a correct checksum. */
function rawHeader(name: string, type: string, size: number): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0);
  b.write('0000644\0', 100);
  b.write('0000000\0', 108);
  b.write('0000000\0', 116);
  b.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  b.write('00000000000\0', 136);
  b.write(type, 156);
  b.write('ustar\u000000', 257);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const c of b) sum += c;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return b;
}

describe('hostile archives: clear errors, bounded memory, no hang (ACI-015)', () => {
  it('ACI-015 a million empty entries stream through in bounded memory', { timeout: 60_000 }, async () => {
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 50);
    const hash = createHash('sha512');
    async function* teed() {
      for await (const c of manyEmptyEntries(1_000_000)) {
        hash.update(c);
        yield c;
      }
    }
    const r = await validateArchive(teed(), { file: 'million.aci' });
    clearInterval(timer);
    expect(r.issues).toEqual([]);
    expect(r.imageId).toBe(`sha512-${hash.digest('hex')}`);
    // the names seen are kept for the duplicate check (about 60 bytes each); the data itself is never held
    expect(peak - before).toBeLessThan(400 * 1024 * 1024);
  });

  it('ACI-003 a million copies of one name are reported, the list capped', { timeout: 60_000 }, async () => {
    const r = await validateArchive(manyEmptyEntries(200_000, true), { file: 'same.aci' });
    expect(r.issues.length).toBe(1001);
    expect(r.issues[0]?.code).toBe('ERR_ACI_DUPLICATE_ENTRY');
    expect(r.issues[1000]?.code).toBe('ERR_ACI_LIMIT');
    expect(r.issues[1000]?.message).toContain('198999 more');
  });

  it('ACI-015 a declared size of 8 GiB in a tiny file ends with ERR_ACI_TRUNCATED at once', async () => {
    const tar = Buffer.concat([
      writeTar({ entries: imageEntries(), noEndBlocks: true }),
      rawHeader('rootfs/big', '0', 0o77777777777),
      Buffer.from('x'),
    ]);
    const r = await validateArchive(once(tar), { file: 'big.aci' });
    expect(r.issues.map((i) => i.code)).toEqual(['ERR_ACI_TRUNCATED']);
    expect(r.issues[0]?.message).toContain('rootfs/big');
    expect(r.imageId).toBeUndefined();
  });

  it('ACI-015 a PAX header declaring 1 GiB is refused before it is read', async () => {
    const tar = Buffer.concat([rawHeader('PaxHeader/x', 'x', 1024 * 1024 * 1024), Buffer.alloc(512)]);
    const r = await validateArchive(once(tar), { file: 'pax.aci' });
    expect(r.issues.map((i) => i.code)).toEqual(['ERR_ACI_LIMIT']);
  });

  it('ACI-015 a GNU long name of 1 MiB is refused', async () => {
    const tar = Buffer.concat([rawHeader('././@LongLink', 'L', 1024 * 1024), Buffer.alloc(1024 * 1024)]);
    const r = await validateArchive(once(tar), { file: 'long.aci' });
    expect(r.issues.map((i) => i.code)).toEqual(['ERR_ACI_LIMIT']);
  });

  it('ACI-015 an archive that is only a zero block followed by garbage is damaged', async () => {
    const r = await validateArchive(once(Buffer.concat([Buffer.alloc(512), Buffer.alloc(512, 1)])), {
      file: 'z.aci',
    });
    expect(r.issues.map((i) => i.code)).toEqual(['ERR_ACI_BAD_TAR_HEADER']);
  });

  it('ACI-015 random damage to a valid archive never crashes: a verdict or an AciError every time', async () => {
    const good = writeTar({
      entries: imageEntries([
        { name: 'rootfs/a', contents: 'hello world' },
        { name: `rootfs/${'x'.repeat(150)}`, contents: 'y' },
        { name: 'rootfs/s', type: 'symlink', linkname: 'a' },
      ]),
      format: 'pax',
    });
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let i = 0; i < 300; i++) {
      const bad = Buffer.from(good);
      const flips = 1 + (rand() % 8);
      for (let j = 0; j < flips; j++) bad[rand() % bad.length] = rand() & 0xff;
      const cut = rand() % 3 === 0 ? bad.subarray(0, rand() % bad.length) : bad;
      const r = await validateArchive(once(cut), { file: `fuzz-${i}.aci` });
      for (const issue of r.issues) expect(issue.code).toMatch(/^(ERR|WARN)_/);
      await readManifest(once(cut)).catch((e: unknown) => expect(hasCode(e)).toBe(true));
    }
  });

  it('ACI-010 the image ID covers every byte, trailing data after the end blocks included', async () => {
    const tar = Buffer.concat([writeTar({ entries: imageEntries() }), Buffer.alloc(9216)]);
    const want = `sha512-${createHash('sha512').update(tar).digest('hex')}`;
    expect(await computeImageId(once(tar))).toBe(want);
    expect((await validateArchive(once(tar))).imageId).toBe(want);
    const archive = openAci(once(tar));
    for await (const _ of archive) {
      // read every entry
    }
    expect(archive.imageId).toBe(want);
  });
});
