import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
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

describe('the appc-conformance command', () => {
  const bin = join(root, 'conformance', 'dist', 'bin.js');

  it('stops quietly and removes its work directory when its reader goes away (`| head -1`)', async () => {
    expect(existsSync(bin), `${bin} is missing: run \`pnpm build\` first`).toBe(true);
    const tmp = await mkdtemp(join(tmpdir(), 'appc-conformance-pipe-'));
    try {
      const child = spawn(process.execPath, [bin, '--impl', 'true {file}', '--section', 'img', '--json'], {
        env: { ...process.env, TMPDIR: tmp },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      // the reader takes the first line and closes the pipe, as `head -1` does
      const first = await new Promise<string>((resolve) => {
        child.stdout.once('data', (d: Buffer) => {
          child.stdout.destroy();
          resolve(d.toString().split('\n')[0] as string);
        });
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(JSON.parse(first)).toHaveProperty('id');
      expect(stderr).not.toMatch(/EPIPE|Error|at /);
      // the verdicts so far (`true` passes the valid vectors and fails the invalid ones), not a crash
      expect([0, 1]).toContain(code);
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
