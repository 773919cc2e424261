import { expectPositionals, parseCommandArgs, podArgs, UUID_FILE_FLAG } from '../args.ts';
import { stateDir } from '../context.ts';
import { describeError, exitCodeFor } from '../errors.ts';
import { ExitCode, type Globals, type Io } from '../io.ts';
import { requireRoot } from '../pods.ts';

export const summary = 'Remove pods that are not running';
export const usage = 'appc rm [--uuid-file FILE] POD...';
export const help = `Removes each pod's record, manifest and logs, and anything left of it (containers, cgroups, network,
mounts). A running pod is refused: stop it first. Prints each removed UUID. --uuid-file FILE: also the pod whose
UUID appc run --uuid-file-save wrote there.`;

export async function run(argv: string[], io: Io, globals: Globals): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, { ...UUID_FILE_FLAG });
  const pods = await podArgs(io, positionals, values['uuid-file']);
  expectPositionals(pods, 1, Number.POSITIVE_INFINITY, 'one or more PODs');
  requireRoot('rm');
  const state = stateDir(globals, io);
  const { findPod, removePod } = await import('@appc/runtime-linux');
  let status: ExitCode = ExitCode.Ok;
  for (const ref of pods) {
    try {
      const pod = await findPod(state, ref);
      await removePod(state, pod);
      io.stdout.write(`${pod.uuid}\n`);
    } catch (e) {
      io.stderr.write(`appc rm: ${ref}: ${describeError(e, globals.debug).message}\n`);
      status = Math.max(status, exitCodeFor(e)) as ExitCode;
    }
  }
  return status;
}
