import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands, main } from '../src/index.ts';

async function appc(argv: string[], env: Record<string, string> = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => {
    out += d;
  });
  stderr.on('data', (d) => {
    err += d;
  });
  const code = await main(argv, { stdout, stderr, env });
  return { code, out, err };
}

const manifest = (name: string, extra: Record<string, unknown> = {}) => ({
  acKind: 'ImageManifest',
  acVersion: '0.8.11',
  name,
  labels: [{ name: 'version', value: '1.0.0' }],
  ...extra,
});

async function layout(dir: string, m: unknown, files: Record<string, string>): Promise<string> {
  await mkdir(join(dir, 'rootfs'), { recursive: true });
  await writeFile(join(dir, 'manifest'), JSON.stringify(m));
  for (const [p, body] of Object.entries(files)) {
    await mkdir(join(dir, 'rootfs', p, '..'), { recursive: true });
    await writeFile(join(dir, 'rootfs', p), body);
  }
  return dir;
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'appc-cli-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('help and usage', () => {
  it('prints the command list with --help (exit 0) and without a command (exit 2)', async () => {
    const ok = await appc(['--help']);
    expect(ok.code).toBe(0);
    for (const name of Object.keys(commands)) expect(ok.out).toContain(name);
    const none = await appc([]);
    expect(none.code).toBe(2);
    expect(none.err).toContain('usage: appc COMMAND');
  });

  for (const name of Object.keys(commands)) {
    it(`${name} --help shows its usage`, async () => {
      const r = await appc([name, '--help']);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`usage: appc ${name}`);
      const h = await appc(['help', name]);
      expect(h.out).toBe(r.out);
    });
  }

  it.each([
    [['frobnicate'], 'unknown command'],
    [['build', 'only-one'], 'expected LAYOUT_DIR and OUT.aci'],
    [['build', '--bogus', 'a', 'b.aci'], 'unknown flag --bogus'],
    [['validate', '--type'], '--type needs a value'],
    [['validate', '--json=yes', 'x'], '--json takes no value'],
    [['build', '--compression', 'zip', 'a', 'b.aci'], '--compression must be one of'],
    [['validate'], 'at least one PATH'],
    [['validate', '--type', 'weird', 'x'], '--type must be'],
    [['extract', 'x.aci'], 'expected ACI and DIR'],
    [
      ['patch-manifest', '--capability', 'CAP_KILL', '--revoke-capability', 'CAP_CHOWN', 'a.aci', 'b.aci'],
      'cannot be combined',
    ],
    [['patch-manifest', '--replace', '--overwrite', 'a.aci'], 'cannot be combined'],
  ])('%j is a usage error (exit 2)', async (argv, words) => {
    const r = await appc(argv);
    expect(r.code).toBe(2);
    expect(r.err).toContain(words);
  });
});

describe('add-program', () => {
  it("copies a host program and its libraries into a layout's rootfs, which then builds", async () => {
    const dir = await layout(join(tmp, 'add-program'), manifest('example.com/sh'), {});
    const r = await appc(['add-program', dir, 'sh']);
    expect(r.code, r.err).toBe(0);
    const added = r.out.trim().split('\n');
    expect(added.some((p) => p.endsWith('/sh'))).toBe(true);
    expect(added.some((p) => /libc\.so/.test(p))).toBe(true);
    const built = await appc(['build', dir, join(tmp, 'add-program.aci')]);
    expect(built.code, built.err).toBe(0);
    // a second time, nothing is added
    expect((await appc(['add-program', dir, 'sh'])).out).toBe('');
    const missing = await appc(['add-program', dir, 'no-such-program-here']);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('no-such-program-here was not found on the PATH');
    expect((await appc(['add-program', join(tmp, 'nowhere'), 'sh'])).code).toBe(2);
  });
});

describe("actool's Go-style flags", () => {
  it('takes -flag for --flag and --flag=true|false for booleans, on commands and globals', async () => {
    const dir = await layout(join(tmp, 'go-flags'), manifest('example.com/go'), { 'x.txt': 'x' });
    const out = join(tmp, 'go-flags.aci');
    expect((await appc(['build', '-no-compression', dir, out])).code).toBe(0);
    // the file exists: -overwrite=false is no overwrite, -overwrite and --overwrite=true are
    expect((await appc(['build', '-overwrite=false', dir, out])).code).toBe(2);
    expect((await appc(['build', '-overwrite', dir, out])).code).toBe(0);
    expect((await appc(['build', '--overwrite=true', dir, out])).code).toBe(0);
    const debug = await appc(['-debug', 'validate', out]);
    expect(debug.code).toBe(0);
    expect(debug.err).toContain(': valid image sha512-');
    // after --, nothing is a flag
    expect((await appc(['validate', '--', '-debug'])).err).toContain('-debug');
  });
});

describe('build, validate, id, cat-manifest, extract', () => {
  it('round-trips the example-shaped layout, deterministically', async () => {
    const dir = await layout(
      join(tmp, 'rt'),
      manifest('example.com/rt', { app: { exec: ['/bin/x'], user: '0', group: '0' } }),
      {
        'bin/x': '#!/bin/sh\necho hi\n',
        'etc/config': 'a=1\n',
      },
    );
    await chmod(join(dir, 'rootfs/bin/x'), 0o755);
    const a = join(tmp, 'rt-a.aci');
    const b = join(tmp, 'rt-b.aci');
    const env = { SOURCE_DATE_EPOCH: '1700000000' };
    const built = await appc(['build', '--deterministic', dir, a], env);
    expect(built.code, built.err).toBe(0);
    const id = built.out.trim();
    expect(id).toMatch(/^sha512-[0-9a-f]{128}$/);
    expect((await appc(['build', '--deterministic', dir, b], env)).out.trim()).toBe(id);
    expect((await appc(['id', a])).out.trim()).toBe(id);
    expect((await appc(['id', dir], env)).out.trim()).toBe(id);

    const again = await appc(['build', dir, a]);
    expect(again.code).toBe(2);
    expect(again.err).toContain('ERR_ACI_OUTPUT_EXISTS');

    const v = await appc(['validate', '--json', a]);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.out)).toMatchObject({ path: a, kind: 'image', valid: true, errors: [], imageId: id });

    const cat = await appc(['cat-manifest', a]);
    expect(JSON.parse(cat.out)).toMatchObject({ name: 'example.com/rt' });
    const pretty = await appc(['cat-manifest', '--pretty-print', a]);
    expect(pretty.out).toContain('\n  "acVersion": "0.8.11"');

    const out = join(tmp, 'rt-out');
    const x = await appc(['extract', a, out]);
    expect(x.code, x.err).toBe(0);
    expect(await readFile(join(out, 'rootfs/etc/config'), 'utf8')).toBe('a=1\n');
    expect((await stat(join(out, 'rootfs/bin/x'))).mode & 0o777).toBe(0o755);
    const rootfsOnly = join(tmp, 'rt-rootfs');
    expect((await appc(['extract', '--rootfs-only', a, rootfsOnly])).code).toBe(0);
    expect(await readFile(join(rootfsOnly, 'etc/config'), 'utf8')).toBe('a=1\n');
  });

  it('refuses an invalid layout with the field and requirement named (exit 1)', async () => {
    const dir = await layout(
      join(tmp, 'bad'),
      { acKind: 'ImageManifest', acVersion: '0.8.11', name: 'Bad Name' },
      {},
    );
    const r = await appc(['build', dir, join(tmp, 'bad.aci')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/\/name/);
    expect(r.err).toContain('TYPES-001');
    await expect(stat(join(tmp, 'bad.aci'))).rejects.toThrow();
  });
});

describe('validate judges every path in one call', () => {
  it('tells manifests apart by content, reports unreadable paths, exits 2 when one could not be read', async () => {
    const podAsAci = join(tmp, 'pod-looking.aci');
    await writeFile(
      podAsAci,
      JSON.stringify({
        acKind: 'PodManifest',
        acVersion: '0.8.11',
        apps: [{ name: 'a', image: { id: `sha512-${'a'.repeat(128)}` } }],
      }),
    );
    const imageAsTxt = join(tmp, 'image.txt');
    await writeFile(imageAsTxt, JSON.stringify(manifest('example.com/ok')));
    const badImage = join(tmp, 'bad-image.json');
    await writeFile(
      badImage,
      JSON.stringify({
        acKind: 'ImageManifest',
        acVersion: '0.8.11',
        name: 'example.com/x',
        app: { exec: ['/x'] },
      }),
    );
    const junk = join(tmp, 'junk.bin');
    await writeFile(junk, Buffer.from([0, 1, 2, 3, 255, 254]));
    const layoutDir = await layout(join(tmp, 'vl'), manifest('example.com/vl'), { a: 'b' });
    const missing = join(tmp, 'does-not-exist.aci');

    const r = await appc(['validate', '--json', podAsAci, imageAsTxt, badImage, junk, layoutDir, missing]);
    const lines = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.kind, l.valid])).toEqual([
      ['pod-manifest', true],
      ['image-manifest', true],
      ['image-manifest', false],
      ['unknown', false],
      ['layout', true],
      ['unknown', false],
    ]);
    const bad = lines[2];
    expect(bad.errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual(['/app/group', '/app/user']);
    for (const e of bad.errors)
      expect(Object.keys(e)).toEqual(expect.arrayContaining(['code', 'message', 'pointer', 'requirement']));
    expect(lines[5].errors[0].code).toBe('ENOENT');
    expect(r.code).toBe(2);

    const noMissing = await appc(['validate', podAsAci, badImage]);
    expect(noMissing.code).toBe(1);
    expect(noMissing.err).toContain(`${badImage}#/app/user`);
    expect(noMissing.err).toContain('IMG-007');
    expect((await appc(['validate', podAsAci, imageAsTxt])).code).toBe(0);
  });

  it('judges an archive whatever its name and compression', async () => {
    const dir = await layout(join(tmp, 'cz'), manifest('example.com/cz'), { f: 'x' });
    for (const c of ['gzip', 'none', 'xz', 'bzip2']) {
      const out = join(tmp, `cz-${c}.aci`);
      expect((await appc(['build', '--compression', c, dir, out])).code).toBe(0);
      const renamed = join(tmp, `cz-${c}.json`);
      await writeFile(renamed, await readFile(out));
      const v = await appc(['validate', '--json', renamed]);
      expect(JSON.parse(v.out)).toMatchObject({ kind: 'image', valid: true });
    }
  });
});

describe('patch-manifest and render', () => {
  it('patches the manifest and leaves the rootfs as it was', async () => {
    const dir = await layout(join(tmp, 'pm'), manifest('example.com/pm'), { data: 'payload' });
    const input = join(tmp, 'pm.aci');
    await appc(['build', dir, input]);
    const output = join(tmp, 'pm-out.aci');
    const r = await appc([
      'patch-manifest',
      '--name',
      'example.com/patched',
      '--exec',
      '/bin/sh -c true',
      '--user',
      '1000',
      '--group',
      '1000',
      '--capability',
      'CAP_NET_BIND_SERVICE',
      '--mounts',
      'data,path=/data,readOnly=true',
      input,
      output,
    ]);
    expect(r.code, r.err).toBe(0);
    const m = JSON.parse((await appc(['cat-manifest', output])).out);
    expect(m.name).toBe('example.com/patched');
    expect(m.app).toMatchObject({ exec: ['/bin/sh', '-c', 'true'], user: '1000', group: '1000' });
    expect(m.app.mountPoints).toEqual([{ name: 'data', path: '/data', readOnly: true }]);
    expect(m.app.isolators[0]).toMatchObject({
      name: 'os/linux/capabilities-retain-set',
      value: { set: ['CAP_NET_BIND_SERVICE'] },
    });
    const out = join(tmp, 'pm-x');
    await appc(['extract', output, out]);
    expect(await readFile(join(out, 'rootfs/data'), 'utf8')).toBe('payload');
    const bad = await appc(['patch-manifest', '--name', 'Not Valid', input, join(tmp, 'pm-bad.aci')]);
    expect(bad.code).toBe(1);
    await expect(stat(join(tmp, 'pm-bad.aci'))).rejects.toThrow();
  });

  it('renders an image over its dependency, found beside it', async () => {
    const base = await layout(join(tmp, 'base'), manifest('example.com/base'), {
      'etc/base': 'base',
      'etc/shared': 'from base',
    });
    const app = await layout(
      join(tmp, 'app'),
      manifest('example.com/app', {
        dependencies: [{ imageName: 'example.com/base', labels: [{ name: 'version', value: '1.0.0' }] }],
      }),
      { 'etc/shared': 'from app' },
    );
    const repo = join(tmp, 'repo');
    await mkdir(repo);
    expect((await appc(['build', base, join(repo, 'base.aci')])).code).toBe(0);
    expect((await appc(['build', app, join(repo, 'app.aci')])).code).toBe(0);
    const out = join(tmp, 'rendered');
    const r = await appc(['render', '--rootfs-only', join(repo, 'app.aci'), out]);
    expect(r.code, r.err).toBe(0);
    expect(await readFile(join(out, 'etc/base'), 'utf8')).toBe('base');
    expect(await readFile(join(out, 'etc/shared'), 'utf8')).toBe('from app');

    const alone = join(tmp, 'alone');
    await mkdir(alone);
    await writeFile(join(alone, 'app.aci'), await readFile(join(repo, 'app.aci')));
    const missing = await appc(['render', join(alone, 'app.aci'), join(tmp, 'rendered-2')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('ERR_ACI_DEPENDENCY_NOT_FOUND');
  });
});
