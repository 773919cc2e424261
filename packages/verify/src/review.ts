import { formatFingerprint } from './fingerprint.ts';

/** What a person checks before a key is trusted (VERIFY-005). */
export interface KeyReview {
  /** The prefix the key will be trusted for; `undefined` for a root key. */
  prefix: string | undefined;
  /** True for a root key (trusted for every name). */
  root: boolean;
  /** Where the key came from: a file path or a URL. */
  location: string;
  /** Fingerprint of the primary key, 40 lower-case hex digits. */
  fingerprint: string;
  /** Fingerprints of the subkeys, lower-case hex. */
  subkeyFingerprints: string[];
  /** User IDs (`Name <mail>`). */
  userIds: string[];
}

/** Formats a key for review as rkt shows it before `trust` stores it (VERIFY-005): prefix (or root), location,
 * the fingerprint grouped by {@link formatFingerprint}, subkey fingerprints, then the identities, one per line.
 * The question itself (`yes` to trust) is the caller's. Ends with a newline. */
export function formatKeyForReview(review: KeyReview): string {
  const lines = [
    review.root
      ? 'Root key (trusted for every image name)'
      : `Prefix: ${JSON.stringify(review.prefix ?? '')}`,
    `Key: ${JSON.stringify(review.location)}`,
    `GPG key fingerprint is: ${formatFingerprint(review.fingerprint)}`,
    ...review.subkeyFingerprints.map((f) => `\tSubkey fingerprint: ${formatFingerprint(f)}`),
    ...review.userIds.map((u) => `\t${u}`),
  ];
  return `${lines.join('\n')}\n`;
}
