import { SchemaError } from './errors.ts';

/** Parses an RFC 4122 UUID (TYPES-015) into its canonical lower-case `8-4-4-4-12` form. Like the reference,
 * dashes are dropped first and 32 hex digits of either case are needed; braces, spaces and the all-zero UUID
 * are refused.
 * @throws {@link SchemaError} `ERR_SCHEMA_INVALID` (issue code `ERR_SCHEMA_UUID`). */
export function parseUuid(value: string): string {
  const canonical = canonicalUuid(value);
  if (canonical !== undefined) return canonical;
  const message = `${JSON.stringify(String(value).slice(0, 80))} is not a UUID; write 32 hex digits as 8-4-4-4-12.`;
  throw new SchemaError(message, {
    code: 'ERR_SCHEMA_INVALID',
    requirement: 'TYPES-015',
    pointer: '',
    issues: [{ code: 'ERR_SCHEMA_UUID', pointer: '', requirement: 'TYPES-015', message }],
  });
}

/** The canonical form of a UUID, or undefined when `value` is not one. */
export function canonicalUuid(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > 64) return undefined;
  const hex = value.replaceAll('-', '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex) || /^0+$/.test(hex)) return undefined;
  const h = hex.toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** True for a UUID in canonical form (lower-case `8-4-4-4-12`). */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && canonicalUuid(value) === value;
}
