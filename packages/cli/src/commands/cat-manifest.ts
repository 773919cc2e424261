import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readManifest } from '@appc/aci';
import { parseJson, parsePodManifest, serializeImageManifest, serializePodManifest } from '@appc/schema';
import { expectPositionals, parseCommandArgs, pathArg, podArgs, UUID_FILE_FLAG } from '../args.ts';
import { stateDir } from '../context.ts';
import { ExitCode, type Globals, type Io } from '../io.ts';

export const summary = "Print an ACI's image manifest, or a pod's pod manifest";
export const usage = 'appc cat-manifest [--pretty-print] ACI | POD | --uuid-file FILE';
export const help = `Prints the manifest exactly as stored in the archive (ACI-013), or, with --pretty-print, in canonical
form with indentation. Fails (exit 1) when the manifest is not a valid image manifest. An argument that is no
file is taken for a pod (a UUID, a unique prefix of one, or a pod name), as rkt cat-manifest took it: its pod
manifest is printed, as it was reified.

  --pretty-print     canonical member order, two-space indentation
  --uuid-file FILE   the pod whose UUID appc run --uuid-file-save wrote there`;

export async function run(argv: string[], io: Io, globals: Globals): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, {
    'pretty-print': { type: 'boolean' },
    ...UUID_FILE_FLAG,
  });
  const refs = await podArgs(io, positionals, values['uuid-file']);
  expectPositionals(refs, 1, 1, 'one ACI or POD');
  const ref = refs[0] as string;
  const path = pathArg(io, ref);
  if (values['uuid-file'] === undefined && existsSync(path)) {
    const { manifest, raw } = await readManifest(path);
    if (values['pretty-print']) io.stdout.write(`${serializeImageManifest(manifest, { indent: 2 })}\n`);
    else io.stdout.write(raw);
    return ExitCode.Ok;
  }
  // no such file: a pod, when one answers to the name (otherwise the missing file is the error to report)
  const { findPod, podDir } = await import('@appc/runtime-linux');
  const state = stateDir(globals, io);
  const pod = await findPod(state, ref).catch((e: unknown) => {
    if (values['uuid-file'] !== undefined) throw e;
    return undefined;
  });
  if (!pod) {
    await readManifest(path); // throws ENOENT, worded for a file
    return ExitCode.Usage;
  }
  const file = join(podDir(state, pod.uuid), 'pod-manifest.json');
  const raw = await readFile(file);
  if (values['pretty-print']) {
    const manifest = parsePodManifest(parseJson(raw, { file }), { file });
    io.stdout.write(`${serializePodManifest(manifest, { indent: 2 })}\n`);
  } else io.stdout.write(raw);
  return ExitCode.Ok;
}
