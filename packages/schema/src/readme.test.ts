import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { ISSUE_CODES } from './issue-codes.ts';

it('the README documents every issue code', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  for (const code of Object.keys(ISSUE_CODES))
    expect(readme, code).toMatch(new RegExp(`^\\|\\s*\`${code}\`\\s*\\|`, 'm'));
});
