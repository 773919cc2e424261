import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AppcError,
  type ImageManifest,
  type Issue,
  parseImageManifest,
  parseJson,
  SchemaError,
  SPEC_VERSION,
  tryParseSemver,
  validateImageManifest,
} from '@appc/schema';
import { type AciEntry, MAX_MANIFEST_BYTES, openAci } from './archive.ts';
import type { AciSource, Compression } from './compression.ts';
import { aciIssue, issueFromError } from './errors.ts';
import { displayName } from './internal/names.ts';
import { describeRefusal, placeEntryName } from './internal/paths.ts';
import type { TarEntryType } from './internal/tar-reader.ts';

/** Options of {@link validateArchive}. */
export interface ValidateArchiveOptions {
  signal?: AbortSignal;
  /** Name used in issues when the source is a byte stream. */
  file?: string;
  /** Issues listed at most (default 1000); past that one `ERR_ACI_LIMIT` issue says how many were left out. */
  maxIssues?: number;
}

/** What {@link validateArchive} found. */
export interface ArchiveValidation {
  /** Every problem (errors and warnings); the archive is valid when none has `severity` other than `warning`. */
  issues: Issue[];
  /** Image ID of the tar bytes (ACI-010), present when the whole archive could be read. */
  imageId?: string;
  /** The parsed manifest, when it is valid. */
  manifest?: ImageManifest;
  compression?: Compression;
}

/** Collects issues up to a limit. */
class IssueList {
  readonly issues: Issue[] = [];
  private dropped = 0;
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  add(issue: Issue): void {
    if (this.issues.length < this.max) this.issues.push(issue);
    else this.dropped++;
  }
  addAll(list: Issue[]): void {
    for (const i of list) this.add(i);
  }
  finish(): Issue[] {
    if (this.dropped > 0)
      this.issues.push(
        aciIssue(
          'ERR_ACI_LIMIT',
          'ACI-002',
          `${this.dropped} more problems were found and not listed; fix the ones above first.`,
        ),
      );
    return this.issues;
  }
}

/** True when the version is older than the spec version we implement. */
function isOld(version: string): boolean {
  const v = tryParseSemver(version);
  const cur = tryParseSemver(SPEC_VERSION);
  if (!v || !cur) return false;
  const d = v.major - cur.major || v.minor - cur.minor || v.patch - cur.patch;
  if (d !== 0) return d < 0;
  return v.preRelease !== '' && cur.preRelease === '';
}

/** Checks manifest bytes: JSON (IMG-019), the image manifest rules (ACI-004, IMG-*), and an old acVersion
 * (a warning, or an error when `oldVersion` is `error`). */
export function checkManifestBytes(
  raw: Uint8Array,
  file: string,
  oldVersion: 'warning' | 'error',
): { issues: Issue[]; manifest?: ImageManifest } {
  let value: unknown;
  try {
    value = parseJson(raw, { file });
  } catch (e) {
    if (e instanceof SchemaError) return { issues: e.issues.map((i) => ({ ...i, file })) };
    throw e;
  }
  const issues = validateImageManifest(value, { file });
  if (issues.some((i) => i.severity !== 'warning')) return { issues };
  const manifest = parseImageManifest(value, { file });
  if (isOld(manifest.acVersion)) {
    const issue = aciIssue(
      oldVersion === 'error' ? 'ERR_ACI_OLD_VERSION' : 'WARN_ACI_OLD_VERSION',
      'ACI-016',
      `acVersion "${manifest.acVersion}" is older than ${SPEC_VERSION}; set "acVersion": "${SPEC_VERSION}" after checking the manifest against the current spec.`,
      file,
      '/acVersion',
    );
    if (oldVersion === 'warning') issue.severity = 'warning';
    issues.push(issue);
  }
  return { issues, manifest };
}

/** The 53-bit key of two 32-bit hash states. */
function keyOf(h1: number, h2: number): number {
  return (h1 >>> 0) * 0x200000 + (h2 >>> 11);
}

/** What the tar types an image may not hold are, for the message that refuses them. */
const TYPE_HINTS: Record<string, string> = {
  M: ' (the continuation of a file from the previous volume of a GNU multi-volume archive; an image is one volume)',
  N: ' (old GNU long names, given by a script to run)',
};

/** A name as messages show it: at most 200 characters (hostile names run to 64 KiB). */
function shown(name: string): string {
  const text = displayName(name);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** Directories implied by deeper names without an entry of their own that {@link EntryRules} keeps track of;
 * past this many the archive is refused (`ERR_ACI_LIMIT`): a real image lists its directories, and hostile names
 * thousands of levels deep must not make the rules hold a key for every level of every name. */
export const MAX_IMPLIED_DIRS = 1_000_000;

/** Characters of entry names {@link EntryRules} holds (every cleaned name is kept to find duplicates); past this
 * the archive is refused (`ERR_ACI_LIMIT`). A real image's names add up to tens of MiB at most; 40,000 GNU long
 * names of 60 KB (a 14 MB gzip file) had made validation hold 2.5 GB for minutes. */
export const MAX_NAME_CHARS = 256 * 1024 * 1024;

/** Applies the per-entry archive rules (ACI-002, ACI-003, ACI-012, ACI-015) to entries one by one. */
export class EntryRules {
  /** Cleaned names seen, with their types. */
  readonly seen = new Map<string, TarEntryType>();
  /** Every accepted path by its key (see {@link EntryRules.hashPrefixes}), plus `implied` for the directories
   * that deeper names imply (`rootfs/a` of an entry `rootfs/a/b` that came first). Every ancestor of a path held
   * here is held too, as a directory or implied one: the ancestors of a new entry are looked up from its parent
   * upwards, only up to the first one known. */
  private readonly keys = new Map<number, TarEntryType | 'implied'>();
  private implied = 0;
  private impliedFull = false;
  /** Characters of the names in {@link EntryRules.seen}; once past {@link MAX_NAME_CHARS} nothing more is held. */
  private nameChars = 0;
  private namesFull = false;
  /** Hash state at the end of each ancestor of the path last hashed, and where its text ends. */
  private h1s = new Int32Array(64);
  private h2s = new Int32Array(64);
  private ends = new Int32Array(64);
  private depth = 0;
  hasManifest = false;
  hasRootfs = false;
  private readonly report: (issue: Issue) => void;
  constructor(report: (issue: Issue) => void) {
    this.report = report;
  }

  /** Hashes a cleaned path in one pass, keeping the state at the end of each ancestor (`rootfs`, `rootfs/a` of
   * `rootfs/a/b`); returns the key of the whole path. Keys are 53-bit hashes of the text: the key of every
   * ancestor of a name thousands of levels deep costs one pass over it, not a hash of each ancestor's own text. */
  private hashPrefixes(path: string): number {
    let h1 = 0x811c9dc5;
    let h2 = 0x2545f491;
    let d = 0;
    for (let i = 0; i < path.length; i++) {
      const c = path.charCodeAt(i);
      if (c === 0x2f) {
        if (d === this.ends.length) {
          const grow = (a: Int32Array) => {
            const b = new Int32Array(a.length * 2);
            b.set(a);
            return b;
          };
          this.h1s = grow(this.h1s);
          this.h2s = grow(this.h2s);
          this.ends = grow(this.ends);
        }
        this.h1s[d] = h1;
        this.h2s[d] = h2;
        this.ends[d] = i;
        d++;
      }
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
    this.depth = d;
    return keyOf(h1, h2);
  }

  /** Checks one entry; returns its cleaned path when it is acceptable, undefined otherwise. */
  check(e: Pick<AciEntry, 'header'>): string | undefined {
    const h = e.header;
    const file = shown(h.name);
    const place = placeEntryName(h.name);
    if (!place.ok) {
      this.report(
        aciIssue(
          'ERR_ACI_PATH_ESCAPE',
          'ACI-012',
          `entry "${shown(h.name)}" ${describeRefusal(place.reason)}; every name must stay inside the archive (rootfs/...).`,
          file,
        ),
      );
      return undefined;
    }
    const path = place.path;
    if (path === '.') return undefined;
    if (this.namesFull) return undefined;
    if (this.nameChars + path.length > MAX_NAME_CHARS) {
      this.namesFull = true; // reported once; nothing more is tracked
      this.report(
        aciIssue(
          'ERR_ACI_LIMIT',
          'ACI-015',
          `the entry names up to "${shown(path)}" add up to more than ${MAX_NAME_CHARS} characters; the archive is damaged or hostile.`,
          file,
        ),
      );
      return undefined;
    }
    if (this.seen.has(path)) {
      this.report(
        aciIssue(
          'ERR_ACI_DUPLICATE_ENTRY',
          'ACI-003',
          `"${shown(path)}" appears more than once in the archive; keep one entry per path.`,
          file,
        ),
      );
      return undefined;
    }
    this.seen.set(path, h.type);
    this.nameChars += path.length;
    if (h.type === 'unknown') {
      this.report(
        aciIssue(
          'ERR_ACI_UNSUPPORTED_ENTRY',
          'ACI-015',
          `entry "${shown(h.name)}" has tar type "${h.typeflag}"${TYPE_HINTS[h.typeflag] ?? ''}, which an image may not hold (files, directories, links, devices and fifos only).`,
          file,
        ),
      );
    }
    const key = this.hashPrefixes(path);
    if (path === 'manifest') {
      this.hasManifest = true;
      if (h.type !== 'file') {
        this.report(
          aciIssue(
            'ERR_ACI_MANIFEST_NOT_FILE',
            'ACI-002',
            `"manifest" is a ${h.type}, not a regular file; store the image manifest as a regular file.`,
            file,
          ),
        );
        return undefined;
      }
      this.keys.set(key, 'file');
      return path;
    }
    if (path === 'rootfs') {
      this.hasRootfs = true;
      if (h.type !== 'dir') {
        this.report(
          aciIssue(
            'ERR_ACI_ROOTFS_NOT_DIR',
            'ACI-002',
            `"rootfs" is a ${h.type}, not a directory; the image's files go under a rootfs/ directory.`,
            file,
          ),
        );
        return undefined;
      }
      this.keys.set(key, 'dir');
      return path;
    }
    if (!path.startsWith('rootfs/')) {
      this.report(
        aciIssue(
          'ERR_ACI_EXTRA_TOP_LEVEL',
          'ACI-002',
          `"${shown(path)}" is outside rootfs/; an image holds only "manifest" and "rootfs" at the top.`,
          file,
        ),
      );
      return undefined;
    }
    if (this.keys.get(key) === 'implied' && h.type !== 'dir') {
      // entries under it came first: extraction made it a directory (GNU tar fails on such an archive as well)
      this.report(
        aciIssue(
          'ERR_ACI_PATH_CONFLICT',
          'ACI-012',
          `"${shown(path)}" is a ${h.type}, but earlier entries lie under it, which makes it a directory; keep one or the other.`,
          file,
        ),
      );
      return undefined;
    }
    // an ancestor laid down earlier as something other than a directory would be written through; looked up from
    // the parent upwards, up to the first directory known (whose own ancestors were checked when it came)
    // (once the implied directories passed their limit the archive is refused: names are no longer followed up)
    let known = -1;
    for (let i = this.impliedFull ? -1 : this.depth - 1; i >= 0; i--) {
      const t = this.keys.get(keyOf(this.h1s[i] as number, this.h2s[i] as number));
      if (t === undefined) continue;
      if (t === 'dir' || t === 'implied') {
        known = i;
        break;
      }
      const p = path.slice(0, this.ends[i]);
      if (this.seen.get(p) !== t) continue; // another path with the same key
      this.report(
        aciIssue(
          t === 'symlink' ? 'ERR_ACI_PATH_ESCAPE' : 'ERR_ACI_PATH_CONFLICT',
          'ACI-012',
          t === 'symlink'
            ? `"${shown(path)}" lies under "${shown(p)}", which an earlier entry made a symlink; extraction never writes through a symlink.`
            : `"${shown(path)}" lies under "${shown(p)}", which an earlier entry made a ${t}, not a directory.`,
          file,
        ),
      );
      return undefined;
    }
    if (h.type === 'hardlink') {
      const target = placeEntryName(h.linkname);
      if (!target.ok || !target.path.startsWith('rootfs/')) {
        this.report(
          aciIssue(
            'ERR_ACI_PATH_ESCAPE',
            'ACI-012',
            `hard link "${shown(h.name)}" points to "${shown(h.linkname)}", outside rootfs/; a hard link must name an earlier entry of the image.`,
            file,
          ),
        );
        return undefined;
      }
      const t = this.seen.get(target.path);
      if (t === undefined || t === 'dir' || target.path === path) {
        this.report(
          aciIssue(
            'ERR_ACI_BAD_HARDLINK',
            'ACI-005',
            t === 'dir'
              ? `hard link "${shown(h.name)}" points to the directory "${shown(h.linkname)}"; directories cannot be hard-linked.`
              : `hard link "${shown(h.name)}" points to "${shown(h.linkname)}", which no earlier entry holds; the target must come first.`,
            file,
          ),
        );
        return undefined;
      }
    }
    this.keys.set(key, h.type);
    // the ancestors below the first one known are implied directories from now on
    for (let i = this.depth - 1; i > known && !this.impliedFull; i--) {
      if (this.implied >= MAX_IMPLIED_DIRS) {
        this.impliedFull = true; // reported once; nothing more is tracked
        this.report(
          aciIssue(
            'ERR_ACI_LIMIT',
            'ACI-015',
            `more than ${MAX_IMPLIED_DIRS} directories (here "${shown(path.slice(0, this.ends[i]))}") have no entry of their own; the archive is damaged or hostile.`,
            file,
          ),
        );
        break;
      }
      this.keys.set(keyOf(this.h1s[i] as number, this.h2s[i] as number), 'implied');
      this.implied++;
    }
    return path;
  }

  /** Issues for what was never seen (ACI-002). */
  missing(file?: string): Issue[] {
    const out: Issue[] = [];
    if (!this.hasManifest)
      out.push(
        aciIssue(
          'ERR_ACI_MISSING_MANIFEST',
          'ACI-002',
          'the archive has no "manifest" entry; add the image manifest as the file "manifest" at the top.',
          file,
        ),
      );
    if (!this.hasRootfs)
      out.push(
        aciIssue(
          'ERR_ACI_MISSING_ROOTFS',
          'ACI-002',
          'the archive has no "rootfs" directory entry (entries under rootfs/ alone do not count); add it.',
          file,
        ),
      );
    return out;
  }
}

/** Validates an image archive in one pass (ACI-002..ACI-004, ACI-012, ACI-015) and computes its image ID in the
 * same pass (ACI-010). Reports every problem; never throws on bad input (I/O errors such as a missing file
 * still throw).
 * @example
 * const { issues, imageId } = await validateArchive('app.aci');
 * if (issues.some((i) => i.severity !== 'warning')) console.error(issues); */
export async function validateArchive(
  file: AciSource,
  options: ValidateArchiveOptions = {},
): Promise<ArchiveValidation> {
  const name = options.file ?? (typeof file === 'string' ? file : undefined);
  const list = new IssueList(options.maxIssues ?? 1000);
  const rules = new EntryRules((i) => list.add(i));
  const archive = openAci(file, {
    // every chunk is parsed, copied or skipped before the next is asked for
    reuseChunks: true,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(name !== undefined ? { file: name } : {}),
  });
  const result: ArchiveValidation = { issues: list.issues };
  let manifestChecked = false;
  try {
    for await (const e of archive) {
      const path = rules.check(e);
      if (path === 'manifest' && !manifestChecked) {
        manifestChecked = true;
        try {
          const raw = await e.bytes(MAX_MANIFEST_BYTES);
          const r = checkManifestBytes(raw, 'manifest', 'warning');
          list.addAll(r.issues);
          if (r.manifest) result.manifest = r.manifest;
        } catch (err) {
          if (err instanceof AppcError && err.code === 'ERR_ACI_LIMIT')
            list.add(issueFromError(err, 'ACI-004'));
          else throw err;
        }
      }
    }
    list.addAll(rules.missing(name));
    if (archive.imageId !== undefined) result.imageId = archive.imageId;
  } catch (err) {
    if (!(err instanceof AppcError) || err.code === 'ERR_ACI_ABORTED') throw err;
    list.add(issueFromError(err, 'ACI-015'));
  }
  if (archive.compression) result.compression = archive.compression;
  result.issues = list.finish();
  return result;
}

/** Options of {@link validateLayout}. */
export interface ValidateLayoutOptions {
  /** An acVersion older than the spec's: an error (default, as the reference's layout check) or a warning
   * (what `build` uses, ACI-014). */
  oldVersion?: 'warning' | 'error';
}

/** Validates an image layout directory (ACI-009): exactly the regular file `manifest` and the real directory
 * `rootfs` at the top (no symlinks followed), and a valid manifest (ACI-004). Reports every problem; throws
 * only on I/O errors other than missing entries. */
export async function validateLayout(
  dir: string,
  options: ValidateLayoutOptions = {},
): Promise<{ issues: Issue[]; manifest?: ImageManifest }> {
  const issues: Issue[] = [];
  const st = await lstat(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return undefined;
    throw e;
  });
  if (!st?.isDirectory()) {
    issues.push(
      aciIssue(
        'ERR_ACI_NOT_LAYOUT',
        'ACI-009',
        st ? `${dir} is not a directory; an image layout is a directory.` : `${dir} does not exist.`,
        dir,
      ),
    );
    return { issues };
  }
  const names = await readdir(dir);
  for (const n of names.sort()) {
    if (n !== 'manifest' && n !== 'rootfs')
      issues.push(
        aciIssue(
          'ERR_ACI_EXTRA_TOP_LEVEL',
          'ACI-009',
          `"${n}" is not allowed at the top of a layout; only "manifest" and "rootfs" may be there.`,
          n,
        ),
      );
  }
  let manifest: ImageManifest | undefined;
  if (!names.includes('manifest')) {
    issues.push(
      aciIssue(
        'ERR_ACI_MISSING_MANIFEST',
        'ACI-009',
        'the layout has no "manifest" file; write the image manifest there.',
        'manifest',
      ),
    );
  } else {
    const m = await lstat(join(dir, 'manifest'));
    if (!m.isFile()) {
      issues.push(
        aciIssue(
          'ERR_ACI_MANIFEST_NOT_FILE',
          'ACI-009',
          `"manifest" is not a regular file${m.isSymbolicLink() ? ' (it is a symlink, which is not followed)' : ''}; write the manifest as a regular file.`,
          'manifest',
        ),
      );
    } else if (m.size > MAX_MANIFEST_BYTES) {
      issues.push(
        aciIssue(
          'ERR_ACI_LIMIT',
          'ACI-004',
          `"manifest" is ${m.size} bytes, more than ${MAX_MANIFEST_BYTES}.`,
          'manifest',
        ),
      );
    } else {
      const r = checkManifestBytes(
        await readFile(join(dir, 'manifest')),
        'manifest',
        options.oldVersion ?? 'error',
      );
      issues.push(...r.issues);
      manifest = r.manifest;
    }
  }
  if (!names.includes('rootfs')) {
    issues.push(
      aciIssue(
        'ERR_ACI_MISSING_ROOTFS',
        'ACI-009',
        'the layout has no "rootfs" directory; create it.',
        'rootfs',
      ),
    );
  } else {
    const r = await lstat(join(dir, 'rootfs'));
    if (!r.isDirectory())
      issues.push(
        aciIssue(
          'ERR_ACI_ROOTFS_NOT_DIR',
          'ACI-009',
          `"rootfs" is not a real directory${r.isSymbolicLink() ? ' (it is a symlink, which is not followed)' : ''}; make it a directory.`,
          'rootfs',
        ),
      );
  }
  const out: { issues: Issue[]; manifest?: ImageManifest } = { issues };
  if (manifest && !issues.some((i) => i.severity !== 'warning')) out.manifest = manifest;
  return out;
}
