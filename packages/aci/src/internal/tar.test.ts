import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { cleanPath, placeEntryName } from './paths.ts';
import { parseNumeric, readTar } from './tar-reader.ts';
import { END_BLOCKS, encodeHeader, encodeUstarInto, padding, type TarWriteHeader } from './tar-writer.ts';

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

describe('encodeUstarInto (ACI-014)', () => {
  const base: TarWriteHeader = {
    name: 'rootfs/a',
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: 0,
    mtime: 0,
  };
  const cases: [string, TarWriteHeader][] = [
    ['a plain file', { ...base, size: 12_345, mtime: 1_700_000_000, uid: 1000, gid: 100 }],
    ['setuid and sticky bits', { ...base, mode: 0o7755 }],
    [
      'largest octal numbers',
      { ...base, size: 0o77777777777, mtime: 0o77777777777, uid: 0o7777777, gid: 0o7777777 },
    ],
    ['a symlink', { ...base, type: 'symlink', linkname: '../lib/x.so.1' }],
    ['a hard link', { ...base, type: 'hardlink', linkname: 'rootfs/b' }],
    ['a directory', { ...base, type: 'dir', mode: 0o755 }],
    ['a device', { ...base, type: 'char', devmajor: 4095, devminor: 1_048_575 }],
    ['a fifo', { ...base, type: 'fifo' }],
    ['names', { ...base, uname: 'user', gname: 'group' }],
    ['32-byte names', { ...base, uname: 'u'.repeat(32), gname: 'g'.repeat(32) }],
    ['a 100-byte name', { ...base, name: `rootfs/${'n'.repeat(93)}` }],
    ['multi-byte characters', { ...base, name: 'rootfs/é/中/\u{1F600}', linkname: 'ü' }],
  ];
  it.each(cases)('writes the bytes encodeHeader gives: %s', (_, h) => {
    const target = Buffer.alloc(2048, 0xaa);
    expect(encodeUstarInto(h, target, 512)).toBe(true);
    expect(target.subarray(512, 1024)).toEqual(encodeHeader(h));
    // nothing outside its block
    expect(target.subarray(0, 512).every((b) => b === 0xaa)).toBe(true);
    expect(target.subarray(1024).every((b) => b === 0xaa)).toBe(true);
  });
  const pax: [string, TarWriteHeader][] = [
    ['a name past 100 bytes (prefix field)', { ...base, name: `rootfs/${'n'.repeat(94)}` }],
    ['a name past 256 bytes', { ...base, name: `rootfs/${'n'.repeat(250)}` }],
    ['a long link', { ...base, type: 'symlink', linkname: 'l'.repeat(101) }],
    ['a size past 8 GiB', { ...base, size: 0o100000000000 }],
    ['a negative mtime', { ...base, mtime: -1 }],
    ['a large uid', { ...base, uid: 0o10000000 }],
    ['a long user name', { ...base, uname: 'u'.repeat(33) }],
    ['xattrs', { ...base, xattrs: new Map([['user.a', Buffer.from('b')]]) }],
  ];
  it.each(pax)('leaves prefixes and PAX records to encodeHeader: %s', (_, h) => {
    const target = Buffer.alloc(512, 0xaa);
    expect(encodeUstarInto(h, target, 0)).toBe(false);
    expect(target.every((b) => b === 0xaa)).toBe(true);
  });
});
