import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AciError, build } from '@appc/aci';
import { AppcError, SchemaError } from '@appc/schema';
import { describe, expect, it } from 'vitest';
import { describeError, exitCodeFor, formatIssue, UsageError } from '../src/errors.ts';

function systemError(code: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: failed, open '${path}'`), {
    code,
    syscall: 'open',
    path,
    errno: -2,
  });
}

describe('the exit-status rule (README "Exit status")', () => {
  const cases: { name: string; given: unknown; want: number }[] = [
    { name: 'a usage mistake', given: new UsageError('expected ACI and DIR'), want: 2 },
    { name: 'a missing file (ENOENT)', given: systemError('ENOENT', '/x.aci'), want: 2 },
    { name: 'no rights (EACCES)', given: systemError('EACCES', '/x.aci'), want: 2 },
    {
      name: 'an unsafe archive judged bad (ACI-012)',
      given: new AciError('escape', { code: 'ERR_ACI_PATH_ESCAPE', requirement: 'ACI-012' }),
      want: 1,
    },
    {
      name: 'an invalid manifest (SchemaError)',
      given: new SchemaError('bad', { code: 'ERR_SCHEMA_INVALID', issues: [] }),
      want: 1,
    },
    {
      name: 'a damaged archive',
      given: new AciError('short', { code: 'ERR_ACI_TRUNCATED', requirement: 'ACI-015' }),
      want: 1,
    },
    {
      name: 'an output in the way',
      given: new AciError('exists', { code: 'ERR_ACI_OUTPUT_EXISTS', requirement: 'ACI-014' }),
      want: 2,
    },
    {
      name: 'a missing program',
      given: new AciError('no xz', { code: 'ERR_ACI_TOOL_MISSING', requirement: 'ACI-006' }),
      want: 2,
    },
    {
      name: 'an interruption',
      given: new AciError('aborted', { code: 'ERR_ACI_ABORTED', requirement: 'ACI-014' }),
      want: 2,
    },
    {
      name: 'a dependency that is nowhere to be found',
      given: new AciError('no dep', { code: 'ERR_ACI_DEPENDENCY_NOT_FOUND', requirement: 'ACI-020' }),
      want: 2,
    },
    {
      name: 'an AppcError wrapping a system error',
      given: new AppcError('read failed', { code: 'ERR_SOMETHING', cause: systemError('EIO', '/x') }),
      want: 2,
    },
    {
      name: 'a store on a full disk without a system error as its cause (SQLITE_FULL)',
      given: new AppcError('the store could not write', { code: 'ERR_STORE_IO' }),
      want: 2,
    },
    { name: 'a bug (TypeError)', given: new TypeError('x is undefined'), want: 2 },
  ];
  for (const { name, given, want } of cases) {
    it(`${name} exits ${want}`, () => {
      expect(exitCodeFor(given)).toBe(want);
      expect(describeError(given, false).exitCode).toBe(want);
    });
  }
});

describe('describeError', () => {
  it('names the path and what to do for system errors', () => {
    const { message } = describeError(systemError('ENOENT', '/nowhere/x.aci'), false);
    expect(message).toBe('/nowhere/x.aci: no such file or directory; check the path [ENOENT]');
  });

  it('tags AppcErrors with their code and requirement', () => {
    const e = new AciError('/a.aci: "rootfs/../x" leaves the rootfs.', {
      code: 'ERR_ACI_PATH_ESCAPE',
      requirement: 'ACI-012',
    });
    expect(describeError(e, false).message).toBe(
      '/a.aci: "rootfs/../x" leaves the rootfs. [ERR_ACI_PATH_ESCAPE, ACI-012]',
    );
  });

  it("names the command line's flag where @appc/aci's message names its option", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'appc-errors-'));
    try {
      const out = join(dir, 'out.aci');
      writeFileSync(out, '');
      // the output is checked first, before the (missing) layout
      const exists = await build(join(dir, 'layout'), out).catch((e: unknown) => e);
      expect(describeError(exists, false).message).toBe(
        `${out} already exists; remove it or give --overwrite. [ERR_ACI_OUTPUT_EXISTS, ACI-014]`,
      );
      const tar = await build(join(dir, 'layout'), join(dir, 'out.tar')).catch((e: unknown) => e);
      expect(describeError(tar, false).message).toMatch(
        /out\.tar: an image archive's name must end in "\.aci" \(ACI-001\); name the output FILE\.aci\. \[ERR_ACI_BAD_EXTENSION, ACI-001\]$/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('closes the first line with the tags when the message lists issues below it', () => {
    const e = new AciError('/l is not a valid image layout:\n  x: not allowed [ERR_ACI_EXTRA_TOP_LEVEL]', {
      code: 'ERR_ACI_INVALID_LAYOUT',
      requirement: 'ACI-009',
    });
    expect(describeError(e, false).message).toBe(
      '/l is not a valid image layout [ERR_ACI_INVALID_LAYOUT, ACI-009]:\n  x: not allowed [ERR_ACI_EXTRA_TOP_LEVEL]',
    );
  });

  it('keeps the tags at the end of a message whose further lines are not tagged issues', () => {
    const e = new AppcError('no template matched; tried:\n  https://a.example\nCheck the name.', {
      code: 'ERR_DISC_NOT_FOUND',
      requirement: 'DISC-004',
    });
    expect(describeError(e, false).message).toBe(
      'no template matched; tried:\n  https://a.example\nCheck the name. [ERR_DISC_NOT_FOUND, DISC-004]',
    );
  });

  it('asks for a report on anything else, with the stack only under --debug', () => {
    const bug = new TypeError('cannot read properties of undefined');
    const quiet = describeError(bug, false).message;
    expect(quiet).toContain('internal error, please report');
    expect(quiet).toContain('--debug');
    expect(quiet).not.toContain('TypeError');
    const loud = describeError(bug, true).message;
    expect(loud).toContain('internal error, please report');
    expect(loud).toContain('TypeError: cannot read properties of undefined');
    expect(loud).toContain('errors.test.ts');
  });
});

describe('formatIssue', () => {
  it('prints PATH[:ENTRY][#/pointer]: message [CODE, REQ-ID]', () => {
    expect(
      formatIssue('m.json', {
        code: 'ERR_SCHEMA_REQUIRED',
        requirement: 'IMG-007',
        pointer: '/app/user',
        message: 'app.user is required',
      }),
    ).toBe('m.json#/app/user: app.user is required [ERR_SCHEMA_REQUIRED, IMG-007]');
    expect(
      formatIssue('x.aci', {
        code: 'WARN_ACI_OLD_VERSION',
        requirement: 'ACI-016',
        pointer: '',
        message: 'old acVersion',
        severity: 'warning',
        file: 'manifest',
      }),
    ).toBe('x.aci:manifest: warning: old acVersion [WARN_ACI_OLD_VERSION, ACI-016]');
  });
});
