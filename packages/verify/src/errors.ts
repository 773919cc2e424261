import { AppcError, type AppcErrorDetails } from '@appc/schema';

/** Every code a {@link VerifyError} carries; the README has a table of their meanings. */
export const VERIFY_ERROR_CODES = [
  'ERR_VERIFY_NO_TRUSTED_KEY',
  'ERR_VERIFY_UNKNOWN_SIGNER',
  'ERR_VERIFY_BAD_SIGNATURE',
  'ERR_VERIFY_MALFORMED_SIGNATURE',
  'ERR_VERIFY_KEY_EXPIRED',
  'ERR_VERIFY_KEY_REVOKED',
  'ERR_VERIFY_WEAK_ALGORITHM',
  'ERR_VERIFY_KEY_FILE_NAME',
  'ERR_VERIFY_MALFORMED_KEY',
  'ERR_VERIFY_KEY_TOO_LARGE',
  'ERR_VERIFY_INVALID_FINGERPRINT',
  'ERR_VERIFY_FINGERPRINT_MISMATCH',
  'ERR_VERIFY_REVIEW_REFUSED',
  'ERR_VERIFY_REVIEW_REQUIRED',
  'ERR_VERIFY_INVALID_PREFIX',
  'ERR_VERIFY_INVALID_NAME',
  'ERR_VERIFY_INSECURE_KEY_URL',
  'ERR_VERIFY_KEY_FETCH',
  'ERR_VERIFY_NO_KEYS_DISCOVERED',
  'ERR_VERIFY_ROOT_KEY_SOURCE',
  'ERR_VERIFY_USAGE',
  'ERR_VERIFY_NO_LOCAL_DIR',
  'ERR_VERIFY_KEY_NOT_FOUND',
  'ERR_VERIFY_PRIVATE_KEY',
  'ERR_VERIFY_SECRET_KEY',
  'ERR_VERIFY_PASSPHRASE',
  'ERR_VERIFY_INSECURE_OPTION',
  'ERR_VERIFY_ABORTED',
] as const;

/** Stable codes of {@link VerifyError}; renaming one is a breaking change. */
export type VerifyErrorCode = (typeof VERIFY_ERROR_CODES)[number];

/** The one error class of `@appc/verify`. Match on `code` (`hasCode(e, 'ERR_VERIFY_BAD_SIGNATURE')`). */
export class VerifyError extends AppcError<VerifyErrorCode> {
  override name = 'VerifyError';
  /** Key IDs (16 lower-case hex digits) named as issuers by the signature, when the error is about a signer. */
  readonly signerKeyIds: string[] | undefined;
  constructor(message: string, details: AppcErrorDetails<VerifyErrorCode> & { signerKeyIds?: string[] }) {
    super(message, details);
    this.signerKeyIds = details.signerKeyIds;
  }
}
