// `appc run` as a library: a reified pod, its images' trees from the store, each app's rootfs an overlay, a
// record on disk, the metadata service, the network, runc; and everything undone when the pod ends.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { type ImageManifest, type Issue, serializePodManifest } from '@appc/schema';
import type { Store } from '@appc/store';
import { addPodNetwork, type PodNetworkOptions, type PortMapping, removePodNetwork } from './cni.ts';
import { RuntimeError } from './errors.ts';
import { detectHostFeatures, usesBlockDevices } from './host-features.ts';
import { loadHmacKey, MetadataService } from './metadata-service.ts';
import { planNetworkBandwidth } from './network-bandwidth.ts';
import { supportsSystemdNotify } from './notify.ts';
import {
  type AppResult,
  destroyPod,
  makeSandboxRoot,
  type PodResult,
  type PreparePodOptions,
  preparePod,
  type RunPodOptions,
  runPreparedPod,
  startPodSandboxEarly,
} from './pod.ts';
import {
  appRootfs,
  currentOwner,
  listPods,
  ownerAlive,
  type PodRecord,
  podDir,
  podEvent,
  readPodRecord,
  releasePodFiles,
  releasePodRootfs,
  removePodDir,
  writePodRecord,
} from './pods.ts';
import type { ReifiedPod } from './reify.ts';
import { killSandboxProcess, type SandboxProcess, startSandboxProcess } from './sandbox.ts';

/** The port of the metadata service inside every pod with its own network namespace (rkt's port). */
export const METADATA_PORT = 18112;

/** The image ID a reified pod pins for an app (POD-011). */
function imageIdOf(app: { name: string; image: { id?: string | undefined } }): string {
  if (app.image.id === undefined)
    throw new RuntimeError(`app "${app.name}" has no image ID; reify the pod first.`, {
      code: 'ERR_RUN_INVALID_POD_MANIFEST',
      requirement: 'POD-011',
      app: app.name,
    });
  return app.image.id;
}

/** The host ports a pod asks for (POD-010): each exposed port to the app port of that name (from the pod app's
 * own `app`, else its image's), or to its `podPort`. */
export function portMappings(pod: ReifiedPod): PortMapping[] {
  const out: PortMapping[] = [];
  for (const exposed of pod.manifest.ports ?? []) {
    let port = exposed.podPort;
    if (!port) {
      for (const a of pod.manifest.apps) {
        const ports =
          a.app?.ports ?? (pod.images.get(imageIdOf(a)) as ImageManifest | undefined)?.app?.ports ?? [];
        port = ports.find((p) => p.name === exposed.name);
        if (port) break;
      }
    }
    if (!port)
      throw new RuntimeError(`port "${exposed.name}" is exposed but no app of the pod declares it.`, {
        code: 'ERR_RUN_UNKNOWN_PORT',
        requirement: 'POD-010',
      });
    const protocol = port.protocol === 'udp' ? 'udp' : 'tcp';
    const count = port.count ?? 1;
    for (let i = 0; i < count; i++)
      out.push({
        hostPort: exposed.hostPort + i,
        containerPort: port.port + i,
        protocol,
        ...(exposed.hostIP ? { hostIP: exposed.hostIP } : {}),
      });
  }
  return out;
}

/** The record of a reified pod not started yet (state `prepared`): `appc prepare` writes it as it is, and
 * {@link runStoredPod} adds its process, ports and metadata token. */
export function podRecordOf(
  pod: ReifiedPod,
  settings: Pick<PodRecord, 'net' | 'name' | 'hostname' | 'dns' | 'hosts'>,
): PodRecord {
  return {
    uuid: pod.uuid,
    ...(settings.name !== undefined ? { name: settings.name } : {}),
    ...(settings.hostname !== undefined ? { hostname: settings.hostname } : {}),
    ...(settings.dns !== undefined ? { dns: settings.dns } : {}),
    ...(settings.hosts !== undefined ? { hosts: settings.hosts } : {}),
    state: 'prepared',
    createdAt: new Date().toISOString(),
    net: settings.net,
    apps: pod.manifest.apps.map((a) => ({
      name: a.name,
      imageId: imageIdOf(a),
      imageName: a.image.name ?? pod.images.get(imageIdOf(a))?.name ?? '',
      ...(supportsSystemdNotify(a.annotations, pod.images.get(imageIdOf(a))?.annotations)
        ? { notify: true }
        : {}),
    })),
  };
}

/** Options of {@link runStoredPod}. */
export interface RunStoredPodOptions {
  /** The state root (`appc --dir`): pods under `pods/`, runc state under `runc/`, the metadata key. */
  stateDir: string;
  /** The image store; the apps' trees are rendered into its tree cache (ACE-002). */
  store: Store;
  /** The reified pod ({@link reifyPod} or {@link reifyPodManifest}). */
  pod: ReifiedPod;
  /** `host`, `none` (loopback only) or `default` (the CNI ptp network); default `default` (ACE-008). */
  net?: 'host' | 'none' | 'default';
  /** Host ports forwarded to the pod's ports (`default` network only); default {@link portMappings} of the pod. */
  ports?: readonly PortMapping[];
  /** A name for the pod besides its UUID. */
  name?: string;
  /** The pod's hostname; default `appc-<uuid>`. */
  hostname?: string;
  /** DNS settings for the apps' `/etc/resolv.conf` ({@link PreparePodOptions.dns}). */
  dns?: PreparePodOptions['dns'];
  /** Extra entries of the apps' `/etc/hosts`, or `host` ({@link PreparePodOptions.hosts}). */
  hosts?: PreparePodOptions['hosts'];
  /** The app attached to this process's stdin, stdout and stderr, with a terminal of its own or not
   * ({@link RunPodOptions.interactive}); its output is not kept in the pod's logs. */
  interactive?: RunPodOptions['interactive'];
  /** Refuse isolators that cannot be enforced as written (ISO-003). */
  strict?: boolean;
  /** Protections of the apps turned off ({@link PreparePodOptions.insecure}). */
  insecure?: PreparePodOptions['insecure'];
  /** Where the apps write: the CLI's streams (ACE-009). Each app's output is also kept in the pod's logs. */
  stdout?: Writable;
  stderr?: Writable;
  /** Ends the pod: SIGTERM to the apps, SIGKILL after `stopTimeoutMs`. */
  signal?: AbortSignal;
  stopTimeoutMs?: number;
  /** Called when the pod's record exists (for `--uuid-file-save`). */
  onCreated?: (record: PodRecord) => void | Promise<void>;
  /** Called, before any app starts, with each thing the pod's setup decided on its own that the user should know
   * ({@link PreparedPod.warnings}: a mount over a file of the image, a mount that hides a directory's contents;
   * ACE-005). */
  onWarning?: (warning: Issue) => void;
  /** The runc binary; default `runc`. */
  runcBinary?: string;
  /** The pod's sandbox, started by {@link startPodEarly} with this pod's UUID while its images were looked up;
   * this run takes it over (and ends it when it cannot use it: a pod that needs runc's sandbox, other settings). */
  early?: EarlyPod;
}

/** A pod started before it is reified ({@link startPodEarly}): its UUID, a provisional record and its sandbox. */
export interface EarlyPod {
  readonly uuid: string;
  readonly stateDir: string;
  readonly net: 'host' | 'none' | 'default';
  readonly hostname: string | undefined;
  /** The sandbox process, or undefined when it did not start (the run then starts one the usual way and reports
   * why it could not). */
  readonly sandbox: Promise<SandboxProcess | undefined>;
  /** Ends the sandbox and removes the pod's directory, for a run given up before {@link runStoredPod} took the pod
   * over (an image not found, bad flags); nothing once it did. */
  cancel(): Promise<void>;
}

/** Starts a pod's sandbox (`catatonit -P` in the pod's namespaces, with its metadata forwarder) before the pod is
 * reified, so that its start overlaps the image lookup and the pod's preparation: give the UUID to the reification
 * ({@link reifyPod}'s `uuid`) and the result to {@link runStoredPod} as `early`. Resolves as soon as the sandbox's
 * process is spawned (before it runs). A provisional record (state `prepared`, owned by this process, no apps yet)
 * is written first, so that `appc gc` finds the sandbox if this process is killed before the run records the pod.
 * A pod with pod isolators, or whose apps may ptrace, needs runc's sandbox instead: the run then ends this one.
 * @example
 * const early = await startPodEarly({ stateDir: '/var/lib/appc', net: 'none' });
 * try {
 *   const pod = await reifyPod([{ image: { id, manifest } }], { uuid: early.uuid });
 *   await runStoredPod({ stateDir: '/var/lib/appc', store, pod, net: 'none', early });
 * } finally {
 *   await early.cancel(); // nothing once runStoredPod took it over
 * } */
export async function startPodEarly(options: {
  stateDir: string;
  net?: 'host' | 'none' | 'default';
  hostname?: string | undefined;
  catatonit?: string;
  /** The record of a pod `appc prepare` made (state `prepared`, no owner): its sandbox starts under its UUID and
   * the record is owned by this process meanwhile; `cancel()` then gives the record back as it was and keeps the
   * pod. */
  prepared?: PodRecord;
}): Promise<EarlyPod> {
  const prepared = options.prepared;
  const uuid = prepared?.uuid ?? randomUUID();
  const net = options.net ?? 'default';
  const dir = podDir(options.stateDir, uuid);
  const runtime = join(dir, 'runtime');
  let sandbox: Promise<SandboxProcess | undefined>;
  const createdAt = prepared?.createdAt ?? new Date().toISOString();
  let owner: PodRecord['owner'];
  try {
    // the record first (gc goes by it), the sandbox's root meanwhile
    const [, root] = await Promise.all([
      currentOwner().then(async (o) => {
        await writePodRecord(
          options.stateDir,
          prepared
            ? { ...prepared, owner: o }
            : { uuid, state: 'prepared', createdAt, net, owner: o, apps: [] },
        );
        owner = o;
      }),
      makeSandboxRoot(runtime, options.catatonit),
    ]);
    const forward =
      net !== 'host' && onPath('socat') ? { socket: join(dir, 'mds.sock'), port: METADATA_PORT } : undefined;
    sandbox = startSandboxProcess({
      dir: runtime,
      root,
      hostname: options.hostname ?? `appc-${uuid}`,
      hostNetwork: net === 'host',
      forward,
    }).catch(() => undefined);
  } catch {
    // the run starts it the usual way, and reports why it cannot
    sandbox = Promise.resolve(undefined);
  }
  let claimed = false;
  const claim = () => {
    const first = !claimed;
    claimed = true;
    return first;
  };
  const early: EarlyPod = {
    uuid,
    stateDir: options.stateDir,
    net,
    hostname: options.hostname,
    sandbox,
    async cancel() {
      if (!claim()) return;
      const s = await sandbox;
      if (s) await killSandboxProcess(s);
      if (!prepared) await removePodDir(options.stateDir, uuid);
      else {
        // the prepared pod stays, as it was
        await rm(runtime, { recursive: true, force: true });
        await writePodRecord(options.stateDir, prepared);
      }
    },
  };
  earlyStates.set(early, { claim, createdAt, owner });
  return early;
}

/** What only {@link runStoredPod} reads of an early pod: whether a run took it over already, and its provisional
 * record's creation time and owner. */
const earlyStates = new WeakMap<
  EarlyPod,
  { claim(): boolean; createdAt: string; owner: PodRecord['owner'] | undefined }
>();

/** What {@link runStoredPod} returns: each app's exit status and the isolator report. */
export interface StoredPodResult extends PodResult {
  record: PodRecord;
}

const FORWARDER = `
const net = require('node:net');
const [sock, port] = process.argv.slice(1);
const server = net.createServer((c) => {
  const u = net.connect(sock);
  c.pipe(u).pipe(c);
  c.on('error', () => u.destroy());
  u.on('error', () => c.destroy());
});
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

const SOCAT_FORWARDER =
  'socat -d -d TCP-LISTEN:"$2",bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:"$1" & pid=$!; cat >/dev/null; kill $pid';

function onPath(program: string): boolean {
  return (process.env.PATH ?? '/usr/bin:/bin')
    .split(':')
    .some((d) => d !== '' && existsSync(join(d, program)));
}

/** Starts the metadata forwarder inside the pod's network namespace: 127.0.0.1:METADATA_PORT there reaches the
 * service's unix socket here (META-001 in every network mode). socat when installed (it starts in a few
 * milliseconds), else a small Node program. Either ends when its stdin closes, that is when this process ends,
 * however it ends (`kill -9` included). */
async function startForwarder(sandboxPid: number, socket: string): Promise<ChildProcess> {
  const ns = `--net=/proc/${sandboxPid}/ns/net`;
  const socat = onPath('socat');
  const child = socat
    ? spawn('nsenter', [ns, '--', 'sh', '-c', SOCAT_FORWARDER, 'forwarder', socket, String(METADATA_PORT)], {
        stdio: ['pipe', 'ignore', 'pipe'],
      })
    : spawn('nsenter', [ns, '--', process.execPath, '-e', FORWARDER, socket, String(METADATA_PORT)], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${err.trim()}`)));
    child.stderr?.on('data', (d) => {
      err += d;
      if (socat && err.includes('listening on')) resolve();
      // socat failed (its `E` lines) while the shell around it waits on stdin: that must not be waited for
      else if (socat && / E /.test(err)) reject(new Error(err.trim()));
    });
    if (!socat) child.stdout?.once('data', () => resolve());
  }).catch((e: Error) => {
    child.stdin?.end();
    throw new RuntimeError(`the metadata service could not be reached from the pod: ${e.message}`, {
      code: 'ERR_RUN_SANDBOX',
      requirement: 'META-001',
    });
  });
  child.removeAllListeners('exit');
  child.stderr?.removeAllListeners('data');
  child.stderr?.resume();
  return child;
}

/** Runs a pod to its end, kept on disk under `stateDir/pods/<uuid>` (the record `appc status` and `appc list`
 * read, its logs for `appc logs`): renders each image's tree once in the store's tree cache and gives each app an
 * overlay over it (ACE-002), registers the pod with a metadata service of its own (the host's HMAC key, so
 * signatures verify across pods; META-001..META-012), sets up the network (host, none, or the CNI `default`
 * network with ports forwarded; ACE-008), and runs it on runc. However the run ends (exit, failure, abort), the
 * containers, cgroups, mounts, network and the rootfs are removed; the record, manifest and logs stay until
 * `appc rm` or `appc gc`.
 * @throws {@link RuntimeError} as {@link preparePod} and {@link runPreparedPod}, `ERR_RUN_NETWORK`,
 * `ERR_RUN_POD_NAME`. */
export async function runStoredPod(options: RunStoredPodOptions): Promise<StoredPodResult> {
  const { stateDir, pod } = options;
  const uuid = pod.uuid;
  const net = options.net ?? 'default';
  // a sandbox started for this very pod, with the settings it runs with, is taken over once the run is set up
  // (until then a failure here leaves it to the caller's cancel()); any other is ended
  const e = options.early;
  const fits =
    e !== undefined &&
    e.uuid === uuid &&
    e.stateDir === stateDir &&
    e.net === net &&
    e.hostname === options.hostname;
  if (e && !fits) await e.cancel();
  const state = fits && e ? earlyStates.get(e) : undefined;
  const mapped = options.ports ?? portMappings(pod);
  if (mapped.length > 0 && net !== 'default')
    throw new RuntimeError(`ports are forwarded only on the default network, not with --net=${net}.`, {
      code: 'ERR_RUN_UNKNOWN_PORT',
      requirement: 'POD-010',
    });
  const dir = podDir(stateDir, uuid);
  let released: Promise<void> | undefined;
  // once, whichever way the run ends: the mounts, the bundles and the metadata socket
  const releaseFiles = () =>
    (released ??= Promise.all([
      releasePodFiles(stateDir, uuid),
      rm(join(dir, 'mds.sock'), { force: true }).catch(() => undefined),
    ]).then(() => undefined));
  // what the host supports (cgroups, AppArmor, SELinux, and the block devices when an isolator throttles them: the
  // reified pod's apps carry their isolators) is read while the pod is set up
  const host = detectHostFeatures({ blockDevices: usesBlockDevices(pod.manifest) });
  host.catch(() => undefined);
  const token = randomBytes(32).toString('hex');
  // an early start wrote a provisional record (its creation time and owner are this run's) and made the directory
  const provisional = state?.owner ? state : undefined;
  const [previous, owner] = provisional
    ? [provisional, provisional.owner]
    : await Promise.all([readPodRecord(stateDir, pod.uuid), currentOwner()]);
  const record: PodRecord = {
    ...podRecordOf(pod, { ...options, net }),
    createdAt: previous?.createdAt ?? new Date().toISOString(),
    ...(mapped.length > 0 ? { ports: [...mapped] } : {}),
    owner,
    metadataToken: token,
  };
  const recorded = writePodRecord(stateDir, record);
  if (!provisional) await recorded;
  // the pod's manifest stays beside its record (appc cat-manifest, appc export), as prepare leaves it; the
  // caller's hook and the key are read meanwhile
  const [hmacKey] = await Promise.all([
    loadHmacKey(join(stateDir, 'metadata', 'hmac.key')),
    writeFile(join(dir, 'pod-manifest.json'), serializePodManifest(pod.manifest, { indent: 2 })),
    recorded.then(() => options.onCreated?.(record)),
  ]);
  const mds = new MetadataService({ hmacKey });
  const logs = new Map<string, { out: WriteStream; err: WriteStream }>();
  let forwarder: ChildProcess | undefined;
  let early: Promise<SandboxProcess> | undefined;
  let networkUp = false;
  let readyWrites: Promise<unknown> = Promise.resolve();
  const runcRoot = join(stateDir, 'runc');
  const cni: PodNetworkOptions = {
    containerId: uuid,
    netns: '',
    ipamDataDir: join(stateDir, 'cni'),
    ...(mapped.length > 0 ? { ports: mapped } : {}),
  };
  try {
    // A sandbox without runc starts first, while the metadata service listens, the rootfs are mounted and the
    // pod prepared; it starts socat itself, whose forwarder connects to the service's socket only for each
    // connection an app makes.
    const socket = join(dir, 'mds.sock');
    const forward = net !== 'host' && onPath('socat') ? { socket, port: METADATA_PORT } : undefined;
    const startEarly = () =>
      startPodSandboxEarly({
        pod: { uuid, manifest: pod.manifest },
        dir: join(dir, 'runtime'),
        net: net === 'host' ? 'host' : 'none',
        ...(options.hostname !== undefined ? { hostname: options.hostname } : {}),
        ...(forward ? { metadataForward: forward } : {}),
      });
    // one started before the pod was reified is used as it is (runPreparedPod ends it when the pod needs runc's
    // sandbox); when it could not start, it is tried again here, and fails with its reason
    const taken = e && state?.claim() ? e.sandbox : undefined;
    early = taken ? taken.then((s) => s ?? (startEarly() as Promise<SandboxProcess>)) : startEarly();
    early?.catch(() => undefined);

    // the metadata service: its unix socket for the forwarder, or loopback for a pod on the host's network; it
    // starts listening while the rootfs are made
    const listening =
      net === 'host'
        ? mds.listen(0, '127.0.0.1').then(({ port }) => `http://127.0.0.1:${port}/${token}`)
        : mds.listenUnix(socket).then(() => `http://127.0.0.1:${METADATA_PORT}/${token}`);
    listening.catch(() => undefined); // awaited below
    mds.register(
      {
        uuid,
        manifest: pod.manifest,
        apps: new Map(
          pod.manifest.apps.map((a) => [
            a.name,
            { imageManifest: pod.images.get(imageIdOf(a)) as ImageManifest, imageId: imageIdOf(a) },
          ]),
        ),
      },
      { token },
    );

    // each app's root filesystem over the image's cached tree (rendering marks the image used), all at once
    // @appc/store's code is loaded here, not with this module: `appc run` starts the sandbox before it
    const { TreeStore } = await import('@appc/store');
    const trees = new TreeStore(options.store);
    const made = await Promise.all(
      pod.manifest.apps.map(async (app) => {
        const tree = await trees.render(imageIdOf(app));
        return { app: app.name, ...(await appRootfs(stateDir, uuid, app.name, tree.rootfs)) };
      }),
    );
    const metadataUrl = await listening;
    // the interface's shaping (ISO-018) goes into the record before the network exists, so that gc can undo it
    const networkBandwidth = planNetworkBandwidth(pod.manifest, net);
    if (networkBandwidth.shaping) {
      cni.bandwidth = networkBandwidth.shaping;
      record.bandwidth = { ...networkBandwidth.shaping };
    }
    const rootfs = new Map(made.map((m) => [m.app, m.rootfs]));
    const overlays = new Map(made.flatMap((m) => (m.overlay ? [[m.app, m.overlay] as const] : [])));
    const prepared = await preparePod({
      host: await host,
      overlays,
      pod: { uuid, manifest: pod.manifest },
      rootfs,
      dir: join(dir, 'runtime'),
      runc: { root: runcRoot, ...(options.runcBinary ? { binary: options.runcBinary } : {}) },
      net: net === 'host' ? 'host' : 'none',
      networkBandwidth,
      metadataUrl,
      ...(options.hostname !== undefined ? { hostname: options.hostname } : {}),
      ...(options.dns !== undefined ? { dns: options.dns } : {}),
      ...(options.hosts !== undefined ? { hosts: options.hosts } : {}),
      ...(options.strict ? { strict: true } : {}),
      ...(options.insecure ? { insecure: options.insecure } : {}),
    });
    for (const w of prepared.warnings) options.onWarning?.(w);
    record.state = 'running';
    record.startedAt = new Date().toISOString();
    await Promise.all([
      mkdir(join(dir, 'logs'), { recursive: true }).then(() => {
        for (const app of pod.manifest.apps) {
          logs.set(app.name, {
            out: createWriteStream(join(dir, 'logs', `${app.name}.stdout`)),
            err: createWriteStream(join(dir, 'logs', `${app.name}.stderr`)),
          });
        }
      }),
      writePodRecord(stateDir, record),
      podEvent(stateDir, uuid, `running, net ${net}`),
    ]);
    let result: PodResult | undefined;
    try {
      result = await runPreparedPod(prepared, {
        stdio: 'capture',
        maxOutputBytes: 0,
        onOutput: (app, stream, chunk) => {
          const log = logs.get(app);
          (stream === 'stdout' ? log?.out : log?.err)?.write(chunk);
          (stream === 'stdout' ? options.stdout : options.stderr)?.write(chunk);
        },
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.stopTimeoutMs !== undefined ? { stopTimeoutMs: options.stopTimeoutMs } : {}),
        ...(forward ? { metadataForward: forward } : {}),
        ...(early ? { earlySandbox: early } : {}),
        ...(options.interactive ? { interactive: options.interactive } : {}),
        notify: {
          apps: new Set(record.apps.filter((a) => a.notify).map((a) => a.name)),
          onReady: (name) => {
            const app = record.apps.find((a) => a.name === name);
            if (!app) return;
            app.ready = true;
            // the record is rewritten whole: the pod's last write waits for this one, so it keeps it too
            readyWrites = readyWrites
              .then(() =>
                Promise.all([
                  writePodRecord(stateDir, record),
                  podEvent(stateDir, uuid, `app ${name} ready`),
                ]),
              )
              .catch(() => undefined);
          },
        },
        onSandboxStarted: async (pid, sandbox) => {
          if (net === 'default') {
            cni.netns = `/proc/${pid}/ns/net`;
            const address = await addPodNetwork(cni);
            networkUp = true;
            record.address = address.address;
            await writePodRecord(stateDir, record);
          }
          if (net !== 'host' && !sandbox.metadataForwarded) forwarder = await startForwarder(pid, socket);
        },
      });
    } finally {
      await early?.catch(() => undefined);
      // The forwarder ends once its stdin closes; nothing waits for it. The network, the containers and the
      // metadata service go side by side.
      stopForwarder(forwarder);
      forwarder = undefined;
      await Promise.all([
        networkUp ? removePodNetwork(cni).catch(() => undefined) : undefined,
        destroyPod(prepared, { keepDir: true }),
        mds.close(),
        // every app ended (a result), so nothing uses their root filesystems: they go meanwhile
        result ? releasePodRootfs(stateDir, uuid) : undefined,
      ]);
      networkUp = false;
    }
    const byName = new Map<string, AppResult>(result.apps.map((a) => [a.name, a]));
    for (const a of record.apps) a.exitCode = byName.get(a.name)?.exitCode;
    await readyWrites;
    record.state = 'exited';
    record.finishedAt = new Date().toISOString();
    // Nothing runs any more: the record and the release of the pod's files do not depend on each other.
    await Promise.all([writePodRecord(stateDir, record), releaseFiles()]);
    return { ...result, record };
  } catch (error) {
    stopForwarder(forwarder);
    await readyWrites;
    record.state = 'aborted';
    record.finishedAt = new Date().toISOString();
    record.error = (error as Error).message;
    await early?.catch(() => undefined); // so that destroyPod finds it
    await writePodRecord(stateDir, record).catch(() => undefined);
    await destroyPod(
      { uuid, dir: join(dir, 'runtime'), runcRoot, apps: record.apps },
      { keepDir: true },
    ).catch(() => undefined);
    throw error;
  } finally {
    for (const l of logs.values()) {
      l.out.end();
      l.err.end();
    }
    await Promise.all([mds.close(), releaseFiles()]);
  }
}

/** Closes a forwarder's stdin, which ends it, and lets this process exit without waiting for it. */
function stopForwarder(forwarder: ChildProcess | undefined): void {
  if (!forwarder) return;
  forwarder.stdin?.end();
  forwarder.unref();
  (forwarder.stderr as Socket | null)?.unref();
  (forwarder.stdout as Socket | null)?.unref();
}

/** Removes what is left of a pod that no process runs any more (its runner was killed, or it never started):
 * containers, cgroups, the network and its forwards, mounts. The record, manifest and logs stay. */
export async function cleanupPod(
  stateDir: string,
  pod: PodRecord,
  options: { runcBinary?: string | undefined } = {},
): Promise<void> {
  const dir = podDir(stateDir, pod.uuid);
  await destroyPod(
    {
      uuid: pod.uuid,
      dir: join(dir, 'runtime'),
      runcRoot: join(stateDir, 'runc'),
      apps: pod.apps,
      ...(options.runcBinary ? { runcBinary: options.runcBinary } : {}),
    },
    { keepDir: true },
  ).catch(() => undefined);
  if (pod.net === 'default')
    await removePodNetwork({
      containerId: pod.uuid,
      netns: '',
      ipamDataDir: join(stateDir, 'cni'),
      ...(pod.ports ? { ports: pod.ports } : {}),
      ...(pod.bandwidth ? { bandwidth: pod.bandwidth } : {}),
    }).catch(() => undefined);
  await releasePodFiles(stateDir, pod.uuid);
}

/** Removes a pod that is not running: cleans up what is left ({@link cleanupPod}) and deletes its directory.
 * @throws {@link RuntimeError} `ERR_RUN_POD_STATE` when the pod runs (stop it first). */
export async function removePod(
  stateDir: string,
  pod: PodRecord,
  options: { runcBinary?: string | undefined } = {},
): Promise<void> {
  if (pod.state === 'running' || (pod.state === 'prepared' && (await ownerAlive(pod.owner))))
    throw new RuntimeError(`pod ${pod.uuid} is running; stop it first (appc stop ${pod.uuid}).`, {
      code: 'ERR_RUN_POD_STATE',
    });
  await cleanupPod(stateDir, pod, options);
  await removePodDir(stateDir, pod.uuid);
}

/** What {@link gcPods} did. */
export interface PodGcReport {
  /** Pods removed (exited or aborted for longer than the grace period). */
  removed: string[];
  /** Pods whose process had died: their containers, network and mounts were cleaned up. */
  cleaned: string[];
}

/** Cleans up after pods whose process died (`kill -9` of `appc run`): containers, cgroups, network, mounts; and
 * removes exited and aborted pods that ended more than `gracePeriodMs` ago (default 30 min, as rkt's gc).
 * Running pods, and prepared pods nobody runs yet, are left alone. */
export async function gcPods(
  stateDir: string,
  options: {
    gracePeriodMs?: number;
    /** Prepared pods no process has started are removed this long after they were prepared (default 24 h). */
    expirePreparedMs?: number;
    /** Clean up after dead pods, remove nothing. */
    cleanOnly?: boolean;
    now?: Date;
    runcBinary?: string;
  } = {},
): Promise<PodGcReport> {
  const grace = options.gracePeriodMs ?? 30 * 60 * 1000;
  const expirePrepared = options.expirePreparedMs ?? 24 * 60 * 60 * 1000;
  const now = (options.now ?? new Date()).getTime();
  const report: PodGcReport = { removed: [], cleaned: [] };
  for (const pod of await listPods(stateDir)) {
    if (pod.state === 'running') continue;
    if (pod.state === 'prepared') {
      // one that run-prepared is starting has an owner; one left alone expires, as rkt's did
      if (pod.owner !== undefined || options.cleanOnly) continue;
      if (now - Date.parse(pod.createdAt) >= expirePrepared) {
        await removePodDir(stateDir, pod.uuid);
        report.removed.push(pod.uuid);
      }
      continue;
    }
    if (pod.state === 'aborted') {
      await cleanupPod(stateDir, pod, options);
      report.cleaned.push(pod.uuid);
    }
    if (options.cleanOnly) continue;
    const ended = Date.parse(pod.finishedAt ?? pod.startedAt ?? pod.createdAt);
    if (now - ended >= grace) {
      await removePodDir(stateDir, pod.uuid);
      report.removed.push(pod.uuid);
    }
  }
  return report;
}
