import { chmod, rm, stat } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { AppcError, type Dependency, type ImageManifest, type Issue, type Label } from '@appc/schema';
import { type AciEntry, MAX_MANIFEST_BYTES, openAci, withFile } from './archive.ts';
import type { AciSource } from './compression.ts';
import { AciError } from './errors.ts';
import { checkTarget, errorFromIssue, moveIntoPlace, tempBeside, unpackArchive } from './extract.ts';
import { cleanPath } from './internal/paths.ts';
import { Unpacker } from './internal/unpack.ts';
import { checkManifestBytes } from './validate.ts';

/** An image a provider found for a dependency. */
export interface ResolvedImage {
  /** The image ID the provider claims (checked against the bytes while rendering, ACI-011/ACI-024). */
  imageId: string;
  manifest: ImageManifest;
  /** Size of the archive file in bytes, when known (checked against a dependency's `size`, ACI-023). */
  sizeBytes?: number;
  /** Opens the archive: a file path or a byte stream (compressed or not). */
  open(): Promise<AciSource>;
}

/** Finds the image a dependency names (ACI-023): by `imageName` and `labels` (every label given must match),
 * and by `imageID` when the dependency gives one. A store, a discovery client or a folder of files can be one.
 * Rejects (with `ERR_ACI_DEPENDENCY_NOT_FOUND`) when there is none. */
export interface ImageProvider {
  resolve(dep: Dependency): Promise<ResolvedImage>;
}

/** Options of {@link render}. */
export interface RenderOptions {
  /** Where dependencies come from; required when the image has any. */
  provider?: ImageProvider;
  /** Write only the rendered rootfs contents (no `manifest`, no `rootfs/` level). */
  rootfsOnly?: boolean;
  /** Replace a non-empty target directory. */
  overwrite?: boolean;
  /** Restore owners; default: when running as root. */
  preserveOwnership?: boolean;
  /** Refuse the top image unless it has this image ID (ACI-011). */
  expectedImageId?: string;
  signal?: AbortSignal;
  /** Most dependency layers accepted (default 256), against dependency graphs that explode. */
  maxLayers?: number;
}

/** What {@link render} did. */
export interface RenderResult {
  /** Image ID of the top image. */
  imageId: string;
  /** Image IDs of the layers in the order they were applied (dependencies depth first, the image last). */
  layers: string[];
  warnings: string[];
}

interface Layer {
  image: ResolvedImage;
  /** Name for messages. */
  name: string;
  /** Whitelists of the ancestors, top image first. */
  ancestors: ImageManifest[];
  top: boolean;
}

function whitelistSet(list: string[] | undefined): Set<string> | undefined {
  if (!list || list.length === 0) return undefined;
  return new Set(list.map((p) => cleanPath(`rootfs/${p}`)));
}

/** Which entries of a layer stay (ACI-022, exact paths as the reference): the whitelist of the highest
 * ancestor that has one filters every entry, directories included; otherwise the image's own whitelist filters
 * its non-directory entries. `rootfs` always stays; only the top image's `manifest` is written. */
function keeper(layer: Layer): (path: string, type: string) => boolean {
  let upper: Set<string> | undefined;
  for (const a of layer.ancestors) {
    upper = whitelistSet(a.pathWhitelist);
    if (upper) break;
  }
  const own = whitelistSet(layer.image.manifest.pathWhitelist);
  return (path, type) => {
    if (path === 'rootfs') return true;
    if (path === 'manifest') return layer.top;
    if (upper) return upper.has(path);
    if (own) return type === 'dir' || own.has(path);
    return true;
  };
}

async function planLayers(
  top: ResolvedImage,
  provider: ImageProvider | undefined,
  max: number,
): Promise<Layer[]> {
  const out: Layer[] = [];
  const visit = async (
    image: ResolvedImage,
    ancestors: ImageManifest[],
    chain: string[],
    names: string[],
    isTop: boolean,
  ): Promise<void> => {
    const deps = image.manifest.dependencies ?? [];
    const here = [...ancestors, image.manifest];
    for (const dep of deps) {
      if (!provider)
        throw new AciError(
          `${image.manifest.name} depends on ${dep.imageName}, and no image provider was given to find it; pass one (for files: createFileImageProvider).`,
          { code: 'ERR_ACI_DEPENDENCY_NOT_FOUND', requirement: 'ACI-023', file: dep.imageName },
        );
      const found = await provider.resolve(dep);
      if (dep.imageID !== undefined && dep.imageID !== found.imageId)
        throw new AciError(
          `dependency ${dep.imageName} of ${image.manifest.name} must have image ID ${dep.imageID}; the provider found ${found.imageId} (ACI-011).`,
          { code: 'ERR_ACI_IMAGE_ID_MISMATCH', requirement: 'ACI-011', file: dep.imageName },
        );
      if (
        dep.size !== undefined &&
        dep.size > 0 &&
        found.sizeBytes !== undefined &&
        found.sizeBytes !== dep.size
      )
        throw new AciError(
          `dependency ${dep.imageName} of ${image.manifest.name} is declared as ${dep.size} bytes but the image found is ${found.sizeBytes} bytes (ACI-023).`,
          { code: 'ERR_ACI_SIZE_MISMATCH', requirement: 'ACI-023', file: dep.imageName },
        );
      if (chain.includes(found.imageId))
        throw new AciError(
          `dependency cycle: ${[...names, dep.imageName].join(' -> ')} comes back to an image already on the path; remove the cycle from the manifests (ACI-023).`,
          { code: 'ERR_ACI_DEPENDENCY_CYCLE', requirement: 'ACI-023', file: dep.imageName },
        );
      await visit(found, here, [...chain, found.imageId], [...names, found.manifest.name], false);
    }
    if (out.length >= max)
      throw new AciError(
        `more than ${max} layers to render; the dependency graph is too large (or hostile).`,
        {
          code: 'ERR_ACI_LIMIT',
          requirement: 'ACI-020',
        },
      );
    out.push({ image, name: image.manifest.name, ancestors, top: isTop });
  };
  await visit(top, [], [top.imageId], [top.manifest.name], true);
  return out;
}

/** Reads manifest and image ID of an archive in one pass. */
async function describeArchive(source: AciSource): Promise<{ manifest: ImageManifest; imageId: string }> {
  // every chunk is parsed or skipped before the next is asked for (bytes() copies)
  const archive = openAci(source, { reuseChunks: true });
  let manifest: ImageManifest | undefined;
  const name = typeof source === 'string' ? source : undefined;
  // an entry's bytes are read outside the archive's own loop: its errors have no file name yet
  const bytesOf = (e: AciEntry) =>
    e.bytes(MAX_MANIFEST_BYTES).catch((err: unknown) => Promise.reject(withFile(err, name)));
  for await (const e of archive) {
    if (e.path !== 'manifest' || manifest) continue;
    const r = checkManifestBytes(await bytesOf(e), 'manifest', 'warning');
    if (!r.manifest) {
      const first = r.issues.find((i) => i.severity !== 'warning') ?? (r.issues[0] as Issue);
      throw errorFromIssue(first, typeof source === 'string' ? source : 'the archive');
    }
    manifest = r.manifest;
  }
  if (!manifest)
    throw new AciError(`${String(source)}: missing manifest (ACI-013).`, {
      code: 'ERR_ACI_MISSING_MANIFEST',
      requirement: 'ACI-013',
      file: typeof source === 'string' ? source : undefined,
    });
  return { manifest, imageId: archive.imageId as string };
}

function labelsMatch(want: Label[] | undefined, have: Label[] | undefined): boolean {
  for (const l of want ?? []) {
    if (!(have ?? []).some((h) => h.name === l.name && h.value === l.value)) return false;
  }
  return true;
}

/** An {@link ImageProvider} over local archive files: each file's manifest and image ID are read once (lazily,
 * one pass per file); a dependency is matched by name, labels and, when given, image ID. Among several matches
 * without an image ID, the last file given wins (list newer versions last). */
export function createFileImageProvider(files: string[]): ImageProvider {
  let index:
    | Promise<{ file: string; manifest: ImageManifest; imageId: string; sizeBytes: number }[]>
    | undefined;
  const load = () => {
    index ??= Promise.all(
      files.map(async (f) => {
        const file = resolvePath(f);
        const [{ manifest, imageId }, st] = await Promise.all([describeArchive(file), stat(file)]);
        return { file, manifest, imageId, sizeBytes: st.size };
      }),
    );
    return index;
  };
  return {
    async resolve(dep: Dependency): Promise<ResolvedImage> {
      const all = await load();
      const candidates = all.filter(
        (c) =>
          c.manifest.name === dep.imageName &&
          labelsMatch(dep.labels, c.manifest.labels) &&
          (dep.imageID === undefined || c.imageId === dep.imageID),
      );
      const pick = candidates[candidates.length - 1];
      if (!pick)
        throw new AciError(
          `no image found for dependency ${dep.imageName}${dep.labels?.length ? ` (${dep.labels.map((l) => `${l.name}=${l.value}`).join(', ')})` : ''}${dep.imageID ? ` with image ID ${dep.imageID}` : ''} among ${files.length} file(s); give its .aci file.`,
          { code: 'ERR_ACI_DEPENDENCY_NOT_FOUND', requirement: 'ACI-023', file: dep.imageName },
        );
      return {
        imageId: pick.imageId,
        manifest: pick.manifest,
        sizeBytes: pick.sizeBytes,
        open: async () => pick.file,
      };
    },
  };
}

/** Renders an image with its dependencies into `dir` (ACI-020..ACI-024): each dependency's rootfs (its own
 * dependencies before it, depth first, in listed order; a shared one once per path), then the image's own;
 * later layers replace earlier ones and an existing symlink is replaced, never followed (ACI-021); pathWhitelist
 * filtering with exact paths as the reference does (ACI-022); every layer's bytes are hashed while applied and
 * must match the ID the provider named (ACI-011, ACI-024); cycles are an error. Works in a temporary directory
 * beside `dir`; nothing is left behind on failure.
 * @example await render('app.aci', 'out', { provider: createFileImageProvider(['base.aci']) });
 * @throws {@link AciError} `ERR_ACI_DEPENDENCY_NOT_FOUND`, `ERR_ACI_DEPENDENCY_CYCLE`, `ERR_ACI_IMAGE_ID_MISMATCH`,
 * `ERR_ACI_SIZE_MISMATCH`, `ERR_ACI_OUTPUT_EXISTS`, and the extraction errors. */
export async function render(
  image: string | ResolvedImage,
  dir: string,
  options: RenderOptions = {},
): Promise<RenderResult> {
  await checkTarget(dir, options.overwrite ?? false);
  let top: ResolvedImage;
  if (typeof image === 'string') {
    const file = resolvePath(image);
    const { manifest, imageId } = await describeArchive(file);
    top = { imageId, manifest, open: async () => file };
  } else top = image;
  const layers = await planLayers(top, options.provider, options.maxLayers ?? 256);
  const tmp = await tempBeside(dir, 'render');
  let unpacker: Unpacker | undefined;
  try {
    unpacker = new Unpacker(tmp, {
      replace: 'replace',
      ...(options.preserveOwnership !== undefined ? { preserveOwnership: options.preserveOwnership } : {}),
    });
    const applied: string[] = [];
    let topId = '';
    for (const layer of layers) {
      options.signal?.throwIfAborted();
      const source = await layer.image.open();
      const expected = layer.top
        ? (options.expectedImageId ?? (top.imageId || undefined))
        : layer.image.imageId;
      const r = await unpackArchive(source, unpacker, {
        rootfsOnly: options.rootfsOnly ?? false,
        keep: keeper(layer),
        ...(expected ? { expectedImageId: expected } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(typeof source === 'string' ? {} : { file: layer.name }),
      });
      // always computed here (unpackArchive hashes unless told not to)
      const id = r.imageId as string;
      if (layer.top) topId = id;
      applied.push(id);
    }
    // mkdtemp made it 0700; a rendered image is a directory like any extracted one (rootfs-only: rootfs's mode)
    if (!options.rootfsOnly) await chmod(tmp, 0o755);
    await unpacker.finish();
    await moveIntoPlace(tmp, dir, options.overwrite ?? false);
    return { imageId: topId, layers: applied, warnings: unpacker.warnings };
  } catch (e) {
    // the writer thread must have stopped before its directory is removed
    await unpacker?.close();
    await rm(tmp, { recursive: true, force: true });
    if (e instanceof AppcError) throw e;
    throw e;
  }
}
