import { loadVectors, type Vector } from '@appc/vectors';
import { describe, expect, it } from 'vitest';
import {
  acIdentifierProblem,
  isAcIdentifier,
  isAcName,
  sanitizeAcIdentifier,
  sanitizeAcName,
} from './ac-identifier.ts';
import { isAcKind } from './ac-kind.ts';
import { acVersionProblem, tryParseSemver } from './ac-version.ts';
import { readAnnotations, readStringMap } from './annotations.ts';
import { readApp, readDependency, readImageId, readPort } from './app.ts';
import { parseMountPointArg, parseVolumeArg } from './cli-forms.ts';
import { readEnvironment } from './environment.ts';
import type { Issue } from './errors.ts';
import { validateImageManifest } from './image-manifest.ts';
import { Ctx, type ValidateOptions } from './internal/context.ts';
import { parseIsolatorValue, readIsolators, validateIsolator } from './isolators.ts';
import { parseJson } from './json.ts';
import { hostOsArch, isValidOsArch, readLabels } from './labels.ts';
import { readManifestLeniently } from './lastditch.ts';
import { validatePodManifest } from './pod-manifest.ts';
import { ResourceQuantity, tryParseResourceQuantity } from './resource-quantity.ts';
import { isTimestamp } from './timestamp.ts';
import { isHttpUrl } from './url.ts';
import { canonicalUuid } from './uuid.ts';

const issue = (code: string, requirement = 'TYPES-000'): Issue => ({
  code,
  pointer: '',
  requirement,
  message: code,
});

function issuesOf(f: () => unknown): { issues: Issue[]; value?: unknown } {
  try {
    return { issues: [], value: f() };
  } catch (e) {
    const issues = (e as { issues?: Issue[] }).issues;
    if (!issues) throw e;
    return { issues };
  }
}

/** Judges one vector with this package; returns the issues and, for some types, what was read. */
export function judge(v: Vector): { issues: Issue[]; value?: unknown } {
  const input = v.input as Record<string, unknown> & { options?: ValidateOptions };
  const options = input.options ?? {};
  if (input.kind !== undefined) {
    let doc: unknown = input.manifest;
    if (typeof input.json === 'string') {
      const r = issuesOf(() => parseJson(input.json as string));
      if (r.issues.length) return r;
      doc = r.value;
    }
    return {
      issues:
        input.kind === 'PodManifest'
          ? validatePodManifest(doc, options)
          : validateImageManifest(doc, options),
    };
  }
  let value: unknown = input.value;
  const fromJson = typeof input.jsonText === 'string';
  if (fromJson && !String(input.type).startsWith('lenient')) {
    const r = issuesOf(() => parseJson(input.jsonText as string));
    if (r.issues.length) return r;
    value = r.value;
  }
  const ctx = new Ctx(options);
  const typed = (ok: boolean, code: string) => ({ issues: ok ? [] : [issue(code)], value });
  const notString = typeof value !== 'string' ? [issue('ERR_SCHEMA_TYPE')] : undefined;
  switch (input.type) {
    case 'acIdentifier':
      return notString
        ? { issues: notString }
        : {
            ...typed(isAcIdentifier(value), 'ERR_SCHEMA_AC_IDENTIFIER'),
            value: acIdentifierProblem(value as string),
          };
    case 'acName':
      return notString
        ? { issues: notString }
        : {
            ...typed(isAcName(value), 'ERR_SCHEMA_AC_NAME'),
            value: acIdentifierProblem(value as string, 'name'),
          };
    case 'acKind':
      return typed(isAcKind(value), 'ERR_SCHEMA_AC_KIND');
    case 'semver':
      return {
        issues: tryParseSemver(value) ? [] : [issue('ERR_SCHEMA_AC_VERSION')],
        value: tryParseSemver(value),
      };
    case 'acVersion': {
      if (notString) return { issues: notString };
      const p = acVersionProblem(value as string);
      return { issues: p ? [issue(p.code)] : [] };
    }
    case 'imageId':
      readImageId(ctx, value, '');
      return { issues: ctx.issues };
    case 'labels':
      readLabels(ctx, value, '');
      return { issues: ctx.issues };
    case 'annotations':
      readAnnotations(ctx, value, '', (input.nameKind as 'name' | undefined) ?? 'identifier');
      return { issues: ctx.issues };
    case 'userAnnotations':
    case 'userLabels':
      readStringMap(ctx, value, '', input.type);
      return { issues: ctx.issues };
    case 'environment':
      if (!Array.isArray(value)) return { issues: [issue('ERR_SCHEMA_TYPE')] };
      readEnvironment(ctx, value, '');
      return { issues: ctx.issues };
    case 'uuid':
      return { ...typed(canonicalUuid(value) !== undefined, 'ERR_SCHEMA_UUID'), value: canonicalUuid(value) };
    case 'date':
      return notString ? { issues: notString } : typed(isTimestamp(value), 'ERR_SCHEMA_TIMESTAMP');
    case 'url':
      return notString ? { issues: notString } : typed(isHttpUrl(value), 'ERR_SCHEMA_URL');
    case 'quantity': {
      if (value === null) return { issues: [], value: null };
      const q = tryParseResourceQuantity(
        typeof value === 'string' && fromJson ? value.trim() : (value as string | number),
      );
      return q instanceof ResourceQuantity
        ? { issues: [], value: q }
        : { issues: [issue('ERR_SCHEMA_QUANTITY')] };
    }
    case 'isolator':
      return {
        issues: validateIsolator(value, {
          strict: options.strict ?? false,
          level: (input.level as 'app' | 'pod') ?? 'app',
        }),
      };
    case 'isolators':
      readIsolators(ctx, value as unknown[], '', (input.level as 'app' | 'pod') ?? 'app');
      return { issues: ctx.issues, value };
    case 'app':
      readApp(ctx, value, '');
      return { issues: ctx.issues };
    case 'port':
      readPort(ctx, value, '');
      return { issues: ctx.issues };
    case 'dependency':
      readDependency(ctx, value, '');
      return { issues: ctx.issues };
    case 'mountPointArg':
      return issuesOf(() => parseMountPointArg(value as string));
    case 'volumeArg':
      return issuesOf(() => parseVolumeArg(value as string));
    case 'sanitizeAcIdentifier':
      return issuesOf(() => sanitizeAcIdentifier(value as string));
    case 'sanitizeAcName':
      return issuesOf(() => sanitizeAcName(value as string));
    case 'hostOsArch': {
      const h = value as { platform: string; arch: string; armVersion?: number; endianness?: 'BE' | 'LE' };
      const info: { armVersion?: number; endianness?: 'BE' | 'LE' } = {};
      if (h.armVersion !== undefined) info.armVersion = h.armVersion;
      if (h.endianness !== undefined) info.endianness = h.endianness;
      const r = hostOsArch(h.platform, h.arch, info);
      return { issues: isValidOsArch(r.os, r.arch) ? [] : [issue('ERR_SCHEMA_OS_ARCH')], value: r };
    }
    case 'podTemplate':
      return { issues: validatePodManifest(value, { ...options, template: true }) };
    case 'lenientImageManifest':
      return issuesOf(() => readManifestLeniently(input.jsonText as string, 'ImageManifest'));
    case 'lenientPodManifest':
      return issuesOf(() => readManifestLeniently(input.jsonText as string, 'PodManifest'));
    default:
      throw new Error(`vector ${v.id}: unknown input type ${String(input.type)}`);
  }
}

const uniq = (xs: string[]) => [...new Set(xs)].sort();

export const SECTIONS = ['types', 'img', 'pod', 'iso'] as const;

for (const section of SECTIONS) {
  describe(`vectors: ${section}`, async () => {
    const vectors = await loadVectors(section);
    it('has vectors', () => expect(vectors.length).toBeGreaterThan(10));
    for (const v of vectors) {
      it(`${v.requirement} ${v.id}: ${v.title}`, () => {
        const { issues, value } = judge(v);
        const errors = uniq(issues.filter((i) => i.severity !== 'warning').map((i) => i.code));
        const warnings = uniq(issues.filter((i) => i.severity === 'warning').map((i) => i.code));
        const e = v.expect as Record<string, unknown> & {
          valid: boolean;
          code?: string;
          codes?: string[];
          warnings?: string[];
        };
        expect(errors, JSON.stringify(issues)).toEqual(e.valid ? [] : uniq(e.codes ?? [e.code as string]));
        expect(warnings, JSON.stringify(issues)).toEqual(uniq(e.warnings ?? []));
        for (const i of issues) {
          expect(i.message.length).toBeGreaterThan(0);
          expect(i.requirement).toMatch(/^[A-Z]+-\d{3}$/);
        }
        if (value instanceof ResourceQuantity) {
          if (e.bytes !== undefined) expect(value.toBytes().toString()).toBe(e.bytes);
          if (e.milli !== undefined) expect(value.toMillis().toString()).toBe(e.milli);
          if (e.format !== undefined) expect(value.format).toBe(e.format);
          if (e.canonical !== undefined) expect(value.toString()).toBe(e.canonical);
          const amount = e.amount as { unscaled: string; exponent: number } | undefined;
          if (amount) expect(value.nano).toBe(BigInt(amount.unscaled) * 10n ** BigInt(amount.exponent + 9));
        }
        if (e.unset) expect(value).toBeNull();
        if (e.output !== undefined) expect(value).toEqual(e.output);
        if (e.problem !== undefined) expect(value).toBe(e.problem);
        if (e.canonical !== undefined && v.input.type === 'uuid') expect(value).toBe(e.canonical);
        if (e.semver !== undefined) expect(value).toEqual(e.semver);
        if (e.volume !== undefined) expect(value).toEqual(e.volume);
        if (e.mountPoint !== undefined) expect(value).toEqual(e.mountPoint);
        if (e.os !== undefined) expect(value).toEqual({ os: e.os, arch: e.arch });
        if (e.instant !== undefined)
          expect(new Date(value as string).toISOString().replace('.000Z', 'Z')).toBe(e.instant);
        if (e.request !== undefined || e.limit !== undefined) {
          const iso = parseIsolatorValue((v.input as { value: { name: string; value: unknown } }).value);
          expect(iso.kind).toBe('resource');
          if (iso.kind === 'resource') {
            if (e.request !== undefined) expect(String(iso.request)).toBe(e.request);
            if (e.limit !== undefined) expect(String(iso.limit)).toBe(e.limit);
          }
        }
        if (Array.isArray(e.lookup)) {
          const list = value as { name: string; value: unknown }[];
          for (const want of e.lookup as Record<string, unknown>[]) {
            const found = list.filter((x) => x.name === want.name).at(-1);
            expect(found).toBeDefined();
            const typed = parseIsolatorValue(found as { name: string; value: unknown });
            if (typed.kind === 'resource') {
              const unit = typed.unit === 'millicores' ? 'Millicores' : 'Bytes';
              expect(String(typed.limit)).toBe(String(want[`limit${unit}`]));
              expect(String(typed.request)).toBe(String(want[`request${unit}`]));
            } else if (typed.kind === 'capabilities-retain-set' || typed.kind === 'capabilities-remove-set') {
              expect(typed.set).toEqual(want.set);
            } else if (typed.kind === 'no-new-privileges') expect(typed.enabled).toBe(want.value);
            else if (typed.kind === 'sysctl') expect(typed.sysctls).toEqual(want.value);
          }
        }
      });
    }
  });
}
