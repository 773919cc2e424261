import { isObject } from './internal/context.ts';

/** The two manifest kinds (TYPES-004). */
export const AC_KINDS = ['ImageManifest', 'PodManifest'] as const;
/** `ImageManifest` or `PodManifest`. */
export type AcKind = (typeof AC_KINDS)[number];

/** True for exactly `ImageManifest` or `PodManifest` (case-sensitive). */
export function isAcKind(value: unknown): value is AcKind {
  return value === 'ImageManifest' || value === 'PodManifest';
}

/** The kind of manifest `value` says it is, by its `acKind` member; undefined for anything else. */
export function detectManifestKind(value: unknown): AcKind | undefined {
  if (!isObject(value)) return undefined;
  const kind = value.acKind;
  return isAcKind(kind) ? kind : undefined;
}
