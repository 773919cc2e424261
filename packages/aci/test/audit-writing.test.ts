import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { hasCode } from '@appc/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addHostPrograms,
  applyManifestPatch,
  build,
  computeImageId,
  createFileImageProvider,
  extract,
  imageIdOfLayout,
  patchManifest,
  readManifest,
  render,
} from '../src/index.ts';
import { makeTree, manifestText, run, scratch } from './fixtures.ts';

// Problems found by the audit of the writing side (build, id of a layout, render).

let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir, cleanup } = await scratch());
});
afterAll(() => cleanup());

function layoutAt(name: string, files: Record<string, string> = { 'rootfs/f': 'x' }): string {
  const layout = join(dir, name);
  const tree: Parameters<typeof makeTree>[1] = { manifest: manifestText(`example.com/${name}`) };
  for (const [path, contents] of Object.entries(files)) tree[path] = { contents, mode: 0o644 };
  makeTree(layout, tree);
  return layout;
}

describe('build output placement (ACI-014)', () => {
  it('ACI-014 refuses an output inside the rootfs it archives and leaves nothing there', async () => {
    const layout = layoutAt('inside');
    const out = join(layout, 'rootfs', 'self.aci');
    await expect(build(layout, out)).rejects.toSatisfy(
      (e) => hasCode(e, 'ERR_ACI_OUTPUT_EXISTS') && String((e as Error).message).includes('contain itself'),
    );
    expect(readdirSync(join(layout, 'rootfs'))).toEqual(['f']);
    // below rootfs too; beside the manifest is fine (not archived)
    mkdirSync(join(layout, 'rootfs', 'sub'));
    await expect(build(layout, join(layout, 'rootfs', 'sub', 'x.aci'))).rejects.toSatisfy((e) =>
      hasCode(e, 'ERR_ACI_OUTPUT_EXISTS'),
    );
    const beside = await build(layout, join(layout, 'beside.aci'));
    expect(beside.imageId).toMatch(/^sha512-/);
  });

  it('ACI-014 names the output, not its temporary file, when the output directory is missing', async () => {
    const layout = layoutAt('missing-dir');
    const out = join(dir, 'no-such-dir', 'x.aci');
    await expect(build(layout, out)).rejects.toSatisfy(
      (e) => (e as NodeJS.ErrnoException).code === 'ENOENT' && (e as NodeJS.ErrnoException).path === out,
    );
  });
});

describe('source date epoch bounds (ACI-014)', () => {
  it('ACI-014 refuses an epoch with no exact PAX mtime, and GNU tar reads the largest one allowed', async () => {
    const layout = layoutAt('epoch');
    for (const sourceDateEpoch of [1e40, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY]) {
      const out = join(dir, 'epoch-bad.aci');
      await expect(build(layout, out, { deterministic: true, sourceDateEpoch })).rejects.toSatisfy((e) =>
        hasCode(e, 'ERR_ACI_LIMIT'),
      );
      expect(existsSync(out)).toBe(false);
      await expect(imageIdOfLayout(layout, { deterministic: true, sourceDateEpoch })).rejects.toSatisfy((e) =>
        hasCode(e, 'ERR_ACI_LIMIT'),
      );
    }
    const out = join(dir, 'epoch-max.aci');
    const r = await build(layout, out, { deterministic: true, sourceDateEpoch: Number.MAX_SAFE_INTEGER });
    expect(run('tar', ['-tvzf', out]).toString()).toContain('manifest');
    expect(
      await imageIdOfLayout(layout, { deterministic: true, sourceDateEpoch: Number.MAX_SAFE_INTEGER }),
    ).toBe(r.imageId);
  });
});

describe('render directory mode (ACI-020)', () => {
  it('ACI-020 a rendered image directory has mode 0755 like an extracted one, not the temporary 0700', async () => {
    const layout = layoutAt('rendered');
    const aci = join(dir, 'rendered.aci');
    await build(layout, aci);
    await render(aci, join(dir, 'rendered-out'));
    expect(statSync(join(dir, 'rendered-out')).mode & 0o7777).toBe(0o755);
  });
});

describe('patchManifest over its input (ACI-013, ACI-014)', () => {
  it('ACI-014 refuses to write over the input without overwrite, and leaves it as it was', async () => {
    const layout = layoutAt('patch-self');
    const aci = join(dir, 'patch-self.aci');
    const built = await build(layout, aci);
    const patch = (m: Parameters<typeof applyManifestPatch>[0]) =>
      applyManifestPatch(m, { name: 'example.com/other' });
    await expect(patchManifest(aci, aci, patch)).rejects.toSatisfy((e) =>
      hasCode(e, 'ERR_ACI_OUTPUT_EXISTS'),
    );
    expect(await computeImageId(aci)).toBe(built.imageId);
    const r = await patchManifest(aci, aci, patch, { overwrite: true });
    expect(await computeImageId(aci)).toBe(r.imageId);
  });
});

describe('addHostPrograms into a symlinked rootfs (ACI-009)', () => {
  it('ACI-009 refuses a rootfs that is a symlink and writes nothing where it leads', async () => {
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    const layout = join(dir, 'linked-layout');
    mkdirSync(layout);
    symlinkSync(elsewhere, join(layout, 'rootfs'));
    await expect(addHostPrograms(join(layout, 'rootfs'), ['/bin/sh'])).rejects.toSatisfy((e) =>
      hasCode(e, 'ERR_ACI_ROOTFS_NOT_DIR'),
    );
    expect(readdirSync(elsewhere)).toEqual([]);
  });
});

describe('a truncated archive is named (ACI-006)', () => {
  it('ACI-006 readManifest and render name the archive whose gzip data ends early', async () => {
    const layout = layoutAt('trunc');
    const whole = join(dir, 'trunc-whole.aci');
    await build(layout, whole);
    const bytes = readFileSync(whole);
    const cut = join(dir, 'trunc.aci');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 20));
    const named = (e: unknown) =>
      hasCode(e, 'ERR_ACI_TRUNCATED') && String((e as Error).message).startsWith(`${cut}:`);
    await expect(readManifest(cut)).rejects.toSatisfy(named);
    await expect(render(cut, join(dir, 'trunc-out'))).rejects.toSatisfy(named);
    // as a dependency looked up among files
    const app = join(dir, 'trunc-app');
    makeTree(app, {
      manifest: manifestText('example.com/trunc-app', { dependencies: [{ imageName: 'example.com/trunc' }] }),
      'rootfs/g': 'y',
    });
    await build(app, join(dir, 'trunc-app.aci'));
    await expect(
      render(join(dir, 'trunc-app.aci'), join(dir, 'trunc-out2'), {
        provider: createFileImageProvider([cut]),
      }),
    ).rejects.toSatisfy(named);
    expect(existsSync(join(dir, 'trunc-out2'))).toBe(false);
  });
});

describe('a target in a missing directory is named (ACI-012)', () => {
  it('ACI-012 render and extract name the target, not their temporary directory', async () => {
    const layout = layoutAt('missing-parent');
    const aci = join(dir, 'missing-parent.aci');
    await build(layout, aci);
    const target = join(dir, 'no-such-parent', 'out');
    const named = (e: unknown) =>
      (e as NodeJS.ErrnoException).code === 'ENOENT' && (e as NodeJS.ErrnoException).path === target;
    await expect(render(aci, target)).rejects.toSatisfy(named);
    await expect(extract(aci, target)).rejects.toSatisfy(named);
  });
});
