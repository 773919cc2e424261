import { lstat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { type App, hasCode, type Isolator, type PodApp, type PodManifest, type Volume } from '@appc/schema';
import { RuntimeError } from './errors.ts';
import { appEnvironment, resolveExec } from './exec-path.ts';
import type { HostFeatures } from './host-features.ts';
import { resolveInRootfs } from './internal/rootfs-path.ts';
import {
  type IsolatorReportEntry,
  planAppIsolators,
  planPodIsolators,
  type RuntimeInsecureOptions,
} from './isolators.ts';
import type { NetworkBandwidthPlan } from './network-bandwidth.ts';
import type { OciDevice, OciDeviceRule, OciMount, OciRuntimeSpec } from './oci.ts';
import { type AppIdentity, resolveAppIdentity } from './user-group.ts';

/** OCI runtime spec version written into every config. */
export const OCI_VERSION = '1.0.2';

/** Device nodes every app gets (OS-002): path, major, minor. */
export const LINUX_DEVICES: readonly (readonly [string, number, number])[] = Object.freeze([
  ['/dev/null', 1, 3],
  ['/dev/zero', 1, 5],
  ['/dev/full', 1, 7],
  ['/dev/random', 1, 8],
  ['/dev/urandom', 1, 9],
  ['/dev/tty', 5, 0],
  ['/dev/console', 5, 1],
] as const);

function devices(): OciDevice[] {
  return LINUX_DEVICES.map(([path, major, minor]) => ({
    path,
    type: 'c',
    major,
    minor,
    fileMode: path === '/dev/console' ? 0o620 : 0o666,
    uid: 0,
    gid: 0,
  }));
}

function deviceRules(): OciDeviceRule[] {
  return [
    { allow: false, access: 'rwm' },
    ...LINUX_DEVICES.map(([, major, minor]) => ({
      allow: true,
      type: 'c' as const,
      major,
      minor,
      access: 'rwm',
    })),
    { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' },
    { allow: true, type: 'c', major: 136, access: 'rwm' },
  ];
}

/** The filesystems of the Linux OS spec (OS-001, OS-003, OS-004), plus mqueue and a read-only view of the
 * container's own cgroups. */
export function linuxFilesystems(): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
    },
  ];
}

/** Kernel paths hidden from apps, and paths made read-only (OS-006, as rkt does unless told otherwise). */
const MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** Where the volumes of a pod live on the host. */
export interface VolumeLocator {
  /** Directory of the pod's `empty` volumes (ACE-007), made by the driver. */
  emptyVolumesDir: string;
}

/** Host directory of an `empty` volume: pod volumes under `pod/`, an app's own `appVolume` under `app/<app>/`. */
export function emptyVolumePath(locator: VolumeLocator, volume: Volume, appName?: string): string {
  return appName === undefined
    ? join(locator.emptyVolumesDir, 'pod', volume.name)
    : join(locator.emptyVolumesDir, 'app', appName, volume.name);
}

/** Host path a mount of an app binds (ACE-004, ACE-006, ACE-007). */
export function volumeSourcePath(locator: VolumeLocator, volume: Volume, appName?: string): string {
  if (volume.kind === 'host') return volume.source as string;
  return emptyVolumePath(locator, volume, appName);
}

/** An app's root filesystem as an overlay that runc mounts at `/` inside the container's own mount namespace, so
 * that nothing is mounted on the host: the image's cached tree below (never written), the app's writable layer
 * above. */
export interface RootfsOverlay {
  /** The image's rendered tree (ACE-002): what the host reads for the app's users, programs and mount targets. */
  lower: string;
  upper: string;
  work: string;
  /** Mounted `volatile` (Linux 5.10+): the writable layer goes with the pod, so it is never synced. */
  volatile: boolean;
}

/** The overlay mount an app's OCI config starts with when runc mounts its root filesystem ({@link RootfsOverlay}),
 * with another work directory than `overlay.work` when given (a `volatile` work directory takes one mount). */
export function overlayRootMount(overlay: RootfsOverlay, work = overlay.work): OciMount {
  return {
    destination: '/',
    type: 'overlay',
    source: 'overlay',
    options: [
      `lowerdir=${overlay.lower}`,
      `upperdir=${overlay.upper}`,
      `workdir=${work}`,
      ...(overlay.volatile ? ['volatile'] : []),
    ],
  };
}

/** Everything {@link createAppRuntimeConfig} needs about one app of a reified pod. */
export interface AppRuntimeConfigInput {
  uuid: string;
  manifest: PodManifest;
  /** Name of the app in `manifest.apps`. */
  appName: string;
  /** Host path of the app's rendered rootfs (ACI-020); with `overlay`, the empty directory runc mounts it on. */
  rootfs: string;
  /** The app's root filesystem as an overlay runc mounts inside the container (nothing mounted on the host): the
   * image's files are read from its lower layer. */
  overlay?: RootfsOverlay;
  volumes: VolumeLocator;
  host: HostFeatures;
  /** `AC_METADATA_URL` (META-001). */
  metadataUrl?: string;
  /** PID (host view) of the pod sandbox whose pid, ipc, uts and network namespaces the app joins (ACE-003).
   * Without it the app gets namespaces of its own. */
  sandboxPid?: number;
  /** Share the host's network namespace (`--net=host`). */
  hostNetwork?: boolean;
  /** The pod's network-bandwidth isolators planned on its network ({@link planNetworkBandwidth}), for the report
   * (ISO-018); without it they are reported `ignored`. */
  networkBandwidth?: NetworkBandwidthPlan | undefined;
  /** A hosts file bound onto `/etc/hosts` when neither the image nor a volume has one (OS-005). */
  hostsFile?: string;
  /** Bind {@link AppRuntimeConfigInput.hostsFile} over the image's own `/etc/hosts` too (the pod was given hosts
   * entries, as rkt's `--hosts-entry`); a volume that covers it still wins. */
  hostsOverImage?: boolean;
  /** A resolv.conf bound onto `/etc/resolv.conf` (the pod's DNS settings; over the image's own), unless a volume
   * covers `/etc` or that file. */
  resolvConf?: string;
  /** Hostname, used only when the app has its own UTS namespace (no sandbox). */
  hostname?: string;
  /** cgroup path of the app (relative to the cgroup root), such as `/appc-<uuid>/app-<name>`. */
  cgroupsPath?: string;
  /** Already resolved identity; resolved from the rootfs when absent (ACE-013). */
  identity?: AppIdentity;
  /** Protections turned off ({@link RuntimeInsecureOptions}). */
  insecure?: RuntimeInsecureOptions;
}

/** An app's OCI config and what became of its isolators. */
export interface AppRuntimeConfig {
  config: OciRuntimeSpec;
  identity: AppIdentity;
  isolators: IsolatorReportEntry[];
  /** Resolved exec lists of the app's event handlers (IMG-009, ACE-014); each runs with the same config. */
  handlers: { 'pre-start'?: string[]; 'post-stop'?: string[] };
}

function findApp(manifest: PodManifest, name: string): { podApp: PodApp; app: App; index: number } {
  const index = manifest.apps.findIndex((a) => a.name === name);
  const podApp = manifest.apps[index];
  if (!podApp?.app) {
    throw new RuntimeError(`the pod has no reified app "${name}"; reify the pod first (reifyPod).`, {
      code: 'ERR_RUN_NO_APP',
      requirement: 'POD-011',
      app: name,
    });
  }
  return { podApp, app: podApp.app, index };
}

function mountOptions(volume: Volume, readOnly: boolean): string[] {
  const recursive = volume.kind === 'host' ? volume.recursive !== false : true;
  const options = [recursive ? 'rbind' : 'bind', 'rprivate'];
  if (readOnly) options.push('ro');
  return options;
}

/** Builds the OCI runtime config (runc's config.json) of one app of a reified pod: process (exec resolved as
 * ACE-012 says, environment ACE-010, working directory ACE-011, user and groups ACE-013), rootfs (ACE-002), the
 * Linux OS spec's devices and filesystems (OS-001..OS-004), volume binds (ACE-004..ACE-007), `/etc/hosts` (OS-005),
 * namespaces joined from the sandbox (ACE-003) and the isolators (ISO-*), with a report of each (ACE-017).
 * @throws {@link RuntimeError} `ERR_RUN_USER`, `ERR_RUN_GROUP`, `ERR_RUN_EXEC_NOT_FOUND`, `ERR_RUN_WORKDIR_MISSING`,
 * `ERR_RUN_UNKNOWN_VOLUME`, `ERR_RUN_VOLUME_SOURCE`, `ERR_RUN_ISOLATOR`, `ERR_RUN_APPARMOR_PROFILE`, `ERR_RUN_ROOTFS`. */
export async function createAppRuntimeConfig(input: AppRuntimeConfigInput): Promise<AppRuntimeConfig> {
  const { podApp, app, index } = findApp(input.manifest, input.appName);
  const name = podApp.name;
  const rootStat = await lstat(input.rootfs).catch(() => undefined);
  if (!rootStat?.isDirectory()) {
    throw new RuntimeError(
      `app "${name}": rootfs ${input.rootfs} is not a directory; render the image first.`,
      {
        code: 'ERR_RUN_ROOTFS',
        requirement: 'ACE-002',
        app: name,
        file: input.rootfs,
      },
    );
  }
  // where the image's files are read: the rootfs, or the lower layer of the overlay runc is to mount there
  const view = input.overlay?.lower ?? input.rootfs;
  const identity =
    input.identity ?? (await resolveAppIdentity(view, app, name, { pointer: `/apps/${index}/app` }));
  const env = appEnvironment({
    appName: name,
    ...(input.metadataUrl === undefined ? {} : { metadataUrl: input.metadataUrl }),
    ...(app.environment === undefined ? {} : { environment: app.environment }),
  });
  const cwd = app.workingDirectory ?? '/';

  // Volumes (ACE-004): each mount binds its volume's host path; read-only when the volume or mountPoint says so.
  const mounts: OciMount[] = [
    // the overlay first: everything else is mounted on top of it
    ...(input.overlay ? [overlayRootMount(input.overlay)] : []),
    ...linuxFilesystems(),
  ];
  const targets: string[] = [];
  for (const [i, m] of (podApp.mounts ?? []).entries()) {
    const volume = m.appVolume ?? input.manifest.volumes?.find((v) => v.name === m.volume);
    if (!volume) {
      throw new RuntimeError(
        `app "${name}": mount of unknown volume "${m.volume}"; add the volume to the pod.`,
        {
          code: 'ERR_RUN_UNKNOWN_VOLUME',
          requirement: 'POD-004',
          app: name,
          pointer: `/apps/${index}/mounts/${i}/volume`,
        },
      );
    }
    const target = posix.normalize(m.path);
    const mountPoint = app.mountPoints?.find(
      (mp) => posix.normalize(mp.path) === target || mp.name === m.volume,
    );
    const readOnly = volume.readOnly === true || mountPoint?.readOnly === true;
    const source = volumeSourcePath(input.volumes, volume, m.appVolume ? name : undefined);
    mounts.push({ destination: target, type: 'bind', source, options: mountOptions(volume, readOnly) });
    targets.push(target);
  }

  // Working directory (ACE-011): it must exist in the rootfs, or be provided by a volume.
  const inVolume = targets.some((t) => cwd === t || cwd.startsWith(`${t}/`));
  if (!inVolume && (await resolveInRootfs(view, cwd)).hostPath === undefined) {
    throw new RuntimeError(
      `app "${name}": working directory ${cwd} does not exist in the app's filesystem; create it in the image or fix workingDirectory.`,
      {
        code: 'ERR_RUN_WORKDIR_MISSING',
        requirement: 'ACE-011',
        app: name,
        pointer: `/apps/${index}/app/workingDirectory`,
      },
    );
  }
  // A program inside a volume cannot be checked before the volume is mounted; anything else must exist (ACE-012).
  const resolveProgram = async (exec: readonly string[], pointer: string): Promise<string[]> => {
    try {
      return await resolveExec(view, exec, {
        appName: name,
        environment: env,
        workingDirectory: cwd,
        pointer,
      });
    } catch (error) {
      const program = exec[0] ?? '';
      const absolute = program.includes('/') ? posix.resolve(cwd, program) : undefined;
      const inAVolume = absolute !== undefined && targets.some((t) => absolute.startsWith(`${t}/`));
      if (hasCode(error, 'ERR_RUN_EXEC_NOT_FOUND') && (inAVolume || (absolute === undefined && inVolume)))
        return [...exec];
      throw error;
    }
  };
  const args = await resolveProgram(app.exec ?? [], `/apps/${index}/app/exec`);
  const handlers: AppRuntimeConfig['handlers'] = {};
  for (const [i, h] of (app.eventHandlers ?? []).entries()) {
    handlers[h.name] = await resolveProgram(h.exec, `/apps/${index}/app/eventHandlers/${i}/exec`);
  }

  // /etc/hosts (OS-005): only when neither the image nor a volume provides one, unless the pod was given entries.
  if (input.hostsFile !== undefined) {
    const covered = targets.some((t) => t === '/etc' || t === '/etc/hosts' || t === '/');
    const own = !input.hostsOverImage && (await resolveInRootfs(view, '/etc/hosts')).hostPath !== undefined;
    if (!covered && !own)
      mounts.push({
        destination: '/etc/hosts',
        type: 'bind',
        source: input.hostsFile,
        options: ['bind', 'rprivate', 'ro'],
      });
  }

  if (input.resolvConf !== undefined) {
    const covered = targets.some((t) => t === '/etc' || t === '/etc/resolv.conf' || t === '/');
    // runc creates a missing target inside the rootfs (links resolved within it), never on the host
    if (!covered)
      mounts.push({
        destination: '/etc/resolv.conf',
        type: 'bind',
        source: input.resolvConf,
        options: ['bind', 'rprivate', 'ro'],
      });
  }

  const ownNetwork = input.hostNetwork !== true;
  const plan = planAppIsolators(name, app.isolators ?? [], input.manifest.isolators ?? [], input.host, {
    ownNetwork,
    networkBandwidth: input.networkBandwidth,
    insecure: input.insecure,
  });
  const openPaths = input.insecure?.paths === true;

  const namespaces: OciRuntimeSpec['linux']['namespaces'] = [];
  const pid = input.sandboxPid;
  for (const [type, file] of [
    ['pid', 'pid'],
    ['ipc', 'ipc'],
    ['uts', 'uts'],
    ['network', 'net'],
  ] as const) {
    if (type === 'network' && !ownNetwork) continue;
    namespaces.push(pid === undefined ? { type } : { type, path: `/proc/${pid}/ns/${file}` });
  }
  namespaces.push({ type: 'mount' });

  const config: OciRuntimeSpec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: false,
      user: { uid: identity.uid, gid: identity.gid, additionalGids: identity.additionalGids },
      args,
      env: env.map((e) => `${e.name}=${e.value}`),
      cwd,
      capabilities: {
        bounding: plan.capabilities,
        effective: plan.capabilities,
        permitted: plan.capabilities,
        inheritable: [],
        ambient: [],
      },
      noNewPrivileges: plan.noNewPrivileges,
      ...plan.process,
    },
    root: { path: input.rootfs, readonly: podApp.readOnlyRootFS === true },
    mounts,
    annotations: {
      'io.appc.pod.uuid': input.uuid,
      'io.appc.app.name': name,
      'io.appc.image.id': podApp.image.id ?? '',
    },
    linux: {
      namespaces,
      devices: devices(),
      resources: { devices: deviceRules(), ...plan.resources },
      maskedPaths: openPaths ? [] : [...MASKED_PATHS],
      readonlyPaths: openPaths ? [] : [...READONLY_PATHS],
      rootfsPropagation: 'rprivate',
    },
  };
  if (pid === undefined) config.hostname = input.hostname ?? `appc-${input.uuid}`;
  if (input.cgroupsPath !== undefined) config.linux.cgroupsPath = input.cgroupsPath;
  if (plan.seccomp) config.linux.seccomp = plan.seccomp;
  return { config, identity, isolators: plan.report, handlers };
}

/** What {@link createSandboxRuntimeConfig} needs. */
export interface SandboxRuntimeConfigInput {
  uuid: string;
  /** Pod-level isolators (ISO-001, ISO-008, ISO-009, ISO-013..ISO-019). */
  isolators?: readonly Isolator[];
  host: HostFeatures;
  /** Directory used as the sandbox's (read-only, otherwise empty) root. */
  rootfs: string;
  /** Host path of the catatonit binary, bound read-only at `/catatonit` (a static build is needed). */
  catatonit: string;
  hostNetwork?: boolean;
  /** The pod's network-bandwidth isolators planned on its network ({@link planNetworkBandwidth}), for the report
   * (ISO-018); without it they are reported `ignored`. */
  networkBandwidth?: NetworkBandwidthPlan | undefined;
  /** Default `appc-<uuid>` (ACE-018, as rkt names its pods `rkt-<uuid>`). */
  hostname?: string;
  /** cgroup of the sandbox; every app's cgroup is made under it. */
  cgroupsPath?: string;
}

/** Builds the OCI config of a pod's sandbox: `catatonit -P` holding new pid, ipc, uts (and, unless the pod
 * shares the host's, network) namespaces that the apps join (ACE-003), with the pod's isolators on its cgroup.
 * @throws {@link RuntimeError} `ERR_RUN_SYSCTL_FORBIDDEN`, `ERR_RUN_APPARMOR_PROFILE`, `ERR_RUN_ISOLATOR`. */
export function createSandboxRuntimeConfig(input: SandboxRuntimeConfigInput): {
  config: OciRuntimeSpec;
  isolators: IsolatorReportEntry[];
} {
  const ownNetwork = input.hostNetwork !== true;
  const plan = planPodIsolators(input.isolators ?? [], input.host, {
    ownNetwork,
    networkBandwidth: input.networkBandwidth,
  });
  const namespaces: OciRuntimeSpec['linux']['namespaces'] = [
    { type: 'pid' },
    { type: 'ipc' },
    { type: 'uts' },
  ];
  if (ownNetwork) namespaces.push({ type: 'network' });
  namespaces.push({ type: 'mount' });
  const config: OciRuntimeSpec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ['/catatonit', '-P'],
      env: ['PATH=/'],
      cwd: '/',
      capabilities: { bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] },
      noNewPrivileges: true,
    },
    root: { path: input.rootfs, readonly: true },
    hostname: input.hostname ?? `appc-${input.uuid}`,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=64k'],
      },
      {
        destination: '/catatonit',
        type: 'bind',
        source: input.catatonit,
        options: ['bind', 'ro', 'rprivate'],
      },
    ],
    annotations: { 'io.appc.pod.uuid': input.uuid, 'io.appc.role': 'sandbox' },
    linux: {
      namespaces,
      devices: devices(),
      resources: { devices: deviceRules(), ...plan.resources },
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
      rootfsPropagation: 'rprivate',
    },
  };
  if (Object.keys(plan.sysctl).length > 0) config.linux.sysctl = plan.sysctl;
  if (plan.selinuxLabel !== undefined) config.process.selinuxLabel = plan.selinuxLabel;
  if (plan.apparmorProfile !== undefined) config.process.apparmorProfile = plan.apparmorProfile;
  if (input.cgroupsPath !== undefined) config.linux.cgroupsPath = input.cgroupsPath;
  return { config, isolators: plan.report };
}
