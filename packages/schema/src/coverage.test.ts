import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadVectors } from '@appc/vectors';
import { describe, expect, it } from 'vitest';

// CI checks the shared spec out beside the repository: <repo>/../shared/spec/REQUIREMENTS.md.
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const requirementsFile = join(repoRoot, '..', 'shared', 'spec', 'REQUIREMENTS.md');
const present = existsSync(requirementsFile);

describe('requirement coverage of the types, img, pod and iso vectors', () => {
  it.skipIf(!present)(
    `every TYPES/IMG/POD/ISO requirement is cited by a vector (${requirementsFile})`,
    async () => {
      const text = readFileSync(requirementsFile, 'utf8');
      const ids = [
        ...new Set([...text.matchAll(/^- ((?:TYPES|IMG|POD|ISO)-\d{3})\b/gm)].map((m) => m[1] as string)),
      ];
      expect(ids.length).toBeGreaterThan(60);
      const cited = new Set<string>();
      for (const section of ['types', 'img', 'pod', 'iso'])
        for (const v of await loadVectors(section)) cited.add(v.requirement);
      expect(ids.filter((id) => !cited.has(id))).toEqual([]);
    },
  );
  it.runIf(!present)('is skipped: ../shared/spec/REQUIREMENTS.md is not beside the repository', () => {
    expect(present).toBe(false);
  });
  it('every vector of these sections names its source and, on a divergence, the reference verdict', async () => {
    for (const section of ['types', 'img', 'pod', 'iso']) {
      for (const v of await loadVectors(section)) {
        expect(typeof v.source, v.id).toBe('string');
        const ref = (v as unknown as { reference?: { valid: boolean } }).reference;
        if (ref && ref.valid !== v.expect.valid) expect(v.title, v.id).toMatch(/reference|Divergence|ours/);
      }
    }
  });
});
