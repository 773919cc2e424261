import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RUNTIME_ERROR_CODES } from './errors.ts';

describe('README', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  it('documents every error code in its table, and no other', () => {
    const rows = readme.split('\n').filter((l) => l.startsWith('| `ERR_RUN_'));
    const documented = new Set(
      rows.flatMap((r) => [...(r.split('|')[1] ?? '').matchAll(/`(ERR_RUN_[A-Z_]+)`/g)].map((m) => m[1])),
    );
    for (const code of RUNTIME_ERROR_CODES) expect(documented, code).toContain(code);
    for (const code of documented) expect(RUNTIME_ERROR_CODES as readonly string[]).toContain(code);
  });
});
