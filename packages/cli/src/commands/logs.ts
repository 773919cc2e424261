import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { expectPositionals, parseCommandArgs } from '../args.ts';
import { stateDir } from '../context.ts';
import { UsageError } from '../errors.ts';
import { ExitCode, type Globals, type Io } from '../io.ts';

export const summary = "Print the output of a pod's apps";
export const usage = 'appc logs [--app NAME] POD';
export const help = `Prints what each app wrote, its stdout to stdout and its stderr to stderr, app by app in pod order
(the whole output of a running pod so far). --app NAME: one app only.`;

async function copy(file: string, out: NodeJS.WritableStream): Promise<void> {
  if (
    !(await access(file).then(
      () => true,
      () => false,
    ))
  )
    return;
  for await (const chunk of createReadStream(file)) out.write(chunk);
}

export async function run(argv: string[], io: Io, globals: Globals): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, { app: { type: 'string' } });
  expectPositionals(positionals, 1, 1, 'one POD');
  const state = stateDir(globals, io);
  const { findPod, podDir } = await import('@appc/runtime-linux');
  const pod = await findPod(state, positionals[0] as string);
  const apps = values.app === undefined ? pod.apps : pod.apps.filter((a) => a.name === values.app);
  if (apps.length === 0)
    throw new UsageError(
      `pod ${pod.uuid} has no app "${values.app}"; its apps: ${pod.apps.map((a) => a.name).join(', ')}`,
    );
  for (const a of apps) {
    await copy(join(podDir(state, pod.uuid), 'logs', `${a.name}.stdout`), io.stdout);
    await copy(join(podDir(state, pod.uuid), 'logs', `${a.name}.stderr`), io.stderr);
  }
  return ExitCode.Ok;
}
