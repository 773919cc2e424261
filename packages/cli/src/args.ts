import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './errors.ts';
import type { Io } from './io.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

type Parsed<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>
>;

/** A flag spelt `--name[=value]`: actool's Go flags took `-name` for `--name` (one-letter flags such as `-h`
 * stay as they are). */
export function longSpelling(arg: string): string {
  return /^-[a-z][a-z0-9-]+(=.*)?$/.test(arg) ? `-${arg}` : arg;
}

/** actool's Go-style spellings of a flag this command knows, as `util.parseArgs` takes them: `-name` for `--name`,
 * and `--name=true` or `--name=false` for a boolean (`false` drops it). Nothing changes after `--`. */
export function goStyleFlags(argv: readonly string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const m = /^--([a-z][a-z0-9-]+)(=(.*))?$/.exec(longSpelling(arg));
    const option = m ? options[m[1] as string] : undefined;
    if (!m || !option) {
      out.push(arg);
      continue;
    }
    const long = `--${m[1]}`;
    if (option.type === 'boolean' && (m[3] === 'true' || m[3] === 'false')) {
      if (m[3] === 'true') out.push(long);
      continue;
    }
    out.push(m[2] === undefined ? long : `${long}=${m[3]}`);
  }
  return out;
}

/** `util.parseArgs` in strict mode, with its errors turned into usage errors (exit 2); actool's `-flag` and
 * `--flag=false` spellings are taken too ({@link goStyleFlags}). */
export function parseCommandArgs<O extends Options>(argv: string[], options: O): Parsed<O> {
  try {
    return parseArgs({ args: goStyleFlags(argv, options), options, allowPositionals: true, strict: true });
  } catch (error) {
    const e = error as Error & { code?: string };
    // Node's own words, without its advice about positionals that start with "-" (rarely what was meant)
    const unknown = /^Unknown option '([^']+)'/.exec(e.message);
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown)
      throw new UsageError(`unknown flag ${unknown[1]} (a path that starts with "-" goes after --)`);
    const missing = /^Option '(-[^' ]+)[^']*' argument missing/.exec(e.message);
    if (missing) throw new UsageError(`${missing[1]} needs a value`);
    const noValue = /^Option '(-[^' ]+)' does not take an argument/.exec(e.message);
    if (noValue) throw new UsageError(`${noValue[1]} takes no value`);
    throw new UsageError(e.message);
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

/** Reads a file a flag or argument names; its errors name it too (Node's EISDIR, for one, carries no path).
 * @throws the system error, with `path` set. */
export async function readNamedFile(file: string): Promise<Buffer>;
export async function readNamedFile(file: string, encoding: 'utf8'): Promise<string>;
export async function readNamedFile(file: string, encoding?: 'utf8'): Promise<Buffer | string> {
  const bytes = await readSmallFile(
    file,
    MAX_NAMED_FILE_BYTES,
    () => new UsageError(`${file} holds more than 64 MiB; name the manifest or list file itself`),
  );
  return encoding ? bytes.toString(encoding) : bytes;
}

/** The most a manifest or list file named on the command line may hold. */
const MAX_NAMED_FILE_BYTES = 64 * 1024 * 1024;

/** Reads a file named on the command line (a key, a signature, a passphrase, a manifest) up to `maxBytes`: more
 * (a larger file, a device such as /dev/zero) is `tooLarge`, found without reading past the bound; a pipe (`<(...)`
 * in a shell) is read like a file. A failure names the file. */
export async function readSmallFile(
  file: string,
  maxBytes: number,
  tooLarge: (sizeBytes: number) => Error,
): Promise<Buffer> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(file, 'r');
  } catch (error) {
    throw withPath(error, file);
  }
  try {
    const info = await fh.stat();
    if (info.isFile() && info.size > maxBytes) throw tooLarge(info.size);
    // one read buffer; what each read gave is copied out (a pipe that gives a few bytes per read must not hold
    // a whole buffer per read)
    const parts: Buffer[] = [];
    const chunk = Buffer.allocUnsafe(Math.min(64 * 1024, maxBytes + 1));
    let total = 0;
    for (;;) {
      const want = Math.min(chunk.length, maxBytes + 1 - total);
      const { bytesRead } = await fh.read(chunk, 0, want, null).catch((error: unknown) => {
        throw withPath(error, file);
      });
      if (bytesRead === 0) break;
      parts.push(Buffer.from(chunk.subarray(0, bytesRead)));
      total += bytesRead;
      if (total > maxBytes) throw tooLarge(total);
    }
    return Buffer.concat(parts, total);
  } finally {
    await fh.close();
  }
}

/** A system error with the file it is about (Node's EISDIR from a read carries no path). */
function withPath(error: unknown, file: string): unknown {
  const e = error as NodeJS.ErrnoException;
  if (typeof e === 'object' && e !== null && e.path === undefined) e.path = file;
  return error;
}

/** A source date epoch as `--source-date-epoch` or SOURCE_DATE_EPOCH gives it: whole seconds that a header can
 * carry exactly; undefined for none (unset or empty).
 * @throws {@link UsageError} for anything else. */
export function parseSourceDateEpoch(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  if (!(/^\d+$/.test(text) && Number.isSafeInteger(Number(text))))
    throw new UsageError(
      `the source date epoch must be whole seconds from 0 to ${Number.MAX_SAFE_INTEGER}, not "${text}"`,
    );
  return Number(text);
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

/** rkt's `--format`, beside our `--json`, for the commands that print records. */
export const FORMAT_FLAG = { format: { type: 'string' } } as const;

/** How a record is printed: text, or one JSON value per line (`--json`, rkt's `--format=json`), or indented
 * (`--format=json-pretty`). */
export function outputFormat(values: {
  json?: boolean | undefined;
  format?: string | undefined;
}): 'text' | 'json' | 'json-pretty' {
  const f = values.format;
  if (f !== undefined && f !== 'json' && f !== 'json-pretty')
    throw new UsageError(`--format ${f}: use json or json-pretty (or --json)`);
  if (f === 'json-pretty') return 'json-pretty';
  return values.json || f === 'json' ? 'json' : 'text';
}

/** A value as the format says: one line of JSON, or indented JSON. */
export function jsonText(value: unknown, format: 'json' | 'json-pretty'): string {
  return `${format === 'json-pretty' ? JSON.stringify(value, null, 2) : JSON.stringify(value)}\n`;
}

/** rkt's `--uuid-file`, for the commands that take PODs. */
export const UUID_FILE_FLAG = { 'uuid-file': { type: 'string' } } as const;

/** The PODs a command names: its arguments, and the UUID written in the `--uuid-file` (by `--uuid-file-save`). */
export async function podArgs(
  io: Io,
  positionals: string[],
  uuidFile: string | undefined,
): Promise<string[]> {
  if (uuidFile === undefined) return positionals;
  const text = (await readNamedFile(pathArg(io, uuidFile), 'utf8')).trim();
  if (!/^[0-9a-f-]{8,36}$/i.test(text))
    throw new UsageError(
      `--uuid-file ${uuidFile}: it holds no pod UUID (appc run --uuid-file-save writes one)`,
    );
  return [...positionals, text];
}
