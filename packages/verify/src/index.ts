export type { VerifyErrorCode } from './errors.ts';
export { VERIFY_ERROR_CODES, VerifyError } from './errors.ts';
export { formatFingerprint, isFingerprint, normalizeFingerprint } from './fingerprint.ts';
export type { InsecureOption } from './insecure-options.ts';
export { INSECURE_OPTION_GROUPS, INSECURE_OPTIONS, parseInsecureOptions } from './insecure-options.ts';
export type { SignedData } from './internal/streams.ts';
export { isValidPrefix, parseImageName, parsePrefix, prefixCovers, prefixesOf } from './prefix.ts';
export type { PublicKeyInfo, ReadPublicKeysOptions } from './public-key.ts';
export { MAX_KEY_BYTES, readPublicKey, readPublicKeys } from './public-key.ts';
export type { KeyReview } from './review.ts';
export { formatKeyForReview } from './review.ts';
export type { SignFileResult, SigningKey } from './sign.ts';
export { sign, signFile } from './sign.ts';
export type {
  AddedKey,
  AddKeyOptions,
  KeyDiscovery,
  KeyFetch,
  KeyFetchResponse,
  KeyReviewRequest,
  KeyScope,
  KeySource,
  RemoveKeyOptions,
  TrustedKey,
  TrustKind,
  TrustListEntry,
  TrustStoreOptions,
} from './trust-store.ts';
export { openTrustStore, TrustStore } from './trust-store.ts';
export type { Keyring, VerifiedSignature, VerifySignatureOptions } from './verify-signature.ts';
export { verifySignature } from './verify-signature.ts';
