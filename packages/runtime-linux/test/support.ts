import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addHostPrograms } from '@appc/aci';
import type { App, ImageManifest } from '@appc/schema';

/** The busybox-static binary the root tests use as an app's whole rootfs. */
export const BUSYBOX = '/usr/bin/busybox';

const APPLETS = [
  'sh',
  'cat',
  'echo',
  'grep',
  'mkdir',
  'ls',
  'id',
  'sleep',
  'true',
  'false',
  'hostname',
  'stat',
  'head',
  'pwd',
  'env',
  'touch',
  'ps',
  'wc',
  'test',
  'uname',
  'kill',
  'readlink',
  'tr',
  'sort',
  'sed',
];

/** A temporary directory. */
export function tempDir(prefix = 'appc-rt-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Writes a minimal rootfs: busybox with applet links in /bin, /etc/passwd and /etc/group, /tmp. */
export async function makeBusyboxRootfs(
  dir: string,
  options: { passwd?: string; group?: string; files?: Record<string, string> } = {},
): Promise<string> {
  await mkdir(join(dir, 'bin'), { recursive: true });
  await mkdir(join(dir, 'etc'), { recursive: true });
  await mkdir(join(dir, 'tmp'), { recursive: true, mode: 0o1777 });
  await copyFile(BUSYBOX, join(dir, 'bin', 'busybox'));
  for (const a of APPLETS) await symlink('busybox', join(dir, 'bin', a));
  await writeFile(
    join(dir, 'etc', 'passwd'),
    options.passwd ?? 'root:x:0:0:root:/root:/bin/sh\nappuser:x:1000:1000::/home/app:/bin/sh\n',
  );
  await writeFile(
    join(dir, 'etc', 'group'),
    options.group ?? 'root:x:0:\nappgroup:x:1000:\nwheel:x:10:appuser\n',
  );
  for (const [path, text] of Object.entries(options.files ?? {})) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

/** Copies a host program into a rootfs at the same path, with the dynamic loader and the shared libraries it
 * loads, so that it runs there (`addHostPrograms` of @appc/aci, what `appc add-program` does). */
export async function copyHostProgram(rootfs: string, program: string): Promise<void> {
  await addHostPrograms(rootfs, [program]);
}

/** An image ID computed from a text (the runtime never reads the archive; it only pins the ID). */
export function imageIdOf(text: string): string {
  return `sha512-${createHash('sha512').update(text).digest('hex')}`;
}

/** An image manifest with an app section. */
export function imageManifest(
  name: string,
  app: Partial<App> = {},
  extra: Partial<ImageManifest> = {},
): ImageManifest {
  return {
    acKind: 'ImageManifest',
    acVersion: '0.8.11',
    name,
    labels: [
      { name: 'os', value: 'linux' },
      { name: 'arch', value: 'amd64' },
    ],
    app: { exec: ['/bin/sh', '-c', 'true'], user: '0', group: '0', ...app },
    ...extra,
  };
}

/** The ifb devices of the host (the bandwidth plugin's, and any the host had before). */
export function ifbs(): string[] {
  return (
    JSON.parse(execFileSync('ip', ['-j', 'link', 'show', 'type', 'ifb']).toString()) as { ifname: string }[]
  )
    .map((l) => l.ifname)
    .sort();
}

/** The name the bandwidth plugin gives a pod's ifb device on the default network: `bwp` and the start of the
 * SHA-512 of the network's name and the container ID (the pod's UUID), 15 characters in all. */
export function ifbOf(containerId: string): string {
  return `bwp${createHash('sha512').update(`appc-default${containerId}`).digest('hex')}`.slice(0, 15);
}

/** The qdiscs of a host device as tc reports them (rate and burst in bytes); none when the device is gone. */
export function qdiscs(dev: string): { kind: string; options?: Record<string, unknown> }[] {
  try {
    return JSON.parse(execFileSync('tc', ['-j', 'qdisc', 'show', 'dev', dev], { stdio: 'pipe' }).toString());
  } catch {
    return [];
  }
}
