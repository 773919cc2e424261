// Seeded random archives of directories, files, symlinks and hard links whose names and targets try every way
// out (`..`, absolute paths, links to links, entries under links): whether `extract` and `render` take such an
// archive or refuse it, nothing outside the target changes and nothing half-written is left beside it (ACI-012,
// ACI-021).
import { lstatSync, mkdirSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeTar } from '@appc/vectors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFileImageProvider, extract, render } from '../src/index.ts';
import { scratch } from './fixtures.ts';

let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir, cleanup } = await scratch('aci-escape-'));
});
afterAll(() => cleanup());

/** A deterministic pseudo-random sequence (the same archives on every run). */
function generator(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % n;
  };
}

/** Every path below `root` with its type, size and link target, except the ones under `skip`. */
function tree(root: string, skip: string): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    for (const name of readdirSync(p)) {
      const path = join(p, name);
      if (path === skip) continue;
      const st = lstatSync(path);
      out.push(`${path} ${st.mode} ${st.size} ${st.isSymbolicLink() ? readlinkSync(path) : ''}`);
      if (st.isDirectory()) walk(path);
    }
  };
  walk(root);
  return out.sort();
}

/** Names of the entries after the first: mostly below the names a first entry may have made a symlink. */
const NAMES = [
  'link/f',
  'link/sub',
  'link/sub/g',
  'l2/victim',
  'l2/new',
  'a/b',
  'a/b/c',
  'b/x',
  'link',
  'l2',
];
/** Names that climb out, rarer: the archive is refused at them, and what comes after is never looked at. */
const CLIMBING = ['..', 'a/../../x', '.'];

type Entry = { name: string; type?: string; contents?: string; linkname?: string };

/** Random entries under rootfs/: often a symlink first (mostly to a way out), then entries below it or beside it,
 * each name once, hard links mostly to an earlier file of the same archive. */
function randomEntries(rand: (n: number) => number, outside: string, tag: string): Entry[] {
  // the ways out, the outside directory above all (inside the scratch directory, never `/`: a regression must not
  // write into the test machine), and a few harmless ones
  const targets = [outside, outside, `${outside}/victim`, '../../../outside', '..', 'a', 'link'];
  const entries: Entry[] = [];
  const used = new Set<string>();
  const files: string[] = [];
  if (rand(3) > 0)
    entries.push({
      name: `rootfs/${['link', 'l2', 'a'][rand(3)]}`,
      type: 'symlink',
      linkname: targets[rand(targets.length)] as string,
    });
  for (const e of entries) used.add(e.name);
  for (let k = 0, n = 1 + rand(6); k < n; k++) {
    const pick = rand(12) === 0 ? CLIMBING[rand(CLIMBING.length)] : NAMES[rand(NAMES.length)];
    const name = `rootfs/${pick}`;
    if (used.has(name)) continue;
    used.add(name);
    const kind = rand(5);
    if (kind === 0) entries.push({ name, type: 'dir' });
    else if (kind < 3) {
      entries.push({ name, contents: tag });
      files.push(name);
    } else if (kind === 3)
      entries.push({ name, type: 'symlink', linkname: targets[rand(targets.length)] as string });
    else
      entries.push({
        name,
        type: 'hardlink',
        linkname:
          files.length > 0 && rand(4) > 0
            ? (files[rand(files.length)] as string)
            : (targets[rand(targets.length)] as string),
      });
  }
  return entries;
}

/** A layer that is itself acceptable: symlinks (mostly to a way out) where the image above may lay entries below
 * them, and a file beside them. */
function dependencyEntries(rand: (n: number) => number, outside: string, tag: string): Entry[] {
  const targets = [outside, `${outside}/victim`, '../../../outside', 'b'];
  const entries: Entry[] = [
    { name: 'rootfs/b', type: 'dir' },
    { name: 'rootfs/b/x', contents: tag },
  ];
  for (const name of ['link', 'l2', 'a'])
    if (rand(3) > 0)
      entries.push({
        name: `rootfs/${name}`,
        type: 'symlink',
        linkname: targets[rand(targets.length)] as string,
      });
  return entries;
}

/** Whether an entry lies below a name an earlier entry made a symlink: the case that must never write outside. */
function throughSymlink(entries: readonly Entry[]): boolean {
  const links = new Set<string>();
  for (const e of entries) {
    for (const l of links) if (e.name.startsWith(`${l}/`)) return true;
    if (e.type === 'symlink') links.add(e.name);
  }
  return false;
}

const manifest = (name: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ acKind: 'ImageManifest', acVersion: '0.8.11', name, ...extra });

describe('random hostile archives: nothing outside the target (ACI-012, ACI-021)', () => {
  it('ACI-012 extract, whole image and rootfs only, 60 archives', {
    tags: ['slow'],
    timeout: 120_000,
  }, async () => {
    const base = join(dir, 'extract');
    const outside = join(base, 'outside');
    mkdirSync(join(outside, 'sub'), { recursive: true });
    writeFileSync(join(outside, 'victim'), 'original');
    const targets = join(base, 't');
    const before = tree(base, targets);
    const rand = generator(3);
    let taken = 0;
    let tried = 0;
    for (let i = 0; i < 60; i++) {
      const file = join(base, 'in.aci');
      const random = randomEntries(rand, outside, `x${i}`);
      if (throughSymlink(random)) tried++;
      const entries = [
        { name: 'manifest', contents: manifest('example.com/escape') },
        { name: 'rootfs', type: 'dir' },
        ...random,
      ];
      writeFileSync(file, writeTar({ entries } as Parameters<typeof writeTar>[0]));
      for (const rootfsOnly of [false, true]) {
        rmSync(targets, { recursive: true, force: true });
        mkdirSync(targets);
        const target = join(targets, 'out');
        try {
          await extract(file, target, { rootfsOnly });
          taken++;
        } catch (e) {
          expect((e as { code?: string }).code, JSON.stringify(entries)).toMatch(/^ERR_ACI_/);
        }
        expect(
          readdirSync(targets).filter((f) => f !== 'out'),
          JSON.stringify(entries),
        ).toEqual([]);
        expect(
          tree(base, targets).filter((l) => !l.startsWith(`${file} `)),
          JSON.stringify(entries),
        ).toEqual(before);
      }
    }
    // the generator must not only produce archives that are refused, and must try the way through a symlink
    expect(taken).toBeGreaterThan(10);
    expect(tried).toBeGreaterThan(15);
  });

  it('ACI-021 render of an image over a dependency, with and without a path whitelist, 40 pairs', {
    tags: ['slow'],
    timeout: 120_000,
  }, async () => {
    const base = join(dir, 'render');
    const outside = join(base, 'outside');
    mkdirSync(join(outside, 'sub'), { recursive: true });
    writeFileSync(join(outside, 'victim'), 'original');
    const targets = join(base, 't');
    const dep = join(base, 'dep.aci');
    const top = join(base, 'top.aci');
    const rand = generator(7);
    writeFileSync(dep, '');
    writeFileSync(top, '');
    const before = tree(base, targets);
    let taken = 0;
    let tried = 0;
    for (let i = 0; i < 40; i++) {
      const depRandom = dependencyEntries(rand, outside, `dep${i}`);
      const depEntries = [
        {
          name: 'manifest',
          contents: manifest('example.com/dep', { labels: [{ name: 'version', value: '1' }] }),
        },
        { name: 'rootfs', type: 'dir' },
        ...depRandom,
      ];
      const topEntries = [
        {
          name: 'manifest',
          contents: manifest('example.com/top', {
            dependencies: [{ imageName: 'example.com/dep', labels: [{ name: 'version', value: '1' }] }],
            ...(rand(3) === 0 ? { pathWhitelist: ['/a', '/a/b', '/link', '/b/x'] } : {}),
          }),
        },
        { name: 'rootfs', type: 'dir' },
        ...randomEntries(rand, outside, `top${i}`),
      ];
      // a symlink of the dependency's below which the image lays an entry: the layer above must replace it, never
      // follow it (ACI-021)
      const depLinks = depRandom.filter((e) => e.type === 'symlink').map((e) => e.name);
      if (topEntries.slice(2).some((e) => depLinks.some((l) => e.name.startsWith(`${l}/`)))) tried++;
      writeFileSync(dep, writeTar({ entries: depEntries } as Parameters<typeof writeTar>[0]));
      writeFileSync(top, writeTar({ entries: topEntries } as Parameters<typeof writeTar>[0]));
      const what = JSON.stringify({ depEntries, topEntries });
      for (const rootfsOnly of [false, true]) {
        rmSync(targets, { recursive: true, force: true });
        mkdirSync(targets);
        try {
          await render(top, join(targets, 'out'), { provider: createFileImageProvider([dep]), rootfsOnly });
          taken++;
        } catch (e) {
          expect((e as { code?: string }).code, what).toMatch(/^ERR_ACI_/);
        }
        expect(
          readdirSync(targets).filter((f) => f !== 'out'),
          what,
        ).toEqual([]);
        const now = tree(base, targets).filter((l) => !l.startsWith(dep) && !l.startsWith(top));
        expect(now, what).toEqual(before.filter((l) => !l.startsWith(dep) && !l.startsWith(top)));
      }
    }
    expect(taken).toBeGreaterThan(5);
    expect(tried).toBeGreaterThan(8);
  });
});
