import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
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
  const names = await readdir('/sys/block').catch(() => [] as string[]);
  const out: BlockDevice[] = [];
  for (const name of names.sort()) {
    const dev = await readFile(`/sys/block/${name}/dev`, 'utf8').catch(() => '');
    const m = /^(\d+):(\d+)/.exec(dev.trim());
    if (m) out.push({ name, major: Number(m[1]), minor: Number(m[2]) });
  }
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

/** Reads the host's features: architecture, block devices, SELinux, AppArmor and the cgroup layout. */
export async function detectHostFeatures(): Promise<HostFeatures> {
  return {
    arch: hostSeccompArch(),
    blockDevices: await blockDevices(),
    selinux: existsSync('/sys/fs/selinux/enforce'),
    apparmorProfiles: await apparmorProfiles(),
    cgroupV2: existsSync('/sys/fs/cgroup/cgroup.controllers'),
  };
}
