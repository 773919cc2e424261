import { spawn } from 'node:child_process';
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
  const { findPod } = await import('@appc/runtime-linux');
  const pod = await findPod(state, ref);
  if (pod.state !== 'running') throw new UsageError(`pod ${pod.uuid} is ${pod.state}, not running`);
  const app = values.app ?? (pod.apps.length === 1 ? pod.apps[0]?.name : undefined);
  if (app === undefined || !pod.apps.some((a) => a.name === app))
    throw new UsageError(`say which app with --app (${pod.apps.map((a) => a.name).join(', ')})`);
  const child = spawn(
    'runc',
    [
      '--root',
      join(state, 'runc'),
      'exec',
      `appc-${pod.uuid}-${app}`,
      ...(cmd.length > 0 ? cmd : ['/bin/sh']),
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
  return code;
}
