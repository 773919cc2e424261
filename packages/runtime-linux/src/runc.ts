import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { RuntimeError } from './errors.ts';

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

/** Error messages runc wrote to its JSON log (`--log-format json`), oldest first. */
async function logErrors(logFile: string): Promise<string[]> {
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
      throw new RuntimeError(
        `cannot start ${this.binary}: ${String(cause)}; install runc or give its path.`,
        {
          code: 'ERR_RUN_RUNC',
          requirement: 'ACE-002',
          cause,
        },
      );
    });
    if (code !== 0) {
      const logged = options.logFile === undefined ? [] : await logErrors(options.logFile);
      const detail = [...logged, err().trim()].filter((s) => s !== '').join('; ');
      throw new RuntimeError(
        `runc ${args[0]}${options.what === undefined ? '' : ` (${options.what})`} failed with status ${code}: ${detail || 'no message'}`,
        { code: 'ERR_RUN_RUNC', requirement: 'ACE-002' },
      );
    }
    return out();
  }

  /** Creates and starts a container in the background (`runc run -d`); its stdio is /dev/null. */
  async runDetached(id: string, bundle: string, logFile: string): Promise<void> {
    // The container inherits runc's stdio: pipes would stay open for its whole life, so nothing is attached and
    // errors are read from the JSON log.
    const child = spawn(this.binary, this.args(logFile, 'run', '--detach', '--bundle', bundle, id), {
      stdio: 'ignore',
    });
    const code = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (c) => resolve(c ?? 1));
    }).catch((cause) => {
      throw new RuntimeError(
        `cannot start ${this.binary}: ${String(cause)}; install runc or give its path.`,
        {
          code: 'ERR_RUN_RUNC',
          requirement: 'ACE-002',
          cause,
        },
      );
    });
    if (code !== 0) {
      const logged = await logErrors(logFile);
      throw new RuntimeError(
        `runc run --detach ${id} failed with status ${code}: ${logged.join('; ') || 'no message'}`,
        {
          code: 'ERR_RUN_RUNC',
          requirement: 'ACE-002',
        },
      );
    }
  }

  /** Starts a container in the foreground (`runc run`), its output going where `stdio` says; resolves with its exit
   * status once it ended and runc deleted it, or rejects with `ERR_RUN_RUNC` when runc itself failed (read from
   * its JSON log, so that an app exiting 1 and runc failing are told apart). */
  runForeground(
    id: string,
    bundle: string,
    logFile: string,
    stdio: { stdout: StdioTarget; stderr: StdioTarget },
  ): { child: ChildProcess; exit: Promise<RuncExit> } {
    const child = spawn(this.binary, this.args(logFile, 'run', '--bundle', bundle, id), {
      stdio: ['ignore', stdio.stdout, stdio.stderr],
    });
    const exit = new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15)));
    }).then(
      async (exitCode) => {
        const errors = await logErrors(logFile);
        if (errors.length > 0) {
          throw new RuntimeError(`runc run ${id} failed: ${errors.join('; ')}`, {
            code: 'ERR_RUN_RUNC',
            requirement: 'ACE-002',
          });
        }
        return { exitCode };
      },
      (cause) => {
        throw new RuntimeError(
          `cannot start ${this.binary}: ${String(cause)}; install runc or give its path.`,
          {
            code: 'ERR_RUN_RUNC',
            requirement: 'ACE-002',
            cause,
          },
        );
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
  async kill(id: string, signal: string, all = false): Promise<void> {
    await this.exec(all ? ['kill', '--all', id, signal] : ['kill', id, signal]).catch(() => undefined);
  }

  /** Deletes a container, killing it first when `force`; an unknown container is not an error. */
  async delete(id: string, force = true): Promise<void> {
    const state = await this.state(id);
    if (!state) return;
    await this.exec(force ? ['delete', '--force', id] : ['delete', id], { what: id });
  }
}
