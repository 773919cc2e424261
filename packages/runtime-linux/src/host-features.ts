import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import type { PodManifest } from '@appc/schema';
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

/** Reads the host's features: architecture, block devices, SELinux, AppArmor and the cgroup layout. With
 * `blockDevices: false` the block devices are not read (`blockDevices` is then empty): for a pod without
 * block-bandwidth or block-iops isolators, which alone use them. */
export async function detectHostFeatures(options: { blockDevices?: boolean } = {}): Promise<HostFeatures> {
  const [devices, profiles] = await Promise.all([
    options.blockDevices === false ? ([] as BlockDevice[]) : blockDevices(),
    apparmorProfiles(),
  ]);
  return {
    arch: hostSeccompArch(),
    blockDevices: devices,
    selinux: existsSync('/sys/fs/selinux/enforce'),
    apparmorProfiles: profiles,
    cgroupV2: existsSync('/sys/fs/cgroup/cgroup.controllers'),
  };
}

/** Whether a reified pod has an isolator that needs the host's block devices (ISO-016, ISO-017). */
export function usesBlockDevices(manifest: Pick<PodManifest, 'isolators' | 'apps'>): boolean {
  const block = (list: readonly { name: string }[] | undefined) =>
    (list ?? []).some((i) => i.name === 'resource/block-bandwidth' || i.name === 'resource/block-iops');
  return block(manifest.isolators) || manifest.apps.some((a) => block(a.app?.isolators));
}
