import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { hasCode } from '@appc/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGpg, type Gpg } from '../../../test-support/gpg.ts';
import {
  formatFingerprint,
  type KeyFetch,
  type KeyReviewRequest,
  openTrustStore,
  readPublicKey,
  readPublicKeys,
  type VerifyErrorCode,
  verifySignature,
} from '../src/index.ts';

let gpg: Gpg;
let work: string;
let server: Server;
let port: number;
const fp: Record<string, string> = {};
const pub: Record<string, Buffer> = {};

async function expectCode(promise: Promise<unknown>, code: VerifyErrorCode, words?: RegExp) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(hasCode(error, code), `expected ${code}, got ${String(error)}`).toBe(true);
  if (words !== undefined) expect((error as Error).message).toMatch(words);
  return error as Error;
}

async function freshDirs() {
  const dir = await mkdtemp(join(work, 'cfg-'));
  return { systemDir: join(dir, 'system'), localDir: join(dir, 'local') };
}

/** Every file below `dir`, relative, sorted: to see that nothing else was written. */
async function tree(dir: string): Promise<string[]> {
  const out = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return out
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

// A real HTTP server stands for the key host; the injected fetch maps https://keys.test/tls/... and
// http://keys.test/plain/... onto it, and reports the final URL back in those terms (redirects included).
const mapUrl = (url: string) =>
  url
    .replace(/^https:\/\/keys\.test\//, `http://127.0.0.1:${port}/tls/`)
    .replace(/^http:\/\/keys\.test\//, `http://127.0.0.1:${port}/plain/`);
const unmapUrl = (url: string) =>
  url
    .replace(`http://127.0.0.1:${port}/tls/`, 'https://keys.test/')
    .replace(`http://127.0.0.1:${port}/plain/`, 'http://keys.test/');
const requested: string[] = [];
const testFetch: KeyFetch = async (url, init) => {
  requested.push(url);
  const response = await fetch(mapUrl(url), init);
  return {
    status: response.status,
    url: unmapUrl(response.url),
    body: response.body,
    arrayBuffer: () => response.arrayBuffer(),
  };
};

beforeAll(async () => {
  gpg = await createGpg();
  work = await mkdtemp(join(tmpdir(), 'trust-'));
  fp.alice = await gpg.genKey('Alice <alice@example.com>');
  fp.bob = await gpg.genKey('Bob <bob@example.com>', { algo: 'rsa2048' });
  fp.old = await gpg.genKey('Old <old@example.com>', { expire: '1d', fakedTime: '20200101T000000' });
  for (const k of Object.keys(fp)) pub[k] = await gpg.exportPublic(fp[k] as string);
  server = createServer((req, res) => {
    const path = (req.url ?? '').replace(/^\/(tls|plain)\//, '');
    if (path === 'alice.asc') res.end(pub.alice);
    else if (path === 'ring.asc') res.end(Buffer.concat([pub.alice as Buffer, pub.bob as Buffer]));
    else if (path === 'down')
      res.writeHead(302, { location: `http://127.0.0.1:${port}/plain/alice.asc` }).end();
    else if (path === 'huge') res.end(Buffer.alloc(2 * 1024 * 1024, 0x41));
    else res.writeHead(404).end('not here');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await gpg?.close();
  await new Promise((resolve) => server?.close(resolve));
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe('readPublicKey', () => {
  it('VERIFY-009 reads armored and binary keys exported by gpg, with fingerprint and user IDs', async () => {
    const armored = await readPublicKey(pub.alice as Buffer);
    const binary = await readPublicKey(await gpg.exportPublic(fp.alice as string, false));
    for (const k of [armored, binary]) {
      expect(k.fingerprint).toBe(fp.alice);
      expect(k.userIds).toEqual(['Alice <alice@example.com>']);
      expect(k.armored).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
      expect(k.revoked).toBe(false);
      expect(k.expires).toBeUndefined();
    }
    const old = await readPublicKey((pub.old as Buffer).toString());
    expect(old.expires?.toISOString()).toBe('2020-01-02T00:00:00.000Z');
  });

  it('reads a key ring with readPublicKeys, and refuses it, or garbage, in readPublicKey', async () => {
    const ring = Buffer.concat([pub.alice as Buffer, pub.bob as Buffer]);
    expect((await readPublicKeys(ring)).map((k) => k.fingerprint)).toEqual([fp.alice, fp.bob]);
    await expectCode(readPublicKey(ring), 'ERR_VERIFY_MALFORMED_KEY', /2 keys/);
    await expectCode(readPublicKey('not a key'), 'ERR_VERIFY_MALFORMED_KEY');
    await expectCode(readPublicKey(Buffer.alloc(2 * 1024 * 1024)), 'ERR_VERIFY_KEY_TOO_LARGE');
  });

  it('a secret key gives its public part only', async () => {
    const secret = await gpg.exportSecret(fp.alice as string);
    const k = await readPublicKey(secret);
    expect(k.fingerprint).toBe(fp.alice);
    expect(k.armored).not.toMatch(/PRIVATE/);
  });
});

describe('TrustStore.add (VERIFY-005)', () => {
  it('VERIFY-003 stores a key file under prefix.d/<prefix>/<fingerprint>, mode 0644, directories 0755', async () => {
    const dirs = await freshDirs();
    const keyFile = join(work, 'alice.asc');
    await writeFile(keyFile, pub.alice as Buffer);
    const store = openTrustStore(dirs);
    const added = await store.add({ prefix: 'example.com/app', keys: [keyFile], skipReview: true });
    const file = join(dirs.localDir, 'trustedkeys', 'prefix.d', 'example.com', 'app', fp.alice as string);
    expect(added).toEqual([
      {
        fingerprint: fp.alice,
        userIds: ['Alice <alice@example.com>'],
        kind: 'prefix',
        prefix: 'example.com/app',
        location: keyFile,
        file,
        replaced: false,
        unchanged: false,
      },
    ]);
    expect((await stat(file)).mode & 0o777).toBe(0o644);
    for (const d of [
      'trustedkeys',
      'trustedkeys/prefix.d',
      'trustedkeys/prefix.d/example.com',
      'trustedkeys/prefix.d/example.com/app',
    ]) {
      expect((await stat(join(dirs.localDir, d))).mode & 0o777).toBe(0o755);
    }
    expect((await readPublicKey(await readFile(file))).fingerprint).toBe(fp.alice);
    expect(await tree(dirs.localDir)).toEqual([`trustedkeys/prefix.d/example.com/app/${fp.alice}`]);
    // adding the same key again writes nothing and needs no review (rkt#3756); a changed key file (here one
    // re-armored differently) is replaced atomically, leaving no temporary file behind
    const before = (await stat(file)).mtimeMs;
    const again = await store.add({ prefix: 'example.com/app', keys: [pathToFileURL(keyFile).href] });
    expect(again[0]).toMatchObject({ replaced: true, unchanged: true });
    expect((await stat(file)).mtimeMs).toBe(before);
    await writeFile(file, `${await readFile(file, 'utf8')}\n`);
    const changed = await store.add({ prefix: 'example.com/app', keys: [keyFile], skipReview: true });
    expect(changed[0]).toMatchObject({ replaced: true, unchanged: false });
    expect(await tree(dirs.localDir)).toEqual([`trustedkeys/prefix.d/example.com/app/${fp.alice}`]);
  });

  it('VERIFY-005 root keys go to root.d and only from local files', async () => {
    const dirs = await freshDirs();
    const store = openTrustStore(dirs);
    const keyFile = join(work, 'bob.asc');
    await writeFile(keyFile, pub.bob as Buffer);
    const [added] = await store.add({ root: true, keys: [keyFile], skipReview: true });
    expect(added?.file).toBe(join(dirs.localDir, 'trustedkeys', 'root.d', fp.bob as string));
    await expectCode(
      store.add({ root: true, keys: ['https://keys.test/alice.asc'], fetch: testFetch, skipReview: true }),
      'ERR_VERIFY_ROOT_KEY_SOURCE',
    );
    await expectCode(
      store.add({ root: true, discover: async () => ['https://keys.test/alice.asc'], skipReview: true }),
      'ERR_VERIFY_ROOT_KEY_SOURCE',
    );
  });

  it('VERIFY-005 fetches https URLs through the injected fetch; refuses http unless allowed, and https->http redirects', async () => {
    const dirs = await freshDirs();
    const store = openTrustStore(dirs);
    const [added] = await store.add({
      prefix: 'example.com',
      keys: ['https://keys.test/alice.asc'],
      fetch: testFetch,
      skipReview: true,
    });
    expect(added?.fingerprint).toBe(fp.alice);
    await expectCode(
      store.add({
        prefix: 'example.com',
        keys: ['http://keys.test/alice.asc'],
        fetch: testFetch,
        skipReview: true,
      }),
      'ERR_VERIFY_INSECURE_KEY_URL',
      /--insecure-options=http/,
    );
    const before = requested.length;
    await expectCode(
      store.add({
        prefix: 'example.org',
        keys: ['https://keys.test/down'],
        fetch: testFetch,
        skipReview: true,
      }),
      'ERR_VERIFY_INSECURE_KEY_URL',
      /redirected/,
    );
    expect(requested.length).toBe(before + 1);
    const viaHttp = await store.add({
      prefix: 'example.net',
      keys: ['http://keys.test/alice.asc'],
      fetch: testFetch,
      allowHttp: true,
      skipReview: true,
    });
    expect(viaHttp[0]?.fingerprint).toBe(fp.alice);
    await expectCode(
      store.add({
        prefix: 'example.com',
        keys: ['https://keys.test/missing'],
        fetch: testFetch,
        skipReview: true,
      }),
      'ERR_VERIFY_KEY_FETCH',
      /404/,
    );
    await expectCode(
      store.add({
        prefix: 'example.com',
        keys: ['https://keys.test/huge'],
        fetch: testFetch,
        skipReview: true,
      }),
      'ERR_VERIFY_KEY_TOO_LARGE',
    );
    await expectCode(
      store.add({ prefix: 'example.com', keys: ['ftp://keys.test/x'], fetch: testFetch, skipReview: true }),
      'ERR_VERIFY_KEY_FETCH',
      /scheme/,
    );
    expect(await tree(join(dirs.localDir, 'trustedkeys', 'prefix.d', 'example.org'))).toEqual([]);
  });

  it('VERIFY-005 with no key given, asks the discovery function and adds every key it serves', async () => {
    const dirs = await freshDirs();
    const store = openTrustStore(dirs);
    const asked: string[] = [];
    const discover = async (prefix: string) => {
      asked.push(prefix);
      return ['https://keys.test/ring.asc'];
    };
    const added = await store.add({
      prefix: 'example.com/app',
      discover,
      fetch: testFetch,
      skipReview: true,
    });
    expect(asked).toEqual(['example.com/app']);
    expect(added.map((a) => a.fingerprint)).toEqual([fp.alice, fp.bob]);
    await expectCode(
      store.add({ prefix: 'example.com/app', discover: async () => [], skipReview: true }),
      'ERR_VERIFY_NO_KEYS_DISCOVERED',
    );
    await expectCode(store.add({ prefix: 'example.com/app', skipReview: true }), 'ERR_VERIFY_USAGE');
  });

  it('VERIFY-005 review: the callback sees rkt-style text; a refusal stores nothing', async () => {
    const dirs = await freshDirs();
    const store = openTrustStore(dirs);
    const shown: KeyReviewRequest[] = [];
    await expectCode(
      store.add({
        prefix: 'example.com/app',
        keys: ['https://keys.test/ring.asc'],
        fetch: testFetch,
        review: (r) => {
          shown.push(r);
          return r.fingerprint === fp.alice; // the second key is refused
        },
      }),
      'ERR_VERIFY_REVIEW_REFUSED',
    );
    expect(shown.map((r) => r.fingerprint)).toEqual([fp.alice, fp.bob]);
    expect(shown[0]?.text).toBe(
      [
        'Prefix: "example.com/app"',
        'Key: "https://keys.test/ring.asc"',
        `GPG key fingerprint is: ${formatFingerprint(fp.alice as string)}`,
        '\tAlice <alice@example.com>',
        '',
      ].join('\n'),
    );
    expect(shown[1]?.text).toContain('\tBob <bob@example.com>\n');
    expect(await tree(dirs.localDir)).toEqual([]);
    const added = await store.add({
      prefix: 'example.com/app',
      keys: ['https://keys.test/alice.asc'],
      fetch: testFetch,
      review: async () => true,
    });
    expect(added).toHaveLength(1);
  });

  it('VERIFY-005 a pinned fingerprint (any case and spacing) must match; no review, no pin, no skip: refused', async () => {
    const dirs = await freshDirs();
    const store = openTrustStore(dirs);
    const keys = ['https://keys.test/alice.asc'];
    const [ok] = await store.add({
      prefix: 'example.com',
      keys,
      fetch: testFetch,
      fingerprint: formatFingerprint(fp.alice as string).toLowerCase(),
    });
    expect(ok?.fingerprint).toBe(fp.alice);
    await expectCode(
      store.add({ prefix: 'example.com', keys, fetch: testFetch, fingerprint: fp.bob }),
      'ERR_VERIFY_FINGERPRINT_MISMATCH',
      /pinned/,
    );
    await expectCode(
      store.add({ prefix: 'example.com', keys, fetch: testFetch, fingerprint: 'abc' }),
      'ERR_VERIFY_INVALID_FINGERPRINT',
    );
    await expectCode(
      store.add({ prefix: 'example.org', keys, fetch: testFetch }),
      'ERR_VERIFY_REVIEW_REQUIRED',
      /--skip-fingerprint-review/,
    );
    // the key already trusted for example.com: asked again without a review, it is reported, not refused
    const [again] = await store.add({ prefix: 'example.com', keys, fetch: testFetch });
    expect(again).toMatchObject({ fingerprint: fp.alice, unchanged: true });
  });

  it('VERIFY-003 prefixes that could leave the store are refused and nothing is written', async () => {
    const dirs = await freshDirs();
    const store = openTrustStore(dirs);
    const keyFile = join(work, 'alice2.asc');
    await writeFile(keyFile, pub.alice as Buffer);
    for (const prefix of [
      '../x',
      '/etc',
      'a/../../b',
      'a/./b',
      'a//b',
      '.hidden',
      'Upper.com',
      'a/',
      '',
      'a\\b',
      'a\0b',
    ]) {
      await expectCode(store.add({ prefix, keys: [keyFile], skipReview: true }), 'ERR_VERIFY_INVALID_PREFIX');
    }
    expect(await tree(join(dirs.localDir, '..'))).toEqual([]);
  });

  it('refuses expired keys, missing local dir, and prefix plus root together', async () => {
    const dirs = await freshDirs();
    const keyFile = join(work, 'old.asc');
    await writeFile(keyFile, pub.old as Buffer);
    await expectCode(
      openTrustStore(dirs).add({ prefix: 'example.com', keys: [keyFile], skipReview: true }),
      'ERR_VERIFY_KEY_EXPIRED',
    );
    await expectCode(
      openTrustStore({ systemDir: dirs.systemDir }).add({
        prefix: 'example.com',
        keys: [keyFile],
        skipReview: true,
      }),
      'ERR_VERIFY_NO_LOCAL_DIR',
    );
    await expectCode(
      openTrustStore(dirs).add({ prefix: 'example.com', root: true, keys: [keyFile], skipReview: true }),
      'ERR_VERIFY_USAGE',
    );
    await expectCode(openTrustStore(dirs).add({ keys: [keyFile], skipReview: true }), 'ERR_VERIFY_USAGE');
  });
});

describe('TrustStore.list, remove, mask', () => {
  it('VERIFY-003 lists both dirs with scope, prefix, user IDs and masks; remove and mask touch only the local dir', async () => {
    const dirs = await freshDirs();
    const sys = join(dirs.systemDir, 'trustedkeys');
    await mkdir(join(sys, 'root.d'), { recursive: true });
    await mkdir(join(sys, 'prefix.d', 'example.com'), { recursive: true });
    await writeFile(join(sys, 'root.d', fp.bob as string), pub.bob as Buffer);
    await writeFile(join(sys, 'prefix.d', 'example.com', fp.alice as string), pub.alice as Buffer);
    const store = openTrustStore(dirs);
    const keyFile = join(work, 'alice3.asc');
    await writeFile(keyFile, pub.alice as Buffer);
    await store.add({ prefix: 'example.com/app', keys: [keyFile], skipReview: true });
    await store.mask({ fingerprint: formatFingerprint(fp.alice as string), prefix: 'example.com' });

    const listed = await store.list();
    expect(listed.map((e) => [e.scope, e.kind, e.prefix, e.fingerprint, e.mask, e.masked])).toEqual([
      ['system', 'root', undefined, fp.bob, false, false],
      ['system', 'prefix', 'example.com', fp.alice, false, true],
      ['local', 'prefix', 'example.com', fp.alice, true, false],
      ['local', 'prefix', 'example.com/app', fp.alice, false, false],
    ]);
    expect(listed[0]?.userIds).toEqual(['Bob <bob@example.com>']);
    expect(listed[0]?.file).toBe(join(sys, 'root.d', fp.bob as string));
    expect((await store.list({ prefix: 'example.com/app' })).map((e) => e.file)).toEqual([
      join(dirs.localDir, 'trustedkeys', 'prefix.d', 'example.com', 'app', fp.alice as string),
    ]);

    // the mask hides the system key for example.com/x, but example.com/app has its own local key
    expect((await store.keysFor('example.com/x')).map((k) => k.fingerprint)).toEqual([fp.bob]);
    expect((await store.keysFor('example.com/app/y')).map((k) => [k.fingerprint, k.scope, k.prefix])).toEqual(
      [
        [fp.bob, 'system', undefined],
        [fp.alice, 'local', 'example.com/app'],
      ],
    );

    // remove by fingerprint alone removes every local file of it (key and mask), never the system file
    const removed = await store.remove({ fingerprint: (fp.alice as string).toUpperCase() });
    expect(removed).toHaveLength(2);
    expect((await store.list()).map((e) => e.scope)).toEqual(['system', 'system']);
    await expectCode(
      store.remove({ fingerprint: fp.bob as string }),
      'ERR_VERIFY_KEY_NOT_FOUND',
      /system dir/,
    );
    await expectCode(
      store.remove({ fingerprint: fp.alice as string, prefix: 'example.com' }),
      'ERR_VERIFY_KEY_NOT_FOUND',
    );
    const rootMask = await store.mask({ fingerprint: fp.bob as string, root: true });
    expect((await stat(rootMask)).size).toBe(0);
    expect(await store.keysFor('example.org/z')).toEqual([]);
    // hasKeysFor answers as keysFor does, from the file names alone (masks included)
    expect(await store.hasKeysFor('example.org/z')).toBe(false);
    expect(await store.hasKeysFor('example.com/x')).toBe(true); // alice's system key for example.com
    expect(await store.remove({ fingerprint: fp.bob as string, root: true })).toEqual([rootMask]);
    expect((await store.keysFor('example.org/z')).map((k) => k.fingerprint)).toEqual([fp.bob]);
    expect(await store.hasKeysFor('example.org/z')).toBe(true);
  });

  it('VERIFY-003 list and keysFor refuse a key file whose name is not its fingerprint; dot-files are ignored', async () => {
    const dirs = await freshDirs();
    const dir = join(dirs.localDir, 'trustedkeys', 'prefix.d', 'example.com');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, '.alice.tmp'), 'partial');
    await writeFile(join(dir, fp.alice as string), pub.alice as Buffer);
    const store = openTrustStore(dirs);
    expect((await store.list()).map((e) => e.fingerprint)).toEqual([fp.alice]);
    await writeFile(join(dir, fp.bob as string), pub.alice as Buffer);
    await expectCode(store.list(), 'ERR_VERIFY_KEY_FILE_NAME', new RegExp(fp.alice as string));
    await expectCode(store.keysFor('example.com/a'), 'ERR_VERIFY_KEY_FILE_NAME');
    await writeFile(join(dir, fp.bob as string), 'garbage');
    await expectCode(store.keysFor('example.com/a'), 'ERR_VERIFY_MALFORMED_KEY');
  });

  it('VERIFY-004 a key added with the API then verifies a gpg signature for a name under its prefix', async () => {
    const dirs = await freshDirs();
    const store = openTrustStore(dirs);
    await store.add({
      prefix: 'example.com',
      keys: ['https://keys.test/alice.asc'],
      fetch: testFetch,
      fingerprint: fp.alice,
    });
    const file = join(work, 'small.aci');
    await writeFile(file, 'payload\n');
    await gpg.detachSign(file, fp.alice as string);
    const who = await verifySignature({
      data: file,
      signature: await readFile(`${file}.asc`),
      name: 'example.com/app',
      store,
    });
    expect(who.keyFingerprint).toBe(fp.alice);
  });
});
