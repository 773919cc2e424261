export {
  acIdentifierProblem,
  isAcIdentifier,
  isAcName,
  sanitizeAcIdentifier,
  sanitizeAcName,
} from './ac-identifier.ts';
export type { AcKind } from './ac-kind.ts';
export { AC_KINDS, detectManifestKind, isAcKind } from './ac-kind.ts';
export type { SemVer } from './ac-version.ts';
export {
  acVersionProblem,
  parseSemver,
  RELEASED_SPEC_VERSIONS,
  SPEC_VERSION,
  tryParseSemver,
} from './ac-version.ts';
export type { Annotation } from './annotations.ts';
export { KNOWN_ANNOTATIONS } from './annotations.ts';
export type { App, Dependency, EventHandler, MountPoint, Port } from './app.ts';
export { APP_MEMBERS } from './app.ts';
export type { SerializeOptions } from './canonical.ts';
export { canonicalJson, serializeImageManifest, serializePodManifest } from './canonical.ts';
export { parseMountPointArg, parseVolumeArg } from './cli-forms.ts';
export type { EnvironmentVariable } from './environment.ts';
export { isEnvironmentName } from './environment.ts';
export type { AppcErrorDetails, Issue, SchemaErrorCode } from './errors.ts';
export { AppcError, hasCode, SchemaError } from './errors.ts';
export type { ImageIdOptions } from './image-id.ts';
export { isImageId } from './image-id.ts';
export type { ImageManifest } from './image-manifest.ts';
export { IMAGE_MANIFEST_MEMBERS, parseImageManifest, validateImageManifest } from './image-manifest.ts';
export type { ValidateOptions } from './internal/context.ts';
export type {
  Isolator,
  IsolatorInfo,
  IsolatorValue,
  ResourceIsolatorValue,
  ResourceUnit,
} from './isolators.ts';
export {
  DEFAULT_CAPABILITIES,
  ISOLATORS,
  LINUX_CAPABILITIES,
  parseIsolatorValue,
  validateIsolator,
} from './isolators.ts';
export type { IssueCode } from './issue-codes.ts';
export { ISSUE_CODES } from './issue-codes.ts';
export type { ParseJsonOptions } from './json.ts';
export { parseJson } from './json.ts';
export type { JsonSchema } from './json-schema.ts';
export {
  imageManifestJsonSchema,
  jsonSchemaText,
  podManifestJsonSchema,
  validateWithJsonSchema,
} from './json-schema.ts';
export type { Label } from './labels.ts';
export { hostOsArch, isValidOsArch, OS_ARCH, registerOsArch } from './labels.ts';
export type { LenientImageManifest, LenientPodManifest } from './lastditch.ts';
export { readManifestLeniently } from './lastditch.ts';
export type { ExposedPort, Mount, PodApp, PodImage, PodManifest, Volume } from './pod-manifest.ts';
export { POD_MANIFEST_MEMBERS, parsePodManifest, validatePodManifest } from './pod-manifest.ts';
export type { QuantityFormat } from './resource-quantity.ts';
export { parseResourceQuantity, ResourceQuantity, tryParseResourceQuantity } from './resource-quantity.ts';
export { isTimestamp, parseTimestamp } from './timestamp.ts';
export { isHttpUrl } from './url.ts';
export { canonicalUuid, isUuid, parseUuid } from './uuid.ts';
export { compareVersionLabels } from './version-order.ts';
