import {
  expectPositionals,
  FORMAT_FLAG,
  jsonText,
  outputFormat,
  parseCommandArgs,
  parseDuration,
  podArgs,
  UUID_FILE_FLAG,
} from '../args.ts';
import { stateDir } from '../context.ts';
import { ExitCode, type Globals, type Io } from '../io.ts';
import { podJson, podReady, printStatus } from '../pods.ts';

export const summary = "Print a pod's state and its apps' exit statuses";
export const usage =
  'appc status [--wait | --wait-ready] [--timeout DURATION] [--json | --format json|json-pretty] POD';
export const help = `POD is a UUID, a unique prefix of one, or a pod name. States: prepared, running, exited, aborted
(its process ended without cleaning up: appc gc cleans it).

  --wait              wait until the pod is no longer running (or prepared by a live process)
  --wait-ready        wait until the pod runs and every app annotated
                      appc.io/executor/supports-systemd-notify=true has sent READY=1 (ACE-016); exit 1 when
                      the pod ends first
  --timeout DURATION  give up waiting after this long (10s, 2m, ...; exit 1); default: no limit
  --json              {"uuid", "name", "state", "ready", "net", "address", "createdAt", "startedAt",
                      "finishedAt", "apps": [{"name", "imageName", "imageId", "exitCode", "ready"?}]}
                      (an app's "ready" only when it reports readiness); rkt's --format=json or json-pretty too
  --uuid-file FILE    the pod whose UUID appc run --uuid-file-save wrote there, instead of POD`;

export async function run(argv: string[], io: Io, globals: Globals): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, {
    wait: { type: 'boolean' },
    'wait-ready': { type: 'boolean' },
    timeout: { type: 'string' },
    json: { type: 'boolean' },
    ...FORMAT_FLAG,
    ...UUID_FILE_FLAG,
  });
  const format = outputFormat(values);
  const pods = await podArgs(io, positionals, values['uuid-file']);
  expectPositionals(pods, 1, 1, 'one POD');
  const deadline =
    values.timeout === undefined
      ? Number.POSITIVE_INFINITY
      : Date.now() + parseDuration(values.timeout, '--timeout');
  const state = stateDir(globals, io);
  const { findPod, readPodRecord } = await import('@appc/runtime-linux');
  let record = await findPod(state, pods[0] as string);
  const alive = () =>
    record.state === 'running' || (record.state === 'prepared' && record.owner !== undefined);
  const waiting = () =>
    values['wait-ready'] ? !podReady(record) && alive() : values.wait === true && alive();
  let timedOut = false;
  while (waiting()) {
    if (io.signal?.aborted) break;
    if (Date.now() >= deadline) {
      timedOut = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
    record = (await readPodRecord(state, record.uuid)) ?? record;
  }
  if (format !== 'text') io.stdout.write(jsonText(podJson(record), format));
  else printStatus(io, record);
  if (timedOut) {
    io.stderr.write(
      `appc status: pod ${record.uuid} is still ${values['wait-ready'] ? 'not ready' : record.state} after ${values.timeout}.\n`,
    );
    return ExitCode.Invalid;
  }
  if (values['wait-ready'] && !podReady(record)) {
    io.stderr.write(`appc status: pod ${record.uuid} is ${record.state} and was never ready.\n`);
    return ExitCode.Invalid;
  }
  return ExitCode.Ok;
}
