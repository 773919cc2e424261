export type { AppString } from './app-string.ts';
export { checkApp, formatAppString, parseAppString, parseLabelPairs, toQueryString } from './app-string.ts';
export type { AuthConfig } from './auth.ts';
export { authorizationFor, loadAuthConfig } from './auth.ts';
export type { CacheInfo, Download, DownloadOptions } from './download.ts';
export { openDownload, parseCacheHeaders } from './download.ts';
export type { Attempt, DiscoveryErrorCode } from './errors.ts';
export { DiscoveryError } from './errors.ts';
export type { FetchedDocument } from './fetch-document.ts';
export { fetchDocument } from './fetch-document.ts';
export type { ManifestMatchCode } from './manifest-match.ts';
export { validateDiscoveredManifest } from './manifest-match.ts';
export type {
  DiscoveryResult,
  Endpoint,
  ImageDiscovery,
  PublicKeyDiscovery,
} from './meta-discovery.ts';
export { discover, discoverImage, discoverPublicKeys, fetchDiscoveryPage } from './meta-discovery.ts';
export type { MetaTag } from './meta-tags.ts';
export { parseMetaTags } from './meta-tags.ts';
export type {
  DiscoveryOptions,
  FetchInit,
  FetchLike,
  FetchOptions,
  FetchResponse,
  InsecureOptions,
} from './options.ts';
export type { ProxyOptions } from './proxy.ts';
export { proxyFromEnv } from './proxy.ts';
export type { DiscoverySite, DiscoverySiteOptions, SiteImage } from './site.ts';
export { writeDiscoverySite } from './site.ts';
export type { Ext } from './template.ts';
export { renderTemplate } from './template.ts';
