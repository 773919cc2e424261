import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dependency } from '@appc/schema';
import { compress, type TarEntrySpec, writeTar } from '@appc/vectors';

/** What a test image holds. */
export interface TinyImage {
  name: string;
  labels?: Record<string, string>;
  dependencies?: Dependency[];
  pathWhitelist?: string[];
  /** rootfs-relative path -> contents. */
  files?: Record<string, string>;
  compression?: 'none' | 'gzip' | 'bzip2' | 'xz';
}

/** Builds a small ACI in memory (our test tar writer, then gzip/bzip2/xz as asked; gzip by default). */
export function makeAci(image: TinyImage): Buffer {
  const manifest = {
    acKind: 'ImageManifest',
    acVersion: '0.8.11',
    name: image.name,
    labels: Object.entries(image.labels ?? {}).map(([name, value]) => ({ name, value })),
    ...(image.dependencies ? { dependencies: image.dependencies } : {}),
    ...(image.pathWhitelist ? { pathWhitelist: image.pathWhitelist } : {}),
  };
  const entries: TarEntrySpec[] = [
    { name: 'manifest', contents: JSON.stringify(manifest) },
    { name: 'rootfs/', type: 'dir' },
  ];
  const dirs = new Set<string>();
  for (const [path, contents] of Object.entries(image.files ?? {})) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!dirs.has(d)) {
        dirs.add(d);
        entries.push({ name: `rootfs/${d}/`, type: 'dir' });
      }
    }
    entries.push({ name: `rootfs/${path}`, contents });
  }
  return compress(writeTar({ entries }), image.compression ?? 'gzip');
}

/** A temporary directory removed by the returned function. */
export async function tempDir(
  prefix = 'appc-store-',
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes a tiny ACI to `dir/<file>` and returns its path. */
export async function writeAci(dir: string, file: string, image: TinyImage): Promise<string> {
  const path = join(dir, file);
  await writeFile(path, makeAci(image));
  return path;
}
