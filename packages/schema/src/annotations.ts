import { acIdentifierProblem } from './ac-identifier.ts';
import { type Ctx, needObject, ptr, show, typeName } from './internal/context.ts';
import { isTimestamp } from './timestamp.ts';
import { isHttpUrl } from './url.ts';

/** An annotation (TYPES-012): a name and a string value. */
export interface Annotation {
  name: string;
  value: string;
}

/** Annotation names the spec defines, with the rule of their values (TYPES-012). */
export const KNOWN_ANNOTATIONS = {
  created: 'RFC 3339 date-time (TYPES-008)',
  authors: 'free text',
  homepage: 'http or https URL',
  documentation: 'http or https URL',
  'appc.io/executor/supports-systemd-notify': '"true" or "false" (default false)',
} as const;

/** Reads an annotations list. Image and image-app annotation names are AC Identifiers; pod and pod-app
 * annotation names are AC Names as the spec says (`nameKind: 'name'`; the reference takes identifiers there). */
export function readAnnotations(
  ctx: Ctx,
  v: unknown,
  pointer: string,
  nameKind: 'identifier' | 'name',
): Annotation[] {
  const req = 'TYPES-012';
  if (!Array.isArray(v)) {
    ctx.error(
      pointer,
      'ERR_SCHEMA_TYPE',
      req,
      `annotations must be a list of {name, value}, not ${typeName(v)}.`,
    );
    return [];
  }
  const out: Annotation[] = [];
  const seen = new Set<string>();
  v.forEach((item, i) => {
    const p = ptr(pointer, i);
    if (!needObject(ctx, item, p, req, 'an annotation')) return;
    const { name, value } = item;
    let ok = true;
    if (typeof name !== 'string') {
      ctx.error(
        ptr(p, 'name'),
        name === undefined ? 'ERR_SCHEMA_REQUIRED' : 'ERR_SCHEMA_TYPE',
        req,
        'an annotation needs a string "name".',
      );
      ok = false;
    } else if (acIdentifierProblem(name, nameKind) !== undefined) {
      if (nameKind === 'identifier') {
        ctx.error(
          ptr(p, 'name'),
          'ERR_SCHEMA_AC_IDENTIFIER',
          'TYPES-001',
          `annotation name ${show(name)} is not an AC Identifier.`,
        );
      } else {
        ctx.error(
          ptr(p, 'name'),
          'ERR_SCHEMA_AC_NAME',
          'TYPES-003',
          `pod annotation name ${show(name)} is not an AC Name (lower-case letters, digits, single dashes).`,
        );
      }
      ok = false;
    } else if (seen.has(name)) {
      ctx.error(
        ptr(p, 'name'),
        'ERR_SCHEMA_DUPLICATE_NAME',
        req,
        `duplicate annotation "${name}"; keep one.`,
      );
      ok = false;
    }
    if (typeof name === 'string') seen.add(name);
    if (typeof value !== 'string') {
      ctx.error(
        ptr(p, 'value'),
        value === undefined ? 'ERR_SCHEMA_REQUIRED' : 'ERR_SCHEMA_TYPE',
        req,
        `annotation value must be a string, not ${typeName(value)}.`,
      );
      return;
    }
    if (name === 'created' && !isTimestamp(value)) {
      ctx.error(
        ptr(p, 'value'),
        'ERR_SCHEMA_TIMESTAMP',
        'TYPES-008',
        `"created" must be an RFC 3339 date-time such as 2014-10-27T19:32:27Z, not ${show(value)}.`,
      );
      ok = false;
    } else if ((name === 'homepage' || name === 'documentation') && !isHttpUrl(value)) {
      ctx.error(
        ptr(p, 'value'),
        'ERR_SCHEMA_URL',
        req,
        `"${name}" must be an http or https URL, not ${show(value)}.`,
      );
      ok = false;
    } else if (name === 'appc.io/executor/supports-systemd-notify' && value !== 'true' && value !== 'false') {
      ctx.warn(
        ptr(p, 'value'),
        'WARN_SCHEMA_ANNOTATION_VALUE',
        req,
        `"${name}" should be "true" or "false", not ${show(value)}; it is read as false.`,
      );
    }
    if (ok) out.push({ name: name as string, value });
  });
  return out;
}

/** Reads userAnnotations or userLabels (TYPES-013): an object whose values are all strings. */
export function readStringMap(ctx: Ctx, v: unknown, pointer: string, what: string): Record<string, string> {
  const req = 'TYPES-013';
  if (!needObject(ctx, v, pointer, req, what)) return {};
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val === 'string')
      Object.defineProperty(out, k, { value: val, enumerable: true, writable: true, configurable: true });
    else
      ctx.error(
        ptr(pointer, k),
        'ERR_SCHEMA_TYPE',
        req,
        `every value of ${what} must be a string, not ${typeName(val)}.`,
      );
  }
  return out;
}
