import { execFile, spawn } from 'node:child_process';
import { chmod, copyFile, mkdir, realpath, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { addHostPrograms, build } from '@appc/aci';
import { hostOsArch } from '@appc/schema';

/* The in-pod ACE validator (the conformance suite's third layer, VAL-001..VAL-008): two images built here by
 * our own builder, with the host's Node copied in (with the shared libraries it needs) as the only runtime, run
 * as one pod by the executor being judged. Inside, `ace-validator` checks what the spec promises an app (the
 * environment, the working directory, user and group, the shared volume and namespaces, the handlers' order,
 * every metadata endpoint and HMAC sign/verify) and prints one line per check. */

const _run = promisify(execFile);
const validatorScript = join(dirname(fileURLToPath(import.meta.url)), '..', 'ace', 'ace-validator.cjs');

/** The modes the two images run: main's handlers and process, and the sidekick. */
export const ACE_MODES = ['prestart', 'main', 'sidekick', 'poststop'] as const;
export type AceMode = (typeof ACE_MODES)[number];

/** One check made inside the pod. */
export interface AceCheck {
  mode: AceMode;
  /** False for a failed check; a skipped one (`skipped`) is neither passed nor failed. */
  ok: boolean;
  skipped?: boolean;
  /** The requirement it checks (ACE-xxx, META-xxx, VAL-xxx). */
  requirement: string;
  what: string;
}

/** What {@link runAce} saw. */
export interface AceReport {
  /** True when the command exited 0, every mode printed OK and no check failed. */
  passed: boolean;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Each mode's verdict; `missing` when it printed none (it did not run, or its output was lost). */
  modes: Record<AceMode, 'ok' | 'fail' | 'missing'>;
  checks: AceCheck[];
  stdout: string;
  stderr: string;
}

/** Options of {@link runAce}. */
export interface AceOptions {
  /** The executor's command line, run by `/bin/sh -c`; `{main}` and `{sidekick}` become the two images' paths,
   * e.g. `rkt run --insecure-options=image --volume database,kind=empty {main} {sidekick}`. */
  run: string;
  /** Where the images are built (and left, for a second run). */
  workDir: string;
  /** Whole-run limit; default 180 s. */
  timeoutMs?: number;
  /** The Node binary copied into the images; default the one running this. */
  node?: string;
}

function manifest(
  name: string,
  app: Record<string, unknown>,
  annotations: { name: string; value: string }[],
) {
  const { os, arch } = hostOsArch();
  return {
    acKind: 'ImageManifest',
    acVersion: '0.8.11',
    name,
    labels: [
      { name: 'version', value: '0.8.11' },
      { name: 'os', value: os },
      { name: 'arch', value: arch },
    ],
    app: { user: '0', group: '0', ...app },
    annotations,
  };
}

/** Copies `binary` into `rootfs` with the loader and libraries it needs (the builder's `addHostPrograms`, which is
 * what this builds the validator with), reachable at `at` too. */
async function copyWithLibraries(binary: string, rootfs: string, at: string): Promise<void> {
  await addHostPrograms(rootfs, [binary]);
  const real = await realpath(binary);
  if (at === real || at === binary) return;
  await mkdir(join(rootfs, dirname(at)), { recursive: true });
  await symlink(real, join(rootfs, at)).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
}

async function layout(
  dir: string,
  m: ReturnType<typeof manifest>,
  node: string,
  extraDirs: string[],
): Promise<string> {
  const rootfs = join(dir, 'rootfs');
  await mkdir(rootfs, { recursive: true });
  await copyWithLibraries(node, rootfs, '/usr/bin/node');
  await copyFile(validatorScript, join(rootfs, 'ace-validator'));
  await chmod(join(rootfs, 'ace-validator'), 0o755);
  await mkdir(join(rootfs, 'etc'), { recursive: true });
  await writeFile(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/ace-validator\n');
  await writeFile(join(rootfs, 'etc', 'group'), 'root:x:0:\n');
  for (const d of extraDirs) await mkdir(join(rootfs, d), { recursive: true });
  await writeFile(join(dir, 'manifest'), `${JSON.stringify(m, null, 2)}\n`);
  return dir;
}

/** Builds the validator's two images into `workDir` (VAL-001): `ace-validator-main.aci` (with its handlers, the
 * `database` mount point at /db, the www port, a 1G memory limit and the reference's annotations) and
 * `ace-validator-sidekick.aci`. Returns their paths. */
export async function buildAceImages(
  workDir: string,
  options: { node?: string } = {},
): Promise<{ main: string; sidekick: string }> {
  const node = options.node ?? process.execPath;
  const main = manifest(
    'coreos.com/ace-validator-main',
    {
      exec: ['/ace-validator', 'main'],
      workingDirectory: '/opt/acvalidator',
      eventHandlers: [
        { name: 'pre-start', exec: ['/ace-validator', 'prestart'] },
        { name: 'post-stop', exec: ['/ace-validator', 'poststop'] },
      ],
      environment: [{ name: 'IN_ACE_VALIDATOR', value: 'correct' }],
      mountPoints: [{ name: 'database', path: '/db', readOnly: false }],
      ports: [{ name: 'www', protocol: 'tcp', port: 80 }],
      isolators: [{ name: 'resource/memory', value: { limit: '1G' } }],
    },
    [
      { name: 'created', value: '2016-01-01T00:00:00Z' },
      { name: 'authors', value: 'The appc toolkit developers' },
      { name: 'homepage', value: 'https://github.com/appc/spec' },
      { name: 'documentation', value: 'https://github.com/appc/spec/blob/master/spec/ace.md' },
      { name: 'lorem', value: 'ipsum' },
    ],
  );
  const sidekick = manifest(
    'coreos.com/ace-validator-sidekick',
    {
      exec: ['/ace-validator', 'sidekick'],
      mountPoints: [{ name: 'database', path: '/db', readOnly: false }],
    },
    [],
  );
  const out = {
    main: join(workDir, 'ace-validator-main.aci'),
    sidekick: join(workDir, 'ace-validator-sidekick.aci'),
  };
  const options_ = { deterministic: true, ownerRoot: true, overwrite: true, sourceDateEpoch: 1451606400 };
  await build(await layout(join(workDir, 'main'), main, node, ['opt/acvalidator']), out.main, options_);
  await build(await layout(join(workDir, 'sidekick'), sidekick, node, []), out.sidekick, options_);
  return out;
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
const CHECK = /ace-validator (prestart|main|sidekick|poststop): (ok|not ok|skip) (\S+) (.*)$/;
const VERDICT = /(?:^|\W)(prestart|main|sidekick|poststop) (OK|FAIL)\s*$/;
/** Output kept per stream; an executor that prints without end must not exhaust memory. */
const MAX_OUTPUT = 4 * 1024 * 1024;

/** Reads the executor's output: every check line and each mode's verdict (lines may carry an executor's
 * prefix, such as rkt's `[ 1.2] ace-validator-main[5]: `). */
export function parseAceOutput(text: string): Pick<AceReport, 'modes' | 'checks'> {
  const modes = Object.fromEntries(ACE_MODES.map((m) => [m, 'missing'])) as AceReport['modes'];
  const checks: AceCheck[] = [];
  for (const line of text.split(/\r?\n/)) {
    const c = CHECK.exec(line);
    if (c) {
      checks.push({
        mode: c[1] as AceMode,
        ok: c[2] !== 'not ok',
        ...(c[2] === 'skip' ? { skipped: true } : {}),
        requirement: c[3] as string,
        what: c[4] as string,
      });
      continue;
    }
    const v = VERDICT.exec(line);
    if (v) {
      const mode = v[1] as AceMode;
      // a FAIL is never overwritten by an OK (a handler may run twice under some executors)
      if (modes[mode] !== 'fail') modes[mode] = v[2] === 'OK' ? 'ok' : 'fail';
    }
  }
  return { modes, checks };
}

/** Builds the two images, runs the executor's command on them and judges what the validator printed. */
export async function runAce(options: AceOptions): Promise<AceReport> {
  await mkdir(options.workDir, { recursive: true });
  const images = await buildAceImages(options.workDir, options.node ? { node: options.node } : {});
  const command = options.run
    .replaceAll('{main}', quote(images.main))
    .replaceAll('{sidekick}', quote(images.sidekick));
  const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const keep = (into: Buffer[]) => {
    let size = 0;
    return (c: Buffer) => {
      if (size >= MAX_OUTPUT) return;
      size += c.length;
      into.push(c);
    };
  };
  child.stdout.on('data', keep(out));
  child.stderr.on('data', keep(err));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }, options.timeoutMs ?? 180_000);
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, sig) => resolve([code, sig]));
  }).finally(() => clearTimeout(timer));
  const stdout = Buffer.concat(out).toString('utf8');
  const stderr = Buffer.concat(err).toString('utf8');
  // an executor may send the apps' output to either stream: both are read
  const { modes, checks } = parseAceOutput(`${stdout}\n${stderr}`);
  const passed =
    exitCode === 0 && !timedOut && ACE_MODES.every((m) => modes[m] === 'ok') && checks.every((c) => c.ok);
  return { passed, exitCode, signal, timedOut, modes, checks, stdout, stderr };
}
