// The static site of `appc publish` (DISC-001..DISC-008), read back with the package's own parser and template.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetaTags, renderTemplate, writeDiscoverySite } from '../src/index.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'appc-site-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function image(
  version: string,
): Promise<{ file: string; name: string; labels: Record<string, string> }> {
  const file = join(dir, `app-${version}.aci`);
  await writeFile(file, `archive ${version}`);
  return { file, name: 'example.com/app', labels: { version, os: 'linux', arch: 'amd64' } };
}

describe('writeDiscoverySite', () => {
  it('lays images out by the template it announces; latest is the newest by SemVer precedence', async () => {
    const out = join(dir, 'site');
    const images = await Promise.all(['1.0.0-beta.2', '1.0.0-beta.11', '0.9.0'].map(image));
    const site = await writeDiscoverySite({
      out,
      baseUrl: 'https://example.com',
      images,
      publicKeys: ['KEY'],
    });
    const tags = parseMetaTags(await readFile(join(out, 'app', 'index.html'), 'utf8'));
    expect(tags).toEqual([
      { name: 'ac-discovery', prefix: 'example.com', value: site.template },
      { name: 'ac-discovery-pubkeys', prefix: 'example.com', value: 'https://example.com/pubkeys.gpg' },
    ]);
    const latest = renderTemplate(
      site.template,
      'example.com/app',
      { version: 'latest', os: 'linux', arch: 'amd64' },
      'aci',
    );
    expect(latest).toBe('https://example.com/images/example.com/app-latest-linux-amd64.aci');
    // beta.11 ranks above beta.2 (numeric identifiers compare as numbers, SemVer 2.0.0 §11)
    expect(await readFile(join(out, 'images/example.com/app-latest-linux-amd64.aci'), 'utf8')).toBe(
      'archive 1.0.0-beta.11',
    );
  });
});
