import { tryParseSemver } from './ac-version.ts';

function comparePre(a: string, b: string): number {
  // SemVer 2.0.0 §11: a version without pre-release ranks above one with it
  if (a === b) return 0;
  if (a === '') return 1;
  if (b === '') return -1;
  const pa = a.split('.');
  const pb = b.split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) {
      const d = Number(x) - Number(y);
      if (d !== 0) return Math.sign(d);
    } else if (nx) return -1;
    else if (ny) return 1;
    else if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

// parsing dominates sorting; version strings repeat, so keep the parsed forms (bounded)
const parsed = new Map<string, ReturnType<typeof tryParseSemver>>();
function parse(v: string | undefined): ReturnType<typeof tryParseSemver> {
  if (v === undefined) return undefined;
  let p = parsed.get(v);
  if (p === undefined && !parsed.has(v)) {
    p = tryParseSemver(v);
    if (parsed.size >= 10_000) parsed.clear();
    parsed.set(v, p);
  }
  return p;
}

/** Orders `version` label values (which image is the newest, ACI-023): SemVer precedence; any SemVer ranks above
 * a value that is not one (`latest`, `dev`, none), which compare equal among themselves. Build metadata is
 * ignored. The store's lookups and the latest copy of a published site both use it.
 * @example ['1.10.0', '1.2.0', 'latest'].sort(compareVersionLabels) // ['latest', '1.2.0', '1.10.0'] */
export function compareVersionLabels(a: string | undefined, b: string | undefined): number {
  const va = parse(a);
  const vb = parse(b);
  if (!va || !vb) return (va ? 1 : 0) - (vb ? 1 : 0);
  return (
    Math.sign(va.major - vb.major) ||
    Math.sign(va.minor - vb.minor) ||
    Math.sign(va.patch - vb.patch) ||
    comparePre(va.preRelease, vb.preRelease)
  );
}
