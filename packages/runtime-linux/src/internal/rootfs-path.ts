import { lstat, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';

/** Most symlinks followed while resolving one path, as the kernel's limit (ELOOP). */
const MAX_LINKS = 40;

/** Result of {@link resolveInRootfs}: the host path the container path names, or undefined when a component is
 * missing, and whether a symlink loop or a non-directory parent stopped the walk. */
export interface RootfsPath {
  /** Path on the host, always inside `rootfs`. */
  hostPath: string | undefined;
  /** The path inside the container after every link was followed. */
  containerPath: string;
}

/** Resolves an absolute container path inside `rootfs` as the container will see it: each symlink is read and
 * followed relative to the rootfs (an absolute target starts again at the rootfs, `..` never climbs out of it).
 * Nothing is created; the host's own files are never consulted. */
export async function resolveInRootfs(rootfs: string, path: string): Promise<RootfsPath> {
  const pending = posix
    .normalize(`/${path}`)
    .split('/')
    .filter((s) => s !== '');
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const candidate = join(rootfs, ...done, part);
    let st: Awaited<ReturnType<typeof lstat>>;
    try {
      st = await lstat(candidate);
    } catch {
      return { hostPath: undefined, containerPath: `/${[...done, part, ...pending].join('/')}` };
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) return { hostPath: undefined, containerPath: `/${[...done, part].join('/')}` };
      const target = await readlink(candidate);
      const parts = target.split('/').filter((s) => s !== '');
      if (target.startsWith('/')) done.length = 0;
      pending.unshift(...parts);
      continue;
    }
    if (pending.length > 0 && !st.isDirectory()) {
      return { hostPath: undefined, containerPath: `/${[...done, part, ...pending].join('/')}` };
    }
    done.push(part);
  }
  return { hostPath: join(rootfs, ...done), containerPath: `/${done.join('/')}` };
}
