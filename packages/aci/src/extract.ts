import { chmod, lstat, mkdtemp, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AppcError, type ImageManifest, type Issue } from '@appc/schema';
import { MAX_MANIFEST_BYTES, openAci, withFile } from './archive.ts';
import type { AciSource } from './compression.ts';
import { AciError, type AciErrorCode } from './errors.ts';
import { placeEntryName } from './internal/paths.ts';
import { Unpacker } from './internal/unpack.ts';
import { checkManifestBytes, EntryRules } from './validate.ts';

/** Options of {@link extract}. */
export interface ExtractOptions {
  /** Write only the contents of rootfs/ into the target (no `manifest`, no `rootfs/` level). */
  rootfsOnly?: boolean;
  /** Replace an existing non-empty target directory (otherwise `ERR_ACI_OUTPUT_EXISTS`). */
  overwrite?: boolean;
  /** Restore owners (uid/gid) and keep setuid/setgid bits; default: when running as root. */
  preserveOwnership?: boolean;
  /** Restore extended attributes with the `setfattr` program when present (default true). */
  xattrs?: boolean;
  /** Refuse the archive unless its image ID is this one (ACI-011); nothing is left behind when it differs. */
  expectedImageId?: string;
  /** Compute the image ID (default true). false spares the SHA-512 of the whole tar (about a sixth of the CPU an
   * extraction costs) when the caller has no use for the ID; `imageId` is then absent from the result. Ignored
   * when `expectedImageId` is given. */
  imageId?: boolean;
  signal?: AbortSignal;
}

/** What {@link extract} did. */
export interface ExtractResult {
  /** The image ID of the archive (ACI-010); absent when `imageId: false` was asked for. */
  imageId?: string;
  manifest: ImageManifest;
  /** Things that could not be restored and did not make the extraction fail (missing `setfattr`). */
  warnings: string[];
}

/** The error a strict reader throws for the first issue found. */
export function errorFromIssue(issue: Issue, file: string | undefined): AciError {
  return new AciError(`${file ? `${file}: ` : ''}${issue.message}`, {
    code: issue.code as AciErrorCode,
    requirement: issue.requirement,
    pointer: issue.pointer || undefined,
    file: issue.file ?? file,
  });
}

/** Moves a finished temporary directory to `dir`, replacing an empty directory, or a full one when allowed. */
export async function moveIntoPlace(tmp: string, dir: string, overwrite: boolean): Promise<void> {
  const st = await lstat(dir).catch(() => undefined);
  if (!st) {
    await rename(tmp, dir);
    return;
  }
  if (st.isDirectory() && (await readdir(dir)).length === 0) {
    await rmdir(dir);
    await rename(tmp, dir);
    return;
  }
  if (!overwrite)
    throw new AciError(`${dir} exists and is not empty; remove it or ask to overwrite it.`, {
      code: 'ERR_ACI_OUTPUT_EXISTS',
      requirement: 'ACI-012',
      file: dir,
    });
  const old = `${tmp}.old`;
  await rename(dir, old);
  await rename(tmp, dir);
  await rm(old, { recursive: true, force: true });
}

/** A temporary directory beside `dir` (`.NAME.KIND-XXXXXX`), moved into place at the end ({@link moveIntoPlace}).
 * Its name means nothing to the caller, so a failure to make it (a missing or read-only parent) names `dir`. */
export async function tempBeside(dir: string, kind: string): Promise<string> {
  return mkdtemp(join(dirname(dir), `.${basename(dir)}.${kind}-`)).catch((e: unknown) => {
    if (typeof e === 'object' && e !== null && 'path' in e) (e as NodeJS.ErrnoException).path = dir;
    throw e;
  });
}

/** Checks up front that the target may be written. */
export async function checkTarget(dir: string, overwrite: boolean): Promise<void> {
  const st = await lstat(dir).catch(() => undefined);
  if (!st || overwrite) return;
  if (!st.isDirectory() || (await readdir(dir)).length > 0)
    throw new AciError(`${dir} exists and is not an empty directory; remove it or ask to overwrite it.`, {
      code: 'ERR_ACI_OUTPUT_EXISTS',
      requirement: 'ACI-012',
      file: dir,
    });
}

/** Extracts an image archive into `dir`, safely (ACI-012): nothing is written outside it (absolute names, `..`,
 * writes through symlinks, hard links out of the tree are refused), device nodes need root, setuid/setgid are
 * dropped when ownership is not kept. The archive is checked as it is read (ACI-002, ACI-003) and unpacked into
 * a temporary directory beside `dir` that replaces it only when everything succeeded; on any failure nothing is
 * left behind. Restores modes, mtimes, owners (root), symlinks, hard links, fifos, devices (root) and xattrs.
 * @example await extract('app.aci', 'out', { rootfsOnly: true });
 * @throws {@link AciError} `ERR_ACI_PATH_ESCAPE`, `ERR_ACI_DUPLICATE_ENTRY`, `ERR_ACI_DEVICE_UNPRIVILEGED`,
 * `ERR_ACI_OUTPUT_EXISTS`, `ERR_ACI_IMAGE_ID_MISMATCH`, the reading errors of `openAci`, and the manifest's. */
export async function extract(
  file: string,
  dir: string,
  options: ExtractOptions = {},
): Promise<ExtractResult> {
  await checkTarget(dir, options.overwrite ?? false);
  const tmp = await tempBeside(dir, 'extract');
  let unpacker: Unpacker | undefined;
  try {
    unpacker = new Unpacker(tmp, {
      replace: 'refuse',
      ...(options.preserveOwnership !== undefined ? { preserveOwnership: options.preserveOwnership } : {}),
      ...(options.xattrs !== undefined ? { xattrs: options.xattrs } : {}),
    });
    const { imageId, manifest } = await unpackArchive(file, unpacker, {
      rootfsOnly: options.rootfsOnly ?? false,
      imageId: options.imageId !== false || options.expectedImageId !== undefined,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.expectedImageId ? { expectedImageId: options.expectedImageId } : {}),
    });
    if (!options.rootfsOnly) await chmod(tmp, 0o755);
    await unpacker.finish();
    await moveIntoPlace(tmp, dir, options.overwrite ?? false);
    return { ...(imageId !== undefined ? { imageId } : {}), manifest, warnings: unpacker.warnings };
  } catch (e) {
    // the writer thread must have stopped before its directory is removed
    await unpacker?.close();
    await rm(tmp, { recursive: true, force: true });
    if (options.signal?.aborted && !(e instanceof AppcError && e.code === 'ERR_ACI_ABORTED'))
      throw new AciError(`${file}: extraction aborted; nothing was left in ${dir}.`, {
        code: 'ERR_ACI_ABORTED',
        file,
        cause: options.signal.reason,
      });
    throw e;
  }
}

/** An error about one entry (the unpacker's: it names the entry in `file`) gets the archive's name in front of its
 * message, as the archive rules' errors have it. */
function withArchiveName(e: unknown, name: string | undefined): unknown {
  if (name === undefined || !(e instanceof AppcError) || e.message.startsWith(name)) return e;
  return new AciError(`${name}: ${e.message}`, {
    code: e.code as AciErrorCode,
    requirement: e.requirement,
    pointer: e.pointer,
    file: e.file ?? name,
    cause: e.cause,
  });
}

/** Reads a whole archive with the archive rules, hands each acceptable entry to `unpacker` (optionally only
 * what `keep` admits), checks manifest, rootfs and (when given) the expected image ID. */
export async function unpackArchive(
  source: AciSource,
  unpacker: Unpacker,
  options: {
    rootfsOnly: boolean;
    signal?: AbortSignal;
    expectedImageId?: string;
    file?: string;
    keep?: (path: string, type: string) => boolean;
    /** Compute the image ID (default true). */
    imageId?: boolean;
  },
): Promise<{ imageId: string | undefined; manifest: ImageManifest }> {
  const name = options.file ?? (typeof source === 'string' ? source : undefined);
  let firstIssue: Issue | undefined;
  const rules = new EntryRules((i) => {
    firstIssue ??= i;
  });
  const archive = openAci(source, {
    // every chunk is parsed, copied or skipped before the next is asked for
    reuseChunks: true,
    ...(options.imageId === false && options.expectedImageId === undefined ? { imageId: false } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(name !== undefined ? { file: name } : {}),
  });
  let manifest: ImageManifest | undefined;
  const toRel = (path: string): string | undefined => {
    if (!options.rootfsOnly) return path;
    if (path === 'rootfs') return '.';
    return path.startsWith('rootfs/') ? path.slice(7) : undefined;
  };
  const resolveLink = (linkname: string) => {
    const p = placeEntryName(linkname);
    return p.ok ? toRel(p.path) : undefined;
  };
  try {
    for await (const e of archive) {
      const path = rules.check(e);
      if (firstIssue) throw errorFromIssue(firstIssue, name);
      if (path === undefined) continue;
      if (path === 'manifest') {
        const stored = await e.bytes(MAX_MANIFEST_BYTES);
        const r = checkManifestBytes(stored, 'manifest', 'warning');
        const err = r.issues.find((i) => i.severity !== 'warning');
        if (err || !r.manifest) throw errorFromIssue(err ?? (r.issues[0] as Issue), name);
        manifest = r.manifest;
        if (options.rootfsOnly) continue;
        if (options.keep && !options.keep(path, e.header.type)) continue;
        await unpacker.put(
          path,
          e.header,
          async function* () {
            yield stored;
          },
          resolveLink,
        );
        continue;
      }
      const rel = toRel(path);
      if (rel === undefined) continue;
      if (options.keep && !options.keep(path, e.header.type)) continue;
      await unpacker.put(rel, e.header, e.body, resolveLink);
    }
  } catch (e) {
    throw withArchiveName(withFile(e, name), name);
  }
  const missing = rules.missing(name)[0];
  if (missing) throw errorFromIssue(missing, name);
  const imageId = archive.imageId;
  if (options.expectedImageId !== undefined && options.expectedImageId !== imageId)
    throw new AciError(
      `${name ?? 'the archive'} has image ID ${imageId}, not the expected ${options.expectedImageId} (ACI-011); the file is not the image that was asked for — fetch it again.`,
      { code: 'ERR_ACI_IMAGE_ID_MISMATCH', requirement: 'ACI-011', file: name },
    );
  return { imageId, manifest: manifest as ImageManifest };
}
