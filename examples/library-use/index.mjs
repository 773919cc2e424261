// Validate a manifest, build an image from a layout, and read the image back, all from code.
//   pnpm build && pnpm --filter examples-library-use start
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, computeImageId, extract, readManifest, validateArchive } from '@appc/aci';
import { hasCode, parseImageManifest, validateImageManifest } from '@appc/schema';

// 1. validateImageManifest collects every problem, with a JSON pointer and a requirement ID each.
const draft = {
  acKind: 'ImageManifest',
  acVersion: '0.8.11',
  name: 'Example.com/Hello',
  app: { exec: ['hello'] },
};
console.log('problems in the draft manifest:');
for (const issue of validateImageManifest(draft)) {
  console.log(`  ${issue.pointer}: ${issue.message} [${issue.code}, ${issue.requirement}]`);
}

// 2. parseImageManifest throws one SchemaError listing them all; match on the code, not the class.
try {
  parseImageManifest(draft);
} catch (error) {
  if (!hasCode(error, 'ERR_SCHEMA_INVALID')) throw error;
  console.log(`parseImageManifest refused it: ${error.code}, ${error.issues.length} issue(s)`);
}

// 3. A fixed manifest, in a layout (manifest + rootfs/), built deterministically into an ACI.
const manifest = {
  acKind: 'ImageManifest',
  acVersion: '0.8.11',
  name: 'example.com/hello',
  labels: [
    { name: 'version', value: '1.0.0' },
    { name: 'os', value: 'linux' },
    { name: 'arch', value: 'amd64' },
  ],
  app: { exec: ['/bin/hello'], user: '0', group: '0' },
};
const work = await mkdtemp(join(tmpdir(), 'appc-library-use-'));
try {
  const layout = join(work, 'layout');
  await mkdir(join(layout, 'rootfs', 'bin'), { recursive: true });
  await writeFile(join(layout, 'manifest'), JSON.stringify(manifest));
  await writeFile(join(layout, 'rootfs', 'bin', 'hello'), '#!/bin/sh\necho "Hello from code"\n', {
    mode: 0o755,
  });

  const aci = join(work, 'hello.aci');
  const built = await build(layout, aci, { deterministic: true, sourceDateEpoch: 1_700_000_000 });
  console.log(`built ${aci}: ${built.sizeBytes} bytes, ${built.imageId.slice(0, 23)}…`);

  // 4. Read it back: validate, image ID, manifest, extract.
  const { issues, imageId } = await validateArchive(aci);
  console.log(`valid: ${issues.length === 0}, same ID: ${imageId === built.imageId}`);
  console.log(`computeImageId agrees: ${(await computeImageId(aci)) === built.imageId}`);
  const { manifest: stored } = await readManifest(aci);
  console.log(`stored manifest names ${stored.name} with exec ${JSON.stringify(stored.app?.exec)}`);
  const target = join(work, 'extracted');
  await extract(aci, target);
  console.log(
    `extracted bin/hello: ${JSON.stringify(await readFile(join(target, 'rootfs', 'bin', 'hello'), 'utf8'))}`,
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
