import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdapterResult, runAdapter } from '../src/index.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'packages', 'cli', 'dist', 'appc.cjs');

describe('the conformance adapter judges our own CLI', () => {
  let workDir: string;
  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'appc-adapter-'));
  });
  afterAll(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  it('every file-shaped vector gets the spec verdict from `appc validate`', {
    tags: ['slow'],
    timeout: 300_000,
  }, async () => {
    expect(existsSync(cli), `${cli} is missing: run \`pnpm build\` first`).toBe(true);
    const results: AdapterResult[] = [];
    for await (const r of runAdapter({ impl: `node ${cli} validate {file}`, workDir, concurrency: 4 }))
      results.push(r);
    const judged = results.filter((r) => r.outcome !== 'skip');
    expect(judged.length).toBeGreaterThan(50);
    const wrong = judged
      .filter((r) => r.outcome !== 'pass')
      .map((r) => `${r.outcome} ${r.id} [${r.requirement}] exit ${r.exitCode}: ${r.stderr}`);
    expect(wrong).toEqual([]);
  });

  it('tells a crash from a verdict', async () => {
    const results: AdapterResult[] = [];
    for await (const r of runAdapter({ impl: 'kill -SEGV $$ # {file}', workDir, sections: ['img'] }))
      results.push(r);
    const judged = results.filter((r) => r.outcome !== 'skip');
    expect(judged.length).toBeGreaterThan(0);
    expect(new Set(judged.map((r) => r.outcome))).toEqual(new Set(['crash']));
  });

  it('an implementation that accepts everything fails every invalid vector and passes every valid one', async () => {
    const results: AdapterResult[] = [];
    for await (const r of runAdapter({ impl: 'true {file}', workDir, sections: ['img'] })) results.push(r);
    for (const r of results.filter((x) => x.outcome !== 'skip')) {
      expect(r.outcome, r.id).toBe(r.expectedValid ? 'pass' : 'fail');
    }
  });
});
