import type { Issue } from './errors.ts';
import { SchemaError } from './errors.ts';

/** Version of the App Container spec this package implements. */
export const SPEC_VERSION = '0.8.11';

/** A parsed SemVer 2.0.0 version. */
export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  /** Pre-release identifiers joined by `.`, `''` when none. */
  preRelease: string;
  /** Build metadata, `''` when none. */
  metadata: string;
  /** The version written back. */
  canonical: string;
}

// SemVer 2.0.0, strict: no leading v, no leading zeros, exactly three numbers.
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

/** Parses a SemVer 2.0.0 string; undefined when it is not one (`1`, `1.2.3.4`, `v1.2.3` are not). */
export function tryParseSemver(value: unknown): SemVer | undefined {
  if (typeof value !== 'string' || value.length > 256) return undefined;
  const m = SEMVER.exec(value);
  if (!m) return undefined;
  // the three numbers must be exact integers (a longer one would round when read)
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const patch = Number(m[3]);
  if (!Number.isSafeInteger(major) || !Number.isSafeInteger(minor) || !Number.isSafeInteger(patch))
    return undefined;
  return {
    major,
    minor,
    patch,
    preRelease: m[4] ?? '',
    metadata: m[5] ?? '',
    canonical: value,
  };
}

/** Parses a SemVer 2.0.0 string (TYPES-005). @throws {@link SchemaError} `ERR_SCHEMA_INVALID` when it is not one. */
export function parseSemver(value: unknown): SemVer {
  const v = tryParseSemver(value);
  if (v) return v;
  const issue: Issue = {
    code: 'ERR_SCHEMA_AC_VERSION',
    pointer: '',
    requirement: 'TYPES-005',
    message: `${JSON.stringify(value)} is not a SemVer 2.0.0 version; write MAJOR.MINOR.PATCH such as "0.8.11".`,
  };
  throw new SchemaError(issue.message, {
    code: 'ERR_SCHEMA_INVALID',
    requirement: 'TYPES-005',
    pointer: '',
    issues: [issue],
  });
}

/** The versions of the App Container spec that were released (git tags v0.1.1 .. v0.8.11 of appc/spec). An
 * acVersion must name one of them (TYPES-005: "a tagged version", not newer than the one implemented). */
export const RELEASED_SPEC_VERSIONS: readonly string[] = Object.freeze([
  '0.1.1',
  '0.2.0',
  '0.3.0',
  '0.4.0',
  '0.4.1',
  '0.5.0',
  '0.5.1',
  '0.5.2',
  '0.6.0',
  '0.6.1',
  '0.7.0',
  '0.7.1',
  '0.7.2',
  '0.7.3',
  '0.7.4',
  '0.8.0',
  '0.8.1',
  '0.8.2',
  '0.8.3',
  '0.8.4',
  '0.8.5',
  '0.8.6',
  '0.8.7',
  '0.8.8',
  '0.8.9',
  '0.8.10',
  '0.8.11',
]);

const shown = (value: string) => JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}…` : value);

/** Why an acVersion is unacceptable (TYPES-005), or undefined when it is fine: not SemVer, `0.0.0`, or a
 * version of the 0.x series that was never released (`0.7.99`, `0.8.11-rc.1`; build metadata such as
 * `0.8.11+git` is allowed, it names the same release) (`ERR_SCHEMA_AC_VERSION`); another major than ours or
 * newer than {@link SPEC_VERSION} (`ERR_SCHEMA_AC_VERSION_NEWER`; the reference accepts newer versions and
 * unreleased ones, the spec says MUST NOT). */
export function acVersionProblem(
  value: string,
): { code: 'ERR_SCHEMA_AC_VERSION' | 'ERR_SCHEMA_AC_VERSION_NEWER'; message: string } | undefined {
  const v = tryParseSemver(value);
  if (!v) {
    return {
      code: 'ERR_SCHEMA_AC_VERSION',
      message: `acVersion ${shown(value)} is not a SemVer 2.0.0 version; write MAJOR.MINOR.PATCH such as "${SPEC_VERSION}".`,
    };
  }
  if (v.major === 0 && v.minor === 0 && v.patch === 0) {
    return {
      code: 'ERR_SCHEMA_AC_VERSION',
      message: `acVersion ${shown(value)} is the zero version; write "${SPEC_VERSION}".`,
    };
  }
  if (v.major !== 0 || compareCore(v, [0, 8, 11]) > 0) {
    return {
      code: 'ERR_SCHEMA_AC_VERSION_NEWER',
      message: `acVersion ${shown(value)} is newer than the spec version this implementation supports (${SPEC_VERSION}, major 0); write "${SPEC_VERSION}" or older.`,
    };
  }
  const core = `${v.major}.${v.minor}.${v.patch}`;
  if (v.preRelease !== '' || !RELEASED_SPEC_VERSIONS.includes(core)) {
    return {
      code: 'ERR_SCHEMA_AC_VERSION',
      message: `acVersion ${shown(value)} names no released version of the App Container spec (0.1.1 .. ${SPEC_VERSION}); write "${SPEC_VERSION}".`,
    };
  }
  return undefined;
}

function compareCore(v: SemVer, core: [number, number, number]): number {
  return v.major - core[0] || v.minor - core[1] || v.patch - core[2];
}
