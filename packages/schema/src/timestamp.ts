const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-](\d{2}):(\d{2}))$/;

/** Regular expression of an RFC 3339 date-time as the reference accepts it (upper-case `T` and `Z`, offset
 * required); {@link isTimestamp} also checks the calendar. */
export const TIMESTAMP_PATTERN: string = RFC3339.source;

/** True for an RFC 3339 date-time (TYPES-008): upper-case `T`, fractional seconds allowed, offset `Z` or
 * `±hh:mm` required, real calendar date, hours < 24, minutes and seconds < 60 (60 allowed as a leap second). */
export function isTimestamp(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = RFC3339.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] as number;
  if (day > days || hour > 23 || minute > 59 || second > 60) return false;
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return false;
  return true;
}

/** The instant of an RFC 3339 date-time, or undefined when {@link isTimestamp} says no. */
export function parseTimestamp(value: string): Date | undefined {
  if (!isTimestamp(value)) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
