import type { Issue } from '../errors.ts';
import type { IssueCode } from '../issue-codes.ts';

/** Options every validator of this package takes. */
export interface ValidateOptions {
  /** ISO-003: unknown app isolators become errors instead of warnings. */
  strict?: boolean;
  /** Extra os -> arches pairs accepted besides {@link OS_ARCH} and what `registerOsArch` added (TYPES-010). */
  osArch?: Readonly<Record<string, readonly string[]>>;
  /** File the document came from; copied into every issue. */
  file?: string;
  /** POD-010: judge a pod manifest as a template (image ids may be missing). Ignored for image manifests. */
  template?: boolean;
}

/** Collects issues while a document is read. */
export class Ctx {
  readonly issues: Issue[] = [];
  readonly options: ValidateOptions;
  constructor(options: ValidateOptions = {}) {
    this.options = options;
  }

  error(pointer: string, code: IssueCode, requirement: string, message: string): void {
    const issue: Issue = { code, pointer, requirement, message };
    if (this.options.file !== undefined) issue.file = this.options.file;
    this.issues.push(issue);
  }

  warn(pointer: string, code: IssueCode, requirement: string, message: string): void {
    const issue: Issue = { code, pointer, requirement, message, severity: 'warning' };
    if (this.options.file !== undefined) issue.file = this.options.file;
    this.issues.push(issue);
  }

  get errorCount(): number {
    let n = 0;
    for (const i of this.issues) if (i.severity !== 'warning') n++;
    return n;
  }
}

/** Appends one reference token to a JSON pointer (RFC 6901 escaping). */
/** Runs a whole-document reader; anything it throws on exotic input (a getter, a proxy) becomes one issue at
 * the root instead of a crash, so `validate…` never throws. */
export function readDocument<T>(
  ctx: Ctx,
  read: (ctx: Ctx, value: unknown) => T | undefined,
  value: unknown,
  requirement: string,
): T | undefined {
  try {
    return read(ctx, value);
  } catch (cause) {
    ctx.error(
      '',
      'ERR_SCHEMA_TYPE',
      requirement,
      `the document could not be read (${String(cause)}); pass plain JSON data.`,
    );
    return undefined;
  }
}

export function ptr(base: string, token: string | number): string {
  return `${base}/${String(token).replaceAll('~', '~0').replaceAll('/', '~1')}`;
}

/** A JSON object (not null, not an array). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Short name of a JSON value's type, for messages. */
export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'number') return 'a number';
  if (typeof v === 'boolean') return 'a boolean';
  return typeof v;
}

/** Quotes a value for a message, cut short when long. */
export function show(v: unknown): string {
  let s: string;
  // JSON.stringify writes Infinity (a JSON number like 1e400, once parsed) as "null"
  if (typeof v === 'number' && !Number.isFinite(v)) return `${v} (a number beyond what can be stored)`;
  try {
    s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}…` : s;
}

/** Reads a required string member; reports a missing or non-string one. */
export function needString(
  ctx: Ctx,
  obj: Record<string, unknown>,
  key: string,
  pointer: string,
  requirement: string,
): string | undefined {
  const v = obj[key];
  const p = ptr(pointer, key);
  if (v === undefined) {
    ctx.error(p, 'ERR_SCHEMA_REQUIRED', requirement, `"${key}" is required; add it as a string.`);
    return undefined;
  }
  if (typeof v !== 'string') {
    ctx.error(p, 'ERR_SCHEMA_TYPE', requirement, `"${key}" must be a string, not ${typeName(v)}.`);
    return undefined;
  }
  return v;
}

/** Reads an optional list member; null reads as absent (as the reference does). */
export function optList(
  ctx: Ctx,
  obj: Record<string, unknown>,
  key: string,
  pointer: string,
  requirement: string,
): unknown[] | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) {
    ctx.error(
      ptr(pointer, key),
      'ERR_SCHEMA_TYPE',
      requirement,
      `"${key}" must be a list, not ${typeName(v)}.`,
    );
    return undefined;
  }
  return v;
}

/** Reads an optional boolean member. */
export function optBool(
  ctx: Ctx,
  obj: Record<string, unknown>,
  key: string,
  pointer: string,
  requirement: string,
): boolean | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') {
    ctx.error(
      ptr(pointer, key),
      'ERR_SCHEMA_TYPE',
      requirement,
      `"${key}" must be true or false, not ${typeName(v)}.`,
    );
    return undefined;
  }
  return v;
}

/** Reads a list of strings. */
export function stringList(
  ctx: Ctx,
  v: unknown[],
  pointer: string,
  requirement: string,
  what: string,
): string[] {
  const out: string[] = [];
  v.forEach((s, i) => {
    if (typeof s === 'string') out.push(s);
    else
      ctx.error(
        ptr(pointer, i),
        'ERR_SCHEMA_TYPE',
        requirement,
        `each entry of ${what} must be a string, not ${typeName(s)}.`,
      );
  });
  return out;
}

/** Expects an object; reports anything else. */
export function needObject(
  ctx: Ctx,
  v: unknown,
  pointer: string,
  requirement: string,
  what: string,
): v is Record<string, unknown> {
  if (isObject(v)) return true;
  ctx.error(pointer, 'ERR_SCHEMA_TYPE', requirement, `${what} must be a JSON object, not ${typeName(v)}.`);
  return false;
}
