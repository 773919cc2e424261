import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCode } from '@appc/schema';
import { generateKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGpg, type Gpg } from '../../../test-support/gpg.ts';
import { openTrustStore, sign, signFile, type VerifyErrorCode, verifySignature } from '../src/index.ts';

let gpg: Gpg;
let work: string;

async function expectCode(promise: Promise<unknown>, code: VerifyErrorCode) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(hasCode(error, code), `expected ${code}, got ${String(error)}`).toBe(true);
}

beforeAll(async () => {
  gpg = await createGpg();
  work = await mkdtemp(join(tmpdir(), 'sign-'));
});

afterAll(async () => {
  await gpg?.close();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe('signFile (VERIFY-009)', () => {
  for (const algo of ['ed25519', 'rsa2048', 'rsa3072']) {
    it(`VERIFY-009 signs with a ${algo} key exported by gpg; gpg --verify accepts it, and refuses a changed file`, async () => {
      const fpr = await gpg.genKey(`Signer ${algo} <${algo}@example.com>`, { algo });
      const file = join(work, `app-${algo}.aci`);
      await writeFile(file, randomBytes(300_000));
      const result = await signFile(file, { privateKeyArmored: await gpg.exportSecret(fpr) });
      expect(result.signatureFile).toBe(`${file}.asc`);
      expect(result.keyFingerprint).toBe(fpr);
      const written = await readFile(`${file}.asc`, 'utf8');
      expect(written).toBe(result.armored);
      expect(written).toMatch(/^-----BEGIN PGP SIGNATURE-----\n[\s\S]+-----END PGP SIGNATURE-----\n?$/);
      expect((await stat(`${file}.asc`)).mode & 0o777).toBe(0o644);
      const status = await gpg.verify(`${file}.asc`, file);
      expect(status).toMatch(new RegExp(`\\[GNUPG:\\] VALIDSIG ${fpr.toUpperCase()}`));
      const changed = join(work, `changed-${algo}.aci`);
      const bytes = await readFile(file);
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
      await writeFile(changed, bytes);
      await expect(gpg.verify(`${file}.asc`, changed)).rejects.toThrow(/BAD signature|BADSIG/);
    });
  }

  it('VERIFY-009 a key made by openpgp signs; gpg verifies after importing its public key', async () => {
    const { privateKey, publicKey } = await generateKey({
      userIDs: [{ name: 'Made Here', email: 'here@example.com' }],
      format: 'armored',
    });
    const file = join(work, 'ours.aci');
    await writeFile(file, 'hello image\n');
    const out = await signFile(
      file,
      { privateKeyArmored: privateKey },
      { output: join(work, 'ours.sig.asc') },
    );
    await gpg.importKey(publicKey);
    expect(await gpg.verify(out.signatureFile, file)).toContain('[GNUPG:] GOODSIG');
  });

  it('VERIFY-009 a protected gpg key needs its passphrase; the wrong one is refused', async () => {
    const fpr = await gpg.genKey('Locked <locked@example.com>', { passphrase: 'correct horse' });
    const secret = await gpg.exportSecret(fpr, 'correct horse');
    const file = join(work, 'locked.aci');
    await writeFile(file, 'x');
    await expectCode(signFile(file, { privateKeyArmored: secret }), 'ERR_VERIFY_PASSPHRASE');
    await expectCode(
      signFile(file, { privateKeyArmored: secret, passphrase: 'wrong' }),
      'ERR_VERIFY_PASSPHRASE',
    );
    await signFile(file, { privateKeyArmored: secret, passphrase: 'correct horse' });
    expect(await gpg.verify(`${file}.asc`, file)).toContain('GOODSIG');
  });

  it('refuses a public key, garbage, and an expired key; a missing file writes nothing', async () => {
    const fpr = await gpg.genKey('Pub <pub@example.com>');
    const file = join(work, 'nothing.aci');
    await expectCode(
      sign(Buffer.from('x'), { privateKeyArmored: (await gpg.exportPublic(fpr)).toString() }),
      'ERR_VERIFY_PRIVATE_KEY',
    );
    await expectCode(sign(Buffer.from('x'), { privateKeyArmored: 'garbage' }), 'ERR_VERIFY_PRIVATE_KEY');
    const old = await gpg.genKey('Old signer <old@example.com>', {
      expire: '1d',
      fakedTime: '20200101T000000',
    });
    await expectCode(
      sign(Buffer.from('x'), { privateKeyArmored: await gpg.exportSecret(old) }),
      'ERR_VERIFY_KEY_EXPIRED',
    );
    const error = await signFile(file, { privateKeyArmored: await gpg.exportSecret(fpr) }).catch(
      (e: unknown) => e,
    );
    expect((error as { code?: string }).code).toBe('ENOENT');
    await expect(stat(`${file}.asc`)).rejects.toThrow();
  });
});

describe('sign (VERIFY-009)', () => {
  it('VERIFY-009 returns armored text over bytes or a stream; our verifier and gpg both accept it', async () => {
    const fpr = await gpg.genKey('Both <both@example.com>');
    const key = { privateKeyArmored: await gpg.exportSecret(fpr) };
    const payload = randomBytes(100_000);
    async function* chunks() {
      for (let i = 0; i < payload.length; i += 4096) yield payload.subarray(i, i + 4096);
    }
    const fromBytes = await sign(payload, key);
    const fromStream = await sign(chunks(), key);
    const dir = await mkdtemp(join(work, 'cfg-'));
    await mkdir(join(dir, 'trustedkeys', 'prefix.d', 'example.com'), { recursive: true });
    await writeFile(join(dir, 'trustedkeys', 'prefix.d', 'example.com', fpr), await gpg.exportPublic(fpr));
    const store = openTrustStore({ localDir: dir });
    const file = join(work, 'payload.aci');
    await writeFile(file, payload);
    for (const signature of [fromBytes, fromStream]) {
      expect(signature.startsWith('-----BEGIN PGP SIGNATURE-----')).toBe(true);
      expect(
        (await verifySignature({ data: payload, signature, name: 'example.com/x', store })).keyFingerprint,
      ).toBe(fpr);
      await writeFile(`${file}.asc`, signature);
      expect(await gpg.verify(`${file}.asc`, file)).toContain('GOODSIG');
    }
  });
});
