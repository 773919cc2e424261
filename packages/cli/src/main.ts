import { longSpelling } from './args.ts';
import { insecureOptions } from './context.ts';
import { describeError, UsageError } from './errors.ts';
import { type Command, ExitCode, type Globals, type Io, paint, useColor } from './io.ts';
import { VERSION } from './version.ts';

/** Every command, loaded only when it runs. */
export const commands: Record<string, () => Promise<Command>> = {
  build: () => import('./commands/build.ts'),
  'add-program': () => import('./commands/add-program.ts'),
  validate: () => import('./commands/validate.ts'),
  id: () => import('./commands/id.ts'),
  'cat-manifest': () => import('./commands/cat-manifest.ts'),
  'patch-manifest': () => import('./commands/patch-manifest.ts'),
  extract: () => import('./commands/extract.ts'),
  render: () => import('./commands/render.ts'),
  discover: () => import('./commands/discover.ts'),
  fetch: () => import('./commands/fetch.ts'),
  trust: () => import('./commands/trust.ts'),
  sign: () => import('./commands/sign.ts'),
  verify: () => import('./commands/verify.ts'),
  publish: () => import('./commands/publish.ts'),
  image: () => import('./commands/image.ts'),
  run: () => import('./commands/run.ts'),
  prepare: () => import('./commands/prepare.ts'),
  'run-prepared': () => import('./commands/run-prepared.ts'),
  status: () => import('./commands/status.ts'),
  list: () => import('./commands/list.ts'),
  enter: () => import('./commands/enter.ts'),
  logs: () => import('./commands/logs.ts'),
  stop: () => import('./commands/stop.ts'),
  rm: () => import('./commands/rm.ts'),
  gc: () => import('./commands/gc.ts'),
  export: () => import('./commands/export.ts'),
  version: () => import('./commands/version.ts'),
};

/** Global flags that take a value, and where they go. */
const VALUE_FLAGS: Record<string, 'dir' | 'localConfig' | 'systemConfig' | 'insecureOptions'> = {
  '--dir': 'dir',
  '--local-config': 'localConfig',
  '--system-config': 'systemConfig',
  '--insecure-options': 'insecureOptions',
};

const GLOBAL_HELP = `Global flags (before or after the command):
  --dir DIR                  state root; the image store is DIR/images (default /var/lib/appc as root,
                             else $XDG_DATA_HOME/appc)
  --local-config DIR         trusted keys and auth.d (default /etc/appc as root, else $XDG_CONFIG_HOME/appc)
  --system-config DIR        read-only config of the distribution (default /usr/lib/appc)
  --insecure-options LIST    relaxations, none by default (comma list): image (no signature check), http,
                             tls, pubkey, all-fetch; for run: capabilities (all of them), seccomp (no
                             filter), paths (/proc unmasked, /proc/sys writable), all-run; all (both)
  --debug                    more detail: valid paths, URLs tried, stack traces, causes
  -h, --help                 help for appc or for one command
  --version                  the same as appc version`;

async function overview(): Promise<string> {
  const { SPEC_VERSION } = await import('@appc/schema');
  const lines = [
    `appc ${VERSION}: App Container (appc ${SPEC_VERSION}) images`,
    '',
    'usage: appc COMMAND [flags] [args]',
    '',
    'Commands:',
  ];
  for (const [name, load] of Object.entries(commands))
    lines.push(`  ${name.padEnd(15)} ${(await load()).summary}`);
  lines.push('  help [COMMAND]  this text, or the help of one command', '', GLOBAL_HELP, '');
  lines.push(
    'Exit status: 0 success, 1 the input was judged invalid or a check failed, 2 usage or I/O error.',
  );
  return `${lines.join('\n')}\n`;
}

function commandHelp(c: Command): string {
  return `usage: ${c.usage}\n\n${c.summary}.\n\n${c.help ? `${c.help}\n\n` : ''}${GLOBAL_HELP}\n`;
}

/** Runs `appc` with the given arguments (without the program name) and returns the exit status; never throws
 * and never calls `process.exit`. */
export async function main(argv: string[], io: Io): Promise<number> {
  const globals: Globals = { debug: false };
  let help = false;
  const rest: string[] = [];
  let afterDoubleDash = false;
  let missingValue: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    // actool's Go flags took -debug for --debug: a global flag's long name after one dash is taken too
    const long = longSpelling(arg);
    const eq = long.indexOf('=');
    const flag = long.startsWith('--') && eq > 0 ? long.slice(0, eq) : long;
    const global = afterDoubleDash ? undefined : VALUE_FLAGS[flag];
    if (afterDoubleDash) rest.push(arg);
    else if (arg === '--') {
      afterDoubleDash = true;
      rest.push(arg);
    } else if (global !== undefined) {
      const value = eq > 0 ? long.slice(eq + 1) : argv[++i];
      if (value === undefined) missingValue = flag;
      else globals[global] = value;
    } else if (long === '--debug') globals.debug = true;
    else if (long === '--help' || arg === '-h') help = true;
    else rest.push(arg);
  }
  const [first, ...args] = rest;
  // `appc --version`, as most programs take it, is `appc version`
  const name = first === '--version' ? 'version' : first;
  try {
    if (missingValue !== undefined) throw new UsageError(`${missingValue} needs a value`);
    if (name === undefined || name === 'help') {
      const topic = name === 'help' ? args[0] : undefined;
      if (topic !== undefined) {
        const load = commands[topic];
        if (!load) throw new UsageError(`unknown command "${topic}"; run "appc help" for the list`);
        io.stdout.write(commandHelp(await load()));
        return ExitCode.Ok;
      }
      (help || name === 'help' ? io.stdout : io.stderr).write(await overview());
      return help || name === 'help' ? ExitCode.Ok : ExitCode.Usage;
    }
    const load = commands[name];
    if (!load) throw new UsageError(`unknown command "${name}"; run "appc help" for the list`);
    const command = await load();
    if (help) {
      io.stdout.write(commandHelp(command));
      return ExitCode.Ok;
    }
    // an unknown --insecure-options name is refused whatever the command, as fetch and run refuse it (VERIFY-007)
    if (globals.insecureOptions !== undefined) await insecureOptions(globals);
    try {
      return await command.run(args, io, globals);
    } catch (error) {
      if (error instanceof UsageError) {
        io.stderr.write(
          `${paint(useColor(io), 'error', `appc ${name}:`)} ${error.message}\nusage: ${command.usage}\nRun "appc ${name} --help" for more.\n`,
        );
        return ExitCode.Usage;
      }
      throw error;
    }
  } catch (error) {
    // an operation that stopped at the interruption hands back the signal's own reason: that is no internal error
    const interrupted = io.signal?.aborted === true && error === io.signal.reason;
    const { message, exitCode } = interrupted
      ? {
          message: `${error instanceof Error ? error.message : 'interrupted'}; it stopped, and what it had begun was undone`,
          exitCode: ExitCode.Usage,
        }
      : describeError(error, globals.debug);
    io.stderr.write(`${paint(useColor(io), 'error', `appc${name ? ` ${name}` : ''}:`)} ${message}\n`);
    return exitCode;
  }
}
