import { expectPositionals, parseCommandArgs, parseDuration } from '../args.ts';
import { stateDir } from '../context.ts';
import { ExitCode, type Globals, type Io } from '../io.ts';
import { requireRoot } from '../pods.ts';

export const summary = 'Clean up after dead pods and remove old exited ones';
export const usage = 'appc gc [--grace-period DURATION] [--expire-prepared DURATION] [--mark-only]';
export const help = `Cleans up every pod whose process died (kill -9 of appc run, a crash): its containers, cgroups,
network, port forwards and mounts; then removes exited and aborted pods that ended more than the grace period ago
(default 30m; e.g. 0s, 10m, 1h). Running pods are not touched. Images are collected by appc image gc.

  --grace-period DURATION     how long an exited pod stays (default 30m)
  --expire-prepared DURATION  how long a prepared pod that was never run stays (default 24h)
  --mark-only                 only clean up after dead pods (they stay, marked aborted); remove nothing`;

export async function run(argv: string[], io: Io, globals: Globals): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, {
    'grace-period': { type: 'string', default: '30m' },
    'expire-prepared': { type: 'string', default: '24h' },
    'mark-only': { type: 'boolean' },
  });
  expectPositionals(positionals, 0, 0, 'no arguments');
  requireRoot('gc');
  const gracePeriodMs = parseDuration(values['grace-period'] as string);
  const { gcPods } = await import('@appc/runtime-linux');
  const expirePreparedMs = parseDuration(values['expire-prepared'] as string, '--expire-prepared');
  const report = await gcPods(stateDir(globals, io), {
    gracePeriodMs,
    expirePreparedMs,
    ...(values['mark-only'] ? { cleanOnly: true } : {}),
  });
  for (const uuid of report.removed) io.stdout.write(`${uuid}\n`);
  io.stderr.write(
    `Cleaned up ${report.cleaned.length} dead pod(s); removed ${report.removed.length} pod(s).\n`,
  );
  return ExitCode.Ok;
}
