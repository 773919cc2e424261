import { existsSync, lstatSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TarHeader } from './tar-reader.ts';
import { Unpacker } from './unpack.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'aci-unpack-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

function header(name: string, type: TarHeader['type'], size = 0): TarHeader {
  return {
    name,
    type,
    typeflag: type === 'dir' ? '5' : '0',
    mode: type === 'dir' ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
    size,
    mtime: 1_600_000_000,
    linkname: '',
    devmajor: 0,
    devminor: 0,
    xattrs: new Map(),
    dialect: 'ustar',
    pax: false,
    offset: 0,
  };
}

const bodyOf = (...chunks: Uint8Array[]) =>
  async function* () {
    yield* chunks;
  };
const noLinks = () => undefined;
const openFds = () => readdirSync('/proc/self/fd').length;

describe('Unpacker and its writer thread (ACI-012)', () => {
  it('ACI-012 writes files of any size in archive order, with modes and times', async () => {
    const u = new Unpacker(root, { replace: 'refuse', xattrs: false });
    const big = Buffer.alloc(5 * 1024 * 1024 + 7, 3);
    await u.put('a/b', header('a/b', 'dir'), bodyOf(), noLinks);
    await u.put(
      'a/b/big',
      header('a/b/big', 'file', big.length),
      bodyOf(big.subarray(0, 100), big.subarray(100)),
      noLinks,
    );
    for (let i = 0; i < 300; i++)
      await u.put(
        `a/f${i}`,
        header(`a/f${i}`, 'file', 4),
        bodyOf(Buffer.from(`f${i}`.padEnd(4, '.'))),
        noLinks,
      );
    await u.finish();
    expect(readFileSync(join(root, 'a/b/big')).equals(big)).toBe(true);
    expect(readFileSync(join(root, 'a/f299'), 'utf8')).toBe('f299');
    expect(readdirSync(join(root, 'a')).length).toBe(301);
  });

  it('ACI-012 a write that fails on the writer thread fails the extraction, and no descriptor is left open', async () => {
    // something the unpacker did not lay down is in the way: O_EXCL refuses to open it
    writeFileSync(join(root, 'taken'), 'not ours');
    const before = openFds();
    const u = new Unpacker(root, { replace: 'refuse', xattrs: false });
    await u.put('taken', header('taken', 'file', 3), bodyOf(Buffer.from('new')), noLinks);
    await expect(u.finish()).rejects.toMatchObject({ code: 'EEXIST' });
    await u.close();
    expect(readFileSync(join(root, 'taken'), 'utf8')).toBe('not ours');
    expect(openFds()).toBe(before);
  });

  it('ACI-012 giving up in the middle of a file stops the writer and closes the file it holds', async () => {
    const before = openFds();
    const u = new Unpacker(root, { replace: 'refuse', xattrs: false });
    const failing = async function* () {
      yield Buffer.alloc(3 * 1024 * 1024, 1);
      throw new Error('the archive ends early');
    };
    await expect(u.put('half', header('half', 'file', 8 * 1024 * 1024), failing, noLinks)).rejects.toThrow(
      'the archive ends early',
    );
    await u.close();
    expect(openFds()).toBe(before);
    await rm(root, { recursive: true, force: true });
    expect(existsSync(root)).toBe(false);
  });

  it('ACI-012 gives every file its mode whatever the umask, and its owner only when creation did not', async () => {
    // open() applies the umask: modes with bits it takes away, and special bits, are set after the data
    const u = new Unpacker(root, { replace: 'refuse', xattrs: false, preserveOwnership: true });
    const modes = [0o644, 0o666, 0o777, 0o400, 0o000, 0o1755, 0o2711, 0o4755];
    const uid = process.geteuid?.() ?? 0;
    const gid = process.getegid?.() ?? 0;
    for (const mode of modes) {
      const h = { ...header(`m${mode.toString(8)}`, 'file', 1), mode, uid, gid };
      await u.put(h.name, h, bodyOf(Buffer.from('x')), noLinks);
    }
    await u.finish();
    for (const mode of modes) {
      const st = lstatSync(join(root, `m${mode.toString(8)}`));
      // the owner is this process's, which may set setuid and setgid (its own group) on it
      expect((st.mode & 0o7777).toString(8), mode.toString(8)).toBe(mode.toString(8));
      expect([st.uid, st.gid]).toEqual([uid, gid]);
    }
  });
});
