import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { VERIFY_ERROR_CODES } from '../src/index.ts';

it('the README table documents every error code, and no other', async () => {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
  const documented = [...readme.matchAll(/^\| `(ERR_VERIFY_[A-Z_]+)` \|/gm)].map((m) => m[1]);
  expect([...documented].sort()).toEqual([...VERIFY_ERROR_CODES].sort());
});
