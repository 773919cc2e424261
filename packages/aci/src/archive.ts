import { createHash } from 'node:crypto';
import { AppcError, type ImageManifest, parseImageManifest, parseJson } from '@appc/schema';
import { type AciSource, type Compression, hashThrough, openDecompressed } from './compression.ts';
import { AciError } from './errors.ts';
import { cleanPath } from './internal/paths.ts';
import { readTar, type TarEntry, type TarHeader, type TarReaderLimits } from './internal/tar-reader.ts';

export type { TarEntryType, TarHeader } from './internal/tar-reader.ts';

/** Largest manifest read (bytes); larger ones are refused with `ERR_ACI_LIMIT`. */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

/** One entry of an archive: its tar header, its cleaned name, and its data. */
export interface AciEntry {
  header: TarHeader;
  /** The entry name cleaned as the reference does (`./rootfs/a/` is `rootfs/a`); not checked for escapes. */
  path: string;
  /** The data as chunks; must be read before the next entry is asked for (otherwise it is skipped). */
  body(): AsyncGenerator<Uint8Array>;
  /** The whole data, refusing more than `maxBytes` (`ERR_ACI_LIMIT`). */
  bytes(maxBytes: number): Promise<Buffer>;
}

/** Options of {@link openAci}. */
export interface OpenAciOptions extends TarReaderLimits {
  signal?: AbortSignal;
  /** Name used in messages when the source is not a file path. */
  file?: string;
  /** Reuse the memory of decompressed chunks (see `DecompressOptions.reuseChunks`): then the chunks an entry's
   * `body()` yields are valid only until the next one is asked for; copy what must be kept (`bytes()` does).
   * Default false. */
  reuseChunks?: boolean;
  /** Compute the image ID while reading (default true). With false `imageId` stays undefined and the SHA-512 of
   * the tar, the largest share of the CPU a read of an indexed archive costs, is spared. */
  imageId?: boolean;
}

/** Adds the archive's name to an error of this package that lacks one. */
export function withFile(e: unknown, file: string | undefined): unknown {
  if (file === undefined || !(e instanceof AppcError) || e.file !== undefined) return e;
  return new AciError(`${file}: ${e.message}`, {
    code: e.code as AciError['code'],
    requirement: e.requirement,
    pointer: e.pointer,
    file,
    cause: e.cause,
  });
}

/** An archive opened for reading: iterate it for entries; after a complete iteration `imageId` holds the image
 * ID of the bytes read (ACI-010) and `compression` what the content said it was (ACI-006). */
export class AciArchive implements AsyncIterable<AciEntry> {
  /** Set once the first bytes were read. */
  compression: Compression | undefined;
  /** Set once every byte was read (unless `imageId: false` was asked for). */
  imageId: string | undefined;
  /** Uncompressed bytes read so far. */
  tarBytes = 0;
  private readonly source: AciSource;
  private readonly options: OpenAciOptions;
  private used = false;

  constructor(source: AciSource, options: OpenAciOptions = {}) {
    this.source = source;
    this.options = options;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<AciEntry> {
    if (this.used) throw new Error('an AciArchive can be iterated once; open the archive again');
    this.used = true;
    const file = this.options.file ?? (typeof this.source === 'string' ? this.source : undefined);
    const signal = this.options.signal;
    try {
      signal?.throwIfAborted();
      const { compression, stream } = await openDecompressed(this.source, {
        ...(signal ? { signal } : {}),
        ...(file !== undefined ? { file } : {}),
        ...(this.options.reuseChunks ? { reuseChunks: true } : {}),
      });
      this.compression = compression;
      const hash = this.options.imageId === false ? undefined : createHash('sha512');
      const self = this;
      async function* counted(): AsyncGenerator<Uint8Array> {
        for await (const c of hash ? hashThrough(stream, hash) : stream) {
          self.tarBytes += c.length;
          yield c;
        }
      }
      for await (const e of readTar(counted(), this.options)) {
        signal?.throwIfAborted();
        yield toEntry(e);
      }
      if (hash) this.imageId = `sha512-${hash.digest('hex')}`;
    } catch (e) {
      if (signal?.aborted && !(e instanceof AppcError))
        throw new AciError(`${file ?? 'reading the archive'}: aborted.`, {
          code: 'ERR_ACI_ABORTED',
          file,
          cause: signal.reason,
        });
      throw withFile(e, file);
    }
  }
}

function toEntry(e: TarEntry): AciEntry {
  return { header: e.header, path: cleanPath(e.header.name), body: e.body, bytes: e.bytes };
}

/** Opens an ACI (a file path or a byte source) and streams its entries; the compression is recognised by
 * content (ACI-006), tar dialects USTAR, PAX, GNU and v7 are read (ACI-015). Nothing is extracted.
 * @example
 * const archive = openAci('app.aci');
 * for await (const e of archive) console.log(e.path, e.header.type, e.header.size);
 * console.log(archive.imageId);
 * @throws {@link AciError} while iterating: `ERR_ACI_BAD_COMPRESSION`, `ERR_ACI_ENCRYPTED`, `ERR_ACI_TRUNCATED`,
 * `ERR_ACI_BAD_TAR_HEADER`, `ERR_ACI_LIMIT`, `ERR_ACI_TOOL_MISSING`. */
export function openAci(source: AciSource, options: OpenAciOptions = {}): AciArchive {
  return new AciArchive(source, options);
}

/** Reads the image manifest of an archive without extracting its rootfs (ACI-013): the first entry whose
 * cleaned name is `manifest`; no rootfs is needed. `raw` holds the stored bytes.
 * @throws {@link AciError} `ERR_ACI_MISSING_MANIFEST` when there is none, and the errors of {@link openAci}.
 * @throws SchemaError `ERR_SCHEMA_JSON` / `ERR_SCHEMA_INVALID` when the manifest is not a valid image manifest. */
export async function readManifest(
  file: AciSource,
  options: OpenAciOptions = {},
): Promise<{ manifest: ImageManifest; raw: Uint8Array }> {
  const name = options.file ?? (typeof file === 'string' ? file : 'the archive');
  // the manifest is all that is wanted: no image ID, nothing read past the end blocks (an endless input of zero
  // blocks, /dev/zero, ends there)
  let raw: Uint8Array | undefined;
  try {
    for await (const e of openAci(file, { ...options, imageId: false, drain: false })) {
      if (e.path !== 'manifest') continue;
      raw = await e.bytes(MAX_MANIFEST_BYTES);
      break;
    }
  } catch (e) {
    // an entry's bytes are read outside the archive's own loop: its errors have no file name yet
    throw withFile(e, name);
  }
  if (raw !== undefined) {
    const where = `${name}: manifest`;
    const manifest = parseImageManifest(parseJson(raw, { file: where }), { file: where });
    return { manifest, raw };
  }
  throw new AciError(`${name}: missing manifest — the archive has no entry named "manifest" (ACI-013).`, {
    code: 'ERR_ACI_MISSING_MANIFEST',
    requirement: 'ACI-013',
    file: name,
  });
}

/** Computes the image ID of an archive: `sha512-` and the hex SHA-512 of the uncompressed tar bytes (ACI-010),
 * hashed straight off the decompressor; the tar is not parsed.
 * @throws {@link AciError} `ERR_ACI_BAD_COMPRESSION`, `ERR_ACI_ENCRYPTED`, `ERR_ACI_TRUNCATED`. */
export async function computeImageId(
  file: AciSource,
  options: { signal?: AbortSignal } = {},
): Promise<string> {
  const name = typeof file === 'string' ? file : undefined;
  try {
    // each chunk is hashed before the next is asked for: its memory can be reused
    const { stream } = await openDecompressed(file, { ...options, reuseChunks: true });
    const hash = createHash('sha512');
    for await (const c of stream) hash.update(c);
    return `sha512-${hash.digest('hex')}`;
  } catch (e) {
    throw withFile(e, name);
  }
}
