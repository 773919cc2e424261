import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Port } from '@appc/schema';
import { RuntimeError } from './errors.ts';
import type { OciRuntimeSpec } from './oci.ts';

/* Socket activation (ACE-015): for each port an app declares with `socketActivated`, the executor opens the
 * listening socket in the pod's network namespace and hands it to the app as systemd does: descriptors from 3,
 * `LISTEN_FDS`, `LISTEN_FDNAMES` and `LISTEN_PID`. LISTEN_PID must be the app's own PID, which nobody knows before
 * the app starts in the pod's shared PID namespace; so the app is started through a static shell bind-mounted
 * read-only at {@link SHIM_PATH}, which sets LISTEN_PID to its own PID and execs the app in place (same PID). */

/** Where the static shell is mounted in a socket-activated app's root filesystem (named busybox: a multi-call
 * binary picks its applet by the name it was started as, or by the next argument when that name is busybox). */
export const SHIM_PATH = '/.appc/busybox';
/** The host's static busybox (Debian: busybox-static), the shell of the shim. */
export const SHIM_SOURCE = '/bin/busybox';

/** One socket to pass: a port of the app (a port with `count` n gives n sockets, n ports from `port`). */
export interface ActivationSocket {
  name: string;
  protocol: 'tcp' | 'udp';
  port: number;
}

/** The sockets an app's ports ask for, in the order of the manifest (ACE-015). */
export function activationSockets(ports: readonly Port[] | undefined): ActivationSocket[] {
  const out: ActivationSocket[] = [];
  for (const p of ports ?? []) {
    if (p.socketActivated !== true) continue;
    const protocol = p.protocol === 'udp' ? 'udp' : 'tcp';
    for (let i = 0; i < (p.count ?? 1); i++) out.push({ name: p.name, protocol, port: p.port + i });
  }
  return out;
}

/** Makes a runtime config start the app through the shim with the systemd variables (the descriptors themselves are
 * passed when the container starts). */
export function applySocketActivation(
  config: OciRuntimeSpec,
  app: string,
  sockets: readonly ActivationSocket[],
): void {
  if (!existsSync(SHIM_SOURCE)) {
    throw new RuntimeError(
      `app "${app}" has socket-activated ports, which need a static shell at ${SHIM_SOURCE} to set LISTEN_PID (Debian: apt install busybox-static).`,
      { code: 'ERR_RUN_SOCKET_ACTIVATION', requirement: 'ACE-015', app },
    );
  }
  config.mounts.push({
    destination: SHIM_PATH,
    type: 'bind',
    source: SHIM_SOURCE,
    options: ['bind', 'ro', 'nosuid', 'nodev'],
  });
  config.process.env.push(
    `LISTEN_FDS=${sockets.length}`,
    `LISTEN_FDNAMES=${sockets.map((s) => s.name).join(':')}`,
  );
  config.process.args = [
    SHIM_PATH,
    'sh',
    '-c',
    'LISTEN_PID=$$; export LISTEN_PID; exec "$@"',
    'appc-activate',
    ...config.process.args,
  ];
}

/** The config of an event handler of a socket-activated app: no descriptors are passed to handlers. */
export function withoutActivation(config: OciRuntimeSpec): void {
  config.process.env = config.process.env.filter((e) => !/^LISTEN_(FDS|FDNAMES|PID)=/.test(e));
}

// Runs in the pod's network namespace (node under nsenter): binds every socket and sends each to the parent.
const CHILD = `
const net = require('node:net');
const dgram = require('node:dgram');
const sockets = JSON.parse(process.argv[1]);
(async () => {
  for (const [i, s] of sockets.entries()) {
    const handle = await new Promise((resolve, reject) => {
      if (s.protocol === 'udp') {
        const u = dgram.createSocket('udp4');
        u.once('error', reject);
        u.bind({ port: s.port, address: '0.0.0.0', exclusive: true }, () => resolve(u));
      } else {
        const t = net.createServer();
        t.once('error', reject);
        t.listen({ port: s.port, host: '0.0.0.0', exclusive: true, backlog: 511 }, () => resolve(t));
      }
    });
    // the bare handle, not the server: a server received by the parent would start accepting connections there
    const native = s.protocol === 'udp'
      ? Object.getOwnPropertySymbols(handle).map((k) => handle[k]).find((v) => v && v.handle)?.handle
      : handle._handle;
    await new Promise((resolve, reject) => process.send({ i }, native, (e) => (e ? reject(e) : resolve())));
  }
  process.send({ done: true }, () => process.exit(0));
})().catch((e) => {
  process.send({ error: e.message }, () => process.exit(1));
});
`;

/** Listening sockets opened for one app: their descriptors in this process, and how to close them. */
export interface OpenSockets {
  fds: number[];
  close(): void;
}

/** A handle received over IPC: the bare libuv handle of a listening socket. */
interface NativeHandle {
  fd?: number;
  close?: () => void;
}

/** Opens the app's listening sockets in the network namespace at `netns` (a `/proc/PID/ns/net` path), or in this
 * process's when undefined (`--net=host`). */
export async function openActivationSockets(
  app: string,
  sockets: readonly ActivationSocket[],
  netns: string | undefined,
): Promise<OpenSockets> {
  const failure = (detail: string) =>
    new RuntimeError(`app "${app}": its socket-activated ports could not be opened (${detail}).`, {
      code: 'ERR_RUN_SOCKET_ACTIVATION',
      requirement: 'ACE-015',
      app,
    });
  const handles: NativeHandle[] = new Array(sockets.length);
  const child = fork('-e', [CHILD, JSON.stringify(sockets)], {
    // node -e under nsenter: the child's network is the pod's (its IPC channel is inherited through nsenter)
    execPath: netns === undefined ? process.execPath : 'nsenter',
    execArgv: netns === undefined ? [] : [`--net=${netns}`, '--', process.execPath],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const close = () => {
    for (const h of handles) {
      try {
        h?.close?.();
      } catch {
        // already closed
      }
    }
  };
  try {
    await new Promise<void>((resolve, reject) => {
      child.on('message', (m: { i?: number; done?: boolean; error?: string }, handle?: NativeHandle) => {
        if (m.error !== undefined) reject(failure(m.error));
        else if (m.done) resolve();
        else if (m.i !== undefined && handle) handles[m.i] = handle;
      });
      child.once('error', (e) => reject(failure(e.message)));
      child.once('exit', (code) =>
        reject(failure(`the helper exited with ${code}${stderr ? `: ${stderr.trim()}` : ''}`)),
      );
    });
  } catch (e) {
    close();
    child.kill('SIGKILL');
    throw e;
  }
  const fds = handles.map((h) => (typeof h?.fd === 'number' && h.fd >= 0 ? h.fd : undefined));
  if (fds.some((fd) => fd === undefined)) {
    close();
    throw failure('a descriptor of a received socket could not be read');
  }
  return { fds: fds as number[], close };
}
