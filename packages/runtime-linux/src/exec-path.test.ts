import { chmod, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hasCode } from '@appc/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../test/support.ts';
import { appEnvironment, DEFAULT_PATH, resolveExec } from './exec-path.ts';

async function exe(root: string, path: string): Promise<void> {
  await mkdir(join(root, path, '..'), { recursive: true });
  await writeFile(join(root, path), '#!/bin/sh\n');
  await chmod(join(root, path), 0o755);
}

describe('appEnvironment (ACE-010)', () => {
  it('gives PATH and container first, the app variables over them, then AC_APP_NAME and AC_METADATA_URL', () => {
    const env = appEnvironment({
      appName: 'web',
      metadataUrl: 'http://10.0.0.1:18112/abc',
      environment: [
        { name: 'FOO', value: 'bar' },
        { name: 'AC_APP_NAME', value: 'spoofed' },
      ],
    });
    expect(env).toEqual([
      { name: 'PATH', value: DEFAULT_PATH },
      { name: 'container', value: 'appc-runtime-linux' },
      { name: 'FOO', value: 'bar' },
      { name: 'AC_APP_NAME', value: 'web' },
      { name: 'AC_METADATA_URL', value: 'http://10.0.0.1:18112/abc' },
    ]);
    expect(DEFAULT_PATH).toBe('/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    const custom = appEnvironment({ appName: 'a', environment: [{ name: 'PATH', value: '/opt/bin' }] });
    expect(custom[0]).toEqual({ name: 'PATH', value: '/opt/bin' });
    expect(custom.at(-1)).toEqual({ name: 'AC_METADATA_URL', value: '' });
  });
});

describe('resolveExec (ACE-012)', () => {
  let root: string;
  beforeAll(async () => {
    root = await tempDir();
    await exe(root, 'usr/bin/tool');
    await exe(root, 'opt/app/bin/run');
    await exe(root, 'work/local');
    await mkdir(join(root, 'bin'), { recursive: true });
    await symlink('/usr/bin/tool', join(root, 'bin', 'linked'));
    // /bin/sh exists on the host but not in this rootfs: an absolute link must be read inside the rootfs.
    await symlink('/bin/sh', join(root, 'bin', 'shell'));
    await writeFile(join(root, 'usr', 'bin', 'not-exec'), 'x');
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const env = (path?: string) => (path === undefined ? [] : [{ name: 'PATH', value: path }]);

  it('searches PATH in order and keeps the arguments as they are', async () => {
    expect(
      await resolveExec(root, ['tool', '$HOME', '*'], { appName: 'a', environment: env(DEFAULT_PATH) }),
    ).toEqual(['/usr/bin/tool', '$HOME', '*']);
    expect(
      await resolveExec(root, ['run'], { appName: 'a', environment: env('/nope:/opt/app/bin') }),
    ).toEqual(['/opt/app/bin/run']);
  });

  it('a name with a slash is used as given, relative to the working directory', async () => {
    expect(await resolveExec(root, ['/opt/app/bin/run'], { appName: 'a', environment: env('') })).toEqual([
      '/opt/app/bin/run',
    ]);
    expect(
      await resolveExec(root, ['./local'], { appName: 'a', environment: env(), workingDirectory: '/work' }),
    ).toEqual(['/work/local']);
  });

  it('with PATH unset, the working directory then /bin:/usr/bin are searched', async () => {
    expect(
      await resolveExec(root, ['local'], { appName: 'a', environment: env(), workingDirectory: '/work' }),
    ).toEqual(['/work/local']);
    expect(await resolveExec(root, ['tool'], { appName: 'a', environment: env() })).toEqual([
      '/usr/bin/tool',
    ]);
  });

  it('symlinks are followed inside the rootfs; the path found is kept (argv[0] as typed)', async () => {
    expect(await resolveExec(root, ['linked'], { appName: 'a', environment: env('/bin') })).toEqual([
      '/bin/linked',
    ]);
    const err = await resolveExec(root, ['shell'], { appName: 'a', environment: env('/bin') }).catch(
      (e) => e,
    );
    expect(hasCode(err, 'ERR_RUN_EXEC_NOT_FOUND')).toBe(true);
  });

  it('a missing or non-executable program fails, naming the app, the program and the PATH searched', async () => {
    for (const program of ['missing', 'not-exec', '/usr/bin']) {
      const err = await resolveExec(root, [program], { appName: 'web', environment: env('/usr/bin') }).catch(
        (e) => e,
      );
      expect(hasCode(err, 'ERR_RUN_EXEC_NOT_FOUND')).toBe(true);
      expect(err).toMatchObject({ app: 'web', pointer: '/app/exec/0', requirement: 'ACE-012' });
      expect(err.message).toContain(`"${program}"`);
    }
    const empty = await resolveExec(root, [], { appName: 'web', environment: env() }).catch((e) => e);
    expect(hasCode(empty, 'ERR_RUN_EXEC_EMPTY')).toBe(true);
  });
});
