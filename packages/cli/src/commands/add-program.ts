import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { addHostPrograms } from '@appc/aci';
import { expectPositionals, parseCommandArgs, pathArg } from '../args.ts';
import { UsageError } from '../errors.ts';
import { ExitCode, type Globals, type Io } from '../io.ts';

export const summary = "Copy host programs into a layout's rootfs with the shared libraries they need";
export const usage = 'appc add-program LAYOUT_DIR PROGRAM...';
export const help = `Copies each PROGRAM (a path, or a name looked up on the PATH) into LAYOUT_DIR/rootfs at the path it has on
this host, with what it needs to start: the interpreter a script names (#!/bin/sh, #!/usr/bin/env python3), the
dynamic loader and every shared library the loader lists (what ldd shows), and the symlinks on the way
(libz.so.1 -> libz.so.1.2.13; a merged /usr's /bin -> usr/bin). What the rootfs already has is kept. Prints
each host path added. Libraries a program opens at run time (dlopen: NSS modules, plugins) are not seen: name
them as well. Then build the image with appc build.

  appc add-program layout /bin/sh curl /lib/x86_64-linux-gnu/libnss_dns.so.2`;

export async function run(argv: string[], io: Io, globals: Globals): Promise<ExitCode> {
  const { positionals } = parseCommandArgs(argv, {});
  expectPositionals(positionals, 2, Number.POSITIVE_INFINITY, 'LAYOUT_DIR and at least one PROGRAM');
  const layout = pathArg(io, positionals[0] as string);
  if (!(await stat(layout).catch(() => undefined))?.isDirectory())
    throw new UsageError(
      `${layout} is not a directory: make the layout directory (manifest + rootfs/) first`,
    );
  const rootfs = join(layout, 'rootfs');
  await mkdir(rootfs, { recursive: true });
  const result = await addHostPrograms(rootfs, positionals.slice(1), {
    ...(io.env.PATH !== undefined ? { path: io.env.PATH } : {}),
    onFile: (p) => io.stdout.write(`${p}\n`),
  });
  if (globals.debug) for (const p of result.kept) io.stderr.write(`kept ${p}: the rootfs has it already\n`);
  return ExitCode.Ok;
}
