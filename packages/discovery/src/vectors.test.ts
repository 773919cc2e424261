import { hasCode } from '@appc/schema';
import { loadVectors } from '@appc/vectors';
import { describe, expect, it } from 'vitest';
import type { AppString } from './app-string.ts';
import { formatAppString, parseAppString, toQueryString } from './app-string.ts';
import { validateDiscoveredManifest } from './manifest-match.ts';
import { parseMetaTags } from './meta-tags.ts';
import { renderTemplate } from './template.ts';

const vectors = await loadVectors('disc');
const section = (prefix: string) => vectors.filter((v) => v.id.startsWith(`disc/${prefix}`));

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (e) {
    if (!hasCode(e)) throw e;
    return e.code;
  }
}

describe('app strings (DISC-014)', () => {
  for (const v of section('app-string')) {
    it(`${v.requirement} ${v.id} ${v.title}`, () => {
      if (v.input.app !== undefined) {
        const s = formatAppString(v.input.app as AppString);
        expect(s).toBe(v.expect.appString);
        expect(parseAppString(s)).toEqual(v.expect.app);
        return;
      }
      const input = String(v.input.appString);
      if (v.expect.valid) expect(parseAppString(input)).toEqual(v.expect.app);
      else expect(codeOf(() => parseAppString(input))).toBe(v.expect.code);
    });
  }

  it('DISC-014 messages say what is wrong and how to write it', () => {
    expect(() => parseAppString('example.com/app,channel=beta:1.2.3')).toThrow(/after a label.*:VERSION/);
    expect(() => parseAppString('foo.com/bar,channel=alpha,channel=beta')).toThrow(
      /"channel" is given twice/,
    );
    expect(() => parseAppString('x'.repeat(5000))).toThrow(/longer than 4096/);
  });

  it('DISC-014 formatAppString refuses what a string cannot carry', () => {
    const apps: AppString[] = [
      { name: 'example.com/app', labels: { channel: 'a,b' } },
      { name: 'example.com/app', labels: { version: '1:2' } },
      { name: 'example.com/app', labels: { name: 'x' } },
      { name: 'Example.com', labels: {} },
      { name: 'example.com/app', labels: { 'Bad Label': 'x' } },
    ];
    for (const app of apps) {
      expect(codeOf(() => formatAppString(app))).toBe('ERR_DISC_BAD_APP');
    }
  });
});

describe('label strings (DISC-014)', () => {
  for (const v of section('label-string')) {
    it(`${v.requirement} ${v.id} ${v.title}`, () => {
      const input = String(v.input.labelString);
      if (v.expect.valid) expect(toQueryString(input)).toBe(v.expect.query);
      else expect(codeOf(() => toQueryString(input))).toBe(v.expect.code);
    });
  }
});

describe('meta tags (DISC-003)', () => {
  for (const v of section('meta-tags')) {
    it(`${v.requirement} ${v.id} ${v.title}`, () => {
      expect(parseMetaTags(String(v.input.html))).toEqual(v.expect.tags);
    });
  }
});

describe('templates (DISC-006)', () => {
  for (const v of section('template')) {
    it(`${v.requirement} ${v.id} ${v.title}`, () => {
      const { template, name, labels, ext } = v.input as {
        template: string;
        name: string;
        labels: Record<string, string>;
        ext: string;
      };
      expect(renderTemplate(template, name, labels, ext)).toBe(v.expect.valid ? v.expect.output : undefined);
    });
  }
});

describe('manifest after fetching (DISC-009)', () => {
  for (const v of section('manifest-match')) {
    it(`${v.requirement} ${v.id} ${v.title}`, () => {
      const issues = validateDiscoveredManifest(v.input.app as AppString, v.input.manifest as object);
      expect([...new Set(issues.map((i) => i.code))]).toEqual(v.expect.valid ? [] : v.expect.codes);
      for (const i of issues) expect(i.requirement).toBe('DISC-009');
    });
  }
});

describe('coverage', () => {
  it('every DISC requirement this package implements has vectors', () => {
    const cited = new Set(vectors.map((v) => v.requirement));
    for (const id of ['001', '002', '003', '004', '005', '006', '007', '008', '009', '010', '011', '014']) {
      expect(cited, `DISC-${id}`).toContain(`DISC-${id}`);
    }
    for (const v of vectors) expect(v.source, v.id).toBeTruthy();
  });
});
