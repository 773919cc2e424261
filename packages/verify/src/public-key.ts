import type { Key, PublicKey } from 'openpgp';
import { VerifyError } from './errors.ts';
import { openpgp } from './internal/openpgp.ts';

/** What the trust store and the review need to know about an OpenPGP public key. */
export interface PublicKeyInfo {
  /** Fingerprint of the primary key, 40 lower-case hex digits (the key file's name, VERIFY-003). */
  fingerprint: string;
  /** Key IDs (16 lower-case hex digits) of the primary key and every subkey, primary first. */
  keyIds: string[];
  /** Fingerprints of the subkeys, lower-case hex. */
  subkeyFingerprints: string[];
  /** User IDs as written in the key (`Name <mail>`). */
  userIds: string[];
  /** The public key alone (no secret material), ASCII-armored: what the trust store writes. */
  armored: string;
  /** When the primary key was made. */
  created: Date;
  /** When the primary key expires, `undefined` when it never does. */
  expires: Date | undefined;
  /** True when the key carries a valid revocation of its primary key. */
  revoked: boolean;
  /** True when the input held the key's secret part (a private key export); `armored` never has it. */
  secret: boolean;
}

/** Options of {@link readPublicKeys}. */
export interface ReadPublicKeysOptions {
  /** Refuse input holding secret key material (`ERR_VERIFY_SECRET_KEY`) instead of keeping its public part:
   * for keys about to be published, where a private key given by mistake would be given away. */
  publicOnly?: boolean | undefined;
}

/** Upper bound on a key file or a downloaded key: real keys are a few KiB. */
export const MAX_KEY_BYTES = 1024 * 1024;

const ARMOR_START = '-----BEGIN PGP';
const ARMOR_BLOCK =
  /-----BEGIN PGP (?:PUBLIC|PRIVATE) KEY BLOCK-----[\s\S]*?-----END PGP (?:PUBLIC|PRIVATE) KEY BLOCK-----/g;

/** True when the bytes or text look ASCII-armored (start, after blanks, with an armor header line). */
export function looksArmored(input: string | Uint8Array): boolean {
  const head =
    typeof input === 'string' ? input.slice(0, 256) : Buffer.from(input.subarray(0, 256)).toString('latin1');
  return head.trimStart().startsWith(ARMOR_START);
}

/** The public keys {@link parseKeys} made from private ones. */
const fromSecret = new WeakSet<PublicKey>();

/** Parses one or more OpenPGP keys, armored or binary, and returns their public parts (secret parts dropped).
 * @internal used by the trust store and verification. */
export async function parseKeys(input: string | Uint8Array, where: string): Promise<PublicKey[]> {
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.byteLength;
  if (size > MAX_KEY_BYTES) {
    throw new VerifyError(
      `${where}: ${size} bytes is too large for an OpenPGP public key (limit ${MAX_KEY_BYTES}).`,
      {
        code: 'ERR_VERIFY_KEY_TOO_LARGE',
        file: where,
      },
    );
  }
  let keys: Key[];
  try {
    if (looksArmored(input)) {
      // a key ring may be several armor blocks one after another (as `cat a.asc b.asc` makes)
      const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
      const blocks = text.match(ARMOR_BLOCK) ?? [text];
      keys = [];
      const { readKeys } = await openpgp();
      for (const block of blocks) keys.push(...(await readKeys({ armoredKeys: block })));
    } else {
      const { readKeys } = await openpgp();
      keys = await readKeys({ binaryKeys: typeof input === 'string' ? Buffer.from(input, 'latin1') : input });
    }
  } catch (cause) {
    throw new VerifyError(
      `${where}: not an OpenPGP public key (${(cause as Error).message}). ` +
        'Give an ASCII-armored or binary key as `gpg --armor --export KEYID` writes it.',
      { code: 'ERR_VERIFY_MALFORMED_KEY', file: where, cause },
    );
  }
  if (keys.length === 0) {
    throw new VerifyError(`${where}: holds no OpenPGP key.`, {
      code: 'ERR_VERIFY_MALFORMED_KEY',
      file: where,
    });
  }
  return keys.map((k) => {
    if (!k.isPrivate()) return k as PublicKey;
    const pub = k.toPublic();
    fromSecret.add(pub);
    return pub;
  });
}

/** Describes an openpgp key object. @internal */
export async function describeKey(key: PublicKey): Promise<PublicKeyInfo> {
  const expiration = await key.getExpirationTime().catch(() => null);
  let revoked = false;
  try {
    revoked = await key.isRevoked();
  } catch {
    revoked = false;
  }
  return {
    fingerprint: key.getFingerprint().toLowerCase(),
    keyIds: key.getKeyIDs().map((id) => id.toHex().toLowerCase()),
    subkeyFingerprints: key.getSubkeys().map((s) => s.getFingerprint().toLowerCase()),
    userIds: key.getUserIDs(),
    armored: key.armor(),
    created: key.getCreationTime(),
    expires: expiration instanceof Date ? expiration : undefined,
    revoked,
    secret: fromSecret.has(key),
  };
}

/** Reads one OpenPGP public key, ASCII-armored or binary (a private key gives its public part).
 * @throws {@link VerifyError} `ERR_VERIFY_MALFORMED_KEY` when the input is not exactly one key,
 * `ERR_VERIFY_KEY_TOO_LARGE` above 1 MiB. */
export async function readPublicKey(
  armoredOrBinary: string | Uint8Array,
  where = 'key',
): Promise<PublicKeyInfo> {
  const keys = await parseKeys(armoredOrBinary, where);
  if (keys.length !== 1) {
    throw new VerifyError(
      `${where}: holds ${keys.length} keys where one was expected; use readPublicKeys() for a key ring.`,
      { code: 'ERR_VERIFY_MALFORMED_KEY', file: where },
    );
  }
  return describeKey(keys[0] as PublicKey);
}

/** Reads every OpenPGP public key of a key ring (armored or binary), as served by an `ac-discovery-pubkeys` URL.
 * @throws {@link VerifyError} `ERR_VERIFY_MALFORMED_KEY`, `ERR_VERIFY_KEY_TOO_LARGE`; `ERR_VERIFY_SECRET_KEY`
 * with `publicOnly` when the input holds a private key. */
export async function readPublicKeys(
  armoredOrBinary: string | Uint8Array,
  where = 'key',
  options: ReadPublicKeysOptions = {},
): Promise<PublicKeyInfo[]> {
  const keys = await parseKeys(armoredOrBinary, where);
  const infos = await Promise.all(keys.map(describeKey));
  const secret = options.publicOnly ? infos.find((k) => k.secret) : undefined;
  if (secret)
    throw new VerifyError(
      `${where}: holds the PRIVATE key ${secret.fingerprint}, which must never be published. Give the public key ` +
        `instead: gpg --armor --export ${secret.fingerprint}`,
      { code: 'ERR_VERIFY_SECRET_KEY', requirement: 'VERIFY-005', file: where },
    );
  return infos;
}

/** Throws when the key (or the subkey `keyId`, when given) is revoked or expired at `date`. @internal */
export async function assertKeyUsable(
  key: PublicKey,
  where: string,
  requirement: string,
  keyId?: string,
  date: Date = new Date(),
): Promise<void> {
  const fp = key.getFingerprint().toLowerCase();
  const fail = (code: 'ERR_VERIFY_KEY_REVOKED' | 'ERR_VERIFY_KEY_EXPIRED', what: string) =>
    new VerifyError(
      `${where}: key ${fp} ${what}. Ask the publisher for a current key, then remove this one (appc trust remove ${fp}).`,
      { code, requirement, file: where },
    );
  if (await key.isRevoked(undefined, undefined, date).catch(() => false))
    throw fail('ERR_VERIFY_KEY_REVOKED', 'is revoked');
  const expires = await key.getExpirationTime().catch(() => null);
  if (expires instanceof Date && expires.getTime() <= date.getTime()) {
    throw fail('ERR_VERIFY_KEY_EXPIRED', `expired on ${expires.toISOString()}`);
  }
  if (keyId === undefined || key.getKeyID().toHex().toLowerCase() === keyId) return;
  const sub = key.getSubkeys().find((s) => s.getKeyID().toHex().toLowerCase() === keyId);
  if (sub === undefined) return;
  if (await sub.isRevoked(null as never, null as never, date).catch(() => false)) {
    throw fail('ERR_VERIFY_KEY_REVOKED', `has its signing subkey ${keyId} revoked`);
  }
  const subExpires = await sub.getExpirationTime().catch(() => null);
  if (subExpires instanceof Date && subExpires.getTime() <= date.getTime()) {
    throw fail(
      'ERR_VERIFY_KEY_EXPIRED',
      `has its signing subkey ${keyId} expired on ${subExpires.toISOString()}`,
    );
  }
}
