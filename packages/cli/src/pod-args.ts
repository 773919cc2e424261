// The command line of `appc run` and `appc prepare`, as rkt users typed it: pod flags, then each IMAGE followed by
// its own flags, its arguments after `--`; the next IMAGE (or `---`, which also ends the arguments) starts the next app.
import { readFile } from 'node:fs/promises';
import type { ExposedPort, ImageManifest, Isolator, Volume } from '@appc/schema';
import type { Store } from '@appc/store';
import { pathArg } from './args.ts';
import { insecureOptions, networkOptions, openTrust } from './context.ts';
import { UsageError } from './errors.ts';
import type { Globals, Io } from './io.ts';

/** One app of the command line. */
export interface AppArgs {
  image: string;
  exec?: string[];
  args: string[];
  name?: string;
  user?: string;
  group?: string;
  supplementaryGIDs?: number[];
  workingDirectory?: string;
  environment: { name: string; value: string }[];
  mounts: { volume: string; path?: string }[];
  isolators: Isolator[];
  readOnlyRootFS?: boolean;
}

/** The whole command line. */
export interface PodArgs {
  net: 'host' | 'none' | 'default';
  volumes: Volume[];
  ports: ExposedPort[];
  name?: string;
  hostname?: string;
  dns?: { servers?: string[]; search?: string[]; options?: string[] } | 'host';
  uuidFileSave?: string;
  podManifest?: string;
  dryRun: boolean;
  strict: boolean;
  pullPolicy: 'new' | 'update' | 'never';
  network: { port?: string; ca?: string[]; resolve?: string[] };
  apps: AppArgs[];
}

export const POD_FLAGS_HELP = `Pod flags (before the first IMAGE):
  --net=host|none|default      the pod's network (default: default, a point-to-point link to the host with an
                               address from 172.16.28.0/24, masqueraded out; none: loopback only)
  --volume NAME,kind=host,source=PATH[,readOnly=true][,recursive=false]
  --volume NAME,kind=empty[,mode=0755][,uid=0][,gid=0]
                               a pod volume (repeatable); apps mount it with --mount
  --port NAME:HOSTPORT         forward a host port to an app's port of that name (default network)
  --name NAME                  a name for the pod besides its UUID
  --hostname NAME              the pod's hostname (default appc-UUID)
  --dns IP|host                a name server for the apps' /etc/resolv.conf (repeatable); host: this host's file
  --dns-search DOMAIN, --dns-opt OPTION   search domains and resolver options (repeatable)
  --uuid-file-save FILE        write the pod's UUID to FILE
  --pod-manifest FILE          run this pod manifest instead of IMAGEs (its images must be in the store)
  --pull-policy new|update|never   how IMAGEs are found (default new: the store first; see appc fetch)
  --discovery-port N, --ca FILE, --resolve HOST=IP   as --port, --ca, --resolve of appc fetch
  --strict                     refuse isolators that cannot be enforced as written
  --dry-run                    print the reified pod manifest and stop
App flags (after each IMAGE; another IMAGE, or --- after -- ARGS, starts the next app):
  --exec CMD                   run CMD instead of the image's exec; arguments after --
  --user U, --group G          by name from the image's /etc/passwd and /etc/group, by number, or /path
  --supplementary-gids 10,20   extra groups
  --working-dir DIR            the working directory
  --set-env NAME=VALUE         an environment variable (repeatable)
  --mount volume=NAME,target=PATH   mount a pod volume (repeatable)
  --name NAME                  the app's name in the pod (default: the image name's last part)
  --memory 512M, --cpu 500m    resource/memory and resource/cpu limits
  --cap-retain CAP,...         keep only these capabilities; --cap-remove CAP,... drops these
  --seccomp mode=retain|remove[,errno=EPERM],SYSCALL,...   a seccomp filter (@appc.io/... groups too)
  --readonly-rootfs            mount the app's rootfs read-only
IMAGE is a name (NAME[:VERSION][,LABEL=VALUE]...), a file, an https URL or a sha512- ID; an unsigned local file
needs --insecure-options=image, as in rkt.`;

const APP_VALUE_FLAGS = new Set([
  'exec',
  'user',
  'group',
  'supplementary-gids',
  'working-dir',
  'set-env',
  'mount',
  'name',
  'memory',
  'cpu',
  'cap-retain',
  'cap-remove',
  'seccomp',
]);
const POD_VALUE_FLAGS = new Set([
  'net',
  'volume',
  'port',
  'name',
  'uuid-file-save',
  'hostname',
  'dns',
  'dns-search',
  'dns-opt',
  'pod-manifest',
  'pull-policy',
  'discovery-port',
  'ca',
  'resolve',
]);

function split(arg: string): [string, string | undefined] {
  const eq = arg.indexOf('=');
  return eq > 2 ? [arg.slice(2, eq), arg.slice(eq + 1)] : [arg.slice(2), undefined];
}

function capabilities(value: string): string[] {
  return value
    .split(',')
    .map((c) => c.trim().toUpperCase())
    .filter(Boolean)
    .map((c) => (c.startsWith('CAP_') ? c : `CAP_${c}`));
}

function seccompIsolator(value: string): Isolator {
  let mode: string | undefined;
  let errno: string | undefined;
  const set: string[] = [];
  for (const part of value.split(',')) {
    if (part.startsWith('mode=')) mode = part.slice(5);
    else if (part.startsWith('errno=')) errno = part.slice(6);
    else if (part !== '') set.push(part);
  }
  if (mode !== 'retain' && mode !== 'remove')
    throw new UsageError(`--seccomp ${value}: start with mode=retain or mode=remove, then the syscalls`);
  if (set.length === 0)
    throw new UsageError(`--seccomp ${value}: name at least one syscall or @appc.io group`);
  return {
    name: `os/linux/seccomp-${mode}-set`,
    value: { set, ...(errno ? { errno } : {}) },
  } as Isolator;
}

function mountArg(value: string): { volume: string; path?: string } {
  const pairs = new Map(
    value.split(',').map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]),
  );
  const volume = pairs.get('volume');
  if (!volume || !value.includes('='))
    throw new UsageError(`--mount ${value}: write volume=NAME,target=PATH`);
  const target = pairs.get('target');
  return { volume, ...(target ? { path: target } : {}) };
}

/** Splits the command line into pod flags and apps. */
export async function parsePodArgs(argv: string[], io: Io): Promise<PodArgs> {
  const { parseVolumeArg } = await import('@appc/schema');
  const pod: PodArgs = {
    net: 'default',
    volumes: [],
    ports: [],
    dryRun: false,
    strict: false,
    pullPolicy: 'new',
    network: {},
    apps: [],
  };
  let app: AppArgs | undefined;
  let inArgs = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '---') {
      if (!app) throw new UsageError('--- separates apps: give an IMAGE before it');
      app = undefined;
      inArgs = false;
      continue;
    }
    if (inArgs && app) {
      app.args.push(arg);
      continue;
    }
    if (arg === '--') {
      if (!app) throw new UsageError('-- starts the arguments of an app: give its IMAGE before it');
      inArgs = true;
      continue;
    }
    if (arg.startsWith('--')) {
      const [flag, inline] = split(arg);
      const takesValue = app ? APP_VALUE_FLAGS.has(flag) : POD_VALUE_FLAGS.has(flag);
      let value = inline;
      if (takesValue && value === undefined) {
        value = argv[++i];
        if (value === undefined) throw new UsageError(`--${flag} needs a value`);
      }
      if (!app) {
        switch (flag) {
          case 'net':
            if (value !== 'host' && value !== 'none' && value !== 'default')
              throw new UsageError(`--net=${value}: use host, none or default`);
            pod.net = value;
            break;
          case 'volume':
            pod.volumes.push(parseVolumeArg(value as string));
            break;
          case 'port': {
            const m = /^([a-z0-9-]+):(\d+)$/.exec(value as string);
            if (!m) throw new UsageError(`--port ${value}: write NAME:HOSTPORT, e.g. --port http:8080`);
            pod.ports.push({ name: m[1] as string, hostPort: Number(m[2]) });
            break;
          }
          case 'name':
            pod.name = value as string;
            break;
          case 'hostname':
            pod.hostname = value as string;
            break;
          case 'dns':
          case 'dns-search':
          case 'dns-opt': {
            if (value === 'host' && flag === 'dns') {
              pod.dns = 'host';
              break;
            }
            if (pod.dns === 'host')
              throw new UsageError("--dns=host takes the host's resolv.conf whole: give no other DNS flag");
            const dns = pod.dns ?? {};
            const key = flag === 'dns' ? 'servers' : flag === 'dns-search' ? 'search' : 'options';
            dns[key] = [...(dns[key] ?? []), value as string];
            pod.dns = dns;
            break;
          }
          case 'uuid-file-save':
            pod.uuidFileSave = value as string;
            break;
          case 'pod-manifest':
            pod.podManifest = value as string;
            break;
          case 'pull-policy':
            if (value !== 'new' && value !== 'update' && value !== 'never')
              throw new UsageError(`--pull-policy ${value}: use new, update or never`);
            pod.pullPolicy = value;
            break;
          case 'discovery-port':
            pod.network.port = value as string;
            break;
          case 'ca':
            pod.network.ca = [...(pod.network.ca ?? []), value as string];
            break;
          case 'resolve':
            pod.network.resolve = [...(pod.network.resolve ?? []), value as string];
            break;
          case 'dry-run':
            pod.dryRun = true;
            break;
          case 'strict':
            pod.strict = true;
            break;
          default:
            throw new UsageError(`unknown pod flag --${flag} (pod flags come before the first IMAGE)`);
        }
        continue;
      }
      switch (flag) {
        case 'exec':
          app.exec = [value as string];
          break;
        case 'user':
          app.user = value as string;
          break;
        case 'group':
          app.group = value as string;
          break;
        case 'supplementary-gids':
          app.supplementaryGIDs = (value as string).split(',').map((g) => {
            if (!/^\d+$/.test(g))
              throw new UsageError(`--supplementary-gids ${value}: give numbers, e.g. 10,20`);
            return Number(g);
          });
          break;
        case 'working-dir':
          app.workingDirectory = value as string;
          break;
        case 'set-env': {
          const eq = (value as string).indexOf('=');
          if (eq <= 0) throw new UsageError(`--set-env ${value}: write NAME=VALUE`);
          app.environment.push({
            name: (value as string).slice(0, eq),
            value: (value as string).slice(eq + 1),
          });
          break;
        }
        case 'mount':
          app.mounts.push(mountArg(value as string));
          break;
        case 'name':
          app.name = value as string;
          break;
        case 'memory':
          app.isolators.push({ name: 'resource/memory', value: { limit: value } } as Isolator);
          break;
        case 'cpu':
          app.isolators.push({ name: 'resource/cpu', value: { limit: value } } as Isolator);
          break;
        case 'cap-retain':
          app.isolators.push({
            name: 'os/linux/capabilities-retain-set',
            value: { set: capabilities(value as string) },
          } as Isolator);
          break;
        case 'cap-remove':
          app.isolators.push({
            name: 'os/linux/capabilities-remove-set',
            value: { set: capabilities(value as string) },
          } as Isolator);
          break;
        case 'seccomp':
          app.isolators.push(seccompIsolator(value as string));
          break;
        case 'readonly-rootfs':
          app.readOnlyRootFS = true;
          break;
        default:
          throw new UsageError(`unknown app flag --${flag} after image ${app.image}`);
      }
      continue;
    }
    // another IMAGE starts another app, as in `rkt run a.aci b.aci` (an app's arguments end at ---)
    app = { image: arg, args: [], environment: [], mounts: [], isolators: [] };
    pod.apps.push(app);
  }
  if (pod.podManifest !== undefined && pod.apps.length > 0)
    throw new UsageError('give IMAGEs or --pod-manifest, not both');
  if (pod.podManifest === undefined && pod.apps.length === 0) throw new UsageError('give at least one IMAGE');
  if (pod.uuidFileSave !== undefined) pod.uuidFileSave = pathArg(io, pod.uuidFileSave);
  return pod;
}

/** Resolves each IMAGE into the store (fetching when the pull policy says so), then reifies the pod (or reads
 * and checks `--pod-manifest`). */
export async function reifyFromArgs(
  args: PodArgs,
  io: Io,
  globals: Globals,
  store: Store,
): Promise<import('@appc/runtime-linux').ReifiedPod> {
  const { reifyPod, reifyPodManifest } = await import('@appc/runtime-linux');
  const manifests = new Map<string, ImageManifest>();
  const lookup = (id: string) => {
    if (!manifests.has(id) && store.has(id)) manifests.set(id, store.manifest(id));
    return manifests.get(id);
  };
  if (args.podManifest !== undefined) {
    const file = pathArg(io, args.podManifest);
    const { parseJson, parsePodManifest } = await import('@appc/schema');
    const manifest = parsePodManifest(parseJson(await readFile(file), { file }), { file });
    return reifyPodManifest(manifest, lookup);
  }
  // an image ID needs neither the network nor the keys: only load them for names, URLs and files
  let fetching: ((ref: string) => Promise<{ image: { id: string } }>) | undefined;
  const fetchOne = async (ref: string) => {
    if (!fetching) {
      const insecure = await insecureOptions(globals);
      const network = await networkOptions(globals, io, args.network);
      const trust = await openTrust(globals, io);
      const { fetchImage } = await import('@appc/store');
      fetching = (r) =>
        fetchImage(store, r, {
          trust,
          insecure: { image: insecure.has('image'), http: insecure.has('http'), tls: insecure.has('tls') },
          pullPolicy: args.pullPolicy,
          network,
          ...(io.signal ? { signal: io.signal } : {}),
        });
    }
    return fetching(ref);
  };
  const requests = [];
  for (const a of args.apps) {
    const { image } = a.image.startsWith('sha512-') ? { image: store.get(a.image) } : await fetchOne(a.image);
    const manifest = store.manifest(image.id);
    manifests.set(image.id, manifest);
    // --exec replaces the program; arguments after -- replace the image's arguments (rkt)
    const program = a.exec ?? (manifest.app?.exec ?? []).slice(0, 1);
    const execWithArgs = a.exec || a.args.length > 0 ? [...program, ...a.args] : undefined;
    requests.push({
      image: { id: image.id, manifest },
      ...(a.name !== undefined ? { name: a.name } : {}),
      ...(execWithArgs ? { exec: execWithArgs } : {}),
      ...(a.user !== undefined ? { user: a.user } : {}),
      ...(a.group !== undefined ? { group: a.group } : {}),
      ...(a.supplementaryGIDs ? { supplementaryGIDs: a.supplementaryGIDs } : {}),
      ...(a.workingDirectory !== undefined ? { workingDirectory: a.workingDirectory } : {}),
      ...(a.environment.length > 0 ? { environment: a.environment } : {}),
      ...(a.isolators.length > 0 ? { isolators: a.isolators } : {}),
      ...(a.mounts.length > 0 ? { mounts: a.mounts } : {}),
      ...(a.readOnlyRootFS ? { readOnlyRootFS: true } : {}),
    });
  }
  return reifyPod(requests, {
    ...(args.volumes.length > 0 ? { volumes: args.volumes } : {}),
    ...(args.ports.length > 0 ? { ports: args.ports } : {}),
  });
}
