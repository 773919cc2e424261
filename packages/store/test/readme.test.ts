import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import * as storeModule from '../src/index.ts';
import { tempDir, writeAci } from './fixtures.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

it('the README example runs as written (paths moved to a temporary directory)', async () => {
  const t = await tempDir();
  cleanups.push(t.cleanup);
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
  const code = /## Example\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(code).toBeDefined();
  const app = await writeAci(t.dir, 'app.aci', {
    name: 'example.com/app',
    labels: { os: 'linux' },
    files: { x: 'x' },
  });
  const body = (code as string)
    .replace(/^import \{([^}]*)\} from '@appc\/store';$/m, 'const {$1} = mod;')
    .replaceAll("'/var/lib/appc/images'", JSON.stringify(join(t.dir, 'store')))
    .replaceAll("'app.aci'", JSON.stringify(app))
    .replaceAll("'copy.aci'", JSON.stringify(join(t.dir, 'copy.aci')));
  const logs: unknown[][] = [];
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
    ...args: string[]
  ) => (...a: unknown[]) => Promise<void>;
  await new AsyncFunction('mod', 'console', body)(storeModule, { log: (...a: unknown[]) => logs.push(a) });
  expect(logs[0]?.[0]).toBe('imported');
  expect(await readFile(join(t.dir, 'copy.aci'))).toEqual(await readFile(app));
  expect(existsSync(join(t.dir, 'store', 'index.db'))).toBe(true);
});
