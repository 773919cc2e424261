import { isIP } from 'node:net';
import { acIdentifierProblem } from './ac-identifier.ts';
import { type Annotation, readAnnotations, readStringMap } from './annotations.ts';
import { type App, checkAcName, type Port, readApp, readImageId, readPort, warnCase } from './app.ts';
import { type Issue, schemaErrorFrom } from './errors.ts';
import { readHeader } from './image-manifest.ts';
import {
  Ctx,
  isObject,
  needObject,
  needString,
  optBool,
  optList,
  ptr,
  readDocument,
  show,
  typeName,
  type ValidateOptions,
} from './internal/context.ts';
import { type Isolator, readIsolators } from './isolators.ts';
import { type Label, readLabels } from './labels.ts';

/** A volume of a pod (POD-005). */
export interface Volume {
  name: string;
  kind: 'host' | 'empty';
  readOnly?: boolean;
  /** host only: absolute path on the host. */
  source?: string;
  /** host only. */
  recursive?: boolean;
  /** empty only: permission bits as text, default "0755". */
  mode?: string;
  /** empty only, default 0. */
  uid?: number;
  /** empty only, default 0. */
  gid?: number;
}

/** A mount of a pod app (POD-004). */
export interface Mount {
  volume: string;
  path: string;
  appVolume?: Volume;
}

/** The image a pod app runs (POD-003). */
export interface PodImage {
  /** Required in a reified pod; may be missing in a template (POD-010). */
  id?: string;
  name?: string;
  labels?: Label[];
}

/** One app of a pod (POD-003). */
export interface PodApp {
  name: string;
  image: PodImage;
  app?: App;
  readOnlyRootFS?: boolean;
  mounts?: Mount[];
  annotations?: Annotation[];
}

/** A port the pod exposes on the host (POD-008). */
export interface ExposedPort {
  name: string;
  hostPort: number;
  hostIP?: string;
  podPort?: Port;
}

/** A pod manifest (POD-*), as {@link parsePodManifest} returns it. */
export interface PodManifest {
  acVersion: string;
  acKind: 'PodManifest';
  apps: PodApp[];
  volumes?: Volume[];
  isolators?: Isolator[];
  annotations?: Annotation[];
  ports?: ExposedPort[];
  userAnnotations?: Record<string, string>;
  userLabels?: Record<string, string>;
}

/** Members of a pod manifest in the spec's order (also the canonical output order). */
export const POD_MANIFEST_MEMBERS = [
  'acVersion',
  'acKind',
  'apps',
  'volumes',
  'isolators',
  'annotations',
  'ports',
  'userAnnotations',
  'userLabels',
] as const;
/** Members of a pod app in canonical output order. */
export const POD_APP_MEMBERS = ['name', 'image', 'app', 'readOnlyRootFS', 'mounts', 'annotations'] as const;
/** Members of a volume in canonical output order. */
export const VOLUME_MEMBERS = [
  'name',
  'kind',
  'source',
  'readOnly',
  'recursive',
  'mode',
  'uid',
  'gid',
] as const;

/** Reads a volume object (POD-005). Members of the other kind are ignored with a warning, as the spec says
 * (the reference rejects them). */
export function readVolume(ctx: Ctx, item: unknown, p: string): Volume | undefined {
  const req = 'POD-005';
  if (!needObject(ctx, item, p, req, 'a volume')) return undefined;
  const before = ctx.errorCount;
  const name = needString(ctx, item, 'name', p, req);
  if (name !== undefined)
    checkAcName(ctx, name, ptr(p, 'name'), (v) => `volume name ${v} is not an AC Name.`);
  const kind = needString(ctx, item, 'kind', p, req);
  if (kind !== undefined && kind !== 'host' && kind !== 'empty') {
    ctx.error(
      ptr(p, 'kind'),
      'ERR_SCHEMA_VOLUME_KIND',
      req,
      `volume kind ${show(kind)} must be "host" or "empty".`,
    );
  }
  const readOnly = optBool(ctx, item, 'readOnly', p, req);
  const vol: Partial<Volume> = { name: name as string, kind: kind as Volume['kind'] };
  if (readOnly !== undefined) vol.readOnly = readOnly;
  const ignore = (key: string) => {
    if (item[key] !== undefined) {
      ctx.warn(
        ptr(p, key),
        'WARN_SCHEMA_VOLUME_MEMBER_IGNORED',
        req,
        `"${key}" does not belong to a volume of kind "${kind}" and is ignored; remove it.`,
      );
    }
  };
  if (kind === 'host') {
    const source = needString(ctx, item, 'source', p, req);
    if (source !== undefined) {
      if (!source.startsWith('/'))
        ctx.error(
          ptr(p, 'source'),
          'ERR_SCHEMA_PATH_NOT_ABSOLUTE',
          req,
          `host volume source ${show(source)} must be an absolute path.`,
        );
      else vol.source = source;
    }
    const recursive = optBool(ctx, item, 'recursive', p, req);
    if (recursive !== undefined) vol.recursive = recursive;
    for (const k of ['mode', 'uid', 'gid']) ignore(k);
  } else if (kind === 'empty') {
    if (item.mode !== undefined && item.mode !== null) {
      // octal permission bits as rkt reads them (strconv.ParseUint(mode, 8, 32)): "0755", "755", "01777"
      if (typeof item.mode !== 'string' || !/^0{0,8}[0-7]{1,4}$/.test(item.mode)) {
        ctx.error(
          ptr(p, 'mode'),
          typeof item.mode === 'string' ? 'ERR_SCHEMA_RANGE' : 'ERR_SCHEMA_TYPE',
          req,
          `volume mode must be octal permission text such as "0755", not ${show(item.mode)}.`,
        );
      } else vol.mode = item.mode;
    }
    for (const key of ['uid', 'gid'] as const) {
      const n = item[key];
      if (n === undefined || n === null) continue;
      if (typeof n !== 'number')
        ctx.error(ptr(p, key), 'ERR_SCHEMA_TYPE', req, `"${key}" must be a number, not ${typeName(n)}.`);
      else if (!Number.isInteger(n) || n < 0 || n > 4294967295)
        ctx.error(
          ptr(p, key),
          'ERR_SCHEMA_RANGE',
          req,
          `"${key}" must be an integer from 0 to 4294967295, not ${show(n)}.`,
        );
      else vol[key] = n;
    }
    for (const k of ['source', 'recursive']) ignore(k);
  }
  return ctx.errorCount > before ? undefined : (vol as Volume);
}

function readPodApp(ctx: Ctx, item: unknown, p: string): PodApp | undefined {
  const req = 'POD-003';
  if (!needObject(ctx, item, p, req, 'a pod app')) return undefined;
  const before = ctx.errorCount;
  warnCase(ctx, item, POD_APP_MEMBERS, p);
  const name = needString(ctx, item, 'name', p, req);
  if (name !== undefined)
    checkAcName(ctx, name, ptr(p, 'name'), (v) => `app name ${v} is not an AC Name; see sanitizeAcName.`);
  const image: PodImage = {};
  const ip = ptr(p, 'image');
  if (item.image === undefined || item.image === null)
    ctx.error(ip, 'ERR_SCHEMA_REQUIRED', req, '"image" is required: {id, name?, labels?}.');
  else if (needObject(ctx, item.image, ip, req, '"image"')) {
    const img = item.image;
    if (img.id === undefined || img.id === null || img.id === '') {
      if (!ctx.options.template) {
        ctx.error(
          ptr(ip, 'id'),
          'ERR_SCHEMA_REQUIRED',
          req,
          '"image.id" is required in a pod manifest to run (POD-011); resolve the image and write its ID, or validate it as a template.',
        );
      }
    } else {
      const id = readImageId(ctx, img.id, ptr(ip, 'id'));
      if (id !== undefined) image.id = id;
    }
    if (img.name !== undefined && img.name !== null) {
      if (typeof img.name !== 'string')
        ctx.error(
          ptr(ip, 'name'),
          'ERR_SCHEMA_TYPE',
          req,
          `"image.name" must be a string, not ${typeName(img.name)}.`,
        );
      else if (acIdentifierProblem(img.name) !== undefined)
        ctx.error(
          ptr(ip, 'name'),
          'ERR_SCHEMA_AC_IDENTIFIER',
          'TYPES-001',
          `image name ${show(img.name)} is not an AC Identifier.`,
        );
      else image.name = img.name;
    }
    if (img.labels !== undefined && img.labels !== null)
      image.labels = readLabels(ctx, img.labels, ptr(ip, 'labels'));
  }
  const app: Partial<PodApp> = { name: name as string, image };
  if (item.app !== undefined && item.app !== null) {
    const a = readApp(ctx, item.app, ptr(p, 'app'));
    if (a) app.app = a;
  }
  const ro = optBool(ctx, item, 'readOnlyRootFS', p, req);
  if (ro !== undefined) app.readOnlyRootFS = ro;
  const mounts = optList(ctx, item, 'mounts', p, 'POD-004');
  if (mounts) {
    app.mounts = [];
    mounts.forEach((m, i) => {
      const mp = ptr(ptr(p, 'mounts'), i);
      if (!needObject(ctx, m, mp, 'POD-004', 'a mount')) return;
      const b = ctx.errorCount;
      const volume = needString(ctx, m, 'volume', mp, 'POD-004');
      if (volume !== undefined)
        checkAcName(ctx, volume, ptr(mp, 'volume'), (v) => `mount volume ${v} is not an AC Name.`);
      const path = needString(ctx, m, 'path', mp, 'POD-004');
      if (path === '')
        ctx.error(ptr(mp, 'path'), 'ERR_SCHEMA_EMPTY', 'POD-004', 'mount "path" must not be empty.');
      let appVolume: Volume | undefined;
      if (m.appVolume !== undefined && m.appVolume !== null)
        appVolume = readVolume(ctx, m.appVolume, ptr(mp, 'appVolume'));
      if (ctx.errorCount > b) return;
      const mount: Mount = { volume: volume as string, path: path as string };
      if (appVolume) mount.appVolume = appVolume;
      app.mounts?.push(mount);
    });
  }
  if (item.annotations !== undefined && item.annotations !== null)
    app.annotations = readAnnotations(ctx, item.annotations, ptr(p, 'annotations'), 'name');
  return ctx.errorCount > before ? undefined : (app as PodApp);
}

function readPodManifest(ctx: Ctx, v: unknown): PodManifest | undefined {
  if (!isObject(v)) {
    ctx.error('', 'ERR_SCHEMA_TYPE', 'POD-001', `a pod manifest must be a JSON object, not ${typeName(v)}.`);
    return undefined;
  }
  warnCase(ctx, v, POD_MANIFEST_MEMBERS, '');
  const { acVersion } = readHeader(ctx, v, 'PodManifest');
  const m: Partial<PodManifest> = { acVersion: acVersion as string, acKind: 'PodManifest' };
  if (v.apps === undefined || v.apps === null)
    ctx.error(
      '/apps',
      'ERR_SCHEMA_REQUIRED',
      'POD-003',
      '"apps" is required: a list of apps (it may be empty).',
    );
  const apps = optList(ctx, v, 'apps', '', 'POD-003');
  const appIndex: number[] = [];
  if (apps) {
    m.apps = [];
    const names = new Set<string>();
    const portNames = new Map<string, string>();
    apps.forEach((a, i) => {
      const p = ptr('/apps', i);
      const app = readPodApp(ctx, a, p);
      if (!app) return;
      if (names.has(app.name)) {
        ctx.error(
          ptr(p, 'name'),
          'ERR_SCHEMA_DUPLICATE_NAME',
          'POD-003',
          `duplicate app name "${app.name}"; app names are unique in a pod.`,
        );
        return;
      }
      names.add(app.name);
      app.app?.ports?.forEach((port, j) => {
        const other = portNames.get(port.name);
        if (other !== undefined) {
          ctx.error(
            ptr(ptr(ptr(p, 'app'), 'ports'), j),
            'ERR_SCHEMA_DUPLICATE_NAME',
            'POD-008',
            `port name "${port.name}" is also used by app "${other}"; port names must be unique among the pod's apps.`,
          );
        } else portNames.set(port.name, app.name);
      });
      m.apps?.push(app);
      appIndex.push(i);
    });
  }
  const vols = optList(ctx, v, 'volumes', '', 'POD-005');
  if (vols) {
    m.volumes = [];
    const names = new Set<string>();
    vols.forEach((item, i) => {
      const p = ptr('/volumes', i);
      const vol = readVolume(ctx, item, p);
      if (!vol) return;
      if (names.has(vol.name)) {
        ctx.error(
          ptr(p, 'name'),
          'ERR_SCHEMA_DUPLICATE_NAME',
          'POD-005',
          `duplicate volume name "${vol.name}"; rename one.`,
        );
        return;
      }
      names.add(vol.name);
      m.volumes?.push(vol);
    });
  }
  // POD-004: a mount's volume "is a key into the list of volumes" unless the mount brings its appVolume; a
  // template may bind volumes later (POD-010).
  if (!ctx.options.template) {
    const declared = new Set<string>();
    for (const item of vols ?? [])
      if (isObject(item) && typeof item.name === 'string') declared.add(item.name);
    m.apps?.forEach((app, k) => {
      app.mounts?.forEach((mount, j) => {
        if (mount.appVolume || declared.has(mount.volume)) return;
        ctx.error(
          ptr(ptr(ptr(ptr('/apps', appIndex[k] as number), 'mounts'), j), 'volume'),
          'ERR_SCHEMA_VOLUME_UNDECLARED',
          'POD-004',
          `mount volume "${mount.volume}" names no volume of "volumes"; declare it there or give the mount an "appVolume".`,
        );
      });
    });
  }
  const isolators = optList(ctx, v, 'isolators', '', 'POD-006');
  if (isolators) m.isolators = readIsolators(ctx, isolators, '/isolators', 'pod');
  if (v.annotations !== undefined && v.annotations !== null)
    m.annotations = readAnnotations(ctx, v.annotations, '/annotations', 'name');
  const ports = optList(ctx, v, 'ports', '', 'POD-008');
  if (ports) {
    m.ports = [];
    const names = new Set<string>();
    ports.forEach((item, i) => {
      const p = ptr('/ports', i);
      if (!needObject(ctx, item, p, 'POD-008', 'an exposed port')) return;
      const b = ctx.errorCount;
      const name = needString(ctx, item, 'name', p, 'POD-008');
      const valid =
        name !== undefined &&
        checkAcName(ctx, name, ptr(p, 'name'), (v) => `port name ${v} is not an AC Name.`);
      if (valid && names.has(name)) {
        ctx.error(
          ptr(p, 'name'),
          'ERR_SCHEMA_DUPLICATE_NAME',
          'POD-008',
          `port "${name}" is exposed twice; keep one.`,
        );
      }
      if (name !== undefined) names.add(name);
      const hp = item.hostPort;
      if (hp === undefined || hp === null)
        ctx.error(ptr(p, 'hostPort'), 'ERR_SCHEMA_REQUIRED', 'POD-008', '"hostPort" is required (1..65535).');
      else if (typeof hp !== 'number')
        ctx.error(
          ptr(p, 'hostPort'),
          'ERR_SCHEMA_TYPE',
          'POD-008',
          `"hostPort" must be a number, not ${typeName(hp)}.`,
        );
      else if (!Number.isInteger(hp) || hp < 1 || hp > 65535)
        ctx.error(
          ptr(p, 'hostPort'),
          'ERR_SCHEMA_PORT',
          'POD-008',
          `hostPort must be an integer from 1 to 65535, not ${show(hp)}.`,
        );
      const out: Partial<ExposedPort> = { name: name as string, hostPort: hp as number };
      const ipText = item.hostIP;
      if (ipText !== undefined && ipText !== null) {
        if (typeof ipText !== 'string')
          ctx.error(
            ptr(p, 'hostIP'),
            'ERR_SCHEMA_TYPE',
            'POD-008',
            `"hostIP" must be a string, not ${typeName(ipText)}.`,
          );
        else if (isIP(ipText) !== 4)
          // POD-008: "an IPv4 address … in dotted-quad notation" (the reference takes IPv6 and "" too)
          ctx.error(
            ptr(p, 'hostIP'),
            'ERR_SCHEMA_IP',
            'POD-008',
            `hostIP ${show(ipText)} is not an IPv4 address in dotted-quad notation; write e.g. "127.0.0.1", or leave hostIP out for every address.`,
          );
        else out.hostIP = ipText;
      }
      if (item.podPort !== undefined && item.podPort !== null) {
        const pp = readPort(ctx, item.podPort, ptr(p, 'podPort'));
        if (pp) out.podPort = pp;
      }
      if (ctx.errorCount === b) m.ports?.push(out as ExposedPort);
    });
  }
  // POD-008: an exposed port names an app's port unless it brings its podPort. When every app replaces its
  // image's app object (POD-003; a reified pod always does), the apps' ports are all known here.
  if (!ctx.options.template && apps && m.ports && apps.every((a) => isObject(a) && isObject(a.app))) {
    // from the raw apps, so that an app with other problems adds no second, misleading issue here
    const appPorts = new Set<string>();
    for (const a of apps) {
      const list = isObject(a) && isObject(a.app) ? a.app.ports : undefined;
      if (Array.isArray(list))
        for (const port of list) if (isObject(port) && typeof port.name === 'string') appPorts.add(port.name);
    }
    const raw = ports ?? [];
    raw.forEach((item, i) => {
      if (!isObject(item) || typeof item.name !== 'string') return;
      if ((item.podPort !== undefined && item.podPort !== null) || appPorts.has(item.name)) return;
      ctx.error(
        ptr(ptr('/ports', i), 'name'),
        'ERR_SCHEMA_PORT_UNDECLARED',
        'POD-008',
        `exposed port "${item.name}" names no port of the pod's apps (each app gives its whole app object here); add the port to an app's "ports" or give this entry a "podPort".`,
      );
    });
  }
  for (const key of ['userAnnotations', 'userLabels'] as const) {
    if (v[key] !== undefined && v[key] !== null) m[key] = readStringMap(ctx, v[key], `/${key}`, key);
  }
  return ctx.errorCount > 0 ? undefined : (m as PodManifest);
}

/** Every problem of a pod manifest (POD-*, TYPES-*, ISO-*), errors and warnings. Never throws. With
 * `{ template: true }` apps may name their image without an ID (POD-010). */
export function validatePodManifest(value: unknown, options: ValidateOptions = {}): Issue[] {
  const ctx = new Ctx(options);
  readDocument(ctx, readPodManifest, value, 'POD-001');
  return ctx.issues;
}

/** Reads a pod manifest into its typed value (unknown members dropped).
 * @throws {@link SchemaError} `ERR_SCHEMA_INVALID` with every issue in `issues`. */
export function parsePodManifest(value: unknown, options: ValidateOptions = {}): PodManifest {
  const ctx = new Ctx(options);
  const m = readDocument(ctx, readPodManifest, value, 'POD-001');
  if (!m || ctx.errorCount > 0) throw schemaErrorFrom('pod manifest', ctx.issues, options.file);
  return m;
}
