import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, bench, describe } from 'vitest';
import {
  createAppRuntimeConfig,
  detectHostFeatures,
  type HostFeatures,
  reifyPod,
  runPod,
} from '../src/index.ts';
import { imageIdOf, imageManifest, makeBusyboxRootfs, tempDir } from './support.ts';

// Issue 4's benchmark, in process: a one-app pod (sandbox + app + cleanup) against bare `runc run` of a prepared
// bundle running the same program. Needs root, runc, catatonit and busybox-static.
const ready = process.getuid?.() === 0 && existsSync('/usr/bin/busybox') && existsSync('/usr/bin/catatonit');

const image = imageManifest('example.com/true', { exec: ['/bin/true'] });
let base = '';
let rootfs = '';
let host: HostFeatures | undefined;
let n = 0;
if (ready) {
  base = await tempDir();
  rootfs = await makeBusyboxRootfs(join(base, 'rootfs'));
  host = await detectHostFeatures();
  const pod = reifyPod([{ image: { id: imageIdOf('true'), manifest: image } }]);
  const { config } = await createAppRuntimeConfig({
    uuid: pod.uuid,
    manifest: pod.manifest,
    appName: 'true',
    rootfs,
    volumes: { emptyVolumesDir: join(base, 'volumes') },
    host,
  });
  mkdirSync(join(base, 'bundle'));
  writeFileSync(join(base, 'bundle', 'config.json'), JSON.stringify(config));
}

describe.skipIf(!ready)('one-app pod start to exit', () => {
  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  bench('bare runc run of a prepared bundle', () => {
    execFileSync(
      'runc',
      ['--root', join(base, 'bare'), 'run', '--bundle', join(base, 'bundle'), `bare-${n++}`],
      {
        stdio: 'ignore',
      },
    );
  });

  bench('runPod: sandbox, app, cleanup', async () => {
    const pod = reifyPod([{ image: { id: imageIdOf('true'), manifest: image } }]);
    await runPod({
      pod,
      rootfs: { true: rootfs },
      dir: join(base, 'pods', pod.uuid),
      runc: { root: join(base, 'runc') },
      stdio: 'ignore',
      ...(host === undefined ? {} : { host }),
    });
  });
});
