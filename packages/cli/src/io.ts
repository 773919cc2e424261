import type { Readable, Writable } from 'node:stream';

/** Where a command reads its environment and writes its output; tests pass PassThrough streams. */
export interface Io {
  stdout: Writable;
  stderr: Writable;
  /** Where a question's answer is read (trust's key review); questions are asked only when it is a terminal. */
  stdin?: Readable;
  /** The process environment (NO_COLOR, SOURCE_DATE_EPOCH, ...). */
  env: Record<string, string | undefined>;
  /** Working directory relative paths are resolved from (default: the process's). */
  cwd?: string;
  /** Aborted when the user interrupts (Ctrl-C): long operations stop and leave no partial output. */
  signal?: AbortSignal;
}

/** Exit statuses of every command (DESIGN.md, the CLI contract). */
export const ExitCode = {
  /** Success. */
  Ok: 0,
  /** The input was judged invalid, or a check failed. */
  Invalid: 1,
  /** Usage error, or an input/output error (a file that cannot be read or written). */
  Usage: 2,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** What every command module exports; `main.ts` loads them lazily. */
export interface Command {
  summary: string;
  usage: string;
  /** Longer help: flags and what they do. */
  help: string;
  /** The exit status: an {@link ExitCode}, or for the pod commands the status of the app that failed. */
  run(argv: string[], io: Io, globals: Globals): Promise<number>;
}

/** Flags every command accepts, before or after its name. */
export interface Globals {
  debug: boolean;
  /** `--dir`: the state root (the image store is `<dir>/images`). */
  dir?: string | undefined;
  /** `--local-config`: the admin's config dir (trusted keys, auth.d). */
  localConfig?: string | undefined;
  /** `--system-config`: the distribution's config dir, read-only. */
  systemConfig?: string | undefined;
  /** `--insecure-options`, unparsed (VERIFY-007). */
  insecureOptions?: string | undefined;
}

/** True when the stream is a terminal: progress is shown only there. */
export function isTty(stream: Writable): boolean {
  return (stream as Writable & { isTTY?: boolean }).isTTY === true;
}

/** Colour only on a terminal, and never when `NO_COLOR` is set to anything but the empty string
 * (https://no-color.org). */
export function useColor(io: Io): boolean {
  return isTty(io.stderr) && (io.env.NO_COLOR === undefined || io.env.NO_COLOR === '');
}

/** Wraps `text` in a bold red (errors) or yellow (warnings) escape sequence when `color` is true. */
export function paint(color: boolean, kind: 'error' | 'warning', text: string): string {
  if (!color) return text;
  return `${kind === 'error' ? '\x1b[1;31m' : '\x1b[1;33m'}${text}\x1b[0m`;
}

/** The line a library's warning gets on stderr: `warning: MESSAGE [CODE]`. */
export function warningLine(color: boolean, warning: { message: string; code: string }): string {
  return `${paint(color, 'warning', 'warning:')} ${warning.message} [${warning.code}]\n`;
}
