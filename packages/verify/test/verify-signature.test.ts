import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { hasCode } from '@appc/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGpg, type Gpg } from '../../../test-support/gpg.ts';
import {
  formatFingerprint,
  openTrustStore,
  readPublicKey,
  type VerifyErrorCode,
  verifySignature,
} from '../src/index.ts';

let gpg: Gpg;
let work: string;
let data: string;
const fp: Record<string, string> = {};
const pub: Record<string, Buffer> = {};

/** A fresh pair of config dirs with the given key files: `{ 'local/prefix.d/example.com': ['alice'] }`. */
async function storeWith(
  files: Record<string, (string | { name: string; key: string } | { empty: string })[]>,
) {
  const dir = await mkdtemp(join(work, 'store-'));
  for (const [where, keys] of Object.entries(files)) {
    const [scope, ...rest] = where.split('/');
    const target = join(dir, scope as string, 'trustedkeys', ...rest);
    await mkdir(target, { recursive: true });
    for (const k of keys) {
      if (typeof k === 'string') await writeFile(join(target, fp[k] as string), pub[k] as Buffer);
      else if ('empty' in k) await writeFile(join(target, fp[k.empty] as string), '');
      else await writeFile(join(target, k.name), pub[k.key] as Buffer);
    }
  }
  return openTrustStore({ systemDir: join(dir, 'system'), localDir: join(dir, 'local') });
}

async function expectCode(promise: Promise<unknown>, code: VerifyErrorCode, words?: RegExp) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(hasCode(error, code), `expected ${code}, got ${String(error)}`).toBe(true);
  if (words !== undefined) expect((error as Error).message).toMatch(words);
  return error as Error & { signerKeyIds?: string[] };
}

beforeAll(async () => {
  gpg = await createGpg();
  work = await mkdtemp(join(tmpdir(), 'verify-'));
  fp.alice = await gpg.genKey('Alice <alice@example.com>');
  fp.bob = await gpg.genKey('Bob <bob@example.com>', { algo: 'rsa2048' });
  fp.carol = await gpg.genKey('Carol <carol@example.com>', { algo: 'rsa3072' });
  fp.mallory = await gpg.genKey('Mallory <mallory@example.com>');
  for (const k of Object.keys(fp)) pub[k] = await gpg.exportPublic(fp[k] as string);
  data = join(work, 'image.aci');
  await writeFile(data, randomBytes(200_000));
  await gpg.detachSign(data, fp.alice as string, { out: `${data}.alice.asc` });
  await gpg.detachSign(data, fp.bob as string, { armor: false, out: `${data}.bob.sig` });
  await gpg.detachSign(data, fp.carol as string, { out: `${data}.carol.asc` });
  await gpg.detachSign(data, fp.mallory as string, { out: `${data}.mallory.asc` });
});

afterAll(async () => {
  await gpg?.close();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

const sig = (who: string) => readFile(`${data}.${who}.${who === 'bob' ? 'sig' : 'asc'}`);

describe('signatures made by GnuPG 2.2 (VERIFY-009, VERIFY-002)', () => {
  it('VERIFY-009 an ed25519 key and armored detached signature from gpg verify', async () => {
    const store = await storeWith({ 'local/prefix.d/example.com/app': ['alice'] });
    const who = await verifySignature({
      data,
      signature: await sig('alice'),
      name: 'example.com/app',
      store,
    });
    expect(who).toMatchObject({
      keyFingerprint: fp.alice,
      userIds: ['Alice <alice@example.com>'],
      scope: 'local',
      kind: 'prefix',
      prefix: 'example.com/app',
    });
    expect(who.created).toBeInstanceOf(Date);
  });

  it('VERIFY-002 a binary detached signature (RSA 2048) verifies when no armor is found', async () => {
    const store = await storeWith({ 'system/prefix.d/example.com': ['bob'] });
    const signature = await sig('bob');
    expect(signature.subarray(0, 5).toString()).not.toBe('-----');
    const who = await verifySignature({ data, signature, name: 'example.com/app', store });
    expect(who).toMatchObject({ keyFingerprint: fp.bob, scope: 'system', prefix: 'example.com' });
  });

  it('VERIFY-009 an RSA 3072 key verifies; the signature may be given as a string', async () => {
    const store = await storeWith({ 'local/prefix.d/example.com': ['carol'] });
    const signature = (await sig('carol')).toString('utf8');
    const who = await verifySignature({ data, signature, name: 'example.com/app/sub', store });
    expect(who.keyFingerprint).toBe(fp.carol);
  });

  it('VERIFY-002 data can be bytes, a Node Readable or an async generator', async () => {
    const store = await storeWith({ 'local/prefix.d/example.com': ['alice'] });
    const signature = await sig('alice');
    const bytes = await readFile(data);
    async function* chunks() {
      for (let i = 0; i < bytes.length; i += 777) yield bytes.subarray(i, i + 777);
    }
    for (const input of [bytes, data, createReadStream(data), Readable.from(chunks()), chunks()]) {
      const who = await verifySignature({ data: input, signature, name: 'example.com/app', store });
      expect(who.keyFingerprint).toBe(fp.alice);
    }
  });

  it('VERIFY-002 a Readable that is destroyed before its end (no error) is not a verified signature', async () => {
    const store = await storeWith({ 'local/prefix.d/example.com': ['alice'] });
    const signature = await sig('alice');
    const bytes = await readFile(data);
    const half = new Readable({ read() {} });
    half.push(bytes.subarray(0, 100));
    setTimeout(() => half.destroy(), 20);
    await expect(verifySignature({ data: half, signature, name: 'example.com/app', store })).rejects.toThrow(
      /Premature close/,
    );
  });
});

describe('subkeys', () => {
  it('VERIFY-003 a signature by a signing subkey verifies under the primary fingerprint; review lists the subkey', async () => {
    const g = await createGpg();
    try {
      const primary = await g.genKey('Sub <sub@example.com>');
      await g.gpg(['--passphrase', '', '--quick-add-key', primary, 'rsa2048', 'sign', 'never']);
      const file = join(work, 'sub.aci');
      await copyFile(data, file);
      await g.detachSign(file, primary); // gpg picks the newest signing subkey
      const key = await readPublicKey(await g.exportPublic(primary));
      expect(key.subkeyFingerprints).toHaveLength(1);
      const subkeyId = (key.subkeyFingerprints[0] as string).slice(-16);
      const dir = await mkdtemp(join(work, 'store-'));
      const store = openTrustStore({ localDir: dir });
      let text = '';
      await store.add({
        prefix: 'example.com',
        keys: [{ text: key.armored, location: 'sub.asc' }],
        review: (r) => {
          text = r.text;
          return true;
        },
      });
      expect(text).toContain(
        `\tSubkey fingerprint: ${formatFingerprint(key.subkeyFingerprints[0] as string)}\n`,
      );
      const who = await verifySignature({
        data: file,
        signature: await readFile(`${file}.asc`),
        name: 'example.com/app',
        store,
      });
      expect(who.keyFingerprint).toBe(primary);
      expect(who.signingKeyId).toBe(subkeyId);
    } finally {
      await g.close();
    }
  });
});

describe('refusals', () => {
  it('VERIFY-001 no key trusted for the name or a parent: refused, with the trust command', async () => {
    const store = await storeWith({ 'local/prefix.d/example.org': ['alice'] });
    await expectCode(
      verifySignature({ data, signature: await sig('alice'), name: 'example.com/app', store }),
      'ERR_VERIFY_NO_TRUSTED_KEY',
      /appc trust add --prefix example\.com\/app/,
    );
    const empty = openTrustStore({ localDir: join(work, 'nothing-here') });
    await expectCode(
      verifySignature({ data, signature: await sig('alice'), name: 'example.com/app', store: empty }),
      'ERR_VERIFY_NO_TRUSTED_KEY',
    );
  });

  it('VERIFY-006 a signature by a key not trusted for the name: unknown signer, with its key ID', async () => {
    const store = await storeWith({ 'local/prefix.d/example.com': ['alice'] });
    const error = await expectCode(
      verifySignature({ data, signature: await sig('mallory'), name: 'example.com/app', store }),
      'ERR_VERIFY_UNKNOWN_SIGNER',
      /appc trust add --prefix example\.com\/app/,
    );
    const malloryKeyId = (fp.mallory as string).slice(-16);
    expect(error.signerKeyIds).toEqual([malloryKeyId]);
    expect(error.message).toContain(malloryKeyId);
  });

  it('VERIFY-002 a changed byte anywhere (first, middle, last), an appended or a missing byte fails', async () => {
    const store = await storeWith({ 'local/prefix.d/example.com': ['alice'] });
    const signature = await sig('alice');
    const original = await readFile(data);
    const variants: [string, Buffer][] = [];
    for (const at of [0, 1, Math.floor(original.length / 2), original.length - 1]) {
      const b = Buffer.from(original);
      b[at] = (b[at] as number) ^ 0x01;
      variants.push([`flip@${at}`, b]);
    }
    variants.push(['appended', Buffer.concat([original, Buffer.from([0])])]);
    variants.push(['truncated', original.subarray(0, original.length - 1)]);
    for (const [what, bytes] of variants) {
      const file = join(work, `tampered-${what}`);
      await writeFile(file, bytes);
      await expectCode(
        verifySignature({ data: file, signature, name: 'example.com/app', store }),
        'ERR_VERIFY_BAD_SIGNATURE',
        /does not match/,
      );
    }
  });

  it('VERIFY-002 a text-mode signature (checked by openpgp over the data) verifies, and a changed byte fails', async () => {
    const store = await storeWith({ 'local/prefix.d/example.com': ['alice'] });
    const text = join(work, 'notes.txt');
    await writeFile(text, 'line one\nline two\r\nlast line without end');
    const out = `${text}.asc`;
    const args = ['--yes', '--passphrase', '', '--local-user', fp.alice as string, '--armor', '--textmode'];
    await gpg.gpg([...args, '--output', out, '--detach-sign', text]);
    const signature = await readFile(out);
    const who = await verifySignature({ data: text, signature, name: 'example.com/app', store });
    expect(who.keyFingerprint).toBe(fp.alice);
    await writeFile(text, 'line one\nline two\r\nlast line without end!');
    await expectCode(
      verifySignature({ data: text, signature, name: 'example.com/app', store }),
      'ERR_VERIFY_BAD_SIGNATURE',
    );
  });

  it('VERIFY-002 two signatures in one file: the one by a trusted key decides, the data read once', async () => {
    const store = await storeWith({ 'local/prefix.d/example.com': ['bob'] });
    // a binary signature file may hold several signature packets one after the other (bob's is RSA, SHA-256 or
    // better; mallory's ed25519): each is checked against its own digest
    const mallory = join(work, 'image.aci.mallory.sig');
    await gpg.detachSign(data, fp.mallory as string, { armor: false, out: mallory });
    const both = Buffer.concat([await readFile(mallory), await sig('bob')]);
    let reads = 0;
    async function* once() {
      reads++;
      yield await readFile(data);
    }
    const who = await verifySignature({ data: once(), signature: both, name: 'example.com/app', store });
    expect(who.keyFingerprint).toBe(fp.bob);
    expect(reads).toBe(1);
  });

  it('VERIFY-002 a signature that is not OpenPGP is malformed', async () => {
    const store = await storeWith({ 'local/prefix.d/example.com': ['alice'] });
    for (const signature of [
      '',
      'hello',
      '-----BEGIN PGP SIGNATURE-----\n\nnot base64 at all\n-----END PGP SIGNATURE-----\n',
      randomBytes(64),
      pub.alice as Buffer,
    ]) {
      await expectCode(
        verifySignature({ data, signature, name: 'example.com/app', store }),
        'ERR_VERIFY_MALFORMED_SIGNATURE',
      );
    }
  });

  it('VERIFY-004 names that are not AC Identifiers are refused before any file is read', async () => {
    const store = await storeWith({});
    for (const name of ['../etc', '/abs/name', 'Example.com/app', 'a//b', 'a/./b', '']) {
      await expectCode(
        verifySignature({ data, signature: await sig('alice'), name, store }),
        'ERR_VERIFY_INVALID_NAME',
      );
    }
  });

  it('I/O errors on the data pass through unchanged', async () => {
    const store = await storeWith({ 'local/prefix.d/example.com': ['alice'] });
    const error = await verifySignature({
      data: join(work, 'missing.aci'),
      signature: await sig('alice'),
      name: 'example.com/app',
      store,
    }).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('ENOENT');
  });
});

describe('trust scope (VERIFY-003, VERIFY-004)', () => {
  const cases: {
    title: string;
    files: Parameters<typeof storeWith>[0];
    name: string;
    want: string | VerifyErrorCode;
  }[] = [
    {
      title: 'a parent prefix covers',
      files: { 'local/prefix.d/example.com': ['alice'] },
      name: 'example.com/x/y',
      want: 'alice',
    },
    {
      title: 'the exact prefix covers',
      files: { 'local/prefix.d/example.com/app': ['alice'] },
      name: 'example.com/app',
      want: 'alice',
    },
    {
      title: 'a sibling-string prefix does not cover (ours: whole components)',
      files: { 'local/prefix.d/example.com/foo': ['alice'] },
      name: 'example.com/foobar',
      want: 'ERR_VERIFY_NO_TRUSTED_KEY',
    },
    {
      title: 'a deeper prefix does not cover its parent',
      files: { 'local/prefix.d/example.com/app/sub': ['alice'] },
      name: 'example.com/app',
      want: 'ERR_VERIFY_NO_TRUSTED_KEY',
    },
    {
      title: 'a system root key covers everything',
      files: { 'system/root.d': ['alice'] },
      name: 'other.org/any/thing',
      want: 'alice',
    },
    {
      title: 'a local root key covers everything',
      files: { 'local/root.d': ['alice'] },
      name: 'x',
      want: 'alice',
    },
    {
      title: 'an empty local file masks the system key of the same fingerprint',
      files: { 'system/prefix.d/example.com': ['alice'], 'local/prefix.d/example.com': [{ empty: 'alice' }] },
      name: 'example.com/app',
      want: 'ERR_VERIFY_NO_TRUSTED_KEY',
    },
    {
      title: 'an empty local root file masks a system root key',
      files: { 'system/root.d': ['alice'], 'local/root.d': [{ empty: 'alice' }] },
      name: 'example.com/app',
      want: 'ERR_VERIFY_NO_TRUSTED_KEY',
    },
    {
      title: 'a mask removes only its fingerprint: another trusted key then meets an unknown signer',
      files: {
        'system/prefix.d/example.com': ['alice', 'bob'],
        'local/prefix.d/example.com': [{ empty: 'alice' }],
      },
      name: 'example.com/app',
      want: 'ERR_VERIFY_UNKNOWN_SIGNER',
    },
    {
      title: 'a key file named after another fingerprint is an error',
      files: {
        'local/prefix.d/example.com': [{ name: '0123456789abcdef0123456789abcdef01234567', key: 'alice' }],
      },
      name: 'example.com/app',
      want: 'ERR_VERIFY_KEY_FILE_NAME',
    },
    {
      title: 'an upper-case fingerprint file name is an error',
      files: { 'local/root.d': [{ name: 'UPPER', key: 'alice' }] },
      name: 'example.com/app',
      want: 'ERR_VERIFY_KEY_FILE_NAME',
    },
  ];
  for (const c of cases) {
    it(`VERIFY-004 ${c.title}`, async () => {
      const store = await storeWith(c.files);
      const run = verifySignature({ data, signature: await sig('alice'), name: c.name, store });
      if (c.want.startsWith('ERR_')) await expectCode(run, c.want as VerifyErrorCode);
      else expect((await run).keyFingerprint).toBe(fp[c.want]);
    });
  }

  it('VERIFY-003 an upper-case variant of the right fingerprint is still refused', async () => {
    const store = await storeWith({
      'local/root.d': [{ name: (fp.alice as string).toUpperCase(), key: 'alice' }],
    });
    await expectCode(store.keysFor('example.com/app'), 'ERR_VERIFY_KEY_FILE_NAME', /lower-case/);
  });
});

describe('expired and revoked keys', () => {
  it('VERIFY-002 a key that expired is refused, even for a signature made while it was valid', async () => {
    const g = await createGpg();
    try {
      const old = await g.genKey('Old <old@example.com>', { expire: '1d', fakedTime: '20200101T000000' });
      const file = join(work, 'old.aci');
      await copyFile(data, file);
      await g.detachSign(file, old, { fakedTime: '20200101T120000' });
      const dir = await mkdtemp(join(work, 'store-'));
      await mkdir(join(dir, 'trustedkeys', 'root.d'), { recursive: true });
      await writeFile(join(dir, 'trustedkeys', 'root.d', old), await g.exportPublic(old));
      const store = openTrustStore({ localDir: dir });
      await expectCode(
        verifySignature({
          data: file,
          signature: await readFile(`${file}.asc`),
          name: 'example.com/app',
          store,
        }),
        'ERR_VERIFY_KEY_EXPIRED',
        /expired/,
      );
      // at a moment when the key was valid, the same signature verifies
      const who = await verifySignature({
        data: file,
        signature: await readFile(`${file}.asc`),
        name: 'example.com/app',
        store,
        date: new Date('2020-01-01T18:00:00Z'),
      });
      expect(who.keyFingerprint).toBe(old);
    } finally {
      await g.close();
    }
  });

  it('VERIFY-002 a revoked key is refused', async () => {
    const g = await createGpg();
    try {
      const k = await g.genKey('Gone <gone@example.com>');
      const file = join(work, 'gone.aci');
      await copyFile(data, file);
      await g.detachSign(file, k);
      await g.revoke(k);
      const dir = await mkdtemp(join(work, 'store-'));
      await mkdir(join(dir, 'trustedkeys', 'root.d'), { recursive: true });
      await writeFile(join(dir, 'trustedkeys', 'root.d', k), await g.exportPublic(k));
      const store = openTrustStore({ localDir: dir });
      await expectCode(
        verifySignature({
          data: file,
          signature: await readFile(`${file}.asc`),
          name: 'example.com/app',
          store,
        }),
        'ERR_VERIFY_KEY_REVOKED',
        /revoked/,
      );
    } finally {
      await g.close();
    }
  });
});

describe('weak algorithms and aborts', () => {
  it('VERIFY-002 a SHA-1 signature and a 1024-bit RSA key are refused as weak', async () => {
    const g = await createGpg();
    try {
      const small = await g.genKey('Small <small@example.com>', { algo: 'rsa1024' });
      const file = join(work, 'weak.aci');
      await copyFile(data, file);
      await g.detachSign(file, small, { out: `${file}.rsa1024.asc` });
      const ed = await g.genKey('Sha1 <sha1@example.com>');
      await g.gpg([
        '--yes',
        '--passphrase',
        '',
        '--local-user',
        ed,
        '--digest-algo',
        'SHA1',
        '--armor',
        '--output',
        `${file}.sha1.asc`,
        '--detach-sign',
        file,
      ]);
      const dir = await mkdtemp(join(work, 'store-'));
      await mkdir(join(dir, 'trustedkeys', 'root.d'), { recursive: true });
      await writeFile(join(dir, 'trustedkeys', 'root.d', small), await g.exportPublic(small));
      await writeFile(join(dir, 'trustedkeys', 'root.d', ed), await g.exportPublic(ed));
      const store = openTrustStore({ localDir: dir });
      for (const which of ['rsa1024', 'sha1']) {
        await expectCode(
          verifySignature({
            data: file,
            signature: await readFile(`${file}.${which}.asc`),
            name: 'example.com/app',
            store,
          }),
          'ERR_VERIFY_WEAK_ALGORITHM',
          /insecure/,
        );
      }
    } finally {
      await g.close();
    }
  });

  it('an aborted signal stops verification with ERR_VERIFY_ABORTED, before or during the read', async () => {
    const store = await storeWith({ 'local/prefix.d/example.com': ['alice'] });
    const signature = await sig('alice');
    const before = new AbortController();
    before.abort();
    await expectCode(
      verifySignature({ data, signature, name: 'example.com/app', store, signal: before.signal }),
      'ERR_VERIFY_ABORTED',
    );
    const during = new AbortController();
    async function* slow() {
      yield Buffer.alloc(1000);
      during.abort();
      await new Promise((resolve) => setTimeout(resolve, 50));
      yield Buffer.alloc(1000);
    }
    await expectCode(
      verifySignature({ data: slow(), signature, name: 'example.com/app', store, signal: during.signal }),
      'ERR_VERIFY_ABORTED',
    );
  });
});

describe('large images', () => {
  it('VERIFY-002 a 50 MB image verifies streamed, in bounded memory, and one changed byte fails', {
    tags: ['slow'],
  }, async () => {
    const big = join(work, 'big.aci');
    const chunk = randomBytes(1024 * 1024);
    const parts: Buffer[] = [];
    for (let i = 0; i < 50; i++) parts.push(chunk);
    await writeFile(big, Buffer.concat(parts));
    parts.length = 0;
    await gpg.detachSign(big, fp.alice as string);
    const store = await storeWith({ 'local/prefix.d/example.com': ['alice'] });
    const signature = await readFile(`${big}.asc`);

    // measure what stays alive, not garbage waiting for collection: collect before every sample
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const live = () => {
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const before = live();
    let peak = before;
    let samples = 0;
    const timer = setInterval(() => {
      peak = Math.max(peak, live());
      samples++;
    }, 20);
    try {
      const who = await verifySignature({ data: big, signature, name: 'example.com/app', store });
      expect(who.keyFingerprint).toBe(fp.alice);
    } finally {
      clearInterval(timer);
    }
    const grownMiB = (peak - before) / 2 ** 20;
    // holding the image would keep 50 MiB or more alive; streaming keeps a few chunks in flight
    expect(samples).toBeGreaterThan(3);
    expect(grownMiB).toBeLessThan(16);

    const fh = await open(big, 'r+');
    const at = 37 * 1024 * 1024 + 11;
    const one = Buffer.alloc(1);
    await fh.read(one, 0, 1, at);
    one[0] = (one[0] as number) ^ 0x80;
    await fh.write(one, 0, 1, at);
    await fh.close();
    await expectCode(
      verifySignature({ data: big, signature, name: 'example.com/app', store }),
      'ERR_VERIFY_BAD_SIGNATURE',
    );
  });
});
