// Pods run from the image store with a record on disk, the metadata service and each network mode, on real runc,
// catatonit and CNI plugins (root only); and gc after a killed runner (issue 4, cleanup).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { lstat, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { build } from '@appc/aci';
import { hostOsArch, type Isolator } from '@appc/schema';
import { openStore, type Store } from '@appc/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gcPods, runStoredPod, startPodEarly } from '../src/pod-runner.ts';
import { findPod, listPods, mountsBelow } from '../src/pods.ts';
import { reifyPod } from '../src/reify.ts';
import { copyHostProgram, ifbOf, ifbs, makeBusyboxRootfs, qdiscs, tempDir } from './support.ts';

const isRoot = process.getuid?.() === 0;
let dir: string;
let store: Store;
let image: { id: string; manifest: import('@appc/schema').ImageManifest };

function veths(): number {
  return execFileSync('ip', ['-o', 'link', 'show', 'type', 'veth']).toString().split('\n').filter(Boolean)
    .length;
}

/** NAT rules that name a pod (ptp's masquerading, portmap's forwards carry its ID in their comments). */
function natRules(uuid: string): string[] {
  return execFileSync('iptables', ['-w', '-t', 'nat', '-S'])
    .toString()
    .split('\n')
    .filter((l) => l.includes(uuid));
}

/** The probe image with more app fields in its manifest (the pod still runs the stored image's ID and tree). */
function imageWithApp(app: Partial<NonNullable<typeof image.manifest.app>>): typeof image {
  const base = image.manifest.app as NonNullable<typeof image.manifest.app>;
  return { id: image.id, manifest: { ...image.manifest, app: { ...base, ...app } } };
}

function runcIds(stateDir: string): string[] {
  const root = join(stateDir, 'runc');
  if (!existsSync(root)) return [];
  return (
    JSON.parse(execFileSync('runc', ['--root', root, 'list', '--format', 'json']).toString() || '[]')?.map?.(
      (c: { id: string }) => c.id,
    ) ?? []
  );
}

/** Writes the manifest of a layout (version 1 for this host, run as root, one annotation), builds it beside the
 * layout and puts it into the store. */
async function storeImage(
  layout: string,
  name: string,
  exec: string[],
  annotation: string,
  value: string,
): Promise<typeof image> {
  const { os, arch } = hostOsArch();
  await writeFile(
    join(layout, 'manifest'),
    JSON.stringify({
      acKind: 'ImageManifest',
      acVersion: '0.8.11',
      name,
      labels: [
        { name: 'version', value: '1' },
        { name: 'os', value: os },
        { name: 'arch', value: arch },
      ],
      app: { exec, user: '0', group: '0' },
      annotations: [{ name: annotation, value }],
    }),
  );
  const aci = `${layout}.aci`;
  await build(layout, aci);
  const put = await store.put(aci);
  return { id: put.image.id, manifest: store.manifest(put.image.id) };
}

beforeAll(async () => {
  if (!isRoot) return;
  dir = await tempDir('appc-podrun-');
  const layout = join(dir, 'layout');
  await makeBusyboxRootfs(join(layout, 'rootfs'), { files: { 'srv/spool': 'a file in the image\n' } });
  await symlink('busybox', join(layout, 'rootfs', 'bin', 'wget'));
  store = await openStore(join(dir, 'state', 'images'));
  image = await storeImage(layout, 'example.com/probe', ['/bin/sh', '-c', 'echo hello'], 'authors', 'test');
}, 60_000);

afterAll(async () => {
  if (!isRoot) return;
  store.close();
  await rm(dir, { recursive: true, force: true });
});

/** A resource/network-bandwidth isolator (ISO-018). */
const bandwidth = (limit: string): Isolator => ({
  name: 'resource/network-bandwidth',
  value: { default: true, limit },
});

/** The host side of a pod's veth: the device of the host's route to the pod's address. */
function hostVethOf(address: string): string {
  return JSON.parse(execFileSync('ip', ['-j', 'route', 'get', address]).toString())[0].dev;
}

const probe = `wget -q -O - "$AC_METADATA_URL/acMetadata/v1/pod/uuid"; echo; wget -q -O - "$AC_METADATA_URL/acMetadata/v1/apps/$AC_APP_NAME/image/id"`;

describe('runStoredPod (ACE-002, ACE-008, META-001)', () => {
  for (const net of ['host', 'none', 'default'] as const) {
    it(`--net=${net}: the app reaches the metadata service; nothing is left but the record and logs`, {
      tags: ['root'],
    }, async () => {
      const stateDir = join(dir, 'state');
      const before = veths();
      const pod = reifyPod([{ image, exec: ['/bin/sh', '-c', probe] }]);
      const stdout = new PassThrough();
      let out = '';
      stdout.on('data', (d) => {
        out += d;
      });
      const result = await runStoredPod({ stateDir, store, pod, net, stdout, name: `probe-${net}` });
      const err = await readFile(join(stateDir, 'pods', pod.uuid, 'logs', 'probe.stderr'), 'utf8');
      expect(result.apps, err).toEqual([expect.objectContaining({ name: 'probe', exitCode: 0 })]);
      expect(out).toBe(`${pod.uuid}\n${image.id}`);
      const record = await findPod(stateDir, `probe-${net}`);
      expect(record).toMatchObject({
        uuid: pod.uuid,
        state: 'exited',
        net,
        apps: [{ name: 'probe', exitCode: 0 }],
      });
      if (net === 'default') expect(record.address).toMatch(/^172\.16\.28\.\d+$/);
      expect(await readFile(join(stateDir, 'pods', pod.uuid, 'logs', 'probe.stdout'), 'utf8')).toBe(out);
      expect(await mountsBelow(join(stateDir, 'pods', pod.uuid))).toEqual([]);
      expect(runcIds(stateDir)).toEqual([]);
      expect(veths()).toBe(before);
      expect(natRules(pod.uuid)).toEqual([]);
    });
  }

  it('ACE-002 ACE-005 ACE-014 after the first pod, runc mounts each overlay inside its container: nothing on the host', {
    tags: ['root'],
  }, async () => {
    const stateDir = join(dir, 'state-overlay');
    // the first pod mounts its overlay on the host and records what worked on this file system and kernel
    const first = reifyPod([{ image, exec: ['/bin/true'] }]);
    expect((await runStoredPod({ stateDir, store, pod: first, net: 'none' })).apps[0]?.exitCode).toBe(0);
    const learnt = JSON.parse(await readFile(join(stateDir, 'rootfs-method.json'), 'utf8'));
    expect(learnt.method).toMatch(/^overlay/);
    // the next one: pre-start, main and post-stop each mount the app's overlay in their own container (one upper
    // layer, a work directory each); /srv/spool, a file in the image, is a volume's directory via the upper layer
    const handlers = imageWithApp({
      eventHandlers: [
        { name: 'pre-start', exec: ['/bin/sh', '-c', 'touch /pre && echo pre-ok'] },
        { name: 'post-stop', exec: ['/bin/sh', '-c', 'test -e /pre && test -e /main && echo post-ok'] },
      ],
    });
    const pod = reifyPod(
      [
        {
          image: handlers,
          exec: [
            '/bin/sh',
            '-c',
            'test -e /pre && touch /main && test -d /srv/spool && stat -c "srv=%a" /srv && grep " / " /proc/self/mountinfo | grep -c "overlay overlay" && echo ready && sleep 0.5',
          ],
          mounts: [{ volume: 'scratch', path: '/srv/spool' }],
        },
      ],
      { volumes: [{ name: 'scratch', kind: 'empty' }] },
    );
    const stdout = new PassThrough();
    let out = '';
    let hostMountsWhileRunning: string[] | undefined;
    stdout.on('data', (d) => {
      out += d;
      if (out.includes('ready') && !hostMountsWhileRunning)
        void mountsBelow(join(stateDir, 'pods', pod.uuid)).then((m) => {
          hostMountsWhileRunning = m;
        });
    });
    const result = await runStoredPod({ stateDir, store, pod, net: 'none', stdout });
    const err = await readFile(join(stateDir, 'pods', pod.uuid, 'logs', 'probe.stderr'), 'utf8');
    expect(result.apps[0], err).toMatchObject({ exitCode: 0, preStartExitCode: 0, postStopExitCode: 0 });
    expect(out).toBe('pre-ok\nsrv=755\n1\nready\npost-ok\n');
    expect(hostMountsWhileRunning).toEqual([]);
    // the image's cached tree, the overlay's lower layer, is untouched
    const tree = join(dir, 'state', 'images', 'trees', image.id, 'rootfs');
    expect((await lstat(join(tree, 'srv', 'spool'))).isFile()).toBe(true);
    for (const f of ['pre', 'main']) expect(existsSync(join(tree, f))).toBe(false);
    expect(await mountsBelow(join(stateDir, 'pods'))).toEqual([]);
    expect(runcIds(stateDir)).toEqual([]);
  });

  it('ACE-016 an app annotated supports-systemd-notify gets NOTIFY_SOCKET; its READY=1 marks it ready; others get none', {
    tags: ['root'],
  }, async () => {
    const stateDir = join(dir, 'state');
    // an image with socat, to send the datagram sd_notify sends
    const layout = join(dir, 'notify-layout');
    await makeBusyboxRootfs(join(layout, 'rootfs'));
    await copyHostProgram(join(layout, 'rootfs'), '/usr/bin/socat');
    const notifier = await storeImage(
      layout,
      'example.com/notifier',
      ['/bin/true'],
      'appc.io/executor/supports-systemd-notify',
      'true',
    );
    const pod = reifyPod([
      {
        image: notifier,
        exec: [
          '/bin/sh',
          '-c',
          'sleep 0.2; printf "READY=1" | /usr/bin/socat - "UNIX-SENDTO:$NOTIFY_SOCKET" && echo sent; sleep 1',
        ],
      },
      { image, name: 'plain', exec: ['/bin/sh', '-c', 'echo "plain=$NOTIFY_SOCKET"'] },
      // annotated, but it ends without READY=1: the pod is never ready, and nothing waits for it
      { image: notifier, name: 'silent', exec: ['/bin/sh', '-c', 'echo "silent=$NOTIFY_SOCKET"'] },
    ]);
    const stdout = new PassThrough();
    let out = '';
    const readyWhileRunning: Array<boolean | undefined> = [];
    stdout.on('data', (d) => {
      out += d;
      if (String(d).includes('sent'))
        // runc forwards READY=1 as it comes; the record says so while the app still runs
        void new Promise((r) => setTimeout(r, 300))
          .then(() => findPod(stateDir, pod.uuid))
          .then((r) => readyWhileRunning.push(r.apps.find((a) => a.name === 'notifier')?.ready));
    });
    // a runner started by systemd must not hand its own NOTIFY_SOCKET to the apps
    process.env.NOTIFY_SOCKET = '/run/systemd/notify';
    try {
      const result = await runStoredPod({ stateDir, store, pod, net: 'none', stdout });
      expect(result.apps.map((a) => a.exitCode)).toEqual([0, 0, 0]);
    } finally {
      delete process.env.NOTIFY_SOCKET;
    }
    expect(out).toContain('sent\n');
    expect(out).toContain('plain=\n');
    expect(out).toContain('silent=/run/appc-notify/notify.sock\n');
    expect(readyWhileRunning).toEqual([true]);
    const record = await findPod(stateDir, pod.uuid);
    expect(record.state).toBe('exited');
    expect(record.apps).toEqual([
      expect.objectContaining({ name: 'notifier', notify: true, ready: true, exitCode: 0 }),
      expect.objectContaining({ name: 'plain', exitCode: 0 }),
      expect.objectContaining({ name: 'silent', notify: true, exitCode: 0 }),
    ]);
    expect(record.apps[1]?.notify).toBeUndefined();
    expect(record.apps[2]?.ready).toBeUndefined();
    // the receivers' directories are gone
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith('appc-notify-'))).toEqual([]);
  });

  it('every metadata endpoint from inside; a signature made in one pod verifies in another (META-003..META-010)', {
    tags: ['root'],
  }, async () => {
    const stateDir = join(dir, 'state');
    const script = [
      'md="$AC_METADATA_URL/acMetadata/v1"',
      'echo "annotations=$(wget -q -O - "$md/pod/annotations")"',
      'echo "manifest=$(wget -q -O - "$md/pod/manifest" | head -c 30)"',
      'echo "uuid=$(wget -q -O - "$md/pod/uuid")"',
      'echo "app-annotations=$(wget -q -O - "$md/apps/$AC_APP_NAME/annotations")"',
      'echo "app-manifest=$(wget -q -O - "$md/apps/$AC_APP_NAME/image/manifest" | head -c 30)"',
      'echo "app-id=$(wget -q -O - "$md/apps/$AC_APP_NAME/image/id")"',
      'echo "sig=$(wget -q -O - --post-data "content=from-pod-one" "$md/pod/hmac/sign")"',
      // the same service with a token that is not the pod's: 401, so wget fails
      'base="$(echo "$AC_METADATA_URL" | sed "s|/[0-9a-f]*$||")"',
      'wget -q -O - "$base/0000/acMetadata/v1/pod/uuid" >/dev/null 2>&1 || echo "foreign-token=refused"',
    ].join('; ');
    const first = reifyPod([{ image, exec: ['/bin/sh', '-c', script] }], {
      annotations: [{ name: 'team', value: 'infra' }],
    });
    const out1 = new PassThrough();
    let text = '';
    out1.on('data', (d) => {
      text += d;
    });
    expect(
      (await runStoredPod({ stateDir, store, pod: first, net: 'default', stdout: out1 })).apps[0]?.exitCode,
    ).toBe(0);
    const seen = Object.fromEntries(
      text
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(seen.annotations).toBe('[{"name":"team","value":"infra"}]');
    expect(seen.manifest).toBe('{"acVersion":"0.8.11","acKind"');
    expect(seen.uuid).toBe(first.uuid);
    expect(seen['app-annotations']).toBe('[{"name":"authors","value":"test"}]');
    expect(seen['app-manifest']).toContain('{');
    expect(seen['app-id']).toBe(image.id);
    expect(seen['foreign-token']).toBe('refused');
    const sig = seen.sig as string;
    expect(Buffer.from(sig, 'base64')).toHaveLength(64);
    // a second pod (another runner, another service) checks the first pod's signature
    const verify = (content: string) =>
      `wget -q -O /dev/null --post-data "content=${content}&uuid=${first.uuid}&signature=${encodeURIComponent(sig)}" "$AC_METADATA_URL/acMetadata/v1/pod/hmac/verify" && echo ok || echo refused`;
    const second = reifyPod([
      { image, exec: ['/bin/sh', '-c', `${verify('from-pod-one')}; ${verify('tampered')}`] },
    ]);
    const out2 = new PassThrough();
    let text2 = '';
    out2.on('data', (d) => {
      text2 += d;
    });
    await runStoredPod({ stateDir, store, pod: second, net: 'none', stdout: out2 });
    expect(text2).toBe('ok\nrefused\n');
  });

  it('ACE-003 META-001 the sandbox: catatonit without runc, the forwarder outside the pod; runc when an app may ptrace', {
    tags: ['root'],
  }, async () => {
    const stateDir = join(dir, 'state');
    const look = `${probe}; echo; echo "pid1=$(tr "\\0" " " </proc/1/cmdline)"; set -- /proc/[0-9]*; echo $#`;
    const plain = reifyPod([{ image, exec: ['/bin/sh', '-c', look] }]);
    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => {
      text += d;
    });
    await runStoredPod({ stateDir, store, pod: plain, net: 'none', stdout: out });
    // the metadata answers, catatonit is PID 1, and the pod has 2 processes: catatonit and the shell, which
    // counts /proc by its own glob (no forwarder; a pipeline's count would race with its own processes)
    expect(text).toBe(`${plain.uuid}\n${image.id}\npid1=/catatonit -P \n2\n`);
    expect(runcIds(stateDir)).toEqual([]);
    const ptrace = reifyPod([
      {
        image,
        exec: ['/bin/sh', '-c', look],
        isolators: [
          {
            name: 'os/linux/capabilities-retain-set',
            value: { set: ['CAP_SYS_PTRACE', 'CAP_SETUID', 'CAP_SETGID'] },
          },
        ],
      },
    ]);
    text = '';
    await runStoredPod({ stateDir, store, pod: ptrace, net: 'none', stdout: out });
    expect(text).toBe(`${ptrace.uuid}\n${image.id}\npid1=/catatonit -P \n2\n`);
    expect(runcIds(stateDir)).toEqual([]);
    expect(await mountsBelow(join(stateDir, 'pods'))).toEqual([]);
  });

  it('ACE-003 a sandbox started early: the run it was started for takes it over; a run given up, a pod that needs runc, a killed runner and gc end it', {
    tags: ['root'],
  }, async () => {
    const stateDir = join(dir, 'state-early');
    await mkdir(stateDir, { recursive: true });
    const look = `${probe}; echo; echo "pid1=$(tr "\\0" " " </proc/1/cmdline)"`;
    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => {
      text += d;
    });
    // taken over: the app runs in it, with the UUID the early start chose
    const early = await startPodEarly({ stateDir, net: 'none', hostname: 'early' });
    const taken = await early.sandbox;
    expect(taken?.pid).toBeGreaterThan(0);
    const pod = reifyPod([{ image, exec: ['/bin/sh', '-c', `${look}; echo "host=$(hostname)"`] }], {
      uuid: early.uuid,
    });
    const result = await runStoredPod({
      stateDir,
      store,
      pod,
      net: 'none',
      hostname: 'early',
      stdout: out,
      early,
    });
    expect(result.apps[0]?.exitCode).toBe(0);
    expect(text).toBe(`${pod.uuid}\n${image.id}\npid1=/catatonit -P \nhost=early\n`);
    expect(existsSync(`/proc/${taken?.pid}`)).toBe(false);
    await early.cancel(); // nothing once the run took it over
    expect((await findPod(stateDir, pod.uuid)).state).toBe('exited');

    // given up before the run: the sandbox ends and the pod's directory goes
    const given = await startPodEarly({ stateDir, net: 'default' });
    const idle = await given.sandbox;
    expect(existsSync(`/proc/${idle?.pid}`)).toBe(true);
    expect((await listPods(stateDir)).map((p) => [p.uuid, p.state])).toContainEqual([given.uuid, 'prepared']);
    await given.cancel();
    expect(existsSync(`/proc/${idle?.pid}`)).toBe(false);
    expect(existsSync(join(stateDir, 'pods', given.uuid))).toBe(false);

    // a run refused before it is set up (a forwarded port without the default network) leaves it to cancel()
    const refused = await startPodEarly({ stateDir, net: 'none' });
    const waiting = await refused.sandbox;
    const badPorts = reifyPod(
      [
        {
          image: imageWithApp({ ports: [{ name: 'http', protocol: 'tcp', port: 80 }] }),
          exec: ['/bin/true'],
        },
      ],
      { uuid: refused.uuid, ports: [{ name: 'http', hostPort: 18080 }] },
    );
    await expect(
      runStoredPod({ stateDir, store, pod: badPorts, net: 'none', early: refused }),
    ).rejects.toMatchObject({ code: 'ERR_RUN_UNKNOWN_PORT' });
    expect(existsSync(`/proc/${waiting?.pid}`)).toBe(true);
    await refused.cancel();
    expect(existsSync(`/proc/${waiting?.pid}`)).toBe(false);
    expect(existsSync(join(stateDir, 'pods', refused.uuid))).toBe(false);

    // an app that may ptrace needs runc's sandbox: the early one ends, the pod runs all the same
    const forRunc = await startPodEarly({ stateDir, net: 'none' });
    const replaced = await forRunc.sandbox;
    const ptrace = reifyPod(
      [
        {
          image,
          exec: ['/bin/sh', '-c', look],
          isolators: [
            {
              name: 'os/linux/capabilities-retain-set',
              value: { set: ['CAP_SYS_PTRACE', 'CAP_SETUID', 'CAP_SETGID'] },
            },
          ],
        },
      ],
      { uuid: forRunc.uuid },
    );
    text = '';
    await runStoredPod({ stateDir, store, pod: ptrace, net: 'none', stdout: out, early: forRunc });
    expect(text).toBe(`${ptrace.uuid}\n${image.id}\npid1=/catatonit -P \n`);
    expect(existsSync(`/proc/${replaced?.pid}`)).toBe(false);

    // settings other than the early start's: it is ended, and the run starts its own sandbox
    const other = await startPodEarly({ stateDir, net: 'host' });
    const unused = await other.sandbox;
    const plain = reifyPod([{ image, exec: ['/bin/sh', '-c', 'exit 0'] }], { uuid: other.uuid });
    await runStoredPod({ stateDir, store, pod: plain, net: 'none', early: other });
    expect(existsSync(`/proc/${unused?.pid}`)).toBe(false);
    expect((await findPod(stateDir, plain.uuid)).state).toBe('exited');
    expect(runcIds(stateDir)).toEqual([]);
    expect(await mountsBelow(join(stateDir, 'pods'))).toEqual([]);

    // the runner killed before the run: gc finds the provisional record and ends the sandbox
    if (!existsSync(new URL('../dist/index.js', import.meta.url))) return; // the built package is needed
    const script = join(dir, 'early-runner.mjs');
    await writeFile(
      script,
      `import { startPodEarly } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
const early = await startPodEarly({ stateDir: ${JSON.stringify(stateDir)}, net: 'none' });
const s = await early.sandbox;
process.stdout.write(\`\${early.uuid} \${s.pid}\\n\`);
setInterval(() => {}, 1000);
`,
    );
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [uuid, pid] = await new Promise<string[]>((resolve, reject) => {
      child.stdout.on('data', (d) => resolve(String(d).trim().split(' ')));
      child.once('exit', (code) => reject(new Error(`runner exited early (${code})`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    const report = await gcPods(stateDir, { gracePeriodMs: 0 });
    expect(report.cleaned).toContain(uuid);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(existsSync(join(stateDir, 'pods', uuid as string))).toBe(false);
  });

  it("ACE-015 socket activation: the listening sockets from fd 3, LISTEN_FDS, LISTEN_FDNAMES and the app's own LISTEN_PID", {
    tags: ['root'],
  }, async () => {
    const stateDir = join(dir, 'state');
    // the app checks what systemd's sd_listen_fds checks, then that fd 3 and 4 are sockets listening on its ports
    // (0x1F9B = 8091, 0x1F9C = 8092, state 0A = LISTEN; udp 0x1F9F = 8095, bound) in the pod's own network namespace
    const check = [
      'echo "fds=$LISTEN_FDS names=$LISTEN_FDNAMES"',
      '[ "$LISTEN_PID" = "$$" ] && echo "pid=mine"',
      'for fd in 3 4 5; do readlink /proc/self/fd/$fd | sed "s/:.*//"; done',
      'grep -c -E ":1F9[BC] 00000000:0000 0A" /proc/net/tcp',
      'grep -c -E ":1F9F 00000000:0000 07" /proc/net/udp',
    ].join('; ');
    for (const net of ['none', 'default', 'host'] as const) {
      const activated = imageWithApp({
        ports: [
          { name: 'web', protocol: 'tcp', port: 8091, count: 2, socketActivated: true },
          { name: 'dns', protocol: 'udp', port: 8095, socketActivated: true },
        ],
        // a handler gets no sockets and no LISTEN_ variables
        eventHandlers: [{ name: 'pre-start', exec: ['/bin/sh', '-c', `echo "pre=\${LISTEN_FDS:-none}"`] }],
      });
      const pod = reifyPod([{ image: activated, exec: ['/bin/sh', '-c', check] }]);
      const out = new PassThrough();
      let text = '';
      out.on('data', (d) => {
        text += d;
      });
      const result = await runStoredPod({ stateDir, store, pod, net, stdout: out });
      const err = await readFile(join(stateDir, 'pods', pod.uuid, 'logs', 'probe.stderr'), 'utf8').catch(
        () => '',
      );
      expect(result.apps[0]?.exitCode, `${text}${err}`).toBe(0);
      // (with --net=host the host's own sockets on those ports would count too: none are expected here)
      expect(text).toBe('pre=none\nfds=3 names=web:web:dns\npid=mine\nsocket\nsocket\nsocket\n2\n1\n');
      expect(natRules(pod.uuid)).toEqual([]);
    }
  });

  it('ACE-015 a socket-activated port already in use is a clear error, and nothing is left', {
    tags: ['root'],
  }, async () => {
    const stateDir = join(dir, 'state');
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(8093, '0.0.0.0', resolve));
    try {
      const activated = imageWithApp({
        ports: [{ name: 'web', protocol: 'tcp', port: 8093, socketActivated: true }],
      });
      const pod = reifyPod([{ image: activated, exec: ['/bin/true'] }]);
      const error = await runStoredPod({
        stateDir,
        store,
        pod,
        net: 'host',
        stdout: new PassThrough(),
      }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_RUN_SOCKET_ACTIVATION', requirement: 'ACE-015' });
      expect((error as Error).message).toMatch(/app "probe".*EADDRINUSE/);
      expect(runcIds(stateDir)).toEqual([]);
      expect(await mountsBelow(join(stateDir, 'pods', pod.uuid))).toEqual([]);
    } finally {
      await new Promise<void>((resolve) => busy.close(() => resolve()));
    }
  });

  it("ISO-018 ISO-001 ISO-003 the smallest network-bandwidth limit shapes the pod's veth and its ifb both ways; the metadata service still answers; nothing is left", {
    tags: ['root'],
  }, async () => {
    const stateDir = join(dir, 'state');
    const pod = reifyPod(
      [
        {
          image,
          exec: ['/bin/sh', '-c', `${probe}; echo; echo ready; exec sleep 60`],
          isolators: [bandwidth('300k')],
        },
      ],
      { isolators: [bandwidth('1M')] },
    );
    const stop = new AbortController();
    const stdout = new PassThrough();
    let out = '';
    let inspection:
      | Promise<{
          bandwidth: unknown;
          veth: string;
          onVeth: ReturnType<typeof qdiscs>;
          onIfb: ReturnType<typeof qdiscs>;
        }>
      | undefined;
    stdout.on('data', (d) => {
      out += d;
      if (!out.includes('ready\n') || inspection) return;
      // the app is up (its network too): look at the host's side, then end the pod
      inspection = findPod(stateDir, pod.uuid)
        .then((record) => {
          const veth = hostVethOf(record.address as string);
          return { bandwidth: record.bandwidth, veth, onVeth: qdiscs(veth), onIfb: qdiscs(ifbOf(pod.uuid)) };
        })
        .finally(() => stop.abort());
    });
    const result = await runStoredPod({ stateDir, store, pod, net: 'default', stdout, signal: stop.signal });
    const err = await readFile(join(stateDir, 'pods', pod.uuid, 'logs', 'probe.stderr'), 'utf8');
    expect(inspection, `${out}${err}`).toBeDefined();
    const seen = await inspection;
    // the app reached the metadata service (over the pod's loopback, which nothing shapes)
    expect(out).toBe(`${pod.uuid}\n${image.id}\nready\n`);
    // 300k, the app's, is below the pod's 1M: the interface carries 300000 bytes/s each way, 30000 at once
    const shaping = { rateBytesPerSecond: 300_000, burstBytes: 30_000 };
    expect(seen?.bandwidth).toEqual(shaping);
    const tbf = expect.objectContaining({
      kind: 'tbf',
      options: expect.objectContaining({ rate: 300_000, burst: 30_000 }),
    });
    expect(seen?.onVeth).toEqual(expect.arrayContaining([tbf, expect.objectContaining({ kind: 'ingress' })]));
    expect(seen?.onIfb).toEqual([tbf]);
    expect(result.isolators.map((i) => [i.app, i.name, i.status])).toEqual([
      [undefined, 'resource/network-bandwidth', 'changed'],
      ['probe', 'resource/network-bandwidth', 'enforced'],
    ]);
    expect(result.isolators[0]?.detail).toMatch(
      /lowered from 1000000 to 300000 bytes\/s by app "probe"'s limit/,
    );
    expect(result.isolators[1]?.detail).toMatch(/loopback.*not shaped/);
    // the pod ended: its veth, its ifb (and so their qdiscs), its NAT rules are gone
    expect(existsSync(`/sys/class/net/${seen?.veth}`)).toBe(false);
    expect(ifbs()).not.toContain(ifbOf(pod.uuid));
    expect(natRules(pod.uuid)).toEqual([]);
    expect(runcIds(stateDir)).toEqual([]);
  });

  it('ISO-018 measured: 600 kB each way through a 1 MB/s limit takes about half a second, not milliseconds', {
    tags: ['root', 'slow'],
  }, async () => {
    const stateDir = join(dir, 'state');
    const size = 600_000;
    const took: Record<string, number> = {};
    // on every host address: the pod reaches it at its gateway, the host side of its veth (172.16.28.1)
    let downStart = 0;
    const server = createHttpServer((req, res) => {
      const start = performance.now();
      if (req.url === '/down') {
        downStart = start;
        res.end(Buffer.alloc(size));
      } else {
        // the download ended when the app asks for the upload (what the server wrote sat in its socket buffer)
        took.down = start - downStart;
        req.resume();
        req.once('end', () => {
          took.up = performance.now() - start;
          res.end('ok');
        });
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const url = `http://172.16.28.1:${port}`;
      const pod = reifyPod([
        {
          image,
          exec: [
            '/bin/sh',
            '-c',
            // (busybox wget posts a file as a string: no NUL bytes in it)
            `head -c ${size} /dev/zero | tr '\\0' a > /tmp/up && wget -q -O /dev/null ${url}/down && wget -q -O /dev/null --post-file /tmp/up ${url}/up`,
          ],
          isolators: [bandwidth('1M')],
        },
      ]);
      const result = await runStoredPod({ stateDir, store, pod, net: 'default' });
      const err = await readFile(join(stateDir, 'pods', pod.uuid, 'logs', 'probe.stderr'), 'utf8');
      expect(result.apps[0]?.exitCode, err).toBe(0);
      // the first 100 kB (the bucket) pass at once, the other 500 kB at 1 MB/s: about 0.5 s each way
      for (const way of ['down', 'up'] as const) {
        expect(took[way], way).toBeGreaterThan(400);
        expect(took[way], way).toBeLessThan(2_500);
      }
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('a failing app: its exit status is recorded and returned', { tags: ['root'] }, async () => {
    const stateDir = join(dir, 'state');
    const pod = reifyPod([{ image, exec: ['/bin/sh', '-c', 'exit 3'] }]);
    const result = await runStoredPod({ stateDir, store, pod, net: 'none' });
    expect(result.apps[0]?.exitCode).toBe(3);
    expect((await findPod(stateDir, pod.uuid.slice(0, 8))).apps[0]?.exitCode).toBe(3);
  });

  for (const limit of [undefined, '500k']) {
    it(`kill -9 of the runner, then gc: the host is as clean as before${limit ? ' (ISO-018: a shaped pod leaves no ifb device)' : ''}`, {
      tags: ['root'],
    }, async () => {
      const stateDir = join(dir, limit ? 'state-kill-shaped' : 'state-kill');
      await mkdir(stateDir, { recursive: true });
      const before = veths();
      const script = join(dir, limit ? 'runner-shaped.mjs' : 'runner.mjs');
      const isolators = limit ? [bandwidth(limit)] : [];
      // a separate process runs a long pod through the built package, as `appc run` would
      await writeFile(
        script,
        `import { openStore } from ${JSON.stringify(new URL('../../store/dist/index.js', import.meta.url).href)};
import { runStoredPod, reifyPod } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
const store = await openStore(${JSON.stringify(join(dir, 'state', 'images'))});
const image = { id: ${JSON.stringify(image.id)}, manifest: store.manifest(${JSON.stringify(image.id)}) };
const pod = reifyPod([{ image, exec: ['/bin/sh', '-c', 'echo started; sleep 600'], isolators: ${JSON.stringify(isolators)} }]);
await runStoredPod({ stateDir: ${JSON.stringify(stateDir)}, store, pod, net: 'default', stdout: process.stdout });
`,
      );
      if (!existsSync(new URL('../dist/index.js', import.meta.url))) return; // the built package is needed
      const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d) => String(d).includes('started') && resolve());
        child.once('exit', (code) => reject(new Error(`runner exited early (${code})`)));
      });
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const [pod] = await listPods(stateDir);
      expect(pod?.state).toBe('aborted');
      if (limit) {
        // the record keeps the shaping, so gc removes it with the network; the ifb device is still there
        expect(pod?.bandwidth).toEqual({ rateBytesPerSecond: 500_000, burstBytes: 50_000 });
        expect(ifbs()).toContain(ifbOf(pod?.uuid as string));
      }
      expect(runcIds(stateDir).length).toBeGreaterThan(0);
      const report = await gcPods(stateDir, { gracePeriodMs: 0 });
      expect(report.cleaned).toEqual([pod?.uuid]);
      expect(report.removed).toEqual([pod?.uuid]);
      expect(runcIds(stateDir)).toEqual([]);
      expect(await mountsBelow(stateDir)).toEqual([]);
      expect(veths()).toBe(before);
      expect(natRules(pod?.uuid as string)).toEqual([]);
      expect(ifbs()).not.toContain(ifbOf(pod?.uuid as string));
      expect(await listPods(stateDir)).toEqual([]);
    });
  }
});
