import { readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isMissing } from './fs.ts';
import { tryLock } from './lock.ts';

/** Name of the file written last in a rendered tree; a tree without it is never used. */
export const TREE_MARKER = 'rendered.json';

/** Paths of an image's rendered tree in a store directory. */
export function treePaths(
  storeDir: string,
  id: string,
): { dir: string; rootfs: string; marker: string; lock: string } {
  const trees = join(storeDir, 'trees');
  const dir = join(trees, id);
  return {
    dir,
    rootfs: join(dir, 'rootfs'),
    marker: join(dir, TREE_MARKER),
    lock: join(trees, `${id}.lock`),
  };
}

/** Removes a tree: marker first (so it is no longer used), then the files; plus render leftovers. Caller holds
 * the tree's lock. */
export async function removeTree(storeDir: string, id: string): Promise<boolean> {
  const p = treePaths(storeDir, id);
  let found = false;
  try {
    await unlink(p.marker);
    found = true;
  } catch (e) {
    if (!isMissing(e)) throw e;
  }
  const trees = join(storeDir, 'trees');
  let names: string[] = [];
  try {
    names = await readdir(trees);
  } catch (e) {
    if (!isMissing(e)) throw e;
  }
  for (const n of names) {
    if (n === id || n.startsWith(`.${id}.render-`)) {
      await rm(join(trees, n), { recursive: true, force: true });
      found = true;
    }
  }
  return found;
}

/** Removes an image's tree unless someone holds its lock (a render in progress); true when removed. */
export async function removeTreeIfUnlocked(storeDir: string, id: string): Promise<boolean> {
  const p = treePaths(storeDir, id);
  let lock: ReturnType<typeof tryLock>;
  try {
    lock = tryLock(p.lock);
  } catch (e) {
    if (isMissing(e)) return false;
    throw e;
  }
  if (!lock) return false;
  try {
    return await removeTree(storeDir, id);
  } finally {
    lock.release();
  }
}
