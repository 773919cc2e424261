import { constants, existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Issue, PodManifest } from '@appc/schema';
import { RuntimeError } from './errors.ts';
import { detectHostFeatures, type HostFeatures, unifiedCgroups } from './host-features.ts';
import type { IsolatorReportEntry, RuntimeInsecureOptions } from './isolators.ts';
import { type NetworkBandwidthPlan, planNetworkBandwidth } from './network-bandwidth.ts';
import { listenForReadiness, type NotifyReceiver, withNotifySocket } from './notify.ts';
import type { OciRuntimeSpec } from './oci.ts';
import { Runc, type RuncOptions, type StdioTarget } from './runc.ts';
import { createAppRuntimeConfig, createSandboxRuntimeConfig, type RootfsOverlay } from './runtime-config.ts';
import {
  killSandboxProcess,
  killUnrecordedSandbox,
  readSandboxProcess,
  type SandboxProcess,
  sandboxProcessFile,
  startSandboxProcess,
} from './sandbox.ts';
import {
  type ActivationSocket,
  activationSockets,
  applySocketActivation,
  openActivationSockets,
  withoutActivation,
} from './socket-activation.ts';
import { prepareMountTargets, prepareVolumes } from './volumes.ts';

/** The default place of the static catatonit binary (Debian package `catatonit`). */
export const DEFAULT_CATATONIT = '/usr/bin/catatonit';

/** Network of a pod: `host` shares the caller's namespace; `none` gives the pod its own with loopback only
 * (ACE-008). The CNI `default` network is given by {@link runStoredPod} to a pod prepared with `none`
 * ({@link addPodNetwork}). */
export type PodNetwork = 'host' | 'none';

/** Options of {@link preparePod} and {@link runPod}. */
export interface PreparePodOptions {
  /** The reified pod ({@link reifyPod} or {@link reifyPodManifest}). */
  pod: { uuid: string; manifest: PodManifest };
  /** Rendered rootfs directory of each app, by pod app name (ACI-020; each a fresh copy or overlay, ACE-002). */
  rootfs: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
  /** For apps whose rootfs runc is to mount as an overlay inside the container (nothing mounted on the host), the
   * overlay, by pod app name; their `rootfs` entry is then the empty directory it is mounted on. */
  overlays?: ReadonlyMap<string, RootfsOverlay> | Readonly<Record<string, RootfsOverlay>>;
  /** The pod's own state directory (bundles, empty volumes, hosts file); made if missing. */
  dir: string;
  runc: RuncOptions;
  /** Static catatonit binary; default {@link DEFAULT_CATATONIT}. */
  catatonit?: string;
  /** Default `none`. */
  net?: PodNetwork;
  /** `AC_METADATA_URL` given to every app (META-001). */
  metadataUrl?: string;
  /** Pod hostname; default `appc-<uuid>`. */
  hostname?: string;
  /** DNS settings written to the apps' `/etc/resolv.conf` (over the image's): name servers, search domains,
   * options; or `host` for a copy of this host's. Absent: the image's own file stays. */
  dns?: { servers?: string[]; search?: string[]; options?: string[] } | 'host';
  /** Entries of the apps' `/etc/hosts` after the default ones (localhost, the hostname), or `host` for a copy of
   * this host's file (rkt's `--hosts-entry`); given, the file is bound over the image's own `/etc/hosts` too. */
  hosts?: HostsEntry[] | 'host';
  /** Refuse the pod when any isolator is ignored or changed (ISO-003). */
  strict?: boolean;
  /** The pod's network-bandwidth isolators planned on the network it gets ({@link planNetworkBandwidth}), when the
   * caller gives its namespace an interface once the sandbox runs and shapes it as the plan says (`runStoredPod`
   * does on the `default` network); default: planned for `net` (`host`: ignored; `none`: loopback only, nothing to
   * shape). Reported with the other isolators, and refused in strict mode unless enforced (ISO-018, ISO-003). */
  networkBandwidth?: NetworkBandwidthPlan;
  /** Host features; read from the machine when absent. */
  host?: HostFeatures;
  /** Protections of the apps turned off, as rkt's `--insecure-options=capabilities,paths,seccomp`
   * ({@link RuntimeInsecureOptions}). */
  insecure?: RuntimeInsecureOptions;
}

/** A pod whose bundles are written and whose volumes exist, with no container started yet. */
export interface PreparedPod {
  uuid: string;
  dir: string;
  manifest: PodManifest;
  runcRoot: string;
  runcBinary: string;
  /** The sandbox: a runc container of `config` when the pod has pod isolators (its cgroup bounds the apps'), else
   * `process`: the same `catatonit -P` in the same namespaces, started without runc (ACE-003). */
  sandbox: { id: string; bundle: string; config: OciRuntimeSpec; process?: boolean };
  apps: {
    name: string;
    id: string;
    bundle: string;
    config: OciRuntimeSpec;
    /** Resolved exec lists of the app's event handlers (ACE-014). */
    handlers: { 'pre-start'?: string[]; 'post-stop'?: string[] };
    /** The listening sockets passed to the app's main process (its `socketActivated` ports, ACE-015). */
    activation?: ActivationSocket[];
  }[];
  /** What became of every isolator, pod-level ones first (ACE-017). */
  isolators: IsolatorReportEntry[];
  /** Mount targets replaced or masked in the apps' rootfs (ACE-005). */
  warnings: Issue[];
  /** cgroup path of the sandbox; every app's is below it. */
  cgroupsPath: string;
}

/** How one app ended. */
export interface AppResult {
  name: string;
  /** Exit status of the app's main process (or of its pre-start handler when that failed and the main process
   * never started); 128 + N when signal N ended it (as runc reports it). */
  exitCode: number;
  /** Exit status of the pre-start handler, when the app has one (ACE-014). */
  preStartExitCode?: number;
  /** Exit status of the post-stop handler, when the app has one and its main process ran (ACE-014). */
  postStopExitCode?: number;
  /** Captured output, with `stdio: 'capture'` (at most `maxOutputBytes` each). */
  stdout?: string;
  stderr?: string;
}

/** Result of a pod run. */
export interface PodResult {
  uuid: string;
  /** One entry per app, in manifest order (ACE-018). */
  apps: AppResult[];
  isolators: IsolatorReportEntry[];
}

/** Options of {@link runPreparedPod}. */
export interface RunPodOptions {
  /** `inherit` (default): apps write to this process's stdout and stderr (ACE-009); `capture`: collected into
   * the result; `ignore`: dropped. */
  stdio?: 'inherit' | 'capture' | 'ignore';
  /** Bound of captured output per app and stream; default 1 MiB (the rest is dropped). */
  maxOutputBytes?: number;
  /** Called with every chunk an app writes, when `stdio` is `capture`. */
  onOutput?: (app: string, stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  /** Stops the pod: SIGTERM to every app, SIGKILL after `stopTimeoutMs` (ACE-014). */
  signal?: AbortSignal;
  /** Default 10 s. */
  stopTimeoutMs?: number;
  /** Called once the sandbox runs, before any app starts, with its PID (its namespaces are
   * `/proc/<pid>/ns/*`): the place to set up the pod's network and its metadata service access. */
  onSandboxStarted?: (sandboxPid: number, sandbox: { metadataForwarded: boolean }) => Promise<void>;
  /** A unix socket that 127.0.0.1:`port` inside the pod is to reach (the metadata service, META-001). A sandbox
   * started without runc starts the forwarder itself, before it is reported started (`metadataForwarded`); with a
   * runc sandbox this is left to `onSandboxStarted`. */
  metadataForward?: { socket: string; port: number };
  /** A sandbox process already being started for this pod ({@link startPodSandboxEarly}), so that its start
   * overlapped the pod's preparation. Used when the prepared pod has a sandbox without runc; ended otherwise. */
  earlySandbox?: Promise<SandboxProcess>;
  /** Apps that report readiness with sd_notify (ACE-016, {@link supportsSystemdNotify}): each main process gets
   * NOTIFY_SOCKET, a socket of this process's bound into its container, and `onReady` is called with the app's
   * name on its first READY=1. No other app, nor any handler, gets NOTIFY_SOCKET, even when this process has
   * one. */
  notify?: { apps: ReadonlySet<string>; onReady: (app: string) => void };
  /** The app (its main process) whose stdin, stdout and stderr are this process's own file descriptors 0, 1
   * and 2 (rkt's `--interactive`); with `terminal`, runc gives it a pseudo-terminal of its own, relayed to this
   * process's (whose stdin should then be a terminal, which runc puts in raw mode while the app runs). Its output
   * is neither captured nor passed to `onOutput`; its handlers run as the other apps do. */
  interactive?: { app: string; terminal: boolean };
}

/** An entry of a per-app option (a Map or a plain object, by pod app name). */
function byApp<T>(
  map: ReadonlyMap<string, T> | Readonly<Record<string, T>> | undefined,
  name: string,
): T | undefined {
  if (map === undefined) return undefined;
  return map instanceof Map ? map.get(name) : (map as Record<string, T>)[name];
}

async function resolvConfText(dns: NonNullable<PreparePodOptions['dns']>): Promise<string> {
  if (dns === 'host') return readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  return [
    ...(dns.servers ?? []).map((s) => `nameserver ${s}`),
    ...(dns.search && dns.search.length > 0 ? [`search ${dns.search.join(' ')}`] : []),
    ...(dns.options && dns.options.length > 0 ? [`options ${dns.options.join(' ')}`] : []),
    '',
  ].join('\n');
}

/** A line of `/etc/hosts`: an address and its names. */
export interface HostsEntry {
  ip: string;
  names: string[];
}

async function hostsFileText(hostname: string, hosts: PreparePodOptions['hosts']): Promise<string> {
  if (hosts === 'host') return readFile('/etc/hosts', 'utf8').catch(() => '');
  const base = `127.0.0.1\tlocalhost ${hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n`;
  return base + (hosts ?? []).map((h) => `${h.ip}\t${h.names.join(' ')}\n`).join('');
}

/** runc container ID of a pod's sandbox. */
export function sandboxContainerId(uuid: string): string {
  return `appc-${uuid}`;
}

/** runc container ID of one app of a pod. */
export function appContainerId(uuid: string, app: string): string {
  return `appc-${uuid}-${app}`;
}

/** The root of a pod's sandbox under its runtime directory `dir`. */
function sandboxRoot(dir: string): string {
  return join(dir, 'sandbox', 'rootfs');
}

/** Makes the empty root of a sandbox without runc under a pod's runtime directory `dir`, holding a copy of
 * catatonit (as runc would bind-mount it), and returns it. */
export async function makeSandboxRoot(dir: string, catatonit = DEFAULT_CATATONIT): Promise<string> {
  const root = sandboxRoot(dir);
  await mkdir(root, { recursive: true });
  await copyFile(catatonit, join(root, 'catatonit'), constants.COPYFILE_FICLONE);
  return root;
}

/** Starts a pod's sandbox without runc before its preparation, to overlap the two, when the pod manifest allows one
 * (no pod isolators; {@link preparePod} may still decide for runc when an app may ptrace, and
 * {@link runPreparedPod} then ends this one). Its namespaces, hostname and metadata forwarder are those
 * {@link runPreparedPod} would give it; `dir` is the pod's state directory given to {@link preparePod}. Undefined
 * when the pod needs runc's sandbox.
 * @throws {@link RuntimeError} `ERR_RUN_SANDBOX` (from the promise). */
export function startPodSandboxEarly(options: {
  pod: { uuid: string; manifest: PodManifest };
  dir: string;
  net?: PodNetwork;
  hostname?: string;
  catatonit?: string;
  metadataForward?: { socket: string; port: number };
}): Promise<SandboxProcess> | undefined {
  if ((options.pod.manifest.isolators ?? []).length > 0) return undefined;
  return (async () => {
    const root = await makeSandboxRoot(options.dir, options.catatonit);
    return startSandboxProcess({
      dir: options.dir,
      root,
      hostname: options.hostname ?? `appc-${options.pod.uuid}`,
      hostNetwork: options.net === 'host',
      forward: options.metadataForward,
    });
  })();
}

/** Writes everything a pod needs to start, and checks everything that can be checked before a container exists:
 * volumes (ACE-006, ACE-007), each app's OCI config (user, exec, working directory, isolators), strict mode.
 * Nothing is started; on failure the pod directory is removed again.
 * @throws {@link RuntimeError} any code of {@link createAppRuntimeConfig}, `ERR_RUN_VOLUME_SOURCE`, `ERR_RUN_STRICT`. */
export async function preparePod(options: PreparePodOptions): Promise<PreparedPod> {
  const { uuid, manifest } = options.pod;
  const host = options.host ?? (await detectHostFeatures());
  const hostNetwork = options.net === 'host';
  const hostname = options.hostname ?? `appc-${uuid}`;
  const catatonit = options.catatonit ?? DEFAULT_CATATONIT;
  const cgroupsPath = `/appc-${uuid}`;
  const dirExisted = existsSync(options.dir);
  await mkdir(options.dir, { recursive: true });
  try {
    if (!existsSync(catatonit)) {
      throw new RuntimeError(
        `catatonit not found at ${catatonit}; install it (apt-get install catatonit) or give its path.`,
        {
          code: 'ERR_RUN_SANDBOX',
          requirement: 'ACE-003',
          file: catatonit,
        },
      );
    }
    const locator = { emptyVolumesDir: join(options.dir, 'volumes') };
    const hostsFile = join(options.dir, 'hosts');
    const resolvConf = options.dns === undefined ? undefined : join(options.dir, 'resolv.conf');
    const sandboxBundle = join(options.dir, 'sandbox');
    // none of these depends on another
    await Promise.all([
      prepareVolumes(manifest, locator),
      hostsFileText(hostname, options.hosts).then((text) => writeFile(hostsFile, text, { mode: 0o644 })),
      resolvConf !== undefined && options.dns !== undefined
        ? resolvConfText(options.dns).then((text) => writeFile(resolvConf, text, { mode: 0o644 }))
        : undefined,
      mkdir(join(sandboxBundle, 'rootfs'), { recursive: true }),
    ]);
    const networkBandwidth =
      options.networkBandwidth ?? planNetworkBandwidth(manifest, hostNetwork ? 'host' : 'none');
    const sandbox = createSandboxRuntimeConfig({
      uuid,
      isolators: manifest.isolators ?? [],
      networkBandwidth,
      host,
      rootfs: join(sandboxBundle, 'rootfs'),
      catatonit,
      hostNetwork,
      hostname,
      cgroupsPath,
    });
    // Without pod isolators nothing needs the sandbox's cgroup or runc's other settings: catatonit is started
    // directly, chrooted into the sandbox's root (which holds a copy of it, as runc would bind-mount it).
    let processSandbox = (manifest.isolators ?? []).length === 0;
    const isolators = [...sandbox.isolators];
    const warnings: Issue[] = [];
    const apps: PreparedPod['apps'] = [];
    for (const podApp of manifest.apps) {
      const rootfs = byApp(options.rootfs, podApp.name);
      if (rootfs === undefined) {
        throw new RuntimeError(
          `app "${podApp.name}" has no rendered rootfs; pass one for every app of the pod.`,
          {
            code: 'ERR_RUN_ROOTFS',
            requirement: 'ACE-002',
            app: podApp.name,
          },
        );
      }
      const overlay = byApp(options.overlays, podApp.name);
      const made = await createAppRuntimeConfig({
        uuid,
        manifest,
        appName: podApp.name,
        rootfs,
        ...(overlay ? { overlay } : {}),
        volumes: locator,
        host,
        ...(options.metadataUrl === undefined ? {} : { metadataUrl: options.metadataUrl }),
        // The real PID is written in once the sandbox runs (runPreparedPod).
        sandboxPid: 0,
        hostNetwork,
        networkBandwidth,
        hostsFile,
        ...(options.hosts !== undefined ? { hostsOverImage: true } : {}),
        ...(resolvConf !== undefined ? { resolvConf } : {}),
        cgroupsPath: `${cgroupsPath}/${podApp.name}`,
        ...(options.insecure ? { insecure: options.insecure } : {}),
      });
      isolators.push(...made.isolators);
      const activation = activationSockets(podApp.app?.ports);
      if (activation.length > 0) applySocketActivation(made.config, podApp.name, activation);
      // An app that may ptrace could take over a catatonit that holds the host's capabilities and mounts; runc's
      // sandbox holds none of either.
      if (made.config.process.capabilities?.bounding?.includes('CAP_SYS_PTRACE')) processSandbox = false;
      warnings.push(...(await prepareMountTargets(manifest, podApp.name, rootfs, locator, overlay)));
      const bundle = join(options.dir, 'apps', podApp.name);
      await mkdir(bundle, { recursive: true });
      apps.push({
        name: podApp.name,
        id: appContainerId(uuid, podApp.name),
        bundle,
        config: made.config,
        handlers: made.handlers,
        ...(activation.length > 0 ? { activation } : {}),
      });
    }
    if (options.strict) {
      const bad = isolators.filter((i) => i.status !== 'enforced');
      if (bad.length > 0) {
        throw new RuntimeError(
          `strict mode: ${bad.length} isolator${bad.length === 1 ? ' is' : 's are'} not enforced as written: ` +
            `${bad.map((i) => `${i.app === undefined ? 'pod' : `app "${i.app}"`} ${i.name} ${i.status} (${i.detail})`).join('; ')}. ` +
            'Remove them or run without strict mode.',
          { code: 'ERR_RUN_STRICT', requirement: 'ISO-003' },
        );
      }
    }
    // (an early sandbox may already run it: a running binary cannot be written)
    if (processSandbox && !existsSync(join(sandboxBundle, 'rootfs', 'catatonit')))
      await copyFile(catatonit, join(sandboxBundle, 'rootfs', 'catatonit'), constants.COPYFILE_FICLONE);
    await Promise.all([
      writeFile(join(sandboxBundle, 'config.json'), JSON.stringify(sandbox.config, null, 2)),
      writeFile(join(options.dir, 'pod-manifest.json'), JSON.stringify(manifest, null, 2)),
    ]);
    return {
      uuid,
      dir: options.dir,
      manifest,
      runcRoot: options.runc.root,
      runcBinary: options.runc.binary ?? 'runc',
      sandbox: {
        id: sandboxContainerId(uuid),
        bundle: sandboxBundle,
        config: sandbox.config,
        ...(processSandbox ? { process: true } : {}),
      },
      apps,
      isolators,
      warnings,
      cgroupsPath,
    };
  } catch (error) {
    if (!dirExisted) await rm(options.dir, { recursive: true, force: true });
    else await rm(join(options.dir, 'volumes'), { recursive: true, force: true });
    throw error;
  }
}

function bounded(limit: number) {
  const chunks: Buffer[] = [];
  let size = 0;
  return {
    push(c: Buffer) {
      if (size >= limit) return;
      const part = c.subarray(0, limit - size);
      chunks.push(part);
      size += part.length;
    },
    text: () => Buffer.concat(chunks).toString('utf8'),
  };
}

/** A handler's container mounts the app's overlay ({@link RootfsOverlay}) with a work directory of its own: the
 * kernel refuses a second mount of a `volatile` work directory (the upper layer is shared, and the handler's
 * changes stay for the app, as ACE-014 wants). */
async function ownOverlayWorkdir(config: OciRuntimeSpec, phase: string): Promise<void> {
  const root = config.mounts?.[0];
  if (root?.destination !== '/' || root.type !== 'overlay') return;
  const options = root.options ?? [];
  const at = options.findIndex((o) => o.startsWith('workdir='));
  if (at < 0) return;
  const work = `${(options[at] as string).slice('workdir='.length)}-${phase}`;
  await mkdir(work, { recursive: true });
  options[at] = `workdir=${work}`;
}

/** Starts a prepared pod: the sandbox (`catatonit -P`, new pid/ipc/uts and network namespaces unless `host`,
 * ACE-003), then every app as a runc container joining them, all at once; each app's pre-start handler runs to
 * completion before its main process and its post-stop handler after it (ACE-014), each as a container of the
 * same config and rootfs; waits until every app ended and returns each exit status. The containers of apps that ended are gone; the sandbox still runs until
 * {@link destroyPod}.
 * @throws {@link RuntimeError} `ERR_RUN_SANDBOX` when the sandbox does not start, `ERR_RUN_RUNC` when runc fails
 * to start an app (the other apps are stopped first). */
export async function runPreparedPod(pod: PreparedPod, options: RunPodOptions = {}): Promise<PodResult> {
  const runc = new Runc({ root: pod.runcRoot, binary: pod.runcBinary });
  await mkdir(pod.runcRoot, { recursive: true });
  const hostNetwork = !pod.sandbox.config.linux.namespaces.some((n) => n.type === 'network');
  let sandboxPid: number;
  if (options.earlySandbox && !pod.sandbox.process) {
    // prepared for runc after all (an app may ptrace): the early one goes
    const early = await options.earlySandbox.catch(() => undefined);
    if (early) await killSandboxProcess(early);
    await rm(sandboxProcessFile(pod.dir), { force: true });
  }
  if (pod.sandbox.process && options.earlySandbox) {
    sandboxPid = (await options.earlySandbox).pid;
  } else if (pod.sandbox.process) {
    sandboxPid = (
      await startSandboxProcess({
        dir: pod.dir,
        root: pod.sandbox.config.root.path,
        hostname: pod.sandbox.config.hostname ?? `appc-${pod.uuid}`,
        hostNetwork,
        forward: options.metadataForward,
      })
    ).pid;
  } else {
    try {
      sandboxPid = await runc.runDetached(pod.sandbox.id, pod.sandbox.bundle, join(pod.dir, 'sandbox.log'));
      await moveSandboxToLeaf(pod.cgroupsPath, sandboxPid);
    } catch (cause) {
      throw new RuntimeError(`the pod sandbox did not start: ${(cause as Error).message}`, {
        code: 'ERR_RUN_SANDBOX',
        requirement: 'ACE-003',
        cause,
      });
    }
  }
  // readiness (ACE-016): the main process of an app that asks for it gets a notify socket of its own
  const receivers = new Map<string, NotifyReceiver>();
  const closeReceivers = () => Promise.all([...receivers.values()].map((r) => r.close()));
  try {
    for (const app of pod.apps) {
      if (options.notify?.apps.has(app.name))
        receivers.set(
          app.name,
          await listenForReadiness(`${pod.uuid}/${app.name}`, app.name, () =>
            options.notify?.onReady(app.name),
          ),
        );
    }
    // the network and the metadata forwarder are set up while the apps' configs are written
    await Promise.all([
      options.onSandboxStarted?.(sandboxPid, {
        metadataForwarded: pod.sandbox.process === true && options.metadataForward !== undefined,
      }),
      ...pod.apps.map((app) => {
        for (const ns of app.config.linux.namespaces) {
          if (ns.path !== undefined) ns.path = ns.path.replace(/^\/proc\/\d+\//, `/proc/${sandboxPid}/`);
        }
        const receiver = receivers.get(app.name);
        const config = receiver ? withNotifySocket(app.config, receiver) : app.config;
        if (options.interactive?.app === app.name) config.process.terminal = options.interactive.terminal;
        return writeFile(join(app.bundle, 'config.json'), JSON.stringify(config, null, 2));
      }),
    ]);
  } catch (e) {
    await closeReceivers();
    throw e;
  }

  const stdio = options.stdio ?? 'inherit';
  const limit = options.maxOutputBytes ?? 1024 * 1024;
  const target: StdioTarget = stdio === 'capture' ? 'pipe' : stdio;
  // The container each app runs right now (its pre-start handler, its main process or its post-stop handler).
  const current = new Map<string, string>();
  const mainRunning = new Set<string>();
  let stopped = false;

  const runApp = async (app: PreparedPod['apps'][number]): Promise<AppResult> => {
    const out = bounded(limit);
    const err = bounded(limit);
    const phase = async (name: 'main' | 'pre-start' | 'post-stop'): Promise<number> => {
      const id = name === 'main' ? app.id : `${app.id}.${name}`;
      const bundle = name === 'main' ? app.bundle : join(app.bundle, name);
      if (name !== 'main') {
        const config = structuredClone(app.config);
        config.process.args = app.handlers[name] as string[];
        config.process.terminal = false;
        withoutActivation(config);
        await mkdir(bundle, { recursive: true });
        await ownOverlayWorkdir(config, name);
        await writeFile(join(bundle, 'config.json'), JSON.stringify(config, null, 2));
      }
      // the main process gets its listening sockets, opened in the pod's network (ACE-015)
      const sockets =
        name === 'main' && app.activation
          ? await openActivationSockets(
              app.name,
              app.activation,
              hostNetwork ? undefined : `/proc/${sandboxPid}/ns/net`,
            )
          : undefined;
      const attached = name === 'main' && options.interactive?.app === app.name;
      let started: ReturnType<Runc['runForeground']>;
      try {
        started = runc.runForeground(
          id,
          bundle,
          join(pod.dir, `app-${app.name}.${name}.log`),
          attached
            ? { stdin: 'inherit', stdout: 'inherit', stderr: 'inherit' }
            : { stdout: target, stderr: target },
          sockets?.fds,
        );
      } finally {
        // runc holds its own copies once it is started
        sockets?.close();
      }
      current.set(app.name, id);
      if (name === 'main') mainRunning.add(app.name);
      if (stdio === 'capture' && !attached) {
        started.child.stdout?.on('data', (c: Buffer) => {
          out.push(c);
          options.onOutput?.(app.name, 'stdout', c);
        });
        started.child.stderr?.on('data', (c: Buffer) => {
          err.push(c);
          options.onOutput?.(app.name, 'stderr', c);
        });
      }
      try {
        return (await started.exit).exitCode;
      } finally {
        current.delete(app.name);
        mainRunning.delete(app.name);
        if (name === 'main') await receivers.get(app.name)?.close();
      }
    };
    const result: AppResult = { name: app.name, exitCode: 0 };
    const finish = () => {
      if (stdio === 'capture') {
        result.stdout = out.text();
        result.stderr = err.text();
      }
      return result;
    };
    if (stopped) {
      result.exitCode = 128 + 15;
      return finish();
    }
    // ACE-014: pre-start runs to completion first; a failure fails the app and its main process never starts.
    if (app.handlers['pre-start']) {
      result.preStartExitCode = await phase('pre-start');
      if (result.preStartExitCode !== 0) {
        result.exitCode = result.preStartExitCode;
        return finish();
      }
    }
    if (stopped) {
      result.exitCode = 128 + 15;
      return finish();
    }
    result.exitCode = await phase('main');
    // ACE-014: post-stop runs once the main process exited or was killed.
    if (app.handlers['post-stop']) result.postStopExitCode = await phase('post-stop');
    return finish();
  };

  let stopping: Promise<void> | undefined;
  const stop = (all: Promise<unknown>) => {
    stopped = true;
    stopping ??= (async () => {
      const timeout = options.stopTimeoutMs ?? 10_000;
      const until = Date.now() + timeout;
      // runc refuses a container it has not created yet (a stop that comes while an app starts): the signal is
      // given again until runc takes it or the app's run ended, not lost until the SIGKILL of the timeout
      const term = async (app: string, id: string) => {
        while (!(await runc.kill(id, 'TERM', true)) && current.get(app) === id && Date.now() < until)
          await new Promise((r) => setTimeout(r, 25));
      };
      await Promise.all([...current].map(([app, id]) => term(app, id)));
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), Math.max(0, until - Date.now()));
        timer.unref();
      });
      const first = await Promise.race([all, late]);
      if (timer) clearTimeout(timer);
      if (first === 'late') {
        await Promise.all([...current.values()].map((id) => runc.kill(id, 'KILL', true)));
      }
    })();
    return stopping;
  };
  // A signal already aborted: no app starts (each reports 143), the sandbox is still removed by the caller.
  if (options.signal?.aborted) stopped = true;
  const runs = pod.apps.map((app) => runApp(app));
  const all = Promise.allSettled(runs);
  // When runc fails for one app, the others are stopped rather than left running.
  for (const r of runs) r.catch(() => void stop(all));
  const onAbort = () => void stop(all);
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const settled = await all;
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed && failed.status === 'rejected') throw failed.reason;
    const apps = settled.map((s) => (s as PromiseFulfilledResult<AppResult>).value);
    return { uuid: pod.uuid, apps, isolators: pod.isolators };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    // the notify sockets of apps whose main process never ran (a failed pre-start, a stop, runc's failure)
    await closeReceivers();
  }
}

/** The cgroup of its own that a runc sandbox's init moves to on the unified hierarchy (cgroup v2). An app's name is
 * an AC Name, which has no `_`: none can be called so. */
const SANDBOX_LEAF_CGROUP = '_sandbox';

/** With cgroup v2, a cgroup whose children use controllers can hold no process itself: runc would create each
 * app's cgroup under the pod's without the controllers (its limits then fail: `memory.max: no such file or
 * directory`). The runc sandbox's init therefore leaves the pod's cgroup, which keeps the pod isolators' limits
 * and so still bounds every app's (ISO-001), for a leaf of its own. Nothing with cgroup v1. */
async function moveSandboxToLeaf(cgroupsPath: string, pid: number): Promise<void> {
  if (!unifiedCgroups()) return;
  const leaf = join('/sys/fs/cgroup', cgroupsPath, SANDBOX_LEAF_CGROUP);
  await mkdir(leaf, { recursive: true });
  await writeFile(join(leaf, 'cgroup.procs'), `${pid}\n`);
}

/** Every cgroup hierarchy mounted under /sys/fs/cgroup (each v1 controller, or the v2 root). */
async function cgroupRoots(): Promise<string[]> {
  if (unifiedCgroups()) return ['/sys/fs/cgroup'];
  // v1: one directory per hierarchy; the symbolic links (cpu -> cpu,cpuacct) name the same ones again
  const entries = await readdir('/sys/fs/cgroup', { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => join('/sys/fs/cgroup', e.name));
}

/** Removes a cgroup directory and the ones below it, deepest first (siblings side by side); only empty cgroups can
 * go. */
async function removeCgroupTree(path: string): Promise<void> {
  const entries = await readdir(path, { withFileTypes: true }).catch(() => undefined);
  if (!entries) return;
  await Promise.all(entries.filter((e) => e.isDirectory()).map((e) => removeCgroupTree(join(path, e.name))));
  await rmdir(path).catch(() => undefined);
}

/** What {@link destroyPod} needs to find a pod's leftovers. */
export interface DestroyPodTarget {
  uuid: string;
  dir: string;
  runcRoot: string;
  runcBinary?: string;
  /** App names, so that their containers are found even when the pod directory is gone. */
  apps?: readonly { name: string }[];
}

/** Stops and removes everything of a pod: its app containers and sandbox (SIGKILL, then `runc delete`), the cgroups
 * left under `/appc-<uuid>` in every hierarchy, and, unless `keepDir`, its state directory with its empty volumes
 * (ACE-007). Safe to call more than once, and on a pod that never started.
 * @throws {@link RuntimeError} `ERR_RUN_RUNC` when runc cannot delete a container. */
export async function destroyPod(pod: DestroyPodTarget, options: { keepDir?: boolean } = {}): Promise<void> {
  const runc = new Runc({
    root: pod.runcRoot,
    ...(pod.runcBinary === undefined ? {} : { binary: pod.runcBinary }),
  });
  const prefix = `appc-${pod.uuid}`;
  // runc keeps one directory per container under its root: reading it is cheaper than `runc list`.
  const known = await readdir(pod.runcRoot).catch(() => [] as string[]);
  const ids = new Set<string>(known.filter((id) => id.startsWith(prefix)));
  for (const a of pod.apps ?? []) ids.add(appContainerId(pod.uuid, a.name));
  const sandbox = sandboxContainerId(pod.uuid);
  ids.delete(sandbox);
  // Killing the sandbox's init (PID 1 of the pod's PID namespace) ends every app process too; the containers are
  // then stopped and deleted side by side.
  const sandboxProcess = await readSandboxProcess(pod.dir);
  const removeCgroups = async () => {
    // every hierarchy at once (cgroup v1 has a dozen)
    await Promise.all((await cgroupRoots()).map((root) => removeCgroupTree(join(root, prefix))));
  };
  if (sandboxProcess) {
    // a sandbox without runc is in none of the pod's cgroups: the apps' containers (each killed and waited for
    // by runc delete) and then the cgroups go while it dies
    await Promise.all([
      killSandboxProcess(sandboxProcess),
      Promise.all([...ids].map((id) => runc.delete(id, true))).then(removeCgroups),
    ]);
    await runc.delete(sandbox, true); // none, unless an earlier runner had prepared one
  } else {
    // a sandbox whose runner died before recording it (kill -9 right after it started) is found by its root
    const root = sandboxRoot(pod.dir);
    if (existsSync(root)) await killUnrecordedSandbox(root);
    await runc.killInit(sandbox);
    await Promise.all([...ids].map((id) => runc.delete(id, true)));
    await runc.delete(sandbox, true);
    await removeCgroups();
  }
  if (!options.keepDir) await rm(pod.dir, { recursive: true, force: true });
}

/** Prepares, runs and destroys a pod in one call: the library form of `appc run`. The pod is destroyed however
 * the run ends (success, failure, abort).
 * @example
 * ```ts
 * const pod = reifyPod([{ image: { id, manifest }, exec: ['/bin/echo', 'hello'] }]);
 * const result = await runPod({ pod, rootfs: { [pod.manifest.apps[0].name]: '/tmp/rootfs' },
 *   dir: `/run/appc/pods/${pod.uuid}`, runc: { root: '/run/appc/runc' } });
 * process.exitCode = result.apps.find((a) => a.exitCode !== 0)?.exitCode ?? 0;
 * ```
 * @throws {@link RuntimeError} any code of {@link preparePod} and {@link runPreparedPod}. */
export async function runPod(options: PreparePodOptions & RunPodOptions): Promise<PodResult> {
  const prepared = await preparePod(options);
  try {
    return await runPreparedPod(prepared, options);
  } finally {
    await destroyPod(prepared);
  }
}
