import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extract, validateArchive } from '../src/index.ts';
import { makeTree, manifestText, scratch, snapshot } from './fixtures.ts';

let dir: string;
let cleanup: () => Promise<void>;
let layout: string;
let shortLayout: string;

beforeAll(async () => {
  ({ dir, cleanup } = await scratch('aci-interop-'));
  layout = join(dir, 'layout');
  makeTree(layout, {
    manifest: manifestText('example.com/interop'),
    rootfs: { type: 'dir' },
    'rootfs/bin/tool': { contents: 'binary', mode: 0o4755, mtime: 1_500_000_000 },
    'rootfs/etc/conf': { contents: 'k=v\n', mtime: 1_500_000_001 },
    'rootfs/etc/conf-link': { type: 'symlink', target: 'conf' },
    'rootfs/etc/conf-hard': { type: 'hardlink', target: 'rootfs/etc/conf' },
    [`rootfs/${'deep-directory/'.repeat(9)}a-file-whose-name-is-long-enough.txt`]: 'long',
    [`rootfs/${'n'.repeat(140)}`]: 'long name',
    'rootfs/sym-long': { type: 'symlink', target: `/${'t'.repeat(140)}` },
    'rootfs/fifo': { type: 'fifo', mode: 0o600 },
    'rootfs/empty-dir': { type: 'dir', mode: 0o700 },
  });
  // v7 holds names of at most 100 bytes and no fifos
  shortLayout = join(dir, 'short');
  makeTree(shortLayout, {
    manifest: manifestText('example.com/short'),
    rootfs: { type: 'dir' },
    'rootfs/bin/tool': { contents: 'binary', mode: 0o755 },
    'rootfs/etc/conf': 'k=v\n',
    'rootfs/etc/link': { type: 'symlink', target: 'conf' },
    'rootfs/etc/hard': { type: 'hardlink', target: 'rootfs/etc/conf' },
  });
});
afterAll(() => cleanup());

const COMPRESSORS = { none: [], gzip: ['-z'], bzip2: ['-j'], xz: ['-J'] } as const;

function rootfsSnapshot(root: string) {
  const all = snapshot(join(root, 'rootfs'), { mtimes: true });
  return all;
}

describe('interoperability with GNU tar and Python tarfile (ACI-015)', () => {
  for (const format of ['gnu', 'pax', 'ustar', 'v7'] as const) {
    for (const [compression, flags] of Object.entries(COMPRESSORS)) {
      it(`ACI-015 reads GNU tar --format=${format} with ${compression}`, async () => {
        const src = format === 'v7' || format === 'ustar' ? shortLayout : layout;
        const out = join(dir, `gnu-${format}-${compression}.aci`);
        execFileSync('tar', [
          '-c',
          `--format=${format}`,
          ...flags,
          '-f',
          out,
          '-C',
          src,
          'manifest',
          'rootfs',
        ]);
        const v = await validateArchive(out);
        expect(v.issues).toEqual([]);
        expect(v.compression).toBe(compression);
        const target = join(dir, `x-gnu-${format}-${compression}`);
        await extract(out, target);
        expect(rootfsSnapshot(target)).toEqual(rootfsSnapshot(src));
      });
    }
  }

  for (const format of ['PAX_FORMAT', 'GNU_FORMAT', 'USTAR_FORMAT'] as const) {
    it(`ACI-015 reads Python tarfile ${format}`, async () => {
      const src = format === 'USTAR_FORMAT' ? shortLayout : layout;
      const out = join(dir, `py-${format}.aci`);
      const script = [
        'import sys, tarfile',
        `t = tarfile.open(sys.argv[1], 'w:gz', format=tarfile.${format})`,
        "t.add(sys.argv[2] + '/manifest', arcname='manifest')",
        "t.add(sys.argv[2] + '/rootfs', arcname='rootfs')",
        't.close()',
      ].join('\n');
      const r = spawnSync('python3', ['-c', script, out, src]);
      expect(r.status, r.stderr.toString()).toBe(0);
      const v = await validateArchive(out);
      expect(v.issues).toEqual([]);
      const target = join(dir, `x-py-${format}`);
      await extract(out, target);
      const got = rootfsSnapshot(target);
      const want = rootfsSnapshot(src);
      // Python stores sub-second PAX mtimes; GNU and we compare whole seconds
      expect(got).toEqual(want);
    });
  }

  it('ACI-015 reads a GNU tar archive with xattrs and a global PAX header', async () => {
    const src = join(dir, 'xl');
    makeTree(src, { manifest: manifestText('example.com/x'), rootfs: { type: 'dir' }, 'rootfs/f': 'f' });
    const probe = spawnSync('setfattr', ['-n', 'user.k', '-v', 'v', join(src, 'rootfs/f')]);
    const out = join(dir, 'gnu-xattrs.aci');
    execFileSync('tar', [
      '-c',
      '--format=pax',
      '--xattrs',
      '--pax-option=globexthdr.name=g,comment=hello',
      '-f',
      out,
      '-C',
      src,
      'manifest',
      'rootfs',
    ]);
    const v = await validateArchive(out);
    expect(v.issues).toEqual([]);
    const target = join(dir, 'x-xattrs');
    await extract(out, target);
    if (probe.status === 0)
      expect(
        execFileSync('getfattr', ['-n', 'user.k', '--only-values', join(target, 'rootfs/f')]).toString(),
      ).toBe('v');
    expect(readdirSync(target).sort()).toEqual(['manifest', 'rootfs']);
  });

  it('ACI-002 GNU tar of a layout with ./ names validates (names are cleaned)', async () => {
    const out = join(dir, 'dot.aci');
    execFileSync('tar', ['-czf', out, '-C', shortLayout, '.']);
    expect((await validateArchive(out)).issues).toEqual([]);
    writeFileSync(join(dir, 'unused'), '');
  });
});
