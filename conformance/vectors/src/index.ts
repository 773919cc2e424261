import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One conformance case: an input, the requirement it checks and the verdict the spec gives. */
export interface Vector {
  /** Unique within the suite, `<section>/<slug>`. */
  id: string;
  /** Requirement ID of spec/REQUIREMENTS.md that decides the verdict. */
  requirement: string;
  title: string;
  /** What is judged; the shape depends on the section (see README.md). */
  input: Record<string, unknown>;
  expect: { valid: boolean; code?: string; codes?: string[]; [key: string]: unknown };
  /** Where the case came from: `appc/spec schema/types/labels_test.go`, or `ours`. */
  source?: string;
  /** Folder of the file that holds the case, for inputs that name files beside it. */
  dir: string;
}

/** Folder that holds the vector sections. */
export const vectorsRoot: string = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Section names: the sub-folders of the vectors root that hold JSON files. */
export async function listSections(): Promise<string[]> {
  const entries = await readdir(vectorsRoot, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory() && !['src', 'node_modules', 'fixtures'].includes(e.name))
    .map((e) => e.name)
    .sort();
}

/** Loads every vector of a section; a file may hold one vector or a list of them. */
export async function loadVectors(section: string): Promise<Vector[]> {
  const dir = join(vectorsRoot, section);
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  const out: Vector[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    const data: unknown = JSON.parse(await readFile(join(dir, file), 'utf8'));
    const list = Array.isArray(data) ? data : [data];
    for (const v of list as Omit<Vector, 'dir'>[]) {
      if (
        typeof v.id !== 'string' ||
        typeof v.requirement !== 'string' ||
        typeof v.expect?.valid !== 'boolean'
      ) {
        throw new Error(
          `${join(dir, file)}: a vector needs id, requirement and expect.valid (${JSON.stringify(v).slice(0, 80)})`,
        );
      }
      if (seen.has(v.id)) throw new Error(`${join(dir, file)}: duplicate vector id ${v.id}`);
      seen.add(v.id);
      out.push({ ...v, dir });
    }
  }
  return out;
}

export type { TarEntrySpec, TarSpec } from './tar.ts';
export { compress, materializeArchive, writeTar } from './tar.ts';
