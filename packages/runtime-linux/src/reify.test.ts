import { hasCode, isUuid, parsePodManifest } from '@appc/schema';
import { describe, expect, it } from 'vitest';
import { imageIdOf, imageManifest } from '../test/support.ts';
import { defaultAppName, reifyPod, reifyPodManifest } from './reify.ts';

const etcdId = imageIdOf('etcd');
const etcd = imageManifest('coreos.com/etcd', {
  exec: ['/etcd', '--data-dir', '/var/lib/etcd'],
  user: 'etcd',
  group: 'etcd',
  environment: [
    { name: 'A', value: 'image' },
    { name: 'B', value: 'image' },
  ],
  isolators: [
    { name: 'resource/memory', value: { limit: '1G' } },
    { name: 'os/linux/no-new-privileges', value: true },
  ],
  mountPoints: [{ name: 'data', path: '/var/lib/etcd' }],
  ports: [{ name: 'client', protocol: 'tcp', port: 2379 }],
});
const toolsId = imageIdOf('tools');
const tools = imageManifest('example.com/tools_box', { exec: ['/bin/sh'] });

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return hasCode(e) ? e.code : String(e);
  }
  return undefined;
}

describe('reifyPod', () => {
  it('TYPES-003 app names default to the sanitised last component of the image name', () => {
    expect(defaultAppName('coreos.com/etcd')).toBe('etcd');
    expect(defaultAppName('example.com/Tools_Box')).toBe('tools-box');
    expect(defaultAppName('example.com/tools_box')).toBe('tools-box');
    expect(defaultAppName('single')).toBe('single');
    const pod = reifyPod([
      { image: { id: etcdId, manifest: etcd } },
      { image: { id: toolsId, manifest: tools } },
    ]);
    expect(pod.manifest.apps.map((a) => a.name)).toEqual(['etcd', 'tools-box']);
  });

  it('POD-011 ACE-001 pins images by ID, fills apps from the image, draws a UUID, and the result validates', () => {
    const pod = reifyPod([{ image: { id: etcdId, manifest: etcd } }]);
    expect(isUuid(pod.uuid)).toBe(true);
    const again = reifyPod([{ image: { id: etcdId, manifest: etcd } }]);
    expect(again.uuid).not.toBe(pod.uuid);
    const app = pod.manifest.apps[0];
    expect(app?.image).toEqual({ id: etcdId, name: 'coreos.com/etcd', labels: etcd.labels });
    expect(app?.app?.exec).toEqual(['/etcd', '--data-dir', '/var/lib/etcd']);
    expect(app?.app?.user).toBe('etcd');
    expect(pod.images.get(etcdId)).toBe(etcd);
    // The output is a valid pod manifest by @appc/schema's rules.
    expect(parsePodManifest(JSON.parse(JSON.stringify(pod.manifest))).apps).toHaveLength(1);
    expect(pod.manifest.acVersion).toBe('0.8.11');
  });

  it('POD-012 per-app overrides replace exec, user, group, working dir; merge environment and isolators', () => {
    const pod = reifyPod([
      {
        image: { id: etcdId, manifest: etcd },
        name: 'store',
        exec: ['/bin/sh', '-c', 'echo hi'],
        user: '0',
        group: '0',
        supplementaryGIDs: [5],
        workingDirectory: '/tmp',
        environment: [
          { name: 'B', value: 'override' },
          { name: 'C', value: 'new' },
        ],
        isolators: [{ name: 'resource/memory', value: { limit: '64Mi' } }],
        annotations: [{ name: 'note', value: 'x' }],
        readOnlyRootFS: true,
      },
    ]);
    const app = pod.manifest.apps[0];
    expect(app?.name).toBe('store');
    expect(app?.app?.exec).toEqual(['/bin/sh', '-c', 'echo hi']);
    expect([app?.app?.user, app?.app?.group, app?.app?.workingDirectory]).toEqual(['0', '0', '/tmp']);
    expect(app?.app?.supplementaryGIDs).toEqual([5]);
    expect(app?.app?.environment).toEqual([
      { name: 'A', value: 'image' },
      { name: 'B', value: 'override' },
      { name: 'C', value: 'new' },
    ]);
    expect(app?.app?.isolators).toEqual([
      { name: 'os/linux/no-new-privileges', value: true },
      { name: 'resource/memory', value: { limit: '64Mi' } },
    ]);
    expect(app?.readOnlyRootFS).toBe(true);
    expect(app?.annotations).toEqual([{ name: 'note', value: 'x' }]);
    // The image manifest itself is untouched.
    expect(etcd.app?.exec).toEqual(['/etcd', '--data-dir', '/var/lib/etcd']);
  });

  it('POD-011 a mountPoint without a volume gets an implicit empty volume, with a warning', () => {
    const pod = reifyPod([{ image: { id: etcdId, manifest: etcd } }]);
    expect(pod.manifest.volumes).toEqual([{ name: 'data', kind: 'empty', mode: '0755', uid: 0, gid: 0 }]);
    expect(pod.manifest.apps[0]?.mounts).toEqual([{ volume: 'data', path: '/var/lib/etcd' }]);
    expect(pod.warnings.map((w) => w.code)).toContain('WARN_RUN_IMPLICIT_VOLUME');
  });

  it('POD-011 ACE-004 a pod volume named like the mountPoint satisfies it; an explicit mount may point elsewhere', () => {
    const host = { name: 'data', kind: 'host' as const, source: '/srv/etcd' };
    const pod = reifyPod([{ image: { id: etcdId, manifest: etcd } }], { volumes: [host] });
    expect(pod.manifest.volumes).toEqual([host]);
    expect(pod.manifest.apps[0]?.mounts).toEqual([{ volume: 'data', path: '/var/lib/etcd' }]);
    const other = reifyPod(
      [{ image: { id: etcdId, manifest: etcd }, mounts: [{ volume: 'disk', path: '/var/lib/etcd' }] }],
      {
        volumes: [{ name: 'disk', kind: 'empty' }],
      },
    );
    expect(other.manifest.apps[0]?.mounts).toEqual([{ volume: 'disk', path: '/var/lib/etcd' }]);
    expect(other.manifest.volumes?.map((v) => v.name)).toEqual(['disk']);
    // A mount naming the mountPoint's volume takes the mountPoint's path.
    const byName = reifyPod([{ image: { id: etcdId, manifest: etcd }, mounts: [{ volume: 'data' }] }], {
      volumes: [host],
    });
    expect(byName.manifest.apps[0]?.mounts).toEqual([{ volume: 'data', path: '/var/lib/etcd' }]);
  });

  it('POD-003 two apps of one name are refused, naming the images; --name style override resolves it', () => {
    let err: unknown;
    try {
      reifyPod([{ image: { id: etcdId, manifest: etcd } }, { image: { id: etcdId, manifest: etcd } }]);
    } catch (e) {
      err = e;
    }
    expect(hasCode(err, 'ERR_RUN_DUPLICATE_APP_NAME')).toBe(true);
    expect((err as Error).message).toMatch(/"etcd" is used twice .*coreos\.com\/etcd.*another name/);
    expect((err as { pointer?: string }).pointer).toBe('/apps/1/name');
    const ok = reifyPod([
      { image: { id: toolsId, manifest: tools } },
      { image: { id: toolsId, manifest: tools }, name: 'tools-2' },
    ]);
    expect(ok.manifest.apps.map((a) => a.name)).toEqual(['tools-box', 'tools-2']);
    // Both run the same image, pinned once.
    expect([...ok.images.keys()]).toEqual([toolsId]);
  });

  const failures: { name: string; run: () => unknown; code: string }[] = [
    {
      name: 'TYPES-003 an app name that is not an AC Name',
      run: () => reifyPod([{ image: { id: etcdId, manifest: etcd }, name: 'Bad_Name' }]),
      code: 'ERR_RUN_APP_NAME',
    },
    {
      name: 'IMG-005 an image without app and no exec',
      run: () =>
        reifyPod([
          {
            image: {
              id: toolsId,
              manifest: { acKind: 'ImageManifest', acVersion: '0.8.11', name: 'x.com/lib' },
            },
          },
        ]),
      code: 'ERR_RUN_NO_APP',
    },
    {
      name: 'IMG-006 an empty exec',
      run: () => reifyPod([{ image: { id: toolsId, manifest: tools }, exec: [] }]),
      code: 'ERR_RUN_EXEC_EMPTY',
    },
    {
      name: 'POD-004 a mount of a volume the pod lacks',
      run: () =>
        reifyPod([{ image: { id: toolsId, manifest: tools }, mounts: [{ volume: 'nope', path: '/x' }] }]),
      code: 'ERR_RUN_UNKNOWN_VOLUME',
    },
    {
      name: 'POD-004 a mount without a path and no mountPoint of that name',
      run: () =>
        reifyPod([{ image: { id: toolsId, manifest: tools }, mounts: [{ volume: 'v' }] }], {
          volumes: [{ name: 'v', kind: 'empty' }],
        }),
      code: 'ERR_RUN_MOUNT_CONFLICT',
    },
    {
      name: 'ACE-005 overlapping mount targets',
      run: () =>
        reifyPod(
          [
            {
              image: { id: toolsId, manifest: tools },
              mounts: [
                { volume: 'a', path: '/data' },
                { volume: 'b', path: '/data/sub' },
              ],
            },
          ],
          {
            volumes: [
              { name: 'a', kind: 'empty' },
              { name: 'b', kind: 'empty' },
            ],
          },
        ),
      code: 'ERR_RUN_MOUNT_CONFLICT',
    },
    {
      name: 'POD-008 an exposed port no app has',
      run: () =>
        reifyPod([{ image: { id: etcdId, manifest: etcd } }], { ports: [{ name: 'peer', hostPort: 2380 }] }),
      code: 'ERR_RUN_UNKNOWN_PORT',
    },
    {
      name: 'POD-005 an invalid volume (checked by @appc/schema)',
      run: () =>
        reifyPod([{ image: { id: toolsId, manifest: tools } }], {
          volumes: [{ name: 'v', kind: 'host', source: 'rel' }],
        }),
      code: 'ERR_RUN_INVALID_POD_MANIFEST',
    },
    {
      name: 'ACE-001 a given UUID that is not one',
      run: () => reifyPod([{ image: { id: toolsId, manifest: tools } }], { uuid: 'not-a-uuid' }),
      code: 'ERR_RUN_INVALID_POD_MANIFEST',
    },
  ];
  for (const f of failures) {
    it(`${f.name} is refused with ${f.code}`, () => {
      expect(codeOf(f.run)).toBe(f.code);
    });
  }

  it('POD-008 an exposed port naming an app port is kept; a given UUID is kept in canonical form', () => {
    const pod = reifyPod([{ image: { id: etcdId, manifest: etcd } }], {
      ports: [{ name: 'client', hostPort: 12379 }],
      uuid: '6F1A1B2C-0000-4000-8000-00000000ABCD',
      annotations: [{ name: 'owner', value: 'me' }],
    });
    expect(pod.manifest.ports).toEqual([{ name: 'client', hostPort: 12379 }]);
    expect(pod.uuid).toBe('6f1a1b2c-0000-4000-8000-00000000abcd');
    expect(pod.manifest.annotations).toEqual([{ name: 'owner', value: 'me' }]);
  });
});

describe('reifyPodManifest', () => {
  const images = new Map([
    [etcdId, etcd],
    [toolsId, tools],
  ]);

  it('POD-011 fills apps and image names from the images and satisfies mountPoints', () => {
    const given = {
      acKind: 'PodManifest',
      acVersion: '0.8.11',
      apps: [{ name: 'db', image: { id: etcdId } }],
    };
    const pod = reifyPodManifest(given, images);
    expect(pod.manifest.apps[0]?.app?.exec).toEqual(['/etcd', '--data-dir', '/var/lib/etcd']);
    expect(pod.manifest.apps[0]?.image.name).toBe('coreos.com/etcd');
    expect(pod.manifest.volumes?.map((v) => v.name)).toEqual(['data']);
    // The caller's object is not modified.
    expect(given.apps[0]).toEqual({ name: 'db', image: { id: etcdId } });
    // A lookup function works as well as a map.
    expect(reifyPodManifest(given, (id) => images.get(id)).manifest.apps).toHaveLength(1);
  });

  it('POD-003 an app of the manifest replaces the image app whole', () => {
    const pod = reifyPodManifest(
      {
        acKind: 'PodManifest',
        acVersion: '0.8.11',
        apps: [{ name: 'db', image: { id: etcdId }, app: { exec: ['/bin/true'], user: '1', group: '1' } }],
      },
      images,
    );
    expect(pod.manifest.apps[0]?.app).toEqual({ exec: ['/bin/true'], user: '1', group: '1' });
    expect(pod.manifest.volumes).toBeUndefined();
  });

  it('POD-011 an image that is not available is refused, naming the app and the pointer', () => {
    let err: unknown;
    try {
      reifyPodManifest(
        {
          acKind: 'PodManifest',
          acVersion: '0.8.11',
          apps: [{ name: 'x', image: { id: imageIdOf('missing') } }],
        },
        images,
        { file: 'pod.json' },
      );
    } catch (e) {
      err = e;
    }
    expect(hasCode(err, 'ERR_RUN_UNKNOWN_IMAGE')).toBe(true);
    expect(err).toMatchObject({ app: 'x', pointer: '/apps/0/image/id', file: 'pod.json' });
    expect((err as Error).message).toMatch(
      /^pod\.json#\/apps\/0\/image\/id: app "x": image .* is not available; fetch it first/,
    );
  });

  it('POD-003 a pod manifest without apps is refused: there is nothing to run', () => {
    let err: unknown;
    try {
      reifyPodManifest({ acKind: 'PodManifest', acVersion: '0.8.11', apps: [] }, images, {
        file: 'pod.json',
      });
    } catch (e) {
      err = e;
    }
    expect(hasCode(err, 'ERR_RUN_NO_APP')).toBe(true);
    expect(err).toMatchObject({ requirement: 'POD-003', pointer: '/apps', file: 'pod.json' });
    expect((err as Error).message).toMatch(/^pod\.json: \/apps is empty.*add at least one app/);
  });

  it('POD-001 POD-003 an invalid manifest is refused with every issue', () => {
    let err: unknown;
    try {
      reifyPodManifest(
        { acKind: 'PodManifest', acVersion: '0.8.11', apps: [{ name: 'A B', image: {} }] },
        images,
      );
    } catch (e) {
      err = e;
    }
    expect(hasCode(err, 'ERR_RUN_INVALID_POD_MANIFEST')).toBe(true);
    const issues = (err as { issues: { code: string; pointer: string }[] }).issues;
    expect(issues.map((i) => i.pointer)).toEqual(
      expect.arrayContaining(['/apps/0/name', '/apps/0/image/id']),
    );
  });
});
