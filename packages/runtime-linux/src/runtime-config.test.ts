import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hasCode } from '@appc/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageIdOf, imageManifest, makeBusyboxRootfs, tempDir } from '../test/support.ts';
import type { HostFeatures } from './host-features.ts';
import { type AppRequest, type PodOptions, reifyPod } from './reify.ts';
import { createAppRuntimeConfig, createSandboxRuntimeConfig, LINUX_DEVICES } from './runtime-config.ts';

const host: HostFeatures = {
  arch: 'x86_64',
  blockDevices: [],
  selinux: false,
  apparmorProfiles: undefined,
  cgroupV2: false,
};

describe('createAppRuntimeConfig', () => {
  let base: string;
  let rootfs: string;
  let rootfsWithHosts: string;
  beforeAll(async () => {
    base = await tempDir();
    rootfs = await makeBusyboxRootfs(join(base, 'rootfs'));
    rootfsWithHosts = await makeBusyboxRootfs(join(base, 'rootfs-hosts'), {
      files: { 'etc/hosts': '10.0.0.1 mine\n' },
    });
    await mkdir(join(rootfs, 'srv'));
    await mkdir(join(rootfsWithHosts, 'srv'));
  });
  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  const image = imageManifest('example.com/web', {
    exec: ['sh', '-c', 'echo $GREETING'],
    user: 'appuser',
    group: 'appgroup',
    workingDirectory: '/srv',
    environment: [{ name: 'GREETING', value: 'hi' }],
    mountPoints: [
      { name: 'conf', path: '/etc/web', readOnly: true },
      { name: 'cache', path: '/var/cache/web' },
      { name: 'logs', path: '/var/log/web' },
    ],
  });

  function pod(over: Partial<AppRequest> = {}, options: PodOptions = {}) {
    return reifyPod([{ image: { id: imageIdOf('web'), manifest: image }, ...over }], {
      volumes: [
        { name: 'conf', kind: 'host', source: '/etc' },
        { name: 'logs', kind: 'host', source: '/var/log', recursive: false, readOnly: true },
      ],
      ...options,
    });
  }

  async function build(
    p = pod(),
    extra: Partial<Parameters<typeof createAppRuntimeConfig>[0]> = {},
    root = rootfs,
  ) {
    return createAppRuntimeConfig({
      uuid: p.uuid,
      manifest: p.manifest,
      appName: 'web',
      rootfs: root,
      volumes: { emptyVolumesDir: '/pods/x/volumes' },
      host,
      metadataUrl: 'http://192.0.2.1:18112/tok',
      sandboxPid: 4321,
      hostsFile: '/pods/x/hosts',
      cgroupsPath: `/appc-${p.uuid}/web`,
      ...extra,
    });
  }

  it('ACE-010 ACE-011 ACE-012 ACE-013 process: resolved exec, environment, working directory, identity', async () => {
    const { config, identity } = await build();
    expect(config.ociVersion).toBe('1.0.2');
    expect(config.process.args).toEqual(['/bin/sh', '-c', 'echo $GREETING']);
    expect(config.process.env).toEqual([
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'container=appc-runtime-linux',
      'GREETING=hi',
      'AC_APP_NAME=web',
      'AC_METADATA_URL=http://192.0.2.1:18112/tok',
    ]);
    expect(config.process.cwd).toBe('/srv');
    expect(config.process.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [10] });
    expect(identity.userName).toBe('appuser');
    expect(config.process.terminal).toBe(false);
    expect(config.process.capabilities?.bounding).toHaveLength(14);
    expect(config.process.noNewPrivileges).toBe(false);
  });

  it('ACE-003 joins the sandbox pid, ipc, uts and network namespaces by path; its own mount namespace', async () => {
    const { config } = await build();
    expect(config.linux.namespaces).toEqual([
      { type: 'pid', path: '/proc/4321/ns/pid' },
      { type: 'ipc', path: '/proc/4321/ns/ipc' },
      { type: 'uts', path: '/proc/4321/ns/uts' },
      { type: 'network', path: '/proc/4321/ns/net' },
      { type: 'mount' },
    ]);
    expect(config.hostname).toBeUndefined();
    const hostNet = await build(pod(), { hostNetwork: true });
    expect(hostNet.config.linux.namespaces.map((n) => n.type)).toEqual(['pid', 'ipc', 'uts', 'mount']);
    const alone = await build(pod(), { sandboxPid: undefined, hostname: 'solo' });
    expect(alone.config.linux.namespaces.every((n) => n.path === undefined)).toBe(true);
    expect(alone.config.hostname).toBe('solo');
  });

  it('OS-001..OS-004 the devices and filesystems of the Linux OS spec', async () => {
    const { config } = await build();
    const byDest = Object.fromEntries(config.mounts.map((m) => [m.destination, m]));
    expect(byDest['/proc']?.type).toBe('proc');
    expect(byDest['/sys']?.type).toBe('sysfs');
    expect(byDest['/dev/pts']?.type).toBe('devpts');
    expect(byDest['/dev/pts']?.options).toContain('newinstance');
    expect(byDest['/dev/shm']?.type).toBe('tmpfs');
    expect(config.linux.devices?.map((d) => [d.path, d.major, d.minor])).toEqual(
      LINUX_DEVICES.map((d) => [...d]),
    );
    expect(LINUX_DEVICES.map((d) => d[0])).toEqual([
      '/dev/null',
      '/dev/zero',
      '/dev/full',
      '/dev/random',
      '/dev/urandom',
      '/dev/tty',
      '/dev/console',
    ]);
    expect(config.linux.resources?.devices?.[0]).toEqual({ allow: false, access: 'rwm' });
    expect(config.linux.cgroupsPath).toMatch(/^\/appc-[0-9a-f-]{36}\/web$/);
  });

  it('ACE-004 ACE-007 volumes: host binds (recursive unless said), empty volumes from the pod dir, read-only rules', async () => {
    const { config } = await build();
    const binds = config.mounts.filter((m) => m.type === 'bind');
    expect(binds).toEqual([
      { destination: '/etc/web', type: 'bind', source: '/etc', options: ['rbind', 'rprivate', 'ro'] },
      {
        destination: '/var/cache/web',
        type: 'bind',
        source: '/pods/x/volumes/pod/cache',
        options: ['rbind', 'rprivate'],
      },
      { destination: '/var/log/web', type: 'bind', source: '/var/log', options: ['bind', 'rprivate', 'ro'] },
      {
        destination: '/etc/hosts',
        type: 'bind',
        source: '/pods/x/hosts',
        options: ['bind', 'rprivate', 'ro'],
      },
    ]);
  });

  it('POD-004 an appVolume of a mount lives under the app', async () => {
    const p = pod();
    const app = p.manifest.apps[0];
    app?.mounts?.push({ volume: 'scratch', path: '/scratch', appVolume: { name: 'scratch', kind: 'empty' } });
    const { config } = await build(p);
    expect(config.mounts.find((m) => m.destination === '/scratch')?.source).toBe(
      '/pods/x/volumes/app/web/scratch',
    );
  });

  it('OS-005 /etc/hosts is provided only when the image has none, unless the pod was given entries', async () => {
    const { config } = await build(pod(), {}, rootfsWithHosts);
    expect(config.mounts.some((m) => m.destination === '/etc/hosts')).toBe(false);
    const given = await build(pod(), { hostsOverImage: true }, rootfsWithHosts);
    expect(given.config.mounts.filter((m) => m.destination === '/etc/hosts')).toEqual([
      {
        destination: '/etc/hosts',
        type: 'bind',
        source: '/pods/x/hosts',
        options: ['bind', 'rprivate', 'ro'],
      },
    ]);
  });

  it('ACE-002 readOnlyRootFS makes the root read-only', async () => {
    const { config } = await build(pod({ readOnlyRootFS: true }));
    expect(config.root).toEqual({ path: rootfs, readonly: true });
  });

  it('ACE-011 a missing working directory fails; one inside a volume is accepted', async () => {
    const err = await build(pod({ workingDirectory: '/nope' })).catch((e) => e);
    expect(hasCode(err, 'ERR_RUN_WORKDIR_MISSING')).toBe(true);
    expect(err).toMatchObject({ app: 'web', pointer: '/apps/0/app/workingDirectory' });
    const { config } = await build(pod({ workingDirectory: '/var/cache/web/sub' }));
    expect(config.process.cwd).toBe('/var/cache/web/sub');
  });

  it('ACE-013 ACE-012 an unknown user or program fails before anything runs', async () => {
    expect(hasCode(await build(pod({ user: 'ghost' })).catch((e) => e), 'ERR_RUN_USER')).toBe(true);
    expect(hasCode(await build(pod({ exec: ['nothere'] })).catch((e) => e), 'ERR_RUN_EXEC_NOT_FOUND')).toBe(
      true,
    );
    expect(
      hasCode(await build(pod(), { rootfs: join(base, 'missing') }).catch((e) => e), 'ERR_RUN_ROOTFS'),
    ).toBe(true);
  });

  it('ACE-017 isolators land in the config and in the report', async () => {
    const { config, isolators } = await build(
      pod({
        isolators: [
          { name: 'os/linux/no-new-privileges', value: true },
          { name: 'resource/memory', value: { limit: '32Mi' } },
          { name: 'os/linux/capabilities-retain-set', value: { set: ['CAP_NET_BIND_SERVICE'] } },
        ],
      }),
    );
    expect(config.process.noNewPrivileges).toBe(true);
    expect(config.linux.resources?.memory?.limit).toBe(33554432);
    expect(config.process.capabilities?.bounding).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(config.process.capabilities?.ambient).toEqual([]);
    expect(isolators.map((i) => i.status)).toEqual(['enforced', 'enforced', 'enforced']);
  });
});

describe('createSandboxRuntimeConfig', () => {
  it('ACE-003 catatonit -P holds new pid, ipc, uts and network namespaces on a read-only root', () => {
    const { config, isolators } = createSandboxRuntimeConfig({
      uuid: '11111111-2222-4333-8444-555555555555',
      host,
      rootfs: '/pods/x/sandbox/rootfs',
      catatonit: '/usr/bin/catatonit',
      cgroupsPath: '/appc-11111111-2222-4333-8444-555555555555',
      isolators: [
        { name: 'resource/memory', value: { limit: '100M' } },
        { name: 'os/unix/sysctl', value: { 'net.ipv4.ping_group_range': '0 0' } },
      ],
    });
    expect(config.process.args).toEqual(['/catatonit', '-P']);
    expect(config.root).toEqual({ path: '/pods/x/sandbox/rootfs', readonly: true });
    expect(config.hostname).toBe('appc-11111111-2222-4333-8444-555555555555');
    expect(config.linux.namespaces).toEqual([
      { type: 'pid' },
      { type: 'ipc' },
      { type: 'uts' },
      { type: 'network' },
      { type: 'mount' },
    ]);
    expect(config.mounts.find((m) => m.destination === '/catatonit')).toEqual({
      destination: '/catatonit',
      type: 'bind',
      source: '/usr/bin/catatonit',
      options: ['bind', 'ro', 'rprivate'],
    });
    expect(config.process.capabilities?.bounding).toEqual([]);
    expect(config.linux.resources?.memory?.limit).toBe(100000000);
    expect(config.linux.sysctl).toEqual({ 'net.ipv4.ping_group_range': '0 0' });
    expect(isolators.map((i) => i.status)).toEqual(['enforced', 'enforced']);
  });

  it('ACE-008 --net=host: no network namespace, and net.* sysctls are refused', () => {
    const base = {
      uuid: '11111111-2222-4333-8444-555555555555',
      host,
      rootfs: '/r',
      catatonit: '/c',
      hostNetwork: true,
    };
    expect(createSandboxRuntimeConfig(base).config.linux.namespaces.map((n) => n.type)).toEqual([
      'pid',
      'ipc',
      'uts',
      'mount',
    ]);
    let err: unknown;
    try {
      createSandboxRuntimeConfig({
        ...base,
        isolators: [{ name: 'os/unix/sysctl', value: { 'net.ipv4.ip_forward': '1' } }],
      });
    } catch (e) {
      err = e;
    }
    expect(hasCode(err, 'ERR_RUN_SYSCTL_FORBIDDEN')).toBe(true);
  });
});

describe('volume checks', () => {
  it('ACE-006 a missing host source, or one through a symlink, is refused; empty volumes get mode, uid, gid', async () => {
    const { checkHostVolume, prepareVolumes } = await import('./volumes.ts');
    const dir = await tempDir();
    try {
      await mkdir(join(dir, 'real'));
      await writeFile(join(dir, 'file'), 'x');
      const { symlink, stat } = await import('node:fs/promises');
      await symlink(join(dir, 'real'), join(dir, 'link'));
      await expect(
        checkHostVolume({ name: 'v', kind: 'host', source: join(dir, 'real') }),
      ).resolves.toBeUndefined();
      await expect(
        checkHostVolume({ name: 'v', kind: 'host', source: join(dir, 'file') }),
      ).resolves.toBeUndefined();
      for (const source of [join(dir, 'missing'), join(dir, 'link'), join(dir, 'link', 'x')]) {
        const err = await checkHostVolume({ name: 'v', kind: 'host', source }).catch((e) => e);
        expect(hasCode(err, 'ERR_RUN_VOLUME_SOURCE')).toBe(true);
        expect(err.message).toMatch(/^volume "v": host source /);
      }
      const manifest = {
        acVersion: '0.8.11',
        acKind: 'PodManifest' as const,
        apps: [],
        volumes: [{ name: 'e', kind: 'empty' as const, mode: '0710', uid: 123, gid: 456 }],
      };
      await prepareVolumes(manifest, { emptyVolumesDir: join(dir, 'vols') });
      const st = await stat(join(dir, 'vols', 'pod', 'e'));
      expect([st.mode & 0o7777, st.uid, st.gid]).toEqual(
        process.getuid?.() === 0 ? [0o710, 123, 456] : [0o710, st.uid, st.gid],
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('prepareMountTargets', () => {
  it('ACE-005 a file target becomes a directory and a non-empty directory is masked, each with a warning', async () => {
    const { prepareMountTargets } = await import('./volumes.ts');
    const { readdir, stat } = await import('node:fs/promises');
    const dir = await tempDir();
    try {
      const rootfs = join(dir, 'rootfs');
      await mkdir(join(rootfs, 'conf'), { recursive: true });
      await writeFile(join(rootfs, 'conf', 'keep'), 'x');
      await writeFile(join(rootfs, 'data'), 'a file where a volume goes');
      await mkdir(join(rootfs, 'empty-dir'));
      await mkdir(join(dir, 'volumes', 'pod', 'data'), { recursive: true });
      await mkdir(join(dir, 'volumes', 'pod', 'conf'), { recursive: true });
      const manifest = {
        acVersion: '0.8.11',
        acKind: 'PodManifest' as const,
        apps: [
          {
            name: 'web',
            image: { id: imageIdOf('web') },
            mounts: [
              { volume: 'data', path: '/data' },
              { volume: 'conf', path: '/conf' },
              { volume: 'conf', path: '/empty-dir' },
              { volume: 'data', path: '/missing/deep' },
            ],
          },
        ],
        volumes: [
          { name: 'data', kind: 'empty' as const },
          { name: 'conf', kind: 'empty' as const },
        ],
      };
      const warnings = await prepareMountTargets(manifest, 'web', rootfs, {
        emptyVolumesDir: join(dir, 'volumes'),
      });
      expect(warnings.map((w) => [w.code, w.pointer, w.requirement])).toEqual([
        ['WARN_RUN_MOUNT_TARGET_REPLACED', '/apps/0/mounts/0/path', 'ACE-005'],
        ['WARN_RUN_MOUNT_TARGET_MASKED', '/apps/0/mounts/1/path', 'ACE-005'],
      ]);
      expect((await stat(join(rootfs, 'data'))).isDirectory()).toBe(true);
      expect(await readdir(join(rootfs, 'conf'))).toEqual(['keep']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
