import { randomUUID } from 'node:crypto';
import { posix } from 'node:path';
import {
  type Annotation,
  type App,
  type EnvironmentVariable,
  type ExposedPort,
  type ImageManifest,
  type Isolator,
  type Issue,
  isAcName,
  type Mount,
  type PodApp,
  type PodManifest,
  parseUuid,
  SPEC_VERSION,
  sanitizeAcName,
  type Volume,
  validatePodManifest,
} from '@appc/schema';
import { RuntimeError } from './errors.ts';

/** An image a pod app runs: its ID (the pod pins it, POD-011) and its manifest. */
export interface ImageRef {
  /** Full image ID, `sha512-` and 128 hex digits (TYPES-006). */
  id: string;
  manifest: ImageManifest;
}

/** A mount asked for one app: a volume name and, unless a mountPoint of that name gives it, the target path. */
export interface AppMountRequest {
  volume: string;
  /** Target inside the app; defaults to the path of the app's mountPoint named like the volume. */
  path?: string;
}

/** One app to run, with the per-app overrides of the command line (POD-012); unset fields come from the image. */
export interface AppRequest {
  image: ImageRef;
  /** Pod app name (AC Name); default: the sanitised last `/` component of the image name (TYPES-003). */
  name?: string;
  /** Replaces the image's exec (program and arguments, IMG-006). */
  exec?: string[];
  user?: string;
  group?: string;
  supplementaryGIDs?: number[];
  workingDirectory?: string;
  /** Merged over the image's environment by name; these win (ACE-010). */
  environment?: EnvironmentVariable[];
  /** Replace the image's isolators of the same names; the others are kept. */
  isolators?: Isolator[];
  mounts?: AppMountRequest[];
  annotations?: Annotation[];
  /** Merged over the image's userAnnotations and userLabels by name; these win (TYPES-013). */
  userAnnotations?: Record<string, string>;
  userLabels?: Record<string, string>;
  readOnlyRootFS?: boolean;
}

/** Pod-wide options of {@link reifyPod}. */
export interface PodOptions {
  /** RFC 4122 UUID of the pod; a random one when absent (ACE-001). */
  uuid?: string;
  volumes?: Volume[];
  ports?: ExposedPort[];
  annotations?: Annotation[];
  isolators?: Isolator[];
  userAnnotations?: Record<string, string>;
  userLabels?: Record<string, string>;
}

/** A pod ready to run: its UUID, the reified manifest (what META-004 serves) and the manifests of its images. */
export interface ReifiedPod {
  uuid: string;
  manifest: PodManifest;
  /** Image manifests by image ID, for every image the pod runs. */
  images: Map<string, ImageManifest>;
  /** What reification decided on its own (implicit volumes) and the validator's warnings. */
  warnings: Issue[];
}

/** Where {@link reifyPodManifest} finds the manifests of the images a pod names. */
export type ImageLookup = ReadonlyMap<string, ImageManifest> | ((id: string) => ImageManifest | undefined);

function lookupImage(images: ImageLookup, id: string): ImageManifest | undefined {
  return typeof images === 'function' ? images(id) : images.get(id);
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** Default pod app name of an image: the sanitised last `/` component of its name (TYPES-003, as rkt does). */
export function defaultAppName(imageName: string): string {
  const last =
    imageName
      .split('/')
      .filter((s) => s !== '')
      .pop() ?? imageName;
  try {
    return sanitizeAcName(last);
  } catch {
    return '';
  }
}

function mergeEnvironment(
  base: EnvironmentVariable[] | undefined,
  over: EnvironmentVariable[] | undefined,
): EnvironmentVariable[] | undefined {
  if (!over || over.length === 0) return base;
  const out = (base ?? []).filter((e) => !over.some((o) => o.name === e.name));
  return [...out, ...over.map((e) => ({ name: e.name, value: e.value }))];
}

function mergeIsolators(base: Isolator[] | undefined, over: Isolator[] | undefined): Isolator[] | undefined {
  if (!over || over.length === 0) return base;
  const names = new Set(over.map((i) => i.name));
  return [...(base ?? []).filter((i) => !names.has(i.name)), ...clone(over)];
}

function appFromRequest(req: AppRequest, name: string, index: number): App {
  const image = req.image.manifest;
  const base: App | undefined = image.app ? clone(image.app) : undefined;
  if (!base && req.exec === undefined) {
    throw new RuntimeError(
      `app "${name}": image ${image.name} (${req.image.id}) has no "app" section, so there is nothing to run. ` +
        'Give an exec for it, or run an image that has an app.',
      { code: 'ERR_RUN_NO_APP', requirement: 'IMG-005', app: name, pointer: `/apps/${index}/app` },
    );
  }
  const app: App = base ?? { user: '0', group: '0' };
  if (req.exec !== undefined) app.exec = [...req.exec];
  if (req.user !== undefined) app.user = req.user;
  if (req.group !== undefined) app.group = req.group;
  if (req.supplementaryGIDs !== undefined) app.supplementaryGIDs = [...req.supplementaryGIDs];
  if (req.workingDirectory !== undefined) app.workingDirectory = req.workingDirectory;
  const env = mergeEnvironment(app.environment, req.environment);
  if (env !== undefined) app.environment = env;
  const iso = mergeIsolators(app.isolators, req.isolators);
  if (iso !== undefined) app.isolators = iso;
  if (req.userAnnotations) app.userAnnotations = { ...app.userAnnotations, ...req.userAnnotations };
  if (req.userLabels) app.userLabels = { ...app.userLabels, ...req.userLabels };
  return app;
}

/** Builds and checks the pod manifest of a list of apps (POD-011, POD-012): each app is filled from its image
 * manifest with the overrides applied, its image pinned by ID, its name unique; every mountPoint is satisfied
 * (an implicit `empty` volume named like the mountPoint where no volume is given); a UUID is drawn.
 * @example
 * ```ts
 * const pod = reifyPod([{ image: { id, manifest } , exec: ['/bin/sh', '-c', 'echo hi'] }]);
 * console.log(pod.uuid, JSON.stringify(pod.manifest));
 * ```
 * @throws {@link RuntimeError} `ERR_RUN_NO_APP`, `ERR_RUN_APP_NAME`, `ERR_RUN_DUPLICATE_APP_NAME`,
 * `ERR_RUN_UNKNOWN_VOLUME`, `ERR_RUN_MOUNT_CONFLICT`, `ERR_RUN_UNKNOWN_PORT`, `ERR_RUN_EXEC_EMPTY`,
 * `ERR_RUN_INVALID_POD_MANIFEST`. */
export function reifyPod(apps: readonly AppRequest[], options: PodOptions = {}): ReifiedPod {
  const images = new Map<string, ImageManifest>();
  const podApps: PodApp[] = [];
  const byName = new Map<string, string>();
  apps.forEach((req, index) => {
    const image = req.image.manifest;
    const derived = req.name === undefined;
    const name = req.name ?? defaultAppName(image.name);
    if (!isAcName(name)) {
      throw new RuntimeError(
        derived
          ? `app ${index + 1}: no app name can be derived from image name "${image.name}"; give one with a name option.`
          : `app ${index + 1}: "${name}" is not an AC Name (lower-case letters, digits and "-"); pick another name.`,
        { code: 'ERR_RUN_APP_NAME', requirement: 'TYPES-003', pointer: `/apps/${index}/name` },
      );
    }
    const previous = byName.get(name);
    if (previous !== undefined) {
      throw new RuntimeError(
        `app name "${name}" is used twice (images ${previous} and ${image.name}); app names are unique in a pod. ` +
          'Give the second app another name.',
        {
          code: 'ERR_RUN_DUPLICATE_APP_NAME',
          requirement: 'POD-003',
          app: name,
          pointer: `/apps/${index}/name`,
        },
      );
    }
    byName.set(name, image.name);
    images.set(req.image.id, image);
    const podApp: PodApp = {
      name,
      image: { id: req.image.id, name: image.name },
      app: appFromRequest(req, name, index),
    };
    if (image.labels && image.labels.length > 0) podApp.image.labels = clone(image.labels);
    if (req.readOnlyRootFS !== undefined) podApp.readOnlyRootFS = req.readOnlyRootFS;
    if (req.annotations && req.annotations.length > 0) podApp.annotations = clone(req.annotations);
    if (req.mounts && req.mounts.length > 0) {
      podApp.mounts = req.mounts.map((m, i) => {
        const path = m.path ?? podApp.app?.mountPoints?.find((mp) => mp.name === m.volume)?.path;
        if (path === undefined) {
          throw new RuntimeError(
            `app "${name}": mount of volume "${m.volume}" has no target path and the app has no mountPoint named ` +
              `"${m.volume}"; give the target path.`,
            {
              code: 'ERR_RUN_MOUNT_CONFLICT',
              requirement: 'POD-004',
              app: name,
              pointer: `/apps/${index}/mounts/${i}`,
            },
          );
        }
        return { volume: m.volume, path };
      });
    }
    podApps.push(podApp);
  });
  const manifest: PodManifest = { acVersion: SPEC_VERSION, acKind: 'PodManifest', apps: podApps };
  if (options.volumes && options.volumes.length > 0) manifest.volumes = clone(options.volumes);
  if (options.isolators && options.isolators.length > 0) manifest.isolators = clone(options.isolators);
  if (options.annotations && options.annotations.length > 0)
    manifest.annotations = clone(options.annotations);
  if (options.ports && options.ports.length > 0) manifest.ports = clone(options.ports);
  if (options.userAnnotations) manifest.userAnnotations = { ...options.userAnnotations };
  if (options.userLabels) manifest.userLabels = { ...options.userLabels };
  return completePod(manifest, images, options.uuid);
}

/** Checks a pod manifest given by the user and completes it as {@link reifyPod} does: every app's image must be
 * known by its ID (POD-011), apps without `app` get their image's, and unsatisfied mountPoints get implicit
 * `empty` volumes. The input is not modified.
 * @throws {@link RuntimeError} `ERR_RUN_INVALID_POD_MANIFEST` (with `issues`), `ERR_RUN_UNKNOWN_IMAGE`,
 * `ERR_RUN_NO_APP` (also for a pod manifest without apps), `ERR_RUN_UNKNOWN_VOLUME`, `ERR_RUN_MOUNT_CONFLICT`, `ERR_RUN_UNKNOWN_PORT`, `ERR_RUN_EXEC_EMPTY`. */
export function reifyPodManifest(
  manifest: unknown,
  images: ImageLookup,
  options: { uuid?: string; file?: string } = {},
): ReifiedPod {
  const issues = validatePodManifest(manifest, options.file === undefined ? {} : { file: options.file });
  throwOnIssues(issues, options.file, 'the pod manifest');
  const m = clone(manifest) as PodManifest;
  // the schema lets the list be empty; a pod with nothing to run would "succeed" having done nothing
  if (m.apps.length === 0)
    throw new RuntimeError(
      `${options.file ?? 'the pod manifest'}: /apps is empty, so there is nothing to run; add at least one app.`,
      {
        code: 'ERR_RUN_NO_APP',
        requirement: 'POD-003',
        pointer: '/apps',
        file: options.file,
      },
    );
  const found = new Map<string, ImageManifest>();
  m.apps.forEach((app, index) => {
    const id = app.image.id as string;
    const image = lookupImage(images, id);
    if (!image) {
      throw new RuntimeError(
        `${options.file === undefined ? '' : `${options.file}#/apps/${index}/image/id: `}app "${app.name}": image ${id} is not available; fetch it first (appc fetch) or correct the ID.`,
        {
          code: 'ERR_RUN_UNKNOWN_IMAGE',
          requirement: 'POD-011',
          app: app.name,
          pointer: `/apps/${index}/image/id`,
          file: options.file,
        },
      );
    }
    found.set(id, image);
    if (app.image.name === undefined) app.image.name = image.name;
    if (!app.app) {
      if (!image.app) {
        throw new RuntimeError(
          `app "${app.name}": neither the pod manifest nor image ${image.name} gives an "app" section; add one.`,
          {
            code: 'ERR_RUN_NO_APP',
            requirement: 'IMG-005',
            app: app.name,
            pointer: `/apps/${index}/app`,
            file: options.file,
          },
        );
      }
      app.app = clone(image.app);
    }
  });
  return completePod(m, found, options.uuid, options.file);
}

function throwOnIssues(issues: Issue[], file: string | undefined, what: string): void {
  const errors = issues.filter((i) => i.severity !== 'warning');
  if (errors.length === 0) return;
  const first = errors[0] as Issue;
  const lines = errors
    .slice(0, 5)
    .map((i) => `  ${i.pointer || '/'}: ${i.message} [${i.code}, ${i.requirement}]`);
  throw new RuntimeError(
    `${file === undefined ? '' : `${file}: `}${what} is invalid (${errors.length} problem${errors.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
    {
      code: 'ERR_RUN_INVALID_POD_MANIFEST',
      requirement: first.requirement,
      pointer: first.pointer,
      file,
      issues,
    },
  );
}

function isInside(parent: string, child: string): boolean {
  return parent === '/' || child.startsWith(`${parent}/`);
}

/** Satisfies mountPoints, checks mounts, volumes, ports and exec, validates, and draws the UUID. */
function completePod(
  manifest: PodManifest,
  images: Map<string, ImageManifest>,
  uuid: string | undefined,
  file?: string,
): ReifiedPod {
  const warnings: Issue[] = [];
  const volumes = manifest.volumes ?? [];
  const volumeNames = new Set(volumes.map((v) => v.name));
  manifest.apps.forEach((podApp, index) => {
    const app = podApp.app as App;
    const p = `/apps/${index}`;
    if (!app.exec || app.exec.length === 0 || app.exec[0] === '') {
      throw new RuntimeError(
        `app "${podApp.name}": exec is empty, so there is no program to start (IMG-006); give an exec.`,
        {
          code: 'ERR_RUN_EXEC_EMPTY',
          requirement: 'IMG-006',
          app: podApp.name,
          pointer: `${p}/app/exec`,
          file,
        },
      );
    }
    const mounts: Mount[] = podApp.mounts ?? [];
    mounts.forEach((m, i) => {
      if (!m.path.startsWith('/')) {
        throw new RuntimeError(
          `app "${podApp.name}": mount target "${m.path}" of volume "${m.volume}" must be an absolute path.`,
          {
            code: 'ERR_RUN_MOUNT_CONFLICT',
            requirement: 'POD-004',
            app: podApp.name,
            pointer: `${p}/mounts/${i}/path`,
            file,
          },
        );
      }
      if (!m.appVolume && !volumeNames.has(m.volume)) {
        throw new RuntimeError(
          `app "${podApp.name}": mount of volume "${m.volume}" at ${m.path}, but the pod has no volume of that name; ` +
            `add a volume "${m.volume}" (kind host or empty).`,
          {
            code: 'ERR_RUN_UNKNOWN_VOLUME',
            requirement: 'POD-004',
            app: podApp.name,
            pointer: `${p}/mounts/${i}/volume`,
            file,
          },
        );
      }
    });
    for (const mp of app.mountPoints ?? []) {
      const target = posix.normalize(mp.path);
      if (mounts.some((m) => posix.normalize(m.path) === target)) continue;
      if (!volumeNames.has(mp.name)) {
        const implicit: Volume = { name: mp.name, kind: 'empty', mode: '0755', uid: 0, gid: 0 };
        volumes.push(implicit);
        volumeNames.add(mp.name);
        warnings.push({
          code: 'WARN_RUN_IMPLICIT_VOLUME',
          pointer: `/volumes/${volumes.length - 1}`,
          requirement: 'POD-011',
          message: `app "${podApp.name}": mountPoint "${mp.name}" (${mp.path}) had no volume; an empty volume "${mp.name}" was added.`,
          severity: 'warning',
        });
      }
      mounts.push({ volume: mp.name, path: mp.path });
    }
    // ACE-005: two mounts at one target, or one inside another, is an error.
    const targets = mounts.map((m) => posix.normalize(m.path));
    targets.forEach((a, i) => {
      targets.forEach((b, j) => {
        if (i < j && (a === b || isInside(a, b) || isInside(b, a))) {
          throw new RuntimeError(
            `app "${podApp.name}": mount targets ${a} and ${b} overlap; give each volume its own, separate path.`,
            {
              code: 'ERR_RUN_MOUNT_CONFLICT',
              requirement: 'ACE-005',
              app: podApp.name,
              pointer: `${p}/mounts/${j}/path`,
              file,
            },
          );
        }
      });
    });
    if (mounts.length > 0) podApp.mounts = mounts;
  });
  if (volumes.length > 0) manifest.volumes = volumes;
  (manifest.ports ?? []).forEach((port, i) => {
    if (port.podPort) return;
    const known = manifest.apps.some((a) => a.app?.ports?.some((ap) => ap.name === port.name));
    if (!known) {
      throw new RuntimeError(
        `port "${port.name}" is exposed on host port ${port.hostPort}, but no app of the pod has a port of that name; ` +
          "name one of the apps' ports or give a podPort.",
        { code: 'ERR_RUN_UNKNOWN_PORT', requirement: 'POD-008', pointer: `/ports/${i}/name`, file },
      );
    }
  });
  const issues = validatePodManifest(manifest, file === undefined ? {} : { file });
  throwOnIssues(issues, file, 'the reified pod manifest');
  warnings.push(...issues);
  let id: string;
  try {
    id = uuid === undefined ? randomUUID() : parseUuid(uuid);
  } catch (cause) {
    throw new RuntimeError(`pod UUID "${uuid}" is not an RFC 4122 UUID; omit it to get a random one.`, {
      code: 'ERR_RUN_INVALID_POD_MANIFEST',
      requirement: 'ACE-001',
      cause,
    });
  }
  return { uuid: id, manifest, images, warnings };
}
