export type { PodNetworkOptions, PodNetworkResult, PortMapping } from './cni.ts';
export { addPodNetwork, DEFAULT_CNI_PATH, removePodNetwork } from './cni.ts';
export type { RuntimeErrorCode, RuntimeErrorDetails } from './errors.ts';
export { RUNTIME_ERROR_CODES, RuntimeError } from './errors.ts';
export type { AppEnvironmentOptions } from './exec-path.ts';
export { appEnvironment, CONTAINER_ENV_VALUE, CS_PATH, DEFAULT_PATH, resolveExec } from './exec-path.ts';
export type { ExportPodAppOptions, ExportPodAppResult } from './export.ts';
export { exportPodApp } from './export.ts';
export type { BlockDevice, HostFeatures } from './host-features.ts';
export { detectHostFeatures } from './host-features.ts';
export type { RootfsPath } from './internal/rootfs-path.ts';
export { resolveInRootfs } from './internal/rootfs-path.ts';
export type {
  AppIsolatorPlan,
  IsolatorPlanOptions,
  IsolatorReportEntry,
  PodIsolatorPlan,
  RuntimeInsecureOptions,
} from './isolators.ts';
export { isNamespacedSysctl, planAppIsolators, planPodIsolators } from './isolators.ts';
export type {
  MetadataApp,
  MetadataPod,
  MetadataRegistration,
  MetadataServiceOptions,
} from './metadata-service.ts';
export { loadHmacKey, MetadataService, mergeAnnotations } from './metadata-service.ts';
export type {
  NetworkBandwidthOutcome,
  NetworkBandwidthPlan,
  NetworkShaping,
  PodNetworkMode,
} from './network-bandwidth.ts';
export {
  MAX_SHAPED_RATE_BYTES_PER_SECOND,
  MIN_SHAPED_RATE_BYTES_PER_SECOND,
  MIN_SHAPING_BURST_BYTES,
  planNetworkBandwidth,
  shapingBurstBytes,
} from './network-bandwidth.ts';
export { SYSTEMD_NOTIFY_ANNOTATION, supportsSystemdNotify } from './notify.ts';
export type {
  OciDevice,
  OciDeviceRule,
  OciLinux,
  OciMount,
  OciProcess,
  OciResources,
  OciRuntimeSpec,
  OciSeccomp,
  OciThrottleDevice,
} from './oci.ts';
export type {
  AppResult,
  DestroyPodTarget,
  HostsEntry,
  PodNetwork,
  PodResult,
  PreparedPod,
  PreparePodOptions,
  RunPodOptions,
} from './pod.ts';
export {
  appContainerId,
  DEFAULT_CATATONIT,
  destroyPod,
  preparePod,
  runPod,
  runPreparedPod,
  sandboxContainerId,
  startPodSandboxEarly,
} from './pod.ts';
export type { EarlyPod, PodGcReport, RunStoredPodOptions, StoredPodResult } from './pod-runner.ts';
export {
  cleanupPod,
  gcPods,
  METADATA_PORT,
  podRecordOf,
  portMappings,
  removePod,
  runStoredPod,
  startPodEarly,
} from './pod-runner.ts';
export type { PodAppRecord, PodRecord, PodState } from './pods.ts';
export {
  checkPodName,
  findPod,
  listPods,
  podDir,
  podsDir,
  readPodRecord,
  removePodDir,
  writePodRecord,
} from './pods.ts';
export type { AppMountRequest, AppRequest, ImageLookup, ImageRef, PodOptions, ReifiedPod } from './reify.ts';
export { defaultAppName, reifyPod, reifyPodManifest } from './reify.ts';
export type { RuncContainerState, RuncExit, RuncOptions, StdioTarget } from './runc.ts';
export { Runc, runcLogErrors } from './runc.ts';
export type {
  AppRuntimeConfig,
  AppRuntimeConfigInput,
  RootfsOverlay,
  SandboxRuntimeConfigInput,
  VolumeLocator,
} from './runtime-config.ts';
export {
  createAppRuntimeConfig,
  createSandboxRuntimeConfig,
  emptyVolumePath,
  LINUX_DEVICES,
  linuxFilesystems,
  OCI_VERSION,
  volumeSourcePath,
} from './runtime-config.ts';
export type { SandboxProcess } from './sandbox.ts';
export type { SeccompArch, SeccompPlan, SeccompRequest } from './seccomp.ts';
export {
  buildSeccompFilter,
  DEFAULT_SECCOMP_BLACKLIST,
  errnoNumber,
  hostSeccompArch,
  SECCOMP_ALL,
  SECCOMP_EMPTY,
  SECCOMP_LIFECYCLE_WHITELIST,
  syscallNames,
} from './seccomp.ts';
export type { AppIdentity, IdentityRequest } from './user-group.ts';
export { resolveAppIdentity } from './user-group.ts';
export { checkHostVolume, prepareMountTargets, prepareVolumes } from './volumes.ts';
