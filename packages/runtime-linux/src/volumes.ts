import { chmod, chown, lstat, mkdir, readdir, realpath, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Issue, PodManifest, Volume } from '@appc/schema';
import { RuntimeError } from './errors.ts';
import { resolveInRootfs } from './internal/rootfs-path.ts';
import {
  emptyVolumePath,
  type RootfsOverlay,
  type VolumeLocator,
  volumeSourcePath,
} from './runtime-config.ts';

/** Checks the source of a `host` volume (ACE-006): it must exist, and neither it nor any of its parents may be a
 * symlink (the source must be what it names).
 * @throws {@link RuntimeError} `ERR_RUN_VOLUME_SOURCE` naming the volume and what to do. */
export async function checkHostVolume(volume: Volume, pointer = '/volumes'): Promise<void> {
  const source = volume.source ?? '';
  const fail = (why: string, cause?: unknown): never => {
    throw new RuntimeError(`volume "${volume.name}": host source ${source} ${why}`, {
      code: 'ERR_RUN_VOLUME_SOURCE',
      requirement: 'ACE-006',
      pointer,
      file: source,
      cause,
    });
  };
  if (!source.startsWith('/')) fail('must be an absolute path.');
  const st = await lstat(source).catch((cause) =>
    fail('does not exist; create it first (the executor never creates host paths).', cause),
  );
  if (st.isSymbolicLink()) fail('is a symlink; give the path it points to.');
  const real = await realpath(source).catch((cause) => fail('cannot be resolved.', cause));
  const normalized = source.length > 1 ? source.replace(/\/+$/, '') : source;
  if (real !== normalized) fail(`goes through a symlink (it resolves to ${real}); give the real path.`);
}

function parseMode(mode: string | undefined): number {
  return Number.parseInt(mode ?? '0755', 8);
}

/** Makes one `empty` volume directory with the volume's mode, uid and gid (ACE-007). */
async function makeEmptyVolume(path: string, volume: Volume): Promise<void> {
  await mkdir(path, { recursive: true });
  await chown(path, volume.uid ?? 0, volume.gid ?? 0);
  await chmod(path, parseMode(volume.mode));
}

/** Prepares every volume of a reified pod: `host` sources are checked (ACE-006), `empty` volumes (the pod's and
 * the apps' own `appVolume`s) are made under the locator's directory with their mode, uid and gid (ACE-007).
 * @throws {@link RuntimeError} `ERR_RUN_VOLUME_SOURCE`. */
export async function prepareVolumes(manifest: PodManifest, locator: VolumeLocator): Promise<void> {
  for (const [i, volume] of (manifest.volumes ?? []).entries()) {
    if (volume.kind === 'host') await checkHostVolume(volume, `/volumes/${i}/source`);
    else await makeEmptyVolume(emptyVolumePath(locator, volume), volume);
  }
  for (const [a, app] of manifest.apps.entries()) {
    for (const [m, mount] of (app.mounts ?? []).entries()) {
      const v = mount.appVolume;
      if (!v) continue;
      if (v.kind === 'host') await checkHostVolume(v, `/apps/${a}/mounts/${m}/appVolume/source`);
      else await makeEmptyVolume(emptyVolumePath(locator, v, app.name), v);
    }
  }
}

/** Prepares the mount targets of one app inside its rootfs (ACE-005): a missing target is left for the runtime to
 * create (parents included, 0755, owned 0:0); a file where a directory volume goes is replaced by a directory; a
 * non-empty directory is masked by the mount. Both cases come back as warnings. The rootfs must be this
 * execution's own copy (ACE-002), since it may be changed; with an `overlay` runc is to mount, the image's files
 * are read from its lower layer and a replacement goes into its upper layer. */
export async function prepareMountTargets(
  manifest: PodManifest,
  appName: string,
  rootfs: string,
  locator: VolumeLocator,
  overlay?: RootfsOverlay,
): Promise<Issue[]> {
  const view = overlay?.lower ?? rootfs;
  const warnings: Issue[] = [];
  const index = manifest.apps.findIndex((a) => a.name === appName);
  const app = manifest.apps[index];
  for (const [i, m] of (app?.mounts ?? []).entries()) {
    const volume = m.appVolume ?? manifest.volumes?.find((v) => v.name === m.volume);
    if (!volume) continue;
    const source = volumeSourcePath(locator, volume, m.appVolume ? appName : undefined);
    const sourceIsDir = (await stat(source).catch(() => undefined))?.isDirectory() ?? volume.kind === 'empty';
    const target = await resolveInRootfs(view, m.path);
    if (target.hostPath === undefined) continue;
    const st = await lstat(target.hostPath);
    const pointer = `/apps/${index}/mounts/${i}/path`;
    if (sourceIsDir && !st.isDirectory()) {
      if (overlay) await directoryInUpper(overlay, target.hostPath.slice(view.length));
      else {
        await rm(target.hostPath, { force: true });
        await mkdir(target.hostPath, { mode: 0o755 });
      }
      warnings.push({
        code: 'WARN_RUN_MOUNT_TARGET_REPLACED',
        pointer,
        requirement: 'ACE-005',
        message: `app "${appName}": ${m.path} was a file in the image; it was replaced by a directory for volume "${m.volume}".`,
        severity: 'warning',
      });
    } else if (st.isDirectory() && (await readdir(target.hostPath)).length > 0) {
      warnings.push({
        code: 'WARN_RUN_MOUNT_TARGET_MASKED',
        pointer,
        requirement: 'ACE-005',
        message: `app "${appName}": ${m.path} is not empty in the image; volume "${m.volume}" hides its contents.`,
        severity: 'warning',
      });
    }
  }
  return warnings;
}

/** Makes `path` (relative to the overlay's root, every parent a directory in the lower layer) a directory in the
 * overlay's upper layer, where it hides the lower layer's file. Parents missing from the upper layer are made
 * with the lower layer's mode and owner, which the overlay then shows for them. */
async function directoryInUpper(overlay: RootfsOverlay, path: string): Promise<void> {
  const parts = path.split('/').filter((p) => p !== '');
  for (let i = 1; i < parts.length; i++) {
    const sub = parts.slice(0, i);
    const upper = join(overlay.upper, ...sub);
    if (await lstat(upper).catch(() => undefined)) continue;
    const lower = await lstat(join(overlay.lower, ...sub));
    await mkdir(upper);
    await chown(upper, lower.uid, lower.gid);
    await chmod(upper, lower.mode & 0o7777);
  }
  const target = join(overlay.upper, ...parts);
  await rm(target, { force: true });
  await mkdir(target, { mode: 0o755 });
}
