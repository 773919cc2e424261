export type { StoreErrorCode, StoreErrorDetails } from './errors.ts';
export { STORE_ERROR_CODES, StoreError } from './errors.ts';
export type {
  FetchImageOptions,
  FetchImageResult,
  FetchInsecureOptions,
  FetchProgress,
  ImageRef,
  PullPolicy,
} from './fetch.ts';
export { classifyImageRef, fetchImage } from './fetch.ts';
export { createStoreImageProvider } from './provider.ts';
export type {
  FindQuery,
  GcOptions,
  GcReport,
  LabelQuery,
  ListOptions,
  OpenStoreOptions,
  PutCandidate,
  PutOptions,
  PutResult,
  ReconcileReport,
  RemoteInfo,
  SetRemoteOptions,
  StoredImage,
} from './store.ts';
export { DEFAULT_GC_GRACE_PERIOD_MS, openStore, Store } from './store.ts';
export type {
  RenderedTree,
  RenderTreeOptions,
  TreeGcOptions,
  TreeGcReport,
  TreeStoreOptions,
} from './tree-store.ts';
export { DEFAULT_TREE_GRACE_PERIOD_MS, gcTrees, renderTree, TreeStore } from './tree-store.ts';
