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
  // what is no file is a pod, when one answers to the name; otherwise the missing file is the error reported
  const byUuidFile = values['uuid-file'] !== undefined;
  const podFile =
    byUuidFile || !existsSync(path) ? await podManifestFile(io, globals, ref, byUuidFile) : undefined;
  if (podFile) {
    const raw = await readFile(podFile);
    if (values['pretty-print']) {
      const manifest = parsePodManifest(parseJson(raw, { file: podFile }), { file: podFile });
      io.stdout.write(`${serializePodManifest(manifest, { indent: 2 })}\n`);
    } else io.stdout.write(raw);
    return ExitCode.Ok;
  }
  const { manifest, raw } = await readManifest(path);
  if (values['pretty-print']) io.stdout.write(`${serializeImageManifest(manifest, { indent: 2 })}\n`);
  else io.stdout.write(raw);
  return ExitCode.Ok;
}

/** The pod manifest file of the pod `ref` names; undefined when none does, unless `required`.
 * @throws `ERR_RUN_POD_NOT_FOUND` when `required` and no pod answers. */
async function podManifestFile(
  io: Io,
  globals: Globals,
  ref: string,
  required: boolean,
): Promise<string | undefined> {
  const { findPod, podDir } = await import('@appc/runtime-linux');
  const state = stateDir(globals, io);
  const pod = await findPod(state, ref).catch((e: unknown) => {
    if (required) throw e;
    return undefined;
  });
  return pod && join(podDir(state, pod.uuid), 'pod-manifest.json');
}
