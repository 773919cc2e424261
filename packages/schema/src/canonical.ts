import { APP_MEMBERS } from './app.ts';
import { type Issue, SchemaError } from './errors.ts';
import { IMAGE_MANIFEST_MEMBERS, type ImageManifest, parseImageManifest } from './image-manifest.ts';
import { isObject } from './internal/context.ts';
import {
  POD_APP_MEMBERS,
  POD_MANIFEST_MEMBERS,
  type PodManifest,
  parsePodManifest,
  VOLUME_MEMBERS,
} from './pod-manifest.ts';

/** Options of the serialisers. */
export interface SerializeOptions {
  /** Spaces of indentation; 0 or absent writes one compact line. */
  indent?: number;
}

const MAX_DEPTH = 512;

/** Member order of one kind of object, and how to order its members' values. */
interface Shape {
  keys: readonly string[];
  sub?: Readonly<Record<string, Shape | 'sorted'>>;
}

const NAME_VALUE: Shape = { keys: ['name', 'value'] };
const LABELS = NAME_VALUE;
const ISOLATOR: Shape = { keys: ['name', 'value'], sub: { value: 'sorted' } };
const PORT: Shape = { keys: ['name', 'protocol', 'port', 'count', 'socketActivated'] };
const APP: Shape = {
  keys: APP_MEMBERS,
  sub: {
    eventHandlers: { keys: ['name', 'exec'] },
    environment: NAME_VALUE,
    isolators: ISOLATOR,
    mountPoints: { keys: ['name', 'path', 'readOnly'] },
    ports: PORT,
    userAnnotations: 'sorted',
    userLabels: 'sorted',
  },
};
/** Canonical member order of an image manifest and everything in it. */
const IMAGE: Shape = {
  keys: IMAGE_MANIFEST_MEMBERS,
  sub: {
    labels: LABELS,
    app: APP,
    dependencies: { keys: ['imageName', 'imageID', 'labels', 'size'], sub: { labels: LABELS } },
    annotations: NAME_VALUE,
  },
};
const VOLUME: Shape = { keys: VOLUME_MEMBERS };
/** Canonical member order of a pod manifest and everything in it. */
const POD: Shape = {
  keys: POD_MANIFEST_MEMBERS,
  sub: {
    apps: {
      keys: POD_APP_MEMBERS,
      sub: {
        image: { keys: ['id', 'name', 'labels'], sub: { labels: LABELS } },
        app: APP,
        mounts: { keys: ['volume', 'path', 'appVolume'], sub: { appVolume: VOLUME } },
        annotations: NAME_VALUE,
      },
    },
    volumes: VOLUME,
    isolators: ISOLATOR,
    annotations: NAME_VALUE,
    ports: { keys: ['name', 'hostPort', 'hostIP', 'podPort'], sub: { podPort: PORT } },
    userAnnotations: 'sorted',
    userLabels: 'sorted',
  },
};

function tooDeep(): never {
  const message = `the value is nested deeper than ${MAX_DEPTH} levels and cannot be written as canonical JSON.`;
  const issue: Issue = { code: 'ERR_SCHEMA_JSON', pointer: '', requirement: 'IMG-019', message };
  throw new SchemaError(message, { code: 'ERR_SCHEMA_JSON', requirement: 'IMG-019', issues: [issue] });
}

/** A copy of a JSON value with object members sorted by code point; throws on what JSON cannot hold. */
function sortKeys(v: unknown, depth: number): unknown {
  if (depth > MAX_DEPTH) tooDeep();
  if (Array.isArray(v)) return v.map((x) => sortKeys(x, depth + 1));
  if (isObject(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = v[k];
      if (x === undefined) continue;
      Object.defineProperty(out, k, {
        value: sortKeys(x, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  if (typeof v === 'number' && !Number.isFinite(v)) throw new TypeError(`${v} cannot be written as JSON`);
  if (typeof v === 'bigint' || typeof v === 'function' || typeof v === 'symbol')
    throw new TypeError(`a ${typeof v} cannot be written as JSON`);
  return v;
}

function shape(v: unknown, s: Shape, depth: number): unknown {
  if (depth > MAX_DEPTH) tooDeep();
  if (Array.isArray(v)) return v.map((x) => shape(x, s, depth + 1));
  if (!isObject(v)) return sortKeys(v, depth);
  const out: Record<string, unknown> = {};
  for (const k of s.keys) {
    const x = v[k];
    if (x === undefined) continue;
    const sub = s.sub?.[k];
    out[k] = sub === undefined || sub === 'sorted' ? sortKeys(x, depth + 1) : shape(x, sub, depth + 1);
  }
  return out;
}

/** Canonical JSON of any JSON value: object members sorted by code point at every level, no insignificant
 * whitespace unless `indent` is given, `undefined` members dropped. Equal values give equal bytes.
 * @throws TypeError for values JSON cannot hold (bigint, NaN, functions). */
export function canonicalJson(value: unknown, options: SerializeOptions = {}): string {
  return JSON.stringify(sortKeys(value, 0), null, options.indent || undefined);
}

/** Writes an image manifest canonically: it is read with {@link parseImageManifest} first (so invalid input
 * throws and unknown members are dropped), then written with members in the spec's order (acKind, acVersion,
 * name, labels, app, dependencies, pathWhitelist, annotations; inside app: exec, user, group, supplementaryGIDs,
 * eventHandlers, workingDirectory, environment, isolators, mountPoints, ports, userAnnotations, userLabels;
 * `{name, value}` pairs name first) and the members of free-form objects (isolator values, userAnnotations,
 * userLabels) sorted. `parse(serialize(x))` equals `parse(x)` and serialising again gives the same bytes.
 * @throws {@link SchemaError} `ERR_SCHEMA_INVALID` when `m` is not a valid image manifest. */
export function serializeImageManifest(m: ImageManifest | unknown, options: SerializeOptions = {}): string {
  const parsed = parseImageManifest(m);
  return JSON.stringify(shape(parsed, IMAGE, 0), null, options.indent || undefined);
}

/** Writes a pod manifest canonically (order: acVersion, acKind, apps, volumes, isolators, annotations, ports,
 * userAnnotations, userLabels; apps: name, image, app, readOnlyRootFS, mounts, annotations), after reading it
 * with {@link parsePodManifest} (`template` allows apps without image ids).
 * @throws {@link SchemaError} `ERR_SCHEMA_INVALID` when `m` is not a valid pod manifest. */
export function serializePodManifest(
  m: PodManifest | unknown,
  options: SerializeOptions & { template?: boolean } = {},
): string {
  const parsed = parsePodManifest(m, { template: options.template ?? false });
  return JSON.stringify(shape(parsed, POD, 0), null, options.indent || undefined);
}
