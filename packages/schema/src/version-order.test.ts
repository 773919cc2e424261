import { describe, expect, it } from 'vitest';
import { compareVersionLabels } from './version-order.ts';

describe('compareVersionLabels (newest version when none is asked, ACI-023)', () => {
  const ascending: (string | undefined)[][] = [
    ['1.0.0', '1.0.1'],
    ['1.2.0', '1.10.0'],
    ['1.0.0-alpha', '1.0.0'],
    ['1.0.0-alpha', '1.0.0-alpha.1'],
    ['1.0.0-alpha.1', '1.0.0-alpha.beta'],
    ['1.0.0-alpha.beta', '1.0.0-beta'],
    ['1.0.0-beta.2', '1.0.0-beta.11'],
    ['1.0.0-rc.1', '1.0.0'],
    ['latest', '0.0.1'],
    [undefined, '0.0.1'],
  ];
  for (const [a, b] of ascending)
    it(`${a} < ${b}`, () => {
      expect(compareVersionLabels(a, b)).toBe(-1);
      expect(compareVersionLabels(b, a)).toBe(1);
    });
  it('equal: same version, build metadata ignored, any two non-SemVer values', () => {
    expect(compareVersionLabels('1.0.0', '1.0.0+build.5')).toBe(0);
    expect(compareVersionLabels('latest', 'dev')).toBe(0);
    expect(compareVersionLabels(undefined, 'v1.0.0')).toBe(0);
  });
});
