// Readiness notification (ACE-016): an app whose image or pod entry carries the annotation
// `appc.io/executor/supports-systemd-notify: "true"` gets NOTIFY_SOCKET, as under systemd. The socket is ours,
// in a directory of its own bound into the app's container: runc's own NOTIFY_SOCKET support is not used, since
// runc 1.1 waits for READY=1 before it reaps the app, so an app that ends without sending it would hang the pod.
// It is a datagram socket, which Node cannot open, so socat receives on it and prints what arrives.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Annotation } from '@appc/schema';
import { RuntimeError } from './errors.ts';
import type { OciRuntimeSpec } from './oci.ts';

/** The annotation by which an app says it reports readiness with sd_notify (ACE-016). */
export const SYSTEMD_NOTIFY_ANNOTATION = 'appc.io/executor/supports-systemd-notify';

/** Whether annotations (the pod app's, which win, then the image's) say the app supports sd_notify. */
export function supportsSystemdNotify(
  podApp: readonly Annotation[] | undefined,
  image: readonly Annotation[] | undefined,
): boolean {
  const own = podApp?.find((a) => a.name === SYSTEMD_NOTIFY_ANNOTATION);
  return (own ?? image?.find((a) => a.name === SYSTEMD_NOTIFY_ANNOTATION))?.value === 'true';
}

/** Where an app finds its notify socket inside its container. */
export const NOTIFY_SOCKET_DIR = '/run/appc-notify';

/** A notify socket being listened on, in `dir` (bound at {@link NOTIFY_SOCKET_DIR}); `close` stops listening and
 * removes it. */
export interface NotifyReceiver {
  dir: string;
  path: string;
  close(): Promise<void>;
}

/** Listens on a new notify socket and calls `onReady` once, on the first READY=1. Its directory is under the
 * temporary directory, named by a hash of `key`: a socket's path is limited to 107 bytes.
 * @throws {@link RuntimeError} `ERR_RUN_NOTIFY` when socat is missing or cannot bind. */
export async function listenForReadiness(
  key: string,
  app: string,
  onReady: () => void,
): Promise<NotifyReceiver> {
  const dir = join(tmpdir(), `appc-notify-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const path = join(dir, 'notify.sock');
  // mode 0777: an app running as any user may send to it
  const child = spawn('socat', ['-d', '-d', '-u', `UNIX-RECV:${path},unlink-early,mode=0777`, 'STDOUT'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`socat exited with ${code}: ${err.trim()}`)));
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < 4096) err += d;
      if (err.includes('starting data transfer loop')) resolve();
      else if (/ E /.test(err)) reject(new Error(err.trim()));
    });
  }).catch(async (cause: Error) => {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw new RuntimeError(
      `app "${app}" asks for readiness notification, but its notify socket could not be opened (${cause.message}); install socat.`,
      { code: 'ERR_RUN_NOTIFY', requirement: 'ACE-016', app, cause },
    );
  });
  child.removeAllListeners('exit');
  child.stderr.removeAllListeners('data');
  child.stderr.resume();
  let seen = '';
  let ready = false;
  child.stdout.on('data', (d: Buffer) => {
    if (ready) return;
    seen = (seen + d.toString('latin1')).slice(-64);
    if (/(^|\n)READY=1(\n|$)/.test(seen)) {
      ready = true;
      onReady();
    }
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let closing: Promise<void> | undefined;
  return {
    dir,
    path,
    close: () =>
      (closing ??= (async () => {
        child.kill('SIGTERM');
        await exited;
        await rm(dir, { recursive: true, force: true });
      })()),
  };
}

/** The app's main process config with its notify socket: the receiver's directory bound at
 * {@link NOTIFY_SOCKET_DIR} and NOTIFY_SOCKET pointing into it. */
export function withNotifySocket(config: OciRuntimeSpec, receiver: NotifyReceiver): OciRuntimeSpec {
  const copy = structuredClone(config);
  copy.mounts = [
    ...(copy.mounts ?? []),
    { destination: NOTIFY_SOCKET_DIR, type: 'bind', source: receiver.dir, options: ['bind', 'rprivate'] },
  ];
  copy.process.env = [
    ...(copy.process.env ?? []).filter((e) => !e.startsWith('NOTIFY_SOCKET=')),
    `NOTIFY_SOCKET=${NOTIFY_SOCKET_DIR}/notify.sock`,
  ];
  return copy;
}
