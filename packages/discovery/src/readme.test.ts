import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatAppString, parseAppString } from './app-string.ts';
import { parseMetaTags } from './meta-tags.ts';
import { renderTemplate } from './template.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const errors = readFileSync(new URL('./errors.ts', import.meta.url), 'utf8');

describe('README', () => {
  it('lists every error code in its table', () => {
    const codes = [...errors.matchAll(/'(ERR_DISC_[A-Z_]+)'/g)].map((m) => m[1]);
    expect(codes.length).toBeGreaterThan(10);
    for (const code of codes) expect(readme, code).toMatch(new RegExp(`\\| \`${code}\``));
  });

  it('the offline part of the example prints what its comments say', () => {
    const app = parseAppString('example.com/app:1.0,os=linux,arch=amd64');
    expect(formatAppString(app)).toBe('example.com/app:1.0,arch=amd64,os=linux');
    const [tag] = parseMetaTags(
      '<meta name="ac-discovery" content="example.com https://s.example.com/{name}-{version}.{ext}">',
    );
    expect(tag && renderTemplate(tag.value, app.name, app.labels, 'aci')).toBe(
      'https://s.example.com/example.com/app-1.0.aci',
    );
    expect(readme).toContain('// example.com/app:1.0,arch=amd64,os=linux');
    expect(readme).toContain('// https://s.example.com/example.com/app-1.0.aci');
  });
});
