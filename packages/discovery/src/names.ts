// `@appc/discovery/names`: the image-name parts of this package without its HTTP client, for callers that only
// read names (a store, an executor): no HTTP client, no HTML parser loaded.
export type { AppString } from './app-string.ts';
export { checkApp, formatAppString, parseAppString, parseLabelPairs, toQueryString } from './app-string.ts';
export type { DiscoveryErrorCode } from './errors.ts';
export { DiscoveryError } from './errors.ts';
export type { ManifestMatchCode } from './manifest-match.ts';
export { validateDiscoveredManifest } from './manifest-match.ts';
