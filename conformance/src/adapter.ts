import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { listSections, loadVectors, materializeArchive, type Vector } from '@appc/vectors';

/** What running one vector through an implementation gave. */
export interface AdapterResult {
  id: string;
  requirement: string;
  title: string;
  /** `pass`: the implementation's verdict is the spec's; `fail`: it is not; `crash`: it died or timed out;
   * `skip`: the vector cannot be put to a command line (a bare value, not a file). */
  outcome: 'pass' | 'fail' | 'crash' | 'skip';
  expectedValid: boolean;
  exitCode?: number | null;
  signal?: string | null;
  /** First lines of what the implementation printed on stderr. */
  stderr?: string;
  file?: string;
}

/** Options of {@link runAdapter}. */
export interface AdapterOptions {
  /** Command line with `{file}` where the path goes, e.g. `actool validate {file}`; run by `/bin/sh -c`. */
  impl: string;
  /** Sections to run (default: every section whose vectors have file inputs). */
  sections?: string[];
  /** Scratch folder for the materialised inputs. */
  workDir: string;
  /** Per-run limit; a run past it counts as a crash. */
  timeoutMs?: number;
  concurrency?: number;
}

/** Quotes a path for /bin/sh. */
function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Writes a vector's input as the file an implementation would be given, or returns undefined when the vector
 * is about a bare value that no command line takes. */
export async function materialize(vector: Vector, workDir: string): Promise<string | undefined> {
  const input = vector.input;
  const base = join(workDir, vector.id.replaceAll('/', '__'));
  // A manifest is judged on its own only when the vector says which kind it is; other vectors that carry a
  // manifest judge something else (DISC-009 compares it with a request) and no validator sees that.
  const isManifest = input.kind === 'ImageManifest' || input.kind === 'PodManifest';
  if (isManifest && typeof input.json === 'string') {
    await writeFile(`${base}.json`, input.json);
    return `${base}.json`;
  }
  if (isManifest && input.manifest !== undefined) {
    await writeFile(`${base}.json`, JSON.stringify(input.manifest, null, 2));
    return `${base}.json`;
  }
  if (typeof input.archive === 'string') {
    return isAbsolute(input.archive) ? input.archive : join(vector.dir, input.archive);
  }
  if (Array.isArray(input.entries)) {
    return materializeArchive(vector, `${base}.aci`);
  }
  return undefined;
}

function runOne(
  cmd: string,
  timeoutMs: number,
): Promise<{ code: number | null; signal: string | null; stderr: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let timedOut = false;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 4096) stderr += d;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, timedOut });
    });
  });
}

/** Judges an implementation by verdict on every vector that can be given to it as a file: exit status 0 means
 * "valid", 1 means "invalid"; anything else (a signal, a timeout, a Go panic's status 2 with `panic:`) is a crash. */
export async function* runAdapter(options: AdapterOptions): AsyncGenerator<AdapterResult> {
  const sections = options.sections ?? (await listSections());
  const timeoutMs = options.timeoutMs ?? 30_000;
  const concurrency = Math.max(1, options.concurrency ?? 2);
  await mkdir(options.workDir, { recursive: true });
  for (const section of sections) {
    const vectors = await loadVectors(section);
    for (let i = 0; i < vectors.length; i += concurrency) {
      const batch = vectors.slice(i, i + concurrency);
      const results = await Promise.all(
        batch.map(async (v): Promise<AdapterResult> => {
          const head = {
            id: v.id,
            requirement: v.requirement,
            title: v.title,
            expectedValid: v.expect.valid,
          };
          const file = await materialize(v, options.workDir);
          if (file === undefined) return { ...head, outcome: 'skip' };
          const r = await runOne(options.impl.replaceAll('{file}', shellQuote(file)), timeoutMs);
          const crashed =
            r.timedOut ||
            r.signal !== null ||
            (r.code !== 0 && r.code !== 1 && /panic:|Traceback|internal error/i.test(r.stderr));
          const saidValid = r.code === 0;
          const outcome = crashed
            ? 'crash'
            : saidValid === v.expect.valid && (r.code === 0 || r.code === 1)
              ? 'pass'
              : 'fail';
          return {
            ...head,
            outcome,
            exitCode: r.code,
            signal: r.signal,
            stderr: r.stderr.split('\n').slice(0, 5).join('\n'),
            file,
          };
        }),
      );
      yield* results;
    }
  }
}
