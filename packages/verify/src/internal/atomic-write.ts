import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Creates `dir` and its missing parents with mode 0755 (VERIFY-003, as rkt writes its key store). */
export async function makeDirs(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true, mode: 0o755 });
  if (first === undefined) return;
  // mkdir applies the umask; set the mode the store promises on every directory it created
  for (let d = dir; d.length >= first.length; d = dirname(d)) {
    await chmod(d, 0o755);
    if (d === first) break;
  }
}

/** Temporary names start with a dot, so that readers of the store skip them. */
export function tempNameFor(file: string): string {
  return join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Writes `data` to `file` through a temporary file in the same directory and a rename, mode 0644. A failure
 * names `file`, never the temporary name the caller did not choose (a missing directory, a full disk). */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const temp = tempNameFor(file);
  try {
    await writeFile(temp, data, { mode: 0o644, flag: 'wx' });
    await chmod(temp, 0o644);
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    const e = error as NodeJS.ErrnoException & { dest?: string };
    if (e.path === temp) {
      e.path = file;
      e.message = e.message.split(temp).join(file);
      if (e.dest !== undefined) delete e.dest;
    }
    throw error;
  }
}
