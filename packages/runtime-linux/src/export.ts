// `appc export`, as rkt export did: one app of a pod that no longer runs, turned into an image. Its root filesystem
// is the image's rendered tree (dependencies applied) with what the app changed laid over it: the overlay's upper
// layer, whose whiteouts remove files and whose opaque directories hide the tree's, or the app's whole copy where
// the host had no overlayfs. The manifest is the image's with the app as the pod ran it, its dependencies and path
// whitelist gone (they are in the tree now).
import { execFile } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import {
  type ImageManifest,
  parseJson,
  parsePodManifest,
  serializeImageManifest,
  validateImageManifest,
} from '@appc/schema';
import type { Store } from '@appc/store';
import { RuntimeError } from './errors.ts';
import { appRootfsDir, findPod, podDir } from './pods.ts';

const run = promisify(execFile);

/** Options of {@link exportPodApp}. */
export interface ExportPodAppOptions {
  /** The app to export; needed when the pod has more than one. */
  app?: string;
  /** Replace `output` when it exists. */
  overwrite?: boolean;
}

/** What {@link exportPodApp} wrote. */
export interface ExportPodAppResult {
  imageId: string;
  manifest: ImageManifest;
  app: string;
}

function exportError(
  message: string,
  code: 'ERR_RUN_POD_STATE' | 'ERR_RUN_ROOTFS',
  cause?: unknown,
): RuntimeError {
  return new RuntimeError(message, {
    code,
    requirement: 'ACE-002',
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Names as @appc/aci keeps them: bytes that are not UTF-8 as lone surrogates, given back to node:fs as bytes. */
type Names = Pick<typeof import('@appc/aci'), 'decodeName' | 'fsPath'>;

/** Every path below `dir` (relative, `/`-separated), parents before children; names read as bytes, so that an
 * app's file whose name is not UTF-8 is exported as it is. */
async function walk(
  names: Names,
  dir: string,
  at = '',
): Promise<{ path: string; isDir: boolean; whiteout: boolean }[]> {
  const out: { path: string; isDir: boolean; whiteout: boolean }[] = [];
  for (const e of await readdir(names.fsPath(join(dir, at)), { withFileTypes: true, encoding: 'buffer' })) {
    const name = names.decodeName(e.name);
    const path = at === '' ? name : `${at}/${name}`;
    // an overlay whiteout: a character device 0:0 hides the lower layer's file of that name
    const whiteout = e.isCharacterDevice() && (await lstat(names.fsPath(join(dir, path)))).rdev === 0;
    out.push({ path, isDir: e.isDirectory(), whiteout });
    if (e.isDirectory()) out.push(...(await walk(names, dir, path)));
  }
  return out;
}

/** Directories of an overlay's upper layer marked opaque (`trusted.overlay.opaque="y"`): the lower layer's
 * contents of that directory are hidden. Read with the builder's own `getfattr` reader. */
async function opaqueDirs(upper: string): Promise<string[]> {
  const { readXattrs } = await import('@appc/aci');
  const attrs = await readXattrs(upper);
  if (!attrs)
    throw exportError('getfattr is needed to read the overlay (apt-get install attr)', 'ERR_RUN_ROOTFS');
  return [...attrs]
    .filter(([, a]) => a.get('trusted.overlay.opaque')?.toString() === 'y')
    .map(([path]) => relative(upper, path));
}

/** Writes one app of a pod that no longer runs as an image (`appc export POD OUT.aci`, rkt's export): its
 * image's rendered tree with the app's changes over it, and the image's manifest with the app as the pod ran it
 * (no dependencies, no pathWhitelist: the tree has them applied). Needs root (the files keep their owners).
 * @throws {@link RuntimeError} `ERR_RUN_POD_NOT_FOUND`, `ERR_RUN_POD_STATE` (running, or its files are gone),
 * `ERR_RUN_ROOTFS`; `@appc/aci`'s build errors (`ERR_ACI_OUTPUT_EXISTS`, ...). */
export async function exportPodApp(
  stateDir: string,
  store: Store,
  ref: string,
  output: string,
  options: ExportPodAppOptions = {},
): Promise<ExportPodAppResult> {
  const pod = await findPod(stateDir, ref);
  if (pod.state === 'running' || pod.state === 'prepared')
    throw exportError(
      `pod ${pod.uuid} is ${pod.state}; an app is exported once the pod has ended (appc stop it first).`,
      'ERR_RUN_POD_STATE',
    );
  const name = options.app ?? (pod.apps.length === 1 ? pod.apps[0]?.name : undefined);
  const app = pod.apps.find((a) => a.name === name);
  if (!app)
    throw exportError(
      `say which app to export with --app (${pod.apps.map((a) => a.name).join(', ')}).`,
      'ERR_RUN_POD_STATE',
    );
  const base = appRootfsDir(stateDir, pod.uuid, app.name);
  const upper = join(base, 'upper');
  const merged = join(base, 'merged');
  const [upperEntries, mergedEntries] = await Promise.all(
    [upper, merged].map((d) => readdir(d).catch(() => undefined)),
  );
  if (upperEntries === undefined)
    throw exportError(
      `the files of app "${app.name}" of pod ${pod.uuid} are gone (the pod ran before appc kept them, or was cleaned up).`,
      'ERR_RUN_POD_STATE',
    );
  const file = join(podDir(stateDir, pod.uuid), 'pod-manifest.json');
  const podManifest = parsePodManifest(parseJson(await readFile(file), { file }), { file });
  const podApp = podManifest.apps.find((a) => a.name === app.name);
  const image = store.manifest(app.imageId);
  const manifest: ImageManifest = { ...image, ...(podApp?.app ? { app: podApp.app } : {}) };
  delete manifest.dependencies;
  delete manifest.pathWhitelist;
  const issues = validateImageManifest(manifest).filter((i) => !i.code.startsWith('WARN_'));
  if (issues.length > 0)
    throw exportError(
      `the manifest of the exported app is not valid: ${issues.map((i) => `${i.pointer}: ${i.message}`).join('; ')}`,
      'ERR_RUN_ROOTFS',
    );

  const work = await mkdtemp(join(podDir(stateDir, pod.uuid), '.export-'));
  try {
    const rootfs = join(work, 'rootfs');
    await mkdir(rootfs);
    // the app's whole copy (no overlayfs on this host), or the tree with the upper layer over it
    if (mergedEntries && mergedEntries.length > 0) {
      await run('cp', ['-a', `${merged}/.`, `${rootfs}/`]);
    } else {
      const { TreeStore } = await import('@appc/store');
      const tree = await new TreeStore(store).render(app.imageId);
      await run('cp', ['-a', `${tree.rootfs}/.`, `${rootfs}/`]);
      const names = await import('@appc/aci');
      const entries = await walk(names, upper);
      // what the upper layer hides or replaces goes first: whiteouts, opaque directories, and a path whose kind
      // changed (a directory where a file was, or the reverse), so that the copy below lands on nothing
      const hidden = new Set([
        ...entries.filter((e) => e.whiteout).map((e) => e.path),
        ...(await opaqueDirs(upper)),
      ]);
      for (const e of entries) {
        const at = names.fsPath(join(rootfs, e.path));
        const there = await lstat(at).catch(() => undefined);
        if (there && (hidden.has(e.path) || there.isDirectory() !== e.isDir))
          await rm(at, { recursive: true, force: true });
      }
      // owners, modes and times kept; the overlay's own xattrs (trusted.overlay.*) not
      await run('cp', ['-dR', '--preserve=mode,ownership,timestamps,links', `${upper}/.`, `${rootfs}/`]);
      for (const e of entries.filter((x) => x.whiteout))
        await rm(names.fsPath(join(rootfs, e.path)), { recursive: true, force: true });
    }
    await writeFile(join(work, 'manifest'), serializeImageManifest(manifest));
    // the builder only here: a pod's run, which loads this package, does not load @appc/aci
    const { build } = await import('@appc/aci');
    const built = await build(work, output, { ...(options.overwrite ? { overwrite: true } : {}) });
    return { imageId: built.imageId, manifest: built.manifest, app: app.name };
  } catch (e) {
    if (e instanceof Error && 'code' in e && typeof e.code === 'string' && e.code.startsWith('ERR_')) throw e;
    throw exportError(
      `app "${app.name}" could not be exported: ${(e as Error).message}`,
      'ERR_RUN_ROOTFS',
      e,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
