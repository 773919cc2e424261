import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseCommandArgs } from '../args.ts';
import { stateDir } from '../context.ts';
import { UsageError } from '../errors.ts';
import type { Globals, Io } from '../io.ts';
import { requireRoot } from '../pods.ts';

export const summary = "Run a command in a running pod's app";
export const usage = 'appc enter [--app NAME] POD [CMD [ARGS...]]';
export const help = `Runs CMD (default /bin/sh) inside an app of a running pod: its rootfs, namespaces, user, cgroup and
isolators (runc exec). --app NAME picks the app; a pod with one app needs none. Flags end at POD: what follows
is the command with its own flags (appc enter 3f2a ls -la). Exits with CMD's status.`;

export async function run(argv: string[], io: Io, globals: Globals): Promise<number> {
  // flags end at POD: what follows is the command and its own flags (`appc enter POD ls -la`), as in rkt
  let i = 0;
  while (i < argv.length && (argv[i] as string).startsWith('-') && argv[i] !== '--') {
    i += /^--?app$/.test(argv[i] as string) ? 2 : 1;
  }
  const { values } = parseCommandArgs(argv.slice(0, i), { app: { type: 'string' } });
  const rest = argv[i] === '--' ? argv.slice(i + 1) : argv.slice(i);
  const [ref, ...after] = rest;
  if (ref === undefined) throw new UsageError('give the POD to enter');
  const cmd = after[0] === '--' ? after.slice(1) : after;
  requireRoot('enter');
  const state = stateDir(globals, io);
  const { findPod, podDir, RuntimeError, runcLogErrors } = await import('@appc/runtime-linux');
  const pod = await findPod(state, ref);
  if (pod.state !== 'running')
    throw new RuntimeError(
      `pod ${pod.uuid} is ${pod.state}, not running; only a running pod can be entered.`,
      {
        code: 'ERR_RUN_POD_STATE',
      },
    );
  const names = pod.apps.map((a) => a.name).join(', ');
  if (values.app !== undefined && !pod.apps.some((a) => a.name === values.app))
    throw new UsageError(`pod ${pod.uuid} has no app "${values.app}"; its apps: ${names}`);
  const app = values.app ?? (pod.apps.length === 1 ? pod.apps[0]?.name : undefined);
  if (app === undefined) throw new UsageError(`say which app with --app (${names})`);
  const program = cmd.length > 0 ? cmd : ['/bin/sh'];
  // runc's own failure goes to a JSON log of its own, so that it is told apart from the command's exit status 255
  const log = join(podDir(state, pod.uuid), 'runtime', `enter-${process.pid}.log`);
  const child = spawn(
    'runc',
    [
      '--root',
      join(state, 'runc'),
      '--log',
      log,
      '--log-format',
      'json',
      'exec',
      `appc-${pod.uuid}-${app}`,
      ...program,
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  if (io.stdin) io.stdin.pipe(child.stdin);
  else child.stdin.end();
  child.stdout.pipe(io.stdout, { end: false });
  child.stderr.pipe(io.stderr, { end: false });
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, signal) => resolve(c ?? 128 + (signal === 'SIGKILL' ? 9 : 15)));
  });
  io.stdin?.unpipe(child.stdin);
  // runc's own error, once it ended; the log goes
  const errors = await runcLogErrors(log);
  await rm(log, { force: true });
  if (errors.length > 0) {
    const failed = errors.join('; ');
    // ACE-012: a program the app's filesystem does not have is the caller's to correct
    const missing = /no such file or directory|not found in \$PATH|permission denied/.test(failed);
    throw new RuntimeError(
      `app "${app}" of pod ${pod.uuid}: ${program[0]} could not be run: ${failed}${
        missing ? `; give a program of the app's filesystem (the default is /bin/sh)` : ''
      }.`,
      missing
        ? { code: 'ERR_RUN_EXEC_NOT_FOUND', requirement: 'ACE-012', app }
        : { code: 'ERR_RUN_RUNC', requirement: 'ACE-002', app },
    );
  }
  return code;
}
