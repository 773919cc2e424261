import type { Writable } from 'node:stream';

/** Where a command reads its environment and writes its output; tests pass PassThrough streams. */
export interface Io {
  stdout: Writable;
  stderr: Writable;
  /** The process environment (NO_COLOR, SOURCE_DATE_EPOCH, ...). */
  env: Record<string, string | undefined>;
  /** Working directory relative paths are resolved from (default: the process's). */
  cwd?: string;
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
  run(argv: string[], io: Io, globals: Globals): Promise<ExitCode>;
}

/** Flags every command accepts, before or after its name. */
export interface Globals {
  debug: boolean;
}

/** True when the stream is a terminal that may show progress (never under NO_COLOR-only rules; progress is not colour). */
export function isTty(stream: Writable): boolean {
  return (stream as Writable & { isTTY?: boolean }).isTTY === true;
}
