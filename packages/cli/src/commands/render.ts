import { readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createFileImageProvider, render } from '@appc/aci';
import { expectPositionals, parseCommandArgs, pathArg } from '../args.ts';
import { ExitCode, type Globals, type Io } from '../io.ts';

export const summary = 'Write an image with its dependencies applied, as an executor sees it';
export const usage = 'appc render [--rootfs-only] [--overwrite] [--dep FILE]... [--dep-dir DIR]... ACI DIR';
export const help = `Lays down every dependency depth first in listed order, then the image itself, then applies the
pathWhitelist (ACI-020..ACI-022); each dependency's imageID and size, when the manifest gives them, must
match (ACI-011, ACI-023). Dependencies are looked up by name and labels among local ACI files: those given
with --dep, every *.aci in each --dep-dir, and, when neither flag is given, every *.aci beside ACI.

  --dep FILE        an ACI that may satisfy a dependency (repeatable)
  --dep-dir DIR     every *.aci file in DIR (repeatable)
  --rootfs-only     write the rendered rootfs contents into DIR (no manifest)
  --overwrite       replace DIR when it exists and is not empty`;

async function acisIn(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return names.filter((n) => n.endsWith('.aci')).map((n) => join(dir, n));
}

export async function run(argv: string[], io: Io, globals: Globals): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, {
    dep: { type: 'string', multiple: true },
    'dep-dir': { type: 'string', multiple: true },
    'rootfs-only': { type: 'boolean' },
    overwrite: { type: 'boolean' },
  });
  expectPositionals(positionals, 2, 2, 'ACI and DIR');
  const [aciArg, dirArg] = positionals as [string, string];
  const aci = pathArg(io, aciArg);
  const files = (values.dep ?? []).map((f) => pathArg(io, f));
  for (const d of values['dep-dir'] ?? []) files.push(...(await acisIn(pathArg(io, d))));
  if (values.dep === undefined && values['dep-dir'] === undefined) {
    files.push(...(await acisIn(dirname(aci))).filter((f) => resolve(f) !== aci));
  }
  const result = await render(aci, pathArg(io, dirArg), {
    provider: createFileImageProvider(files),
    rootfsOnly: values['rootfs-only'] ?? false,
    overwrite: values.overwrite ?? false,
    ...(io.signal ? { signal: io.signal } : {}),
  });
  for (const w of result.warnings) io.stderr.write(`warning: ${w}\n`);
  if (globals.debug)
    io.stderr.write(
      `rendered ${result.imageId} from ${result.layers.length} layer(s): ${result.layers.join(' ')}\n`,
    );
  return ExitCode.Ok;
}
