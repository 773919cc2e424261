import { expectPositionals, parseCommandArgs, pathArg } from '../args.ts';
import { openImageStore, stateDir } from '../context.ts';
import { ExitCode, type Globals, type Io } from '../io.ts';
import { requireRoot } from '../pods.ts';

export const summary = 'Turn one app of a pod that has ended into an image';
export const usage = 'appc export [--app NAME] [--overwrite] POD OUT.aci';
export const help = `As rkt export: the app's image with what the app changed laid over it (files written, removed, replaced),
dependencies applied, and the app as the pod ran it (exec, user, group, environment, isolators) in the manifest;
prints the new image's ID. POD is a UUID, a unique prefix of one, or a pod name; it must have ended (exited or
aborted) and not be removed yet (appc gc removes exited pods after the grace period). Needs root.

  --app NAME     the app to export (needed when the pod has several)
  --overwrite    replace OUT.aci if it exists`;

export async function run(argv: string[], io: Io, globals: Globals): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(argv, {
    app: { type: 'string' },
    overwrite: { type: 'boolean' },
  });
  expectPositionals(positionals, 2, 2, 'POD and OUT.aci');
  requireRoot('export');
  const { exportPodApp } = await import('@appc/runtime-linux');
  const store = await openImageStore(globals, io);
  try {
    const r = await exportPodApp(
      stateDir(globals, io),
      store,
      positionals[0] as string,
      pathArg(io, positionals[1] as string),
      {
        ...(values.app !== undefined ? { app: values.app } : {}),
        ...(values.overwrite ? { overwrite: true } : {}),
      },
    );
    io.stdout.write(`${r.imageId}\n`);
    return ExitCode.Ok;
  } finally {
    store.close();
  }
}
