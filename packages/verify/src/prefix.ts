import { VerifyError } from './errors.ts';

// An AC Identifier (TYPES-001): lower-case letters and digits joined by single `-._~/` separators. Every
// `/`-separated part of such a string starts and ends with a letter or digit, so `..`, `.`, empty parts and
// absolute paths cannot occur: a prefix is always a safe relative path below prefix.d.
const AC_IDENTIFIER = /^[a-z0-9]+(?:[-._~/][a-z0-9]+)*$/;
const MAX_LENGTH = 512;

function check(value: unknown, what: 'prefix' | 'name'): string {
  if (typeof value === 'string' && value.length <= MAX_LENGTH && AC_IDENTIFIER.test(value)) return value;
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  const code = what === 'prefix' ? 'ERR_VERIFY_INVALID_PREFIX' : 'ERR_VERIFY_INVALID_NAME';
  throw new VerifyError(
    `${shown} is not a valid image ${what}: use an AC Identifier such as example.com/app (lower-case letters ` +
      'and digits joined by single `-._~/`, no leading or trailing separator, no `..`, not an absolute path, ' +
      `at most ${MAX_LENGTH} characters).`,
    { code, requirement: what === 'prefix' ? 'VERIFY-003' : 'VERIFY-004' },
  );
}

/** Checks a trust prefix (VERIFY-003): an AC Identifier, therefore a relative path of safe components.
 * @throws {@link VerifyError} `ERR_VERIFY_INVALID_PREFIX`. */
export function parsePrefix(prefix: string): string {
  return check(prefix, 'prefix');
}

/** True when `prefix` is a valid trust prefix (see {@link parsePrefix}). */
export function isValidPrefix(prefix: unknown): prefix is string {
  return typeof prefix === 'string' && prefix.length <= MAX_LENGTH && AC_IDENTIFIER.test(prefix);
}

/** Checks an image name before looking up its keys (VERIFY-004).
 * @throws {@link VerifyError} `ERR_VERIFY_INVALID_NAME`. */
export function parseImageName(name: string): string {
  return check(name, 'name');
}

/** The prefixes whose keys apply to `name`, shortest first: `a.com`, `a.com/x`, `a.com/x/y` for `a.com/x/y`.
 * Whole `/`-separated components only (VERIFY-004, ours): `a.com/foo` is not among them for `a.com/foobar`. */
export function prefixesOf(name: string): string[] {
  const parts = parseImageName(name).split('/');
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** True when keys trusted for `prefix` cover the image `name` (VERIFY-004, by whole path components). */
export function prefixCovers(prefix: string, name: string): boolean {
  return name === prefix || name.startsWith(`${prefix}/`);
}
