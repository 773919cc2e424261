export type { AciEntry, OpenAciOptions, TarEntryType, TarHeader } from './archive.ts';
export { AciArchive, computeImageId, MAX_MANIFEST_BYTES, openAci, readManifest } from './archive.ts';
export type { BuildOptions, BuildResult } from './build.ts';
export { build, DEFAULT_BUILD_GZIP_LEVEL, imageIdOfLayout, readXattrs } from './build.ts';
export type {
  AciSource,
  Compression,
  DecompressOptions,
  DetectedCompression,
  FileKind,
  GzipParallelOptions,
} from './compression.ts';
export {
  compress,
  decompress,
  detectCompression,
  gzipParallel,
  openDecompressed,
  sniffFileKind,
} from './compression.ts';
export type { AciErrorCode, AciIssueCode } from './errors.ts';
export { ACI_ERROR_CODES, AciError } from './errors.ts';
export type { ExtractOptions, ExtractResult } from './extract.ts';
export { extract } from './extract.ts';
export type { AddHostProgramsOptions, AddHostProgramsResult } from './host-program.ts';
export { addHostPrograms } from './host-program.ts';
export { decodeName, encodeName, fsPath } from './internal/names.ts';
export type { OutputOptions } from './internal/output.ts';
export type { ManifestPatch } from './patch.ts';
export {
  applyManifestPatch,
  parseExecArg,
  parseIsolatorsArg,
  parseMountsArg,
  parsePortsArg,
  parseSeccompArg,
  parseSupplementaryGids,
} from './patch.ts';
export type { PatchManifestOptions, PatchManifestResult } from './patch-manifest.ts';
export { patchManifest } from './patch-manifest.ts';
export type { ImageProvider, RenderOptions, RenderResult, ResolvedImage } from './render.ts';
export { createFileImageProvider, render } from './render.ts';
export type { ArchiveValidation, ValidateArchiveOptions, ValidateLayoutOptions } from './validate.ts';
export { validateArchive, validateLayout } from './validate.ts';
