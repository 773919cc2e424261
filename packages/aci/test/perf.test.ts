import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { build, computeImageId, extract, validateArchive } from '../src/index.ts';

// Throughput against GNU tools on a tree given by ACI_BENCH_DIR (an image layout); skipped otherwise.
// Prints one JSON line per scenario: { scenario, bytes, seconds, ratio }.
const layout = process.env.ACI_BENCH_DIR;

function time<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = process.hrtime.bigint();
  return f().then((r) => [r, Number(process.hrtime.bigint() - t) / 1e9]);
}

function sh(cmd: string): number {
  const t = process.hrtime.bigint();
  const r = spawnSync('/bin/sh', ['-c', cmd]);
  if (r.status !== 0) throw new Error(r.stderr.toString());
  return Number(process.hrtime.bigint() - t) / 1e9;
}

describe.runIf(layout)('performance against GNU tar and gzip', () => {
  it('build, validate, id and extract', { tags: ['slow'], timeout: 600_000 }, async () => {
    const work = join(layout as string, '..', 'perf-work');
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work);
    const gnu = sh(`tar -c -C '${layout}' . | gzip -6 > '${work}/gnu.tar.gz'`);
    const gnuSize = statSync(`${work}/gnu.tar.gz`).size;
    const [r, ours] = await time(() => build(layout as string, join(work, 'ours.aci')));
    const report = (scenario: string, seconds: number, base?: number) =>
      console.log(
        JSON.stringify({ scenario, bytes: r.tarBytes, seconds, ...(base ? { ratio: base / seconds } : {}) }),
      );
    report('gnu tar|gzip -6', gnu);
    report('build gzip', ours, gnu);
    console.log(
      JSON.stringify({ compressed: r.sizeBytes, gnuCompressed: gnuSize, sizeRatio: r.sizeBytes / gnuSize }),
    );
    const [, idT] = await time(() => computeImageId(join(work, 'ours.aci')));
    report('computeImageId', idT, sh(`gzip -dc '${work}/ours.aci' | sha512sum > /dev/null`));
    const [v, valT] = await time(() => validateArchive(join(work, 'ours.aci')));
    expect(v.issues).toEqual([]);
    report('validateArchive', valT);
    mkdirSync(join(work, 'gx'));
    const gx = sh(`gzip -dc '${work}/ours.aci' | tar -x -C '${work}/gx'`);
    report('gzip -dc|tar -x', gx);
    const [, exT] = await time(() => extract(join(work, 'ours.aci'), join(work, 'ox')));
    report('extract', exT, gx);
    rmSync(work, { recursive: true, force: true });
  });
});
