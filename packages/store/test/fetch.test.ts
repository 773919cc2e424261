// The fetch pipeline end to end on loopback: a real HTTPS server (openssl-made CA), images signed by real GnuPG,
// keys in a real trust store. Every refusal must leave the store empty.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { computeImageId } from '@appc/aci';
import { hostOsArch } from '@appc/schema';
import { openTrustStore, type TrustStore } from '@appc/verify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Gpg } from '../../../test-support/gpg.ts';
import { createGpg } from '../../../test-support/gpg.ts';
import type { Pki, TestServer } from '../../../test-support/https-server.ts';
import { makePki, startServer } from '../../../test-support/https-server.ts';
import { classifyImageRef, fetchImage, openStore, type Store } from '../src/index.ts';
import { makeAci, tempDir } from './fixtures.ts';

const { os, arch } = hostOsArch();
const NAME = 'example.com/hello';
let pki: Pki;
let server: TestServer;
let gpg: Gpg;
let good: string; // fingerprint of the publisher's key
let other: string; // a key nobody trusts
let work: { dir: string; cleanup: () => Promise<void> };
/** Path -> body served; per test. */
let site: Map<string, { body: Buffer; headers?: Record<string, string> }>;
let served: string[];
let store: Store;
let trust: TrustStore;

const resolve = { 'example.com': '127.0.0.1', 'evil.example.com': '127.0.0.1' };
const network = () => ({ port: server.port, resolve, ca: pki.ca, requestTimeoutMs: 5000 });
const base = () => `https://example.com:${server.port}`;
const aciPath = (name: string, version: string) => `/images/${name}-${version}-${os}-${arch}.aci`;

async function signed(bytes: Buffer, fpr: string): Promise<Buffer> {
  const file = join(work.dir, `sign-${createHash('sha1').update(bytes).digest('hex')}-${fpr.slice(-8)}`);
  await writeFile(file, bytes);
  await gpg.detachSign(file, fpr, { armor: true, out: `${file}.asc` });
  return readFile(`${file}.asc`);
}

function page(template: string): Buffer {
  return Buffer.from(
    `<!doctype html><html><head>
    <meta name="ac-discovery" content="example.com ${template}">
    <meta name="ac-discovery-pubkeys" content="example.com ${base()}/pubkeys.gpg">
    </head><body>appc</body></html>`,
  );
}

async function publish(
  image: { name?: string; version?: string; labels?: Record<string, string> },
  fpr = good,
) {
  const version = image.version ?? '1.0.0';
  const aci = makeAci({
    name: image.name ?? NAME,
    labels: image.labels ?? { version, os, arch },
    files: { 'bin/hello': `hello ${version}\n` },
  });
  const path = aciPath(NAME, version);
  site.set(path, { body: aci, headers: { ETag: `"${createHash('md5').update(aci).digest('hex')}"` } });
  site.set(`${path}.asc`, { body: await signed(aci, fpr) });
  return { aci, path };
}

async function storedCount(): Promise<number> {
  return store.list().length;
}

beforeAll(async () => {
  pki = makePki(['example.com', 'evil.example.com']);
  server = await startServer(pki);
  gpg = await createGpg();
  good = await gpg.genKey('Example Publisher <pub@example.com>');
  other = await gpg.genKey('Someone Else <else@example.net>');
  work = await tempDir('appc-fetch-');
  server.handle = (req, res, scheme) => {
    const url = new URL(String(req.url), 'https://x');
    served.push(`${scheme} ${url.pathname}${url.search}`);
    if (url.search === '?ac-discovery=1') {
      const entry = site.get(`page:${url.pathname}`);
      if (!entry) {
        res.writeHead(404);
        res.end();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(entry.body);
      return;
    }
    const entry = site.get(url.pathname);
    if (!entry) {
      res.writeHead(404);
      res.end();
      return;
    }
    if (entry.headers?.Location !== undefined) {
      res.writeHead(302, { Location: entry.headers.Location });
      res.end();
      return;
    }
    const etag = entry.headers?.ETag;
    if (etag !== undefined && req.headers['if-none-match'] === etag) {
      res.writeHead(304, { ETag: etag });
      res.end();
      return;
    }
    res.writeHead(200, { 'Content-Length': entry.body.length, ...entry.headers });
    res.end(entry.body);
  };
}, 60_000);

afterAll(async () => {
  await server.close();
  await gpg.close();
  await work.cleanup();
});

beforeEach(async () => {
  site = new Map();
  served = [];
  const dir = await tempDir('appc-fetch-state-');
  store = await openStore(join(dir.dir, 'store'));
  trust = openTrustStore({ localDir: join(dir.dir, 'etc') });
  site.set('page:/hello', { body: page(`${base()}/images/{name}-{version}-{os}-{arch}.{ext}`) });
  site.set('/pubkeys.gpg', { body: await gpg.exportPublic(good) });
  return async () => {
    store.close();
    await dir.cleanup();
  };
});

async function trustPublisher(): Promise<void> {
  await trust.add({
    prefix: 'example.com',
    keys: [{ text: await gpg.exportPublic(good), location: 'test' }],
    skipReview: true,
  });
}

async function refused(p: Promise<unknown>, code: string): Promise<void> {
  await expect(p).rejects.toMatchObject({ code });
  expect(await storedCount()).toBe(0);
}

describe('fetchImage by name (DISC-001..DISC-009, VERIFY-001, VERIFY-002, DISC-013)', () => {
  it('discovers, downloads, verifies and stores; a re-fetch downloads nothing', async () => {
    await trustPublisher();
    const { aci, path } = await publish({});
    const progress: number[] = [];
    const first = await fetchImage(store, `${NAME}:1.0.0`, {
      trust,
      network: network(),
      onProgress: (p) => p.kind === 'image' && progress.push(p.receivedBytes),
    });
    expect(first.from).toBe('download');
    expect(first.signature?.keyFingerprint).toBe(good);
    expect(first.image.name).toBe(NAME);
    expect(first.image.signatureFingerprint).toBe(good);
    expect(first.image.sourceUrl).toBe(`${base()}${path}`);
    expect(progress.at(-1)).toBe(aci.length);
    expect(await readFile(store.blobPath(first.image.id))).toEqual(aci);

    served = [];
    const again = await fetchImage(store, `${NAME}:1.0.0`, { trust, network: network() });
    expect(again.from).toBe('not-modified');
    expect(again.image.id).toBe(first.image.id);
    // the image was asked for with its ETag and answered 304; the signature was not fetched again
    expect(served.filter((s) => s.includes('.aci'))).toEqual([`https ${path}`]);
  });

  it('a fresh max-age asks nothing at all', async () => {
    await trustPublisher();
    const { path } = await publish({});
    const entry = site.get(path);
    if (entry) entry.headers = { ...entry.headers, 'Cache-Control': 'max-age=3600' };
    await fetchImage(store, `${NAME}:1.0.0`, { trust, network: network() });
    served = [];
    const again = await fetchImage(store, `${NAME}:1.0.0`, { trust, network: network() });
    expect(again.from).toBe('cache');
    expect(served.filter((s) => s.includes('.aci'))).toEqual([]);
  });

  it('pull policies: new uses the store, never refuses what is missing', async () => {
    await refused(
      fetchImage(store, NAME, { trust, network: network(), pullPolicy: 'never' }),
      'ERR_STORE_NOT_FOUND',
    );
    await trustPublisher();
    await publish({ version: 'latest' });
    const first = await fetchImage(store, NAME, { trust, network: network(), pullPolicy: 'new' });
    expect(first.from).toBe('download');
    served = [];
    const second = await fetchImage(store, NAME, { trust, network: network(), pullPolicy: 'new' });
    expect(second.from).toBe('store');
    expect(served).toEqual([]);
    expect((await fetchImage(store, NAME, { trust, pullPolicy: 'never' })).image.id).toBe(first.image.id);
  });

  it('refuses when no key is trusted, and stores nothing (VERIFY-001)', async () => {
    await publish({});
    await refused(
      fetchImage(store, `${NAME}:1.0.0`, { trust, network: network() }),
      'ERR_VERIFY_NO_TRUSTED_KEY',
    );
  });

  it('asks onUntrustedName with the discovered key URLs (VERIFY-006)', async () => {
    await publish({});
    const asked: [string, string[]][] = [];
    const result = await fetchImage(store, `${NAME}:1.0.0`, {
      trust,
      network: network(),
      onUntrustedName: async (name, pubkeys) => {
        asked.push([name, pubkeys]);
        await trust.add({
          prefix: name,
          keys: [{ text: await gpg.exportPublic(good), location: pubkeys[0] ?? '' }],
          skipReview: true,
        });
        return true;
      },
    });
    expect(asked).toEqual([[NAME, [`${base()}/pubkeys.gpg`]]]);
    expect(result.signature?.prefix).toBe(NAME);
  });

  it('refuses a tampered image (VERIFY-002)', async () => {
    await trustPublisher();
    const { path } = await publish({});
    const other = makeAci({
      name: NAME,
      labels: { version: '1.0.0', os, arch },
      files: { 'bin/hello': 'evil\n' },
    });
    const asc = site.get(`${path}.asc`);
    site.set(path, { body: other });
    if (asc) site.set(`${path}.asc`, asc);
    await refused(
      fetchImage(store, `${NAME}:1.0.0`, { trust, network: network() }),
      'ERR_VERIFY_BAD_SIGNATURE',
    );
  });

  it('refuses a signature by a key not trusted for the name', async () => {
    await trustPublisher();
    await publish({}, other);
    await refused(
      fetchImage(store, `${NAME}:1.0.0`, { trust, network: network() }),
      'ERR_VERIFY_UNKNOWN_SIGNER',
    );
  });

  it('refuses an image whose name or labels differ from the request (DISC-009)', async () => {
    await trustPublisher();
    await publish({ name: 'example.com/other' });
    await refused(
      fetchImage(store, `${NAME}:1.0.0`, { trust, network: network() }),
      'ERR_STORE_NOT_REQUESTED',
    );
    await publish({ labels: { version: '2.0.0', os, arch } });
    await refused(
      fetchImage(store, `${NAME}:1.0.0`, { trust, network: network() }),
      'ERR_STORE_NOT_REQUESTED',
    );
  });

  it('ACI-008 DISC-012 refuses a missing signature unless insecure.image, which warns and asks for no .asc', async () => {
    await trustPublisher();
    const { path } = await publish({});
    site.delete(`${path}.asc`);
    await refused(fetchImage(store, `${NAME}:1.0.0`, { trust, network: network() }), 'ERR_STORE_UNSIGNED');
    // the signature is looked for at IMAGE.aci.asc (ACI-008)
    expect(served).toContain(`https ${path}.asc`);
    served.length = 0;
    const r = await fetchImage(store, `${NAME}:1.0.0`, { network: network(), insecure: { image: true } });
    expect(r.warnings.map((w) => w.code)).toContain('WARN_STORE_UNVERIFIED');
    expect(r.image.signatureFingerprint).toBeUndefined();
    // verification off: the signature is not even downloaded (DISC-012)
    expect(served).toContain(`https ${path}`);
    expect(served.some((s) => s.endsWith('.asc'))).toBe(false);
  });

  it('refuses plain http without the option, and a redirect from https to http (DISC-002, DISC-011)', async () => {
    await trustPublisher();
    site.set('page:/hello', {
      body: page(`http://example.com:${server.port}/images/{name}-{version}-{os}-{arch}.{ext}`),
    });
    await publish({});
    await refused(
      fetchImage(store, `${NAME}:1.0.0`, { trust, network: network() }),
      'ERR_DISC_HTTP_NOT_ALLOWED',
    );
    const ok = await fetchImage(store, `${NAME}:1.0.0`, {
      trust,
      network: network(),
      insecure: { http: true },
    });
    expect(ok.from).toBe('download');
  });

  it('refuses a body larger than allowed', async () => {
    await trustPublisher();
    await publish({});
    await refused(
      fetchImage(store, `${NAME}:1.0.0`, { trust, network: network(), maxBytes: 100 }),
      'ERR_DISC_TOO_LARGE',
    );
  });
});

describe('fetchImage by URL, file and ID', () => {
  it('downloads URL and URL.asc', async () => {
    await trustPublisher();
    const { path } = await publish({});
    const r = await fetchImage(store, `${base()}${path}`, { trust, network: network() });
    expect(r.from).toBe('download');
    expect(r.signature?.keyFingerprint).toBe(good);
    expect((await fetchImage(store, r.image.id.slice(0, 20))).image.id).toBe(r.image.id);
  });

  it('a URL checks the signature on the download pass, then that the key is trusted for the manifest name', async () => {
    // a key trusted only for another prefix signed it: refused, nothing stored
    await trust.add({
      prefix: 'other.example',
      keys: [{ text: await gpg.exportPublic(other), location: 'test' }],
      skipReview: true,
    });
    const { path } = await publish({}, other);
    const url = `${base()}${path}`;
    await refused(fetchImage(store, url, { trust, network: network() }), 'ERR_VERIFY_NO_TRUSTED_KEY');
    await trustPublisher();
    await refused(fetchImage(store, url, { trust, network: network() }), 'ERR_VERIFY_UNKNOWN_SIGNER');
    // tampered bytes under the publisher's good signature: refused
    await publish({});
    site.set(path, {
      body: makeAci({ name: NAME, labels: { version: '1.0.0', os, arch }, files: { 'bin/hello': 'evil\n' } }),
    });
    await refused(
      fetchImage(store, `${base()}${path}`, { trust, network: network() }),
      'ERR_VERIFY_BAD_SIGNATURE',
    );
    // the publisher's own: stored, and the result says for which prefix the key is trusted
    await publish({});
    const ok = await fetchImage(store, `${base()}${path}`, { trust, network: network() });
    expect(ok.signature).toMatchObject({ keyFingerprint: good, prefix: 'example.com', kind: 'prefix' });
  });

  it('a redirect from https to http is refused for a URL too; a missing URL is a status error', async () => {
    await trustPublisher();
    const { path } = await publish({});
    site.set('/moved.aci', {
      body: Buffer.alloc(0),
      headers: { Location: `http://example.com:${server.port}${path}` },
    });
    await refused(
      fetchImage(store, `${base()}/moved.aci`, { trust, network: network(), insecure: { http: true } }),
      'ERR_DISC_INSECURE_REDIRECT',
    );
    await expect(
      fetchImage(store, `https://example.com:${server.port}/nothing.aci`, { trust, network: network() }),
    ).rejects.toMatchObject({ code: 'ERR_DISC_HTTP_STATUS', status: 404 });
  });

  it('imports a file with FILE.asc, and refuses it unsigned', async () => {
    await trustPublisher();
    const { aci } = await publish({});
    await mkdir(join(work.dir, 'files'), { recursive: true });
    const file = join(work.dir, 'files', 'hello.aci');
    await writeFile(file, aci);
    await refused(fetchImage(store, file, { trust }), 'ERR_STORE_UNSIGNED');
    await writeFile(`${file}.asc`, await signed(aci, good));
    const r = await fetchImage(store, file, { trust });
    expect(r.from).toBe('file');
    expect(r.image.signatureFingerprint).toBe(good);
  });

  it('classifies references', () => {
    expect(classifyImageRef('sha512-abc')).toEqual({ kind: 'id', id: 'sha512-abc' });
    expect(classifyImageRef('https://a.com/x.aci').kind).toBe('url');
    expect(classifyImageRef('./x')).toEqual({ kind: 'file', path: './x' });
    expect(classifyImageRef('x.aci').kind).toBe('file');
    expect(classifyImageRef('file:///tmp/x.aci')).toEqual({ kind: 'file', path: '/tmp/x.aci' });
    expect(classifyImageRef('example.com/app:1.0,os=linux')).toEqual({
      kind: 'name',
      app: { name: 'example.com/app', labels: { version: '1.0', os: 'linux' } },
    });
    expect(() => classifyImageRef('Bad Name')).toThrow(
      expect.objectContaining({ code: 'ERR_DISC_BAD_APP_STRING' }),
    );
  });
});

describe('dependencies (ACI-011, ACI-023)', () => {
  async function publishBase(): Promise<{ id: string; size: number }> {
    const aci = makeAci({
      name: 'example.com/base',
      labels: { version: '1', os, arch },
      files: { 'etc/base': 'base\n' },
    });
    const path = aciPath('example.com/base', '1');
    site.set(path, { body: aci });
    site.set(`${path}.asc`, { body: await signed(aci, good) });
    site.set('page:/', { body: page(`${base()}/images/{name}-{version}-{os}-{arch}.{ext}`) });
    return {
      id: await computeImageId(
        (async function* () {
          yield aci;
        })(),
      ),
      size: aci.length,
    };
  }

  async function publishApp(dep: Record<string, unknown>): Promise<void> {
    const aci = makeAci({
      name: NAME,
      labels: { version: '1.0.0', os, arch },
      dependencies: [
        { imageName: 'example.com/base', labels: [{ name: 'version', value: '1' }], ...dep },
      ] as never,
      files: { 'bin/hello': 'hello\n' },
    });
    const path = aciPath(NAME, '1.0.0');
    site.set(path, { body: aci });
    site.set(`${path}.asc`, { body: await signed(aci, good) });
  }

  it('fetches the dependencies, verified, pinned by imageID and bounded by size', async () => {
    await trustPublisher();
    const b = await publishBase();
    await publishApp({ imageID: b.id, size: b.size });
    const r = await fetchImage(store, `${NAME}:1.0.0`, { trust, network: network() });
    expect(r.dependencies.map((d) => d.id)).toEqual([b.id]);
    expect(r.dependencies[0]?.signatureFingerprint).toBe(good);
    served = [];
    const again = await fetchImage(store, `${NAME}:1.0.0`, { trust, network: network() });
    expect(again.dependencies.map((d) => d.id)).toEqual([b.id]);
    expect(served.filter((x) => x.includes('base'))).toEqual([]); // pinned and stored: not asked again
  });

  it('a stored image that matches satisfies a dependency without asking the network', async () => {
    const baseAci = makeAci({
      name: 'example.com/base',
      labels: { version: '1', os, arch },
      files: { 'etc/base': 'b\n' },
    });
    const stored = await store.put(
      (async function* () {
        yield baseAci;
      })(),
    );
    const appAci = makeAci({
      name: NAME,
      labels: { version: '1.0.0', os, arch },
      dependencies: [{ imageName: 'example.com/base' }] as never,
      files: { 'bin/hello': 'hello\n' },
    });
    await mkdir(join(work.dir, 'offline'), { recursive: true });
    const file = join(work.dir, 'offline', 'app.aci');
    await writeFile(file, appAci);
    served = [];
    const r = await fetchImage(store, file, { insecure: { image: true } });
    expect(r.dependencies.map((d) => d.id)).toEqual([stored.image.id]);
    expect(served).toEqual([]);
  });

  it('refuses a dependency whose image ID differs (ACI-011)', async () => {
    await trustPublisher();
    await publishBase();
    await publishApp({ imageID: `sha512-${'0'.repeat(128)}` });
    await expect(fetchImage(store, `${NAME}:1.0.0`, { trust, network: network() })).rejects.toMatchObject({
      code: 'ERR_STORE_ID_MISMATCH',
      // the message names the image that needed the dependency
      message: expect.stringMatching(
        new RegExp(`^${NAME} depends on \\S+ \\(ACI-023\\), which could not be fetched: `),
      ),
    });
    expect(store.list().map((i) => i.name)).toEqual([NAME]);
  });

  it('a dependency larger than its declared size is cut off (ACI-023)', async () => {
    await trustPublisher();
    await publishBase();
    await publishApp({ size: 64 });
    await expect(fetchImage(store, `${NAME}:1.0.0`, { trust, network: network() })).rejects.toMatchObject({
      code: 'ERR_DISC_TOO_LARGE',
    });
  });
});

describe('concurrent fetches', () => {
  it('two fetches of one image at once store one blob', async () => {
    await trustPublisher();
    await publish({});
    const [a, b] = await Promise.all([
      fetchImage(store, `${NAME}:1.0.0`, { trust, network: network() }),
      fetchImage(store, `${NAME}:1.0.0`, { trust, network: network() }),
    ]);
    expect(a.image.id).toBe(b.image.id);
    expect(await storedCount()).toBe(1);
  });
});
