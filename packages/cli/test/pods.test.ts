// appc's pod commands on this machine's runc, catatonit and CNI plugins (root only): run with the forms scripts
// rely on, status/list/logs/enter, the exit status of the first failing app, and kill -9 of `appc run` then gc.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { hostOsArch } from '@appc/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appc } from './helpers.ts';

const isRoot = process.getuid?.() === 0;
const BIN = resolve(import.meta.dirname, '../dist/appc.cjs');
let work: string;
let g: string[];
let aci: string;
let webAci: string;

function veths(): number {
  return execFileSync('ip', ['-o', 'link', 'show', 'type', 'veth']).toString().split('\n').filter(Boolean)
    .length;
}

function mountsUnder(dir: string): string[] {
  return execFileSync('cat', ['/proc/self/mountinfo'])
    .toString()
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(dir));
}

/** The built CLI with this suite's state and config, its output piped: what a user starts and signals. */
function spawnAppc(args: string[]) {
  return spawn(process.execPath, [BIN, ...g, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

beforeAll(async () => {
  if (!isRoot) return;
  work = await mkdtemp(join(tmpdir(), 'appc-cli-pods-'));
  const rootfs = join(work, 'layout', 'rootfs');
  await mkdir(join(rootfs, 'bin'), { recursive: true });
  await mkdir(join(rootfs, 'etc'), { recursive: true });
  await copyFile('/bin/busybox', join(rootfs, 'bin', 'busybox'));
  for (const a of ['sh', 'echo', 'cat', 'wget', 'sleep', 'grep', 'id', 'httpd', 'hostname'])
    await symlink('busybox', join(rootfs, 'bin', a));
  await mkdir(join(rootfs, 'www'), { recursive: true });
  await writeFile(join(rootfs, 'www', 'index.html'), 'served from the pod\n');
  // a file whose name is not UTF-8 (Latin-1 "cafè"), which export's test removes in the pod
  await writeFile(Buffer.concat([Buffer.from(`${rootfs}/`), Buffer.from('caf\xe8', 'latin1')]), 'grave\n');
  await writeFile(
    join(rootfs, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/sh\nweb:x:1000:1000::/:/bin/sh\n',
  );
  await writeFile(join(rootfs, 'etc', 'group'), 'root:x:0:\nweb:x:1000:\n');
  const { os, arch } = hostOsArch();
  await writeFile(
    join(work, 'layout', 'manifest'),
    JSON.stringify({
      acKind: 'ImageManifest',
      acVersion: '0.8.11',
      name: 'example.com/box',
      labels: [
        { name: 'version', value: '1' },
        { name: 'os', value: os },
        { name: 'arch', value: arch },
      ],
      app: {
        exec: [
          '/bin/sh',
          '-c',
          'echo "$AC_APP_NAME sees pod $(wget -q -O - $AC_METADATA_URL/acMetadata/v1/pod/uuid)"',
        ],
        user: '0',
        group: '0',
        mountPoints: [{ name: 'data', path: '/data' }],
      },
    }),
  );
  aci = join(work, 'box.aci');
  const b = await appc(['build', join(work, 'layout'), aci]);
  expect(b.code, b.err).toBe(0);
  // the same files as example.com/web, whose app is a web server on its port "http"
  const manifest = JSON.parse(await readFile(join(work, 'layout', 'manifest'), 'utf8'));
  manifest.name = 'example.com/web';
  manifest.app = {
    exec: ['/bin/httpd', '-f', '-p', '80', '-h', '/www'],
    user: '0',
    group: '0',
    ports: [{ name: 'http', protocol: 'tcp', port: 80 }],
  };
  await writeFile(join(work, 'layout', 'manifest'), JSON.stringify(manifest));
  webAci = join(work, 'web.aci');
  const w = await appc(['build', join(work, 'layout'), webAci]);
  expect(w.code, w.err).toBe(0);
  g = ['--dir', join(work, 'state'), '--local-config', join(work, 'etc'), '--insecure-options=image'];
}, 60_000);

afterAll(async () => {
  if (!isRoot) return;
  await appc([...g, 'gc', '--grace-period', '0s']);
  await rm(work, { recursive: true, force: true });
});

describe('appc run and the pod commands (ACE-009, ACE-018, META-001)', () => {
  it('an unsigned local file needs --insecure-options=image, as in rkt', { tags: ['root'] }, async () => {
    const r = await appc(['--dir', join(work, 'state'), '--local-config', join(work, 'etc'), 'run', aci]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('ERR_STORE_UNSIGNED');
    // an image that is not there: the sandbox started meanwhile ends, and the pod's directory goes
    const missing = await appc([...g, 'run', '--net=none', `sha512-${'0'.repeat(128)}`]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('ERR_STORE_NOT_FOUND');
    const pods = join(work, 'state', 'pods');
    expect(existsSync(pods) ? readdirSync(pods) : []).toEqual([]);
  });

  it('runs two apps sharing a host volume; output, status, list, logs', { tags: ['root'] }, async () => {
    const data = join(work, 'data');
    await mkdir(data, { recursive: true });
    const uuidFile = join(work, 'uuid');
    const r = await appc([
      ...g,
      'run',
      '--net=default',
      '--volume',
      `data,kind=host,source=${data}`,
      '--uuid-file-save',
      uuidFile,
      '--name',
      'twoapps',
      aci,
      '--name',
      'writer',
      '--mount',
      'volume=data,target=/data',
      '--exec',
      '/bin/sh',
      '--',
      '-c',
      'echo shared > /data/note',
      '---',
      aci,
      '--name',
      'reader',
      '--mount',
      'volume=data,target=/data',
    ]);
    expect(r.code, r.err).toBe(0);
    const uuid = (await readFile(uuidFile, 'utf8')).trim();
    expect(r.out).toContain(`reader sees pod ${uuid}`);
    expect(await readFile(join(data, 'note'), 'utf8')).toBe('shared\n');
    const status = await appc([...g, 'status', '--json', 'twoapps']);
    expect(JSON.parse(status.out)).toMatchObject({
      uuid,
      state: 'exited',
      apps: [
        { name: 'writer', exitCode: 0 },
        { name: 'reader', exitCode: 0 },
      ],
    });
    const list = await appc([...g, 'list', '--json']);
    expect(
      list.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).uuid),
    ).toContain(uuid);
    const logs = await appc([...g, 'logs', '--app', 'reader', uuid.slice(0, 8)]);
    expect(logs.out).toBe(`reader sees pod ${uuid}\n`);
  });

  it("exits with the first failing app's status", { tags: ['root'] }, async () => {
    const r = await appc([...g, 'run', '--net=none', aci, '--exec', '/bin/sh', '--', '-c', 'exit 5']);
    expect(r.code).toBe(5);
  });

  it("rkt's run-time --insecure-options (all-run): every capability, no seccomp filter, /proc unmasked (VERIFY-007)", {
    tags: ['root'],
  }, async () => {
    const probe = [
      aci,
      '--exec',
      '/bin/sh',
      '--',
      '-c',
      'grep -E "^(CapBnd|Seccomp):" /proc/self/status; [ -c /proc/keys ] && echo keys masked || echo keys open; grep -q " /proc/sys ro," /proc/self/mountinfo && echo sys read-only || echo sys open',
    ];
    const strict = await appc([...g, 'run', '--net=none', ...probe]);
    expect(strict.code, strict.err).toBe(0);
    expect(strict.out).toMatch(/CapBnd:\s+00000000a80425fb\n/);
    expect(strict.out).toMatch(/Seccomp:\s+2\n/);
    expect(strict.out).toContain('keys masked');
    expect(strict.out).toContain('sys read-only');
    const relaxedGlobals = g.map((a) =>
      a === '--insecure-options=image' ? '--insecure-options=image,all-run' : a,
    );
    const relaxed = await appc([...relaxedGlobals, 'run', '--net=none', ...probe]);
    expect(relaxed.code, relaxed.err).toBe(0);
    // every capability this (root) process has: its own bounding set
    const own = /^CapBnd:\s*([0-9a-f]+)$/m.exec(await readFile('/proc/self/status', 'utf8'))?.[1];
    expect(relaxed.out).toContain(`CapBnd:\t${own}\n`);
    expect(relaxed.out).toMatch(/Seccomp:\s+0\n/);
    expect(relaxed.out).toContain('keys open');
    expect(relaxed.err).toContain(
      'warning: --insecure-options: the apps of this pod run with every capability (capabilities), no system call filter (seccomp), /proc unmasked and /proc/sys writable (paths) [VERIFY-007]',
    );
    expect(strict.err).not.toContain('--insecure-options:');
    expect(relaxed.out).toContain('sys open');
    // an unknown name is refused whatever the command, before it does anything
    const bogus = await appc([...g.slice(0, -1), '--insecure-options=image,bogus', 'list']);
    expect(bogus.code).toBe(2);
    expect(bogus.err).toContain('ERR_VERIFY_INSECURE_OPTION');
  });

  it('says before the app starts when a volume hides a directory of the image or replaces a file (ACE-005)', {
    tags: ['root'],
  }, async () => {
    const masked = await appc([
      ...g,
      'run',
      '--net=none',
      '--volume',
      'x,kind=empty',
      aci,
      '--mount',
      'volume=x,target=/www',
      '--exec',
      '/bin/sh',
      '--',
      '-c',
      'ls /www; echo done',
    ]);
    expect(masked.code, masked.err).toBe(0);
    expect(masked.out).toBe('done\n');
    expect(masked.err).toMatch(
      /warning: app "box": \/www is not empty in the image; volume "x" hides its contents\. \[WARN_RUN_MOUNT_TARGET_MASKED\]/,
    );
    const replaced = await appc([
      ...g,
      'run',
      '--net=none',
      '--volume',
      'y,kind=empty',
      aci,
      '--mount',
      'volume=y,target=/www/index.html',
      '--exec',
      '/bin/sh',
      '--',
      '-c',
      'ls -d /www/index.html/',
    ]);
    expect(replaced.code, replaced.err).toBe(0);
    expect(replaced.out).toBe('/www/index.html/\n');
    expect(replaced.err).toMatch(
      /warning: app "box": \/www\/index\.html was a file in the image; .*\[WARN_RUN_MOUNT_TARGET_REPLACED\]/,
    );
  });

  it('a bad flag or an unknown user is a clear error, and nothing is left running', {
    tags: ['root'],
  }, async () => {
    const bad = await appc([...g, 'run', '--net=bogus', aci]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--net=bogus');
    const user = await appc([...g, 'run', '--net=none', aci, '--user', 'nobody-here']);
    expect(user.code).toBe(1);
    expect(user.err).toContain('ERR_RUN_USER');
    expect(mountsUnder(join(work, 'state'))).toEqual([]);
  });

  it('a pod refused at start (volume source, user, working directory, program, memory limit) leaves no record, files, mounts or veths', {
    tags: ['root'],
  }, async () => {
    const state = join(work, 'state-refused');
    const gs = ['--dir', state, '--local-config', join(work, 'etc'), '--insecure-options=image'];
    await mkdir(join(work, 'real'), { recursive: true });
    await symlink(join(work, 'real'), join(work, 'linked'));
    const before = veths();
    const cases: [string[], number, RegExp][] = [
      [
        ['--volume', `data,kind=host,source=${join(work, 'absent')}`, aci],
        2,
        /host source .*absent does not exist; create it first.*ACE-006/,
      ],
      [
        ['--volume', `data,kind=host,source=${join(work, 'linked')}`, aci],
        1,
        /is a symlink; give the path it points to.*ACE-006/,
      ],
      [[aci, '--user', 'nobody-here'], 1, /user "nobody-here" is not in the image's \/etc\/passwd.*ACE-013/],
      [[aci, '--working-dir', '/absent'], 1, /working directory \/absent does not exist.*ACE-011/],
      [[aci, '--exec', '/bin/absent'], 1, /program "\/bin\/absent" was not found.*ACE-012/],
      [[aci, '--memory', '0'], 1, /limit of 0 bytes.*ISO-015/],
      [[join(work, 'layout')], 2, /layout: is a directory, not an image; build it first \(appc build /],
      [[aci, '--memory', '100k'], 2, /unable to set memory limit.*below what it needs to start: raise it/],
    ];
    for (const [args, code, message] of cases) {
      const r = await appc([...gs, 'run', ...args]);
      expect(r.code, r.err).toBe(code);
      expect(r.err).toMatch(message);
      expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
      expect(readdirSync(join(state, 'pods')), args.join(' ')).toEqual([]);
    }
    expect((await appc([...gs, 'list', '--json'])).out.trim()).toBe('');
    expect(mountsUnder(state)).toEqual([]);
    expect(veths()).toBe(before);
    expect(execFileSync('runc', ['--root', join(state, 'runc'), 'list', '-q']).toString()).toBe('');
  });

  it('prepare --dry-run prints the pod manifest and prepares nothing; a --uuid-file-save it cannot write leaves no pod', {
    tags: ['root'],
  }, async () => {
    const state = join(work, 'state-prepare');
    const gs = ['--dir', state, '--local-config', join(work, 'etc'), '--insecure-options=image'];
    const dry = await appc([...gs, 'prepare', '--dry-run', aci]);
    expect(dry.code, dry.err).toBe(0);
    expect(JSON.parse(dry.out).acKind).toBe('PodManifest');
    const nowhere = await appc([...gs, 'prepare', '--uuid-file-save', join(work, 'absent', 'uuid'), aci]);
    expect(nowhere.code).toBe(2);
    expect(nowhere.err).toContain(`${join(work, 'absent', 'uuid')}: no such file or directory`);
    const pods = join(state, 'pods');
    expect(existsSync(pods) ? readdirSync(pods) : []).toEqual([]);
    expect((await appc([...gs, 'list', '--json'])).out).toBe('');
  });

  it('--hostname and --dns reach the apps (ACE-008)', { tags: ['root'] }, async () => {
    const r = await appc([
      ...g,
      'run',
      '--net=none',
      '--hostname',
      'podhost',
      '--dns',
      '10.0.0.53',
      '--dns-search',
      'example.org',
      '--dns-opt',
      'ndots:2',
      aci,
      '--exec',
      '/bin/sh',
      '--',
      '-c',
      'hostname; cat /etc/resolv.conf',
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe('podhost\nnameserver 10.0.0.53\nsearch example.org\noptions ndots:2\n');
  });

  it('prepare, then run-prepared; run --pod-manifest; status --wait', { tags: ['root'] }, async () => {
    const prepared = await appc([
      ...g,
      'prepare',
      '--net=none',
      '--name',
      'later',
      aci,
      '--exec',
      '/bin/echo',
      '--',
      'prepared ran',
    ]);
    expect(prepared.code, prepared.err).toBe(0);
    const uuid = prepared.out.trim();
    expect(JSON.parse((await appc([...g, 'status', '--json', uuid])).out).state).toBe('prepared');
    const ran = await appc([...g, 'run-prepared', 'later']);
    expect(ran.code, ran.err).toBe(0);
    expect(ran.out).toBe('prepared ran\n');
    const waited = await appc([...g, 'status', '--wait', '--json', uuid]);
    expect(JSON.parse(waited.out)).toMatchObject({ uuid, state: 'exited', apps: [{ exitCode: 0 }] });
    expect((await appc([...g, 'run-prepared', uuid])).code).toBe(2); // not prepared any more

    const dry = await appc([
      ...g,
      'run',
      '--dry-run',
      aci,
      '--exec',
      '/bin/echo',
      '--',
      'from a pod manifest',
    ]);
    const file = join(work, 'pod.json');
    await writeFile(file, dry.out);
    const fromFile = await appc([...g, 'run', '--net=none', '--pod-manifest', file]);
    expect(fromFile.code, fromFile.err).toBe(0);
    expect(fromFile.out).toBe('from a pod manifest\n');
    await writeFile(file, dry.out.replace('"PodManifest"', '"ImageManifest"'));
    const bad = await appc([...g, 'run', '--net=none', '--pod-manifest', file]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/acKind/);
    // the sandbox started while the manifest was read is gone with its provisional record
    const listed = await appc([...g, 'list', '--json']);
    const pods = listed.out
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { apps: unknown[] });
    expect(pods.filter((p) => p.apps.length === 0)).toEqual([]);
  });

  it("run-prepared takes rkt's pod flags again: they replace what the pod was prepared with", {
    tags: ['root'],
  }, async () => {
    const prepared = await appc([
      ...g,
      'prepare',
      '--net=default',
      aci,
      '--exec',
      '/bin/sh',
      '--',
      '-c',
      'hostname; grep over.example /etc/hosts',
    ]);
    expect(prepared.code, prepared.err).toBe(0);
    const uuid = prepared.out.trim();
    // a run given up after its sandbox started (here: a damaged manifest) leaves the pod prepared, as it was
    const podManifest = join(work, 'state', 'pods', uuid, 'pod-manifest.json');
    const good = await readFile(podManifest);
    await writeFile(podManifest, '{"acKind": "PodManifest"');
    const broken = await appc([...g, 'run-prepared', '--net=none', uuid]);
    expect(broken.code, broken.err).not.toBe(0);
    const after = JSON.parse((await appc([...g, 'status', '--json', uuid])).out);
    expect(after).toMatchObject({ uuid, state: 'prepared', net: 'default' });
    expect(existsSync(join(work, 'state', 'pods', uuid, 'runtime'))).toBe(false);
    await writeFile(podManifest, good);
    const ran = await appc([
      ...g,
      'run-prepared',
      '--net=none',
      '--hostname',
      'over-host',
      '--hosts-entry',
      '10.2.3.4=over.example',
      uuid,
    ]);
    expect(ran.code, ran.err).toBe(0);
    expect(ran.out).toBe('over-host\n10.2.3.4\tover.example\n');
    expect(JSON.parse((await appc([...g, 'status', '--json', uuid])).out).net).toBe('none');
    const bad = await appc([...g, 'run-prepared', '--net=bogus', uuid]);
    expect(bad.code).toBe(2);
  });

  it('export turns an app that has ended into an image of what it changed, as rkt export did', {
    tags: ['root'],
  }, async () => {
    const ran = await appc([
      ...g,
      'run',
      '--net=none',
      '--name',
      'builder',
      aci,
      '--exec',
      '/bin/sh',
      '--',
      '-c',
      // a file written, one removed (a whiteout), a directory replaced whole (an opaque one), one added to
      'echo made > /made.txt; rm /bin/cat; rm -r /www; mkdir /www; echo new > /www/only; echo x > /etc/extra; ' +
        // and a file whose name is not UTF-8 (Latin-1 "café") written, the image's "cafè" removed
        'echo latin > "/caf$(printf \'\\351\')"; rm "/caf$(printf \'\\350\')"',
    ]);
    expect(ran.code, ran.err).toBe(0);
    const out = join(work, 'exported.aci');
    const exported = await appc([...g, 'export', 'builder', out]);
    expect(exported.code, exported.err).toBe(0);
    expect(exported.out).toMatch(/^sha512-[0-9a-f]{128}\n$/);
    const dir = join(work, 'exported');
    expect((await appc(['extract', out, dir])).code).toBe(0);
    const rootfs = join(dir, 'rootfs');
    expect(await readFile(join(rootfs, 'made.txt'), 'utf8')).toBe('made\n');
    expect(existsSync(join(rootfs, 'bin', 'cat'))).toBe(false);
    expect(existsSync(join(rootfs, 'bin', 'sh'))).toBe(true);
    expect(await readdir(join(rootfs, 'www'))).toEqual(['only']);
    expect(await readFile(join(rootfs, 'etc', 'passwd'), 'utf8')).toContain('web:x:1000');
    expect(await readFile(join(rootfs, 'etc', 'extra'), 'utf8')).toBe('x\n');
    const latin = Buffer.from('caf\xe9', 'latin1');
    const names = await readdir(rootfs, { encoding: 'buffer' });
    expect(names.some((n) => n.equals(latin))).toBe(true);
    expect(names.some((n) => n.equals(Buffer.from('caf\xe8', 'latin1')))).toBe(false);
    expect(await readFile(Buffer.concat([Buffer.from(`${rootfs}/`), latin]), 'utf8')).toBe('latin\n');
    // the app as the pod ran it
    const m = JSON.parse(await readFile(join(dir, 'manifest'), 'utf8'));
    expect(m.name).toBe('example.com/box');
    expect(m.app.exec[0]).toBe('/bin/sh');
    expect((await appc([...g, 'export', 'builder', out])).code).toBe(2); // it exists: --overwrite, as build
    expect((await appc([...g, 'export', '--overwrite', 'builder', out])).code).toBe(0);
  });

  it('export reads the copy of an app that ran without overlayfs (a state path overlay options cannot hold)', {
    tags: ['root'],
  }, async () => {
    // a comma in the path cannot go into overlay's mount options: the app gets a copy of its tree
    const state = join(work, 'with,comma');
    const c = [
      '--dir',
      join(state, 'state'),
      '--local-config',
      join(state, 'etc'),
      '--insecure-options=image',
    ];
    const ran = await appc([
      ...c,
      'run',
      '--net=none',
      '--name',
      'copied',
      aci,
      '--exec',
      '/bin/sh',
      '--',
      '-c',
      'echo copied > /c.txt; rm /bin/cat',
    ]);
    expect(ran.code, ran.err).toBe(0);
    expect(JSON.parse(await readFile(join(state, 'state', 'rootfs-method.json'), 'utf8')).method).toBe(
      'copy',
    );
    const out = join(work, 'copied.aci');
    expect((await appc([...c, 'export', 'copied', out])).code).toBe(0);
    const dir = join(work, 'copied');
    expect((await appc(['extract', out, dir])).code).toBe(0);
    expect(await readFile(join(dir, 'rootfs', 'c.txt'), 'utf8')).toBe('copied\n');
    expect(existsSync(join(dir, 'rootfs', 'bin', 'cat'))).toBe(false);
    expect(existsSync(join(dir, 'rootfs', 'bin', 'sh'))).toBe(true);
  });

  it('--dry-run prints the reified pod manifest', { tags: ['root'] }, async () => {
    const r = await appc([...g, 'run', '--dry-run', aci, '--set-env', 'A=b']);
    expect(r.code, r.err).toBe(0);
    const m = JSON.parse(r.out);
    expect(m.acKind).toBe('PodManifest');
    expect(m.apps[0].image.id).toMatch(/^sha512-/);
    expect(m.volumes).toEqual([expect.objectContaining({ name: 'data', kind: 'empty' })]);
  });

  it("rkt's pod-wide --set-env and --hosts-entry reach the app; its own variables win", {
    tags: ['root'],
  }, async () => {
    const dry = await appc([
      ...g,
      'run',
      '--dry-run',
      '--set-env',
      'A=pod',
      '--set-env',
      'B=pod',
      aci,
      '--environment',
      'B=app',
      '--annotation',
      'note=x',
      '--user-label',
      'tier=z',
    ]);
    expect(dry.code, dry.err).toBe(0);
    const m = JSON.parse(dry.out);
    expect(m.apps[0].app.environment).toEqual(
      expect.arrayContaining([
        { name: 'A', value: 'pod' },
        { name: 'B', value: 'app' },
      ]),
    );
    expect(m.apps[0].annotations).toEqual([{ name: 'note', value: 'x' }]);
    expect(m.apps[0].app.userLabels).toEqual({ tier: 'z' });
    const r = await appc([
      ...g,
      'run',
      '--net=none',
      '--set-env',
      'A=pod',
      '--hosts-entry',
      '10.1.2.3=db.example',
      aci,
      '--exec',
      '/bin/sh',
      '--',
      '-c',
      'echo "A=$A"; grep db.example /etc/hosts',
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe('A=pod\n10.1.2.3\tdb.example\n');
  });

  it('--interactive attaches the app: a terminal of its own under a terminal, the stdin stream otherwise', {
    tags: ['root'],
  }, async () => {
    if (!existsSync(BIN)) return;
    const argv = [BIN, ...g, 'run', '--net=none', '--interactive', aci, '--exec', '/bin/sh', '--', '-c'];
    // stdin a pipe: the app reads it, and has no terminal
    const piped = spawnSync(process.execPath, [...argv, 'read x; echo "got $x"; tty; exit 3'], {
      input: 'a line\n',
      encoding: 'utf8',
    });
    expect(piped.status, piped.stderr).toBe(3);
    expect(piped.stdout).toBe('got a line\nnot a tty\n');
    // under a terminal (script(1) makes one): runc gives the app a pseudo-terminal and relays it
    const quoted = [...argv, 'tty; exit 4'].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    const tty = spawnSync('script', ['-qec', `${process.execPath} ${quoted}`, '/dev/null'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(tty.status, tty.stderr + tty.stdout).toBe(4);
    expect(tty.stdout).toMatch(/\/dev\/pts\/\d+/);
    // one app only, as rkt had it
    const two = await appc([...g, 'run', '--dry-run', '--interactive', aci, aci, '--name', 'b']);
    expect(two.code).toBe(2);
    expect(two.err).toMatch(/give one IMAGE/);
  });

  it('Ctrl-C, SIGTERM or a hang-up of the terminal stops the pod and cleans up, as appc stop does', {
    tags: ['root'],
  }, async () => {
    if (!existsSync(BIN)) return;
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      const uuidFile = join(work, `uuid-${signal}`);
      const child = spawnAppc([
        'run',
        '--net=none',
        '--uuid-file-save',
        uuidFile,
        aci,
        '--exec',
        '/bin/sleep',
        '--',
        '600',
      ]);
      const exited = new Promise<number | null>((r) => child.once('exit', r));
      let state = '';
      for (let i = 0; i < 100 && state !== 'running'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        if (existsSync(uuidFile))
          state = JSON.parse(
            (await appc([...g, 'status', '--json', await readFile(uuidFile, 'utf8')])).out,
          ).state;
      }
      expect(state, signal).toBe('running');
      child.kill(signal);
      expect(await exited, signal).toBe(143); // sleep ended by SIGTERM: 128 + 15
      const uuid = await readFile(uuidFile, 'utf8');
      expect(JSON.parse((await appc([...g, 'status', '--json', uuid])).out)).toMatchObject({
        state: 'exited',
        apps: [{ exitCode: 143 }],
      });
      expect(mountsUnder(join(work, 'state', 'pods', uuid))).toEqual([]);
    }
  });

  it('stop: a bad --timeout stops nothing; a pod that outlasts it is a clear error, and --force ends it', {
    tags: ['root'],
  }, async () => {
    if (!existsSync(BIN)) return;
    const child = spawnAppc([
      'run',
      '--net=none',
      '--name',
      'stubborn',
      aci,
      '--exec',
      '/bin/sh',
      '--',
      '-c',
      "trap '' TERM; echo started; while true; do sleep 1; done",
    ]);
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (d) => String(d).includes('started') && resolve()),
    );
    const bad = await appc([...g, 'stop', '--timeout', 'soon', 'stubborn']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--timeout soon: give seconds (e.g. 30) or a duration');
    expect(JSON.parse((await appc([...g, 'status', '--json', 'stubborn'])).out).state).toBe('running');
    const late = await appc([...g, 'stop', '--timeout', '0.3', 'stubborn']);
    expect(late.code).toBe(2);
    expect(late.err).toMatch(
      /did not stop within --timeout 0\.3; wait longer \(--timeout\) or kill it \(--force\)\. \[ERR_RUN_POD_STATE\]/,
    );
    expect(late.err).not.toContain('internal error');
    const forced = await appc([...g, 'stop', '--force', 'stubborn']);
    expect(forced.code, forced.err).toBe(0);
    await exited;
    expect(JSON.parse((await appc([...g, 'status', '--json', 'stubborn'])).out).state).not.toBe('running');
    expect((await appc([...g, 'rm', 'stubborn'])).code).toBe(0);
  });

  it('SIGTERM while appc run is still setting the pod up: a clear message, never an internal error, nothing left', {
    tags: ['root'],
  }, async () => {
    if (!existsSync(BIN)) return;
    const state = join(work, 'state-interrupted');
    const gs = ['--dir', state, '--local-config', join(work, 'etc'), '--insecure-options=image'];
    for (const delay of [120, 180, 240, 300, 400]) {
      const child = spawn(
        process.execPath,
        [BIN, ...gs, 'run', '--net=none', aci, '--exec', '/bin/sleep', '--', '30'],
        {
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let err = '';
      child.stderr.on('data', (d) => {
        err += d;
      });
      const exited = new Promise<number | null>((r) => child.once('exit', r));
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGTERM');
      const code = await exited;
      expect(err, `after ${delay} ms`).not.toContain('internal error');
      expect([2, 143, null], `after ${delay} ms: ${err}`).toContain(code);
      if (code === 2) expect(err).toMatch(/interrupted by SIGTERM|aborted/);
    }
    const left = (await appc([...gs, 'list', '--json'])).out.trim().split('\n').filter(Boolean);
    expect(left.map((l) => JSON.parse(l).state).filter((st: string) => st === 'running')).toEqual([]);
    expect((await appc([...gs, 'gc', '--grace-period', '0s'])).code).toBe(0);
    expect(mountsUnder(state)).toEqual([]);
    expect(existsSync(join(state, 'pods')) ? readdirSync(join(state, 'pods')) : []).toEqual([]);
  });

  it('a running pod: --port forwards a host port, enter runs inside it, stop ends it (POD-010)', {
    tags: ['root'],
  }, async () => {
    if (!existsSync(BIN)) return;
    const uuidFile = join(work, 'uuid-web');
    const child = spawnAppc([
      'run',
      '--port',
      'http:18181',
      '--uuid-file-save',
      uuidFile,
      '--name',
      'web',
      webAci,
    ]);
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    let childErr = '';
    child.stderr.on('data', (d) => {
      childErr += d;
    });
    let body = '';
    for (let i = 0; i < 100 && body === ''; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const status = existsSync(uuidFile)
        ? JSON.parse((await appc([...g, 'status', '--json', 'web'])).out)
        : undefined;
      if (status?.state !== 'running') continue;
      body = await fetch('http://127.0.0.1:18181/').then(
        (r) => r.text(),
        () => '',
      );
    }
    expect(body, childErr).toBe('served from the pod\n');
    const inside = await appc([...g, 'enter', 'web', '/bin/cat', '/www/index.html']);
    expect(inside.code, inside.err).toBe(0);
    expect(inside.out).toBe('served from the pod\n');
    // the command's own flags follow POD without --, as in rkt; --app before POD
    const flags = await appc([
      ...g,
      'enter',
      '--app',
      'web',
      'web',
      '/bin/grep',
      '-c',
      'served',
      '/www/index.html',
    ]);
    expect(flags.code, flags.err).toBe(0);
    expect(flags.out).toBe('1\n');
    // ACE-012: a program the app does not have is named, with what to do, not runc's log line and status 255
    const missing = await appc([...g, 'enter', 'web', '/bin/absent']);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(
      /app "web" of pod .*: \/bin\/absent could not be run: .*no such file or directory; give a program of the app's filesystem.*\[ERR_RUN_EXEC_NOT_FOUND, ACE-012\]/,
    );
    expect(missing.err).not.toContain('level=error');
    const unknownApp = await appc([...g, 'enter', '--app', 'db', 'web', '/bin/true']);
    expect(unknownApp.code).toBe(2);
    expect(unknownApp.err).toMatch(/has no app "db"; its apps: web/);
    // the command's own status 255 is its own
    expect((await appc([...g, 'enter', 'web', '/bin/sh', '-c', 'exit 255'])).code).toBe(255);
    const stop = await appc([...g, 'stop', 'web']);
    expect(stop.code, stop.err).toBe(0);
    expect(await exited).toBe(143); // httpd ended by SIGTERM: 128 + 15, the first failing app's status
    const status = JSON.parse((await appc([...g, 'status', '--json', 'web'])).out);
    expect(status).toMatchObject({ state: 'exited', apps: [{ name: 'web', exitCode: 143 }] });
    // a pod that has ended cannot be entered: an error with its code, not a usage message
    const ended = await appc([...g, 'enter', 'web', '/bin/true']);
    expect(ended.code).toBe(2);
    expect(ended.err).toMatch(/is exited, not running; .*\[ERR_RUN_POD_STATE\]/);
    expect(
      await fetch('http://127.0.0.1:18181/').then(
        () => 'open',
        () => 'closed',
      ),
    ).toBe('closed');
    expect((await appc([...g, 'rm', 'web'])).code).toBe(0);
  });

  it('kill -9 of appc run mid-run, then appc gc: no container, cgroup, mount or veth is left', {
    tags: ['root'],
  }, async () => {
    if (!existsSync(BIN)) return; // the built CLI is what a user kills
    const before = veths();
    const uuidFile = join(work, 'uuid-kill');
    const child = spawnAppc([
      'run',
      '--uuid-file-save',
      uuidFile,
      aci,
      '--exec',
      '/bin/sh',
      '--',
      '-c',
      'echo up; sleep 600',
    ]);
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => String(d).includes('up') && resolve());
      child.once('exit', (code) => reject(new Error(`appc run ended early (${code})`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const uuid = (await readFile(uuidFile, 'utf8')).trim();
    expect(JSON.parse((await appc([...g, 'status', '--json', uuid])).out).state).toBe('aborted');
    const hierarchies = existsSync('/sys/fs/cgroup/cgroup.controllers')
      ? ['/sys/fs/cgroup']
      : (await readdir('/sys/fs/cgroup')).map((h) => join('/sys/fs/cgroup', h));
    const podCgroups = () => hierarchies.filter((h) => existsSync(join(h, `appc-${uuid}`)));
    expect(podCgroups().length).toBeGreaterThan(0); // what the killed run left
    const gc = await appc([...g, 'gc', '--grace-period', '0s']);
    expect(gc.code, gc.err).toBe(0);
    expect(gc.out).toContain(uuid);
    expect(mountsUnder(join(work, 'state'))).toEqual([]);
    expect(veths()).toBe(before);
    const runcRoot = join(work, 'state', 'runc');
    const left = existsSync(runcRoot)
      ? execFileSync('runc', ['--root', runcRoot, 'list', '-q']).toString().trim()
      : '';
    expect(left).toBe('');
    expect(podCgroups()).toEqual([]); // no cgroup of the pod in any hierarchy
    expect((await appc([...g, 'status', uuid])).code).toBe(2);
  });
});
