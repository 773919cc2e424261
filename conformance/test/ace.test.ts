import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAceOutput, runAce } from '../src/index.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'packages', 'cli', 'dist', 'appc.cjs');

describe('the in-pod ACE validator (VAL-001..VAL-008)', () => {
  let workDir: string;
  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'appc-ace-'));
  });
  afterAll(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  it('reads check lines and verdicts, with or without an executor prefix; a FAIL stays a FAIL', () => {
    const r = parseAceOutput(
      [
        '[  1.2] ace-validator-main[5]: ace-validator main: ok ACE-010 PATH is the ACE default',
        'ace-validator main: not ok META-005 pod/uuid is a canonical UUID',
        'ace-validator main: skip ISO-015 the memory limit (no cgroup visible in the app)',
        'main FAIL',
        'main OK',
        '[  1.3] ace-validator-sidekick[6]: sidekick OK',
        'prestart OK\r',
      ].join('\n'),
    );
    expect(r.checks).toEqual([
      { mode: 'main', ok: true, requirement: 'ACE-010', what: 'PATH is the ACE default' },
      { mode: 'main', ok: false, requirement: 'META-005', what: 'pod/uuid is a canonical UUID' },
      {
        mode: 'main',
        ok: true,
        skipped: true,
        requirement: 'ISO-015',
        what: 'the memory limit (no cgroup visible in the app)',
      },
    ]);
    expect(r.modes).toEqual({ prestart: 'ok', main: 'fail', sidekick: 'ok', poststop: 'missing' });
  });

  it('an executor that runs nothing does not pass, though it exits 0', { timeout: 120_000 }, async () => {
    const r = await runAce({ run: 'test -s {main} && test -s {sidekick}', workDir });
    expect(r.exitCode).toBe(0);
    expect(r.passed).toBe(false);
    expect(Object.values(r.modes)).toEqual(['missing', 'missing', 'missing', 'missing']);
  });

  it('our executor passes every check: two apps, one volume, handlers, metadata (ACE-003..ACE-014, META-001..META-010)', {
    tags: ['root', 'slow'],
    timeout: 300_000,
  }, async () => {
    expect(existsSync(cli), `${cli} is missing: run \`pnpm build\` first`).toBe(true);
    const state = join(workDir, 'state');
    const r = await runAce({
      run: `node ${cli} --dir ${state} run --insecure-options=image --volume database,kind=empty {main} {sidekick}`,
      workDir,
    });
    const failed = r.checks.filter((c) => !c.ok).map((c) => `${c.mode} ${c.requirement} ${c.what}`);
    expect(failed, r.stderr).toEqual([]);
    expect(r.modes).toEqual({ prestart: 'ok', main: 'ok', sidekick: 'ok', poststop: 'ok' });
    expect(r.passed).toBe(true);
    const covered = new Set(r.checks.map((c) => c.requirement));
    for (const id of [
      'ACE-003',
      'ACE-004',
      'ACE-007',
      'ACE-010',
      'ACE-011',
      'ACE-013',
      'ACE-014',
      'VAL-002',
      'VAL-007',
    ])
      expect(covered).toContain(id);
    for (let n = 1; n <= 10; n++)
      if (n !== 2) expect(covered).toContain(`META-${String(n).padStart(3, '0')}`);
  });
});
