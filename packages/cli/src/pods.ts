// What the pod commands share: root, the state root, waiting for a pod, printing its status.

import { writeFile } from 'node:fs/promises';
import type { PodRecord, ReifiedPod } from '@appc/runtime-linux';
import type { Store } from '@appc/store';
import { insecureOptions, stateDir } from './context.ts';
import { UsageError } from './errors.ts';
import { type Globals, type Io, paint, useColor, warningLine } from './io.ts';

/** Pods need root (runc, mounts, namespaces, cgroups): say so before anything is written. */
export function requireRoot(command: string): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    throw new UsageError(
      `appc ${command} needs root: pods are run with runc, mounts, namespaces and cgroups`,
    );
}

/** A pod is ready when it runs and every app that reports readiness (ACE-016) has: the others count as ready
 * once started, as under rkt. */
export function podReady(p: PodRecord): boolean {
  return p.state === 'running' && p.apps.every((a) => !a.notify || a.ready === true);
}

/** The JSON form of a pod in `status --json` and `list --json`. */
export function podJson(p: PodRecord): Record<string, unknown> {
  return {
    uuid: p.uuid,
    name: p.name ?? null,
    state: p.state,
    ready: podReady(p),
    net: p.net,
    address: p.address ?? null,
    createdAt: p.createdAt,
    startedAt: p.startedAt ?? null,
    finishedAt: p.finishedAt ?? null,
    apps: p.apps.map((a) => ({
      name: a.name,
      imageName: a.imageName,
      imageId: a.imageId,
      exitCode: a.exitCode ?? null,
      ...(a.notify ? { ready: a.ready === true } : {}),
    })),
    ...(p.error ? { error: p.error } : {}),
  };
}

/** rkt's `status` text: `key=value` lines. */
export function printStatus(io: Io, p: PodRecord): void {
  const lines = [
    `uuid=${p.uuid}`,
    ...(p.name ? [`name=${p.name}`] : []),
    `state=${p.state}`,
    ...(p.state === 'running' ? [`ready=${podReady(p)}`] : []),
    `net=${p.net}${p.address ? `:${p.address}` : ''}`,
    `created=${p.createdAt}`,
    ...(p.startedAt ? [`started=${p.startedAt}`] : []),
    ...(p.finishedAt ? [`finished=${p.finishedAt}`] : []),
    ...p.apps.filter((a) => a.exitCode !== undefined).map((a) => `app-${a.name}=${a.exitCode}`),
    ...(p.error ? [`error=${p.error}`] : []),
  ];
  io.stdout.write(`${lines.join('\n')}\n`);
}

/** How `run` and `run-prepared` run a pod: the settings of the command line or of the prepared pod's record. */
export interface PodSettings {
  net: PodRecord['net'];
  name?: string | undefined;
  hostname?: string | undefined;
  dns?: PodRecord['dns'];
  hosts?: PodRecord['hosts'];
  strict?: boolean | undefined;
  /** Attach the pod's only app to this process's stdin, stdout and stderr (a terminal of its own when stdin is
   * one). */
  interactive?: boolean | undefined;
  uuidFileSave?: string | undefined;
  /** The pod's sandbox, started while its images were looked up (`startPodEarly`). */
  early?: import('@appc/runtime-linux').EarlyPod | undefined;
}

/** The app `--interactive` attaches: the pod's only one, with a terminal when this process's stdin is one. */
async function interactiveApp(pod: ReifiedPod): Promise<{ app: string; terminal: boolean }> {
  const [only, ...more] = pod.manifest.apps;
  if (!only || more.length > 0)
    throw new UsageError(
      `--interactive attaches one app to the terminal, and this pod has ${pod.manifest.apps.length}`,
    );
  // node:tty only for --interactive: a plain run does not load it
  const { isatty } = await import('node:tty');
  return { app: only.name, terminal: isatty(0) };
}

/** Removes the pod `appc run` made when it could not run it (its record says `aborted`): its containers, cgroups,
 * network and mounts went already, and its record and files go too, so that a refused volume, user or program
 * leaves nothing on the host. A pod in any other state, or already gone, is left as it is. */
export async function discardAbortedPod(state: string, uuid: string): Promise<void> {
  const { readPodRecord, removePod } = await import('@appc/runtime-linux');
  const record = await readPodRecord(state, uuid).catch(() => undefined);
  if (record?.state === 'aborted') await removePod(state, record).catch(() => undefined);
}

/** Runs a reified pod with the apps' output on this command's streams; reports the isolators not enforced as
 * written (ISO-003) and returns the first failing app's exit status, 0 when all succeed (ACE-018). */
export async function runPodHere(
  io: Io,
  globals: Globals,
  store: Store,
  pod: ReifiedPod,
  settings: PodSettings,
): Promise<number> {
  const { runStoredPod } = await import('@appc/runtime-linux');
  const color = useColor(io);
  // rkt's run-time relaxations (VERIFY-007): every capability, no seccomp filter, /proc unmasked
  const relaxed = await insecureOptions(globals);
  const insecure = {
    capabilities: relaxed.has('capabilities'),
    paths: relaxed.has('paths'),
    seccomp: relaxed.has('seccomp'),
  };
  // said before any app starts: `all`, given to skip a signature check, turns these off too (as in rkt)
  const off = [
    insecure.capabilities ? 'every capability (capabilities)' : '',
    insecure.seccomp ? 'no system call filter (seccomp)' : '',
    insecure.paths ? '/proc unmasked and /proc/sys writable (paths)' : '',
  ].filter(Boolean);
  if (off.length > 0)
    io.stderr.write(
      `${paint(color, 'warning', 'warning:')} --insecure-options: the apps of this pod run with ${off.join(', ')} [VERIFY-007]\n`,
    );
  const result = await runStoredPod({
    stateDir: stateDir(globals, io),
    store,
    pod,
    net: settings.net,
    ...(settings.name !== undefined ? { name: settings.name } : {}),
    ...(settings.hostname !== undefined ? { hostname: settings.hostname } : {}),
    ...(settings.dns !== undefined ? { dns: settings.dns } : {}),
    ...(settings.hosts !== undefined ? { hosts: settings.hosts } : {}),
    ...(settings.strict ? { strict: true } : {}),
    ...(off.length > 0 ? { insecure } : {}),
    ...(settings.interactive ? { interactive: await interactiveApp(pod) } : {}),
    ...(settings.early ? { early: settings.early } : {}),
    stdout: io.stdout,
    stderr: io.stderr,
    ...(io.signal ? { signal: io.signal } : {}),
    onCreated: async (record) => {
      if (settings.uuidFileSave !== undefined) await writeFile(settings.uuidFileSave, record.uuid);
      if (globals.debug) io.stderr.write(`pod ${record.uuid}\n`);
    },
    onWarning: (w) => io.stderr.write(warningLine(color, w)),
  });
  for (const i of result.isolators.filter((x) => x.status !== 'enforced'))
    io.stderr.write(
      `${paint(color, 'warning', 'warning:')} ${i.app === undefined ? 'pod' : `app ${i.app}`}: isolator ${i.name} ${i.status}: ${i.detail}\n`,
    );
  return result.apps.find((a) => a.exitCode !== 0)?.exitCode ?? 0;
}
