// The sandbox of a pod without pod isolators: `catatonit -P` started straight from util-linux's `unshare` in new
// pid, ipc, uts (and network) namespaces and chrooted into the sandbox's empty root, instead of a runc container.
// It holds the same namespaces for the apps to join (ACE-003) at a fraction of runc's start and delete cost. Its
// PID and start time are written next to the bundles, so that a runner killed with -9 leaves enough for gc.
import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { RuntimeError } from './errors.ts';
import { procStatFields } from './internal/proc-stat.ts';
import { isRunning, waitForExit } from './runc.ts';

/** A sandbox process: host PID of its `catatonit -P` and its start time (clock ticks after boot, field 22 of
 * /proc/PID/stat), so that a reused PID is never taken for it. */
export interface SandboxProcess {
  pid: number;
  start: number;
}

// The outer shell runs in the new network (unless the host's), ipc and uts namespaces, in the host's PID namespace:
// $1 hostname, $2 the sandbox root, $6 the inner script, $3 `lo` when the pod has its own network (its loopback is brought up, as runc
// does), $4 and $5 the metadata socket and port when 127.0.0.1:$5 in the pod is to reach it (META-001). The
// forwarder is socat, in the pod's network but outside its PID namespace (the apps do not see it), killed when the
// sandbox ends (--pdeathsig: its parent is the unshare that waits for catatonit). The inner shell is PID 1 of the
// new PID namespace; /proc is still the host's, so /proc/self is its host PID, which becomes catatonit's by exec.
// The hostname is written through /proc (no fork), or set by hostname(1) where /proc/sys is read-only.
const OUTER = `{ echo "$1" >/proc/sys/kernel/hostname; } 2>/dev/null || hostname "$1" || exit 98
[ -z "$3" ] || ip link set lo up || exit 96
[ -z "$4" ] || setpriv --pdeathsig KILL socat -d -d TCP-LISTEN:"$5",bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:"$4" </dev/null >/dev/null &
exec unshare --fork --kill-child --pid -- /bin/sh -c "$6" appc-sandbox "$2"`;
const INNER = `read -r pid rest </proc/self/stat || exit 97
echo "$pid"
exec chroot "$1" /catatonit -P </dev/null >/dev/null 2>&1`;

/** What the sandbox scripts' own exit statuses mean. */
const EXIT_REASONS: Record<number, string> = {
  96: "the pod's loopback could not be brought up (ip link set lo up; is iproute2 installed?)",
  97: 'the sandbox could not read its own PID',
  98: "the pod's hostname could not be set",
};

/** The file of a pod's runtime directory naming its sandbox process. */
export function sandboxProcessFile(dir: string): string {
  return join(dir, 'sandbox.process.json');
}

async function startTime(pid: number): Promise<number | undefined> {
  const start = Number((await procStatFields(pid))?.[19]);
  return Number.isInteger(start) ? start : undefined;
}

/** Starts `catatonit -P` (at `/catatonit` under `root`) as PID 1 of new pid, ipc and uts namespaces, and of a new
 * network namespace unless `hostNetwork`, with the pod's hostname; with `forward`, a forwarder from
 * 127.0.0.1:`port` in the pod's network to the `socket` (socat). Resolves once catatonit runs and the forwarder
 * listens, after recording the sandbox in {@link sandboxProcessFile}. An `unshare --kill-child` waits for catatonit
 * in the host's PID namespace (in its own session, so that a terminal's Ctrl-C does not reach it) and kills it when
 * it dies itself.
 * @throws {@link RuntimeError} `ERR_RUN_SANDBOX` when it does not start. */
export async function startSandboxProcess(options: {
  dir: string;
  root: string;
  hostname: string;
  hostNetwork: boolean;
  forward?: { socket: string; port: number } | undefined;
}): Promise<SandboxProcess> {
  const forward = options.forward;
  const child = spawn(
    'unshare',
    [
      '--ipc',
      '--uts',
      ...(options.hostNetwork ? [] : ['--net']),
      '--',
      '/bin/sh',
      '-c',
      OUTER,
      'appc-sandbox',
      options.hostname,
      options.root,
      options.hostNetwork ? '' : 'lo',
      forward?.socket ?? '',
      forward ? String(forward.port) : '',
      INNER,
    ],
    // catatonit gets nothing of this process's environment (runc gave it PATH=/ only)
    {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
    },
  );
  let out = '';
  let err = '';
  const pid = await new Promise<number>((resolve, reject) => {
    let listening = forward === undefined;
    let found: number | undefined;
    const done = () => {
      if (listening && found !== undefined) resolve(found);
    };
    // the forwarder runs in the background: its failure (socat's `E` lines, a missing program) or its silence
    // (10 s) must not leave this waiting
    const timer = forward
      ? setTimeout(() => reject(new Error(`the metadata forwarder did not listen: ${err.trim()}`)), 10_000)
      : undefined;
    timer?.unref();
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      reject(
        new Error(
          `${EXIT_REASONS[code ?? -1] ?? `unshare exited with ${code ?? signal}`}: ${err.trim() || 'no message'}`,
        ),
      ),
    );
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < 4096) err += d;
      if (!listening && err.includes('listening on')) {
        listening = true;
        if (timer) clearTimeout(timer);
        done();
      } else if (!listening && / E |not found|failed to execute/.test(err)) {
        reject(new Error(`the metadata forwarder did not start: ${err.trim()}`));
      }
    });
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      if (found === undefined && out.includes('\n')) {
        found = Number(out.trim());
        done();
      }
    });
  }).catch((cause: Error) => {
    if (child.pid !== undefined) killGroup(child.pid);
    throw new RuntimeError(`the pod sandbox did not start: ${cause.message}`, {
      code: 'ERR_RUN_SANDBOX',
      requirement: forward ? 'META-001' : 'ACE-003',
      cause,
    });
  });
  child.removeAllListeners('exit');
  child.stdout.removeAllListeners('data');
  child.stderr.removeAllListeners('data');
  // Nothing of it keeps this process alive: it is ended by destroyPod, or by gc after this process died.
  for (const stream of [child.stdout, child.stderr]) (stream as Socket).resume().unref();
  child.unref();
  const start = await startTime(pid);
  if (!Number.isInteger(pid) || pid <= 0 || start === undefined) {
    if (child.pid !== undefined) killGroup(child.pid);
    throw new RuntimeError(`the pod sandbox did not start: no process ${out.trim()}.`, {
      code: 'ERR_RUN_SANDBOX',
      requirement: 'ACE-003',
    });
  }
  const sandbox = { pid, start };
  await writeFile(sandboxProcessFile(options.dir), `${JSON.stringify(sandbox)}\n`);
  return sandbox;
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
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

/** Ends the processes of a sandbox that was never recorded in {@link sandboxProcessFile}: its runner was killed
 * between starting it and learning its PID. They are found by the sandbox root `root` the command line of their
 * `unshare` names (catatonit and the forwarder are in its process group, which is killed whole), and waited for.
 * @returns how many process groups were ended. */
export async function killUnrecordedSandbox(root: string): Promise<number> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const groups = new Set<number>();
  const pids: number[] = [];
  await Promise.all(
    entries
      .filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid)
      .map(async (e) => {
        const args = (await readFile(`/proc/${e}/cmdline`, 'utf8').catch(() => '')).split('\0');
        // the unshare this module spawns, in a process group of its own, and none other: a command that merely
        // names the root (a shell listing it) is left alone
        if (!/(^|\/)unshare$/.test(args[0] ?? '') || !args.includes(root)) return;
        const fields = await procStatFields(e);
        const group = Number(fields?.[2]);
        if (fields === undefined || fields[0] === 'Z' || !Number.isInteger(group) || group <= 1) return;
        groups.add(group);
        pids.push(Number(e));
      }),
  );
  if (groups.size === 0) return 0;
  // every member of those groups is waited for, catatonit inside the pod's PID namespace too: a killed process
  // can still be there for a while on a busy machine after its unshare is gone
  await Promise.all(
    entries
      .filter((e) => /^\d+$/.test(e) && !pids.includes(Number(e)))
      .map(async (e) => {
        if (groups.has(Number((await procStatFields(e))?.[2]))) pids.push(Number(e));
      }),
  );
  for (const group of groups) killGroup(group);
  await Promise.all(pids.map((pid) => waitForExit(pid, 10_000)));
  return groups.size;
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
