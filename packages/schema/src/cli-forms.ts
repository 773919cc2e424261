import { acIdentifierProblem } from './ac-identifier.ts';
import type { MountPoint } from './app.ts';
import { type Issue, SchemaError } from './errors.ts';
import type { Volume } from './pod-manifest.ts';

function argError(text: string, problem: string, requirement: string, example: string): never {
  const message = `${JSON.stringify(text)}: ${problem}; write e.g. ${example}.`;
  const issue: Issue = { code: 'ERR_SCHEMA_ARGUMENT', pointer: '', requirement, message };
  throw new SchemaError(message, { code: 'ERR_SCHEMA_INVALID', requirement, pointer: '', issues: [issue] });
}

function splitArg(
  text: string,
  allowed: readonly string[],
  requirement: string,
  example: string,
): { name: string; pairs: Map<string, string> } {
  const [name = '', ...rest] = text.split(',');
  if (acIdentifierProblem(name, 'name') !== undefined)
    argError(text, `${JSON.stringify(name)} is not an AC Name`, requirement, example);
  const pairs = new Map<string, string>();
  for (const part of rest) {
    const eq = part.indexOf('=');
    if (eq < 0) argError(text, `"${part}" is not key=value`, requirement, example);
    const key = part.slice(0, eq);
    if (!allowed.includes(key))
      argError(text, `unknown key "${key}" (known: ${allowed.join(', ')})`, requirement, example);
    if (pairs.has(key)) argError(text, `"${key}" is given twice`, requirement, example);
    pairs.set(key, part.slice(eq + 1));
  }
  return { name, pairs };
}

function bool(text: string, key: string, v: string, requirement: string, example: string): boolean {
  if (v === 'true') return true;
  if (v === 'false') return false;
  return argError(text, `${key} must be true or false, not ${JSON.stringify(v)}`, requirement, example);
}

/** Reads the command-line volume form `NAME,kind=host|empty[,source=PATH][,readOnly=BOOL][,recursive=BOOL]
 * [,mode=OCTAL][,uid=N][,gid=N]` (POD-012, rkt `--volume`). Keys of the other kind are errors here, as in rkt;
 * an `empty` volume gets its defaults filled in (mode "0755", uid 0, gid 0).
 * @throws {@link SchemaError} `ERR_SCHEMA_INVALID` with an `ERR_SCHEMA_ARGUMENT` issue. */
export function parseVolumeArg(text: string): Volume {
  const ex = '"data,kind=host,source=/srv/data" or "cache,kind=empty,mode=0700"';
  const req = 'POD-012';
  const { name, pairs } = splitArg(
    text,
    ['kind', 'source', 'readOnly', 'recursive', 'mode', 'uid', 'gid'],
    req,
    ex,
  );
  const kind = pairs.get('kind');
  if (kind !== 'host' && kind !== 'empty') return argError(text, 'kind must be "host" or "empty"', req, ex);
  const vol: Volume = { name, kind };
  const ro = pairs.get('readOnly');
  if (kind === 'host') {
    for (const k of ['mode', 'uid', 'gid'])
      if (pairs.has(k)) argError(text, `${k} does not apply to a host volume`, req, ex);
    const source = pairs.get('source');
    if (source === undefined || !source.startsWith('/'))
      return argError(text, 'a host volume needs source=ABSOLUTE_PATH', req, ex);
    vol.source = source;
    if (ro !== undefined) vol.readOnly = bool(text, 'readOnly', ro, req, ex);
    const rec = pairs.get('recursive');
    if (rec !== undefined) vol.recursive = bool(text, 'recursive', rec, req, ex);
    return vol;
  }
  for (const k of ['source', 'recursive'])
    if (pairs.has(k)) argError(text, `${k} does not apply to an empty volume`, req, ex);
  if (ro !== undefined) vol.readOnly = bool(text, 'readOnly', ro, req, ex);
  const mode = pairs.get('mode') ?? '0755';
  if (!/^[0-7]{1,4}$/.test(mode)) argError(text, `mode ${JSON.stringify(mode)} is not octal`, req, ex);
  vol.mode = mode;
  for (const key of ['uid', 'gid'] as const) {
    const v = pairs.get(key) ?? '0';
    if (!/^\d{1,10}$/.test(v) || Number(v) > 4294967295)
      argError(text, `${key} must be a non-negative integer`, req, ex);
    vol[key] = Number(v);
  }
  return vol;
}

/** Reads the command-line mount point form `NAME,path=ABSOLUTE_PATH[,readOnly=BOOL]` (IMG-013, as
 * `actool patch-manifest --mounts` takes it).
 * @throws {@link SchemaError} `ERR_SCHEMA_INVALID` with an `ERR_SCHEMA_ARGUMENT` issue. */
export function parseMountPointArg(text: string): MountPoint {
  const ex = '"data,path=/var/lib/data,readOnly=true"';
  const req = 'IMG-013';
  const { name, pairs } = splitArg(text, ['path', 'readOnly'], req, ex);
  const path = pairs.get('path');
  if (path === undefined || path === '') return argError(text, 'path=ABSOLUTE_PATH is required', req, ex);
  if (!path.startsWith('/')) argError(text, 'path must be absolute', req, ex);
  const ro = pairs.get('readOnly');
  return { name, path, readOnly: ro === undefined ? false : bool(text, 'readOnly', ro, req, ex) };
}
