import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { writeTar } from '@appc/vectors';
import { bench, describe } from 'vitest';
import { computeImageId } from './archive.ts';
import { gzipParallel } from './compression.ts';

// 16 MiB of tar-like, moderately compressible bytes, compressed once
const body = Buffer.alloc(16 * 1024 * 1024);
for (let i = 0; i < body.length; i++)
  body[i] = (i % 512 < 100 ? 65 + (i % 26) : (i * 2654435761) >>> 27) & 0xff;
const raw = writeTar({ entries: [{ name: 'rootfs/blob', contentsBase64: body.toString('base64') }] });
const gz = gzipSync(raw);
const chunks = (b: Buffer) => {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += 256 * 1024) out.push(b.subarray(i, i + 256 * 1024));
  return out;
};

describe('image ID (ACI-010)', () => {
  bench(
    'computeImageId, 16 MiB tar in gzip',
    async () => {
      await computeImageId(Readable.from(chunks(gz)));
    },
    { iterations: 5, time: 0 },
  );
  bench(
    'computeImageId, 16 MiB plain tar',
    async () => {
      await computeImageId(Readable.from(chunks(raw)));
    },
    { iterations: 5, time: 0 },
  );
});

describe('gzip', () => {
  bench(
    'gzipParallel level 6, 16 MiB',
    async () => {
      for await (const _ of gzipParallel(Readable.from(chunks(raw)))) {
        // drain
      }
    },
    { iterations: 3, time: 0 },
  );
});
