import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { serializePodManifest } from '@appc/schema';
import { openImageStore, stateDir } from '../context.ts';
import { ExitCode, type Globals, type Io } from '../io.ts';
import { POD_FLAGS_HELP, parsePodArgs, reifyFromArgs } from '../pod-args.ts';
import { requireRoot } from '../pods.ts';

export const summary = 'Fetch and reify a pod without running it; print its UUID';
export const usage = 'appc prepare [pod flags] IMAGE [app flags] [-- ARGS] [--- IMAGE ...]';
export const help = `Does everything appc run does before starting anything: images fetched and pinned, the pod
reified and checked, a UUID given; the pod is then "prepared" (appc list) until appc run-prepared runs it.

${POD_FLAGS_HELP}`;

export async function run(argv: string[], io: Io, globals: Globals): Promise<ExitCode> {
  const args = await parsePodArgs(argv, io);
  requireRoot('prepare');
  const store = await openImageStore(globals, io);
  try {
    const pod = await reifyFromArgs(args, io, globals, store);
    // as appc run --dry-run: the reified pod manifest, and no pod
    if (args.dryRun) {
      io.stdout.write(`${serializePodManifest(pod.manifest, { indent: 2 })}\n`);
      return ExitCode.Ok;
    }
    const state = stateDir(globals, io);
    const { checkPodName, podDir, podRecordOf, removePodDir, writePodRecord } = await import(
      '@appc/runtime-linux'
    );
    if (args.name !== undefined) await checkPodName(state, args.name);
    try {
      await writePodRecord(state, podRecordOf(pod, args));
      await writeFile(
        join(podDir(state, pod.uuid), 'pod-manifest.json'),
        serializePodManifest(pod.manifest, { indent: 2 }),
      );
      if (args.uuidFileSave !== undefined) await writeFile(args.uuidFileSave, pod.uuid);
    } catch (error) {
      // a pod whose UUID could not be saved where asked is not left behind, unnamed (ACE-001)
      await removePodDir(state, pod.uuid).catch(() => undefined);
      throw error;
    }
    io.stdout.write(`${pod.uuid}\n`);
    return ExitCode.Ok;
  } finally {
    store.close();
  }
}
