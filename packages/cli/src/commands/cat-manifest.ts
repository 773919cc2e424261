import { readManifest } from '@appc/aci';
import { serializeImageManifest } from '@appc/schema';
import { expectPositionals, parseCommandArgs, pathArg } from '../args.ts';
import { ExitCode, type Globals, type Io } from '../io.ts';

export const summary = "Print an ACI's image manifest";
export const usage = 'appc cat-manifest [--pretty-print] ACI';
export const help = `Prints the manifest exactly as stored in the archive (ACI-013), or, with --pretty-print, in canonical
form with indentation. Fails (exit 1) when the manifest is not a valid image manifest.

  --pretty-print   canonical member order, two-space indentation`;

export async function run(argv: string[], io: Io, _globals: Globals): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, { 'pretty-print': { type: 'boolean' } });
  expectPositionals(positionals, 1, 1, 'one ACI');
  const { manifest, raw } = await readManifest(pathArg(io, positionals[0] as string));
  if (values['pretty-print']) io.stdout.write(`${serializeImageManifest(manifest, { indent: 2 })}\n`);
  else io.stdout.write(raw);
  return ExitCode.Ok;
}
