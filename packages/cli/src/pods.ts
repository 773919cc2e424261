// What the pod commands share: root, the state root, waiting for a pod, printing its status.
import type { PodRecord } from '@appc/runtime-linux';
import { UsageError } from './errors.ts';
import type { Io } from './io.ts';

/** Pods need root (runc, mounts, namespaces, cgroups): say so before anything is written. */
export function requireRoot(command: string): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    throw new UsageError(
      `appc ${command} needs root: pods are run with runc, mounts, namespaces and cgroups`,
    );
}

/** The JSON form of a pod in `status --json` and `list --json`. */
export function podJson(p: PodRecord): Record<string, unknown> {
  return {
    uuid: p.uuid,
    name: p.name ?? null,
    state: p.state,
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
    `net=${p.net}${p.address ? `:${p.address}` : ''}`,
    `created=${p.createdAt}`,
    ...(p.startedAt ? [`started=${p.startedAt}`] : []),
    ...(p.finishedAt ? [`finished=${p.finishedAt}`] : []),
    ...p.apps.filter((a) => a.exitCode !== undefined).map((a) => `app-${a.name}=${a.exitCode}`),
    ...(p.error ? [`error=${p.error}`] : []),
  ];
  io.stdout.write(`${lines.join('\n')}\n`);
}
