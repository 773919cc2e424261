// The distribution side audited as a hostile peer would: a real HTTPS server on loopback that lies and breaks
// off, keys and signatures by GnuPG, archives by `appc build`, a real store in a temporary directory. Each test
// names what went wrong before its fix.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { hostOsArch } from '@appc/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGpg, type Gpg } from '../../../test-support/gpg.ts';
import { makePki, startServer, type TestServer } from '../../../test-support/https-server.ts';
import { appc, layout, manifest } from './helpers.ts';

const { os, arch } = hostOsArch();
const BIN = resolve(import.meta.dirname, '../dist/appc.cjs');
let work: string;
let gpg: Gpg;
let fpr: string;
let server: TestServer;
let net: string[];
/** Path → what the server answers: bytes, or a handler that may lie. */
const routes = new Map<string, Uint8Array | ((req: IncomingMessage, res: ServerResponse) => void)>();

const file = (name: string) => join(work, name);
/** Global flags for a state dir and a config dir of their own. */
const g = (state: string) => [
  '--dir',
  file(state),
  '--local-config',
  file(`etc-${state}`),
  '--system-config',
  file('none'),
];
const imagePath = (name: string, version: string) => `/${name}-${version}-${os}-${arch}.aci`;

async function build(name: string, version: string, out: string, extra: Record<string, unknown> = {}) {
  const labels = [
    { name: 'version', value: version },
    { name: 'os', value: os },
    { name: 'arch', value: arch },
  ];
  const dir = await layout(
    file(`layout-${name.replace(/\W/g, '_')}-${version}`),
    manifest(name, { labels, ...extra }),
    {
      'bin/hello': `#!/bin/sh\necho ${version}\n`,
    },
  );
  const r = await appc(['build', '--overwrite', dir, out]);
  expect(r.code, r.err).toBe(0);
  return r.out.trim();
}

/** Builds, signs and serves NAME:VERSION; returns its image ID. */
async function serve(name: string, version: string): Promise<string> {
  const out = file(`${name.replace(/\W/g, '_')}-${version}.aci`);
  const id = await build(name, version, out);
  await gpg.detachSign(out, fpr, { out: `${out}.asc`, armor: true });
  routes.set(imagePath(name, version), await readFile(out));
  routes.set(`${imagePath(name, version)}.asc`, await readFile(`${out}.asc`));
  const base = `https://example.com:${server.port}/{name}-{version}-{os}-{arch}.{ext}`;
  routes.set(
    `/${name.split('/').slice(1).join('/')}`,
    Buffer.from(
      `<html><head><meta name="ac-discovery" content="${name} ${base}">` +
        `<meta name="ac-discovery-pubkeys" content="${name} https://example.com:${server.port}/pubkeys.gpg"></head></html>`,
    ),
  );
  return id;
}

async function trusted(state: string): Promise<void> {
  const r = await appc([
    ...g(state),
    'trust',
    'add',
    '--skip-fingerprint-review',
    '--prefix',
    'example.com',
    file('pub.asc'),
  ]);
  expect(r.code, r.err).toBe(0);
}

const blobOf = (state: string, id: string) =>
  join(file(state), 'images/blobs/sha512', id.slice(7, 9), id.slice(7));
const tmpOf = async (state: string) => readdir(join(file(state), 'images/tmp')).catch(() => []);
const listed = async (state: string) =>
  (await appc([...g(state), 'image', 'list', '--json'])).out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l).id as string);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'appc-audit-dist-'));
  gpg = await createGpg();
  fpr = await gpg.genKey('Audit Publisher <audit@example.com>');
  await writeFile(file('pub.asc'), await gpg.exportPublic(fpr));
  await writeFile(file('pub.gpg'), await gpg.exportPublic(fpr, false));
  await writeFile(file('secret.asc'), await gpg.exportSecret(fpr));
  const pki = makePki(['example.com']);
  await writeFile(file('ca.crt'), pki.ca);
  server = await startServer(pki);
  server.handle = (req, res) => {
    const route = routes.get(new URL(String(req.url), 'https://x').pathname);
    if (typeof route === 'function') return route(req, res);
    if (route === undefined) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.end(route);
  };
  routes.set('/pubkeys.gpg', await readFile(file('pub.asc')));
  net = ['--port', String(server.port), '--resolve', 'example.com=127.0.0.1', '--ca', file('ca.crt')];
}, 60_000);

afterAll(async () => {
  await server?.close();
  await gpg?.close();
  await rm(work, { recursive: true, force: true });
});

describe('fetch from a hostile server', () => {
  it('DISC-002: a body cut off before its Content-Length is ERR_DISC_TRUNCATED (exit 2), not an invalid ACI; nothing stored', async () => {
    await serve('example.com/cut', '1.0.0');
    const whole = routes.get(imagePath('example.com/cut', '1.0.0')) as Uint8Array;
    routes.set(imagePath('example.com/cut', '1.0.0'), (_req, res) => {
      res.setHeader('content-length', String(whole.length + 4096));
      res.write(whole);
      setTimeout(() => res.destroy(), 30);
    });
    await trusted('cut');
    const r = await appc([...g('cut'), 'fetch', ...net, 'example.com/cut:1.0.0']);
    // before: exit 1, "is not a valid ACI; nothing was stored [ERR_STORE_INVALID_IMAGE]" around ERR_DISC_NETWORK
    expect(r.code, r.err).toBe(2);
    expect(r.err).toContain('ERR_DISC_TRUNCATED');
    expect(r.err).toContain(`${imagePath('example.com/cut', '1.0.0')}: the download ended after`);
    expect(r.err).not.toContain('not a valid ACI');
    expect(await listed('cut')).toEqual([]);
    expect(await tmpOf('cut')).toEqual([]);
  });
});

describe('publish, sign and trust refuse what would hurt', () => {
  it('VERIFY-005: publish --key with a private key is refused and nothing is written (it served the secret key)', async () => {
    const aci = file('pub-app.aci');
    await build('example.com/pubapp', '1.0.0', aci);
    expect((await appc(['sign', '--key', file('secret.asc'), aci])).code).toBe(0);
    const r = await appc(['publish', '--out', file('site-secret'), '--key', file('secret.asc'), aci]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('ERR_VERIFY_SECRET_KEY');
    expect(r.err).toContain(file('secret.asc'));
    expect(r.err).toContain(`gpg --armor --export ${fpr.toLowerCase()}`);
    expect(existsSync(file('site-secret'))).toBe(false);
  });

  it('VERIFY-005: publish --key with a file that is not a key is refused; a binary public key is published armored', async () => {
    const aci = file('pub-app.aci');
    const bad = await appc(['publish', '--out', file('site-bad'), '--key', aci, aci]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('ERR_VERIFY_MALFORMED_KEY');
    expect(existsSync(file('site-bad'))).toBe(false);
    const ok = await appc(['publish', '--out', file('site-bin'), '--key', file('pub.gpg'), aci]);
    expect(ok.code, ok.err).toBe(0);
    const published = await readFile(join(file('site-bin'), 'pubkeys.gpg'), 'utf8');
    expect(published).toContain('-----BEGIN PGP PUBLIC KEY BLOCK-----');
    expect(published).not.toContain('PRIVATE');
  });

  it('DISC-006: publish refuses a version label that cannot appear in a URL as it is (it wrote a site nothing could fetch)', async () => {
    const aci = file('odd.aci');
    await build('example.com/odd', '1.0#beta', aci);
    expect((await appc(['sign', '--key', file('secret.asc'), aci])).code).toBe(0);
    const r = await appc(['publish', '--out', file('site-odd'), '--key', file('pub.asc'), aci]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('ERR_DISC_BAD_OPTIONS');
    expect(r.err).toContain('"version" label "1.0#beta" has "#"');
    expect(existsSync(file('site-odd'))).toBe(false);
  });

  it('DISC-005, DISC-006: publishing an older version into a site keeps its newer latest and its advertised keys', async () => {
    const newer = file('site-v2.aci');
    const older = file('site-v1.aci');
    await build('example.com/siteapp', '2.0.0', newer);
    await build('example.com/siteapp', '1.5.0', older);
    for (const aci of [newer, older])
      expect((await appc(['sign', '--key', file('secret.asc'), aci])).code).toBe(0);
    const site = file('site-twice');
    expect((await appc(['publish', '--out', site, '--key', file('pub.asc'), newer])).code).toBe(0);
    const second = await appc(['publish', '--out', site, older]);
    expect(second.code, second.err).toBe(0);
    // before: latest became 1.5.0 and index.html lost its ac-discovery-pubkeys tag (pubkeys.gpg still there)
    const latest = join(site, 'images/example.com', `siteapp-latest-${os}-${arch}.aci`);
    expect(await readFile(latest)).toEqual(await readFile(newer));
    for (const page of ['index.html', 'siteapp/index.html'])
      expect(await readFile(join(site, page), 'utf8')).toContain(
        '<meta name="ac-discovery-pubkeys" content="example.com https://example.com/pubkeys.gpg">',
      );
    expect(existsSync(join(site, 'images/example.com', `siteapp-1.5.0-${os}-${arch}.aci.asc`))).toBe(true);
  });

  it('VERIFY-009: sign refuses a file that is not an ACI and writes no signature', async () => {
    await writeFile(file('notes.txt'), 'not an image\n');
    const r = await appc(['sign', '--key', file('secret.asc'), file('notes.txt')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('ERR_ACI_BAD_COMPRESSION');
    expect(existsSync(file('notes.txt.asc'))).toBe(false);
  });

  it('VERIFY-002, VERIFY-009: a device or an oversized file as key, signature or passphrase is refused after a bounded read (/dev/zero ran out of memory); a pipe is read', async () => {
    const aci = file('zero.aci');
    await build('example.com/zero', '1.0.0', aci);
    for (const [argv, message] of [
      [['verify', aci, '/dev/zero'], 'is far too large for a detached signature'],
      [['sign', '--key', '/dev/zero', aci], 'is too large for an OpenPGP private key'],
      [['sign', '--key', file('secret.asc'), '--passphrase-file', '/dev/zero', aci], 'larger than 64 KiB'],
      [
        ['--insecure-options=image', 'publish', '--out', file('site-zero'), '--key', '/dev/zero', aci],
        'is too large for an OpenPGP public key',
      ],
    ] as const) {
      const r = await appc([...g('zero'), ...argv]);
      expect(r.code, argv.join(' ')).toBeGreaterThan(0);
      expect(r.err).toContain(`/dev/zero: `);
      expect(r.err).toContain(message);
    }
    expect(existsSync(`${aci}.asc`)).toBe(false);
    await writeFile(file('huge.asc'), Buffer.alloc(2 << 20, 0x41));
    const big = await appc([...g('zero'), 'verify', aci, file('huge.asc')]);
    expect(big.code).toBe(1);
    expect(big.err).toContain('ERR_VERIFY_MALFORMED_SIGNATURE');
    expect(big.err).toContain(`${file('huge.asc')}: 2097152 bytes is far too large for a detached signature`);
    expect(existsSync(file('site-zero'))).toBe(false);
    // a pipe, as a shell's --passphrase-file <(pass show key) gives, is read like a file
    const fifo = file('passphrase.fifo');
    execFileSync('mkfifo', [fifo]);
    const writer = writeFile(fifo, 'unused\n');
    const piped = await appc(['sign', '--key', file('secret.asc'), '--passphrase-file', fifo, aci]);
    await writer;
    expect(piped.code, piped.err).toBe(0);
    expect(existsSync(`${aci}.asc`)).toBe(true);
  });

  it('VERIFY-009: sign --output into a missing directory names that output, not a temporary file', async () => {
    const r = await appc([
      'sign',
      '--key',
      file('secret.asc'),
      '--output',
      file('missing/app.asc'),
      file('pub-app.aci'),
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${file('missing/app.asc')}: no such file or directory`);
    expect(r.err).not.toContain('.tmp');
  });

  it('VERIFY-005: an http key URL is refused with advice that works (it named a flag appc does not have)', async () => {
    const url = `http://example.com:${server.port}/pubkeys.gpg`;
    const add = ['trust', 'add', '--skip-fingerprint-review', '--prefix', 'example.com/http', url, ...net];
    const r = await appc([...g('http'), ...add]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('ERR_VERIFY_INSECURE_KEY_URL');
    expect(r.err).toContain('--insecure-options=http');
    const again = await appc([...g('http'), '--insecure-options=http', ...add]);
    expect(again.code, again.err).toBe(0);
    expect(again.out.trim()).toBe(fpr.toLowerCase());
  });
});

describe('a damaged trust store', () => {
  it('VERIFY-003: a damaged key file under another prefix does not block a fetch by URL, and trust remove deletes it', async () => {
    const id = await serve('example.com/byurl', '1.0.0');
    await trusted('dmgtrust');
    const damaged = join(file('etc-dmgtrust'), 'trustedkeys/prefix.d/example.org/other', 'ab'.repeat(20));
    await mkdir(join(damaged, '..'), { recursive: true });
    await writeFile(damaged, 'not a key');
    const url = `https://example.com:${server.port}${imagePath('example.com/byurl', '1.0.0')}`;
    // before: exit 1 with ERR_VERIFY_MALFORMED_KEY about the unrelated file
    const f = await appc([...g('dmgtrust'), 'fetch', ...net, url]);
    expect(f.code, f.err).toBe(0);
    expect(f.out.trim()).toBe(id);
    const list = await appc([...g('dmgtrust'), 'trust', 'list']);
    expect(list.code).toBe(1);
    expect(list.err).toContain(`${damaged}: this trusted key file is not a readable OpenPGP public key`);
    expect(list.err).toContain(`appc trust remove ${'ab'.repeat(20)}`);
    // before: remove read every key first, and failed on the very file it was asked to remove
    const rmd = await appc([...g('dmgtrust'), 'trust', 'remove', 'ab'.repeat(20)]);
    expect(rmd.code, rmd.err).toBe(0);
    expect(rmd.err).toContain(`Removed ${damaged}`);
    expect((await appc([...g('dmgtrust'), 'trust', 'list'])).code).toBe(0);
  });
});

describe('a damaged store', () => {
  it('ACI-024: image export of a blob damaged on disk is ERR_STORE_CORRUPT and writes nothing (it copied the damage, exit 0)', async () => {
    const id = await build('example.com/damaged', '1.0.0', file('damaged.aci'));
    expect((await appc([...g('dmg'), '--insecure-options=image', 'fetch', file('damaged.aci')])).code).toBe(
      0,
    );
    const blob = blobOf('dmg', id);
    const bytes = await readFile(blob);
    bytes[bytes.length - 20] = (bytes[bytes.length - 20] as number) ^ 0xff;
    await writeFile(blob, bytes);
    const r = await appc([...g('dmg'), 'image', 'export', id, file('exported.aci')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('ERR_STORE_CORRUPT');
    expect(r.err).toContain(`appc image rm ${id}`);
    expect(existsSync(file('exported.aci'))).toBe(false);
    expect((await readdir(work)).filter((n) => n.includes('exported'))).toEqual([]);
    // extract says which stored image to remove, not "download or build the archive again"
    const x = await appc([...g('dmg'), 'image', 'extract', id, file('extracted')]);
    expect(x.code).toBe(1);
    expect(x.err).toContain('ERR_STORE_CORRUPT');
    expect(x.err).toContain(`appc image rm ${id}`);
  });

  it('ACI-024: image render of a blob swapped for another valid image is refused (it rendered the other image)', async () => {
    const id = await build('example.com/swap', '1.0.0', file('swap1.aci'));
    await build('example.com/swap', '2.0.0', file('swap2.aci'));
    expect((await appc([...g('swap'), '--insecure-options=image', 'fetch', file('swap1.aci')])).code).toBe(0);
    await copyFile(file('swap2.aci'), blobOf('swap', id));
    const r = await appc([...g('swap'), 'image', 'render', id, file('rendered')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('ERR_STORE_CORRUPT');
    expect(existsSync(file('rendered'))).toBe(false);
  });

  it('a missing or emptied index.db is rebuilt from the stored images (the blobs were deleted as orphans)', async () => {
    const id = await build('example.com/reindex', '1.0.0', file('reindex.aci'));
    expect((await appc([...g('idx'), '--insecure-options=image', 'fetch', file('reindex.aci')])).code).toBe(
      0,
    );
    const index = join(file('idx'), 'images/index.db');
    await writeFile(index, '');
    for (const suffix of ['-wal', '-shm']) await rm(`${index}${suffix}`, { force: true });
    expect(await listed('idx')).toEqual([id]);
    expect(existsSync(blobOf('idx', id))).toBe(true);
    // the advice for a damaged index (move it away) now loses nothing
    await writeFile(index, 'not a database '.repeat(100));
    const broken = await appc([...g('idx'), 'image', 'list']);
    expect(broken.code).toBe(1);
    expect(broken.err).toContain('ERR_STORE_CORRUPT');
    expect(broken.err).toContain(`mv ${index} ${index}.damaged`);
    await rename(index, `${index}.damaged`);
    const gc = await appc([...g('idx'), 'image', 'gc', '--grace-period', '1h']);
    expect(gc.code, gc.err).toBe(0);
    expect(await listed('idx')).toEqual([id]);
  });
});

describe('crashes and races', () => {
  it('SIGKILL during a download leaves no entry; gc removes the partial file; the next fetch works', async () => {
    expect(existsSync(BIN), 'run the build first').toBe(true);
    const id = await serve('example.com/slow', '1.0.0');
    const whole = routes.get(imagePath('example.com/slow', '1.0.0')) as Uint8Array;
    let started: () => void = () => {};
    const sending = new Promise<void>((r) => {
      started = r;
    });
    routes.set(imagePath('example.com/slow', '1.0.0'), (_req, res) => {
      // half now, the rest never: the client is killed while it waits
      res.setHeader('content-length', String(whole.length));
      res.write(whole.subarray(0, whole.length >> 1));
      started();
    });
    await trusted('kill');
    const child = spawn(process.execPath, [BIN, ...g('kill'), 'fetch', ...net, 'example.com/slow:1.0.0'], {
      stdio: 'ignore',
    });
    const closed = new Promise((r) => child.on('close', r));
    await sending;
    for (let i = 0; i < 50 && (await tmpOf('kill')).length === 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    await closed;
    expect(await listed('kill')).toEqual([]);
    routes.set(imagePath('example.com/slow', '1.0.0'), whole);
    const gc = await appc([...g('kill'), 'image', 'gc']);
    expect(gc.code, gc.err).toBe(0);
    expect(await tmpOf('kill')).toEqual([]);
    const [a, b] = await Promise.all([
      appc([...g('kill'), 'fetch', ...net, 'example.com/slow:1.0.0']),
      appc([...g('kill'), 'fetch', ...net, 'example.com/slow:1.0.0']),
    ]);
    expect([a.code, b.code], a.err + b.err).toEqual([0, 0]);
    expect(await listed('kill')).toEqual([id]);
  });
});

describe('a store on a file system that refuses (root: tmpfs)', () => {
  const isRoot = process.getuid?.() === 0;
  it.runIf(isRoot)(
    'a read-only or full store is ERR_STORE_IO naming the store (exit 2), never a half-written entry',
    { tags: ['root'] },
    async () => {
      const mnt = file('mnt');
      await mkdir(mnt);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]);
      try {
        const small = await build('example.com/small', '1.0.0', file('small.aci'));
        const state = [
          '--dir',
          join(mnt, 'state'),
          '--local-config',
          file('etc-mnt'),
          '--system-config',
          file('none'),
        ];
        const fetch = async (aci: string) => appc([...state, '--insecure-options=image', 'fetch', aci]);
        expect((await fetch(file('small.aci'))).code).toBe(0);
        // full: a 3 MiB image of random bytes into what is left of 2 MiB
        const big = join(work, 'big-layout');
        await mkdir(join(big, 'rootfs'), { recursive: true });
        await writeFile(join(big, 'manifest'), JSON.stringify(manifest('example.com/big')));
        await writeFile(join(big, 'rootfs/noise'), randomBytes(3 << 20));
        expect((await appc(['build', big, file('big.aci')])).code).toBe(0);
        const full = await fetch(file('big.aci'));
        expect(full.code).toBe(2);
        expect(full.err).toContain('ERR_STORE_IO');
        expect(full.err).toContain(`${join(mnt, 'state', 'images')}: storing`);
        expect(full.err).toContain('no space left');
        expect(await readdir(join(mnt, 'state/images/tmp'))).toEqual([]);
        // read-only: before, "unable to open database file [SQLITE_CANTOPEN]", exit 1, no path
        execFileSync('mount', ['-o', 'remount,ro', mnt]);
        const ro = await appc([...state, 'image', 'list']);
        expect(ro.code).toBe(2);
        expect(ro.err).toContain('ERR_STORE_IO');
        expect(ro.err).toContain(
          `${join(mnt, 'state', 'images')}: opening the image index failed: the file system is read-only`,
        );
        execFileSync('mount', ['-o', 'remount,rw', mnt]);
        expect(await listed2(state)).toEqual([small]);
      } finally {
        execFileSync('umount', [mnt]);
      }
    },
  );
});

async function listed2(state: string[]): Promise<string[]> {
  return (await appc([...state, 'image', 'list', '--json'])).out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l).id as string);
}
