/** Options of {@link isImageId}. */
export interface ImageIdOptions {
  /** Require the full form: `sha512-` and exactly 128 lower-case hex digits (default true). With false, any
   * non-empty digest after `sha512-` passes, as the reference reads manifests (TYPES-006). */
  full?: boolean;
}

const FULL = /^sha512-[0-9a-f]{128}$/;

/** True for an image ID (TYPES-006). By default only the full form `sha512-<128 lower-case hex>` passes;
 * `{ full: false }` accepts what the reference reads (`sha512-` and any non-empty digest without `-`). */
export function isImageId(value: unknown, options: ImageIdOptions = {}): value is string {
  if (typeof value !== 'string') return false;
  if (options.full ?? true) return FULL.test(value);
  const parts = value.split('-');
  return parts.length === 2 && parts[0] === 'sha512' && parts[1] !== '';
}
