import { type Ctx, needObject, ptr, show, typeName } from './internal/context.ts';

/** One environment variable of an app (TYPES-014). */
export interface EnvironmentVariable {
  name: string;
  value: string;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z_0-9.-]*$/;

/** True for a valid environment variable name (TYPES-014, the reference's pattern). */
export function isEnvironmentName(value: unknown): value is string {
  return typeof value === 'string' && ENV_NAME.test(value);
}

/** Reads an environment list: names valid and unique, values strings (required, TYPES-014). */
export function readEnvironment(ctx: Ctx, v: unknown[], pointer: string): EnvironmentVariable[] {
  const req = 'TYPES-014';
  const out: EnvironmentVariable[] = [];
  const seen = new Set<string>();
  v.forEach((item, i) => {
    const p = ptr(pointer, i);
    if (!needObject(ctx, item, p, req, 'an environment variable')) return;
    const { name, value } = item;
    let ok = true;
    if (typeof name !== 'string') {
      ctx.error(
        ptr(p, 'name'),
        name === undefined ? 'ERR_SCHEMA_REQUIRED' : 'ERR_SCHEMA_TYPE',
        req,
        'an environment variable needs a string "name".',
      );
      ok = false;
    } else if (!ENV_NAME.test(name)) {
      ctx.error(
        ptr(p, 'name'),
        'ERR_SCHEMA_ENV_NAME',
        req,
        `environment name ${show(name)} must match ^[A-Za-z_][A-Za-z_0-9.-]*$.`,
      );
      ok = false;
    } else if (seen.has(name)) {
      ctx.error(
        ptr(p, 'name'),
        'ERR_SCHEMA_DUPLICATE_NAME',
        req,
        `duplicate environment variable "${name}"; keep one.`,
      );
      ok = false;
    }
    if (typeof name === 'string') seen.add(name);
    if (value === undefined || value === null) {
      // the spec: each variable has two members, name and value (the reference reads a missing one as "")
      ctx.error(
        ptr(p, 'value'),
        'ERR_SCHEMA_REQUIRED',
        req,
        'an environment variable needs a string "value" (write "" for an empty one).',
      );
      ok = false;
    } else if (typeof value !== 'string') {
      ctx.error(
        ptr(p, 'value'),
        'ERR_SCHEMA_TYPE',
        req,
        `environment value must be a string, not ${typeName(value)}.`,
      );
      ok = false;
    }
    if (ok) out.push({ name: name as string, value: value as string });
  });
  return out;
}
