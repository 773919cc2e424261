import type { PublicKey, Signature, SignaturePacket } from 'openpgp';
import { VerifyError } from './errors.ts';
import { digestable, digestsOf } from './internal/digest.ts';
import { openpgp } from './internal/openpgp.ts';
import { drain, type SignedData, toOpenpgpInput } from './internal/streams.ts';
import { parseImageName } from './prefix.ts';
import { assertKeyUsable, looksArmored, parseKeys } from './public-key.ts';
import type { KeyScope, TrustedKey, TrustKind } from './trust-store.ts';

/** Anything that can name the trusted keys for an image name: a {@link TrustStore} or your own. */
export interface Keyring {
  keysFor(name: string): Promise<TrustedKey[]>;
  /** Whether any key is trusted for `name`, answered without reading the keys (optional; {@link TrustStore}
   * has it): lets a caller decide to offer trust before a download without loading OpenPGP. */
  hasKeysFor?(name: string): Promise<boolean>;
}

/** Options of {@link verifySignature}. */
export interface VerifySignatureOptions {
  /** The signed archive exactly as downloaded (VERIFY-002): a file path, bytes, or a stream read once. */
  data: SignedData;
  /** The detached signature: ASCII-armored text or bytes, or binary (tried when no armor is found). */
  signature: string | Uint8Array;
  /** The image name from the manifest; keys trusted for it or a parent prefix, and root keys, apply. */
  name: string;
  store: Keyring;
  /** Moment at which keys must be valid (not expired, not revoked); default now. */
  date?: Date | undefined;
  signal?: AbortSignal | undefined;
}

/** Who signed, as {@link verifySignature} reports it on success. */
export interface VerifiedSignature {
  /** Fingerprint of the trusted primary key. */
  keyFingerprint: string;
  /** Key ID (16 hex digits) of the key that made the signature: the primary key or one of its subkeys. */
  signingKeyId: string;
  userIds: string[];
  scope: KeyScope;
  kind: TrustKind;
  /** Prefix the key was trusted for; `undefined` for a root key. */
  prefix: string | undefined;
  /** Key file in the trust store. */
  file: string;
  /** Creation time the signature states. */
  created: Date | undefined;
}

const MAX_SIGNATURE_BYTES = 1024 * 1024;

function malformed(detail: string, cause?: unknown): VerifyError {
  return new VerifyError(
    `The signature is not an OpenPGP detached signature (${detail}). Sign with gpg --armor --detach-sign or appc sign.`,
    { code: 'ERR_VERIFY_MALFORMED_SIGNATURE', requirement: 'VERIFY-002', cause },
  );
}

/** Reads a detached signature: armored first; when no armor is found, binary (VERIFY-002, rkt). @internal */
export async function parseDetachedSignature(signature: string | Uint8Array): Promise<Signature> {
  const size = typeof signature === 'string' ? Buffer.byteLength(signature) : signature.byteLength;
  if (size === 0) throw malformed('it is empty');
  if (size > MAX_SIGNATURE_BYTES) throw malformed(`${size} bytes is far too large`);
  const { readSignature } = await openpgp();
  let parsed: Signature;
  try {
    parsed = looksArmored(signature)
      ? await readSignature({
          armoredSignature:
            typeof signature === 'string' ? signature : Buffer.from(signature).toString('utf8'),
        })
      : await readSignature({
          binarySignature: typeof signature === 'string' ? Buffer.from(signature, 'latin1') : signature,
        });
  } catch (cause) {
    throw malformed((cause as Error).message, cause);
  }
  if (parsed.getSigningKeyIDs().length === 0) throw malformed('it holds no signature packet');
  return parsed;
}

function classify(error: unknown, fingerprint: string): VerifyError {
  const message = error instanceof Error ? error.message : String(error);
  if (/revoked/i.test(message)) {
    return new VerifyError(`Key ${fingerprint} is revoked: ${message}.`, {
      code: 'ERR_VERIFY_KEY_REVOKED',
      requirement: 'VERIFY-002',
      cause: error,
    });
  }
  if (/expired/i.test(message)) {
    return new VerifyError(`Key or signature expired: ${message}.`, {
      code: 'ERR_VERIFY_KEY_EXPIRED',
      requirement: 'VERIFY-002',
      cause: error,
    });
  }
  if (/insecure|weak|too short|shorter than|not supported|unsupported/i.test(message)) {
    return new VerifyError(
      `The signature by ${fingerprint} uses an algorithm or key size refused as insecure (${message}); ask the ` +
        'publisher to sign with SHA-256 or better and a modern key.',
      { code: 'ERR_VERIFY_WEAK_ALGORITHM', requirement: 'VERIFY-002', cause: error },
    );
  }
  return new VerifyError(
    `The signature by trusted key ${fingerprint} does not match the data (${message}): the image was changed ` +
      'after signing, or the signature belongs to another file. Do not use it.',
    { code: 'ERR_VERIFY_BAD_SIGNATURE', requirement: 'VERIFY-002', cause: error },
  );
}

/** Checks a detached OpenPGP signature over the archive bytes exactly as given (VERIFY-002) against the keys
 * the store trusts for `name` (VERIFY-004). The data is streamed, never held whole in memory; every byte is
 * read and the result awaited before success is reported.
 * @throws {@link VerifyError} `ERR_VERIFY_NO_TRUSTED_KEY` (no key for the name or a parent), `ERR_VERIFY_UNKNOWN_SIGNER`
 * (signed by a key not trusted for the name; `signerKeyIds` says which), `ERR_VERIFY_BAD_SIGNATURE` (changed data),
 * `ERR_VERIFY_MALFORMED_SIGNATURE`, `ERR_VERIFY_KEY_EXPIRED`, `ERR_VERIFY_KEY_REVOKED`, `ERR_VERIFY_WEAK_ALGORITHM`,
 * `ERR_VERIFY_INVALID_NAME`, `ERR_VERIFY_ABORTED`, and the trust store's errors. I/O errors of the data pass through.
 * @example
 * const store = openTrustStore({ systemDir: '/usr/lib/appc', localDir: '/etc/appc' });
 * const who = await verifySignature({ data: 'app.aci', signature: await readFile('app.aci.asc'), name: 'example.com/app', store });
 * console.log(`signed by ${who.userIds.join(', ')} (${who.keyFingerprint})`);
 */
export async function verifySignature(options: VerifySignatureOptions): Promise<VerifiedSignature> {
  const name = parseImageName(options.name);
  const date = options.date ?? new Date();
  const signature = await parseDetachedSignature(options.signature);
  const signerIds = [...new Set(signature.getSigningKeyIDs().map((id) => id.toHex().toLowerCase()))];

  const trusted = await options.store.keysFor(name);
  if (trusted.length === 0) {
    throw new VerifyError(
      `No key is trusted for ${name} or any parent of it, and no root key: nothing can vouch for this image. ` +
        `Review the publisher's key, then run: appc trust add --prefix ${name}`,
      { code: 'ERR_VERIFY_NO_TRUSTED_KEY', requirement: 'VERIFY-001', signerKeyIds: signerIds },
    );
  }
  const candidates: Candidate[] = [];
  for (const entry of trusted) {
    const [key] = await parseKeys(entry.armored, entry.file);
    if (key === undefined) continue;
    for (const keyId of signerIds) {
      if (key.getKeys().some((k) => k.getKeyID().toHex().toLowerCase() === keyId)) {
        candidates.push({ entry, key, keyId });
      }
    }
  }
  if (candidates.length === 0) {
    throw new VerifyError(
      `The signature was made by key ID ${signerIds.join(', ')}, which is not trusted for ${name} ` +
        `(${trusted.length} key${trusted.length === 1 ? ' is' : 's are'} trusted for it). If you trust the ` +
        `publisher, review and add their key: appc trust add --prefix ${name}`,
      { code: 'ERR_VERIFY_UNKNOWN_SIGNER', requirement: 'VERIFY-006', signerKeyIds: signerIds },
    );
  }
  for (const c of candidates) await assertKeyUsable(c.key, c.entry.file, 'VERIFY-002', c.keyId, date);

  if (options.signal?.aborted)
    throw new VerifyError('Verification was aborted.', { code: 'ERR_VERIFY_ABORTED' });
  const pgp = await openpgp();
  const packets = signature.packets.filter((p): p is SignaturePacket => p instanceof pgp.SignaturePacket);
  const results = digestable(packets)
    ? await checkDigests(packets, candidates, options, date)
    : await checkWithOpenpgp(signature, candidates, options, date);

  let firstFailure: VerifyError | undefined;
  for (const r of results) {
    const c = candidates.find((x) => x.keyId === r.keyId);
    if (c === undefined) continue;
    try {
      if ((await r.verified) !== true) throw new Error('signature not verified');
    } catch (error) {
      firstFailure ??= classify(error, c.entry.fingerprint);
      continue;
    }
    const created = await r.created.catch(() => undefined);
    return {
      keyFingerprint: c.entry.fingerprint,
      signingKeyId: r.keyId,
      userIds: c.entry.userIds,
      scope: c.entry.scope,
      kind: c.entry.kind,
      prefix: c.entry.prefix,
      file: c.entry.file,
      created,
    };
  }
  throw (
    firstFailure ??
    new VerifyError('No signature could be checked against a trusted key.', {
      code: 'ERR_VERIFY_BAD_SIGNATURE',
      requirement: 'VERIFY-002',
    })
  );
}

interface Candidate {
  entry: TrustedKey;
  key: PublicKey;
  keyId: string;
}

/** One signature's outcome: `verified` resolves true or rejects with openpgp's reason. */
interface Outcome {
  keyId: string;
  verified: Promise<boolean>;
  created: Promise<Date | undefined>;
}

function abortedError(cause?: unknown): VerifyError {
  return new VerifyError('Verification was aborted.', { code: 'ERR_VERIFY_ABORTED', cause });
}

/** v4 signatures over a binary document: the data is hashed once with node:crypto, and openpgp checks every
 * signature against its digest with the same rules as its own verify (signing key found by the issuer key ID,
 * packet checks at `date`, key not newer than the signature, the signing key valid when the signature was made). */
async function checkDigests(
  packets: SignaturePacket[],
  candidates: Candidate[],
  options: VerifySignatureOptions,
  date: Date,
): Promise<Outcome[]> {
  const { config } = await openpgp();
  const digests = await digestsOf(options.data, packets, options.signal, abortedError);
  return packets.map((packet, i) => {
    const keyId = packet.issuerKeyID.toHex().toLowerCase();
    const verified = (async () => {
      const primary = candidates.find((c) => c.keyId === keyId)?.key;
      const signing = primary?.getKeys(packet.issuerKeyID)[0];
      if (primary === undefined || signing === undefined)
        throw new Error(`Could not find signing key with key ID ${keyId}`);
      // openpgp takes a digest computed beforehand (its streaming verify sets the same field)
      (packet as SignaturePacket & { hashed?: Promise<Uint8Array> }).hashed = Promise.resolve(
        digests[i] as Uint8Array,
      );
      await packet.verify(signing.keyPacket, packet.signatureType as number, {}, date, true, config);
      if (packet.created !== null && signing.getCreationTime() > packet.created)
        throw new Error('Key is newer than the signature');
      await primary.getSigningKey(signing.getKeyID(), packet.created, undefined, config);
      return true;
    })();
    verified.catch(() => {});
    return { keyId, verified, created: Promise.resolve(packet.created ?? undefined) };
  });
}

/** Any other signature: openpgp reads the data itself. */
async function checkWithOpenpgp(
  signature: Signature,
  candidates: Candidate[],
  options: VerifySignatureOptions,
  date: Date,
): Promise<Outcome[]> {
  const { createMessage, verify } = await openpgp();
  const source = toOpenpgpInput(options.data, options.signal);
  try {
    const message = await createMessage({ binary: source.input as never });
    const result = await verify({
      message,
      signature,
      verificationKeys: candidates.map((c) => c.key),
      format: 'binary',
      date,
    });
    const outcomes = (
      result.signatures as unknown as {
        keyID: { toHex(): string };
        verified: Promise<boolean>;
        signature: Promise<Signature>;
      }[]
    ).map((r) => {
      const created = r.signature.then(
        (s) => (s.packets[0] as { created?: Date | null } | undefined)?.created ?? undefined,
      );
      // every outcome is read by the caller or deliberately dropped; none may become an unhandled rejection
      r.verified.catch(() => {});
      created.catch(() => {});
      return { keyId: r.keyID.toHex().toLowerCase(), verified: r.verified, created };
    });
    await drain(result.data);
    return outcomes;
  } catch (error) {
    source.destroy();
    if (options.signal?.aborted) throw abortedError(error);
    throw error;
  }
}
