import { VerifyError } from './errors.ts';

const FINGERPRINT = /^[0-9a-f]{40}$/;

/** True for a fingerprint as the trust store names key files: 40 lower-case hex digits (VERIFY-003). */
export function isFingerprint(value: unknown): value is string {
  return typeof value === 'string' && FINGERPRINT.test(value);
}

/** Turns a fingerprint as people write it (`8B86 DE38 …`, upper or lower case, `0x` prefix, spaces or colons)
 * into the 40 lower-case hex digits the trust store uses (VERIFY-003).
 * @throws {@link VerifyError} `ERR_VERIFY_INVALID_FINGERPRINT` when 40 hex digits are not what is left. */
export function normalizeFingerprint(value: string): string {
  const compact = value
    .trim()
    .replace(/^0x/i, '')
    .replace(/[\s:]+/g, '')
    .toLowerCase();
  if (!FINGERPRINT.test(compact)) {
    throw new VerifyError(
      `${JSON.stringify(value)} is not an OpenPGP v4 fingerprint: give the 40 hex digits of the primary key ` +
        '(as `gpg --fingerprint` prints them; spaces and case do not matter).',
      { code: 'ERR_VERIFY_INVALID_FINGERPRINT', requirement: 'VERIFY-003' },
    );
  }
  return compact;
}

/** Formats a fingerprint for review as rkt shows it (VERIFY-005): upper-case hex in groups of four, separated
 * by a space, with a second space after the fifth group: `8B86 DE38 890D DB72 9186  7B02 5210 BD88 8818 2190`.
 * @throws {@link VerifyError} `ERR_VERIFY_INVALID_FINGERPRINT` when the input is not 40 hex digits. */
export function formatFingerprint(fingerprint: string): string {
  const hex = normalizeFingerprint(fingerprint).toUpperCase();
  const groups = hex.match(/.{4}/g) as string[];
  return `${groups.slice(0, 5).join(' ')}  ${groups.slice(5).join(' ')}`;
}
