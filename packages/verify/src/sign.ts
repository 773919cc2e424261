import { stat } from 'node:fs/promises';
import type { PrivateKey } from 'openpgp';
import { VerifyError } from './errors.ts';
import { writeFileAtomic } from './internal/atomic-write.ts';
import { openpgp } from './internal/openpgp.ts';
import { collectText, type SignedData, toOpenpgpInput } from './internal/streams.ts';
import { assertKeyUsable, looksArmored } from './public-key.ts';

/** A private key to sign with, as `gpg --armor --export-secret-keys` writes it (binary works too). */
export interface SigningKey {
  privateKeyArmored: string | Uint8Array;
  /** Needed when the key is protected; ignored otherwise. */
  passphrase?: string | undefined;
}

/** What {@link signFile} wrote. */
export interface SignFileResult {
  /** The signature file: `<file>.asc` unless `output` said otherwise. */
  signatureFile: string;
  /** Fingerprint of the primary key that signed. */
  keyFingerprint: string;
  /** The signature, ASCII-armored. */
  armored: string;
}

async function unlock(key: SigningKey): Promise<PrivateKey> {
  const { decryptKey, readPrivateKey } = await openpgp();
  let privateKey: PrivateKey;
  try {
    const input = key.privateKeyArmored;
    privateKey = looksArmored(input)
      ? await readPrivateKey({
          armoredKey: typeof input === 'string' ? input : Buffer.from(input).toString('utf8'),
        })
      : await readPrivateKey({ binaryKey: typeof input === 'string' ? Buffer.from(input, 'latin1') : input });
  } catch (cause) {
    throw new VerifyError(
      `Not an OpenPGP private key (${(cause as Error).message}); export one with gpg --armor --export-secret-keys KEYID.`,
      { code: 'ERR_VERIFY_PRIVATE_KEY', requirement: 'VERIFY-009', cause },
    );
  }
  if (!privateKey.isDecrypted()) {
    if (key.passphrase === undefined) {
      throw new VerifyError(`Private key ${privateKey.getFingerprint()} is protected: give its passphrase.`, {
        code: 'ERR_VERIFY_PASSPHRASE',
        requirement: 'VERIFY-009',
      });
    }
    try {
      privateKey = await decryptKey({ privateKey, passphrase: key.passphrase });
    } catch (cause) {
      throw new VerifyError(
        `Private key ${privateKey.getFingerprint()} could not be unlocked: wrong passphrase (${(cause as Error).message}).`,
        { code: 'ERR_VERIFY_PASSPHRASE', requirement: 'VERIFY-009', cause },
      );
    }
  }
  await assertKeyUsable(privateKey.toPublic(), 'signing key', 'VERIFY-009');
  return privateKey;
}

async function signToText(
  data: SignedData,
  privateKey: PrivateKey,
  signal: AbortSignal | undefined,
): Promise<string> {
  const { createMessage, sign: openpgpSign } = await openpgp();
  const source = toOpenpgpInput(data, signal);
  try {
    const message = await createMessage({ binary: source.input as never });
    const out = await openpgpSign({ message, signingKeys: privateKey, detached: true, format: 'armored' });
    return await collectText(out);
  } catch (error) {
    source.destroy();
    if (signal?.aborted)
      throw new VerifyError('Signing was aborted.', { code: 'ERR_VERIFY_ABORTED', cause: error });
    if (error instanceof Error && /signing key|key packet/i.test(error.message)) {
      throw new VerifyError(
        `The key cannot sign (${error.message}); use a key with a valid signing (sub)key.`,
        {
          code: 'ERR_VERIFY_PRIVATE_KEY',
          requirement: 'VERIFY-009',
          cause: error,
        },
      );
    }
    throw error;
  }
}

/** Makes an ASCII-armored detached OpenPGP signature over the bytes of `data` (VERIFY-009). `data` is a file
 * path, bytes, or a stream; it is streamed, never held whole.
 * @throws {@link VerifyError} `ERR_VERIFY_PRIVATE_KEY`, `ERR_VERIFY_PASSPHRASE`, `ERR_VERIFY_KEY_EXPIRED`,
 * `ERR_VERIFY_KEY_REVOKED`, `ERR_VERIFY_ABORTED`. */
export async function sign(
  data: SignedData,
  key: SigningKey,
  options: { signal?: AbortSignal | undefined } = {},
): Promise<string> {
  return signToText(data, await unlock(key), options.signal);
}

/** Signs an archive and writes the ASCII-armored detached signature to `<file>.asc` (VERIFY-009), atomically,
 * mode 0644; the archive is streamed. GnuPG 2.x verifies the result (`gpg --verify file.asc file`).
 * @throws {@link VerifyError} as {@link sign}; I/O errors pass through.
 * @example
 * await signFile('app.aci', { privateKeyArmored: await readFile('signing-key.asc', 'utf8') });
 */
export async function signFile(
  file: string,
  key: SigningKey,
  options: { output?: string | undefined; signal?: AbortSignal | undefined } = {},
): Promise<SignFileResult> {
  const privateKey = await unlock(key);
  await stat(file); // a missing archive fails before anything is written
  const armored = await signToText(file, privateKey, options.signal);
  const signatureFile = options.output ?? `${file}.asc`;
  await writeFileAtomic(signatureFile, armored);
  return { signatureFile, keyFingerprint: privateKey.getFingerprint().toLowerCase(), armored };
}
