import { stat } from 'node:fs/promises';
import { posix } from 'node:path';
import type { EnvironmentVariable } from '@appc/schema';
import { RuntimeError } from './errors.ts';
import { resolveInRootfs } from './internal/rootfs-path.ts';

/** The PATH every app gets unless its environment sets one (ACE-010). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The system default search path used when PATH is unset, as `confstr(_CS_PATH)` gives it (ACE-012). */
export const CS_PATH = '/bin:/usr/bin';

/** Value of the `container` variable every app gets (ACE-010). */
export const CONTAINER_ENV_VALUE = 'appc-runtime-linux';

/** What the executor knows when it builds an app's environment. */
export interface AppEnvironmentOptions {
  appName: string;
  /** `AC_METADATA_URL` (META-001); when absent the variable is still set, to the empty string. */
  metadataUrl?: string;
  /** The app's environment from the reified pod manifest (image values merged with overrides). */
  environment?: readonly EnvironmentVariable[];
}

/** An app's environment (ACE-010): `PATH` and `container` first, then the app's own variables (which may replace
 * them), then `AC_APP_NAME` (the pod app name) and `AC_METADATA_URL`, which the executor always sets itself. */
export function appEnvironment(options: AppEnvironmentOptions): EnvironmentVariable[] {
  const env = new Map<string, string>([
    ['PATH', DEFAULT_PATH],
    ['container', CONTAINER_ENV_VALUE],
  ]);
  for (const e of options.environment ?? []) env.set(e.name, e.value);
  env.delete('AC_APP_NAME');
  env.delete('AC_METADATA_URL');
  env.set('AC_APP_NAME', options.appName);
  env.set('AC_METADATA_URL', options.metadataUrl ?? '');
  return [...env].map(([name, value]) => ({ name, value }));
}

async function isExecutableFile(rootfs: string, path: string): Promise<boolean> {
  const resolved = await resolveInRootfs(rootfs, path);
  if (resolved.hostPath === undefined) return false;
  const st = await stat(resolved.hostPath).catch(() => undefined);
  return st?.isFile() === true && (st.mode & 0o111) !== 0;
}

/** Resolves the program of an exec list inside the app's rootfs as execvp would (ACE-012): a name with a `/` is
 * used as given (relative to the working directory); otherwise each directory of the app's `PATH` is searched,
 * or, when PATH is unset, the working directory and then {@link CS_PATH}. Returns the exec list with its first
 * element replaced by the absolute path found; the arguments are never expanded (IMG-006).
 * @throws {@link RuntimeError} `ERR_RUN_EXEC_EMPTY` for an empty list, `ERR_RUN_EXEC_NOT_FOUND` when no executable
 * file matches. */
export async function resolveExec(
  rootfs: string,
  exec: readonly string[],
  options: {
    appName: string;
    environment: readonly EnvironmentVariable[];
    workingDirectory?: string;
    /** JSON pointer of the exec list in the pod manifest, for errors; default `/app/exec`. */
    pointer?: string;
  },
): Promise<string[]> {
  const program = exec[0];
  if (program === undefined || program === '') {
    throw new RuntimeError(
      `app "${options.appName}": exec is empty, so there is no program to start; give an exec.`,
      {
        code: 'ERR_RUN_EXEC_EMPTY',
        requirement: 'IMG-006',
        app: options.appName,
        pointer: options.pointer ?? '/app/exec',
      },
    );
  }
  const cwd = options.workingDirectory ?? '/';
  let candidates: string[];
  let searched: string;
  if (program.includes('/')) {
    candidates = [posix.resolve(cwd, program)];
    searched = candidates[0] as string;
  } else {
    const pathVar = options.environment.find((e) => e.name === 'PATH')?.value;
    const dirs = pathVar === undefined ? [cwd, ...CS_PATH.split(':')] : pathVar.split(':');
    // An empty PATH element means the current directory, as in execvp.
    candidates = dirs.map((d) => posix.resolve(cwd, d === '' ? '.' : d, program));
    searched = `PATH ${pathVar === undefined ? `(unset: ${cwd}:${CS_PATH})` : pathVar}`;
  }
  for (const c of candidates) {
    if (await isExecutableFile(rootfs, c)) return [c, ...exec.slice(1)];
  }
  throw new RuntimeError(
    `app "${options.appName}": program "${program}" was not found as an executable file in the app's rootfs ` +
      `(searched ${searched}); fix the exec or the image.`,
    {
      code: 'ERR_RUN_EXEC_NOT_FOUND',
      requirement: 'ACE-012',
      app: options.appName,
      pointer: `${options.pointer ?? '/app/exec'}/0`,
    },
  );
}
