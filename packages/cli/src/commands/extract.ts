import { extract } from '@appc/aci';
import { expectPositionals, parseCommandArgs, pathArg } from '../args.ts';
import { ExitCode, type Globals, type Io } from '../io.ts';

export const summary = 'Unpack an ACI (manifest and rootfs) into a directory, safely';
export const usage = 'appc extract [--rootfs-only] [--overwrite] ACI DIR';
export const help = `Nothing is written outside DIR: absolute names, "..", symlink and hardlink escapes are refused,
device nodes need root (ACI-012). On failure nothing half-written is left behind.

  --rootfs-only   write the contents of rootfs/ into DIR (no manifest)
  --overwrite     replace DIR when it exists and is not empty`;

export async function run(argv: string[], io: Io, globals: Globals): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, {
    'rootfs-only': { type: 'boolean' },
    overwrite: { type: 'boolean' },
  });
  expectPositionals(positionals, 2, 2, 'ACI and DIR');
  const [aci, dir] = positionals as [string, string];
  const result = await extract(pathArg(io, aci), pathArg(io, dir), {
    rootfsOnly: values['rootfs-only'] ?? false,
    overwrite: values.overwrite ?? false,
    // the ID is only shown with --debug: without it, the SHA-512 of the whole tar is spared
    imageId: globals.debug,
    ...(io.signal ? { signal: io.signal } : {}),
  });
  for (const w of result.warnings) io.stderr.write(`warning: ${w}\n`);
  if (globals.debug) io.stderr.write(`extracted ${result.imageId} into ${dir}\n`);
  return ExitCode.Ok;
}
