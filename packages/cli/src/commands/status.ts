import { expectPositionals, parseCommandArgs } from '../args.ts';
import { stateDir } from '../context.ts';
import { ExitCode, type Globals, type Io } from '../io.ts';
import { podJson, printStatus } from '../pods.ts';

export const summary = "Print a pod's state and its apps' exit statuses";
export const usage = 'appc status [--wait] [--json] POD';
export const help = `POD is a UUID, a unique prefix of one, or a pod name. States: prepared, running, exited, aborted
(its process ended without cleaning up: appc gc cleans it).

  --wait   wait until the pod is no longer running (or prepared by a live process)
  --json   {"uuid", "name", "state", "net", "address", "createdAt", "startedAt", "finishedAt",
           "apps": [{"name", "imageName", "imageId", "exitCode"}]}`;

export async function run(argv: string[], io: Io, globals: Globals): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, {
    wait: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  expectPositionals(positionals, 1, 1, 'one POD');
  const state = stateDir(globals, io);
  const { findPod, readPodRecord } = await import('@appc/runtime-linux');
  let record = await findPod(state, positionals[0] as string);
  while (values.wait && (record.state === 'running' || (record.state === 'prepared' && record.owner))) {
    if (io.signal?.aborted) break;
    await new Promise((r) => setTimeout(r, 200));
    record = (await readPodRecord(state, record.uuid)) ?? record;
  }
  if (values.json) io.stdout.write(`${JSON.stringify(podJson(record))}\n`);
  else printStatus(io, record);
  return ExitCode.Ok;
}
