import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { LINUX_CAPABILITIES, type PodManifest } from '@appc/schema';
import { hostSeccompArch, type SeccompArch } from './seccomp.ts';

/** A block device of the host, as the blkio throttles name it. */
export interface BlockDevice {
  name: string;
  major: number;
  minor: number;
}

/** What the host offers that changes how isolators are enforced; {@link detectHostFeatures} reads it. */
export interface HostFeatures {
  /** Architecture of the seccomp tables to use; undefined when this package has none for the host. */
  arch: SeccompArch | undefined;
  /** Whole block devices (`/sys/block`) the block-bandwidth and block-iops isolators throttle. */
  blockDevices: BlockDevice[];
  /** SELinux is enabled (selinux-context can be applied, ISO-008). */
  selinux: boolean;
  /** Loaded AppArmor profile names, or undefined when AppArmor is not enabled (ISO-009). */
  apparmorProfiles: Set<string> | undefined;
  /** The host runs the unified cgroup v2 hierarchy only. */
  cgroupV2: boolean;
  /** The cgroup controllers the pods' cgroups can use: with cgroup v2 those of the root's `cgroup.controllers`,
   * with v1 those with a hierarchy mounted (`/proc/self/mountinfo`). An isolator whose controller is missing is
   * reported `ignored` instead of failing in runc. Undefined: not known, every controller is taken as there. */
  cgroupControllers?: ReadonlySet<string> | undefined;
  /** The capabilities this process may hand on (its bounding set, `CapBnd` of `/proc/self/status`): all that
   * `--insecure-options=capabilities` can give an app. Undefined: not known, every capability is taken as there. */
  boundingCapabilities?: readonly string[] | undefined;
}

/** The capability names of a `CapBnd:` (or `CapEff:` ...) hex mask, in bit order; names beyond
 * {@link LINUX_CAPABILITIES} are left out. */
export function capabilitiesOfMask(hex: string): string[] {
  const mask = BigInt(`0x${hex.trim()}`);
  return LINUX_CAPABILITIES.filter((_, bit) => ((mask >> BigInt(bit)) & 1n) === 1n);
}

async function boundingCapabilities(): Promise<string[] | undefined> {
  try {
    const line = /^CapBnd:\s*([0-9a-f]+)$/m.exec(await readFile('/proc/self/status', 'utf8'));
    return line ? capabilitiesOfMask(line[1] as string) : undefined;
  } catch {
    return undefined;
  }
}

/** The cgroup v1 controllers that have a hierarchy mounted, from the text of `/proc/PID/mountinfo` (the super
 * options of each `cgroup` mount name its controllers, beside `rw` and the like). */
export function cgroupV1Controllers(mountinfo: string): Set<string> {
  const out = new Set<string>();
  for (const line of mountinfo.split('\n')) {
    // fields after the separator: file system type, source, super options
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const [type, , options] = line.slice(sep + 3).split(' ');
    if (type !== 'cgroup' || options === undefined) continue;
    for (const o of options.split(',')) if (/^[a-z_]+$/.test(o) && !V1_MOUNT_OPTIONS.has(o)) out.add(o);
  }
  return out;
}

/** Super options of a v1 cgroup mount that are not controller names. */
const V1_MOUNT_OPTIONS = new Set([
  'rw',
  'ro',
  'none',
  'noprefix',
  'xattr',
  'cpuset_v2_mode',
  'clone_children',
]);

/** The file that only the root of the unified hierarchy has: its presence at /sys/fs/cgroup means cgroup v2 only. */
const V2_ROOT_CONTROLLERS = '/sys/fs/cgroup/cgroup.controllers';

/** Whether /sys/fs/cgroup is the unified hierarchy (cgroup v2 only), as runc decides it. */
export function unifiedCgroups(): boolean {
  return existsSync(V2_ROOT_CONTROLLERS);
}

async function cgroupControllers(v2: boolean): Promise<Set<string> | undefined> {
  const text = await readFile(v2 ? V2_ROOT_CONTROLLERS : '/proc/self/mountinfo', 'utf8').catch(
    () => undefined,
  );
  if (text === undefined) return undefined;
  return v2 ? new Set(text.split(/\s+/).filter((c) => c !== '')) : cgroupV1Controllers(text);
}

async function blockDevices(): Promise<BlockDevice[]> {
  const names = (await readdir('/sys/block').catch(() => [] as string[])).sort();
  // side by side: a host has a dozen of them (loop devices), and one read after another took tens of ms
  const devs = await Promise.all(
    names.map((name) => readFile(`/sys/block/${name}/dev`, 'utf8').catch(() => '')),
  );
  const out: BlockDevice[] = [];
  names.forEach((name, i) => {
    const m = /^(\d+):(\d+)/.exec((devs[i] as string).trim());
    if (m) out.push({ name, major: Number(m[1]), minor: Number(m[2]) });
  });
  return out;
}

async function apparmorProfiles(): Promise<Set<string> | undefined> {
  const enabled = await readFile('/sys/module/apparmor/parameters/enabled', 'utf8').catch(() => 'N');
  if (!enabled.trim().startsWith('Y')) return undefined;
  const text = await readFile('/sys/kernel/security/apparmor/profiles', 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  // Lines look like "name (enforce)".
  return new Set(
    text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.replace(/ \([a-z]+\)$/, '')),
  );
}

/** Reads the host's features: architecture, block devices, SELinux, AppArmor, the cgroup layout and controllers. With
 * `blockDevices: false` the block devices are not read (`blockDevices` is then empty): for a pod without
 * block-bandwidth or block-iops isolators, which alone use them. */
export async function detectHostFeatures(options: { blockDevices?: boolean } = {}): Promise<HostFeatures> {
  const cgroupV2 = unifiedCgroups();
  const [devices, profiles, controllers, bounding] = await Promise.all([
    options.blockDevices === false ? ([] as BlockDevice[]) : blockDevices(),
    apparmorProfiles(),
    cgroupControllers(cgroupV2),
    boundingCapabilities(),
  ]);
  return {
    arch: hostSeccompArch(),
    blockDevices: devices,
    selinux: existsSync('/sys/fs/selinux/enforce'),
    apparmorProfiles: profiles,
    cgroupV2,
    cgroupControllers: controllers,
    boundingCapabilities: bounding,
  };
}

/** Whether a reified pod has an isolator that needs the host's block devices (ISO-016, ISO-017). */
export function usesBlockDevices(manifest: Pick<PodManifest, 'isolators' | 'apps'>): boolean {
  const block = (list: readonly { name: string }[] | undefined) =>
    (list ?? []).some((i) => i.name === 'resource/block-bandwidth' || i.name === 'resource/block-iops');
  return block(manifest.isolators) || manifest.apps.some((a) => block(a.app?.isolators));
}
