/** True for an absolute URL whose scheme is `http` or `https` (compared case-insensitively, as the reference
 * does), the rule of the `homepage` and `documentation` annotations (TYPES-012). */
export function isHttpUrl(value: unknown): value is string {
  if (typeof value !== 'string' || !/^https?:\/\/[^\s]/i.test(value) || /\s/.test(value)) return false;
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.host !== '';
  } catch {
    return false;
  }
}

/** Regular expression used for http(s) URLs in the JSON Schemas (the TypeScript check also parses the URL). */
export const HTTP_URL_PATTERN = '^[hH][tT][tT][pP][sS]?://[^\\s/?#]+[^\\s]*$';
