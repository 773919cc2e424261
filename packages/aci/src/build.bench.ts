import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, bench, describe } from 'vitest';
import { build, imageIdOfLayout } from './build.ts';

// a small layout: 500 files of 8 KiB in 20 directories
const root = mkdtempSync(join(tmpdir(), 'aci-build-bench-'));
const layout = join(root, 'layout');
mkdirSync(join(layout, 'rootfs'), { recursive: true });
writeFileSync(
  join(layout, 'manifest'),
  JSON.stringify({ acKind: 'ImageManifest', acVersion: '0.8.11', name: 'example.com/bench' }),
);
for (let d = 0; d < 20; d++) {
  mkdirSync(join(layout, 'rootfs', `d${d}`));
  for (let f = 0; f < 25; f++)
    writeFileSync(join(layout, 'rootfs', `d${d}`, `f${f}`), `line ${d} ${f}\n`.repeat(700));
}
let n = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('build (ACI-014)', () => {
  bench(
    'build gzip, 500 files',
    async () => {
      await build(layout, join(root, `out-${n++}.aci`));
    },
    { iterations: 5, time: 0 },
  );
  bench(
    'imageIdOfLayout (deterministic), 500 files',
    async () => {
      await imageIdOfLayout(layout, { deterministic: true });
    },
    { iterations: 5, time: 0 },
  );
});
