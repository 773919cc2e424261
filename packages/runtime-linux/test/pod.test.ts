import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { hasCode } from '@appc/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  destroyPod,
  planNetworkBandwidth,
  preparePod,
  Runc,
  reifyPod,
  runPod,
  runPreparedPod,
} from '../src/index.ts';
import { isRunning } from '../src/runc.ts';
import { readSandboxProcess } from '../src/sandbox.ts';
import { imageIdOf, imageManifest, makeBusyboxRootfs, tempDir } from './support.ts';

// Capability numbers from linux/capability.h, to decode CapBnd independently of the code under test.
const CAP_BITS: Record<string, number> = {
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_FOWNER: 3,
  CAP_FSETID: 4,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_RAW: 13,
  CAP_SYS_CHROOT: 18,
  CAP_MKNOD: 27,
  CAP_AUDIT_WRITE: 29,
  CAP_SETFCAP: 31,
};

function capsOf(hex: string): string[] {
  const mask = BigInt(`0x${hex}`);
  return Object.entries(CAP_BITS)
    .filter(([, bit]) => (mask >> BigInt(bit)) & 1n)
    .map(([name]) => name)
    .sort();
}

function field(text: string, name: string): string | undefined {
  return new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim();
}

async function leftoverCgroups(uuid: string): Promise<string[]> {
  const out: string[] = [];
  for (const h of await readdir('/sys/fs/cgroup').catch(() => [] as string[])) {
    const p = join('/sys/fs/cgroup', h, `appc-${uuid}`);
    if (existsSync(p)) out.push(p);
  }
  if (existsSync(`/sys/fs/cgroup/appc-${uuid}`)) out.push(`/sys/fs/cgroup/appc-${uuid}`);
  return out;
}

async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(dir));
}

const isRoot = process.getuid?.() === 0 && existsSync('/usr/sbin/runc') && existsSync('/usr/bin/busybox');

describe.skipIf(!isRoot)('pods on runc (root)', () => {
  let base: string;
  let runcRoot: string;
  beforeAll(async () => {
    base = await tempDir();
    runcRoot = join(base, 'runc');
  });
  afterAll(async () => {
    // A failed test must not leave containers behind: delete whatever is still under this test's runc root.
    if (existsSync(runcRoot)) {
      const runc = new Runc({ root: runcRoot });
      for (const c of await runc.list()) {
        const uuid = c.id.replace(/^appc-/, '').slice(0, 36);
        await destroyPod({ uuid, dir: join(base, 'pods', uuid), runcRoot });
      }
    }
    await rm(base, { recursive: true, force: true });
  });

  async function assertClean(uuid: string, podDir: string): Promise<void> {
    const runc = new Runc({ root: runcRoot });
    const left = existsSync(runcRoot) ? await runc.list() : [];
    expect(left.map((c) => c.id)).toEqual([]);
    expect(await leftoverCgroups(uuid)).toEqual([]);
    expect(await mountsUnder(podDir)).toEqual([]);
    expect(existsSync(podDir)).toBe(false);
  }

  it('ACE-003 ACE-010 ISO-010 ISO-012 ISO-015 ISO-004 one-app pod: catatonit is PID 1, isolators seen from inside, exit status kept', {
    tags: ['root'],
  }, async () => {
    const rootfs = await makeBusyboxRootfs(join(base, 'one-rootfs'));
    const script = [
      'echo "pid1=$(cat /proc/1/cmdline | tr "\\0" " ")"',
      'grep -E "^(CapBnd|NoNewPrivs|Seccomp):" /proc/self/status',
      'echo "memlimit=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)"',
      'mkdir /tmp/blocked 2>&1; echo "mkdir-status=$?"',
      'echo "user=$(id -u):$(id -g):$(id -G)"',
      'echo "cwd=$(pwd)"',
      'echo "host=$(hostname)"',
      'env | grep -E "^(PATH|AC_APP_NAME|AC_METADATA_URL|container|GREETING)=" | sort',
      'ls /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty /dev/console >/dev/null && echo devices=ok',
      'grep -E " /dev/(pts|shm) " /proc/self/mountinfo | wc -l | sed "s/^/devfs=/"',
      'exit 7',
    ].join('\n');
    const image = imageManifest('example.com/tools/busybox', {
      exec: ['sh', '-c', script],
      user: 'appuser',
      group: 'appgroup',
      workingDirectory: '/tmp',
      environment: [{ name: 'GREETING', value: 'from-image' }],
      isolators: [
        { name: 'resource/memory', value: { limit: '64Mi' } },
        { name: 'os/linux/capabilities-remove-set', value: { set: ['CAP_NET_RAW', 'CAP_MKNOD'] } },
        { name: 'os/linux/no-new-privileges', value: true },
        { name: 'os/linux/seccomp-remove-set', value: { set: ['mkdir', 'mkdirat'], errno: 'EXDEV' } },
      ],
    });
    const pod = reifyPod([{ image: { id: imageIdOf('one'), manifest: image } }]);
    const podDir = join(base, 'pods', pod.uuid);
    const result = await runPod({
      pod,
      rootfs: { busybox: rootfs },
      dir: podDir,
      runc: { root: runcRoot },
      metadataUrl: 'http://127.0.0.1:18112/token',
      stdio: 'capture',
    });
    const out = result.apps[0]?.stdout ?? '';
    expect(result.apps.map((a) => [a.name, a.exitCode])).toEqual([['busybox', 7]]);
    expect(out).toMatch(/^pid1=\/catatonit -P/m);
    expect(capsOf(field(out, 'CapBnd') ?? '0')).toEqual(
      Object.keys(CAP_BITS)
        .filter((c) => c !== 'CAP_NET_RAW' && c !== 'CAP_MKNOD')
        .sort(),
    );
    expect(field(out, 'NoNewPrivs')).toBe('1');
    expect(field(out, 'Seccomp')).toBe('2');
    expect(out).toContain(`memlimit=${64 * 1024 * 1024}`);
    expect(out).toMatch(/Invalid cross-device link/);
    expect(out).toContain('mkdir-status=1');
    expect(out).toContain('user=1000:1000:1000 10');
    expect(out).toContain('cwd=/tmp');
    expect(out).toContain(`host=appc-${pod.uuid}`);
    expect(out).toContain('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    expect(out).toContain('AC_APP_NAME=busybox');
    expect(out).toContain('AC_METADATA_URL=http://127.0.0.1:18112/token');
    expect(out).toContain('container=appc-runtime-linux');
    expect(out).toContain('GREETING=from-image');
    expect(out).toContain('devices=ok');
    expect(out).toContain('devfs=2');
    const statuses = Object.fromEntries(result.isolators.map((i) => [i.name, i.status]));
    expect(statuses).toEqual({
      'resource/memory': 'enforced',
      'os/linux/capabilities-remove-set': 'enforced',
      'os/linux/no-new-privileges': 'enforced',
      'os/linux/seccomp-remove-set': 'enforced',
    });
    await assertClean(pod.uuid, podDir);
  });

  it('ACE-003 ACE-004 ACE-007 ISO-001 two-app pod: shared pid namespace and empty volume, each exit status, pod memory bound', {
    tags: ['root'],
  }, async () => {
    const rootA = await makeBusyboxRootfs(join(base, 'two-a'));
    const rootB = await makeBusyboxRootfs(join(base, 'two-b'));
    const writer = imageManifest('example.com/writer', {
      exec: [
        'sh',
        '-c',
        'echo hello > /data/from-writer; i=0; while [ ! -e /data/from-reader ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; test -e /data/from-reader',
      ],
      mountPoints: [{ name: 'data', path: '/data' }],
    });
    const reader = imageManifest('example.com/reader', {
      exec: [
        'sh',
        '-c',
        [
          'i=0; while [ ! -e /data/from-writer ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done',
          'echo "got=$(cat /data/from-writer)"',
          'echo "pid1=$(cat /proc/1/cmdline | tr "\\0" " ")"',
          'ps -o comm,args | grep -c "from-writer" | sed "s/^/writer-visible=/"',
          'echo "memlimit=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)"',
          'touch /data/from-reader',
          'exit 3',
        ].join('\n'),
      ],
      mountPoints: [{ name: 'data', path: '/data' }],
      isolators: [{ name: 'resource/memory', value: { limit: '256Mi' } }],
    });
    const pod = reifyPod(
      [
        { image: { id: imageIdOf('writer'), manifest: writer } },
        { image: { id: imageIdOf('reader'), manifest: reader } },
      ],
      { isolators: [{ name: 'resource/memory', value: { limit: '128Mi' } }] },
    );
    expect(pod.manifest.volumes).toEqual([{ name: 'data', kind: 'empty', mode: '0755', uid: 0, gid: 0 }]);
    const podDir = join(base, 'pods', pod.uuid);
    const result = await runPod({
      pod,
      rootfs: new Map([
        ['writer', rootA],
        ['reader', rootB],
      ]),
      dir: podDir,
      runc: { root: runcRoot },
      stdio: 'capture',
    });
    expect(result.apps.map((a) => [a.name, a.exitCode])).toEqual([
      ['writer', 0],
      ['reader', 3],
    ]);
    const out = result.apps[1]?.stdout ?? '';
    expect(out).toContain('got=hello');
    expect(out).toMatch(/^pid1=\/catatonit -P/m);
    expect(out).toMatch(/^writer-visible=[1-9]/m);
    expect(out).toContain(`memlimit=${128 * 1024 * 1024}`);
    const mem = result.isolators.filter((i) => i.name === 'resource/memory');
    expect(mem.map((i) => [i.app ?? 'pod', i.status])).toEqual([
      ['pod', 'enforced'],
      ['reader', 'changed'],
    ]);
    await assertClean(pod.uuid, podDir);
  });

  it('ACE-014 a stopped pod: SIGTERM reaches the apps and everything is removed', {
    tags: ['root'],
  }, async () => {
    const rootfs = await makeBusyboxRootfs(join(base, 'stop-rootfs'));
    const image = imageManifest('example.com/sleeper', { exec: ['sleep', '30'] });
    const pod = reifyPod([{ image: { id: imageIdOf('sleeper'), manifest: image } }]);
    const podDir = join(base, 'pods', pod.uuid);
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 1000);
    const result = await runPod({
      pod,
      rootfs: { sleeper: rootfs },
      dir: podDir,
      runc: { root: runcRoot },
      stdio: 'capture',
      signal: controller.signal,
      stopTimeoutMs: 3000,
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    // busybox sleep dies of SIGTERM: runc reports 128 + 15.
    expect(result.apps[0]?.exitCode).toBe(143);
    await assertClean(pod.uuid, podDir);

    // A signal aborted before the run: no app starts, nothing is left.
    const pod2 = reifyPod([{ image: { id: imageIdOf('sleeper'), manifest: image } }]);
    const podDir2 = join(base, 'pods', pod2.uuid);
    const r2 = await runPod({
      pod: pod2,
      rootfs: { sleeper: rootfs },
      dir: podDir2,
      runc: { root: runcRoot },
      stdio: 'capture',
      signal: AbortSignal.abort(),
    });
    expect(r2.apps[0]?.exitCode).toBe(143);
    await assertClean(pod2.uuid, podDir2);
  });

  it('ACE-014 VAL-002 pre-start runs before the main process and post-stop after it, in one writable root', {
    tags: ['root'],
  }, async () => {
    const rootfs = await makeBusyboxRootfs(join(base, 'handlers-rootfs'));
    const image = imageManifest('example.com/handlers', {
      exec: [
        'sh',
        '-c',
        'test -e /prestart && test ! -e /main && test ! -e /poststop && touch /main && echo main-ok',
      ],
      eventHandlers: [
        {
          name: 'pre-start',
          exec: ['sh', '-c', 'test ! -e /prestart && test ! -e /main && touch /prestart && echo pre-ok'],
        },
        {
          name: 'post-stop',
          exec: ['sh', '-c', 'test -e /prestart && test -e /main && touch /poststop && echo post-ok'],
        },
      ],
    });
    const pod = reifyPod([{ image: { id: imageIdOf('handlers'), manifest: image } }]);
    const podDir = join(base, 'pods', pod.uuid);
    const result = await runPod({
      pod,
      rootfs: { handlers: rootfs },
      dir: podDir,
      runc: { root: runcRoot },
      stdio: 'capture',
    });
    expect(result.apps[0]).toMatchObject({ exitCode: 0, preStartExitCode: 0, postStopExitCode: 0 });
    expect(result.apps[0]?.stdout).toBe('pre-ok\nmain-ok\npost-ok\n');
    for (const f of ['prestart', 'main', 'poststop']) expect(existsSync(join(rootfs, f))).toBe(true);
    await assertClean(pod.uuid, podDir);

    // A failing pre-start fails the app: the main process and post-stop never run.
    const failing = imageManifest('example.com/failing', {
      exec: ['sh', '-c', 'echo main-ran'],
      eventHandlers: [
        { name: 'pre-start', exec: ['sh', '-c', 'exit 4'] },
        { name: 'post-stop', exec: ['sh', '-c', 'echo post-ran'] },
      ],
    });
    const pod2 = reifyPod([{ image: { id: imageIdOf('failing'), manifest: failing } }]);
    const podDir2 = join(base, 'pods', pod2.uuid);
    const r2 = await runPod({
      pod: pod2,
      rootfs: { failing: rootfs },
      dir: podDir2,
      runc: { root: runcRoot },
      stdio: 'capture',
    });
    expect(r2.apps[0]).toMatchObject({ exitCode: 4, preStartExitCode: 4, stdout: '' });
    expect(r2.apps[0]?.postStopExitCode).toBeUndefined();
    await assertClean(pod2.uuid, podDir2);
  });

  it('ACE-007 destroyPod while apps still run (a runner that died): containers, cgroups and volumes go', {
    tags: ['root'],
  }, async () => {
    const rootfs = await makeBusyboxRootfs(join(base, 'gc-rootfs'));
    const image = imageManifest('example.com/busy', {
      exec: ['sh', '-c', 'sleep 60 & sleep 60'],
      mountPoints: [{ name: 'scratch', path: '/scratch' }],
    });
    const pod = reifyPod([
      { image: { id: imageIdOf('busy'), manifest: image } },
      { image: { id: imageIdOf('busy'), manifest: image }, name: 'busy-2' },
    ]);
    const podDir = join(base, 'pods', pod.uuid);
    const prepared = await preparePod({
      pod,
      rootfs: { busy: rootfs, 'busy-2': rootfs },
      dir: podDir,
      runc: { root: runcRoot },
    });
    const run = runPreparedPod(prepared, { stdio: 'ignore' });
    const runc = new Runc({ root: runcRoot });
    for (let i = 0; i < 100 && (await runc.list()).filter((c) => c.status === 'running').length < 2; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    // A pod without pod isolators has no sandbox container: its catatonit runs without runc, recorded in the pod's
    // directory, and is PID 1 of the namespaces both apps joined.
    expect((await runc.list()).map((c) => c.id).sort()).toEqual(
      [`appc-${pod.uuid}-busy`, `appc-${pod.uuid}-busy-2`].sort(),
    );
    const sandbox = await readSandboxProcess(podDir);
    expect(sandbox).toBeDefined();
    expect(await readFile(`/proc/${sandbox?.pid}/cmdline`, 'utf8')).toBe('/catatonit\0-P\0');
    expect(existsSync(join(podDir, 'volumes', 'pod', 'scratch'))).toBe(true);
    // Only the UUID, the directory and the runc root are needed, as a gc after a killed CLI would have them.
    await destroyPod({ uuid: pod.uuid, dir: podDir, runcRoot });
    const result = await run;
    expect(result.apps.map((a) => a.exitCode)).toEqual([137, 137]);
    await assertClean(pod.uuid, podDir);
    expect(sandbox && (await isRunning(sandbox))).toBe(false);
    // A second destroy finds nothing left and does not fail.
    await destroyPod({ uuid: pod.uuid, dir: podDir, runcRoot });
  });

  it('ACE-012 a missing program fails before any container starts, leaving nothing', {
    tags: ['root'],
  }, async () => {
    const rootfs = await makeBusyboxRootfs(join(base, 'bad-rootfs'));
    const image = imageManifest('example.com/bad', { exec: ['no-such-program'] });
    const pod = reifyPod([{ image: { id: imageIdOf('bad'), manifest: image } }]);
    const podDir = join(base, 'pods', pod.uuid);
    const err = await runPod({ pod, rootfs: { bad: rootfs }, dir: podDir, runc: { root: runcRoot } }).catch(
      (e) => e,
    );
    expect(hasCode(err, 'ERR_RUN_EXEC_NOT_FOUND')).toBe(true);
    await assertClean(pod.uuid, podDir);
  });

  it('ACE-008 --net=host shares the host network namespace; none gives loopback only', {
    tags: ['root'],
  }, async () => {
    const rootfs = await makeBusyboxRootfs(join(base, 'net-rootfs'));
    const image = imageManifest('example.com/net', {
      exec: ['sh', '-c', 'ls /sys/class/net | sort | tr "\\n" " "'],
    });
    const results: string[] = [];
    for (const net of ['host', 'none'] as const) {
      const pod = reifyPod([{ image: { id: imageIdOf('net'), manifest: image } }]);
      const podDir = join(base, 'pods', pod.uuid);
      const prepared = await preparePod({
        pod,
        rootfs: { net: rootfs },
        dir: podDir,
        runc: { root: runcRoot },
        net,
      });
      try {
        const r = await runPreparedPod(prepared, { stdio: 'capture' });
        expect(r.apps[0]?.exitCode).toBe(0);
        results.push(r.apps[0]?.stdout ?? '');
      } finally {
        await destroyPod(prepared);
      }
      await assertClean(pod.uuid, podDir);
    }
    const hostIfaces = (await readdir('/sys/class/net')).sort().join(' ');
    expect(results[0]?.trim()).toBe(hostIfaces);
    expect(results[1]?.trim()).toBe('lo');
  });
});

describe.skipIf(!existsSync('/usr/bin/catatonit') || !existsSync('/usr/bin/busybox'))('preparePod', () => {
  it('ISO-003 strict mode refuses a pod whose isolators are not all enforced, and leaves no directory', async () => {
    const base = await tempDir();
    try {
      const rootfs = await makeBusyboxRootfs(join(base, 'rootfs'));
      const image = imageManifest('example.com/strict', {
        isolators: [{ name: 'resource/network-bandwidth', value: { default: true, limit: '1M' } }],
      });
      const pod = reifyPod([{ image: { id: imageIdOf('strict'), manifest: image } }]);
      const podDir = join(base, 'pod');
      // with the host's network, network bandwidth cannot be shaped (ISO-018)
      const err = await preparePod({
        pod,
        rootfs: { strict: rootfs },
        dir: podDir,
        runc: { root: join(base, 'runc') },
        net: 'host',
        strict: true,
      }).catch((e) => e);
      expect(hasCode(err, 'ERR_RUN_STRICT')).toBe(true);
      expect(err.message).toMatch(/app "strict" resource\/network-bandwidth ignored/);
      expect(existsSync(podDir)).toBe(false);
      // Without strict mode the same pod is prepared, the isolator reported as ignored (ACE-017).
      const onHost = await preparePod({
        pod,
        rootfs: { strict: rootfs },
        dir: podDir,
        runc: { root: join(base, 'runc') },
        net: 'host',
      });
      expect(onHost.isolators).toEqual([
        expect.objectContaining({ app: 'strict', name: 'resource/network-bandwidth', status: 'ignored' }),
      ]);
      await destroyPod(onHost);
      // With loopback only (`none`) nothing leaves the pod: the limit holds, and strict mode runs it.
      const prepared = await preparePod({
        pod,
        rootfs: { strict: rootfs },
        dir: podDir,
        runc: { root: join(base, 'runc') },
        strict: true,
      });
      expect(prepared.isolators).toEqual([
        expect.objectContaining({ app: 'strict', name: 'resource/network-bandwidth', status: 'enforced' }),
      ]);
      expect(existsSync(join(podDir, 'sandbox', 'config.json'))).toBe(true);
      expect(existsSync(join(podDir, 'pod-manifest.json'))).toBe(true);
      expect(prepared.apps[0]?.config.linux.cgroupsPath).toBe(`/appc-${pod.uuid}/strict`);
      await destroyPod(prepared);
      expect(existsSync(podDir)).toBe(false);
      // For the default network (runStoredPod gives it once the sandbox runs) the caller's plan is reported: the
      // pod's only app gets its limit on the pod's interface, enforced as written.
      const shaped = await preparePod({
        pod,
        rootfs: { strict: rootfs },
        dir: podDir,
        runc: { root: join(base, 'runc') },
        networkBandwidth: planNetworkBandwidth(pod.manifest, 'default'),
        strict: true,
      });
      expect(shaped.isolators).toEqual([expect.objectContaining({ status: 'enforced' })]);
      expect(shaped.isolators[0]?.detail).toMatch(/interface shaped to 1000000 bytes\/s each way/);
      await destroyPod(shaped);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });

  it('ACE-002 an app without a rootfs, or a missing catatonit, is refused before anything is made', async () => {
    const base = await tempDir();
    try {
      const pod = reifyPod([{ image: { id: imageIdOf('x'), manifest: imageManifest('example.com/x') } }]);
      const podDir = join(base, 'pod');
      const noRootfs = await preparePod({
        pod,
        rootfs: {},
        dir: podDir,
        runc: { root: join(base, 'runc') },
      }).catch((e) => e);
      expect(hasCode(noRootfs, 'ERR_RUN_ROOTFS')).toBe(true);
      expect(existsSync(podDir)).toBe(false);
      const noInit = await preparePod({
        pod,
        rootfs: { x: base },
        dir: podDir,
        runc: { root: join(base, 'runc') },
        catatonit: join(base, 'no-catatonit'),
      }).catch((e) => e);
      expect(hasCode(noInit, 'ERR_RUN_SANDBOX')).toBe(true);
      expect(existsSync(podDir)).toBe(false);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});
