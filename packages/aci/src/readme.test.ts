import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ACI_ERROR_CODES } from './errors.ts';

describe('README', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  it('documents every error code in its table', () => {
    const rows = readme.split('\n').filter((l) => l.startsWith('| `ERR_ACI_'));
    const documented = new Set(
      rows.flatMap((r) => [...(r.split('|')[1] ?? '').matchAll(/`(ERR_ACI_[A-Z_]+)`/g)].map((m) => m[1])),
    );
    for (const code of ACI_ERROR_CODES) expect(documented, code).toContain(code);
    for (const code of documented) expect(ACI_ERROR_CODES as readonly string[]).toContain(code);
  });
});
