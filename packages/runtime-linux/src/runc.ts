import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RuntimeError } from './errors.ts';
import { procStatFields } from './internal/proc-stat.ts';

/** Where runc is and where it keeps its state. */
export interface RuncOptions {
  /** The runc binary; default `runc` from PATH. */
  binary?: string;
  /** runc's `--root`: its state directory. Give each user of the driver its own so that nothing else is seen. */
  root: string;
}

/** One container as `runc list` and `runc state` describe it. */
export interface RuncContainerState {
  id: string;
  pid: number;
  status: string;
  bundle: string;
}

/** How a foreground container ended: its exit status as runc reports it (128 + signal when killed). */
export interface RuncExit {
  exitCode: number;
}

/** Where a foreground container's stdout or stderr goes: the caller's, a pipe, nowhere, or an open file descriptor. */
export type StdioTarget = 'inherit' | 'pipe' | 'ignore' | number;

const MAX_STDERR = 64 * 1024;

function collect(child: ChildProcess, stream: 'stdout' | 'stderr'): () => string {
  const chunks: Buffer[] = [];
  let size = 0;
  child[stream]?.on('data', (c: Buffer) => {
    if (size < MAX_STDERR) {
      chunks.push(c);
      size += c.length;
    }
  });
  return () => Buffer.concat(chunks).toString('utf8').slice(0, MAX_STDERR);
}

/** Error messages runc wrote to its JSON log (`--log-format json`), oldest first; none when there is no log. */
export async function runcLogErrors(logFile: string): Promise<string[]> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if (entry.level === 'error' || entry.level === 'fatal') out.push(entry.msg ?? line);
    } catch {
      out.push(line);
    }
  }
  return out;
}

/** A thin driver of the runc command line (OCI runtime), always with its own `--root`. */
export class Runc {
  readonly binary: string;
  readonly root: string;
  constructor(options: RuncOptions) {
    this.binary = options.binary ?? 'runc';
    this.root = options.root;
  }

  /** The error of a runc that could not be started at all (missing, not executable). */
  private notStarted(cause: unknown): RuntimeError {
    return new RuntimeError(`cannot start ${this.binary}: ${String(cause)}; install runc or give its path.`, {
      code: 'ERR_RUN_RUNC',
      requirement: 'ACE-002',
      cause,
    });
  }

  private args(logFile: string | undefined, ...rest: string[]): string[] {
    const a = ['--root', this.root];
    if (logFile !== undefined) a.push('--log', logFile, '--log-format', 'json');
    return [...a, ...rest];
  }

  /** Runs a runc command to completion and returns its stdout; a non-zero status becomes `ERR_RUN_RUNC`. */
  async exec(args: string[], options: { logFile?: string; what?: string } = {}): Promise<string> {
    const child = spawn(this.binary, this.args(options.logFile, ...args), {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = collect(child, 'stdout');
    const err = collect(child, 'stderr');
    const code = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c, signal) => resolve(c ?? 128 + (signal === null ? 0 : 1)));
    }).catch((cause) => {
      throw this.notStarted(cause);
    });
    if (code !== 0) {
      const logged = options.logFile === undefined ? [] : await runcLogErrors(options.logFile);
      const detail = [...logged, err().trim()].filter((s) => s !== '').join('; ');
      throw new RuntimeError(
        `runc ${args[0]}${options.what === undefined ? '' : ` (${options.what})`} failed with status ${code}: ${detail || 'no message'}`,
        { code: 'ERR_RUN_RUNC', requirement: 'ACE-002' },
      );
    }
    return out();
  }

  /** Creates and starts a container in the background (`runc run -d`); its stdio is /dev/null. Resolves with the
   * host PID of its init process. */
  async runDetached(id: string, bundle: string, logFile: string): Promise<number> {
    const pidFile = `${logFile}.pid`;
    // The container inherits runc's stdio: pipes would stay open for its whole life, so nothing is attached and
    // errors are read from the JSON log.
    const child = spawn(
      this.binary,
      this.args(logFile, 'run', '--detach', '--pid-file', pidFile, '--bundle', bundle, id),
      { stdio: 'ignore' },
    );
    const code = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (c) => resolve(c ?? 1));
    }).catch((cause) => {
      throw this.notStarted(cause);
    });
    if (code !== 0) {
      const logged = await runcLogErrors(logFile);
      throw new RuntimeError(
        `runc run --detach ${id} failed with status ${code}: ${logged.join('; ') || 'no message'}${whatToDo(logged)}`,
        {
          code: 'ERR_RUN_RUNC',
          requirement: 'ACE-002',
        },
      );
    }
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(pid) || pid <= 0) {
      throw new RuntimeError(`runc run --detach ${id} wrote no PID to ${pidFile}.`, {
        code: 'ERR_RUN_RUNC',
        requirement: 'ACE-002',
      });
    }
    return pid;
  }

  /** Starts a container in the foreground (`runc run`), its output going where `stdio` says; resolves with its exit
   * status once it ended and runc deleted it, or rejects with `ERR_RUN_RUNC` when runc itself failed (read from
   * its JSON log, so that an app exiting 1 and runc failing are told apart). */
  runForeground(
    id: string,
    bundle: string,
    logFile: string,
    stdio: { stdin?: StdioTarget; stdout: StdioTarget; stderr: StdioTarget },
    extraFds: readonly number[] = [],
  ): { child: ChildProcess; exit: Promise<RuncExit> } {
    // descriptors passed on from 3, as systemd's socket activation expects (`--preserve-fds`)
    const preserve = extraFds.length > 0 ? ['--preserve-fds', String(extraFds.length)] : [];
    // runc would hand a NOTIFY_SOCKET of its own environment to the container, and runc 1.1 then waits for
    // READY=1 before it reaps the app: never this process's own (a runner started by systemd must not let an
    // app speak for it, nor hang on one that does not)
    const { NOTIFY_SOCKET: _own, ...env } = process.env;
    const child = spawn(this.binary, this.args(logFile, 'run', ...preserve, '--bundle', bundle, id), {
      stdio: [stdio.stdin ?? 'ignore', stdio.stdout, stdio.stderr, ...extraFds],
      env,
    });
    const exit = new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15)));
    }).then(
      async (exitCode) => {
        const errors = await runcLogErrors(logFile);
        if (errors.length > 0) {
          throw new RuntimeError(`runc run ${id} failed: ${errors.join('; ')}${whatToDo(errors)}`, {
            code: 'ERR_RUN_RUNC',
            requirement: 'ACE-002',
          });
        }
        return { exitCode };
      },
      (cause) => {
        throw this.notStarted(cause);
      },
    );
    return { child, exit };
  }

  /** The state of one container, or undefined when runc does not know it. */
  async state(id: string): Promise<RuncContainerState | undefined> {
    try {
      const out = await this.exec(['state', id]);
      const s = JSON.parse(out) as RuncContainerState;
      return { id: s.id, pid: s.pid, status: s.status, bundle: s.bundle };
    } catch {
      return undefined;
    }
  }

  /** Every container under this root. */
  async list(): Promise<RuncContainerState[]> {
    const out = await this.exec(['list', '--format', 'json']);
    const parsed = JSON.parse(out.trim() === '' ? 'null' : out) as RuncContainerState[] | null;
    return (parsed ?? []).map((s) => ({ id: s.id, pid: s.pid, status: s.status, bundle: s.bundle }));
  }

  /** Sends a signal to a container's init process (or to all its processes). Unknown or stopped containers are
   * not an error. */
  async kill(id: string, signal: string, all = false): Promise<boolean> {
    return this.exec(all ? ['kill', '--all', id, signal] : ['kill', id, signal]).then(
      () => true,
      () => false,
    );
  }

  /** Deletes a container, killing it first when `force`; an unknown container is not an error. With `force`, the
   * init process is sent SIGKILL and awaited here (`runc delete --force` sleeps in steps of 100 ms). */
  async delete(id: string, force = true): Promise<void> {
    const init = await this.initProcess(id);
    if (init === undefined && !existsSync(join(this.root, id))) return;
    if (force && (init === undefined || (await isRunning(init)))) {
      await this.kill(id, 'KILL', true);
      const pid = init?.pid ?? (await this.state(id))?.pid;
      if (pid !== undefined && pid > 0) await waitForExit(pid, 10_000);
    }
    try {
      await this.exec(['delete', id], { what: id });
    } catch (error) {
      if ((await this.state(id)) === undefined) return;
      if (!force) throw error;
      await this.exec(['delete', '--force', id], { what: id });
    }
  }

  /** Init PID and start time (clock ticks after boot) from runc's state file, when readable. */
  private async initProcess(id: string): Promise<{ pid: number; start: number } | undefined> {
    const text = await readFile(join(this.root, id, 'state.json'), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    try {
      const s = JSON.parse(text) as { init_process_pid?: unknown; init_process_start?: unknown };
      if (
        typeof s.init_process_pid === 'number' &&
        s.init_process_pid > 0 &&
        typeof s.init_process_start === 'number'
      )
        return { pid: s.init_process_pid, start: s.init_process_start };
    } catch {
      // A state file being rewritten: the caller falls back to runc.
    }
    return undefined;
  }

  /** Sends SIGKILL straight to a container's init process (one runc start-up saved) when runc's state file names
   * it and its start time still matches (so a reused PID is never hit), then waits until it is gone. For a pod
   * sandbox this ends every process of the pod's PID namespace. Returns false when it could not be done that
   * way. */
  async killInit(id: string): Promise<boolean> {
    const init = await this.initProcess(id);
    if (!init) return false;
    if (!(await isRunning(init))) return true;
    try {
      process.kill(init.pid, 'SIGKILL');
    } catch {
      return true;
    }
    await waitForExit(init.pid, 10_000);
    return true;
  }
}

/** True while the process of a container's init still runs: same PID, same start time, not a zombie. */
export async function isRunning(init: { pid: number; start: number }): Promise<boolean> {
  const fields = await procStatFields(init.pid);
  return fields !== undefined && fields[0] !== 'Z' && Number(fields[19]) === init.start;
}

/** Waits until a process is gone or a zombie (runc then sees its container as stopped). */
export async function waitForExit(pid: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  // a killed process is usually gone within a few milliseconds: look every millisecond for the first 20 looks
  // (a read of /proc costs microseconds), then less and less often
  for (let look = 0; Date.now() < end; look++) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    // The state letter follows the command name in parentheses.
    if (stat === undefined || / Z /.test(stat.slice(stat.lastIndexOf(')')))) return;
    await new Promise((r) => setTimeout(r, look < 20 ? 1 : Math.min(2 ** (look - 20), 20)));
  }
}

/** What to do about a runc failure whose cause is the pod's own settings, as a sentence to add to its message
 * (empty when runc's words are all there is to say). */
function whatToDo(errors: readonly string[]): string {
  const text = errors.join('; ');
  // the kernel refuses a memory limit below what the container's cgroup already uses (ISO-015)
  if (/unable to set memory limit/.test(text))
    return "; the app's resource/memory limit is below what it needs to start: raise it (e.g. --memory 64Mi).";
  return '';
}
