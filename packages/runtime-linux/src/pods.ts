// Pods kept on disk under a state root, as rkt kept them: each pod has a directory with its record (pod.json), its
// reified manifest, the runc bundles, the apps' root filesystems (overlays over the tree cache) and its logs.
// The record says what state the pod is in; a pod whose owning process died is found and cleaned by gc.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { release } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isAcName } from '@appc/schema';
import { RuntimeError } from './errors.ts';
import { procStatFields } from './internal/proc-stat.ts';
import type { RootfsOverlay } from './runtime-config.ts';

const run = promisify(execFile);

/** Where a pod is in its life (rkt's states, fewer of them). */
export type PodState = 'prepared' | 'running' | 'exited' | 'aborted';

/** What `status` shows of one app. */
export interface PodAppRecord {
  name: string;
  imageId: string;
  imageName: string;
  /** Set once the app ended. */
  exitCode?: number | undefined;
  /** The app reports readiness with sd_notify (ACE-016); `ready` once it did. */
  notify?: boolean | undefined;
  ready?: boolean | undefined;
}

/** The record of a pod (`<dir>/pods/<uuid>/pod.json`). */
export interface PodRecord {
  uuid: string;
  /** A name the user gave (`--name`); unique among the pods of the state root. */
  name?: string | undefined;
  state: PodState;
  createdAt: string;
  startedAt?: string | undefined;
  finishedAt?: string | undefined;
  net: 'host' | 'none' | 'default';
  /** The pod's address on the default network. */
  address?: string | undefined;
  /** The process that runs the pod, with its start time (so a reused PID is not mistaken for it). */
  owner?: { pid: number; startTime: string } | undefined;
  apps: PodAppRecord[];
  /** The metadata token (META-001); the record is mode 0600. */
  metadataToken?: string | undefined;
  /** Host ports forwarded to the pod (the default network), so gc can remove the forwards. */
  ports?: { hostPort: number; containerPort: number; protocol: 'tcp' | 'udp'; hostIP?: string | undefined }[];
  /** How the pod's interface is shaped on the default network (ISO-018), so gc removes the shaping with it. */
  bandwidth?: { rateBytesPerSecond: number; burstBytes: number } | undefined;
  /** The pod's hostname and DNS settings, when given (kept for `run-prepared`). */
  hostname?: string | undefined;
  dns?: { servers?: string[]; search?: string[]; options?: string[] } | 'host' | undefined;
  /** Extra `/etc/hosts` entries, or `host`, when given (kept for `run-prepared`). */
  hosts?: { ip: string; names: string[] }[] | 'host' | undefined;
  /** Why a pod was aborted. */
  error?: string | undefined;
}

/** The pods directory of a state root. */
export function podsDir(stateDir: string): string {
  return join(stateDir, 'pods');
}

/** The directory of one pod. */
export function podDir(stateDir: string, uuid: string): string {
  return join(podsDir(stateDir), uuid);
}

/** Start time of a process (field 22 of /proc/PID/stat), or undefined when it does not exist. */
export async function processStartTime(pid: number): Promise<string | undefined> {
  return (await procStatFields(pid))?.[19];
}

/** This process as a pod owner. */
export async function currentOwner(): Promise<{ pid: number; startTime: string }> {
  return { pid: process.pid, startTime: (await processStartTime(process.pid)) ?? '' };
}

/** True while the process that owns a pod runs. */
export async function ownerAlive(owner: PodRecord['owner']): Promise<boolean> {
  if (!owner) return false;
  return (await processStartTime(owner.pid)) === owner.startTime;
}

/** Writes a pod's record atomically, mode 0600 (it holds the metadata token). */
export async function writePodRecord(stateDir: string, record: PodRecord): Promise<void> {
  const dir = podDir(stateDir, record.uuid);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.pod.json.${randomBytes(6).toString('hex')}`);
  await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, join(dir, 'pod.json'));
}

/** Reads a pod's record; a `running` or `prepared`-and-owned pod whose owner is gone is reported `aborted`. */
export async function readPodRecord(stateDir: string, uuid: string): Promise<PodRecord | undefined> {
  const text = await readFile(join(podDir(stateDir, uuid), 'pod.json'), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  let record: PodRecord;
  try {
    record = JSON.parse(text) as PodRecord;
  } catch {
    return undefined;
  }
  // a pod being set up or run by a process that is gone (`appc prepare` pods have no owner until they run)
  if (
    (record.state === 'running' || (record.state === 'prepared' && record.owner)) &&
    !(await ownerAlive(record.owner))
  ) {
    record.state = 'aborted';
    record.error ??=
      'the process running the pod ended without cleaning up (killed?); appc gc removes what is left';
  }
  return record;
}

/** Every pod of the state root, oldest first. */
export async function listPods(stateDir: string): Promise<PodRecord[]> {
  const names = await readdir(podsDir(stateDir)).catch(() => [] as string[]);
  const out: PodRecord[] = [];
  for (const n of names) {
    const r = await readPodRecord(stateDir, n);
    if (r) out.push(r);
  }
  return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** Finds a pod by UUID, unique UUID prefix, or name.
 * @throws {@link RuntimeError} `ERR_RUN_POD_NOT_FOUND`, `ERR_RUN_POD_AMBIGUOUS`. */
export async function findPod(stateDir: string, ref: string): Promise<PodRecord> {
  const pods = await listPods(stateDir);
  const byName = pods.filter((p) => p.name === ref);
  const matches = byName.length > 0 ? byName : pods.filter((p) => p.uuid.startsWith(ref.toLowerCase()));
  if (matches.length === 1) return matches[0] as PodRecord;
  if (matches.length === 0 || ref === '')
    throw new RuntimeError(`no pod is named or has a UUID starting with "${ref}"; see appc list.`, {
      code: 'ERR_RUN_POD_NOT_FOUND',
    });
  throw new RuntimeError(
    `"${ref}" matches ${matches.length} pods (${matches.map((p) => p.uuid).join(', ')}); give more of the UUID.`,
    { code: 'ERR_RUN_POD_AMBIGUOUS' },
  );
}

/** Checks a pod name: an AC Name, not used by another pod of the state root.
 * @throws {@link RuntimeError} `ERR_RUN_POD_NAME`. */
export async function checkPodName(stateDir: string, name: string): Promise<void> {
  if (!isAcName(name))
    throw new RuntimeError(`pod name "${name}" is not an AC Name (lower-case letters, digits and "-").`, {
      code: 'ERR_RUN_POD_NAME',
      requirement: 'TYPES-002',
    });
  const taken = (await listPods(stateDir)).find((p) => p.name === name);
  if (taken)
    throw new RuntimeError(
      `pod name "${name}" is taken by pod ${taken.uuid}; remove it (appc rm) or pick another.`,
      {
        code: 'ERR_RUN_POD_NAME',
      },
    );
}

/** The directory an app's root filesystem is mounted at. */
export function appRootfsDir(stateDir: string, uuid: string, app: string): string {
  return join(podDir(stateDir, uuid), 'rootfs', app);
}

/** How an app gets its root filesystem on this host: an overlay (with `volatile` or without) or a copy. */
export type RootfsMethod = 'overlay-volatile' | 'overlay' | 'copy';

/** What {@link appRootfs} learnt on this state root's file system and this kernel, in `<stateDir>/rootfs-method.json`. */
interface LearntMethod {
  device: number;
  kernel: string;
  method: RootfsMethod;
}

const learnt = new Map<string, LearntMethod | undefined>();

async function readLearntMethod(stateDir: string): Promise<LearntMethod | undefined> {
  if (learnt.has(stateDir)) return learnt.get(stateDir);
  const text = await readFile(join(stateDir, 'rootfs-method.json'), 'utf8').catch(() => undefined);
  let found: LearntMethod | undefined;
  try {
    const m = text === undefined ? undefined : (JSON.parse(text) as Partial<LearntMethod>);
    if (
      typeof m?.device === 'number' &&
      typeof m.kernel === 'string' &&
      (m.method === 'overlay-volatile' || m.method === 'overlay' || m.method === 'copy')
    )
      found = { device: m.device, kernel: m.kernel, method: m.method };
  } catch {
    // cut short by a crash: learnt again
  }
  learnt.set(stateDir, found);
  return found;
}

async function recordMethod(stateDir: string, method: LearntMethod): Promise<void> {
  learnt.set(stateDir, method);
  const tmp = join(stateDir, `.rootfs-method.json.${randomBytes(6).toString('hex')}`);
  await writeFile(tmp, `${JSON.stringify(method)}\n`);
  await rename(tmp, join(stateDir, 'rootfs-method.json'));
}

/** Gives an app its own root filesystem over a cached tree (ACE-002): an overlay whose lower layer is the tree
 * (never written) and whose upper layer is volatile where the kernel allows (never synced: it goes with the pod),
 * or, where overlayfs is unavailable, a copy. The first pod on a state root's file system mounts the overlay on
 * the host and records what worked; later pods (same file system and kernel) get the overlay as runc's to mount
 * inside each container ({@link RootfsOverlay}), with no mount on the host: no `mount` and `umount` children, and
 * nothing left mounted by a killed runner. Returns the directory runc runs in, and the overlay when runc mounts
 * it. */
export async function appRootfs(
  stateDir: string,
  uuid: string,
  app: string,
  tree: string,
): Promise<{ rootfs: string; overlay?: RootfsOverlay }> {
  const base = appRootfsDir(stateDir, uuid, app);
  const upper = join(base, 'upper');
  const work = join(base, 'work');
  const merged = join(base, 'merged');
  await mkdir(base, { recursive: true });
  const [known, baseStat] = await Promise.all([
    readLearntMethod(stateDir),
    Promise.all([upper, work, merged].map((d) => mkdir(d, { recursive: true }))).then(() => stat(base)),
  ]);
  const kernel = release();
  // overlay's options are comma separated and its lower layers colon separated: such paths take the host's
  // mount and its fallback, a copy
  const plain = ![tree, upper, work].some((p) => /[,:\\]/.test(p));
  if (known?.device === baseStat.dev && known.kernel === kernel && known.method !== 'copy' && plain)
    return {
      rootfs: merged,
      overlay: { lower: tree, upper, work, volatile: known.method === 'overlay-volatile' },
    };
  const method = await mountAppRootfs(tree, upper, work, merged, app);
  await recordMethod(stateDir, { device: baseStat.dev, kernel, method }).catch(() => undefined);
  return { rootfs: merged };
}

/** Mounts an app's overlay on the host (with `volatile`, else without), or copies the tree where overlayfs does not
 * work; returns which. */
async function mountAppRootfs(
  tree: string,
  upper: string,
  work: string,
  merged: string,
  app: string,
): Promise<RootfsMethod> {
  const options = `lowerdir=${tree},upperdir=${upper},workdir=${work}`;
  try {
    // `volatile` (Linux 5.10+): the writable layer is thrown away with the pod, so it is never synced; without
    // it, unmounting syncs the whole file system under it, which waits for every other writer of the host's disk.
    return await run('mount', ['-t', 'overlay', 'overlay', '-o', `${options},volatile`, merged]).then(
      () => 'overlay-volatile' as const,
      () => run('mount', ['-t', 'overlay', 'overlay', '-o', options, merged]).then(() => 'overlay' as const),
    );
  } catch {
    await run('cp', ['-a', `${tree}/.`, `${merged}/`]).catch((e: Error) => {
      throw new RuntimeError(`could not mount or copy the rootfs of app "${app}": ${e.message}`, {
        code: 'ERR_RUN_ROOTFS',
        requirement: 'ACE-002',
        app,
      });
    });
    return 'copy';
  }
}

/** Mount points at or below `dir`, deepest first (from /proc/self/mountinfo). */
export async function mountsBelow(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const decodeOctal = (s: string) =>
    s.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
  return info
    .split('\n')
    .map((l) => decodeOctal(l.split(' ')[4] ?? ''))
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Unmounts everything mounted below a pod's directory (lazily when busy). */
export async function unmountPod(stateDir: string, uuid: string): Promise<void> {
  for (const m of await mountsBelow(podDir(stateDir, uuid))) {
    await run('umount', [m]).catch(() => run('umount', ['-l', m]).catch(() => undefined));
  }
}

/** Appends a line to a pod's event log (`<pod>/events.log`), for `--debug` and post-mortems. */
export async function podEvent(stateDir: string, uuid: string, text: string): Promise<void> {
  const dir = podDir(stateDir, uuid);
  if (!existsSync(dir)) return;
  await appendFile(join(dir, 'events.log'), `${new Date().toISOString()} ${text}\n`).catch(() => undefined);
}

/** Unmounts a pod's filesystems and removes what only a running pod needs (the apps' root filesystems, runc's
 * bundles); the record, manifest and logs stay. */
export async function releasePodFiles(stateDir: string, uuid: string): Promise<void> {
  await releasePodRootfs(stateDir, uuid);
  await rm(join(podDir(stateDir, uuid), 'runtime'), { recursive: true, force: true }).catch(() => undefined);
}

/** Unmounts a pod's filesystems once no app runs. The apps' writable layers (or their copies) stay, as rkt kept an
 * exited pod's files, until the pod is removed (`appc rm`, `appc gc`): {@link exportPodApp} reads them. The
 * runtime directory (bundles, the sandbox's record) stays for {@link releasePodFiles}. */
export async function releasePodRootfs(stateDir: string, uuid: string): Promise<void> {
  await unmountPod(stateDir, uuid);
}

/** Removes a pod's directory once nothing is mounted in it. */
export async function removePodDir(stateDir: string, uuid: string): Promise<void> {
  await unmountPod(stateDir, uuid);
  await rm(podDir(stateDir, uuid), { recursive: true, force: true });
}
