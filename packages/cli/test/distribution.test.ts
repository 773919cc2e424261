// appc's distribution commands end to end with real parts: keys and signatures by GnuPG, a site written by
// `appc publish` and served by a plain static HTTPS server (scripts/serve-static.mjs, a separate process) with a
// CA made by openssl, a store and trust store in temporary dirs.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { hostOsArch } from '@appc/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConnectProxy } from '../../../test-support/connect-proxy.ts';
import { createGpg, type Gpg } from '../../../test-support/gpg.ts';
import { makePki, startServer } from '../../../test-support/https-server.ts';
import { appc, layout, manifest } from './helpers.ts';

const { os, arch } = hostOsArch();
const SERVE = resolve(import.meta.dirname, '../../../scripts/serve-static.mjs');
let work: string;
let gpg: Gpg;
let fpr: string;
let otherFpr: string;
let server: ChildProcess;
let port: number;
let id: string;
let g: string[];
let net: string[];

const file = (name: string) => join(work, name);
/** Global flags for a state dir and a config dir of their own (no system config). */
const globals = (state: string, etc: string) => [
  '--dir',
  file(state),
  '--local-config',
  file(etc),
  '--system-config',
  file('no-system'),
];

async function buildImage(name: string, version: string, out: string, extra = ''): Promise<string> {
  const dir = await layout(
    join(work, `layout-${version}${extra}`),
    manifest(name, {
      labels: [
        { name: 'version', value: version },
        { name: 'os', value: os },
        { name: 'arch', value: arch },
      ],
    }),
    { 'bin/hello': `#!/bin/sh\necho hello ${version}${extra}\n` },
  );
  const r = await appc(['build', '--deterministic', dir, out], { env: { SOURCE_DATE_EPOCH: '1700000000' } });
  expect(r.code, r.err).toBe(0);
  return r.out.trim();
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'appc-cli-dist-'));
  gpg = await createGpg();
  fpr = await gpg.genKey('Hello Publisher <hello@example.com>');
  otherFpr = await gpg.genKey('Someone Else <else@example.net>');
  await writeFile(file('pub.asc'), await gpg.exportPublic(fpr));
  await writeFile(file('key.asc'), await gpg.exportSecret(fpr));
  await writeFile(file('other-key.asc'), await gpg.exportSecret(otherFpr));
  const pki = makePki(['example.com']);
  await writeFile(file('ca.crt'), pki.ca);
  await writeFile(file('site.crt'), pki.cert);
  await writeFile(file('site.key'), pki.key);
  server = spawn(
    process.execPath,
    [
      SERVE,
      '--dir',
      file('site'),
      '--cert',
      file('site.crt'),
      '--key',
      file('site.key'),
      '--port-file',
      file('port'),
    ],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 100 && !port; i++) {
    port = Number((await readFile(file('port'), 'utf8').catch(() => '')).trim());
    if (!port) await new Promise((r) => setTimeout(r, 50));
  }
  g = globals('state', 'etc');
  net = ['--port', String(port), '--resolve', 'example.com=127.0.0.1', '--ca', file('ca.crt')];
  id = await buildImage('example.com/hello', '1.0.0', file('hello.aci'));
}, 60_000);

afterAll(async () => {
  server?.kill();
  await gpg?.close();
  await rm(work, { recursive: true, force: true });
});

describe('sign, publish, discover, trust, fetch (VERIFY-009, DISC-001..DISC-009, VERIFY-001..VERIFY-006)', () => {
  it('sign writes ACI.asc that gpg accepts', async () => {
    const r = await appc(['sign', '--key', file('key.asc'), file('hello.aci')]);
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim()).toBe(`${file('hello.aci')}.asc`);
    await expect(gpg.verify(`${file('hello.aci')}.asc`, file('hello.aci'))).resolves.toContain('GOODSIG');
  });

  it('publish writes the site; discover --json reads it back', async () => {
    const r = await appc([
      'publish',
      '--out',
      file('site'),
      '--base-url',
      `https://example.com:${port}`,
      '--key',
      file('pub.asc'),
      file('hello.aci'),
    ]);
    expect(r.code, r.err).toBe(0);
    await stat(join(file('site'), 'images/example.com', `hello-1.0.0-${os}-${arch}.aci.asc`));
    const d = await appc([...g, 'discover', '--json', ...net, 'example.com/hello:1.0.0']);
    expect(d.code, d.err).toBe(0);
    const base = `https://example.com:${port}/images/example.com/hello-1.0.0-${os}-${arch}`;
    expect(JSON.parse(d.out)).toEqual({
      name: 'example.com/hello',
      labels: { version: '1.0.0', os, arch },
      endpoints: [{ aci: `${base}.aci`, asc: `${base}.aci.asc` }],
      pubkeys: [`https://example.com:${port}/pubkeys.gpg`],
    });
  });

  it('fetch refuses while no key is trusted, and stores nothing', async () => {
    const r = await appc([...g, 'fetch', ...net, 'example.com/hello:1.0.0']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('ERR_VERIFY_NO_TRUSTED_KEY');
    expect(r.err).toContain('appc trust add --prefix example.com/hello');
    expect((await appc([...g, 'image', 'list', '--json'])).out).toBe('');
  });

  it('trust add without a terminal needs a pin or --skip-fingerprint-review', async () => {
    const r = await appc([...g, 'trust', 'add', '--prefix', 'example.com/hello', ...net]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('ERR_VERIFY_REVIEW_REQUIRED');
    const wrong = await appc([
      ...g,
      'trust',
      'add',
      '--prefix',
      'example.com/hello',
      '--fingerprint',
      otherFpr,
      ...net,
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toContain('ERR_VERIFY_FINGERPRINT_MISMATCH');
  });

  it('trust add discovers the key and pins it; fetch then stores the image; a re-fetch downloads nothing', async () => {
    const t = await appc([
      ...g,
      'trust',
      'add',
      '--prefix',
      'example.com/hello',
      '--fingerprint',
      fpr,
      ...net,
    ]);
    expect(t.code, t.err).toBe(0);
    expect(t.out.trim()).toBe(fpr.toLowerCase());
    // asked again, in a script with no pin: the same key is already trusted, so nothing to review (rkt#3756)
    const retrust = await appc([...g, 'trust', 'add', '--prefix', 'example.com/hello', ...net]);
    expect(retrust.code, retrust.err).toBe(0);
    expect(retrust.out.trim()).toBe(fpr.toLowerCase());
    expect(retrust.err).toContain('Already trusted');
    const list = await appc([...g, 'trust', 'list', '--json']);
    expect(JSON.parse(list.out)).toMatchObject({
      fingerprint: fpr.toLowerCase(),
      prefix: 'example.com/hello',
    });

    const f = await appc([...g, 'fetch', ...net, 'example.com/hello:1.0.0']);
    expect(f.code, f.err).toBe(0);
    expect(f.out.trim()).toBe(id);
    const again = await appc([...g, 'fetch', '--json', ...net, 'example.com/hello:1.0.0']);
    expect(again.code, again.err).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({ id, from: 'not-modified', signer: fpr.toLowerCase() });
    const latest = await appc([...g, 'fetch', '--json', '--pull-policy', 'new', ...net, 'example.com/hello']);
    expect(JSON.parse(latest.out)).toMatchObject({ id, from: 'store' });
  });

  it('fetch goes through the proxy named by https_proxy, and a 407 is a clear error (DISC-002)', async () => {
    const proxy = await startConnectProxy({ credentials: 'u:p' });
    try {
      // no --resolve: the proxy resolves example.com (to the loopback server)
      const via = ['--port', String(port), '--ca', file('ca.crt')];
      const state = globals('proxy-state', 'etc');
      const f = await appc([...state, 'fetch', ...via, 'example.com/hello:1.0.0'], {
        env: { https_proxy: `http://u:p@127.0.0.1:${proxy.port}` },
      });
      expect(f.code, f.err).toBe(0);
      expect(f.out.trim()).toBe(id);
      expect(proxy.seen.length).toBeGreaterThanOrEqual(3); // discovery page, image, signature
      expect(proxy.seen.every((s) => s.allowed && s.target === `example.com:${port}`)).toBe(true);
      const refused = await appc([...state, 'fetch', ...via, 'example.com/hello:2.0.0'], {
        env: { HTTPS_PROXY: `http://127.0.0.1:${proxy.port}` },
      });
      expect(refused.code).toBe(2);
      expect(refused.err).toMatch(/407 Proxy Authentication Required.*\[ERR_DISC_PROXY/s);
    } finally {
      await proxy.close();
    }
  });

  it('trust add takes a binary (not armored) key from an https URL (VERIFY-005)', async () => {
    await mkdir(file('site/keys'), { recursive: true });
    await writeFile(file('site/keys/pub.gpg'), await gpg.exportPublic(fpr, false));
    const own = globals('bin-state', 'bin-etc');
    const url = `https://example.com:${port}/keys/pub.gpg`;
    const t = await appc([
      ...own,
      'trust',
      'add',
      '--prefix',
      'example.com/bin',
      '--fingerprint',
      fpr,
      ...net,
      url,
    ]);
    expect(t.code, t.err).toBe(0);
    expect(t.out.trim()).toBe(fpr.toLowerCase());
  });

  it('trust add shows the key on a terminal and stores it only after "yes" (VERIFY-005)', async () => {
    const other = globals('state2', 'etc2');
    const no = await appc([...other, 'trust', 'add', '--prefix', 'example.com', file('pub.asc')], {
      typed: 'no\n',
    });
    expect(no.code).toBe(1);
    expect(no.err).toContain('Prefix: "example.com"');
    expect(no.err).toMatch(/GPG key fingerprint is: [0-9A-F]{4} /);
    expect((await appc([...other, 'trust', 'list', '--json'])).out).toBe('');
    const yes = await appc([...other, 'trust', 'add', '--prefix', 'example.com', file('pub.asc')], {
      typed: 'yes\n',
    });
    expect(yes.code, yes.err).toBe(0);
    expect(yes.out.trim()).toBe(fpr.toLowerCase());
  });

  it('fetch --trust-keys-from-https trusts the keys a name publishes when none is trusted (VERIFY-006)', async () => {
    const other = globals('state3', 'etc3');
    const r = await appc([...other, 'fetch', '--trust-keys-from-https', ...net, 'example.com/hello:1.0.0']);
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim()).toBe(id);
    const keys = await appc([...other, 'trust', 'list', '--json']);
    expect(JSON.parse(keys.out)).toMatchObject({
      fingerprint: fpr.toLowerCase(),
      prefix: 'example.com/hello',
    });
  });

  it('a download shows a progress line on a terminal, for fetch and for run alike; none without one', async () => {
    // the keys trusted above (etc), and stores of their own, so that the image is downloaded again
    const tty = await appc(
      [...globals('progress-fetch', 'etc'), 'fetch', ...net, 'example.com/hello:1.0.0'],
      {
        tty: true,
      },
    );
    expect(tty.code, tty.err).toBe(0);
    expect(tty.err).toMatch(/Downloading https:\/\/example\.com:\d+\/\S+\.aci .*100%\n/);
    // run's pod flags spell the discovery port --discovery-port (its --port forwards a pod's port)
    const runNet = [
      '--discovery-port',
      String(port),
      '--resolve',
      'example.com=127.0.0.1',
      '--ca',
      file('ca.crt'),
    ];
    const run = await appc(
      [
        ...globals('progress-run', 'etc'),
        'run',
        '--dry-run',
        ...runNet,
        'example.com/hello:1.0.0',
        '--exec',
        '/bin/hello',
      ],
      { tty: true },
    );
    expect(run.code, run.err).toBe(0);
    expect(run.err).toMatch(/Downloading https:\/\/example\.com:\d+\/\S+\.aci .*100%\n/);
    const quiet = await appc([
      ...globals('progress-quiet', 'etc'),
      'fetch',
      ...net,
      'example.com/hello:1.0.0',
    ]);
    expect(quiet.err).not.toContain('Downloading');
  });

  it('verify checks a signature against the trusted keys', async () => {
    const ok = await appc([...g, 'verify', '--json', file('hello.aci')]);
    expect(ok.code, ok.err).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({
      valid: true,
      fingerprint: fpr.toLowerCase(),
      name: 'example.com/hello',
    });
    const other = await appc([
      'sign',
      '--key',
      file('other-key.asc'),
      '--output',
      file('other.asc'),
      file('hello.aci'),
    ]);
    expect(other.code, other.err).toBe(0);
    const bad = await appc([...g, 'verify', file('hello.aci'), file('other.asc')]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('ERR_VERIFY_UNKNOWN_SIGNER');
  });

  it('a tampered image on the site is refused and not stored', async () => {
    const evil = await buildImage('example.com/hello', '2.0.0', file('evil.aci'), '-evil');
    const good = await buildImage('example.com/hello', '2.0.0', file('good2.aci'));
    expect(evil).not.toBe(good);
    expect((await appc(['sign', '--key', file('key.asc'), file('good2.aci')])).code).toBe(0);
    const p = await appc([
      'publish',
      '--out',
      file('site'),
      '--base-url',
      `https://example.com:${port}`,
      file('good2.aci'),
    ]);
    expect(p.code, p.err).toBe(0);
    // swap the archive, keep the signature of the good one
    await writeFile(
      join(file('site'), 'images/example.com', `hello-2.0.0-${os}-${arch}.aci`),
      await readFile(file('evil.aci')),
    );
    const r = await appc([...g, 'fetch', ...net, 'example.com/hello:2.0.0']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('ERR_VERIFY_BAD_SIGNATURE');
    const ids = (await appc([...g, 'image', 'list', '--json'])).out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).id);
    expect(ids).toEqual([id]);
  });

  it('plain http is refused without --insecure-options=http', async () => {
    const r = await appc([
      ...g,
      'fetch',
      `http://127.0.0.1:${port}/images/example.com/hello-1.0.0-${os}-${arch}.aci`,
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('ERR_DISC_HTTP_NOT_ALLOWED');
  });
});

describe('fetch of files and --insecure-options (VERIFY-001, VERIFY-007)', () => {
  it('an unsigned file is refused; --insecure-options=image stores it with a warning', async () => {
    await buildImage('example.com/unsigned', '0.1.0', file('unsigned.aci'));
    const refused = await appc([...g, 'fetch', file('unsigned.aci')]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('ERR_STORE_UNSIGNED');
    const ok = await appc([...g, '--insecure-options=image', 'fetch', file('unsigned.aci')]);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.err).toContain('WARN_STORE_UNVERIFIED');
    expect(ok.out).toMatch(/^sha512-[0-9a-f]{128}\n$/);
  });

  it('an unknown --insecure-options name is a usage error', async () => {
    const r = await appc([...g, '--insecure-options', 'everything', 'fetch', file('hello.aci')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('ERR_VERIFY_INSECURE_OPTION');
  });

  it('--pull-policy takes only new, update, never', async () => {
    const r = await appc([...g, 'fetch', '--pull-policy', 'always', 'example.com/hello']);
    expect(r.code).toBe(2);
  });
});

describe('image list|cat-manifest|export|extract|render|rm|gc', () => {
  it('works on stored images by ID prefix and by name', async () => {
    const list = await appc([...g, 'image', 'list']);
    expect(list.code, list.err).toBe(0);
    expect(list.out).toMatch(/^ID\s+NAME\s+VERSION\s+SIZE\s+IMPORTED\s+LAST USED\n/);
    expect(list.out).toContain(id.slice(0, 19));
    const cat = await appc([...g, 'image', 'cat-manifest', id.slice(0, 24)]);
    expect(JSON.parse(cat.out).name).toBe('example.com/hello');
    const byName = await appc([...g, 'image', 'cat-manifest', '--pretty-print', 'example.com/hello:1.0.0']);
    expect(byName.code, byName.err).toBe(0);
    expect(byName.out).toContain('\n  "name": "example.com/hello"');

    expect((await appc([...g, 'image', 'export', id, file('exported.aci')])).code).toBe(0);
    expect(await readFile(file('exported.aci'))).toEqual(await readFile(file('hello.aci')));
    expect((await appc([...g, 'image', 'export', id, file('exported.aci')])).code).toBe(2);

    expect((await appc([...g, 'image', 'extract', '--rootfs-only', id, file('x')])).code).toBe(0);
    expect(await readFile(join(file('x'), 'bin/hello'), 'utf8')).toContain('hello 1.0.0');
    expect((await appc([...g, 'image', 'render', id, file('r')])).code).toBe(0);
    await stat(join(file('r'), 'rootfs/bin/hello'));
  });

  it('rm removes, reports a missing ID and still removes the others; gc clears unused images', async () => {
    const ids = (await appc([...g, 'image', 'list', '--json'])).out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).id);
    const other = ids.find((i) => i !== id) as string;
    const r = await appc([...g, 'image', 'rm', 'sha512-0000', other]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('sha512-0000');
    expect(r.out.trim()).toBe(other);
    expect((await appc([...g, 'image', 'gc', '--grace-period', '1h'])).out).toBe('');
    const gc = await appc([...g, 'image', 'gc', '--grace-period', '0s']);
    expect(gc.code, gc.err).toBe(0);
    expect(gc.out.trim()).toBe(id);
    expect((await appc([...g, 'image', 'list', '--json'])).out).toBe('');
    expect((await appc([...g, 'image', 'gc', '--grace-period', 'soon'])).code).toBe(2);
  });
});

describe('kill -9 of appc fetch mid-download', () => {
  it('leaves no stored image and no half entry; the next fetch stores it whole', async () => {
    const BIN = resolve(import.meta.dirname, '../dist/appc.cjs');
    if (!existsSync(BIN)) return; // the built CLI is what a user kills
    // a few MiB that do not compress, so the half sent is several reads' worth
    const dir = await layout(
      file('layout-big'),
      manifest('example.com/big', {
        labels: [
          { name: 'version', value: '1.0.0' },
          { name: 'os', value: os },
          { name: 'arch', value: arch },
        ],
      }),
      { 'data/blob': randomBytes(3 << 20).toString('base64') },
    );
    const built = await appc(['build', dir, file('big.aci')]);
    expect(built.code, built.err).toBe(0);
    const big = built.out.trim();
    const bytes = await readFile(file('big.aci'));
    const pki = makePki([]);
    const stall = await startServer(pki);
    let release: () => void = () => {};
    const released = new Promise<void>((r) => {
      release = r;
    });
    // the first request sends half the image and waits; later ones send it whole
    let requests = 0;
    stall.handle = (_req, res) => {
      requests++;
      res.writeHead(200, { 'Content-Length': bytes.length });
      if (requests === 1) {
        res.write(bytes.subarray(0, bytes.length >> 1));
        void released.then(() => res.destroy());
      } else res.end(bytes);
    };
    await writeFile(file('ca-stall.crt'), pki.ca);
    const url = `https://127.0.0.1:${stall.port}/big.aci`;
    const state = ['--dir', file('state-kill'), '--local-config', file('etc'), '--insecure-options=image'];
    try {
      const child = spawn(process.execPath, [BIN, ...state, 'fetch', '--ca', file('ca-stall.crt'), url], {
        stdio: 'ignore',
      });
      for (let i = 0; i < 100 && requests === 0; i++) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 300)); // the half is in the store's temporary file by now
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      release();
      // what had arrived is a temporary file of a dead process, never an entry; gc removes it
      const tmp = file('state-kill/images/tmp');
      expect((await readdir(tmp)).filter((n) => n.endsWith('.partial')).length).toBe(1);
      expect((await appc([...state, 'image', 'list', '--json'])).out).toBe('');
      expect((await appc([...state, 'image', 'gc'])).code).toBe(0);
      expect((await readdir(tmp)).filter((n) => n.endsWith('.partial'))).toEqual([]);
      const again = await appc([...state, 'fetch', '--ca', file('ca-stall.crt'), url]);
      expect(again.code, again.err).toBe(0);
      expect(again.out.trim()).toBe(big);
      const exported = file('big-back.aci');
      expect((await appc([...state, 'image', 'export', big, exported])).code).toBe(0);
      expect(await readFile(exported)).toEqual(bytes);
    } finally {
      release();
      await stall.close();
    }
  });
});
