import { VerifyError } from './errors.ts';

/** The relaxations `--insecure-options` can name (VERIFY-007). */
export const INSECURE_OPTIONS = [
  'image',
  'tls',
  'http',
  'pubkey',
  'capabilities',
  'paths',
  'seccomp',
  'ondisk',
] as const;

/** One relaxation: `image` (no signature check), `tls` (any certificate), `http` (plain http), `pubkey` (keys
 * over insecure transports), `capabilities`, `paths`, `seccomp` (run-time), `ondisk` (accepted, no effect). */
export type InsecureOption = (typeof INSECURE_OPTIONS)[number];

/** Groups as rkt's code defines them (VERIFY-007): `all-fetch` includes `pubkey`, which rkt's docs omit. */
export const INSECURE_OPTION_GROUPS: Readonly<Record<string, readonly InsecureOption[]>> = {
  none: [],
  'all-fetch': ['image', 'tls', 'http', 'pubkey'],
  'all-run': ['capabilities', 'paths', 'seccomp'],
  all: INSECURE_OPTIONS,
};

/** Parses an `--insecure-options` value, a comma list such as `image,tls` (VERIFY-007), into the set of named
 * relaxations. `none` adds nothing; groups expand; names are exact (lower case); blanks around names are ignored.
 * @throws {@link VerifyError} `ERR_VERIFY_INSECURE_OPTION` for an unknown or empty name. */
export function parseInsecureOptions(value: string): Set<InsecureOption> {
  const out = new Set<InsecureOption>();
  const known = new Set<string>(INSECURE_OPTIONS);
  for (const raw of value.split(',')) {
    const name = raw.trim();
    const group = Object.hasOwn(INSECURE_OPTION_GROUPS, name) ? INSECURE_OPTION_GROUPS[name] : undefined;
    if (group !== undefined) {
      for (const o of group) out.add(o);
    } else if (known.has(name)) {
      out.add(name as InsecureOption);
    } else {
      throw new VerifyError(
        `--insecure-options: ${name === '' ? 'an empty name' : JSON.stringify(name)} is not a known option; use a ` +
          `comma list of ${['none', ...INSECURE_OPTIONS, 'all-fetch', 'all-run', 'all'].join(', ')}.`,
        { code: 'ERR_VERIFY_INSECURE_OPTION', requirement: 'VERIFY-007' },
      );
    }
  }
  return out;
}
