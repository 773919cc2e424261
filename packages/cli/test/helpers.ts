import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../src/index.ts';

/** What one `appc` run printed and returned. */
export interface Run {
  code: number;
  out: string;
  err: string;
}

/** Runs `main()` as bin.ts would, with PassThrough streams; `tty` makes stderr claim to be a terminal. */
export async function appc(
  argv: string[],
  options: {
    env?: Record<string, string>;
    tty?: boolean;
    cwd?: string;
    signal?: AbortSignal;
    /** Text typed on a terminal (stdin claims to be a TTY). */
    typed?: string;
  } = {},
): Promise<Run> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  if (options.tty) Object.assign(stderr, { isTTY: true });
  let out = '';
  let err = '';
  stdout.on('data', (d) => {
    out += d;
  });
  stderr.on('data', (d) => {
    err += d;
  });
  let stdin: PassThrough | undefined;
  if (options.typed !== undefined) {
    stdin = new PassThrough();
    Object.assign(stdin, { isTTY: true });
    stdin.end(options.typed);
  }
  const code = await main(argv, {
    stdout,
    stderr,
    ...(stdin ? { stdin } : {}),
    env: options.env ?? {},
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { code, out, err };
}

/** An image manifest with a name and a version label, plus `extra` members. */
export const manifest = (name: string, extra: Record<string, unknown> = {}) => ({
  acKind: 'ImageManifest',
  acVersion: '0.8.11',
  name,
  labels: [{ name: 'version', value: '1.0.0' }],
  ...extra,
});

/** Writes an image layout: `dir/manifest` (JSON of `m`, or `m` itself when a string) and `dir/rootfs/<files>`. */
export async function layout(dir: string, m: unknown, files: Record<string, string> = {}): Promise<string> {
  await mkdir(join(dir, 'rootfs'), { recursive: true });
  await writeFile(join(dir, 'manifest'), typeof m === 'string' ? m : JSON.stringify(m));
  for (const [p, body] of Object.entries(files)) {
    await mkdir(join(dir, 'rootfs', p, '..'), { recursive: true });
    await writeFile(join(dir, 'rootfs', p), body);
  }
  return dir;
}
