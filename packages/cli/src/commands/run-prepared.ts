import { join } from 'node:path';
import type { ImageManifest } from '@appc/schema';
import { expectPositionals, parseCommandArgs, readNamedFile } from '../args.ts';
import { openImageStore, stateDir } from '../context.ts';
import { UsageError } from '../errors.ts';
import type { Globals, Io } from '../io.ts';
import { applyNetworkFlag } from '../pod-args.ts';
import { requireRoot, runPodHere } from '../pods.ts';

export const summary = 'Run a pod made by appc prepare';
export const usage =
  'appc run-prepared [--strict] [--interactive] [--net=...] [--dns ...] [--hosts-entry ...] [--hostname NAME] POD';
export const help = `POD is a UUID, a unique prefix of one, or a pod name. Runs the prepared pod as appc run would, with
the network it was prepared with; exits with the first failing app's status. --interactive attaches a pod of
one app to this terminal, as appc run --interactive does. --net, --dns, --dns-search, --dns-opt, --hosts-entry
and --hostname replace what the pod was prepared with, as rkt run-prepared took them (the same values as for
appc run).`;

export async function run(argv: string[], io: Io, globals: Globals): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    strict: { type: 'boolean' },
    interactive: { type: 'boolean' },
    net: { type: 'string' },
    dns: { type: 'string', multiple: true },
    'dns-search': { type: 'string', multiple: true },
    'dns-opt': { type: 'string', multiple: true },
    'hosts-entry': { type: 'string', multiple: true },
    hostname: { type: 'string' },
  });
  // the pod's network flags given again are read as appc run reads them
  const over: Parameters<typeof applyNetworkFlag>[0] = {};
  for (const flag of ['net', 'dns', 'dns-search', 'dns-opt', 'hosts-entry', 'hostname'] as const) {
    const v = values[flag];
    for (const value of v === undefined ? [] : Array.isArray(v) ? v : [v])
      applyNetworkFlag(over, flag, value);
  }
  expectPositionals(positionals, 1, 1, 'one POD');
  requireRoot('run-prepared');
  const state = stateDir(globals, io);
  const { findPod, podDir, reifyPodManifest, startPodEarly } = await import('@appc/runtime-linux');
  const record = await findPod(state, positionals[0] as string);
  if (record.state !== 'prepared' || record.owner !== undefined)
    throw new UsageError(
      `pod ${record.uuid} is ${record.state}, not prepared; only a prepared pod can be run`,
    );
  const net = over.net ?? record.net;
  const hostname = over.hostname ?? record.hostname;
  // the sandbox starts while the manifest is read and the pod reified, as for appc run; a run given up before it
  // starts ends it and leaves the pod prepared
  const early = await startPodEarly({ stateDir: state, net, hostname, prepared: record });
  try {
    const { parseJson, parsePodManifest } = await import('@appc/schema');
    const file = join(podDir(state, record.uuid), 'pod-manifest.json');
    const manifest = parsePodManifest(parseJson(await readNamedFile(file), { file }), { file });
    const store = await openImageStore(globals, io);
    try {
      const images = new Map<string, ImageManifest>();
      for (const a of manifest.apps)
        if (a.image.id && store.has(a.image.id)) images.set(a.image.id, store.manifest(a.image.id));
      const pod = { ...reifyPodManifest(manifest, images), uuid: record.uuid };
      return await runPodHere(io, globals, store, pod, {
        ...record,
        net,
        hostname,
        ...(over.dns !== undefined ? { dns: over.dns } : {}),
        ...(over.hosts !== undefined ? { hosts: over.hosts } : {}),
        strict: values.strict,
        interactive: values.interactive,
        early,
      });
    } finally {
      store.close();
    }
  } finally {
    await early.cancel();
  }
}
