// Files named on the command line (keys, signatures, passphrases, manifests, env files) are read with a bound.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSmallFile } from '../src/args.ts';

const dir = mkdtempSync(join(tmpdir(), 'appc-args-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tooLarge = (size: number) => new Error(`too large: ${size}`);

describe('readSmallFile', () => {
  it('stops a device that never ends at the bound, reading no more than one byte past it', async () => {
    await expect(readSmallFile('/dev/zero', 100_000, tooLarge)).rejects.toThrow('too large: 100001');
  });

  it('reads a pipe given a few bytes at a time whole, holding only what it gave (not a buffer per read)', async () => {
    const fifo = join(dir, 'slow.fifo');
    execFileSync('mkfifo', [fifo]);
    const writes = 2000;
    const writer = (async () => {
      const fh = await open(fifo, 'w');
      for (let i = 0; i < writes; i++) {
        await fh.write(`line ${String(i).padStart(5, '0')}\n`);
        // let the reader take each piece on its own
        if (i % 50 === 0) await new Promise((r) => setImmediate(r));
      }
      await fh.close();
    })();
    const before = process.memoryUsage().arrayBuffers;
    const bytes = await readSmallFile(fifo, 64 * 1024 * 1024, tooLarge);
    const grown = process.memoryUsage().arrayBuffers - before;
    await writer;
    const lines = bytes.toString('utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(writes);
    expect(lines[writes - 1]).toBe(`line ${String(writes - 1).padStart(5, '0')}`);
    // a fresh 64 KiB buffer kept per read would have been over 100 MiB here
    expect(grown).toBeLessThan(16 * 1024 * 1024);
  });

  it('names the file when it cannot be read', async () => {
    await expect(readSmallFile(dir, 1024, tooLarge)).rejects.toMatchObject({ code: 'EISDIR', path: dir });
  });
});
