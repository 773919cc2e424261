import { SchemaError } from './errors.ts';

// The spec's regex is `^[a-z0-9]+([-._~/][a-z0-9]+)*$`, but its own list of examples has
// `example.com/~user/app_v1`, where `/~` is two separators in a row: a path segment may start with `~`.
const AC_IDENTIFIER = /^[a-z0-9]+(?:(?:[-._~]|\/~?)[a-z0-9]+)*$/;
const AC_NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** True for an AC Identifier (TYPES-001): lower-case letters and digits joined by single `-._~/` separators,
 * or by `/~` (the spec's own example `example.com/~user/app_v1`). Stricter than the Go reference, which
 * accepts every run of separators (`a--b`). */
export function isAcIdentifier(value: unknown): value is string {
  return typeof value === 'string' && AC_IDENTIFIER.test(value);
}

/** True for an AC Name (TYPES-003): lower-case letters and digits joined by single dashes. */
export function isAcName(value: unknown): value is string {
  return typeof value === 'string' && AC_NAME.test(value);
}

/** Why a string is not an AC Identifier or AC Name, in the reference's three kinds plus `separator-run` for
 * the runs of separators that only the spec's regex forbids; undefined when it is valid. */
export function acIdentifierProblem(
  value: string,
  kind: 'identifier' | 'name' = 'identifier',
): 'empty' | 'invalid-char' | 'invalid-edge' | 'separator-run' | undefined {
  if (value === '') return 'empty';
  const chars = kind === 'identifier' ? /^[a-z0-9._~/-]*$/ : /^[a-z0-9-]*$/;
  if (!chars.test(value)) return 'invalid-char';
  const re = kind === 'identifier' ? AC_IDENTIFIER : AC_NAME;
  if (re.test(value)) return undefined;
  const alnum = /[a-z0-9]/;
  if (!alnum.test(value[0] as string) || !alnum.test(value[value.length - 1] as string))
    return 'invalid-edge';
  return 'separator-run';
}

function sanitize(value: string, allowed: RegExp, replacement: string, edges: RegExp, what: string): string {
  const out = value.toLowerCase().replace(allowed, replacement).replace(edges, '');
  if (out === '') {
    const message = `${JSON.stringify(value)} has nothing that can make an ${what}; give a name with letters or digits.`;
    const requirement = what === 'AC Name' ? 'TYPES-003' : 'TYPES-002';
    throw new SchemaError(message, {
      code: 'ERR_SCHEMA_INVALID',
      requirement,
      pointer: '',
      issues: [{ code: 'ERR_SCHEMA_EMPTY', pointer: '', requirement, message }],
    });
  }
  return out;
}

/** Turns any string into an AC Identifier (TYPES-002, as the reference does): lower-cases it, replaces every
 * character outside `[a-z0-9._~/-]` with `_`, strips separators from both ends. Runs of separators inside are
 * kept, as the reference keeps them; such a result fails {@link isAcIdentifier}, so check it if that matters.
 * @throws {@link SchemaError} `ERR_SCHEMA_INVALID` (issue `ERR_SCHEMA_EMPTY`) when nothing is left. */
export function sanitizeAcIdentifier(value: string): string {
  return sanitize(value, /[^a-z0-9._~/-]/g, '_', /^[-._~/]+|[-._~/]+$/g, 'AC Identifier');
}

/** Turns any string into an AC Name (TYPES-003): lower-cases it, replaces every other character with `-`,
 * strips dashes from both ends.
 * @throws {@link SchemaError} `ERR_SCHEMA_INVALID` (issue `ERR_SCHEMA_EMPTY`) when nothing is left. */
export function sanitizeAcName(value: string): string {
  return sanitize(value, /[^a-z0-9-]/g, '-', /^-+|-+$/g, 'AC Name');
}
