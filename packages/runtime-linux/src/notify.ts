// Readiness notification (ACE-016): an app whose image or pod entry carries the annotation
// `appc.io/executor/supports-systemd-notify: "true"` gets NOTIFY_SOCKET, as under systemd. runc does the
// in-container half: given NOTIFY_SOCKET, it binds a socket inside the container, points the app's NOTIFY_SOCKET
// at it and forwards the app's READY=1 (with MAINPID) to ours. Ours is a datagram socket, which Node cannot open,
// so socat receives on it and prints what arrives.
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Annotation } from '@appc/schema';
import { RuntimeError } from './errors.ts';

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

/** A notify socket being listened on; `close` stops listening and removes it. */
export interface NotifyReceiver {
  path: string;
  close(): Promise<void>;
}

/** Listens on a new notify socket (under the temporary directory: a socket's path is limited to 107 bytes) and
 * calls `onReady` once, on the first READY=1.
 * @throws {@link RuntimeError} `ERR_RUN_NOTIFY` when socat is missing or cannot bind. */
export async function listenForReadiness(
  name: string,
  app: string,
  onReady: () => void,
): Promise<NotifyReceiver> {
  const path = join(tmpdir(), `appc-notify-${name}.sock`);
  const child = spawn('socat', ['-d', '-d', '-u', `UNIX-RECV:${path},unlink-early`, 'STDOUT'], {
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
  }).catch((cause: Error) => {
    child.kill('SIGKILL');
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
  return {
    path,
    close: async () => {
      child.kill('SIGTERM');
      await exited;
      await rm(path, { force: true });
    },
  };
}
