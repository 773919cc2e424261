// The sandbox of a pod without pod isolators: `catatonit -P` started straight from util-linux's `unshare` in new
// pid, ipc, uts (and network) namespaces and chrooted into the sandbox's empty root, instead of a runc container.
// It holds the same namespaces for the apps to join (ACE-003) at a fraction of runc's start and delete cost. Its
// PID and start time are written next to the bundles, so that a runner killed with -9 leaves enough for gc.
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { RuntimeError } from './errors.ts';
import { isRunning, waitForExit } from './runc.ts';

/** A sandbox process: host PID of its `catatonit -P` and its start time (clock ticks after boot, field 22 of
 * /proc/PID/stat), so that a reused PID is never taken for it. */
export interface SandboxProcess {
  pid: number;
  start: number;
}

// $1 hostname, $2 the sandbox root, $3 `lo` when the pod has its own network (its loopback is brought up, as
// runc does). /proc is still the host's, so /proc/self is the host PID of this shell, which
// becomes catatonit's by exec. The hostname is written through /proc (no fork), or set by hostname(1) where
// /proc/sys is read-only.
const SCRIPT = `read -r pid rest </proc/self/stat || exit 97
{ echo "$1" >/proc/sys/kernel/hostname; } 2>/dev/null || hostname "$1" || exit 98
[ -z "$3" ] || ip link set lo up || exit 96
echo "$pid"
exec chroot "$2" /catatonit -P </dev/null >/dev/null 2>&1`;

/** The file of a pod's runtime directory naming its sandbox process. */
export function sandboxProcessFile(dir: string): string {
  return join(dir, 'sandbox.process.json');
}

async function startTime(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  const start = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  return Number.isInteger(start) ? start : undefined;
}

/** Starts `catatonit -P` (at `/catatonit` under `root`) as PID 1 of new pid, ipc and uts namespaces, and of a new
 * network namespace unless `hostNetwork`, with the pod's hostname; records it in {@link sandboxProcessFile} before
 * resolving. `unshare --kill-child` waits for it in the host's PID namespace (in its own session, so that a
 * terminal's Ctrl-C does not reach it) and kills it when it dies itself.
 * @throws {@link RuntimeError} `ERR_RUN_SANDBOX` when it does not start. */
export async function startSandboxProcess(options: {
  dir: string;
  root: string;
  hostname: string;
  hostNetwork: boolean;
}): Promise<SandboxProcess> {
  const args = [
    '--fork',
    '--kill-child',
    '--pid',
    '--ipc',
    '--uts',
    ...(options.hostNetwork ? [] : ['--net']),
  ];
  const child = spawn(
    'unshare',
    [
      ...args,
      '--',
      '/bin/sh',
      '-c',
      SCRIPT,
      'appc-sandbox',
      options.hostname,
      options.root,
      options.hostNetwork ? '' : 'lo',
    ],
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  const pid = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      reject(new Error(`unshare exited with ${code ?? signal}: ${err.trim() || 'no message'}`)),
    );
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < 4096) err += d;
    });
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
  }).catch((cause: Error) => {
    throw new RuntimeError(`the pod sandbox did not start: ${cause.message}`, {
      code: 'ERR_RUN_SANDBOX',
      requirement: 'ACE-003',
      cause,
    });
  });
  child.removeAllListeners('exit');
  child.stdout.removeAllListeners('data');
  // Nothing of it keeps this process alive: it is ended by destroyPod, or by gc after this process died.
  for (const stream of [child.stdout, child.stderr]) (stream as Socket).resume().unref();
  child.unref();
  const start = await startTime(pid);
  if (!Number.isInteger(pid) || pid <= 0 || start === undefined) {
    process.kill(-(child.pid as number), 'SIGKILL');
    throw new RuntimeError(`the pod sandbox did not start: no process ${out.trim()}.`, {
      code: 'ERR_RUN_SANDBOX',
      requirement: 'ACE-003',
    });
  }
  const sandbox = { pid, start };
  await writeFile(sandboxProcessFile(options.dir), `${JSON.stringify(sandbox)}\n`);
  return sandbox;
}

/** The sandbox process a pod's runtime directory records, if any. */
export async function readSandboxProcess(dir: string): Promise<SandboxProcess | undefined> {
  const text = await readFile(sandboxProcessFile(dir), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const s = JSON.parse(text) as { pid?: unknown; start?: unknown };
    if (typeof s.pid === 'number' && s.pid > 0 && typeof s.start === 'number')
      return { pid: s.pid, start: s.start };
  } catch {
    // a file cut short by a crash: nothing to go by
  }
  return undefined;
}

/** Ends a sandbox process (SIGKILL; every process of the pod's PID namespace goes with it) and waits until it is
 * gone; nothing when it already ended or its PID now belongs to another process. */
export async function killSandboxProcess(sandbox: SandboxProcess): Promise<void> {
  if (!(await isRunning(sandbox))) return;
  try {
    process.kill(sandbox.pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitForExit(sandbox.pid, 10_000);
}
