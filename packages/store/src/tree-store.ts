import { open, readdir, rename, rm, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from './errors.ts';
import { fsyncDir, isMissing } from './internal/fs.ts';
import { acquireLock, tryLock } from './internal/lock.ts';
import { removeTree, TREE_MARKER, treePaths } from './internal/trees.ts';
import { createStoreImageProvider } from './provider.ts';
import type { Store } from './store.ts';

/** Default grace period of {@link TreeStore.gc}: trees unused for 24 hours go. */
export const DEFAULT_TREE_GRACE_PERIOD_MS = 24 * 60 * 60 * 1000;

/** Options of {@link TreeStore}. */
export interface TreeStoreOptions {
  /** How long a render waits for another process rendering the same image (default 10 minutes). */
  lockTimeoutMs?: number;
}

/** Options of {@link TreeStore.render}. */
export interface RenderTreeOptions {
  signal?: AbortSignal;
}

/** A rendered tree of the cache. */
export interface RenderedTree {
  imageId: string;
  /** `<store>/trees/<id>`: holds `manifest`, `rootfs/` and the marker. */
  dir: string;
  /** `<store>/trees/<id>/rootfs`: the image with its dependencies applied (ACI-020..ACI-022). */
  rootfs: string;
  /** Image IDs of the layers applied, dependencies first. */
  layers: string[];
  renderedAt: Date;
  /** True when the tree was already there. */
  cached: boolean;
}

/** Options of {@link TreeStore.gc}. */
export interface TreeGcOptions {
  /** Trees not used for this long are removed (default 24 h). */
  gracePeriodMs?: number;
  /** Image IDs whose trees stay (pods that use them). */
  keep?: Iterable<string>;
  now?: Date;
}

/** What {@link TreeStore.gc} removed. */
export interface TreeGcReport {
  /** Complete trees removed (unused, or their image left the store). */
  removed: string[];
  /** Half-rendered trees and render leftovers removed. */
  incompleteRemoved: number;
}

interface Marker {
  imageId: string;
  layers: string[];
  renderedAt: string;
}

async function readMarker(file: string): Promise<{ marker: Marker; mtimeMs: number } | undefined> {
  try {
    const fh = await open(file, 'r');
    try {
      const st = await fh.stat();
      return { marker: JSON.parse(await fh.readFile('utf8')) as Marker, mtimeMs: st.mtimeMs };
    } finally {
      await fh.close();
    }
  } catch (e) {
    if (isMissing(e) || e instanceof SyntaxError) return undefined;
    throw e;
  }
}

/** A cache of rendered trees keyed by image ID, inside the store directory (`trees/`). A tree counts only once
 * its marker file is written, after every layer was applied and checked against its ID (ACI-024); one process
 * renders an image at a time (a lock file with its pid; the lock of a dead process is broken). */
export class TreeStore {
  readonly store: Store;
  private readonly options: TreeStoreOptions;

  constructor(store: Store, options: TreeStoreOptions = {}) {
    this.store = store;
    this.options = options;
  }

  /** The cached tree of an image, or undefined when it is not (completely) rendered. */
  async get(idOrPrefix: string): Promise<RenderedTree | undefined> {
    const { id } = this.store.get(idOrPrefix);
    const p = treePaths(this.store.dir, id);
    const m = await readMarker(p.marker);
    if (!m || m.marker.imageId !== id) return undefined;
    return {
      imageId: id,
      dir: p.dir,
      rootfs: p.rootfs,
      layers: m.marker.layers,
      renderedAt: new Date(m.marker.renderedAt),
      cached: true,
    };
  }

  /** Returns the rendered tree of a stored image, rendering it first when needed (dependencies from the store;
   * see {@link createStoreImageProvider}). Marks the tree and the image as used.
   * @throws {@link StoreError} `ERR_STORE_LOCKED` when another process renders it for longer than the lock
   * timeout; `AciError` `ERR_ACI_DEPENDENCY_NOT_FOUND` when a dependency is not stored, and the render errors. */
  async render(idOrPrefix: string, options: RenderTreeOptions = {}): Promise<RenderedTree> {
    const image = this.store.get(idOrPrefix);
    const hit = await this.get(image.id);
    if (hit) return this.used(hit);
    const p = treePaths(this.store.dir, image.id);
    const lock = await acquireLock(p.lock, {
      timeoutMs: this.options.lockTimeoutMs ?? 10 * 60 * 1000,
      what: `the tree of ${image.id}`,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    try {
      const again = await this.get(image.id);
      if (again) return this.used(again);
      // whatever is there is a render that did not finish
      await removeTree(this.store.dir, image.id);
      const { path } = await this.store.openBlob(image.id);
      // @appc/aci loads when a tree is first rendered: running a cached tree never pays for it
      const { render } = await import('@appc/aci');
      const result = await render(
        {
          imageId: image.id,
          manifest: this.store.manifest(image.id),
          sizeBytes: image.sizeBytes,
          open: async () => path,
        },
        p.dir,
        {
          provider: createStoreImageProvider(this.store),
          ...(options.signal ? { signal: options.signal } : {}),
        },
      );
      const marker: Marker = {
        imageId: image.id,
        layers: result.layers,
        renderedAt: new Date().toISOString(),
      };
      const tmp = `${p.marker}.tmp`;
      const fh = await open(tmp, 'w', 0o644);
      try {
        await fh.writeFile(`${JSON.stringify(marker)}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, p.marker);
      await fsyncDir(p.dir);
      this.store.touch(image.id);
      return {
        imageId: image.id,
        dir: p.dir,
        rootfs: p.rootfs,
        layers: result.layers,
        renderedAt: new Date(marker.renderedAt),
        cached: false,
      };
    } finally {
      lock.release();
    }
  }

  private async used(tree: RenderedTree): Promise<RenderedTree> {
    const now = new Date();
    await utimes(treePaths(this.store.dir, tree.imageId).marker, now, now).catch(() => {});
    this.store.touch(tree.imageId, now);
    return tree;
  }

  /** Image IDs of the complete trees in the cache. */
  async list(): Promise<string[]> {
    const out: string[] = [];
    for (const n of await this.names()) {
      if (!n.startsWith('sha512-') || n.endsWith('.lock') || n.endsWith('.break')) continue;
      const m = await readMarker(join(this.store.dir, 'trees', n, TREE_MARKER));
      if (m?.marker.imageId === n) out.push(n);
    }
    return out.sort();
  }

  private async names(): Promise<string[]> {
    try {
      return await readdir(join(this.store.dir, 'trees'));
    } catch (e) {
      if (isMissing(e)) return [];
      throw e;
    }
  }

  /** Removes an image's tree; false when there is none.
   * @throws {@link StoreError} `ERR_STORE_LOCKED` while a process renders it. */
  async remove(id: string): Promise<boolean> {
    const p = treePaths(this.store.dir, id);
    const lock = tryLock(p.lock);
    if (!lock)
      throw new StoreError(
        `the tree of ${id} is being rendered by another process; try again when it is done.`,
        {
          code: 'ERR_STORE_LOCKED',
          file: p.lock,
        },
      );
    try {
      return await removeTree(this.store.dir, id);
    } finally {
      lock.release();
    }
  }

  /** Tree garbage collection, separate from the image store's (rkt users asked for it): removes trees whose
   * image left the store, trees not used within the grace period unless kept, and half-rendered trees and
   * render leftovers. Trees being rendered (locked) are left alone. */
  async gc(options: TreeGcOptions = {}): Promise<TreeGcReport> {
    const now = (options.now ?? new Date()).getTime();
    const grace = options.gracePeriodMs ?? DEFAULT_TREE_GRACE_PERIOD_MS;
    const keep = new Set(options.keep ?? []);
    const report: TreeGcReport = { removed: [], incompleteRemoved: 0 };
    const ids = new Set<string>();
    for (const n of await this.names()) {
      const m = /^\.?(sha512-[0-9a-f]{128})(?:\.render-.*)?$/.exec(n);
      if (m?.[1]) ids.add(m[1]);
    }
    for (const id of ids) {
      const p = treePaths(this.store.dir, id);
      const lock = tryLock(p.lock);
      if (!lock) continue; // being rendered
      try {
        const m = await readMarker(p.marker);
        if (m?.marker.imageId !== id) {
          if (await removeTree(this.store.dir, id)) report.incompleteRemoved++;
          continue;
        }
        const stray = (await this.names()).filter((n) => n.startsWith(`.${id}.render-`));
        for (const s of stray) await rm(join(this.store.dir, 'trees', s), { recursive: true, force: true });
        report.incompleteRemoved += stray.length;
        const wanted = keep.has(id) || (this.store.has(id) && m.mtimeMs >= now - grace);
        if (!wanted && (await removeTree(this.store.dir, id))) report.removed.push(id);
      } finally {
        lock.release();
      }
    }
    return report;
  }
}

/** Renders a stored image into the tree cache (or finds it there) and returns the rootfs path.
 * @example const rootfs = await renderTree(store, 'sha512-1a2b'); */
export async function renderTree(
  store: Store,
  idOrPrefix: string,
  options: RenderTreeOptions = {},
): Promise<string> {
  return (await new TreeStore(store).render(idOrPrefix, options)).rootfs;
}

/** {@link TreeStore.gc} on a store's tree cache. */
export function gcTrees(store: Store, options: TreeGcOptions = {}): Promise<TreeGcReport> {
  return new TreeStore(store).gc(options);
}
