// The command line of `appc run` and `appc prepare`, as rkt users typed it: pod flags, then each IMAGE followed by
// its own flags, its arguments after `--`; the next IMAGE (or `---`, which also ends the arguments) starts the next app.
import { isIP } from 'node:net';
import type { ExposedPort, ImageManifest, Isolator, Volume } from '@appc/schema';
import type { Store } from '@appc/store';
import { pathArg, readNamedFile } from './args.ts';
import { insecureOptions, networkOptions, openTrust, progressLine } from './context.ts';
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
  annotations: { name: string; value: string }[];
  userAnnotations?: Record<string, string>;
  userLabels?: Record<string, string>;
}

/** The whole command line. */
export interface PodArgs {
  net: 'host' | 'none' | 'default';
  volumes: Volume[];
  ports: ExposedPort[];
  name?: string;
  hostname?: string;
  dns?: { servers?: string[]; search?: string[]; options?: string[] } | 'host';
  hosts?: { ip: string; names: string[] }[] | 'host';
  /** Every app's environment, under each app's own (rkt's --inherit-env, --set-env-file, --set-env, in that
   * order of precedence, lowest first). */
  environment: { name: string; value: string }[];
  uuidFileSave?: string;
  podManifest?: string;
  dryRun: boolean;
  strict: boolean;
  /** Attach the only app to this command's terminal (rkt's --interactive). */
  interactive?: boolean;
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
  --hosts-entry IP=NAME|host   an /etc/hosts line for every app (repeatable); host: this host's file
  --set-env NAME=VALUE         an environment variable of every app (repeatable); an app's own wins
  --set-env-file FILE          every NAME=VALUE line of FILE, for every app (# comments, blank lines skipped)
  --inherit-env                this command's environment, for every app; it wins over the image's, and
                               --set-env-file, --set-env and an app's own --set-env win over it
  --uuid-file-save FILE        write the pod's UUID to FILE
  --pod-manifest FILE          run this pod manifest instead of IMAGEs (its images must be in the store)
  --pull-policy new|update|never   how IMAGEs are found (default new: the store first; see appc fetch)
  --discovery-port N, --ca FILE, --resolve HOST=IP   as --port, --ca, --resolve of appc fetch
  --strict                     refuse isolators that cannot be enforced as written
  --interactive                attach the only app to this terminal: its stdin, stdout and stderr, with a
                               terminal of its own when stdin is one (its output is then not kept for logs)
  --dry-run                    print the reified pod manifest and stop
App flags (after each IMAGE; another IMAGE, or --- after -- ARGS, starts the next app):
  --exec CMD                   run CMD instead of the image's exec; arguments after --
  --user U, --group G          by name from the image's /etc/passwd and /etc/group, by number, or /path
  --supplementary-gids 10,20   extra groups
  --working-dir DIR            the working directory
  --set-env NAME=VALUE         an environment variable (repeatable; rkt's --environment works too)
  --mount volume=NAME,target=PATH   mount a pod volume (repeatable)
  --name NAME                  the app's name in the pod (default: the image name's last part)
  --memory 512M, --cpu 500m    resource/memory and resource/cpu limits
  --cap-retain CAP,...         keep only these capabilities; --cap-remove CAP,... drops these (also spelt
                               --caps-retain, --caps-remove, as rkt did)
  --cpu-shares N, --oom-score-adj N   the os/linux/cpu-shares and os/linux/oom-score-adj isolators
  --seccomp mode=retain|remove[,errno=EPERM],SYSCALL,...   a seccomp filter (@appc.io/... groups too)
  --readonly-rootfs[=true|false]   mount the app's rootfs read-only
  --annotation NAME=VALUE      an annotation of the app in the pod manifest (repeatable)
  --user-annotation NAME=VALUE, --user-label NAME=VALUE   the app's userAnnotations and userLabels
IMAGE is a name (NAME[:VERSION][,LABEL=VALUE]...), a file, an https URL or a sha512- ID; an unsigned local file
needs --insecure-options=image, as in rkt.`;

const APP_VALUE_FLAGS = new Set([
  'exec',
  'user',
  'group',
  'supplementary-gids',
  'working-dir',
  'set-env',
  'environment',
  'mount',
  'name',
  'memory',
  'cpu',
  'cpu-shares',
  'oom-score-adj',
  'cap-retain',
  'cap-remove',
  'caps-retain',
  'caps-remove',
  'seccomp',
  'annotation',
  'user-annotation',
  'user-label',
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
  'hosts-entry',
  'set-env',
  'set-env-file',
  'pod-manifest',
  'pull-policy',
  'discovery-port',
  'ca',
  'resolve',
]);

/** NAME=VALUE of a flag. */
function nameValue(flag: string, value: string): { name: string; value: string } {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new UsageError(`--${flag} ${value}: write NAME=VALUE`);
  return { name: value.slice(0, eq), value: value.slice(eq + 1) };
}

/** The NAME=VALUE lines of an environment file (rkt's --set-env-file): blank lines and # comments skipped. */
async function envFile(io: Io, file: string): Promise<{ name: string; value: string }[]> {
  const text = await readNamedFile(pathArg(io, file), 'utf8');
  const out: { name: string; value: string }[] = [];
  text.split('\n').forEach((line, i) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) return;
    const eq = t.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set-env-file ${file}: line ${i + 1} is not NAME=VALUE`);
    // no process's environment can hold a NUL byte (runc would refuse the app only once the pod is set up)
    if (t.includes('\0'))
      throw new UsageError(
        `--set-env-file ${file}: line ${i + 1} holds a NUL byte, which no environment value can; give a text file of NAME=VALUE lines`,
      );
    out.push({ name: t.slice(0, eq), value: t.slice(eq + 1) });
  });
  return out;
}

function integerArg(flag: string, value: string): number {
  if (!/^-?\d+$/.test(value)) throw new UsageError(`--${flag} ${value}: give a whole number`);
  return Number(value);
}

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

/** The pod's network settings a flag gives: `--net`, `--hostname`, `--dns`, `--dns-search`, `--dns-opt`,
 * `--hosts-entry` (what `run-prepared` takes again, as rkt did). False when `flag` is none of them.
 * @throws {@link UsageError} for a value they do not take. */
export function applyNetworkFlag(
  pod: { net?: PodArgs['net']; hostname?: string; dns?: PodArgs['dns']; hosts?: PodArgs['hosts'] },
  flag: string,
  value: string,
): boolean {
  switch (flag) {
    case 'net':
      if (value !== 'host' && value !== 'none' && value !== 'default')
        throw new UsageError(`--net=${value}: use host, none or default`);
      pod.net = value;
      return true;
    case 'hostname':
      // what sethostname(2) and resolvers take: dot-separated RFC 1123 labels, at most 64 bytes (ACE-018)
      if (
        value.length > 64 ||
        !/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(
          value,
        )
      )
        throw new UsageError(
          `--hostname ${value}: give a host name of letters, digits, "-" and ".", at most 64 characters, e.g. web-1`,
        );
      pod.hostname = value;
      return true;
    case 'dns':
    case 'dns-search':
    case 'dns-opt': {
      if (value === 'host' && flag === 'dns') {
        pod.dns = 'host';
        return true;
      }
      if (pod.dns === 'host')
        throw new UsageError("--dns=host takes the host's resolv.conf whole: give no other DNS flag");
      // a name server is an address: resolv.conf takes no names, and a bad one would fail every lookup (OS-006)
      if (flag === 'dns' && isIP(value) === 0)
        throw new UsageError(
          `--dns ${value}: give a name server's IP address, e.g. --dns 192.0.2.53, or host`,
        );
      const dns = pod.dns ?? {};
      const key = flag === 'dns' ? 'servers' : flag === 'dns-search' ? 'search' : 'options';
      dns[key] = [...(dns[key] ?? []), value];
      pod.dns = dns;
      return true;
    }
    case 'hosts-entry': {
      const whole = "--hosts-entry=host takes the host's /etc/hosts whole: give no other entry";
      if (value === 'host') {
        if (Array.isArray(pod.hosts)) throw new UsageError(whole);
        pod.hosts = 'host';
        return true;
      }
      if (pod.hosts === 'host') throw new UsageError(whole);
      const eq = value.indexOf('=');
      const ip = eq < 0 ? '' : value.slice(0, eq);
      const names = eq < 0 ? '' : value.slice(eq + 1);
      if (isIP(ip) === 0 || names.trim() === '' || /\s/.test(names))
        throw new UsageError(`--hosts-entry ${value}: write IP=HOSTNAME, e.g. 10.0.0.5=db.example`);
      pod.hosts = [...(pod.hosts ?? []), { ip, names: [names] }];
      return true;
    }
    default:
      return false;
  }
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
    environment: [],
    apps: [],
  };
  // rkt's precedence: --inherit-env under --set-env-file under --set-env, whatever their order on the line
  let inherit = false;
  const fromFiles: { name: string; value: string }[] = [];
  const podEnv: { name: string; value: string }[] = [];
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
        if (applyNetworkFlag(pod, flag, value as string)) continue;
        switch (flag) {
          case 'volume':
            try {
              pod.volumes.push(parseVolumeArg(value as string));
            } catch (error) {
              // the flag is named, as for every other malformed flag (a missing value took the IMAGE for it)
              throw new UsageError(
                `--volume ${(error as Error).message.replace(/ \[[A-Z_]+, POD-012\]$/, '')}`,
              );
            }
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
          case 'set-env':
            podEnv.push(nameValue(flag, value as string));
            break;
          case 'set-env-file':
            fromFiles.push(...(await envFile(io, value as string)));
            break;
          case 'inherit-env':
            inherit = true;
            break;
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
          case 'interactive':
            pod.interactive = true;
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
        case 'set-env':
        case 'environment':
          app.environment.push(nameValue(flag, value as string));
          break;
        case 'annotation':
          app.annotations.push(nameValue(flag, value as string));
          break;
        case 'user-annotation':
        case 'user-label': {
          const { name, value: v } = nameValue(flag, value as string);
          if (flag === 'user-annotation') app.userAnnotations = { ...app.userAnnotations, [name]: v };
          else app.userLabels = { ...app.userLabels, [name]: v };
          break;
        }
        case 'cpu-shares':
          app.isolators.push({
            name: 'os/linux/cpu-shares',
            value: integerArg(flag, value as string),
          } as Isolator);
          break;
        case 'oom-score-adj':
          app.isolators.push({
            name: 'os/linux/oom-score-adj',
            value: integerArg(flag, value as string),
          } as Isolator);
          break;
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
        case 'caps-retain':
          app.isolators.push({
            name: 'os/linux/capabilities-retain-set',
            value: { set: capabilities(value as string) },
          } as Isolator);
          break;
        case 'cap-remove':
        case 'caps-remove':
          app.isolators.push({
            name: 'os/linux/capabilities-remove-set',
            value: { set: capabilities(value as string) },
          } as Isolator);
          break;
        case 'seccomp':
          app.isolators.push(seccompIsolator(value as string));
          break;
        case 'readonly-rootfs':
          if (value !== undefined && value !== 'true' && value !== 'false')
            throw new UsageError(`--readonly-rootfs=${value}: use true or false`);
          app.readOnlyRootFS = value !== 'false';
          break;
        default:
          throw new UsageError(`unknown app flag --${flag} after image ${app.image}`);
      }
      continue;
    }
    // another IMAGE starts another app, as in `rkt run a.aci b.aci` (an app's arguments end at ---)
    app = { image: arg, args: [], environment: [], mounts: [], isolators: [], annotations: [] };
    pod.apps.push(app);
  }
  if (pod.podManifest !== undefined && pod.apps.length > 0)
    throw new UsageError('give IMAGEs or --pod-manifest, not both');
  if (pod.podManifest !== undefined && (inherit || fromFiles.length > 0 || podEnv.length > 0))
    throw new UsageError(
      "--set-env, --set-env-file and --inherit-env apply to IMAGEs; a pod manifest carries its apps' environment",
    );
  if (pod.podManifest === undefined && pod.apps.length === 0) throw new UsageError('give at least one IMAGE');
  if (pod.interactive && pod.apps.length > 1)
    throw new UsageError('--interactive attaches one app to the terminal: give one IMAGE');
  if (pod.uuidFileSave !== undefined) pod.uuidFileSave = pathArg(io, pod.uuidFileSave);
  const inherited = inherit
    ? Object.entries(process.env).flatMap(([name, value]) => (value === undefined ? [] : [{ name, value }]))
    : [];
  pod.environment = [...inherited, ...fromFiles, ...podEnv];
  return pod;
}

/** Resolves each IMAGE into the store (fetching when the pull policy says so), then reifies the pod (or reads
 * and checks `--pod-manifest`). */
export async function reifyFromArgs(
  args: PodArgs,
  io: Io,
  globals: Globals,
  store: Store,
  /** The pod's UUID when it is already chosen (a sandbox started early for it). */
  uuid?: string,
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
    const manifest = parsePodManifest(parseJson(await readNamedFile(file), { file }), { file });
    return reifyPodManifest(manifest, lookup, uuid === undefined ? { file } : { file, uuid });
  }
  // an image ID needs neither the network nor the keys: only load them for names, URLs and files
  let fetching: ((ref: string) => Promise<{ image: { id: string } }>) | undefined;
  const fetchOne = async (ref: string) => {
    if (!fetching) {
      const insecure = await insecureOptions(globals);
      const network = await networkOptions(globals, io, args.network);
      const trust = await openTrust(globals, io);
      const { fetchImage } = await import('@appc/store');
      // a download shows its progress on a terminal, as appc fetch does
      const progress = progressLine(io);
      fetching = (r) =>
        fetchImage(store, r, {
          trust,
          insecure: { image: insecure.has('image'), http: insecure.has('http'), tls: insecure.has('tls') },
          pullPolicy: args.pullPolicy,
          network,
          onProgress: (p) =>
            p.kind === 'image' && progress(`Downloading ${p.url}`, p.receivedBytes, p.totalBytes, p.done),
          ...(io.signal ? { signal: io.signal } : {}),
        });
    }
    return fetching(ref).catch((error: NodeJS.ErrnoException) => {
      // an image layout's directory given for its image: Node's EISDIR names neither the path nor the way out
      if (error?.code === 'EISDIR')
        throw new UsageError(
          `${ref}: is a directory, not an image; build it first (appc build ${ref} OUT.aci) and give OUT.aci`,
        );
      throw error;
    });
  };
  const requests = [];
  for (const a of args.apps) {
    // the pod's variables under the app's own, one entry per name (the last given wins, in the first one's place)
    const env = new Map<string, string>();
    for (const e of [...args.environment, ...a.environment]) env.set(e.name, e.value);
    const environment = [...env].map(([name, value]) => ({ name, value }));
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
      ...(environment.length > 0 ? { environment } : {}),
      ...(a.isolators.length > 0 ? { isolators: a.isolators } : {}),
      ...(a.mounts.length > 0 ? { mounts: a.mounts } : {}),
      ...(a.readOnlyRootFS !== undefined ? { readOnlyRootFS: a.readOnlyRootFS } : {}),
      ...(a.annotations.length > 0 ? { annotations: a.annotations } : {}),
      ...(a.userAnnotations ? { userAnnotations: a.userAnnotations } : {}),
      ...(a.userLabels ? { userLabels: a.userLabels } : {}),
    });
  }
  return reifyPod(requests, {
    ...(uuid !== undefined ? { uuid } : {}),
    ...(args.volumes.length > 0 ? { volumes: args.volumes } : {}),
    ...(args.ports.length > 0 ? { ports: args.ports } : {}),
  });
}
