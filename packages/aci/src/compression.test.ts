import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { writeTar } from '@appc/vectors';
import { describe, expect, it } from 'vitest';
import { detectCompression, gzipParallel, sniffFileKind } from './compression.ts';

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of source) parts.push(c);
  return Buffer.concat(parts);
}

describe('detectCompression (ACI-006, ACI-007)', () => {
  const tar = writeTar({ entries: [{ name: 'manifest', contents: '{}' }] });
  const v7 = writeTar({ entries: [{ name: 'manifest', contents: '{}' }], format: 'v7' });
  const cases: [string, Uint8Array, string][] = [
    ['gzip', gzipSync(tar), 'gzip'],
    ['bzip2 magic', Buffer.from('BZh91AY&SY'), 'bzip2'],
    ['xz magic', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0, 4]), 'xz'],
    ['ustar', tar, 'none'],
    ['v7 tar (no magic, valid checksum)', v7, 'none'],
    ['v7 tar with a damaged checksum', Buffer.concat([Buffer.from('x'), v7.subarray(1)]), 'unknown'],
    ['gpg -c (old-format SKESK packet)', Buffer.from([0x8c, 0x0d, 0x04, 0x09, 0x03, 0x02]), 'openpgp'],
    ['new-format SKESK packet', Buffer.from([0xc3, 0x0d, 0x04, 0x09]), 'openpgp'],
    ['ASCII armor', Buffer.from('-----BEGIN PGP MESSAGE-----\n\njA0ECQMC'), 'openpgp'],
    ['JSON text', Buffer.from('{"acKind":"ImageManifest"}'), 'unknown'],
    ['empty', Buffer.alloc(0), 'unknown'],
  ];
  it.each(cases)('ACI-006 %s', (_name, bytes, want) => {
    expect(detectCompression(bytes)).toBe(want);
  });
  it('ACI-016 sniffs text apart from junk', () => {
    expect(sniffFileKind(Buffer.from('{"acKind":"ImageManifest"}'))).toBe('text');
    expect(sniffFileKind(Buffer.from([0xff, 0xfe, 0, 1]))).toBe('unknown');
    expect(sniffFileKind(tar)).toBe('tar');
  });
});

describe('gzipParallel', () => {
  const data = Buffer.alloc(3 * 1024 * 1024 + 12345);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 10)) & 0xff;
  it('writes a multi-member gzip that zlib and gunzip read back whole, the same bytes every time', async () => {
    const chunks = [];
    for (let i = 0; i < data.length; i += 100_000) chunks.push(data.subarray(i, i + 100_000));
    const a = await collect(gzipParallel(Readable.from(chunks), { concurrency: 3 }));
    const b = await collect(gzipParallel(Readable.from([data]), { concurrency: 1 }));
    expect(a.equals(b)).toBe(true);
    expect(gunzipSync(a).equals(data)).toBe(true);
    const r = spawnSync('gzip', ['-dc'], { input: a, maxBuffer: 1 << 26 });
    expect(r.status).toBe(0);
    expect(r.stdout.equals(data)).toBe(true);
  });
  it('writes a valid empty gzip for empty input', async () => {
    expect(gunzipSync(await collect(gzipParallel(Readable.from([])))).length).toBe(0);
  });
});
