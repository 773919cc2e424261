import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPERATIONAL_CODES } from '../src/errors.ts';
import { commands } from '../src/index.ts';

const readme = await readFile(resolve(import.meta.dirname, '../README.md'), 'utf8');

describe('README stays honest', () => {
  it('documents every command with a section, an example and its usage line', async () => {
    for (const [name, load] of Object.entries(commands)) {
      const { usage } = await load();
      const section = readme.split(`\n### ${name}\n`)[1]?.split(/\n##+ /)[0];
      expect(section, `README section for ${name}`).toBeDefined();
      const flat = (text: string) => text.replace(/\s+/g, ' ');
      expect(flat(section ?? '')).toContain(flat(usage.split(' | ')[0] as string));
    }
  });

  it('lists exactly the codes that exit 2', () => {
    const table = readme.split('| code (exit 2) |')[1]?.split('\n\n')[0] ?? '';
    const listed = [...table.matchAll(/^\| `(ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(listed.sort()).toEqual([...OPERATIONAL_CODES].sort());
  });
});
