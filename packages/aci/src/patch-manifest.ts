import { createHash } from 'node:crypto';
import { type ImageManifest, parseImageManifest, parseJson, serializeImageManifest } from '@appc/schema';
import { MAX_MANIFEST_BYTES, openAci, withFile } from './archive.ts';
import { type Compression, compress } from './compression.ts';
import { AciError } from './errors.ts';
import { checkOutput, type OutputOptions, writeAtomically } from './internal/output.ts';
import type { TarHeader } from './internal/tar-reader.ts';
import { END_BLOCKS, encodeHeader, padding, type TarWriteHeader } from './internal/tar-writer.ts';

/** Options of {@link patchManifest}. */
export interface PatchManifestOptions extends OutputOptions {
  /** Output compression (default `gzip`, as actool). */
  compression?: Compression;
}

/** What {@link patchManifest} wrote. */
export interface PatchManifestResult {
  imageId: string;
  manifest: ImageManifest;
  sizeBytes: number;
}

function toWriteHeader(h: TarHeader, size: number): TarWriteHeader {
  if (h.type === 'unknown')
    throw new AciError(`"${h.name}" has tar type "${h.typeflag}", which cannot be copied into an image.`, {
      code: 'ERR_ACI_UNSUPPORTED_ENTRY',
      requirement: 'ACI-015',
      file: h.name,
    });
  return {
    name: h.name,
    type: h.type,
    mode: h.mode,
    uid: h.uid,
    gid: h.gid,
    uname: h.uname,
    gname: h.gname,
    size,
    mtime: Math.floor(h.mtime),
    linkname: h.linkname,
    devmajor: h.devmajor,
    devminor: h.devminor,
    xattrs: h.xattrs,
  };
}

/** Copies an archive entry by entry into `output`, replacing only the manifest (kept at its position, size
 * updated; re-serialised canonically) with what `patch` returns (ACI-013, actool patch-manifest). `output` may be
 * `input` (with `overwrite`): the result goes to a temporary file renamed at the end, so a failure leaves the
 * input untouched and no partial output. Headers are re-encoded (USTAR, PAX where needed), so the image ID changes.
 * @example await patchManifest('in.aci', 'out.aci', (m) => applyManifestPatch(m, { exec: '/bin/app --serve' }));
 * @throws {@link AciError} `ERR_ACI_MISSING_MANIFEST`, `ERR_ACI_PATCH`, `ERR_ACI_OUTPUT_EXISTS`, `ERR_ACI_BAD_EXTENSION`. */
export async function patchManifest(
  input: string,
  output: string,
  patch: (m: ImageManifest) => ImageManifest,
  options: PatchManifestOptions = {},
): Promise<PatchManifestResult> {
  // the input is an existing output too: writing over it needs `overwrite` like any other (ACI-014)
  await checkOutput(output, options);
  const hash = createHash('sha512');
  let patched: ImageManifest | undefined;
  const archive = openAci(input, options.signal ? { signal: options.signal } : {});
  async function* tar(): AsyncGenerator<Uint8Array> {
    for await (const e of archive) {
      if (e.path === 'manifest' && !patched) {
        const raw = await e.bytes(MAX_MANIFEST_BYTES);
        const where = `${input}: manifest`;
        const next = patch(parseImageManifest(parseJson(raw, { file: where }), { file: where }));
        patched = parseImageManifest(structuredClone(next));
        const body = Buffer.from(serializeImageManifest(patched), 'utf8');
        yield encodeHeader(toWriteHeader(e.header, body.length));
        yield body;
        if (padding(body.length) > 0) yield Buffer.alloc(padding(body.length));
        continue;
      }
      const dataSize = e.header.type === 'file' ? e.header.size : 0;
      yield encodeHeader(toWriteHeader(e.header, dataSize));
      if (dataSize > 0) {
        for await (const c of e.body()) yield c;
        if (padding(dataSize) > 0) yield Buffer.alloc(padding(dataSize));
      }
    }
    if (!patched)
      throw new AciError(`${input}: missing manifest — nothing to patch (ACI-013).`, {
        code: 'ERR_ACI_MISSING_MANIFEST',
        requirement: 'ACI-013',
        file: input,
      });
    yield END_BLOCKS;
  }
  async function* hashed(): AsyncGenerator<Uint8Array> {
    for await (const c of tar()) {
      hash.update(c);
      yield c;
    }
  }
  try {
    const sizeBytes = await writeAtomically(
      output,
      compress(hashed(), options.compression ?? 'gzip'),
      options.signal,
    );
    return { imageId: `sha512-${hash.digest('hex')}`, manifest: patched as ImageManifest, sizeBytes };
  } catch (e) {
    throw withFile(e, input);
  }
}
