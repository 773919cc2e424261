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

/** Go-style durations as rkt took them: `24h`, `90m`, `1h30m`, `45s`, `0s`; also `d` for days. */
export function parseDuration(text: string, flag = '--grace-period'): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    if (m.index !== consumed) break;
    total += Number(m[1]) * (units[m[2] as string] as number);
    consumed += m[0].length;
  }
  if (consumed !== text.length || text.length === 0)
    throw new UsageError(`${flag} ${text}: write a duration such as 24h, 90m, 1h30m or 0s`);
  return total;
}
