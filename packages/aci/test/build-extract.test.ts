import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasCode } from '@appc/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  build,
  computeImageId,
  extract,
  imageIdOfLayout,
  readManifest,
  validateArchive,
} from '../src/index.ts';
import { makeTree, manifestText, run, scratch, snapshot, xattrsSupported } from './fixtures.ts';

let dir: string;
let cleanup: () => Promise<void>;
let layout: string;
let withXattrs = false;

beforeAll(async () => {
  ({ dir, cleanup } = await scratch());
  layout = join(dir, 'layout');
  withXattrs = xattrsSupported(dir);
  makeTree(layout, {
    manifest: manifestText('example.com/roundtrip', { app: { exec: ['/bin/x'], user: '0', group: '0' } }),
    rootfs: { type: 'dir', mode: 0o755 },
    'rootfs/bin/x': { contents: '#!/bin/sh\necho hi\n', mode: 0o755 },
    'rootfs/bin/suid': { contents: 'setuid', mode: 0o4755 },
    'rootfs/bin/sgid': { contents: 'setgid', mode: 0o2711 },
    'rootfs/tmp': { type: 'dir', mode: 0o1777 },
    'rootfs/etc/hosts': '127.0.0.1 localhost\n',
    'rootfs/etc/hardlinked': { type: 'hardlink', target: 'rootfs/etc/hosts' },
    'rootfs/etc/link': { type: 'symlink', target: '../bin/x' },
    'rootfs/etc/abs': { type: 'symlink', target: '/etc/hosts' },
    'rootfs/run/fifo': { type: 'fifo', mode: 0o640 },
    'rootfs/big': { contents: Buffer.alloc(3 * 1024 * 1024 + 17, 7) },
    [`rootfs/${'long-directory-name/'.repeat(8)}file-with-a-long-name.txt`]: 'long',
    'rootfs/ütf-8 name': 'unicode',
    'rootfs/empty': '',
    'rootfs/ro': { type: 'dir', mode: 0o555 },
  });
  if (withXattrs)
    makeTree(layout, { 'rootfs/xattr-file': { contents: 'x', xattrs: { 'user.note': 'hello' } } });
});
afterAll(() => cleanup());

describe('build (ACI-014) and extract (ACI-012)', () => {
  it('ACI-014 builds a valid archive whose image ID matches the bytes (ACI-010)', async () => {
    const out = join(dir, 'a.aci');
    const r = await build(layout, out);
    expect(r.imageId).toMatch(/^sha512-[0-9a-f]{128}$/);
    expect(await computeImageId(out)).toBe(r.imageId);
    const v = await validateArchive(out);
    expect(v.issues).toEqual([]);
    expect(v.imageId).toBe(r.imageId);
    expect((await readManifest(out)).manifest.name).toBe('example.com/roundtrip');
    // GNU tar reads it and the manifest comes last
    const list = run('tar', ['-tzf', out]).toString().trim().split('\n');
    expect(list[0]).toBe('rootfs');
    expect(list[list.length - 1]).toBe('manifest');
    // sockets are skipped, every path of the layout is there
    expect(list).toContain('rootfs/etc/hardlinked');
    // the same answers from the archive's bytes in memory (AciSource)
    const bytes = readFileSync(out);
    expect(await computeImageId(bytes)).toBe(r.imageId);
    expect((await validateArchive(bytes)).imageId).toBe(r.imageId);
    expect((await readManifest(bytes)).manifest.name).toBe('example.com/roundtrip');
  });

  it('ACI-005 our extraction and GNU tar extraction of our archive give identical trees', async () => {
    const out = join(dir, 'b.aci');
    await build(layout, out);
    const ours = join(dir, 'ours');
    const theirs = join(dir, 'theirs');
    await extract(out, ours);
    run('mkdir', [theirs]);
    run('tar', ['-xzpf', out, '-C', theirs, '--xattrs', '--xattrs-include=*', '--same-owner']);
    const a = snapshot(ours, { mtimes: true, owners: true });
    const b = snapshot(theirs, { mtimes: true, owners: true });
    expect(a).toEqual(b);
    const src = snapshot(layout, { mtimes: true });
    const got = snapshot(join(ours, 'rootfs'), { mtimes: true });
    const want = Object.fromEntries(
      Object.entries(src)
        .filter(([k]) => k.startsWith('rootfs/'))
        .map(([k, v]) => [k.slice(7), v]),
    );
    expect(
      Object.fromEntries(Object.entries(got).map(([k, v]) => [k, { ...v, link: v.link?.slice(0) }])),
    ).toEqual(
      Object.fromEntries(
        Object.entries(want).map(([k, v]) => [k, { ...v, link: v.link?.replace(/^rootfs\//, '') }]),
      ),
    );
    expect(a['rootfs/bin/suid']?.mode).toBe(0o4755);
    expect(a['rootfs/tmp']?.mode).toBe(0o1777);
    expect(a['rootfs/etc/hardlinked']?.link).toBe(
      'rootfs/etc/hardlinked'.replace('hardlinked', 'hardlinked'),
    );
  });

  it('ACI-010 gives the image ID unless told not to, and the same tree either way; ACI-011 still checks an expected ID', async () => {
    const out = join(dir, 'no-id.aci');
    const { imageId } = await build(layout, out);
    const withId = join(dir, 'with-id');
    const withoutId = join(dir, 'without-id');
    expect((await extract(out, withId)).imageId).toBe(imageId);
    const r = await extract(out, withoutId, { imageId: false });
    expect(r.imageId).toBeUndefined();
    expect(r.manifest.name).toBe('example.com/roundtrip');
    expect(snapshot(withoutId, { mtimes: true, owners: true })).toEqual(
      snapshot(withId, { mtimes: true, owners: true }),
    );
    const wrong = `sha512-${'0'.repeat(128)}`;
    const refused = join(dir, 'refused');
    await expect(extract(out, refused, { imageId: false, expectedImageId: wrong })).rejects.toSatisfy((e) =>
      hasCode(e, 'ERR_ACI_IMAGE_ID_MISMATCH'),
    );
    expect(existsSync(refused)).toBe(false);
    expect(
      (await extract(out, join(dir, 'expected'), { imageId: false, expectedImageId: imageId })).imageId,
    ).toBe(imageId);
  });

  it('ACI-005 carries xattrs when the attr tools exist', async (ctx) => {
    if (!withXattrs) ctx.skip();
    const out = join(dir, 'x.aci');
    await build(layout, out);
    const listing = run('tar', ['--xattrs', '--xattrs-include=*', '-tvvzf', out]).toString();
    expect(listing).toContain('user.note');
    const ours = join(dir, 'x-ours');
    await extract(out, ours);
    expect(
      run('getfattr', ['-n', 'user.note', '--only-values', join(ours, 'rootfs/xattr-file')]).toString(),
    ).toBe('hello');
  });

  it('ACI-014 deterministic builds give the same image ID, also from a copy with newer mtimes', async () => {
    const epoch = 1_600_000_000;
    const a = await build(layout, join(dir, 'd1.aci'), { deterministic: true, sourceDateEpoch: epoch });
    const b = await build(layout, join(dir, 'd2.aci'), {
      deterministic: true,
      sourceDateEpoch: epoch,
      compression: 'none',
    });
    expect(b.imageId).toBe(a.imageId);
    const copy = join(dir, 'copy');
    // a copy elsewhere whose every mtime is newer than the epoch
    run('cp', ['-a', layout, copy]);
    run('find', [copy, '-exec', 'touch', '-h', '{}', '+']);
    const c = await build(copy, join(dir, 'd3.aci'), { deterministic: true, sourceDateEpoch: epoch });
    expect(c.imageId).toBe(a.imageId);
    expect(await imageIdOfLayout(copy, { deterministic: true, sourceDateEpoch: epoch })).toBe(a.imageId);
  });

  it.each(['none', 'xz', 'bzip2'] as const)(
    'ACI-006 builds with %s and reads it back',
    async (compression) => {
      const out = join(dir, `c-${compression}.aci`);
      const r = await build(layout, out, { compression });
      const v = await validateArchive(out);
      expect(v.issues).toEqual([]);
      expect(v.compression).toBe(compression);
      expect(v.imageId).toBe(r.imageId);
    },
  );

  it('ACI-001 refuses an output not ending in .aci, and an existing output without overwrite', async () => {
    await expect(build(layout, join(dir, 'x.tar'))).rejects.toSatisfy((e) =>
      hasCode(e, 'ERR_ACI_BAD_EXTENSION'),
    );
    const out = join(dir, 'exists.aci');
    writeFileSync(out, 'x');
    await expect(build(layout, out)).rejects.toSatisfy((e) => hasCode(e, 'ERR_ACI_OUTPUT_EXISTS'));
    await build(layout, out, { overwrite: true });
    expect((await validateArchive(out)).issues).toEqual([]);
  });

  it('ACI-014 an aborted build leaves no output and no temporary file', async () => {
    const sub = join(dir, 'abort');
    run('mkdir', [sub]);
    const ac = new AbortController();
    const p = build(layout, join(sub, 'a.aci'), {
      signal: ac.signal,
      onProgress: (n) => {
        if (n > 1024 * 1024) ac.abort();
      },
    });
    await expect(p).rejects.toSatisfy((e) => hasCode(e, 'ERR_ACI_ABORTED'));
    expect(readdirSync(sub)).toEqual([]);
  });

  it('ACI-009 refuses to build an invalid layout', async () => {
    const bad = join(dir, 'bad-layout');
    makeTree(bad, { manifest: '{"acKind":"ImageManifest"}', 'rootfs/x': 'x', extra: 'no' });
    await expect(build(bad, join(dir, 'bad.aci'))).rejects.toSatisfy((e) =>
      hasCode(e, 'ERR_ACI_INVALID_LAYOUT'),
    );
    expect(existsSync(join(dir, 'bad.aci'))).toBe(false);
  });
});
