import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { cleanPath, placeEntryName } from './paths.ts';
import { parseNumeric, readTar } from './tar-reader.ts';
import { END_BLOCKS, encodeHeader, padding } from './tar-writer.ts';

describe('entry names (ACI-002, ACI-012)', () => {
  it.each([
    ['./rootfs/a/', 'rootfs/a'],
    ['rootfs//a/./b', 'rootfs/a/b'],
    ['rootfs/a/../b', 'rootfs/b'],
    ['', '.'],
    ['/a/../..', '/'],
    ['../a', '../a'],
  ])('cleanPath(%j) is %j', (input, want) => expect(cleanPath(input)).toBe(want));
  it.each([
    ['/rootfs/a', 'absolute'],
    ['../x', 'climbs'],
    ['rootfs/../../x', 'leaves-rootfs'],
    ['a/../../x', 'climbs'],
    ['rootfs/../x', 'leaves-rootfs'],
    ['rootfs/a\0b', 'nul'],
  ])('placeEntryName(%j) refuses: %s', (input, reason) =>
    expect(placeEntryName(input)).toEqual({ ok: false, reason }),
  );
  it('accepts names that stay inside', () => {
    expect(placeEntryName('rootfs/a/../b')).toEqual({ ok: true, path: 'rootfs/b' });
    expect(placeEntryName('./manifest')).toEqual({ ok: true, path: 'manifest' });
  });
});

describe('tar header round trip (ACI-015)', () => {
  it('parses octal and GNU base-256 numbers', () => {
    const b = Buffer.alloc(12);
    b.write('0000644 \0');
    expect(parseNumeric(b, 0, 8)).toBe(0o644);
    const big = Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0]);
    expect(parseNumeric(big, 0, 12)).toBe(2 * 2 ** 32);
    expect(Number.isNaN(parseNumeric(Buffer.from('12x4567\0'), 0, 8))).toBe(true);
  });

  it('writes what it reads back, with PAX records where USTAR fields are too small, and GNU tar agrees', async () => {
    const long = `rootfs/${'d'.repeat(120)}/${'f'.repeat(120)}`;
    const entries = [
      { name: 'rootfs', type: 'dir' as const, mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 1 },
      {
        name: long,
        type: 'file' as const,
        mode: 0o4755,
        uid: 3_000_000,
        gid: 7,
        uname: 'u'.repeat(40),
        size: 3,
        mtime: 2 ** 34,
        xattrs: new Map([['user.k', Buffer.from('v=1\n')]]),
      },
      {
        name: 'rootfs/l',
        type: 'symlink' as const,
        mode: 0o777,
        uid: 0,
        gid: 0,
        size: 0,
        mtime: 5,
        linkname: `/${'t'.repeat(200)}`,
      },
    ];
    const parts: Buffer[] = [];
    for (const e of entries) {
      parts.push(encodeHeader(e));
      if (e.type === 'file') parts.push(Buffer.from('abc'), Buffer.alloc(padding(3)));
    }
    parts.push(END_BLOCKS);
    const tar = Buffer.concat(parts);
    const got = [];
    for await (const e of readTar(Readable.from([tar])))
      got.push({ ...e.header, data: (await e.bytes(100)).toString() });
    expect(got.map((h) => h.name)).toEqual(entries.map((e) => e.name));
    expect(got[1]).toMatchObject({
      mode: 0o4755,
      uid: 3_000_000,
      gid: 7,
      uname: 'u'.repeat(40),
      mtime: 2 ** 34,
      data: 'abc',
    });
    expect(got[1]?.xattrs.get('user.k')?.toString()).toBe('v=1\n');
    expect(got[2]?.linkname).toBe(`/${'t'.repeat(200)}`);
    const listing = spawnSync('tar', ['-tvf', '-', '--numeric-owner'], { input: tar }).stdout.toString();
    expect(listing).toContain(long);
    expect(listing).toContain('3000000/7');
  });
});
