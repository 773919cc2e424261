import { resolve } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './errors.ts';
import type { Io } from './io.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

type Parsed<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>
>;

/** `util.parseArgs` in strict mode, with its errors turned into usage errors (exit 2). */
export function parseCommandArgs<O extends Options>(argv: string[], options: O): Parsed<O> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Checks the number of positional arguments. */
export function expectPositionals(positionals: string[], min: number, max: number, what: string): void {
  if (positionals.length < min || positionals.length > max) {
    const got = positionals.length === 0 ? 'none' : positionals.map((p) => `"${p}"`).join(' ');
    throw new UsageError(`expected ${what}, got ${got}`);
  }
}

/** Resolves a path argument against the io's working directory (default: the process's). */
export function pathArg(io: Io, p: string): string {
  return io.cwd === undefined ? resolve(p) : resolve(io.cwd, p);
}
