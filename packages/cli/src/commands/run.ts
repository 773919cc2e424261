import { serializePodManifest } from '@appc/schema';
import { openImageStore, stateDir } from '../context.ts';
import { type Globals, type Io, useColor, warningLine } from '../io.ts';
import { POD_FLAGS_HELP, parsePodArgs, reifyFromArgs } from '../pod-args.ts';
import { discardAbortedPod, requireRoot, runPodHere } from '../pods.ts';

export const summary = "Run images as a pod; exit with the first failing app's status";
export const usage =
  'appc run [--net=host|none|default] [--volume NAME,kind=host,source=PATH] [--uuid-file-save FILE] IMAGE [--exec CMD] [--mount volume=NAME,target=PATH] [-- ARGS] [--- IMAGE ...]';
export const help = `Fetches each IMAGE into the store when it is not there (signatures checked, as appc fetch), reifies the
pod (apps filled from their image manifests, every mount point satisfied, images pinned by ID, a new UUID), gives
each app its own rootfs over the image's cached tree, and runs the apps with runc around a catatonit sandbox, with
the metadata service and the network. The apps' output goes to this command's stdout and stderr, and to the pod's
logs (appc logs). Exit status: the first failing app's (in pod order), 0 when all succeed; 2 when the pod could not
run. Ctrl-C (or appc stop) stops the apps: SIGTERM, then SIGKILL after 10 s. Needs root.

${POD_FLAGS_HELP}`;

export async function run(argv: string[], io: Io, globals: Globals): Promise<number> {
  const args = await parsePodArgs(argv, io);
  if (!args.dryRun) requireRoot('run');
  // The sandbox (catatonit in the pod's namespaces, the metadata forwarder) starts now, beside the image lookup and
  // the pod's preparation, instead of after them; the run takes it over, and a run given up before ends it (as does
  // a run whose pod manifest has pod isolators, which need runc's sandbox).
  const early = args.dryRun
    ? undefined
    : await (await import('@appc/runtime-linux')).startPodEarly({
        stateDir: stateDir(globals, io),
        net: args.net,
        hostname: args.hostname,
      });
  try {
    const store = await openImageStore(globals, io);
    try {
      const pod = await reifyFromArgs(args, io, globals, store, early?.uuid);
      if (args.dryRun) {
        io.stdout.write(`${serializePodManifest(pod.manifest, { indent: 2 })}\n`);
        return 0;
      }
      const { checkPodName } = await import('@appc/runtime-linux');
      if (args.name !== undefined) await checkPodName(stateDir(globals, io), args.name);
      const color = useColor(io);
      for (const w of pod.warnings) io.stderr.write(warningLine(color, w));
      try {
        return await runPodHere(io, globals, store, pod, { ...args, early });
      } catch (error) {
        // a pod that could not run (a refused volume, user, working directory or program: ACE-006, ACE-011..ACE-013)
        // leaves nothing behind; its reason is this command's error
        await discardAbortedPod(stateDir(globals, io), pod.uuid);
        throw error;
      }
    } finally {
      store.close();
    }
  } finally {
    await early?.cancel();
  }
}
