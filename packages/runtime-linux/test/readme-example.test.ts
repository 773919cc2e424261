import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

const isRoot = process.getuid?.() === 0 && existsSync('/usr/bin/busybox') && existsSync('/usr/bin/catatonit');

describe.skipIf(!isRoot)('README example', () => {
  const file = join(import.meta.dirname, `.readme-example-${process.pid}.ts`);
  afterEach(async () => {
    vi.restoreAllMocks();
    await rm(file, { force: true });
  });

  it('ACE-003 ACE-017 runs as written and prints the app result', { tags: ['root'] }, async () => {
    const readme = await readFile(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const code = /## Example[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    // The example imports the published name; here it runs against the sources.
    await writeFile(file, (code as string).replace("from '@appc/runtime-linux'", "from '../src/index.ts'"));
    const logged: unknown[][] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      logged.push(args);
    });
    await import(file);
    expect(logged[0]?.[0]).toEqual([{ name: 'hello', exitCode: 3 }]);
    expect(logged[1]?.[0]).toEqual([
      expect.objectContaining({ app: 'hello', name: 'os/linux/no-new-privileges', status: 'enforced' }),
      expect.objectContaining({ app: 'hello', name: 'resource/memory', status: 'enforced' }),
    ]);
  });
});
