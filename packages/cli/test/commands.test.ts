import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../src/main.ts';
import { appc, layout, manifest } from './helpers.ts';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'appc-cli-cmd-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A gzip ACI made by GNU tar from a layout written as is (to hold what our builder refuses to write). */
async function tarAci(name: string, m: unknown, files: Record<string, string> = {}): Promise<string> {
  const dir = await layout(join(tmp, `${name}-layout`), m, files);
  const out = join(tmp, `${name}.aci`);
  execFileSync('tar', ['-C', dir, '-czf', out, 'manifest', 'rootfs']);
  return out;
}

async function firstBytes(file: string, n: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    await fh.read(buf, 0, n, 0);
    return buf;
  } finally {
    await fh.close();
  }
}

describe('version and global flags', () => {
  it('prints our version and the appc spec version 0.8.11', async () => {
    const pkg = JSON.parse(await readFile(resolve(import.meta.dirname, '../package.json'), 'utf8'));
    const r = await appc(['version']);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`appc version ${pkg.version}`);
    expect(r.out).toContain('appc spec version 0.8.11');
    const j = await appc(['version', '--json']);
    expect(JSON.parse(j.out)).toEqual({ appc: pkg.version, appcSpec: '0.8.11' });
    // as most programs take it
    const flag = await appc(['--version']);
    expect(flag.code).toBe(0);
    expect(flag.out).toBe(r.out);
    expect(JSON.parse((await appc(['--version', '--json'])).out)).toEqual(JSON.parse(j.out));
  });

  it('accepts --debug and --help before or after the command', async () => {
    const dir = await layout(join(tmp, 'g'), manifest('example.com/g'));
    const before = await appc(['--debug', 'validate', dir]);
    const after = await appc(['validate', dir, '--debug']);
    expect(before.code).toBe(0);
    expect(before.err).toBe(`${dir}: valid layout\n`);
    expect(after.err).toBe(before.err);
    expect((await appc(['validate', dir])).err).toBe('');
    const help = await appc(['--help', 'extract']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('usage: appc extract');
    expect((await appc(['help'])).code).toBe(0);
    expect((await appc(['help', 'nope'])).code).toBe(2);
  });

  it('colours the error prefix only on a terminal and never under NO_COLOR', async () => {
    const missing = join(tmp, 'missing.aci');
    const tty = await appc(['id', missing], { tty: true });
    expect(tty.code).toBe(2);
    expect(tty.err).toContain('\x1b[1;31mappc id:\x1b[0m');
    const noColor = await appc(['id', missing], { tty: true, env: { NO_COLOR: '1' } });
    expect(noColor.err).not.toContain('\x1b[');
    expect(noColor.err).toContain(`appc id: ${missing}: no such file or directory`);
    expect((await appc(['id', missing])).err).not.toContain('\x1b[');
  });

  it('resolves relative paths against the given working directory', async () => {
    await layout(join(tmp, 'rel'), manifest('example.com/rel'));
    const r = await appc(['validate', '--json', 'rel'], { cwd: tmp });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ path: 'rel', kind: 'layout', valid: true });
  });
});

describe('build', () => {
  it('shows progress on a terminal only, and the image ID alone on stdout', async () => {
    const dir = await layout(join(tmp, 'prog'), manifest('example.com/prog'), { a: 'x'.repeat(100_000) });
    const tty = await appc(['build', dir, join(tmp, 'prog-1.aci')], { tty: true });
    expect(tty.code, tty.err).toBe(0);
    expect(tty.out).toMatch(/^sha512-[0-9a-f]{128}\n$/);
    expect(tty.err).toContain('building:');
    const quiet = await appc(['build', dir, join(tmp, 'prog-2.aci')]);
    expect(quiet.err).toBe('');
  });

  it.each([
    [
      'a layout that is a file',
      (d: string) => [join(d, 'manifest'), join(tmp, 'f.aci')],
      'is not a directory',
    ],
    ['an output not named .aci', (d: string) => [d, join(tmp, 'out.tar')], 'ERR_ACI_BAD_EXTENSION'],
    [
      'a missing layout directory',
      () => [join(tmp, 'no-such-layout'), join(tmp, 'nl.aci')],
      'no-such-layout: no such file or directory',
    ],
    [
      'a bad --source-date-epoch',
      (d: string) => ['--source-date-epoch', 'yesterday', d, join(tmp, 'e.aci')],
      'whole seconds',
    ],
    [
      'a --source-date-epoch with no exact PAX mtime (ACI-014)',
      (d: string) => ['--source-date-epoch', '99999999999999999999', d, join(tmp, 'e.aci')],
      'whole seconds from 0 to 9007199254740991',
    ],
    [
      '--source-date-epoch without --deterministic, which would be ignored (ACI-014)',
      (d: string) => ['--source-date-epoch', '5', d, join(tmp, 'e.aci')],
      'add --deterministic',
    ],
    [
      'an output inside the layout rootfs (ACI-014)',
      (d: string) => [d, join(d, 'rootfs', 'self.aci')],
      'ERR_ACI_OUTPUT_EXISTS',
    ],
    [
      'an output in a missing directory, naming the output (ACI-014)',
      (d: string) => [d, join(tmp, 'no-such-dir', 'o.aci')],
      'no-such-dir/o.aci: no such file or directory',
    ],
  ])('refuses %s (exit 2)', async (_name, args, words) => {
    const dir = await layout(join(tmp, 'b2'), manifest('example.com/b2'));
    const r = await appc(['build', ...args(dir)]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(words);
  });

  it('writes a plain tar with --no-compression and replaces the output with --overwrite', async () => {
    const dir = await layout(join(tmp, 'nc'), manifest('example.com/nc'), { f: 'plain' });
    const out = join(tmp, 'nc.aci');
    expect((await appc(['build', '--no-compression', dir, out])).code).toBe(0);
    expect((await firstBytes(out, 512)).subarray(257, 262).toString()).toBe('ustar');
    const again = await appc(['build', '--overwrite', dir, out]);
    expect(again.code).toBe(0);
    expect([...(await firstBytes(out, 2))]).toEqual([0x1f, 0x8b]);
    const list = execFileSync('tar', ['-tzf', out]).toString().split('\n');
    expect(list.map((n) => n.replace(/\/$/, ''))).toEqual(
      expect.arrayContaining(['manifest', 'rootfs', 'rootfs/f']),
    );
  });

  it('stops when interrupted and leaves no output (exit 2)', async () => {
    const dir = await layout(join(tmp, 'abort'), manifest('example.com/abort'), { f: 'x' });
    const controller = new AbortController();
    controller.abort(new Error('interrupted by SIGINT'));
    const out = join(tmp, 'abort.aci');
    const r = await appc(['build', dir, out], { signal: controller.signal });
    expect(r.code).toBe(2);
    expect(existsSync(out)).toBe(false);
  });
});

describe('id', () => {
  it('gives the same ID for an archive and for its layout built deterministically', async () => {
    const dir = await layout(join(tmp, 'idl'), manifest('example.com/idl'), { 'etc/x': 'y' });
    const fromDir = await appc(['id', '--source-date-epoch', '1234', dir]);
    expect(fromDir.code).toBe(0);
    const built = await appc([
      'build',
      '--deterministic',
      '--source-date-epoch',
      '1234',
      dir,
      join(tmp, 'idl.aci'),
    ]);
    expect(built.out).toBe(fromDir.out);
    // the ID is the SHA-512 of the uncompressed tar (ACI-010)
    const tar = execFileSync('gzip', ['-dc', join(tmp, 'idl.aci')]);
    const sha = execFileSync('sha512sum', { input: tar }).toString().split(' ')[0];
    expect(fromDir.out.trim()).toBe(`sha512-${sha}`);
    expect((await appc(['id', '--source-date-epoch', '9', dir])).out).not.toBe(fromDir.out);
    // an epoch with no exact PAX mtime is a usage error (ACI-014)
    const huge = await appc(['id', '--source-date-epoch', '99999999999999999999', dir]);
    expect(huge.code).toBe(2);
    expect(huge.err).toContain('whole seconds from 0 to');
  });

  it('judges a file that is no archive (exit 1) and a missing path (exit 2)', async () => {
    const junk = join(tmp, 'junk.aci');
    await writeFile(junk, 'not an archive at all, just some text that goes on');
    const r = await appc(['id', junk]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('ERR_ACI_');
    expect((await appc(['id', join(tmp, 'gone.aci')])).code).toBe(2);
    expect((await appc(['id'])).code).toBe(2);
  });
});

describe('cat-manifest', () => {
  it('prints the stored bytes as they are, and fails (exit 1) on an invalid manifest', async () => {
    const stored = '{"acKind":"ImageManifest",  "acVersion":"0.8.11","name":"example.com/asis"}';
    const good = await tarAci('asis', stored);
    const r = await appc(['cat-manifest', good]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(stored);
    const bad = await tarAci('bad-manifest', {
      acKind: 'ImageManifest',
      acVersion: '0.8.11',
      name: 'UPPER case',
    });
    const b = await appc(['cat-manifest', bad]);
    expect(b.code).toBe(1);
    expect(b.err).toContain('/name');
    expect(b.err).toContain('TYPES-001');
    expect(b.out).toBe('');
  });
});

describe('extract', () => {
  it('refuses a non-empty target (exit 2) unless --overwrite', async () => {
    const dir = await layout(join(tmp, 'xo'), manifest('example.com/xo'), { f: 'new' });
    const aci = join(tmp, 'xo.aci');
    await appc(['build', dir, aci]);
    const target = join(tmp, 'xo-target');
    await mkdir(target);
    await writeFile(join(target, 'old'), 'old');
    const r = await appc(['extract', aci, target]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('ERR_ACI_OUTPUT_EXISTS');
    expect((await appc(['extract', '--overwrite', aci, target])).code).toBe(0);
    expect(await readFile(join(target, 'rootfs/f'), 'utf8')).toBe('new');
    expect((await readdir(target)).sort()).toEqual(['manifest', 'rootfs']);
  });

  it('refuses an archive whose entries leave the target (exit 1, ACI-012)', async () => {
    const evil = join(tmp, 'evil.aci');
    const script = `
import io, json, tarfile, sys
m = json.dumps({"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "example.com/evil"}).encode()
with tarfile.open(sys.argv[1], "w:gz") as t:
    for name, data in (("manifest", m), ("rootfs/../../escaped", b"x")):
        info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))
    d = tarfile.TarInfo("rootfs"); d.type = tarfile.DIRTYPE; t.addfile(d)
`;
    const py = spawnSync('python3', ['-c', script, evil]);
    expect(py.status, py.stderr.toString()).toBe(0);
    const target = join(tmp, 'evil-target');
    const r = await appc(['extract', evil, target]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('ERR_ACI_PATH_ESCAPE');
    expect(existsSync(join(tmp, 'escaped'))).toBe(false);
    const v = await appc(['validate', '--json', evil]);
    expect(v.code).toBe(1);
    expect(JSON.parse(v.out).errors.map((e: { code: string }) => e.code)).toContain('ERR_ACI_PATH_ESCAPE');
  });
});

describe('validate', () => {
  it('reports text that is not JSON, JSON that is no manifest, and honours --type', async () => {
    const text = join(tmp, 'notes.aci');
    await writeFile(text, 'hello, this is not JSON\n');
    const other = join(tmp, 'other.json');
    await writeFile(other, '{"hello": "world"}');
    const pod = join(tmp, 'pod.aci');
    await writeFile(pod, JSON.stringify({ acKind: 'PodManifest', acVersion: '0.8.11', apps: [] }));
    const r = await appc(['validate', '--json', text, other, pod]);
    expect(r.code).toBe(1);
    const [t, o, p] = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(t).toMatchObject({ kind: 'unknown', valid: false, errors: [{ code: 'ERR_SCHEMA_JSON' }] });
    expect(o).toMatchObject({
      kind: 'unknown',
      valid: false,
      errors: [{ code: 'ERR_SCHEMA_AC_KIND', requirement: 'TYPES-004' }],
    });
    expect(p).toMatchObject({ kind: 'pod-manifest', valid: true, errors: [] });
    for (const line of [t, o, p])
      expect(Object.keys(line)).toEqual(['path', 'kind', 'valid', 'errors', 'warnings']);

    const forced = await appc(['validate', '--json', '--type', 'appimage', pod]);
    expect(JSON.parse(forced.out)).toMatchObject({ kind: 'image', valid: false });
    const asLayout = await appc(['validate', '--json', '--type', 'layout', pod]);
    expect(JSON.parse(asLayout.out)).toMatchObject({
      kind: 'layout',
      valid: false,
      errors: [{ code: 'ERR_ACI_NOT_LAYOUT' }],
    });
  });

  it('reports an unknown isolator as a warning, and as an error with --strict (ISO-003)', async () => {
    const file = join(tmp, 'unknown-isolator.json');
    await writeFile(
      file,
      JSON.stringify(
        manifest('example.com/iso', {
          app: {
            exec: ['/x'],
            user: '0',
            group: '0',
            isolators: [{ name: 'example.com/frobnicate', value: {} }],
          },
        }),
      ),
    );
    const lenient = await appc(['validate', '--json', file]);
    expect(lenient.code).toBe(0);
    expect(JSON.parse(lenient.out)).toMatchObject({
      valid: true,
      errors: [],
      warnings: [{ code: 'WARN_SCHEMA_ISOLATOR_UNKNOWN', pointer: '/app/isolators/0/name' }],
    });
    const plain = await appc(['validate', file]);
    expect(plain.code).toBe(0);
    expect(plain.err).toContain(`${file}#/app/isolators/0/name: warning:`);
    const strict = await appc(['validate', '--json', '--strict', file]);
    expect(strict.code).toBe(1);
    expect(JSON.parse(strict.out)).toMatchObject({
      valid: false,
      errors: [{ code: 'ERR_SCHEMA_ISOLATOR_UNKNOWN' }],
    });
  });

  it('prints one line per problem on stderr without --json', async () => {
    const bad = join(tmp, 'two-problems.json');
    await writeFile(
      bad,
      JSON.stringify({ acKind: 'ImageManifest', acVersion: '0.8.11', name: 'Bad', app: { exec: ['/x'] } }),
    );
    const r = await appc(['validate', bad]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    const lines = r.err.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines)
      expect(line).toMatch(new RegExp(`^${bad}#/\\S+: .+ \\[ERR_[A-Z_]+, [A-Z]+-\\d+\\]$`));
  });
});

describe('patch-manifest', () => {
  let input: string;
  beforeAll(async () => {
    const dir = await layout(
      join(tmp, 'pmx'),
      manifest('example.com/pmx', { app: { exec: ['/bin/app'], user: '0', group: '0' } }),
      { 'bin/app': 'app' },
    );
    input = join(tmp, 'pmx.aci');
    await appc(['build', dir, input]);
  });

  it('appends ports and isolators and sets seccomp and supplementary groups', async () => {
    const out = join(tmp, 'pmx-1.aci');
    const r = await appc([
      'patch-manifest',
      '--ports',
      'http,protocol=tcp,port=8080:dns,protocol=udp,port=53,count=1',
      '--isolators',
      'resource/memory,limit=128M:os/linux/no-new-privileges,true',
      '--seccomp-mode',
      'retain,errno=EPERM',
      '--seccomp-set',
      'read,write,exit',
      '--supplementary-groups',
      '10,20',
      '--revoke-capability',
      'CAP_NET_RAW',
      input,
      out,
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^sha512-[0-9a-f]{128}\n$/);
    const m = JSON.parse((await appc(['cat-manifest', out])).out);
    expect(m.app.ports).toEqual([
      { name: 'http', protocol: 'tcp', port: 8080 },
      { name: 'dns', protocol: 'udp', port: 53, count: 1 },
    ]);
    expect(m.app.supplementaryGIDs).toEqual([10, 20]);
    const byName = Object.fromEntries(
      m.app.isolators.map((i: { name: string; value: unknown }) => [i.name, i.value]),
    );
    expect(byName['resource/memory']).toMatchObject({ limit: '128M' });
    expect(byName['os/linux/no-new-privileges']).toBe(true);
    expect(byName['os/linux/seccomp-retain-set']).toMatchObject({
      set: ['read', 'write', 'exit'],
      errno: 'EPERM',
    });
    expect(byName['os/linux/capabilities-remove-set']).toMatchObject({ set: ['CAP_NET_RAW'] });
    expect((await appc(['validate', out])).code).toBe(0);
  });

  it('takes a whole manifest with --manifest, and refuses it together with --name (exit 2)', async () => {
    const file = join(tmp, 'replacement.json');
    await writeFile(file, JSON.stringify(manifest('example.com/replaced')));
    const out = join(tmp, 'pmx-2.aci');
    const r = await appc(['patch-manifest', '--manifest', file, input, out]);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse((await appc(['cat-manifest', out])).out).name).toBe('example.com/replaced');
    const both = await appc([
      'patch-manifest',
      '--manifest',
      file,
      '--name',
      'example.com/x',
      input,
      join(tmp, 'pmx-3.aci'),
    ]);
    expect(both.code).toBe(2);
    expect(both.err).toContain('--manifest cannot be combined with --name');
    const missing = await appc([
      'patch-manifest',
      '--manifest',
      join(tmp, 'nope.json'),
      input,
      join(tmp, 'pmx-4.aci'),
    ]);
    expect(missing.code).toBe(2);
  });

  it('writes over IN with --replace, and uncompressed with --no-compression', async () => {
    const copy = join(tmp, 'pmx-copy.aci');
    await writeFile(copy, await readFile(input));
    const r = await appc(['patch-manifest', '--replace', '--no-compression', '--user', '1000', copy]);
    expect(r.code, r.err).toBe(0);
    expect((await firstBytes(copy, 512)).subarray(257, 262).toString()).toBe('ustar');
    expect(JSON.parse((await appc(['cat-manifest', copy])).out).app.user).toBe('1000');
    expect((await appc(['id', copy])).out).toBe(r.out);
  });

  it('refuses OUT that is IN without --replace or --overwrite, leaving IN as it was (exit 2, ACI-014)', async () => {
    const copy = join(tmp, 'pmx-same.aci');
    await writeFile(copy, await readFile(input));
    const before = (await appc(['id', copy])).out;
    const r = await appc(['patch-manifest', '--user', '1000', copy, copy]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('ERR_ACI_OUTPUT_EXISTS');
    expect((await appc(['id', copy])).out).toBe(before);
    expect((await appc(['patch-manifest', '--overwrite', '--user', '1000', copy, copy])).code).toBe(0);
  });

  it('refuses app-level flags on an image without app (exit 1) and a bad --exec (exit 1)', async () => {
    const dir = await layout(join(tmp, 'noapp'), manifest('example.com/noapp'));
    const noApp = join(tmp, 'noapp.aci');
    await appc(['build', dir, noApp]);
    const r = await appc(['patch-manifest', '--user', '1', noApp, join(tmp, 'noapp-2.aci')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('ERR_ACI_PATCH');
    expect(existsSync(join(tmp, 'noapp-2.aci'))).toBe(false);
    const created = await appc([
      'patch-manifest',
      '--exec',
      '/bin/sh -c date',
      noApp,
      join(tmp, 'noapp-3.aci'),
    ]);
    expect(created.code, created.err).toBe(0);
    const m = JSON.parse((await appc(['cat-manifest', join(tmp, 'noapp-3.aci')])).out);
    expect(m.app).toMatchObject({ exec: ['/bin/sh', '-c', 'date'], user: '0', group: '0' });
    const spaces = await appc(['patch-manifest', '--exec', '/bin/sh  -c', noApp, join(tmp, 'noapp-4.aci')]);
    expect(spaces.code).toBe(1);
    expect(spaces.err).toContain('single spaces');
  });
});

describe('render', () => {
  it('takes dependencies given with --dep from anywhere, applying the pathWhitelist (ACI-020..ACI-022)', async () => {
    const depDir = join(tmp, 'deps');
    const appDir = join(tmp, 'apps');
    await mkdir(depDir);
    await mkdir(appDir);
    const base = await layout(join(tmp, 'rbase'), manifest('example.com/rbase'), {
      'lib/base.so': 'base',
      'lib/unused': 'dropped by the whitelist',
    });
    expect((await appc(['build', base, join(depDir, 'rbase.aci')])).code).toBe(0);
    const top = await layout(
      join(tmp, 'rtop'),
      manifest('example.com/rtop', {
        dependencies: [{ imageName: 'example.com/rbase' }],
        pathWhitelist: ['/lib/base.so', '/bin/top'],
      }),
      { 'bin/top': 'top' },
    );
    expect((await appc(['build', top, join(appDir, 'rtop.aci')])).code).toBe(0);

    const out = join(tmp, 'r-out');
    const r = await appc([
      'render',
      '--debug',
      '--dep',
      join(depDir, 'rbase.aci'),
      join(appDir, 'rtop.aci'),
      out,
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/rendered sha512-[0-9a-f]+ from 2 layer\(s\)/);
    expect(await readFile(join(out, 'rootfs/lib/base.so'), 'utf8')).toBe('base');
    expect(await readFile(join(out, 'rootfs/bin/top'), 'utf8')).toBe('top');
    expect(existsSync(join(out, 'rootfs/lib/unused'))).toBe(false);
    expect(JSON.parse(await readFile(join(out, 'manifest'), 'utf8')).name).toBe('example.com/rtop');

    const viaDir = await appc([
      'render',
      '--dep-dir',
      depDir,
      '--rootfs-only',
      join(appDir, 'rtop.aci'),
      join(tmp, 'r-out-2'),
    ]);
    expect(viaDir.code, viaDir.err).toBe(0);
    expect((await stat(join(tmp, 'r-out-2/lib/base.so'))).isFile()).toBe(true);
  });
});

describe('the built bin, dist/appc.cjs (the bundle of scripts/bundle.mjs)', () => {
  const bin = resolve(import.meta.dirname, '../dist/appc.cjs');
  // dist/ exists after `pnpm build` (tsc --build, then the bundle); the source-level tests above cover the
  // commands themselves.
  it.skipIf(!existsSync(bin))('runs as a program and sets the exit status', async () => {
    const ok = spawnSync(process.execPath, [bin, 'version'], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('appc spec version 0.8.11');
    const usage = spawnSync(process.execPath, [bin, 'build', '--nope'], { encoding: 'utf8' });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('unknown flag --nope');
    const missing = spawnSync(process.execPath, [bin, 'validate', join(tmp, 'missing.aci')], {
      encoding: 'utf8',
    });
    expect(missing.status).toBe(2);
  });

  it.skipIf(!existsSync(bin))(
    'ACI-015 an archive that breaks while file bytes are still being written fails every time (exit 1), never exits 0',
    async () => {
      // a 4 MB file fills the extraction's writer thread, then the next header is damaged: the writer still held
      // batches when extraction gave up, and its last reply had once been left unread as the process ended, with
      // exit status 0 and nothing extracted
      const dir = await layout(join(tmp, 'broken-layout'), manifest('example.com/broken'), {
        big: 'x'.repeat(4_000_000),
        zz: 'last\n',
      });
      const tar = join(tmp, 'broken.tar');
      execFileSync(
        'tar',
        ['--format=ustar', '--no-recursion', '-cf', tar, 'manifest', 'rootfs', 'rootfs/big', 'rootfs/zz'],
        {
          cwd: dir,
        },
      );
      const bytes = await readFile(tar);
      const at = bytes.indexOf('rootfs/zz');
      bytes.write('9999999\0', at + 148, 'latin1'); // its header checksum
      await writeFile(tar, bytes);
      for (let i = 0; i < 12; i++) {
        const target = join(tmp, `broken-out-${i}`);
        const r = spawnSync(process.execPath, [bin, 'extract', tar, target], { encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(1);
        expect(r.stderr).toContain('ERR_ACI_BAD_TAR_HEADER');
        expect(existsSync(target)).toBe(false);
      }
    },
  );

  it.skipIf(!existsSync(bin))(
    'a reader that goes away ends nothing in error; an output that cannot be written is exit 2 with a message',
    async () => {
      const dir = await layout(join(tmp, 'piped-layout'), manifest('example.com/piped'));
      const aci = join(tmp, 'piped.aci');
      expect((await appc(['build', dir, aci])).code).toBe(0);
      // `appc validate --json` of 400 paths into `head -c 1`: the pipe closes long before the last line
      const script = `"$0" "$1" validate --json ${Array(400).fill('"$2"').join(' ')} 2>"$3" | head -c 1 >/dev/null; echo "\${PIPESTATUS[0]}"`;
      const errFile = join(tmp, 'piped.err');
      const piped = spawnSync('bash', ['-c', script, process.execPath, bin, aci, errFile], {
        encoding: 'utf8',
      });
      expect(piped.stdout.trim()).toBe('0');
      expect(await readFile(errFile, 'utf8')).toBe('');
      const full = spawnSync('bash', ['-c', '"$0" "$1" version >/dev/full', process.execPath, bin], {
        encoding: 'utf8',
      });
      expect(full.status).toBe(2);
      expect(full.stderr).toContain('appc: the output could not be written (ENOSPC)');
      expect(full.stderr).not.toContain('internal error');
    },
  );

  it.skipIf(!existsSync(bin))('loads every command from its chunks and knows its own version', async () => {
    const { version } = JSON.parse(await readFile(resolve(import.meta.dirname, '../package.json'), 'utf8'));
    const v = spawnSync(process.execPath, [bin, 'version', '--json'], { encoding: 'utf8' });
    expect(JSON.parse(v.stdout)).toEqual({ appc: version, appcSpec: '0.8.11' });
    for (const command of Object.keys(commands)) {
      const help = spawnSync(process.execPath, [bin, command, '--help'], { encoding: 'utf8' });
      expect(help.status, `${command}: ${help.stderr}`).toBe(0);
      expect(help.stdout).toContain(`appc ${command}`);
    }
  });
});
