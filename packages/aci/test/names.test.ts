// Names that are not UTF-8 (Latin-1 ones, as GNU tar and Python's tarfile write them): read, judged, extracted
// and built as the bytes they are, never merged into one another by a lossy decoding (ACI-003, ACI-012, ACI-015).
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeTar } from '@appc/vectors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build, extract, imageIdOfLayout, validateArchive } from '../src/index.ts';
import { decodeName, displayName, encodeName } from '../src/internal/names.ts';
import { manifestText, scratch, xattrsSupported } from './fixtures.ts';

let dir: string;
let cleanup: () => Promise<void>;
let layout: string;

const latin1 = (s: string) => Buffer.from(s, 'latin1');
/** Path under `root` made of text and raw bytes. */
const at = (root: string, ...parts: (string | Buffer)[]) =>
  Buffer.concat([Buffer.from(`${root}/`), ...parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p))]);

/** Every entry under `root` as GNU find prints it, bytes as they are: path, type, link target, size, mode. */
function listing(root: string): string[] {
  return execFileSync('find', ['.', '-printf', '%P\\t%y\\t%l\\t%s\\t%m\\0'], { cwd: root })
    .toString('latin1')
    .split('\0')
    .filter((l) => l !== '' && !/^\t/.test(l))
    .map((l) => (/\td\t/.test(l) ? l.replace(/\t\d+\t(\d+)$/, '\t-\t$1') : l))
    .sort();
}

beforeAll(async () => {
  ({ dir, cleanup } = await scratch('aci-names-'));
  layout = join(dir, 'layout');
  mkdirSync(join(layout, 'rootfs', 'etc'), { recursive: true });
  writeFileSync(join(layout, 'manifest'), manifestText('example.com/latin1'));
  const r = join(layout, 'rootfs');
  // two names that a lossy UTF-8 decoding would both read as "caf\uFFFD"
  writeFileSync(at(r, 'caf', latin1('\xe9')), 'e acute\n');
  writeFileSync(at(r, 'caf', latin1('\xe8')), 'e grave\n');
  writeFileSync(at(r, 'caf\u00e9-utf8'), 'utf-8\n');
  // a long one (PAX path record) and a directory
  mkdirSync(at(r, latin1('r\xe9pertoire')));
  writeFileSync(at(r, latin1('r\xe9pertoire/'), `${'n'.repeat(120)}-`, latin1('\xff')), 'long\n');
  // a symlink whose target is not UTF-8, a hard link to a file whose name is not
  symlinkSync(latin1('caf\xe9'), at(r, 'etc/link'));
  linkSync(at(r, 'caf', latin1('\xe9')), at(r, 'etc/hard'));
});
afterAll(() => cleanup());

describe('names that are not UTF-8 (ACI-003, ACI-015)', () => {
  it('decodeName and encodeName give back every byte string, and tell bytes apart that UTF-8 cannot read', () => {
    const cases = [
      'caf\u00e9',
      [0x63, 0x61, 0x66, 0xe9],
      [0x63, 0x61, 0x66, 0xe8],
      [0xff, 0xfe],
      [0xc0, 0xaf], // overlong "/"
      [0xed, 0xa0, 0x80], // an encoded surrogate
      [0xe2, 0x82], // cut short
      [0xf0, 0x90, 0x82, 0x80], // U+10080: a pair whose low half is in U+DC80..U+DCFF
      [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
      [0x61, 0xff, 0xe2, 0x82, 0xac, 0x62],
    ].map((c) => (typeof c === 'string' ? Buffer.from(c) : Buffer.from(c)));
    const names = cases.map((c) => decodeName(c));
    expect(new Set(names).size).toBe(cases.length);
    for (const [i, c] of cases.entries()) expect(encodeName(names[i] as string).equals(c)).toBe(true);
    expect(decodeName(Buffer.from([0xf0, 0x90, 0x82, 0x80]))).toBe('\u{10080}');
    expect(decodeName(Buffer.from([0x63, 0xe9]))).toBe('c\udce9');
  });

  it('ACI-003 the same name twice is still a duplicate, and the message shows the byte as \\xE9', async () => {
    expect(displayName('caf\udce9/\u{10080}')).toBe('caf\\xE9/\u{10080}');
    const tar = writeTar({
      entries: [
        { name: 'manifest', contents: manifestText('example.com/twice') },
        { name: 'rootfs', type: 'dir' },
        { name: 'rootfs/caf\udce9', contents: 'one' },
        { name: 'rootfs/caf\udce9', contents: 'two' },
      ],
    });
    const { issues } = await validateArchive(tar);
    expect(issues).toEqual([
      expect.objectContaining({
        code: 'ERR_ACI_DUPLICATE_ENTRY',
        message: expect.stringContaining('"rootfs/caf\\xE9"'),
      }),
    ]);
  });

  for (const format of ['gnu', 'pax', 'ustar'] as const) {
    it(`ACI-015 a GNU tar --format=${format} archive: valid, and extracted to the same bytes as GNU tar's`, async () => {
      const aci = join(dir, `gnu-${format}.aci`);
      // USTAR cannot hold the long name (its last part is over 100 bytes): that directory stays out
      execFileSync(
        'tar',
        [
          '-c',
          `--format=${format}`,
          ...(format === 'ustar' ? ['--exclude=r?pertoire'] : []),
          '-z',
          '-f',
          aci,
          '-C',
          layout,
          'manifest',
          'rootfs',
        ],
        { env: { ...process.env, LC_ALL: 'C' } },
      );
      const result = await validateArchive(aci);
      expect(result.issues).toEqual([]);
      const ours = join(dir, `ours-${format}`);
      const theirs = join(dir, `theirs-${format}`);
      await extract(aci, ours);
      mkdirSync(theirs);
      execFileSync('tar', ['-x', '-z', '-f', aci, '-C', theirs]);
      expect(listing(ours)).toEqual(listing(theirs));
      expect(listing(join(ours, 'rootfs'))).toContain('caf\xe9\tf\t\t8\t644');
    });
  }

  it("ACI-015 Python tarfile's PAX (hdrcharset=BINARY) and GNU archives: valid, extracted byte for byte", async () => {
    for (const format of ['PAX_FORMAT', 'GNU_FORMAT']) {
      const aci = join(dir, `py-${format}.aci`);
      execFileSync('python3', [
        '-c',
        `import tarfile, os
os.chdir(${JSON.stringify(layout)})
with tarfile.open(${JSON.stringify(aci)}, 'w:gz', format=tarfile.${format}) as t:
    t.add('manifest')
    t.add('rootfs')`,
      ]);
      expect((await validateArchive(aci)).issues).toEqual([]);
      const ours = join(dir, `ours-py-${format}`);
      const theirs = join(dir, `theirs-py-${format}`);
      await extract(aci, ours);
      mkdirSync(theirs);
      execFileSync('tar', ['-x', '-z', '-f', aci, '-C', theirs], { stdio: ['ignore', 'ignore', 'ignore'] });
      expect(listing(ours)).toEqual(listing(theirs));
    }
  });

  it('ACI-014 build keeps the bytes: GNU tar extracts the image to the tree it was built from; the layout ID is the build ID', async () => {
    const aci = join(dir, 'built.aci');
    const built = await build(layout, aci, { deterministic: true });
    expect(await imageIdOfLayout(layout, { deterministic: true })).toBe(built.imageId);
    expect((await validateArchive(aci)).imageId).toBe(built.imageId);
    const theirs = join(dir, 'built-theirs');
    mkdirSync(theirs);
    execFileSync('tar', ['-x', '-z', '-f', aci, '-C', theirs], { stdio: ['ignore', 'ignore', 'ignore'] });
    const source = listing(join(layout, 'rootfs'));
    expect(listing(join(theirs, 'rootfs'))).toEqual(source);
    expect(source).toContain('etc/link\tl\tcaf\xe9\t4\t777');
    const ours = join(dir, 'built-ours');
    await extract(aci, ours);
    expect(listing(join(ours, 'rootfs'))).toEqual(source);
    if (xattrsSupported(dir)) {
      // an extended attribute of a file whose name is not UTF-8 (getfattr escapes the name's bytes)
      const sh = (cwd: string, cmd: string) => execFileSync('sh', ['-c', cmd], { cwd }).toString();
      sh(join(layout, 'rootfs'), `setfattr -n user.accent -v grave "caf$(printf '\\350')"`);
      const again = join(dir, 'built-xattr.aci');
      const withAttr = await build(layout, again, { deterministic: true });
      expect(await imageIdOfLayout(layout, { deterministic: true })).toBe(withAttr.imageId);
      expect(withAttr.imageId).not.toBe(built.imageId);
      const back = join(dir, 'built-xattr');
      await extract(again, back);
      expect(sh(join(back, 'rootfs'), `getfattr --only-values -n user.accent "caf$(printf '\\350')"`)).toBe(
        'grave',
      );
    }
    // the long name went into a PAX record marked as bytes
    const tar = execFileSync('tar', ['-t', '--quoting-style=literal', '-z', '-f', aci], {
      env: { ...process.env, LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString('latin1')
      .split('\n');
    expect(tar.some((l) => l.includes(`r\xe9pertoire/${'n'.repeat(120)}-\xff`))).toBe(true);
  });
});
