import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { hasCode } from '@appc/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyManifestPatch,
  build,
  createFileImageProvider,
  extract,
  patchManifest,
  readManifest,
  render,
  validateArchive,
} from '../src/index.ts';
import { imageEntries, makeTree, manifestText, scratch, writeArchive } from './fixtures.ts';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await scratch('aci-safety-'));
});
afterAll(() => cleanup());

const root = process.getuid?.() === 0;

describe('safe extraction (ACI-012)', () => {
  it('ACI-012 never follows a symlink that is already in the target: the target is replaced, not written through', async () => {
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    const target = join(dir, 'pre-existing');
    mkdirSync(target);
    symlinkSync(outside, join(target, 'rootfs'));
    const aci = await writeArchive(join(dir, 'plain.aci'), {
      entries: imageEntries([{ name: 'rootfs/planted', contents: 'x' }]),
    });
    await expect(extract(aci, target)).rejects.toSatisfy((e) => hasCode(e, 'ERR_ACI_OUTPUT_EXISTS'));
    await extract(aci, target, { overwrite: true });
    expect(readdirSync(outside)).toEqual([]);
    expect(lstatSync(join(target, 'rootfs')).isDirectory()).toBe(true);
    expect(readFileSync(join(target, 'rootfs/planted'), 'utf8')).toBe('x');
  });

  it('ACI-012 a symlink in the archive used as a parent later is refused and nothing is left', async () => {
    const outside = join(dir, 'outside2');
    mkdirSync(outside);
    const aci = await writeArchive(join(dir, 'sym.aci'), {
      entries: imageEntries([
        { name: 'rootfs/a', type: 'symlink', linkname: outside },
        { name: 'rootfs/a/pwned', contents: 'x' },
      ]),
    });
    const parent = join(dir, 'p1');
    mkdirSync(parent);
    await expect(extract(aci, join(parent, 't'))).rejects.toSatisfy((e) => hasCode(e, 'ERR_ACI_PATH_ESCAPE'));
    expect(readdirSync(outside)).toEqual([]);
    expect(readdirSync(parent)).toEqual([]);
  });

  it('ACI-012 setuid and setgid are dropped when ownership is not kept', async () => {
    const aci = await writeArchive(join(dir, 'suid.aci'), {
      entries: imageEntries([
        { name: 'rootfs/s', contents: 's', mode: '06755', uid: 1234, gid: 1234 },
        { name: 'rootfs/t', type: 'dir', mode: '01777' },
      ]),
    });
    const t = join(dir, 'suid-out');
    await extract(aci, t, { preserveOwnership: false });
    expect(lstatSync(join(t, 'rootfs/s')).mode & 0o7777).toBe(0o755);
    expect(lstatSync(join(t, 'rootfs/t')).mode & 0o7777).toBe(0o1777);
    if (root) {
      const t2 = join(dir, 'suid-out-root');
      await extract(aci, t2);
      const st = lstatSync(join(t2, 'rootfs/s'));
      expect(st.mode & 0o7777).toBe(0o6755);
      expect(st.uid).toBe(1234);
    }
  });

  it('ACI-012 device nodes are created only by root', { tags: ['root'] }, async (ctx) => {
    if (!root) ctx.skip();
    const aci = await writeArchive(join(dir, 'dev.aci'), {
      entries: imageEntries([{ name: 'rootfs/null', type: 'char', devmajor: 1, devminor: 3, mode: '0666' }]),
    });
    const t = join(dir, 'dev-out');
    await extract(aci, t);
    const st = lstatSync(join(t, 'rootfs/null'));
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.rdev).toBe(lstatSync('/dev/null').rdev);
    // an unprivileged extraction of the same archive is refused with a clear error
    const r = spawnSync('setpriv', [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      'mknod',
      join(dir, 'x'),
      'c',
      '1',
      '3',
    ]);
    expect(r.status).not.toBe(0);
  });

  it('ACI-012 an aborted extraction leaves neither the target nor a temporary directory', async () => {
    const src = join(dir, 'big-layout');
    const files: Record<string, string> = { manifest: manifestText('example.com/big') };
    for (let i = 0; i < 400; i++) files[`rootfs/d${i % 10}/f${i}`] = 'x'.repeat(20_000 + i);
    makeTree(src, files);
    const aci = join(dir, 'big.aci');
    await build(src, aci);
    const parent = join(dir, 'abort-parent');
    mkdirSync(parent);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 5);
    await expect(extract(aci, join(parent, 'target'), { signal: ac.signal })).rejects.toSatisfy((e) =>
      hasCode(e, 'ERR_ACI_ABORTED'),
    );
    expect(readdirSync(parent)).toEqual([]);
  });

  it('ACI-014 a build whose compressor is killed leaves no output', async () => {
    const src = join(dir, 'kill-layout');
    const files: Record<string, string> = { manifest: manifestText('example.com/kill') };
    for (let i = 0; i < 50; i++) files[`rootfs/f${i}`] = String(Math.random()).repeat(100_000);
    makeTree(src, files);
    const outDir = join(dir, 'kill-out');
    mkdirSync(outDir);
    const p = build(src, join(outDir, 'k.aci'), { compression: 'xz' });
    // kill the xz child as soon as it exists
    let killed = false;
    for (let i = 0; i < 200 && !killed; i++) {
      await new Promise((r) => setTimeout(r, 10));
      const ps = spawnSync('pgrep', ['-P', String(process.pid), '-x', 'xz'])
        .stdout.toString()
        .trim();
      if (ps) {
        for (const pid of ps.split('\n')) process.kill(Number(pid), 'SIGKILL');
        killed = true;
      }
    }
    await expect(p).rejects.toSatisfy((e) => hasCode(e, 'ERR_ACI_TOOL_FAILED'));
    expect(killed).toBe(true);
    expect(readdirSync(outDir)).toEqual([]);
  });
});

describe('render (ACI-020..ACI-024)', () => {
  it('ACI-024 a dependency whose bytes do not match the image ID the provider claimed is refused', async () => {
    const base = await writeArchive(join(dir, 'base.aci'), {
      entries: imageEntries([{ name: 'rootfs/b', contents: 'b' }], 'example.com/base'),
    });
    const app = await writeArchive(join(dir, 'app.aci'), {
      entries: [
        {
          name: 'manifest',
          contents: manifestText('example.com/app', { dependencies: [{ imageName: 'example.com/base' }] }),
        },
        { name: 'rootfs', type: 'dir' },
      ],
    });
    const real = createFileImageProvider([base]);
    const lying = {
      resolve: async (d: Parameters<typeof real.resolve>[0]) => ({
        ...(await real.resolve(d)),
        imageId: `sha512-${'1'.repeat(128)}`,
      }),
    };
    const parent = join(dir, 'render-parent');
    mkdirSync(parent);
    await expect(render(app, join(parent, 'out'), { provider: lying })).rejects.toSatisfy((e) =>
      hasCode(e, 'ERR_ACI_IMAGE_ID_MISMATCH'),
    );
    expect(readdirSync(parent)).toEqual([]);
    const r = await render(app, join(parent, 'ok'), { provider: real, rootfsOnly: true });
    expect(readdirSync(join(parent, 'ok'))).toEqual(['b']);
    expect(r.layers).toHaveLength(2);
  });
});

describe('patchManifest (ACI-013, actool patch-manifest)', () => {
  it('ACI-013 replaces only the manifest, in place, and the result validates', async () => {
    const src = join(dir, 'patch-layout');
    makeTree(src, {
      manifest: manifestText('example.com/p', { app: { exec: ['/x'], user: '0', group: '0' } }),
      'rootfs/a': 'a',
      'rootfs/l': { type: 'symlink', target: 'a' },
    });
    const input = join(dir, 'p.aci');
    await build(src, input);
    const out = join(dir, 'p2.aci');
    const r = await patchManifest(
      input,
      out,
      (m) =>
        applyManifestPatch(m, {
          name: 'example.com/patched',
          exec: '/bin/sh -c true',
          mounts: 'data,path=/data,readOnly=true',
          ports: 'http,protocol=tcp,port=80',
          isolators: 'resource/memory,limit=1G',
          capabilityRetain: 'CAP_NET_BIND_SERVICE',
          seccomp: 'remove,errno=EPERM',
          seccompSet: 'reboot',
        }),
      { compression: 'none' },
    );
    expect((await validateArchive(out)).issues).toEqual([]);
    const { manifest } = await readManifest(out);
    expect(manifest.name).toBe('example.com/patched');
    expect(manifest.app?.exec).toEqual(['/bin/sh', '-c', 'true']);
    expect(manifest.app?.mountPoints).toEqual([{ name: 'data', path: '/data', readOnly: true }]);
    expect(manifest.app?.isolators?.map((i) => i.name)).toEqual([
      'os/linux/capabilities-retain-set',
      'resource/memory',
      'os/linux/seccomp-remove-set',
    ]);
    expect(r.manifest.name).toBe('example.com/patched');
    const names = execFileSync('tar', ['-tf', out]).toString().trim().split('\n');
    const orig = execFileSync('tar', ['-tzf', input]).toString().trim().split('\n');
    expect(names).toEqual(orig);
    // same entries and contents, manifest kept at its position
    await expect(
      patchManifest(input, join(dir, 'p3.aci'), (m) =>
        applyManifestPatch(m, { user: 'u', capabilityRetain: 'CAP_A', capabilityRemove: 'CAP_B' }),
      ),
    ).rejects.toSatisfy((e) => hasCode(e, 'ERR_ACI_PATCH'));
    expect(existsSync(join(dir, 'p3.aci'))).toBe(false);
  });

  it('ACI-013 app-level changes need an app', () => {
    const m = { acKind: 'ImageManifest' as const, acVersion: '0.8.11', name: 'example.com/x' };
    expect(() => applyManifestPatch(m, { user: 'u' })).toThrow(/no app/);
    expect(applyManifestPatch(m, { exec: '/x', user: 'u' }).app).toEqual({
      exec: ['/x'],
      user: 'u',
      group: '0',
    });
    writeFileSync(join(dir, 'unused'), '');
  });
});
