import { acIdentifierProblem } from './ac-identifier.ts';
import { readStringMap } from './annotations.ts';
import { type EnvironmentVariable, readEnvironment } from './environment.ts';
import {
  type Ctx,
  needObject,
  needString,
  optBool,
  optList,
  ptr,
  show,
  stringList,
  typeName,
} from './internal/context.ts';
import { type Isolator, readIsolators } from './isolators.ts';
import { type Label, readLabels } from './labels.ts';

/** An event handler (IMG-009). */
export interface EventHandler {
  name: 'pre-start' | 'post-stop';
  exec: string[];
}

/** A mount point of an app (IMG-013). */
export interface MountPoint {
  name: string;
  path: string;
  readOnly?: boolean;
}

/** A port of an app (IMG-014); the range is `port .. port + count - 1`. */
export interface Port {
  name: string;
  protocol: string;
  port: number;
  count?: number;
  socketActivated?: boolean;
}

/** The `app` object of an image manifest, or of a pod app that overrides it (IMG-005..IMG-015). */
export interface App {
  exec?: string[];
  user: string;
  group: string;
  supplementaryGIDs?: number[];
  eventHandlers?: EventHandler[];
  workingDirectory?: string;
  environment?: EnvironmentVariable[];
  isolators?: Isolator[];
  mountPoints?: MountPoint[];
  ports?: Port[];
  userAnnotations?: Record<string, string>;
  userLabels?: Record<string, string>;
}

/** A dependency of an image (IMG-017). */
export interface Dependency {
  imageName: string;
  imageID?: string;
  labels?: Label[];
  /** Bytes; a value beyond 2^53 (valid, the spec sets no bound) is held as the nearest double. */
  size?: number;
}

/** Members of `app` in the spec's order (also the canonical output order). */
export const APP_MEMBERS = [
  'exec',
  'user',
  'group',
  'supplementaryGIDs',
  'eventHandlers',
  'workingDirectory',
  'environment',
  'isolators',
  'mountPoints',
  'ports',
  'userAnnotations',
  'userLabels',
] as const;

/** Warns about members that only differ from the spec's names by letter case (IMG-020). */
export function warnCase(
  ctx: Ctx,
  obj: Record<string, unknown>,
  known: readonly string[],
  pointer: string,
  also: readonly string[] = [],
): void {
  const lower = new Map(known.map((k) => [k.toLowerCase(), k]));
  for (const key of Object.keys(obj)) {
    if (known.includes(key) || also.includes(key)) continue;
    const spec = lower.get(key.toLowerCase());
    if (spec !== undefined) {
      ctx.warn(
        ptr(pointer, key),
        'WARN_SCHEMA_MEMBER_CASE',
        'IMG-020',
        `"${key}" is ignored; the spec spells it "${spec}".`,
      );
    }
  }
}

/** The spec's own examples write image IDs as `sha512-...` (an elided digest); read with a warning. */
const ELIDED_IMAGE_ID = 'sha512-...';

/** Reads an image ID where a manifest gives one (TYPES-006): `sha512-` and the hex-encoded SHA-512 digest,
 * 128 hex digits. Upper-case digits are read with a warning (IDs are written in lower case and compared as
 * text); so is the spec's placeholder `sha512-...`. Anything else is an error: another algorithm, a digest
 * that is not hex or not 128 digits long (the reference accepts any non-empty digest). */
export function readImageId(ctx: Ctx, v: unknown, pointer: string): string | undefined {
  if (typeof v !== 'string') {
    ctx.error(pointer, 'ERR_SCHEMA_TYPE', 'TYPES-006', `an image ID must be a string, not ${typeName(v)}.`);
    return undefined;
  }
  if (/^sha512-[0-9a-f]{128}$/.test(v)) return v;
  if (v === ELIDED_IMAGE_ID || /^sha512-[0-9a-fA-F]{128}$/.test(v)) {
    ctx.warn(
      pointer,
      'WARN_SCHEMA_IMAGE_ID_NOT_FULL',
      'TYPES-006',
      `${show(v)} is not a full lower-case image ID (sha512- and 128 lower-case hex digits); it will match no stored image.`,
    );
    return v;
  }
  const dash = v.indexOf('-');
  const algorithm = dash < 0 ? '' : v.slice(0, dash);
  const digest = dash < 0 ? v : v.slice(dash + 1);
  let why: string;
  if (v === '') why = 'it is empty';
  else if (algorithm !== 'sha512') why = 'the only algorithm is sha512';
  else if (!/^[0-9a-fA-F]*$/.test(digest)) why = 'the digest is not hex';
  else why = `the digest has ${digest.length} hex digits, not 128`;
  ctx.error(
    pointer,
    'ERR_SCHEMA_IMAGE_ID',
    'TYPES-006',
    `${show(v)} is not an image ID (${why}); write "sha512-" and the 128 hex digits of the SHA-512 of the uncompressed image.`,
  );
  return undefined;
}

function readAbsolutePath(ctx: Ctx, v: string, pointer: string, requirement: string, what: string): boolean {
  if (!v.startsWith('/')) {
    ctx.error(
      pointer,
      'ERR_SCHEMA_PATH_NOT_ABSOLUTE',
      requirement,
      `${what} ${show(v)} must be an absolute path (start with "/").`,
    );
    return false;
  }
  return true;
}

/** Reports `value` at `pointer` when it is not an AC Name (TYPES-003), with the message `message(shown value)`;
 * returns whether it is one. The one check of every AC Name member of both manifests. */
export function checkAcName(
  ctx: Ctx,
  value: string,
  pointer: string,
  message: (shown: string) => string,
): boolean {
  if (acIdentifierProblem(value, 'name') === undefined) return true;
  ctx.error(pointer, 'ERR_SCHEMA_AC_NAME', 'TYPES-003', message(show(value)));
  return false;
}

function readName(
  ctx: Ctx,
  obj: Record<string, unknown>,
  pointer: string,
  requirement: string,
  what: string,
  kind: 'name' | 'identifier' = 'name',
): string | undefined {
  const name = needString(ctx, obj, 'name', pointer, requirement);
  if (name === undefined) return undefined;
  if (kind === 'name') {
    const ok = checkAcName(
      ctx,
      name,
      ptr(pointer, 'name'),
      (v) => `${what} name ${v} is not an AC Name (lower-case letters, digits, single dashes).`,
    );
    return ok ? name : undefined;
  }
  if (acIdentifierProblem(name, kind) !== undefined) {
    ctx.error(
      ptr(pointer, 'name'),
      'ERR_SCHEMA_AC_IDENTIFIER',
      'TYPES-001',
      `${what} name ${show(name)} is not an AC Identifier.`,
    );
    return undefined;
  }
  return name;
}

function readInteger(
  ctx: Ctx,
  v: unknown,
  pointer: string,
  requirement: string,
  what: string,
  min: number,
  max: number,
  code: 'ERR_SCHEMA_RANGE' | 'ERR_SCHEMA_PORT' = 'ERR_SCHEMA_RANGE',
): number | undefined {
  if (typeof v !== 'number') {
    ctx.error(pointer, 'ERR_SCHEMA_TYPE', requirement, `${what} must be a number, not ${typeName(v)}.`);
    return undefined;
  }
  if (!Number.isInteger(v) || v < min || v > max) {
    const range = max === Number.POSITIVE_INFINITY ? `of ${min} or more` : `from ${min} to ${max}`;
    ctx.error(pointer, code, requirement, `${what} must be an integer ${range}, not ${show(v)}.`);
    return undefined;
  }
  return v;
}

/** Reads a port object (IMG-014). */
export function readPort(ctx: Ctx, item: unknown, p: string): Port | undefined {
  const req = 'IMG-014';
  if (!needObject(ctx, item, p, req, 'a port')) return undefined;
  const before = ctx.errorCount;
  const name = readName(ctx, item, p, req, 'port');
  const protocol = needString(ctx, item, 'protocol', p, req);
  if (protocol === '')
    ctx.error(
      ptr(p, 'protocol'),
      'ERR_SCHEMA_EMPTY',
      req,
      'port protocol must not be empty; write e.g. "tcp" or "udp".',
    );
  let port: number | undefined;
  if (item.port === undefined)
    ctx.error(ptr(p, 'port'), 'ERR_SCHEMA_REQUIRED', req, '"port" is required (1..65535).');
  else port = readInteger(ctx, item.port, ptr(p, 'port'), req, 'port', 1, 65535, 'ERR_SCHEMA_PORT');
  let count: number | undefined;
  if (item.count !== undefined && item.count !== null) {
    count = readInteger(ctx, item.count, ptr(p, 'count'), req, 'count', 1, 65535, 'ERR_SCHEMA_PORT');
    if (count !== undefined && port !== undefined && port + count - 1 > 65535) {
      ctx.error(
        ptr(p, 'count'),
        'ERR_SCHEMA_PORT',
        req,
        `ports ${port}..${port + count - 1} end above 65535; lower count.`,
      );
    }
  }
  const socketActivated = optBool(ctx, item, 'socketActivated', p, req);
  if (ctx.errorCount > before) return undefined;
  const out: Port = { name: name as string, protocol: protocol as string, port: port as number };
  if (count !== undefined) out.count = count;
  if (socketActivated !== undefined) out.socketActivated = socketActivated;
  return out;
}

/** Reads a list of ports and checks that names are unique. */
export function readPorts(ctx: Ctx, list: unknown[], pointer: string, requirement: string): Port[] {
  const out: Port[] = [];
  const seen = new Set<string>();
  list.forEach((item, i) => {
    const port = readPort(ctx, item, ptr(pointer, i));
    if (!port) return;
    if (seen.has(port.name)) {
      ctx.error(
        ptr(ptr(pointer, i), 'name'),
        'ERR_SCHEMA_DUPLICATE_NAME',
        requirement,
        `duplicate port name "${port.name}"; rename one.`,
      );
      return;
    }
    seen.add(port.name);
    out.push(port);
  });
  return out;
}

/** Reads an `app` object (IMG-005..IMG-015). */
export function readApp(ctx: Ctx, v: unknown, pointer: string): App | undefined {
  if (!needObject(ctx, v, pointer, 'IMG-005', 'app')) return undefined;
  const before = ctx.errorCount;
  warnCase(ctx, v, APP_MEMBERS, pointer, ['supplementaryGids']);
  const app: Partial<App> = {};
  const exec = optList(ctx, v, 'exec', pointer, 'IMG-006');
  if (exec) app.exec = stringList(ctx, exec, ptr(pointer, 'exec'), 'IMG-006', 'exec');
  for (const key of ['user', 'group'] as const) {
    const s = needString(ctx, v, key, pointer, 'IMG-007');
    if (s === '')
      ctx.error(
        ptr(pointer, key),
        'ERR_SCHEMA_EMPTY',
        'IMG-007',
        `"${key}" must not be empty; write a name, a number or an absolute path.`,
      );
    else if (s !== undefined) app[key] = s;
  }
  // IMG-008: both spellings are read; supplementaryGIDs wins.
  let gidsKey: 'supplementaryGIDs' | 'supplementaryGids' = 'supplementaryGIDs';
  if (v.supplementaryGIDs === undefined && v.supplementaryGids !== undefined) gidsKey = 'supplementaryGids';
  else if (v.supplementaryGIDs !== undefined && v.supplementaryGids !== undefined) {
    ctx.warn(
      ptr(pointer, 'supplementaryGids'),
      'WARN_SCHEMA_SUPPLEMENTARY_GIDS_SPELLING',
      'IMG-008',
      'both "supplementaryGIDs" and "supplementaryGids" are present; "supplementaryGids" is ignored.',
    );
  }
  const gids = optList(ctx, v, gidsKey, pointer, 'IMG-008');
  if (gids) {
    const out: number[] = [];
    gids.forEach((g, i) => {
      const n = readInteger(
        ctx,
        g,
        ptr(ptr(pointer, gidsKey), i),
        'IMG-008',
        'a supplementary GID',
        0,
        4294967295,
      );
      if (n !== undefined) out.push(n);
    });
    app.supplementaryGIDs = out;
  }
  const handlers = optList(ctx, v, 'eventHandlers', pointer, 'IMG-009');
  if (handlers) {
    const out: EventHandler[] = [];
    const seen = new Set<string>();
    handlers.forEach((h, i) => {
      const p = ptr(ptr(pointer, 'eventHandlers'), i);
      if (!needObject(ctx, h, p, 'IMG-009', 'an event handler')) return;
      const name = needString(ctx, h, 'name', p, 'IMG-009');
      let ok = name !== undefined;
      if (name !== undefined && name !== 'pre-start' && name !== 'post-stop') {
        ctx.error(
          ptr(p, 'name'),
          'ERR_SCHEMA_EVENT_HANDLER',
          'IMG-009',
          `event handler name ${show(name)} must be "pre-start" or "post-stop".`,
        );
        ok = false;
      } else if (name !== undefined && seen.has(name)) {
        ctx.error(
          ptr(p, 'name'),
          'ERR_SCHEMA_DUPLICATE_NAME',
          'IMG-009',
          `a second "${name}" handler; an app has at most one of each.`,
        );
        ok = false;
      }
      if (name !== undefined) seen.add(name);
      let exec: string[] | undefined;
      if (h.exec === undefined || h.exec === null) {
        ctx.error(
          ptr(p, 'exec'),
          'ERR_SCHEMA_EVENT_HANDLER',
          'IMG-009',
          'an event handler needs an "exec" list (the command to run).',
        );
        ok = false;
      } else if (!Array.isArray(h.exec)) {
        ctx.error(
          ptr(p, 'exec'),
          'ERR_SCHEMA_TYPE',
          'IMG-009',
          `"exec" must be a list of strings, not ${typeName(h.exec)}.`,
        );
        ok = false;
      } else exec = stringList(ctx, h.exec, ptr(p, 'exec'), 'IMG-009', 'exec');
      if (ok && exec) out.push({ name: name as EventHandler['name'], exec });
    });
    app.eventHandlers = out;
  }
  const wd = v.workingDirectory;
  if (wd !== undefined && wd !== null) {
    if (typeof wd !== 'string')
      ctx.error(
        ptr(pointer, 'workingDirectory'),
        'ERR_SCHEMA_TYPE',
        'IMG-010',
        `"workingDirectory" must be a string, not ${typeName(wd)}.`,
      );
    else if (readAbsolutePath(ctx, wd, ptr(pointer, 'workingDirectory'), 'IMG-010', 'workingDirectory'))
      app.workingDirectory = wd;
  }
  const env = optList(ctx, v, 'environment', pointer, 'IMG-011');
  if (env) app.environment = readEnvironment(ctx, env, ptr(pointer, 'environment'));
  const isolators = optList(ctx, v, 'isolators', pointer, 'IMG-012');
  if (isolators) app.isolators = readIsolators(ctx, isolators, ptr(pointer, 'isolators'), 'app');
  const mps = optList(ctx, v, 'mountPoints', pointer, 'IMG-013');
  if (mps) {
    const out: MountPoint[] = [];
    const seen = new Set<string>();
    mps.forEach((m, i) => {
      const p = ptr(ptr(pointer, 'mountPoints'), i);
      if (!needObject(ctx, m, p, 'IMG-013', 'a mount point')) return;
      const b = ctx.errorCount;
      const name = readName(ctx, m, p, 'IMG-013', 'mount point');
      const path = needString(ctx, m, 'path', p, 'IMG-013');
      if (path !== undefined) readAbsolutePath(ctx, path, ptr(p, 'path'), 'IMG-013', 'mount point path');
      const readOnly = optBool(ctx, m, 'readOnly', p, 'IMG-013');
      if (ctx.errorCount > b) return;
      if (seen.has(name as string)) {
        ctx.warn(
          ptr(p, 'name'),
          'WARN_SCHEMA_MOUNT_POINT_DUPLICATE',
          'IMG-013',
          `mount point name "${name}" is used twice; names should be unique.`,
        );
      }
      seen.add(name as string);
      const mp: MountPoint = { name: name as string, path: path as string };
      if (readOnly !== undefined) mp.readOnly = readOnly;
      out.push(mp);
    });
    app.mountPoints = out;
  }
  const ports = optList(ctx, v, 'ports', pointer, 'IMG-014');
  if (ports) app.ports = readPorts(ctx, ports, ptr(pointer, 'ports'), 'IMG-014');
  for (const key of ['userAnnotations', 'userLabels'] as const) {
    if (v[key] !== undefined && v[key] !== null)
      app[key] = readStringMap(ctx, v[key], ptr(pointer, key), key);
  }
  return ctx.errorCount > before ? undefined : (app as App);
}

/** Reads a dependency (IMG-017). */
export function readDependency(ctx: Ctx, item: unknown, p: string): Dependency | undefined {
  const req = 'IMG-017';
  if (!needObject(ctx, item, p, req, 'a dependency')) return undefined;
  const before = ctx.errorCount;
  const imageName = needString(ctx, item, 'imageName', p, req);
  if (imageName !== undefined && acIdentifierProblem(imageName) !== undefined) {
    ctx.error(
      ptr(p, 'imageName'),
      'ERR_SCHEMA_AC_IDENTIFIER',
      'TYPES-001',
      `dependency imageName ${show(imageName)} is not an AC Identifier.`,
    );
  }
  const dep: Dependency = { imageName: imageName as string };
  if (item.imageID !== undefined && item.imageID !== null) {
    const id = readImageId(ctx, item.imageID, ptr(p, 'imageID'));
    if (id !== undefined) dep.imageID = id;
  }
  if (item.labels !== undefined && item.labels !== null)
    dep.labels = readLabels(ctx, item.labels, ptr(p, 'labels'));
  if (item.size !== undefined && item.size !== null) {
    // "size (integer, optional)": any whole number of bytes; the spec sets no upper bound, so one beyond 2^53 is
    // accepted too (JSON.parse has already rounded it to the nearest double)
    const size = readInteger(ctx, item.size, ptr(p, 'size'), req, 'size', 0, Number.POSITIVE_INFINITY);
    if (size !== undefined) dep.size = size;
  }
  return ctx.errorCount > before ? undefined : dep;
}
