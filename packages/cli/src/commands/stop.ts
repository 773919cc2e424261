import { expectPositionals, parseCommandArgs, parseDuration, podArgs, UUID_FILE_FLAG } from '../args.ts';
import { stateDir } from '../context.ts';
import { describeError, exitCodeFor, UsageError } from '../errors.ts';
import { ExitCode, type Globals, type Io } from '../io.ts';
import { requireRoot } from '../pods.ts';

export const summary = 'Stop running pods';
export const usage = 'appc stop [--force] [--timeout SECONDS] [--uuid-file FILE] POD...';
export const help = `Asks the process running each pod to stop it (SIGTERM to its apps, SIGKILL 10 s later; post-stop
handlers run), and waits until it has. A pod whose process is gone is cleaned up instead. Prints each UUID.

  --force            SIGKILL the process running the pod at once, then clean up what it leaves
  --timeout SECONDS  how long to wait for a pod to stop (default 30; a duration such as 2m works too)
  --uuid-file FILE   also the pod whose UUID appc run --uuid-file-save wrote there`;

export async function run(argv: string[], io: Io, globals: Globals): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, {
    force: { type: 'boolean' },
    timeout: { type: 'string', default: '30' },
    ...UUID_FILE_FLAG,
  });
  // checked before any pod is signalled: a bad value must stop nothing
  const timeout = values.timeout as string;
  let timeoutMs: number;
  if (/^\d+(\.\d+)?$/.test(timeout)) timeoutMs = Number(timeout) * 1000;
  else {
    try {
      timeoutMs = parseDuration(timeout, '--timeout');
    } catch {
      throw new UsageError(`--timeout ${timeout}: give seconds (e.g. 30) or a duration (e.g. 90s, 2m)`);
    }
  }
  const pods = await podArgs(io, positionals, values['uuid-file']);
  expectPositionals(pods, 1, Number.POSITIVE_INFINITY, 'one or more PODs');
  requireRoot('stop');
  const state = stateDir(globals, io);
  const { cleanupPod, findPod, readPodRecord, RuntimeError } = await import('@appc/runtime-linux');
  const deadline = Date.now() + timeoutMs;
  let status: ExitCode = ExitCode.Ok;
  for (const ref of pods) {
    try {
      let pod = await findPod(state, ref);
      if (pod.state === 'running' && pod.owner) {
        process.kill(pod.owner.pid, values.force ? 'SIGKILL' : 'SIGTERM');
        while (pod.state === 'running' && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
          pod = (await readPodRecord(state, pod.uuid)) ?? pod;
        }
      }
      if (pod.state === 'aborted') await cleanupPod(state, pod);
      if (pod.state === 'running')
        throw new RuntimeError(
          `pod ${pod.uuid} did not stop within --timeout ${timeout}; wait longer (--timeout) or kill it (--force).`,
          { code: 'ERR_RUN_POD_STATE' },
        );
      io.stdout.write(`${pod.uuid}\n`);
    } catch (e) {
      io.stderr.write(`appc stop: ${ref}: ${describeError(e, globals.debug).message}\n`);
      status = Math.max(status, exitCodeFor(e)) as ExitCode;
    }
  }
  return status;
}
