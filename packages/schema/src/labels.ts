import { endianness } from 'node:os';
import { acIdentifierProblem } from './ac-identifier.ts';
import { type Ctx, isObject, needObject, ptr, show, typeName } from './internal/context.ts';

/** A label (TYPES-009): `name` is an AC Identifier other than `name`; `value` a string. */
export interface Label {
  name: string;
  value: string;
}

/** Operating systems and their architectures known to the reference (`ValidOSArch`, TYPES-010). Read-only;
 * add pairs with {@link registerOsArch} or the `osArch` validation option. */
export const OS_ARCH: Readonly<Record<string, readonly string[]>> = Object.freeze({
  linux: Object.freeze([
    'amd64',
    'i386',
    'aarch64',
    'aarch64_be',
    'armv6l',
    'armv7l',
    'armv7b',
    'ppc64',
    'ppc64le',
    's390x',
  ]),
  freebsd: Object.freeze(['amd64', 'i386', 'arm']),
  darwin: Object.freeze(['x86_64', 'i386']),
});

const registered = new Map<string, Set<string>>();

/** Adds os/arch pairs to the table every validator of this process uses (TYPES-010 lets implementations extend
 * it). For a one-off check, pass `{ osArch: { os: [arch] } }` to a validator instead. */
export function registerOsArch(os: string, arches: readonly string[]): void {
  const set = registered.get(os) ?? new Set<string>();
  for (const a of arches) set.add(a);
  registered.set(os, set);
}

/** True when `os` is a known OS and `arch` (when given) a known architecture for it (TYPES-010). */
export function isValidOsArch(
  os: string,
  arch?: string,
  extra?: Readonly<Record<string, readonly string[]>>,
): boolean {
  // own properties only: `constructor` or `__proto__` are no operating systems
  const known = [
    Object.hasOwn(OS_ARCH, os) ? OS_ARCH[os] : undefined,
    registered.has(os) ? [...(registered.get(os) as Set<string>)] : undefined,
    extra !== undefined && Object.hasOwn(extra, os) ? extra[os] : undefined,
  ];
  if (known.every((k) => k === undefined)) return false;
  if (arch === undefined) return true;
  return known.some((k) => Array.isArray(k) && k.includes(arch));
}

/** The appc os and arch label values of this machine (TYPES-011, ours): Node's `x64` is `amd64` (`x86_64` on
 * darwin), `ia32` `i386`, `arm64` `aarch64`, `arm` `armv6l` or `armv7l` by the ARM version Node was built for,
 * `ppc64` `ppc64` or `ppc64le` by endianness, `s390x` unchanged. Other names pass through unchanged (and then
 * fail {@link isValidOsArch}). */
export function hostOsArch(
  platform: string = process.platform,
  arch: string = process.arch,
  info: { armVersion?: number; endianness?: 'BE' | 'LE' } = {},
): { os: string; arch: string } {
  let out = arch;
  switch (arch) {
    case 'x64':
      out = platform === 'darwin' ? 'x86_64' : 'amd64';
      break;
    case 'ia32':
      out = 'i386';
      break;
    case 'arm64':
      out = 'aarch64';
      break;
    case 'arm': {
      if (platform === 'freebsd') out = 'arm';
      else {
        const v =
          info.armVersion ?? Number((process.config.variables as { arm_version?: string }).arm_version ?? 6);
        out = v >= 7 ? 'armv7l' : 'armv6l';
      }
      break;
    }
    case 'ppc64':
      out = (info.endianness ?? endianness()) === 'LE' ? 'ppc64le' : 'ppc64';
      break;
  }
  return { os: platform, arch: out };
}

/** Reads a labels list: names, the reserved `name`, uniqueness and the os/arch pair. */
export function readLabels(ctx: Ctx, v: unknown, pointer: string): Label[] {
  if (!Array.isArray(v)) {
    ctx.error(
      pointer,
      'ERR_SCHEMA_TYPE',
      'TYPES-009',
      `labels must be a list of {name, value}, not ${typeName(v)}.`,
    );
    return [];
  }
  const out: Label[] = [];
  const seen = new Set<string>();
  v.forEach((item, i) => {
    const p = ptr(pointer, i);
    if (!needObject(ctx, item, p, 'TYPES-009', 'a label')) return;
    const name = item.name;
    let ok = true;
    if (typeof name !== 'string') {
      ctx.error(
        ptr(p, 'name'),
        name === undefined ? 'ERR_SCHEMA_REQUIRED' : 'ERR_SCHEMA_TYPE',
        'TYPES-009',
        'a label needs a string "name".',
      );
      ok = false;
    } else if (acIdentifierProblem(name) !== undefined) {
      ctx.error(
        ptr(p, 'name'),
        'ERR_SCHEMA_AC_IDENTIFIER',
        'TYPES-001',
        `label name ${show(name)} is not an AC Identifier; use lower-case letters, digits and single separators.`,
      );
      ok = false;
    } else if (name === 'name') {
      ctx.error(
        ptr(p, 'name'),
        'ERR_SCHEMA_LABEL_NAME_RESERVED',
        'TYPES-009',
        'a label may not be called "name" (it would clash with the image name); remove it.',
      );
      ok = false;
    } else if (seen.has(name)) {
      ctx.error(
        ptr(p, 'name'),
        'ERR_SCHEMA_DUPLICATE_NAME',
        'TYPES-009',
        `duplicate label "${name}"; keep one.`,
      );
      ok = false;
    }
    const value = item.value;
    // TYPES-009: a label has two members; the reference reads a missing value as "", the spec requires it.
    if (value === undefined || value === null) {
      ctx.error(
        ptr(p, 'value'),
        'ERR_SCHEMA_REQUIRED',
        'TYPES-009',
        `a label needs a string "value" (write "" for an empty one).`,
      );
      ok = false;
    } else if (typeof value !== 'string') {
      ctx.error(
        ptr(p, 'value'),
        'ERR_SCHEMA_TYPE',
        'TYPES-009',
        `label value must be a string, not ${typeName(value)}.`,
      );
      ok = false;
    }
    if (typeof name === 'string') seen.add(name);
    if (ok) out.push({ name: name as string, value: value as string });
  });
  const os = out.find((l) => l.name === 'os');
  const arch = out.find((l) => l.name === 'arch');
  if (os) {
    const osIndex = v.findIndex((l) => isObject(l) && l.name === 'os');
    const archIndex = v.findIndex((l) => isObject(l) && l.name === 'arch');
    if (!isValidOsArch(os.value, undefined, ctx.options.osArch)) {
      ctx.error(
        ptr(ptr(pointer, osIndex), 'value'),
        'ERR_SCHEMA_OS_ARCH',
        'TYPES-010',
        `bad os ${show(os.value)}; known: ${knownOs(ctx)}.`,
      );
    } else if (arch && !isValidOsArch(os.value, arch.value, ctx.options.osArch)) {
      ctx.error(
        ptr(ptr(pointer, archIndex), 'value'),
        'ERR_SCHEMA_OS_ARCH',
        'TYPES-010',
        `bad arch ${show(arch.value)} for ${os.value}; known: ${knownArch(ctx, os.value)}.`,
      );
    }
  }
  return out;
}

function knownOs(ctx: Ctx): string {
  return [
    ...new Set([...Object.keys(OS_ARCH), ...registered.keys(), ...Object.keys(ctx.options.osArch ?? {})]),
  ].join(', ');
}

function knownArch(ctx: Ctx, os: string): string {
  return [
    ...new Set([...(OS_ARCH[os] ?? []), ...(registered.get(os) ?? []), ...(ctx.options.osArch?.[os] ?? [])]),
  ].join(', ');
}
