import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCode } from '@appc/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addHostPrograms } from '../src/index.ts';

let work: string;
const isRoot = process.getuid?.() === 0;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'aci-host-program-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

async function rootfs(name: string): Promise<string> {
  const dir = join(work, name, 'rootfs');
  await mkdir(dir, { recursive: true });
  return dir;
}

/** What `ldd` lists for a program: the files the loader maps, by their host paths. */
function lddPaths(program: string): string[] {
  return execFileSync('ldd', [program], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /(\/\S+) \(/.exec(l)?.[1])
    .filter((p): p is string => p !== undefined);
}

describe('addHostPrograms', () => {
  it('copies a dynamically linked program with its loader and every library ldd lists, symlinks kept', async () => {
    const root = await rootfs('curl');
    const curl = realpathSync(execFileSync('sh', ['-c', 'command -v curl'], { encoding: 'utf8' }).trim());
    const { added } = await addHostPrograms(root, ['curl']);
    expect(added.length).toBeGreaterThan(5);
    for (const lib of [curl, ...lddPaths(curl)]) {
      // each file ldd names is in the rootfs at its host path, and the file it finally is at that one's
      // (an absolute symlink such as /lib64/ld-linux-x86-64.so.2 resolves inside the container, not here)
      expect(existsSync(join(root, lib)) || existsSync(join(root, realpathSync(lib))), lib).toBe(true);
      expect(existsSync(join(root, realpathSync(lib))), realpathSync(lib)).toBe(true);
    }
    // a library's versioned symlink is a symlink in the rootfs too
    const libz = lddPaths(curl).find((p) => p.includes('libz.so'));
    if (libz) expect(await readlink(join(root, libz))).toMatch(/^libz\.so\./);
  });

  it('follows a script to its interpreter, through env, and finds a name on the PATH', async () => {
    const root = await rootfs('script');
    const script = join(work, 'hello.sh');
    await writeFile(script, '#!/usr/bin/env sh\necho hello\n');
    await chmod(script, 0o755);
    const { added } = await addHostPrograms(root, [script]);
    expect(added).toContain(script);
    expect(added).toContain('/usr/bin/env');
    expect(added.some((p) => /\/sh$/.test(p))).toBe(true);
    expect(added.some((p) => /ld-linux|ld-musl/.test(p))).toBe(true);
  });

  it('copies a static program alone, and keeps what the rootfs already has', async () => {
    const root = await rootfs('static');
    const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
    if (!busybox) return;
    const first = await addHostPrograms(root, [busybox]);
    expect(first.added.filter((p) => !['/bin', '/usr', '/usr/bin'].includes(p))).toEqual([busybox]);
    const again = await addHostPrograms(root, [busybox]);
    expect(again.added).toEqual([]);
    expect(again.kept).toContain(busybox);
  });

  it("never writes outside the rootfs, whatever the rootfs's own symlinks point at (ACI-012)", async () => {
    const outside = join(work, 'outside');
    await mkdir(outside, { recursive: true });
    for (const [name, target] of [
      ['abs', outside],
      ['rel', '../../../../../../../../../../..'],
    ]) {
      const root = await rootfs(`escape-${name}`);
      // the rootfs's /usr and /lib lead out of it: followed as a chroot would, they stay inside
      await symlink(target as string, join(root, 'usr'));
      await symlink(target as string, join(root, 'lib'));
      await symlink(target as string, join(root, 'lib64'));
      await addHostPrograms(root, ['sh']);
    }
    expect(readdirSync(outside)).toEqual([]);
  });

  it('names what is missing, with ERR_ACI_HOST_PROGRAM', async () => {
    const root = await rootfs('missing');
    for (const program of ['no-such-program-anywhere', '/no/such/file']) {
      const e = await addHostPrograms(root, [program]).catch((x: unknown) => x);
      expect(hasCode(e, 'ERR_ACI_HOST_PROGRAM'), String(e)).toBe(true);
      expect((e as Error).message).toContain(program);
    }
    const e = await addHostPrograms(join(work, 'nope'), ['sh']).catch((x: unknown) => x);
    expect(hasCode(e, 'ERR_ACI_HOST_PROGRAM')).toBe(true);
  });

  it('the copies run in a chroot of the rootfs', { tags: ['root'], skip: !isRoot }, async () => {
    const root = await rootfs('chroot');
    await addHostPrograms(root, ['sh', 'curl']);
    // no /dev in this rootfs: nothing is redirected
    const r = spawnSync('chroot', [root, '/bin/sh', '-c', 'curl --version && echo ran'], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^curl \d[\s\S]*\nran\n$/);
  });
});
