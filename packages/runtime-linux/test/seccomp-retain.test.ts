import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reifyPod, runPod } from '../src/index.ts';
import { imageIdOf, imageManifest, makeBusyboxRootfs, tempDir } from './support.ts';

const isRoot = process.getuid?.() === 0 && existsSync('/usr/sbin/runc') && existsSync('/usr/bin/busybox');

describe.skipIf(!isRoot)('seccomp retain set (root)', () => {
  let base: string;
  beforeAll(async () => {
    base = await tempDir();
  });
  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  for (const nnp of [true, false]) {
    it(`ISO-005 only the retained calls and the lifecycle whitelist work (no-new-privileges ${nnp})`, {
      tags: ['root'],
    }, async () => {
      const rootfs = await makeBusyboxRootfs(join(base, `rootfs-${nnp}`));
      const image = imageManifest('example.com/retain', {
        exec: ['/bin/mkdir', '/tmp/x'],
        isolators: [
          { name: 'os/linux/no-new-privileges', value: nnp },
          {
            name: 'os/linux/seccomp-retain-set',
            value: { set: ['uname'], errno: 'ENOTSUP' },
          },
        ],
      });
      const pod = reifyPod([{ image: { id: imageIdOf('retain'), manifest: image } }]);
      const result = await runPod({
        pod,
        rootfs: { retain: rootfs },
        dir: join(base, pod.uuid),
        runc: { root: join(base, 'runc') },
        stdio: 'capture',
      });
      expect(result.apps[0]?.stderr).toMatch(/can't create directory '\/tmp\/x': Operation not supported/);
      expect(result.apps[0]?.exitCode).toBe(1);
    });
  }
});
