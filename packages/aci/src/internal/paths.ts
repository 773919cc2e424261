/** Cleans a slash-separated path the way Go's `path.Clean` does: no empty, `.` or inner `..` elements;
 * `''` becomes `.`; a rooted path stays rooted; leading `..` of a relative path are kept. */
export function cleanPath(p: string): string {
  if (isClean(p)) return p;
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const joined = out.join('/');
  if (rooted) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

/** True when a relative name is already clean: not empty, no empty, `.` or `..` element, no slash at either end.
 * Most names are; for them cleaning is a scan instead of a split and a join (names run to 64 KiB). */
function isClean(p: string): boolean {
  let start = 0;
  const n = p.length;
  for (let i = 0; i <= n; i++) {
    if (i < n && p.charCodeAt(i) !== 0x2f) continue;
    const len = i - start;
    if (len === 0) return false;
    if (p.charCodeAt(start) === 0x2e && (len === 1 || (len === 2 && p.charCodeAt(start + 1) === 0x2e)))
      return false;
    start = i + 1;
  }
  return true;
}

/** Where an archive entry name puts it, relative to the archive root, or why it is not allowed (ACI-012). */
export type NamePlace =
  | { ok: true; path: string }
  | { ok: false; reason: 'absolute' | 'climbs' | 'empty' | 'leaves-rootfs' | 'nul' };

/** Cleans an entry name and refuses those that are absolute, climb above the archive root, contain NUL, or
 * start inside `rootfs/` and climb out of it (`rootfs/../x`). Inner `..` that stay inside are cleaned away
 * (`rootfs/a/../b` is `rootfs/b`), as the reference does. */
export function placeEntryName(name: string): NamePlace {
  if (name === '') return { ok: false, reason: 'empty' };
  if (name.includes('\0')) return { ok: false, reason: 'nul' };
  if (name.startsWith('/')) return { ok: false, reason: 'absolute' };
  if (isClean(name)) return { ok: true, path: name };
  const parts = name.split('/');
  let depth = 0;
  let inRootfs = false;
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      depth--;
      if (depth < 0) return { ok: false, reason: 'climbs' };
      if (inRootfs && depth < 1) return { ok: false, reason: 'leaves-rootfs' };
      continue;
    }
    if (depth === 0 && part === 'rootfs') inRootfs = true;
    depth++;
  }
  return { ok: true, path: cleanPath(name) };
}

/** Parent of a cleaned relative path (`rootfs/a/b` -> `rootfs/a`; `rootfs` -> `.`). */
export function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '.' : p.slice(0, i);
}

/** A human phrase for a refused name. */
export function describeRefusal(reason: Exclude<NamePlace, { ok: true }>['reason']): string {
  switch (reason) {
    case 'absolute':
      return 'is an absolute path';
    case 'climbs':
      return 'climbs above the archive root with ".."';
    case 'leaves-rootfs':
      return 'climbs out of rootfs/ with ".."';
    case 'empty':
      return 'is empty';
    case 'nul':
      return 'contains a NUL byte';
  }
}
