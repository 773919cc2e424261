import { chown, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hasCode } from '@appc/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../test/support.ts';
import { resolveAppIdentity } from './user-group.ts';

describe('resolveAppIdentity (ACE-013)', () => {
  let root: string;
  beforeAll(async () => {
    root = await tempDir();
    await mkdir(join(root, 'etc'));
    // "root" is deliberately uid 4242 here: only the image's file may decide, never the host's.
    await writeFile(
      join(root, 'etc', 'passwd'),
      '# comment\nroot:x:4242:4343:not the host root:/:/bin/sh\nweb:x:1000:1001::/srv:/bin/sh\nbroken-line\n',
    );
    await writeFile(
      join(root, 'etc', 'group'),
      'root:x:4343:\nweb:x:1001:\naudio:x:29:web,other\nvideo:x:44:other\ndev:x:500:web\n',
    );
    await mkdir(join(root, 'srv', 'data'), { recursive: true });
    await writeFile(join(root, 'srv', 'data', 'file'), 'x');
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('names come from the image /etc/passwd and /etc/group, not the host', async () => {
    const id = await resolveAppIdentity(root, { user: 'root', group: 'root' }, 'app');
    expect(id).toEqual({ uid: 4242, gid: 4343, additionalGids: [], userName: 'root' });
  });

  it('supplementary GIDs: the app list first, then every group listing the user', async () => {
    const id = await resolveAppIdentity(
      root,
      { user: 'web', group: 'web', supplementaryGIDs: [7, 29] },
      'app',
    );
    expect(id).toEqual({ uid: 1000, gid: 1001, additionalGids: [7, 29, 500], userName: 'web' });
  });

  it('a numeric value is used when no name matches; a uid with an entry gets its groups too', async () => {
    expect(await resolveAppIdentity(root, { user: '1000', group: '12345' }, 'app')).toEqual({
      uid: 1000,
      gid: 12345,
      additionalGids: [29, 500],
      userName: 'web',
    });
    expect(await resolveAppIdentity(root, { user: '777', group: '0' }, 'app')).toEqual({
      uid: 777,
      gid: 0,
      additionalGids: [],
    });
  });

  it('a path takes the owner of that path inside the rootfs', { tags: ['root'] }, async () => {
    await chown(join(root, 'srv', 'data', 'file'), 3210, 6540);
    const id = await resolveAppIdentity(root, { user: '/srv/data/file', group: '/srv/data/file' }, 'app');
    expect([id.uid, id.gid]).toEqual([3210, 6540]);
  });

  it('an /etc/passwd that is an absolute symlink is read inside the rootfs', async () => {
    const other = await tempDir();
    try {
      await mkdir(join(other, 'etc'));
      await mkdir(join(other, 'data'));
      await writeFile(join(other, 'data', 'passwd'), 'svc:x:321:321::/:/bin/sh\n');
      await symlink('/data/passwd', join(other, 'etc', 'passwd'));
      expect((await resolveAppIdentity(other, { user: 'svc', group: '0' }, 'app')).uid).toBe(321);
      // Without a passwd file at all, names fail and numbers still work.
      await rm(join(other, 'etc', 'passwd'));
      expect((await resolveAppIdentity(other, { user: '5', group: '6' }, 'app')).uid).toBe(5);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  const bad: { name: string; user: string; group: string; code: string; pointer: string; words: RegExp }[] = [
    {
      name: 'unknown user name',
      user: 'nobody-here',
      group: '0',
      code: 'ERR_RUN_USER',
      pointer: '/app/user',
      words: /user "nobody-here" is not in the image's \/etc\/passwd/,
    },
    {
      name: 'unknown group name',
      user: '0',
      group: 'staff',
      code: 'ERR_RUN_GROUP',
      pointer: '/app/group',
      words: /group "staff" is not in the image's \/etc\/group/,
    },
    {
      name: 'missing path',
      user: '/no/such',
      group: '0',
      code: 'ERR_RUN_USER',
      pointer: '/app/user',
      words: /does not exist in the app's rootfs/,
    },
    {
      name: 'out of range number',
      user: '4294967295',
      group: '0',
      code: 'ERR_RUN_USER',
      pointer: '/app/user',
      words: /out of range/,
    },
    {
      name: 'empty group',
      user: '0',
      group: '',
      code: 'ERR_RUN_GROUP',
      pointer: '/app/group',
      words: /is empty/,
    },
  ];
  for (const b of bad) {
    it(`${b.name} fails with ${b.code}, naming the app and the field`, async () => {
      const err = await resolveAppIdentity(root, { user: b.user, group: b.group }, 'myapp').catch((e) => e);
      expect(hasCode(err, b.code)).toBe(true);
      expect(err).toMatchObject({ app: 'myapp', pointer: b.pointer, requirement: 'ACE-013' });
      expect(err.message).toMatch(/^app "myapp": /);
      expect(err.message).toMatch(b.words);
    });
  }
});
