import { execFileSync } from 'node:child_process';
import { lchownSync, lstatSync, lutimesSync, mkdirSync, readdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build, extract, validateArchive } from '../src/index.ts';
import { makeTree, manifestText, scratch, snapshot, xattrsSupported } from './fixtures.ts';

// Our archives, extracted by GNU tar and by us, give the same tree: what the audit found untested (ACI-005,
// ACI-014): deterministic and xz/bzip2 builds, names past 255 bytes, long symlink targets, directory and symlink
// times, times before 1970 and past 2038, owners other than root, and device nodes (root).

let dir: string;
let cleanup: () => Promise<void>;
let layout: string;
let withXattrs = false;
const root = process.getuid?.() === 0;
const deep = `rootfs/${'component-of-forty-bytes-for-a-long-nam/'.repeat(8)}and-the-file.txt`;
beforeAll(async () => {
  ({ dir, cleanup } = await scratch('aci-audit-interop-'));
  layout = join(dir, 'layout');
  makeTree(layout, {
    manifest: manifestText('example.com/interop-audit'),
    rootfs: { type: 'dir', mode: 0o755 },
    'rootfs/etc': { type: 'dir', mode: 0o750 },
    'rootfs/etc/conf': { contents: 'k=v\n', mode: 0o640 },
    'rootfs/etc/hard': { type: 'hardlink', target: 'rootfs/etc/conf' },
    'rootfs/etc/long-link': { type: 'symlink', target: `/${'t/'.repeat(120)}target` },
    'rootfs/old': 'before 1970',
    'rootfs/future': { contents: 'after 2038', mtime: 2 ** 33 },
    'rootfs/bin/sgid': { contents: 'x', mode: 0o2755 },
    'rootfs/srv': { type: 'dir', mode: 0o1770 },
    [deep]: 'deep',
  });
  withXattrs = xattrsSupported(dir);
  if (withXattrs) makeTree(layout, { 'rootfs/etc/xattr': { contents: 'x', xattrs: { 'user.k': 'value' } } });
  if (root) {
    execFileSync('mknod', ['-m', '0620', join(layout, 'rootfs/tty0'), 'c', '4', '0']);
    execFileSync('mknod', ['-m', '0660', join(layout, 'rootfs/loop9'), 'b', '7', '9']);
    lchownSync(join(layout, 'rootfs/etc/conf'), 1234, 5678);
    lchownSync(join(layout, 'rootfs/etc/long-link'), 4321, 8765);
    lchownSync(join(layout, 'rootfs/srv'), 99, 100);
  }
  // a Date: Node's utimes takes a negative number of seconds for "now"
  utimesSync(join(layout, 'rootfs/old'), new Date(-86_400_000), new Date(-86_400_000));
  // directory and symlink times, set last (adding entries changes a directory's mtime)
  lutimesSync(join(layout, 'rootfs/etc/long-link'), 1_234_567_890, 1_234_567_890);
  for (const [p, t] of [
    ['rootfs/etc', 1_300_000_000],
    ['rootfs/srv', 1_200_000_000],
    ['rootfs/bin', 1_100_000_000],
  ] as const)
    utimesSync(join(layout, p), t, t);
});
afterAll(() => cleanup());

/** A snapshot with the mtimes of directories and symlinks too (the shared helper leaves them out). */
function tree(at: string) {
  const s = snapshot(at, { mtimes: true, owners: root });
  for (const [p, e] of Object.entries(s))
    if (e.type === 'dir' || e.type === 'symlink') e.mtime = Math.floor(lstatSync(join(at, p)).mtimeMs / 1000);
  // the top directory is the extraction target itself, made by each tool as it likes
  return s;
}

describe('our archives extract the same with GNU tar (ACI-005, ACI-014)', () => {
  for (const [label, options, decompress] of [
    ['default gzip', {}, '-z'],
    ['deterministic', { deterministic: true, sourceDateEpoch: 1_600_000_000 }, '-z'],
    ['xz', { compression: 'xz' }, '-J'],
    ['bzip2', { compression: 'bzip2' }, '-j'],
  ] as const) {
    it(`ACI-005 ${label}: GNU tar and extract give the same tree`, async () => {
      const out = join(dir, `${label.replace(/\W/g, '-')}.aci`);
      await build(layout, out, options);
      expect((await validateArchive(out)).issues).toEqual([]);
      const ours = join(dir, `ours-${label.replace(/\W/g, '-')}`);
      await extract(out, ours);
      const theirs = join(dir, `theirs-${label.replace(/\W/g, '-')}`);
      mkdirSync(theirs);
      execFileSync('tar', [
        '-x',
        decompress,
        '-p',
        '--numeric-owner',
        ...(root ? ['--same-owner'] : []),
        '--xattrs',
        '--xattrs-include=*',
        '-f',
        out,
        '-C',
        theirs,
      ]);
      const a = tree(ours);
      const b = tree(theirs);
      // the manifest is written by the build (ACI-014): its time is the build's, the same in both
      expect(a).toEqual(b);
      expect(Object.keys(a)).toContain(deep);
      expect(a['rootfs/etc/long-link']?.target).toBe(`/${'t/'.repeat(120)}target`);
      expect(a['rootfs/srv']?.mode).toBe(0o1770);
      if (!('deterministic' in options)) {
        expect(a['rootfs/old']?.mtime).toBe(-86_400);
        expect(a['rootfs/future']?.mtime).toBe(2 ** 33);
        expect(a['rootfs/etc']?.mtime).toBe(1_300_000_000);
        expect(a['rootfs/etc/long-link']?.mtime).toBe(1_234_567_890);
      }
      if (root) {
        expect(a['rootfs/tty0']?.type).toBe('char');
        expect(a['rootfs/loop9']?.type).toBe('block');
        expect(lstatSync(join(ours, 'rootfs/loop9')).rdev).toBe(lstatSync(join(layout, 'rootfs/loop9')).rdev);
        if (!('deterministic' in options)) {
          expect([a['rootfs/etc/conf']?.uid, a['rootfs/etc/conf']?.gid]).toEqual([1234, 5678]);
          expect([a['rootfs/etc/long-link']?.uid, a['rootfs/etc/long-link']?.gid]).toEqual([4321, 8765]);
        }
      }
      if (withXattrs) {
        const xattrs = (top: string) =>
          execFileSync('getfattr', ['-d', '-m', '-', 'rootfs/etc/xattr'], { cwd: top }).toString();
        expect(xattrs(ours)).toContain('user.k="value"');
        expect(xattrs(ours)).toEqual(xattrs(theirs));
      }
      expect(readdirSync(ours).sort()).toEqual(['manifest', 'rootfs']);
    });
  }
});
