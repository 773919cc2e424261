// Helpers the benchmark scripts share.

/** The median of a list of numbers (the mean of the two middle ones for an even count). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A word for /bin/sh: single-quoted, inner quotes escaped. */
export const q = (s) => `'${String(s).replaceAll("'", `'\\''`)}'`;
