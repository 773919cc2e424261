import { type Issue, SchemaError } from './errors.ts';
import { isObject } from './internal/context.ts';
import { type ParseJsonOptions, parseJson } from './json.ts';

/** What the lenient reader gets out of a broken image manifest (IMG-021): plain strings, `''` when absent. */
export interface LenientImageManifest {
  acVersion: string;
  acKind: 'ImageManifest';
  name: string;
  labels: { name: string; value: string }[];
}

/** What the lenient reader gets out of a broken pod manifest (IMG-021). */
export interface LenientPodManifest {
  acVersion: string;
  acKind: 'PodManifest';
  apps: { name: string; image: { name: string; id: string; labels: { name: string; value: string }[] } }[];
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const labels = (v: unknown) =>
  Array.isArray(v) ? v.filter(isObject).map((l) => ({ name: str(l.name), value: str(l.value) })) : [];

/** Reads a manifest that may fail validation, for messages and for removing broken images or pods (IMG-021,
 * the reference's "lastditch"): only JSON syntax and acKind are checked; every other member is taken as a
 * plain string (or `''`), unknown members are dropped.
 * @throws {@link SchemaError} `ERR_SCHEMA_JSON` for text that is not JSON, `ERR_SCHEMA_INVALID` (issue
 * `ERR_SCHEMA_AC_KIND`) when acKind is not the expected kind. */
export function readManifestLeniently(
  text: string | Uint8Array,
  kind: 'ImageManifest',
  options?: ParseJsonOptions,
): LenientImageManifest;
export function readManifestLeniently(
  text: string | Uint8Array,
  kind: 'PodManifest',
  options?: ParseJsonOptions,
): LenientPodManifest;
export function readManifestLeniently(
  text: string | Uint8Array,
  kind: 'ImageManifest' | 'PodManifest',
  options: ParseJsonOptions = {},
): LenientImageManifest | LenientPodManifest {
  const v = parseJson(text, options);
  if (!isObject(v) || v.acKind !== kind) {
    const message = `acKind must be "${kind}", not ${JSON.stringify(isObject(v) ? v.acKind : v)?.slice(0, 40)}.`;
    const issue: Issue = { code: 'ERR_SCHEMA_AC_KIND', pointer: '/acKind', requirement: 'IMG-021', message };
    throw new SchemaError(message, {
      code: 'ERR_SCHEMA_INVALID',
      requirement: 'IMG-021',
      pointer: '/acKind',
      file: options.file,
      issues: [issue],
    });
  }
  if (kind === 'ImageManifest') {
    return { acVersion: str(v.acVersion), acKind: kind, name: str(v.name), labels: labels(v.labels) };
  }
  const apps = Array.isArray(v.apps) ? v.apps.filter(isObject) : [];
  return {
    acVersion: str(v.acVersion),
    acKind: kind,
    apps: apps.map((a) => {
      const img = isObject(a.image) ? a.image : {};
      return {
        name: str(a.name),
        image: { name: str(img.name), id: str(img.id), labels: labels(img.labels) },
      };
    }),
  };
}
