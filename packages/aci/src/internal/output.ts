import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { AciError } from '../errors.ts';

/** Options shared by every function that writes an archive file. */
export interface OutputOptions {
  /** Replace an existing output (otherwise `ERR_ACI_OUTPUT_EXISTS`). */
  overwrite?: boolean;
  /** Accept an output name that does not end in `.aci` (ACI-001; default false). */
  anyExtension?: boolean;
  signal?: AbortSignal;
}

/** Checks the output name and that it may be written (ACI-001, ACI-014). */
export async function checkOutput(out: string, options: OutputOptions): Promise<void> {
  if (!options.anyExtension && !out.endsWith('.aci'))
    throw new AciError(
      `${out}: an image archive's name must end in ".aci" (ACI-001); rename the output, or pass anyExtension.`,
      { code: 'ERR_ACI_BAD_EXTENSION', requirement: 'ACI-001', file: out },
    );
  const st = await lstat(out).catch(() => undefined);
  if (st && !options.overwrite)
    throw new AciError(`${out} already exists; remove it or ask to overwrite it.`, {
      code: 'ERR_ACI_OUTPUT_EXISTS',
      requirement: 'ACI-014',
      file: out,
    });
  if (st?.isDirectory())
    throw new AciError(`${out} is a directory; name a file for the archive.`, {
      code: 'ERR_ACI_OUTPUT_EXISTS',
      requirement: 'ACI-014',
      file: out,
    });
}

/** Writes `data` to a temporary file beside `out`, then renames it over `out`; on any failure (or abort) the
 * temporary file is removed, so no partial output is ever left behind (ACI-014). Returns the bytes written. */
export async function writeAtomically(
  out: string,
  data: AsyncIterable<Uint8Array>,
  signal?: AbortSignal,
): Promise<number> {
  const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let written = 0;
  try {
    await pipeline(
      data,
      async function* (source: AsyncIterable<Uint8Array>) {
        for await (const c of source) {
          written += c.length;
          yield c;
        }
      },
      createWriteStream(tmp, { flags: 'wx', mode: 0o644 }),
      ...((signal ? [{ signal }] : []) as []),
    );
    await rename(tmp, out);
    return written;
  } catch (e) {
    await rm(tmp, { force: true });
    // the temporary name means nothing to the caller: name the output (a missing or read-only directory)
    if ((e as NodeJS.ErrnoException).path === tmp) (e as NodeJS.ErrnoException).path = out;
    if (signal?.aborted)
      throw new AciError(`${out}: aborted; nothing was written.`, {
        code: 'ERR_ACI_ABORTED',
        file: out,
        cause: signal.reason,
      });
    throw e;
  }
}
