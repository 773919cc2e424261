import { acIdentifierProblem } from './ac-identifier.ts';
import { isAcKind } from './ac-kind.ts';
import { acVersionProblem } from './ac-version.ts';
import { type Annotation, readAnnotations } from './annotations.ts';
import { type App, type Dependency, readApp, readDependency, warnCase } from './app.ts';
import { type Issue, schemaErrorFrom } from './errors.ts';
import {
  Ctx,
  isObject,
  optList,
  ptr,
  readDocument,
  show,
  stringList,
  typeName,
  type ValidateOptions,
} from './internal/context.ts';
import { type Label, readLabels } from './labels.ts';

/** An image manifest (IMG-*), as {@link parseImageManifest} returns it: only the members the spec defines,
 * optional ones absent when the document left them out (or wrote `null`). */
export interface ImageManifest {
  acKind: 'ImageManifest';
  acVersion: string;
  name: string;
  labels?: Label[];
  app?: App;
  dependencies?: Dependency[];
  pathWhitelist?: string[];
  annotations?: Annotation[];
}

/** Members of an image manifest in the spec's order (also the canonical output order). */
export const IMAGE_MANIFEST_MEMBERS = [
  'acKind',
  'acVersion',
  'name',
  'labels',
  'app',
  'dependencies',
  'pathWhitelist',
  'annotations',
] as const;

/** Reads `acKind` and `acVersion` of either manifest kind. */
export function readHeader(
  ctx: Ctx,
  v: Record<string, unknown>,
  kind: 'ImageManifest' | 'PodManifest',
): { acVersion?: string } {
  const kindReq = kind === 'ImageManifest' ? 'IMG-001' : 'POD-001';
  const versionReq = kind === 'ImageManifest' ? 'IMG-002' : 'POD-002';
  const k = v.acKind;
  if (k === undefined)
    ctx.error('/acKind', 'ERR_SCHEMA_REQUIRED', kindReq, `"acKind" is required; write "${kind}".`);
  else if (!isAcKind(k))
    ctx.error(
      '/acKind',
      'ERR_SCHEMA_AC_KIND',
      'TYPES-004',
      `acKind ${show(k)} is not "ImageManifest" or "PodManifest" (case-sensitive).`,
    );
  else if (k !== kind)
    ctx.error(
      '/acKind',
      'ERR_SCHEMA_AC_KIND_MISMATCH',
      kindReq,
      `acKind is "${k}" but a ${kind} was expected; read it as a ${k}.`,
    );
  const ver = v.acVersion;
  if (ver === undefined || ver === null) {
    ctx.error('/acVersion', 'ERR_SCHEMA_REQUIRED', versionReq, '"acVersion" is required; write "0.8.11".');
    return {};
  }
  if (typeof ver !== 'string') {
    ctx.error(
      '/acVersion',
      'ERR_SCHEMA_TYPE',
      'TYPES-005',
      `acVersion must be a string, not ${typeName(ver)}.`,
    );
    return {};
  }
  const problem = acVersionProblem(ver);
  if (problem) {
    ctx.error('/acVersion', problem.code, 'TYPES-005', problem.message);
    return {};
  }
  return { acVersion: ver };
}

function readImageManifest(ctx: Ctx, v: unknown): ImageManifest | undefined {
  if (!isObject(v)) {
    ctx.error(
      '',
      'ERR_SCHEMA_TYPE',
      'IMG-019',
      `an image manifest must be a JSON object, not ${typeName(v)}.`,
    );
    return undefined;
  }
  warnCase(ctx, v, IMAGE_MANIFEST_MEMBERS, '');
  const { acVersion } = readHeader(ctx, v, 'ImageManifest');
  const m: Partial<ImageManifest> = { acKind: 'ImageManifest' };
  if (acVersion !== undefined) m.acVersion = acVersion;
  const name = v.name;
  if (name === undefined)
    ctx.error(
      '/name',
      'ERR_SCHEMA_REQUIRED',
      'IMG-003',
      '"name" is required; write the image name, e.g. "example.com/app".',
    );
  else if (typeof name !== 'string')
    ctx.error('/name', 'ERR_SCHEMA_TYPE', 'IMG-003', `"name" must be a string, not ${typeName(name)}.`);
  else if (acIdentifierProblem(name) !== undefined)
    ctx.error(
      '/name',
      'ERR_SCHEMA_AC_IDENTIFIER',
      'TYPES-001',
      `name ${show(name)} is not an AC Identifier; use lower-case letters, digits and single separators -._~/ (e.g. "example.com/app").`,
    );
  else m.name = name;
  if (v.labels !== undefined && v.labels !== null) m.labels = readLabels(ctx, v.labels, '/labels');
  if (v.app !== undefined && v.app !== null) {
    const app = readApp(ctx, v.app, '/app');
    if (app) m.app = app;
  }
  const deps = optList(ctx, v, 'dependencies', '', 'IMG-017');
  if (deps) {
    m.dependencies = [];
    deps.forEach((d, i) => {
      const dep = readDependency(ctx, d, ptr('/dependencies', i));
      if (dep) m.dependencies?.push(dep);
    });
  }
  const wl = optList(ctx, v, 'pathWhitelist', '', 'IMG-016');
  if (wl) {
    m.pathWhitelist = stringList(ctx, wl, '/pathWhitelist', 'IMG-016', 'pathWhitelist');
    m.pathWhitelist.forEach((p, i) => {
      if (!p.startsWith('/'))
        ctx.error(
          ptr('/pathWhitelist', i),
          'ERR_SCHEMA_PATH_NOT_ABSOLUTE',
          'IMG-016',
          `pathWhitelist entry ${show(p)} must be an absolute path.`,
        );
    });
  }
  if (v.annotations !== undefined && v.annotations !== null)
    m.annotations = readAnnotations(ctx, v.annotations, '/annotations', 'identifier');
  return ctx.errorCount > 0 ? undefined : (m as ImageManifest);
}

/** Every problem of an image manifest (IMG-*, TYPES-*, ISO-*), errors and warnings. Never throws, whatever
 * `value` is. Unknown members are ignored (IMG-019).
 * @example validateImageManifest(JSON.parse(text)).filter((i) => i.severity !== 'warning') */
export function validateImageManifest(value: unknown, options: ValidateOptions = {}): Issue[] {
  const ctx = new Ctx(options);
  readDocument(ctx, readImageManifest, value, 'IMG-019');
  return ctx.issues;
}

/** Reads an image manifest: the typed value with only the members the spec defines (unknown ones dropped,
 * IMG-019; `supplementaryGids` read as `supplementaryGIDs`, IMG-008).
 * @throws {@link SchemaError} `ERR_SCHEMA_INVALID` with every issue in `issues`. */
export function parseImageManifest(value: unknown, options: ValidateOptions = {}): ImageManifest {
  const ctx = new Ctx(options);
  const m = readDocument(ctx, readImageManifest, value, 'IMG-019');
  if (!m || ctx.errorCount > 0) throw schemaErrorFrom('image manifest', ctx.issues, options.file);
  return m;
}
