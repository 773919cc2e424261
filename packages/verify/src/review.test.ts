import { hasCode } from '@appc/schema';
import { describe, expect, it } from 'vitest';
import { formatFingerprint, normalizeFingerprint } from './fingerprint.ts';
import { parseInsecureOptions } from './insecure-options.ts';
import { prefixesOf } from './prefix.ts';
import { formatKeyForReview } from './review.ts';

const FP = '8b86de38890ddb7291867b025210bd8888182190';

describe('fingerprints and review text (VERIFY-005)', () => {
  it('VERIFY-005 normalises what people paste, formats as rkt groups it', () => {
    for (const given of [
      FP,
      FP.toUpperCase(),
      `0x${FP}`,
      '8B86 DE38 890D DB72 9186  7B02 5210 BD88 8818 2190',
      '8b:86:de:38:89:0d:db:72:91:86:7b:02:52:10:bd:88:88:18:21:90',
    ]) {
      expect(normalizeFingerprint(given)).toBe(FP);
    }
    expect(formatFingerprint(FP)).toBe('8B86 DE38 890D DB72 9186  7B02 5210 BD88 8818 2190');
  });

  it('VERIFY-005 a root key review says so instead of a prefix; identities are indented by a tab', () => {
    const text = formatKeyForReview({
      prefix: undefined,
      root: true,
      location: '/tmp/key.asc',
      fingerprint: FP,
      subkeyFingerprints: [],
      userIds: ['A <a@example.com>', 'A2 <a2@example.com>'],
    });
    expect(text).toBe(
      'Root key (trusted for every image name)\nKey: "/tmp/key.asc"\n' +
        'GPG key fingerprint is: 8B86 DE38 890D DB72 9186  7B02 5210 BD88 8818 2190\n' +
        '\tA <a@example.com>\n\tA2 <a2@example.com>\n',
    );
  });
});

describe('parseInsecureOptions (VERIFY-007)', () => {
  it('VERIFY-007 returns a Set; blanks around names are ignored; the error names the bad item', () => {
    const set = parseInsecureOptions(' image , tls ');
    expect(set).toBeInstanceOf(Set);
    expect([...set]).toEqual(['image', 'tls']);
    let error: unknown;
    try {
      parseInsecureOptions('image,bogus');
    } catch (e) {
      error = e;
    }
    expect(hasCode(error, 'ERR_VERIFY_INSECURE_OPTION')).toBe(true);
    expect((error as Error).message).toContain('"bogus"');
    expect((error as { requirement?: string }).requirement).toBe('VERIFY-007');
  });
});

describe('prefixesOf (VERIFY-004)', () => {
  it('VERIFY-004 lists whole-component prefixes from the host down', () => {
    expect(prefixesOf('example.com/a/b')).toEqual(['example.com', 'example.com/a', 'example.com/a/b']);
    expect(prefixesOf('x')).toEqual(['x']);
  });
});
